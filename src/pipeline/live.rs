//! The pipeline: a capture thread reads and decodes frames into batches of [`Packet`]s and
//! hands them over a bounded crossbeam channel to the tracker, which runs on the calling
//! thread and pushes verdicts into a [`Sink`].
//!
//! Batches, not single packets, cross the channel so the hand-off costs little per packet;
//! emptied batch vectors travel back on a second channel and are reused, so nothing is
//! allocated per packet once the pipeline runs. The channel is bounded: when the tracker is
//! slower than the reader, an offline reader waits (nothing may be lost), while a live capture
//! thread never waits (the kernel would drop packets behind its back): it drops the batch and
//! counts its packets, so the loss is reported.
//!
//! Both paths share the tracker side ([`analyze`] and [`live`]); a live run also moves the
//! tracker on the wall clock, so verdicts that wait for a timeout come out on time.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, never, select, tick};
use indicatif::ProgressBar;

use crate::capture::live::LiveRead;
use crate::capture::{Frame, LiveCapture, MergedSource, PcapWriter, SourceError, TsResolution};
use crate::decode::{Packet, decode};
use crate::incident::{IncidentConfig, IncidentDetector};
use crate::output::{Inputs, LiveCounters, RunStats, Sink, Summary};
use crate::time::{Duration, Timestamp};
use crate::track::{EmitWith, Tracker, TrackerConfig};
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
    /// Incident thresholds.
    pub incidents: IncidentConfig,
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
    /// Decoded packets, and (offline) the time of the last frame read, skipped frames
    /// included: an ICMP echo or an ARP at the end of a capture still moves the clock on, so
    /// timeouts that passed before the capture ended are not mistaken for the end.
    Batch(Vec<Packet>, Option<Timestamp>),
    /// An input that stopped being readable (offline), or a capture that failed (live).
    Error(String),
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
    /// The timestamp of the frame read last (not the greatest: a mis-stamped frame must not
    /// move the tracker's clock by itself; see `Tracker::capture_time`).
    latest: Option<Timestamp>,
    live: Option<LiveCounters>,
}

