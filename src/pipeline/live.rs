//! The live path: a capture thread that never waits for the tracker (a full channel drops the
//! batch and counts its packets, so the loss is reported, where the kernel would drop them
//! silently), and one tracker on the calling thread, which also moves it on the wall clock so
//! that verdicts that wait for a timeout come out on time.
//!
//! Live runs keep one tracker: a live capture of one interface is rarely faster than one
//! tracker, and the wall-clock ticks would have to reach every shard.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select, tick};

use crate::capture::live::LiveRead;
use crate::capture::{LiveCapture, PcapWriter, TsResolution};
use crate::decode::Packet;
use crate::incident::IncidentConfig;
use crate::output::{Inputs, LiveCounters, Sink};
use crate::time::{Duration, Timestamp};
use crate::track::{EmitWith, Tracker, TrackerConfig};
use crate::verdict::Verdict;

use super::BATCH;
use super::output::{Outcome, Output};
use super::read::ReadStats;

/// What the capture thread sends.
enum Message {
    /// Decoded packets.
    Batch(Vec<Packet>),
    /// A capture that failed.
    Error(String),
}

/// The tracker side of a live run.
struct Run {
    tracker: Tracker,
    output: Output,
}

/// What makes a live run stop, and its wall-clock ticks.
struct LiveControl {
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    count: Option<u64>,
}

impl Run {
    /// Runs `step` on the tracker, writing each verdict it decides at once (with the
    /// incidents it completes), so no step holds more than one verdict in memory.
    fn step(
        &mut self,
        sink: &mut dyn Sink,
        step: impl FnOnce(&mut Tracker, &mut EmitWith<&mut dyn FnMut(Verdict)>),
    ) -> io::Result<()> {
        let Run { tracker, output } = self;
        let mut failed: Option<io::Error> = None;
        let mut write = |v: Verdict| {
            if failed.is_none()
                && let Err(e) = output.verdict(sink, &v)
            {
                failed = Some(e);
            }
        };
        step(tracker, &mut EmitWith(&mut write));
        failed.map_or(Ok(()), Err)
    }

