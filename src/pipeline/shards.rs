//! Offline analysis on N tracker threads (`analyze --threads N`), and the merge that puts
//! their verdicts back into one deterministic stream.

use std::io;
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};
use indicatif::ProgressBar;

use crate::capture::{MergedSource, SourceError};
use crate::decode::Packet;
use crate::output::{Inputs, Sink};
use crate::track::{Tracker, TrackerConfig, TrackerStats, VerdictOut};
use crate::verdict::Verdict;

use super::AnalyzeConfig;
use super::output::{Outcome, Output};
use super::read::{SubBatch, ToShard, read_and_route};
use super::timings::{ThreadTimes, thread_cpu};

/// Sub-batches in flight between the capture thread and each shard.
const IN_FLIGHT: usize = 8;
/// Most verdicts per message from a shard: a timer step at the end of a flood may decide
/// hundreds of thousands at once, and they must not be collected before they are written.
const CHUNK: usize = 256;
/// Chunks in flight from all shards together (and as many on their way back): with
/// [`CHUNK`], a few thousand verdicts (a few MB); each shard gets its share, at least 2.
const CHUNKS_IN_FLIGHT: usize = 8;

/// One shard's channels, seen from the output thread.
struct FromShardChannels {
    verdicts: Receiver<FromShard>,
    /// Chunks written, going back with their verdicts still in: the shard's thread drops them
    /// and fills the vector again. Verdicts are allocated by the shard's thread and freed by
    /// it too: freeing them on the output thread made the allocator's cross-thread path
    /// (arena locks, consolidation) a fifth of the tracker thread's time on a SYN flood.
    written: Sender<Vec<Verdict>>,
}

/// What a shard sends to the output thread.
enum FromShard {
    /// Verdicts in the order decided; `batch_done` when the shard has finished the batch.
    Verdicts { verdicts: Vec<Verdict>, batch_done: bool },
    /// The input ended and every open attempt got its verdict (sent before): the counters.
    Done(TrackerStats),
}

/// Analyzes `source` to its end: every attempt gets a verdict in `sink`, then the summary.
///
/// Input damage does not stop the run: the damaged input's error is recorded (and reported
/// in the summary), the other inputs are still read, and everything read before the damage
/// gets its verdict. Only a failure to write the output returns `Err` (a closed pipe ends the
/// run quietly with `output_closed`).
///
/// With `config.threads` N above 1, conversations are split over N trackers (see
/// [`crate::track::shard`]); the verdicts are the same, in another order, numbered
/// differently (see [`Tracker::numbered`]). With 1, the output is exactly a single tracker's.
pub fn analyze(
    source: MergedSource,
    open_errors: Vec<SourceError>,
    config: AnalyzeConfig,
    sink: &mut dyn Sink,
    progress: Option<ProgressBar>,
) -> io::Result<Outcome> {
    let (started, output_cpu_before) = (Instant::now(), thread_cpu());
    let n = config.threads.max(1);
    let inputs = Inputs { names: source.names().to_vec() };
    let errors: Vec<String> = open_errors.iter().map(|e| e.to_string()).collect();

    let mut to_shards = Vec::with_capacity(n);
    let mut from_shards = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    for s in 0..n {
        let (batch_tx, batch_rx) = bounded::<SubBatch>(IN_FLIGHT);
        let (recycle_tx, recycle_rx) = bounded::<Vec<Packet>>(IN_FLIGHT + 2);
        let chunks_in_flight = (CHUNKS_IN_FLIGHT / n).max(2);
        let (out_tx, out_rx) = bounded::<FromShard>(chunks_in_flight);
        let (written_tx, written_rx) = bounded::<Vec<Verdict>>(chunks_in_flight);
        let tracker = Tracker::new(TrackerConfig {
            max_flows: (config.tracker.max_flows / n).max(1),
            ..config.tracker
        })
        .numbered(s as u64 + 1, n as u64);
        workers.push(thread::Builder::new().name(format!("connlens-track-{s}")).spawn(
            move || {
                let out = Chunks {
                    verdicts: Vec::new(),
                    out: out_tx,
                    written: written_rx,
                    closed: false,
                };
                track_shard(tracker, batch_rx, recycle_tx, out);
                thread_cpu()
            },
        )?);
        to_shards.push(ToShard { batches: batch_tx, recycled: recycle_rx });
        from_shards.push(FromShardChannels { verdicts: out_rx, written: written_tx });
    }
    let reader = thread::Builder::new()
        .name("connlens-capture".into())
        .spawn(move || (read_and_route(source, &to_shards, progress), thread_cpu()))?;

    let mut output = Output::new(config.incidents, inputs, errors);
    let (result, tracker) = merge(&from_shards, &mut output, sink);
    // Any thread still running stops at its next send.
    drop(from_shards);
    let mut stopped = false;
    let mut tracker_cpu = Vec::with_capacity(n);
    for w in workers {
        match w.join() {
            Ok(cpu) => tracker_cpu.push(cpu),
            Err(_) => stopped = true,
        }
    }
    let (read, capture_cpu) = reader.join().unwrap_or_default();
    if stopped || result.as_ref().is_ok_and(|()| tracker.is_none()) {
        output
            .errors
            .push("internal error: a tracker thread stopped; verdicts may be missing".into());
    }
    let mut outcome =
        output.conclude(sink, read, tracker.unwrap_or_default(), result, config.summary)?;
    let mut timings = ThreadTimes::default();
    timings.push("capture", capture_cpu);
    for (s, cpu) in tracker_cpu.into_iter().enumerate() {
        timings.push(format!("tracker-{s}"), cpu);
    }
    timings
        .push("output", thread_cpu().zip(output_cpu_before).map(|(after, before)| after - before));
    timings.wall = started.elapsed();
    outcome.timings = timings;
    Ok(outcome)
}

