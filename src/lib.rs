//! connlens reads packets and explains, for every connection attempt it saw, whether it worked
//! and, when it did not, why.
//!
//! The modules follow the data flow:
//!
//! ```text
//! capture ──Frame──▶ decode ──Packet (batches)──▶ track ──Verdict──▶ output
//! (files, live)      (capture thread)  channel    (flow table,       (jsonl, csv, table,
//!                                                  state machines,    summary)
//!                                                  ICMP correlation)
//! ```
//!
//! - [`capture`]: pcap/pcapng files (connlens' own streaming reader, which knows byte offsets)
//!   and the writer used for fixtures and generated captures.
//! - [`decode`]: link layer → IP → TCP/UDP/ICMP, and the packet an ICMP error quotes, into a
//!   small owned [`decode::Packet`].
//! - [`time`]: capture time; the only notion of "now".
//! - `synth` (feature `synth`, on for this crate's tests and examples only): frame builders and
//!   scenario captures for tests, fixtures and the benchmark generator.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod decode;
pub mod flow;
pub mod incident;
pub mod metrics;
pub mod output;
pub mod pipeline;
#[cfg(feature = "nats")]
pub mod publish;
pub mod report;
pub mod search_list;
#[cfg(any(test, feature = "synth"))]
pub mod synth;
pub mod time;
pub mod track;
pub mod verdict;