    /// Feeds the tracker from `rx` until the capture thread hangs up, moving it on the wall
    /// clock every [`TICK`] as well, so that an unanswered attempt gets its verdict when its
    /// timeout passes even if no other packet arrives; stops the capture after the run's
    /// duration or count. Then gives every open attempt its verdict and writes the summary.
    fn drive(
        mut self,
        rx: Receiver<Message>,
        recycle_tx: Sender<Vec<Packet>>,
        control: LiveControl,
        sink: &mut dyn Sink,
        show_summary: bool,
        join: impl FnOnce() -> ReadStats,
    ) -> io::Result<Outcome> {
        let ticker = tick(TICK);
        let mut result: io::Result<()> = Ok(());
        loop {
            select! {
                recv(rx) -> msg => match msg {
                    Ok(Message::Batch(mut batch)) => {
                        result = self.step(sink, |tracker, out| {
                            for p in &batch {
                                tracker.packet(p, out);
                            }
                        });
                        batch.clear();
                        let _ = recycle_tx.try_send(batch);
                    }
                    Ok(Message::Error(e)) => self.output.errors.push(e),
                    Err(_) => break,
                },
                recv(ticker) -> _ => {
                    let now = wall_clock().add(Duration(-GRACE_NANOS));
                    result = self.step(sink, |tracker, out| tracker.advance(now, out));
                    result = result.and_then(|()| self.output.tick(sink, now));
                }
            }
            if result.is_err() {
                break;
            }
            let counted = control.count.is_some_and(|n| self.output.attempts() >= n);
            let timed_out = control.deadline.is_some_and(|d| Instant::now() >= d);
            if counted || timed_out {
                control.stop.store(true, Ordering::SeqCst);
            }
        }
        // Output failed: the capture thread must stop too.
        control.stop.store(true, Ordering::SeqCst);
        drop(rx);
        let read = join();

        if result.is_ok() {
            result = self.step(sink, |tracker, out| tracker.finish(out));
        }
        let tracker = self.tracker.stats();
        self.output.conclude(sink, read, tracker, result, show_summary)
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
    /// Stop after this many verdicts are written (as tcpdump's `-c`: exactly that many; the
    /// ones decided after, such as pending attempts at the stop, are counted in the summary).
    pub count: Option<u64>,
    /// Which attempts are written and counted.
    pub filter: crate::report::Filter,
    /// Set (by a signal handler, or by the caller) to stop the run cleanly.
    pub stop: Arc<AtomicBool>,
    /// Where the capture thread keeps its packet counters up to date (`--metrics`).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
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
    let metrics = options.metrics.clone();
    let reader = thread::Builder::new()
        .name("connlens-capture".into())
        .spawn(move || capture_live(capture, writer, tx, recycle_rx, stop, metrics))?;
    let control = LiveControl {
        stop: options.stop.clone(),
        deadline: options.duration.map(|d| Instant::now() + d),
        count: options.count,
    };
    let run = Run {
        // Live: a verdict is written at once; one that later packets contradict gets a correction
        // line (`revised`), instead of being held back.
        tracker: Tracker::new(TrackerConfig { hold_verdicts: false, ..options.tracker }),
        output: Output::new(options.incidents, Inputs { names: vec![name] }, Vec::new())
            .with_filter(crate::report::Matcher::new(options.filter))
            .with_limit(options.count),
    };
    run.drive(rx, recycle_tx, control, sink, options.summary, move || {
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
    metrics: Option<Arc<crate::metrics::Metrics>>,
) -> ReadStats {
    // The kernel's filter lets every tunnel's packets through; the user's expression is
    // applied here to what they carry (and, for the others, again: it costs a BPF run each).
    let mut stats = ReadStats {
        filter: capture.user_filter().and_then(|f| crate::capture::ReadFilter::new(f).ok()),
        ..ReadStats::default()
    };
    let mut counters =
        LiveCounters { interface: capture.interface().to_string(), ..LiveCounters::default() };
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_flush = Instant::now();
    let mut writer_dirty = false;
    let mut failed = None;
    let mut last_stats = Instant::now();
    // Keeps the metrics page's packet counters up to date (about once a second for the
    // kernel's, which cost a system call).
    let mut publish = |capture: &mut LiveCapture, stats: &ReadStats, counters: &LiveCounters| {
        if let Some(m) = &metrics {
            m.packets_read.store(stats.frames, Ordering::Relaxed);
            m.dropped_by_connlens.store(counters.dropped_by_connlens, Ordering::Relaxed);
            if last_stats.elapsed() >= std::time::Duration::from_secs(1) {
                last_stats = Instant::now();
                if let Some(k) = capture.stats() {
                    m.kernel_received.store(k.received, Ordering::Relaxed);
                    m.dropped_by_kernel.store(k.dropped, Ordering::Relaxed);
                    m.dropped_by_interface.store(k.if_dropped, Ordering::Relaxed);
                }
            }
        }
    };

    // Hands the batch over if the tracker has room; otherwise counts its packets as dropped.
    let hand_over = |batch: &mut Vec<Packet>, counters: &mut LiveCounters| -> bool {
        if batch.is_empty() {
            return true;
        }
        let next = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(batch, next);
        match tx.try_send(Message::Batch(full)) {
            Ok(()) => true,
            Err(TrySendError::Full(Message::Batch(mut b))) => {
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
                if let Some(p) = stats.frame(&frame) {
                    batch.push(p);
                }
                if (batch.len() == BATCH || last_flush.elapsed() >= FLUSH_EVERY)
                    && !hand_over(&mut batch, &mut counters)
                {
                    break;
                }
                if last_flush.elapsed() >= FLUSH_EVERY {
                    last_flush = Instant::now();
                    publish(&mut capture, &stats, &counters);
                }
            }
            LiveRead::Timeout => {
                if !hand_over(&mut batch, &mut counters) {
                    break;
                }
                last_flush = Instant::now();
                publish(&mut capture, &stats, &counters);
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
        let _ = tx.send(Message::Batch(batch));
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
    if let (Some(m), Some(k)) = (&metrics, counters.kernel) {
        m.packets_read.store(stats.frames, Ordering::Relaxed);
        m.dropped_by_connlens.store(counters.dropped_by_connlens, Ordering::Relaxed);
        m.kernel_received.store(k.received, Ordering::Relaxed);
        m.dropped_by_kernel.store(k.dropped, Ordering::Relaxed);
        m.dropped_by_interface.store(k.if_dropped, Ordering::Relaxed);
    }
    stats.live = Some(counters);
    stats
}