/// The output side: batch by batch, shard by shard, writes each shard's verdicts up to its
/// end-of-batch marker, until every shard is done. Returns the first write error, or the
/// shards' counters added up (None if a shard vanished without them).
fn merge(
    from_shards: &[FromShardChannels],
    output: &mut Output,
    sink: &mut dyn Sink,
) -> (io::Result<()>, Option<TrackerStats>) {
    let mut total = TrackerStats::default();
    let mut done = vec![false; from_shards.len()];
    while done.iter().any(|d| !d) {
        for (shard, done) in from_shards.iter().zip(done.iter_mut()) {
            while !*done {
                match shard.verdicts.recv() {
                    Ok(FromShard::Verdicts { verdicts, batch_done }) => {
                        for v in &verdicts {
                            if let Err(e) = output.verdict(sink, v) {
                                return (Err(e), None);
                            }
                        }
                        if verdicts.capacity() > 0 {
                            let _ = shard.written.try_send(verdicts);
                        }
                        if batch_done {
                            break;
                        }
                    }
                    Ok(FromShard::Done(stats)) => {
                        total.add(&stats);
                        *done = true;
                    }
                    Err(_) => return (Ok(()), None),
                }
            }
        }
    }
    (Ok(()), Some(total))
}

/// A tracker thread: tracks every sub-batch it is sent, sends the verdicts and an end marker
/// per batch, and when the capture thread hangs up, gives every open attempt its verdict and
/// sends its counters. Stops early when the output side hangs up.
fn track_shard(
    mut tracker: Tracker,
    batches: Receiver<SubBatch>,
    recycle: Sender<Vec<Packet>>,
    mut chunks: Chunks,
) {
    for SubBatch { mut packets, facts_only, read_until } in batches.iter() {
        let mut facts_only = facts_only.iter().map(|&i| i as usize).peekable();
        for (i, p) in packets.iter().enumerate() {
            if facts_only.next_if_eq(&i).is_some() {
                tracker.sender_facts(p, &mut chunks);
            } else {
                tracker.packet(p, &mut chunks);
            }
        }
        if let Some(t) = read_until {
            tracker.capture_time(t, &mut chunks);
        }
        packets.clear();
        let _ = recycle.try_send(packets);
        chunks.send(true);
        if chunks.closed {
            return;
        }
    }
    // The capture thread has hung up: at the end of the input, or because the output failed.
    // An empty chunk (which the output side skips) tells which before the finish, which may
    // build hundreds of thousands of verdicts.
    chunks.send(false);
    if chunks.closed {
        return;
    }
    tracker.finish(&mut chunks);
    if !chunks.verdicts.is_empty() {
        chunks.send(false);
    }
    if !chunks.closed {
        let _ = chunks.out.send(FromShard::Done(tracker.stats()));
    }
}

/// Collects verdicts into chunks of at most [`CHUNK`] and sends each when full.
struct Chunks {
    verdicts: Vec<Verdict>,
    out: Sender<FromShard>,
    /// Chunks the output thread has written, to be emptied here and filled again.
    written: Receiver<Vec<Verdict>>,
    /// The output side hung up: verdicts are dropped from now on.
    closed: bool,
}

impl Chunks {
    fn send(&mut self, batch_done: bool) {
        if self.closed {
            return;
        }
        let verdicts = std::mem::take(&mut self.verdicts);
        if self.out.send(FromShard::Verdicts { verdicts, batch_done }).is_err() {
            self.closed = true;
        }
    }
}

impl VerdictOut for Chunks {
    fn emit(&mut self, v: Verdict) {
        if self.closed {
            return;
        }
        if self.verdicts.capacity() == 0 {
            match self.written.try_recv() {
                Ok(mut used) => {
                    used.clear();
                    self.verdicts = used;
                }
                Err(_) => self.verdicts.reserve_exact(CHUNK),
            }
        }
        self.verdicts.push(v);
        if self.verdicts.len() == CHUNK {
            self.send(false);
        }
    }
}
