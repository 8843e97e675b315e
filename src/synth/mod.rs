//! Synthetic traffic: frame builders used by unit tests, the fixture generator and the
//! benchmark's capture generator. Deterministic: the same inputs give the same bytes.
//!
//! Not part of the library's API: compiled only with the `synth` feature, which this crate's
//! own tests and examples turn on through their dev-dependency on the crate itself.
pub mod frame;
pub mod scenarios;
