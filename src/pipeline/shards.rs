//! Offline analysis on N tracker threads (`analyze --threads N`), and the merge that puts
//! their verdicts back into one deterministic stream.

use std::io;
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::capture::{MergedSource, SourceError};
use crate::output::{Inputs, Sink};
use crate::track::{Tracker, TrackerConfig, TrackerStats, VerdictOut};
use crate::verdict::Verdict;

use super::output::{Outcome, Output};
use super::read::{SubBatch, ToShard, read_and_route};
use super::timings::{ThreadTimes, thread_cpu};
use super::{AnalyzeConfig, Progress};

/// Sub-batches in flight between the capture thread and each shard.
const IN_FLIGHT: usize = 8;
/// Most verdicts per message from a shard: a timer step at the end of a flood may decide
/// hundreds of thousands at once, and they must not be collected before they are written.
const CHUNK: usize = 256;
/// Chunks in flight from all shards together (and as many on their way back): with
/// [`CHUNK`], a few thousand verdicts (a few MB); each shard gets its share, at least 2 (so
/// 2 × N in all past 4 shards).
const CHUNKS_IN_FLIGHT: usize = 8;

/// One shard's channels, seen from the output thread.
struct FromShardChannels {
    verdicts: Receiver<FromShard>,
    /// Chunks written, going back with their verdicts still in: the shard's thread drops them
    /// and fills the vectors again. Verdicts are allocated by the shard's thread and freed by
    /// it too: freeing them on the output thread made the allocator's cross-thread path
    /// (arena locks, consolidation) a fifth of the tracker thread's time on a SYN flood.
    written: Sender<Chunk>,
}

/// Verdicts in the order a shard decided them, each with the position in its batch of the
/// packet (or clock tick) that decided it, so the output can merge the shards' verdicts in
/// the order one tracker would have given them.
#[derive(Default)]
struct Chunk {
    verdicts: Vec<Verdict>,
    order: Vec<Order>,
}

/// Where a verdict goes in one tracker's order, within its batch (or the end of the input):
/// by the position in the batch of the packet whose time or content decided it; at one
/// position, the timers its time ran out (by deadline, then by where their attempts were
/// first seen) before the packet's own verdicts; at the end of the input, in the order the
/// attempts were first seen. Compared field by field. Every shard counts every packet of
/// the capture, so `first_seen` means the same in all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Order {
    position: u16,
    /// 0: a timer ran out; 1: a gap in the capture's coverage before the packet; 2: decided
    /// by the packet; 3: the end of the input.
    step: u8,
    /// The timer's deadline.
    deadline: i64,
    /// The attempt's place in the capture (the tracker's packet count at its first packet).
    first_seen: u64,
}

/// The position of verdicts decided after a batch's packets (its end-of-batch clock) and at
/// the end of the input.
const AFTER_BATCH: u16 = u16::MAX;

/// What decides the verdicts a shard gives now.
#[derive(Clone, Copy, Debug)]
enum Step {
    Timer(crate::time::Timestamp, u64),
    Gap(u64),
    Packet,
    EndOfInput(u64),
}

