//! Synthetic traffic: frame builders used by unit tests, the fixture generator and the
//! benchmark's capture generator. Deterministic: the same inputs give the same bytes.
pub mod frame;
pub mod scenarios;