impl ReadStats {
    /// Counts and decodes one frame into `batch`.
    fn frame(&mut self, frame: &Frame<'_>, batch: &mut Vec<Packet>) {
        self.frames += 1;
        self.bytes += frame.data.len() as u64;
        if self.first.is_none() {
            self.first = Some(frame.ts);
        }
        self.last = Some(frame.ts.max(self.last.unwrap_or(frame.ts)));
        self.latest = Some(frame.ts);
        match decode(frame) {
            Ok(p) => {
                self.decoded += 1;
                batch.push(p);
            }
            Err(skip) => self.skipped[skip.index()] += 1,
        }
    }
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
                if tx.send(Message::Error(e.to_string())).is_err() {
                    return stats;
                }
            }
            Some(Ok(frame)) => {
                stats.frame(&frame, &mut batch);
                if batch.len() == BATCH {
                    let next = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let full = std::mem::replace(&mut batch, next);
                    if tx.send(Message::Batch(full, stats.latest)).is_err() {
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
    // Even empty: it carries the time of the last frame read.
    let _ = tx.send(Message::Batch(batch, stats.latest));
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
    let errors: Vec<String> = open_errors.iter().map(|e| e.to_string()).collect();
    let (tx, rx) = bounded::<Message>(IN_FLIGHT);
    let (recycle_tx, recycle_rx) = bounded::<Vec<Packet>>(IN_FLIGHT + 2);

    let reader = thread::Builder::new()
        .name("connlens-capture".into())
        .spawn(move || read_and_decode(source, tx, recycle_rx, progress))?;
    let run = Run::new(config.tracker, config.incidents, inputs, errors);
    run.drive(rx, recycle_tx, None, sink, config.summary, move || reader.join().unwrap_or_default())
}

/// The tracker side of a run, shared by the offline and the live paths.
struct Run {
    tracker: Tracker,
    incidents: IncidentDetector,
    summary: Summary,
    inputs: Inputs,
    errors: Vec<String>,
}

/// What makes a live run stop, and its wall-clock ticks.
struct LiveControl {
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    count: Option<u64>,
}

impl Run {
    fn new(
        config: TrackerConfig,
        incidents: IncidentConfig,
        inputs: Inputs,
        errors: Vec<String>,
    ) -> Run {
        Run {
            tracker: Tracker::new(config),
            incidents: IncidentDetector::new(incidents),
            summary: Summary::default(),
            inputs,
            errors,
        }
    }

    /// Runs `step` on the tracker, writing each verdict it decides at once (with the
    /// incidents it completes), so no step holds more than one verdict in memory.
    fn step(
        &mut self,
        sink: &mut dyn Sink,
        step: impl FnOnce(&mut Tracker, &mut EmitWith<&mut dyn FnMut(Verdict)>),
    ) -> io::Result<()> {
        let Run { tracker, incidents, summary, inputs, .. } = self;
        let mut failed: Option<io::Error> = None;
        let mut write = |v: Verdict| {
            if failed.is_some() {
                return;
            }
            summary.observe(&v);
            let mut r = sink.verdict(&v, inputs);
            for i in incidents.observe(&v) {
                summary.observe_incident(&i);
                r = r.and_then(|()| sink.incident(&i));
            }
            if let Err(e) = r {
                failed = Some(e);
            }
        };
        step(tracker, &mut EmitWith(&mut write));
        failed.map_or(Ok(()), Err)
    }

    /// Feeds the tracker from `rx` until the capture thread hangs up, then gives every open
    /// attempt its verdict and writes the summary. Live (`control`), the tracker also moves
    /// on the wall clock every [`TICK`], so that an unanswered attempt gets its verdict when its
    /// timeout passes even if no other packet arrives, and the run is stopped after its
    /// duration or count.
    fn drive(
        mut self,
        rx: Receiver<Message>,
        recycle_tx: Sender<Vec<Packet>>,
        control: Option<LiveControl>,
        sink: &mut dyn Sink,
        show_summary: bool,
        join: impl FnOnce() -> ReadStats,
    ) -> io::Result<Outcome> {
        let ticker = if control.is_some() { tick(TICK) } else { never() };
        let mut result: io::Result<()> = Ok(());
        loop {
            select! {
                recv(rx) -> msg => match msg {
                    Ok(Message::Batch(mut batch, read_until)) => {
                        result = self.step(sink, |tracker, out| {
                            for p in &batch {
                                tracker.packet(p, out);
                            }
                            if let Some(t) = read_until {
                                tracker.capture_time(t, out);
                            }
                        });
                        batch.clear();
                        let _ = recycle_tx.try_send(batch);
                    }
                    Ok(Message::Error(e)) => self.errors.push(e),
                    Err(_) => break,
                },
                recv(ticker) -> _ => {
                    let now = wall_clock().add(Duration(-GRACE_NANOS));
                    result = self.step(sink, |tracker, out| tracker.advance(now, out));
                }
            }
            if result.is_err() {
                break;
            }
            if let Some(c) = &control {
                let counted = c.count.is_some_and(|n| self.summary.attempts() >= n);
                let timed_out = c.deadline.is_some_and(|d| Instant::now() >= d);
                if counted || timed_out {
                    c.stop.store(true, Ordering::SeqCst);
                }
            }
        }
        if let Some(c) = &control {
            // Output failed: the capture thread must stop too.
            c.stop.store(true, Ordering::SeqCst);
        }
        drop(rx);
        let read = join();

        if result.is_ok() {
            result = self.step(sink, |tracker, out| tracker.finish(out));
        }

        let input_errors = self.errors.len();
        let stats = RunStats {
            frames: read.frames,
            bytes: read.bytes,
            decoded: read.decoded,
            skipped: read.skipped,
            tracker: self.tracker.stats(),
            errors: self.errors,
            inputs: self.inputs.names.clone(),
            span: read.first.zip(read.last),
            live: read.live,
        };
        let attempts = self.summary.attempts();
        let mut output_closed = false;
        match result {
            Ok(()) => {
                self.summary.run = stats.clone();
                let shown = if show_summary { Some(&self.summary) } else { None };
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
}

/// How often a live run moves the tracker on the wall clock.
const TICK: std::time::Duration = std::time::Duration::from_millis(100);
/// How far behind the wall clock a tick moves the tracker: longer than a packet can spend
/// between the kernel stamping it and the tracker seeing it (the read timeout plus the batch
/// flush interval), so that an answer already captured is never overtaken by its timeout.
const GRACE_NANOS: i64 = 300_000_000;
/// A half-full batch is handed over at least this often, so a lone SYN is not held back.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Batches in flight on a live run: more than offline, to absorb bursts while the tracker
/// writes output (about 200 KiB each).
const LIVE_IN_FLIGHT: usize = 64;

/// Now, on the same clock as the kernel's capture timestamps.
fn wall_clock() -> Timestamp {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp::from_secs_nanos(
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(_) => Timestamp(0),
    }
}

/// Settings of a live run.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Tracker settings.
    pub tracker: TrackerConfig,
    /// Incident thresholds.
    pub incidents: IncidentConfig,
    /// Whether to print the summary at the end.
    pub summary: bool,
    /// Stop after this long.
    pub duration: Option<std::time::Duration>,
    /// Stop after this many attempts have their verdict.
    pub count: Option<u64>,
    /// Set (by a signal handler, or by the caller) to stop the run cleanly.
    pub stop: Arc<AtomicBool>,
}

/// Where a live run keeps the captured frames (`-w FILE`).
pub struct Evidence {
    /// The name verdicts give as their `capture` (the file as the user named it), so that the
    /// packet numbers in their evidence point into this file.
    pub name: String,
    /// The file.
    pub out: Box<dyn Write + Send>,
}

/// Watches a live capture until `options.stop` is set, `options.duration` passes or
/// `options.count` attempts have their verdict; verdicts go to `sink` as they are decided.
/// Then every pending attempt gets its verdict and the summary (with libpcap's and connlens'
/// drop counters) is written.
///
/// The capture thread never waits for the tracker: when the channel is full, the batch is
/// dropped and its packets are counted (`dropped_by_connlens`), never silently lost. With
/// `evidence`, every captured frame is written to it first (drops included), as a classic
/// pcap of the capture's link type, whose packet numbers are the ones the verdicts give.
pub fn live(
    capture: LiveCapture,
    evidence: Option<Evidence>,
    options: LiveOptions,
    sink: &mut dyn Sink,
) -> io::Result<Outcome> {
    let name = match &evidence {
        Some(e) => e.name.clone(),
        None => capture.interface().to_string(),
    };
    let writer = match evidence {
        Some(e) => Some(PcapWriter::new(
            io::BufWriter::with_capacity(1 << 16, e.out),
            capture.link_type(),
            capture.snaplen(),
            TsResolution::Micro,
            false,
        )?),
        None => None,
    };
    let (tx, rx) = bounded::<Message>(LIVE_IN_FLIGHT);
    let (recycle_tx, recycle_rx) = bounded::<Vec<Packet>>(LIVE_IN_FLIGHT + 2);
    let stop = options.stop.clone();
    let reader = thread::Builder::new()
        .name("connlens-capture".into())
        .spawn(move || capture_live(capture, writer, tx, recycle_rx, stop))?;
    let control = LiveControl {
        stop: options.stop.clone(),
        deadline: options.duration.map(|d| Instant::now() + d),
        count: options.count,
    };
    let run =
        Run::new(options.tracker, options.incidents, Inputs { names: vec![name] }, Vec::new());
    run.drive(rx, recycle_tx, Some(control), sink, options.summary, move || {
        reader.join().unwrap_or_default()
    })
}

/// The live capture thread: reads, writes the evidence file, decodes, and hands batches over
/// without ever blocking on the tracker.
fn capture_live(
    mut capture: LiveCapture,
    mut writer: Option<PcapWriter<io::BufWriter<Box<dyn Write + Send>>>>,
    tx: Sender<Message>,
    recycled: Receiver<Vec<Packet>>,
    stop: Arc<AtomicBool>,
) -> ReadStats {
    let mut stats = ReadStats::default();
    let mut counters =
        LiveCounters { interface: capture.interface().to_string(), ..LiveCounters::default() };
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_flush = Instant::now();
    let mut writer_dirty = false;
    let mut failed = None;

    // Hands the batch over if the tracker has room; otherwise counts its packets as dropped.
    let hand_over = |batch: &mut Vec<Packet>, counters: &mut LiveCounters| -> bool {
        if batch.is_empty() {
            return true;
        }
        let next = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(batch, next);
        match tx.try_send(Message::Batch(full, None)) {
            Ok(()) => true,
            Err(TrySendError::Full(Message::Batch(mut b, _))) => {
                counters.dropped_by_connlens += b.len() as u64;
                b.clear();
                *batch = b;
                true
            }
            Err(_) => false,
        }
    };

    while !stop.load(Ordering::Relaxed) {
        match capture.next_frame() {
            LiveRead::Frame(frame) => {
                if let Some(w) = &mut writer {
                    writer_dirty = true;
                    if let Err(e) = w.write_frame(frame.ts, frame.data, frame.orig_len) {
                        failed = Some(format!("writing the capture file: {e}"));
                        writer = None;
                    }
                }
                stats.frame(&frame, &mut batch);
                if (batch.len() == BATCH || last_flush.elapsed() >= FLUSH_EVERY)
                    && !hand_over(&mut batch, &mut counters)
                {
                    break;
                }
                if last_flush.elapsed() >= FLUSH_EVERY {
                    last_flush = Instant::now();
                }
            }
            LiveRead::Timeout => {
                if !hand_over(&mut batch, &mut counters) {
                    break;
                }
                last_flush = Instant::now();
                // A quiet moment: make the evidence file complete up to now.
                if writer_dirty {
                    if let Some(w) = &mut writer {
                        let _ = w.get_mut().flush();
                    }
                    writer_dirty = false;
                }
            }
            LiveRead::Error(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    // The end of the run: the tracker is draining, so the last batch may wait for room.
    if !batch.is_empty() {
        let _ = tx.send(Message::Batch(batch, None));
    }
    if let Some(w) = writer
        && let Err(e) = w.into_inner().flush()
    {
        failed.get_or_insert(format!("writing the capture file: {e}"));
    }
    if let Some(e) = failed {
        let _ = tx.send(Message::Error(e));
    }
    counters.kernel = capture.stats();
    stats.live = Some(counters);
    stats
}