/// What a shard sends to the output thread.
enum FromShard {
    /// Verdicts; `batch_done` when the shard has finished the batch.
    Verdicts { chunk: Chunk, batch_done: bool },
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
/// [`crate::track::shard`]); the output is one tracker's, in the same order, with the attempts
/// numbered differently (see [`Tracker::numbered`]), the summary's `flows.peak` the sum of the
/// shards' peaks, and each shard holding `max_flows / N` conversations. With 1, the output is
/// exactly a single tracker's.
///
/// `progress`, when given, hears from the capture thread how many bytes have been read.
pub fn analyze(
    source: MergedSource,
    open_errors: Vec<SourceError>,
    config: AnalyzeConfig,
    sink: &mut dyn Sink,
    progress: Option<Box<dyn Progress>>,
) -> io::Result<Outcome> {
    let (started, output_cpu_before) = (Instant::now(), thread_cpu());
    let n = config.threads.max(1);
    let inputs = Inputs { names: source.names().to_vec() };
    let mut errors: Vec<String> = open_errors.iter().map(|e| e.to_string()).collect();
    let read_filter = match config.read_filter.as_deref().map(crate::capture::ReadFilter::new) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            errors.push(e.to_string());
            None
        }
    };

    let mut to_shards = Vec::with_capacity(n);
    let mut from_shards = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    for s in 0..n {
        let (batch_tx, batch_rx) = bounded::<SubBatch>(IN_FLIGHT);
        let (recycle_tx, recycle_rx) = bounded::<SubBatch>(IN_FLIGHT + 2);
        let chunks_in_flight = (CHUNKS_IN_FLIGHT / n).max(2);
        let (out_tx, out_rx) = bounded::<FromShard>(chunks_in_flight);
        let (written_tx, written_rx) = bounded::<Chunk>(chunks_in_flight);
        let tracker = Tracker::new(TrackerConfig {
            max_flows: (config.tracker.max_flows / n).max(1),
            ..config.tracker
        })
        .numbered(s as u64 + 1, n as u64)
        .with_host_capacity(config.tracker.max_flows.max(1));
        workers.push(thread::Builder::new().name(format!("connlens-track-{s}")).spawn(
            move || {
                let out = Chunks {
                    chunk: Chunk::default(),
                    at: 0,
                    step: Step::Packet,
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
        .spawn(move || (read_and_route(source, &to_shards, progress, read_filter), thread_cpu()))?;

    let mut output = Output::new(config.incidents, inputs, errors)
        .with_filter(crate::report::Matcher::new(config.filter.clone()));
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

/// The output side: batch by batch, merges the shards' verdicts by the position in the batch
/// of the packet that decided them (shard order on a tie), until every shard is done: the
/// order one tracker gives, whatever the scheduling (with one shard, exactly its order).
/// Returns the first write error, or the shards' counters added up (None if a shard vanished
/// without them).
fn merge(
    from_shards: &[FromShardChannels],
    output: &mut Output,
    sink: &mut dyn Sink,
) -> (io::Result<()>, Option<TrackerStats>) {
    /// A shard's chunk being written, and where its batch (or the input) stands.
    #[derive(Default)]
    struct Head {
        chunk: Chunk,
        next: usize,
        batch_done: bool,
        finished: bool,
    }
    let mut total = TrackerStats::default();
    let mut heads: Vec<Head> = from_shards.iter().map(|_| Head::default()).collect();
    while heads.iter().any(|h| !h.finished) {
        // One batch (or, after the last, the verdicts given at the end of the input).
        loop {
            for (head, shard) in heads.iter_mut().zip(from_shards) {
                while !head.batch_done && head.next == head.chunk.verdicts.len() {
                    match shard.verdicts.recv() {
                        Ok(FromShard::Verdicts { chunk, batch_done }) => {
                            let used = std::mem::replace(&mut head.chunk, chunk);
                            if used.verdicts.capacity() > 0 {
                                let _ = shard.written.try_send(used);
                            }
                            head.next = 0;
                            head.batch_done = batch_done;
                        }
                        Ok(FromShard::Done(stats)) => {
                            total.add(&stats);
                            head.batch_done = true;
                            head.finished = true;
                        }
                        Err(_) => return (Ok(()), None),
                    }
                }
            }
            let first = heads
                .iter_mut()
                .filter_map(|h| Some((*h.chunk.order.get(h.next)?, h)))
                .min_by_key(|(order, _)| *order);
            let Some((_, head)) = first else { break };
            if let Some(v) = head.chunk.verdicts.get(head.next)
                && let Err(e) = output.verdict(sink, v)
            {
                return (Err(e), None);
            }
            head.next += 1;
        }
        for head in heads.iter_mut().filter(|h| !h.finished) {
            head.batch_done = false;
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
    recycle: Sender<SubBatch>,
    mut chunks: Chunks,
) {
    for mut sub in batches.iter() {
        let mut facts_only = sub.facts_only.iter().map(|&i| i as usize).peekable();
        let mut gaps = sub.gaps.iter().peekable();
        // The gaps in coverage before the packet at `position` (all that are left: None).
        let mut gaps_before =
            |position: Option<u16>, tracker: &mut Tracker, chunks: &mut Chunks| {
                while let Some(&&(at, from, to)) = gaps.peek() {
                    if position.is_some_and(|p| at > p) {
                        break;
                    }
                    gaps.next();
                    chunks.at = at;
                    tracker.coverage_gap(from, to, chunks);
                }
            };
        if sub.clock.is_empty() {
            // One shard: the sub-batch is the whole batch.
            for (i, p) in sub.packets.iter().enumerate() {
                gaps_before(Some(i as u16), &mut tracker, &mut chunks);
                chunks.at = i as u16;
                tracker.packet(p, &mut chunks);
            }
        } else {
            // Several: the clock moves at every packet of the batch, and this shard's own
            // packets (or copies for their sender's facts) are at their positions.
            let mut own = sub.positions.iter().zip(&sub.packets).enumerate().peekable();
            for (position, &ts) in sub.clock.iter().enumerate() {
                let position = position as u16;
                gaps_before(Some(position), &mut tracker, &mut chunks);
                chunks.at = position;
                match own.next_if(|(_, (at, _))| **at == position) {
                    Some((i, (_, p))) if facts_only.next_if_eq(&i).is_some() => {
                        tracker.sender_facts(p, &mut chunks);
                    }
                    Some((_, (_, p))) => tracker.packet(p, &mut chunks),
                    None => tracker.other_packet(ts, &mut chunks),
                }
            }
        }
        gaps_before(None, &mut tracker, &mut chunks);
        chunks.at = AFTER_BATCH;
        // The time of the last frame read moves the clock when it is news: a skipped frame's.
        // The last packet's own time again would pass for a second frame confirming a leap.
        let last_packet = sub.clock.last().or(sub.packets.last().map(|p| &p.ts));
        if let Some(t) = sub.read_until
            && Some(&t) != last_packet
        {
            tracker.capture_time(t, &mut chunks);
        }
        sub.clear();
        let _ = recycle.try_send(sub);
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
    if !chunks.chunk.verdicts.is_empty() {
        chunks.send(false);
    }
    if !chunks.closed {
        let _ = chunks.out.send(FromShard::Done(tracker.stats()));
    }
}

/// Collects verdicts into chunks of at most [`CHUNK`] and sends each when full.
struct Chunks {
    chunk: Chunk,
    /// The position in the batch of the packet being tracked ([`AFTER_BATCH`] after them).
    at: u16,
    step: Step,
    out: Sender<FromShard>,
    /// Chunks the output thread has written, to be emptied here and filled again.
    written: Receiver<Chunk>,
    /// The output side hung up: verdicts are dropped from now on.
    closed: bool,
}

impl Chunks {
    fn send(&mut self, batch_done: bool) {
        if self.closed {
            return;
        }
        let chunk = std::mem::take(&mut self.chunk);
        if self.out.send(FromShard::Verdicts { chunk, batch_done }).is_err() {
            self.closed = true;
        }
    }
}

impl VerdictOut for Chunks {
    fn timer_ran_out(&mut self, deadline: crate::time::Timestamp, first_seen: u64) {
        self.step = Step::Timer(deadline, first_seen);
    }

    fn input_ended(&mut self, first_seen: u64) {
        self.step = Step::EndOfInput(first_seen);
    }

    fn coverage_gap(&mut self, first_seen: u64) {
        self.step = Step::Gap(first_seen);
    }

    fn tracking_packet(&mut self) {
        self.step = Step::Packet;
    }

    fn emit(&mut self, v: Verdict) {
        if self.closed {
            return;
        }
        if self.chunk.verdicts.capacity() == 0 {
            match self.written.try_recv() {
                Ok(mut used) => {
                    used.verdicts.clear();
                    used.order.clear();
                    self.chunk = used;
                }
                Err(_) => {
                    self.chunk.verdicts.reserve_exact(CHUNK);
                    self.chunk.order.reserve_exact(CHUNK);
                }
            }
        }
        let order = match self.step {
            Step::Timer(deadline, first_seen) => {
                Order { position: self.at, step: 0, deadline: deadline.0, first_seen }
            }
            Step::Gap(first_seen) => Order { position: self.at, step: 1, deadline: 0, first_seen },
            Step::Packet => Order { position: self.at, step: 2, ..Order::default() },
            Step::EndOfInput(first_seen) => {
                Order { position: AFTER_BATCH, step: 3, deadline: 0, first_seen }
            }
        };
        self.chunk.verdicts.push(v);
        self.chunk.order.push(order);
        if self.chunk.verdicts.len() == CHUNK {
            self.send(false);
        }
    }
}
