//! The pipeline: from a source of frames to verdicts in a [`Sink`](crate::output::Sink), in threads that hand each
//! other batches over bounded crossbeam channels.
//!
//! Offline ([`analyze`], also behind `connlens report`), three stages:
//!
//! ```text
//!             capture thread              N tracker threads           calling thread
//! source ──▶ read, decode, route ──batch k, shard s──▶ Tracker s ──verdict chunks──▶ summary,
//!            (read.rs; the shard                       (shards.rs)   + end of      sink, incidents
//!             function: track::shard)                                batch k       (output.rs)
//! ```
//!
//! - `read`: the capture thread reads and decodes frames and splits every batch of
//!   [`BATCH`] packets into one sub-batch per shard, by [`crate::track::shard::route`]; with
//!   several shards each sub-batch also carries the time of every packet of the batch (the
//!   shard's clock moves at each, as one tracker's would) and the position of each of its
//!   packets, and a packet showing new facts of its sender (up, TTL) goes to every other shard
//!   too, marked facts-only (see `track::sender_fact`). Every sub-batch
//!   carries the time of the last frame read, so timers advance past skipped frames.
//! - `shards`: each tracker thread owns a whole [`crate::track::Tracker`] (with `max_flows /
//!   N` conversations) and sends its verdicts, in the order decided, each tagged with where it
//!   belongs in one tracker's order (the position of the deciding packet, timers before the
//!   packet), in bounded chunks, then an end-of-batch marker; at the end its `finish()`
//!   verdicts and its counters.
//! - `output`: the calling thread merges batch 0 of every shard by those tags, then batch 1, …
//!   so the output is one tracker's order whatever the scheduling (with one shard, exactly the
//!   single tracker's). It writes each verdict, feeds the summary and the incident detector.
//!
//! Live ([`live`]), two stages: the capture thread never waits (a full channel drops the batch
//! and counts it) and one tracker runs on the calling thread, which also moves it on the wall
//! clock.
//!
//! Batches, not single packets, cross the channels so the hand-off costs little per packet;
//! emptied batch vectors travel back and are reused, so nothing is allocated per packet. Every
//! channel is bounded; when the output fails, the calling thread drops its receivers and every
//! other thread stops at its next send.

mod live;
mod output;
mod progress;
mod read;
mod shards;
mod timings;

pub use live::{Evidence, LiveOptions, live};
pub use output::Outcome;
pub use progress::Progress;
pub use shards::analyze;
pub use timings::ThreadTimes;

use crate::incident::IncidentConfig;
use crate::track::TrackerConfig;

/// Packets per batch.
pub const BATCH: usize = 1024;

/// Settings of an offline analysis.
#[derive(Clone, Debug, Default)]
pub struct AnalyzeConfig {
    /// Tracker settings (with N threads, each shard gets `max_flows / N`).
    pub tracker: TrackerConfig,
    /// Incident thresholds.
    pub incidents: IncidentConfig,
    /// Whether to print the summary at the end.
    pub summary: bool,
    /// Tracker threads (shards); 0 counts as 1.
    pub threads: usize,
    /// A BPF read filter in tcpdump's syntax, applied to every frame read (widened for the
    /// ICMP errors and tagged frames that explain the flows it keeps, as `live` widens its
    /// filter). Check it first with [`crate::capture::ReadFilter::new`].
    pub read_filter: Option<String>,
    /// Which attempts are written and counted.
    pub filter: crate::report::Filter,
}
