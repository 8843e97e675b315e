//! The pipeline: a capture thread reads and decodes frames into batches of [`Packet`]s and
//! hands them over a bounded crossbeam channel to the tracker, which runs on the calling
//! thread and pushes verdicts into a [`Sink`].
//!
//! Batches, not single packets, cross the channel so the hand-off costs little per packet;
//! emptied batch vectors travel back on a second channel and are reused, so nothing is
//! allocated per packet once the pipeline runs. The channel is bounded: when the tracker is
//! slower than the reader, the reader waits (offline nothing may be lost).

use std::io;
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};
use indicatif::ProgressBar;

use crate::capture::{MergedSource, SourceError};
use crate::decode::{Packet, decode};
use crate::output::{Inputs, RunStats, Sink, Summary};
use crate::time::Timestamp;
use crate::track::{Tracker, TrackerConfig};
use crate::verdict::Verdict;

/// Packets per batch.
pub const BATCH: usize = 1024;
/// Batches in flight between the capture thread and the tracker.
const IN_FLIGHT: usize = 8;

/// Settings of an offline analysis.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnalyzeConfig {
    /// Tracker settings.
    pub tracker: TrackerConfig,
    /// Whether to print the summary at the end.
    pub summary: bool,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Reading-side counters, tracker counters and input errors.
    pub stats: RunStats,
    /// Verdicts given.
    pub attempts: u64,
    /// Inputs that could not be read to the end (already in `stats.errors` as text).
    pub input_errors: usize,
    /// The output was closed early (`| head`): the run stopped quietly.
    pub output_closed: bool,
}

/// What the capture thread sends.
enum Message {
    Batch(Vec<Packet>),
    Error(SourceError),
}

/// The capture thread's counters.
#[derive(Default)]
struct ReadStats {
    frames: u64,
    bytes: u64,
    decoded: u64,
    skipped: [u64; crate::decode::Skip::ALL.len()],
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

fn read_and_decode(
    mut source: MergedSource,
    tx: Sender<Message>,
    recycled: Receiver<Vec<Packet>>,
    progress: Option<ProgressBar>,
) -> ReadStats {
    let mut stats = ReadStats::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_progress = 0u64;
    loop {
        match source.next_frame() {
            None => break,
            Some(Err(e)) => {
                if tx.send(Message::Error(e)).is_err() {
                    return stats;
                }
            }
            Some(Ok(frame)) => {
                stats.frames += 1;
                stats.bytes += frame.data.len() as u64;
                if stats.first.is_none() {
                    stats.first = Some(frame.ts);
                }
                stats.last = Some(frame.ts.max(stats.last.unwrap_or(frame.ts)));
                match decode(&frame) {
                    Ok(p) => {
                        stats.decoded += 1;
                        batch.push(p);
                    }
                    Err(skip) => stats.skipped[skip.index()] += 1,
                }
                if batch.len() == BATCH {
                    let next = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let full = std::mem::replace(&mut batch, next);
                    if tx.send(Message::Batch(full)).is_err() {
                        return stats;
                    }
                    if let Some(bar) = &progress {
                        let read = source.bytes_read();
                        if read - last_progress > (1 << 20) {
                            bar.set_position(read);
                            last_progress = read;
                        }
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Message::Batch(batch));
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    stats
}

/// Analyzes `source` to its end: every attempt gets a verdict in `sink`, then the summary.
///
/// Input damage does not stop the run: the damaged input's error is recorded (and reported
/// in the summary), the other inputs are still read, and everything read before the damage
/// gets its verdict. Only a failure to write the output returns `Err` (a closed pipe ends the
/// run quietly with `output_closed`).
pub fn analyze(
    source: MergedSource,
    open_errors: Vec<SourceError>,
    config: AnalyzeConfig,
    sink: &mut dyn Sink,
    progress: Option<ProgressBar>,
) -> io::Result<Outcome> {
    let inputs = Inputs { names: source.names().to_vec() };
    let mut errors: Vec<String> = open_errors.iter().map(|e| e.to_string()).collect();
    let (tx, rx) = bounded::<Message>(IN_FLIGHT);
    let (recycle_tx, recycle_rx) = bounded::<Vec<Packet>>(IN_FLIGHT + 2);

    let reader = thread::Builder::new()
        .name("connlens-capture".into())
        .spawn(move || read_and_decode(source, tx, recycle_rx, progress))?;

    let mut tracker = Tracker::new(config.tracker);
    let mut summary = Summary::default();
    let mut out: Vec<Verdict> = Vec::new();
    let mut result: io::Result<()> = Ok(());

    let mut emit = |out: &mut Vec<Verdict>, summary: &mut Summary| -> io::Result<()> {
        for v in out.drain(..) {
            summary.observe(&v);
            sink.verdict(&v, &inputs)?;
        }
        Ok(())
    };

    for msg in rx.iter() {
        match msg {
            Message::Batch(mut batch) => {
                for p in &batch {
                    tracker.packet(p, &mut out);
                }
                batch.clear();
                let _ = recycle_tx.try_send(batch);
                if let Err(e) = emit(&mut out, &mut summary) {
                    result = Err(e);
                    break;
                }
            }
            Message::Error(e) => errors.push(e.to_string()),
        }
    }
    drop(rx);
    let read = reader.join().unwrap_or_default();

    if result.is_ok() {
        tracker.finish(&mut out);
        result = emit(&mut out, &mut summary);
    }

    let input_errors = errors.len();
    let stats = RunStats {
        frames: read.frames,
        bytes: read.bytes,
        decoded: read.decoded,
        skipped: read.skipped,
        tracker: tracker.stats(),
        errors,
        inputs: inputs.names.clone(),
        span: read.first.zip(read.last),
    };
    let attempts = summary.attempts();
    let mut output_closed = false;
    match result {
        Ok(()) => {
            summary.run = stats.clone();
            let shown = if config.summary { Some(&summary) } else { None };
            if let Err(e) = sink.finish(shown) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    output_closed = true;
                } else {
                    return Err(e);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => output_closed = true,
        Err(e) => return Err(e),
    }
    Ok(Outcome { stats, attempts, input_errors, output_closed })
}
