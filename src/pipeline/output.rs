//! The last stage of every run: each verdict is written, counted for the summary and watched
//! for incidents, in the order it arrives; at the end the summary is written and the run's
//! [`Outcome`] put together.

use std::io;

use crate::incident::{IncidentConfig, IncidentDetector};
use crate::output::{Inputs, RunStats, Sink, Summary};
use crate::search_list::SearchList;
use crate::time::Timestamp;
use crate::track::TrackerStats;
use crate::verdict::Verdict;

use super::read::ReadStats;
use super::timings::ThreadTimes;

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
    /// CPU time by thread (offline runs; empty for live ones).
    pub timings: ThreadTimes,
}

/// Where verdicts go: through the search-list stage (which holds an NXDOMAIN a while, as a
/// later query of the same lookup may explain it), to the sink, the summary and the incident
/// detector.
pub(super) struct Output {
    search_list: SearchList,
    incidents: IncidentDetector,
    summary: Summary,
    inputs: Inputs,
    /// Input errors, in the order met.
    pub(super) errors: Vec<String>,
}

impl Output {
    pub(super) fn new(incidents: IncidentConfig, inputs: Inputs, errors: Vec<String>) -> Self {
        Output {
            search_list: SearchList::default(),
            incidents: IncidentDetector::new(incidents),
            summary: Summary::default(),
            inputs,
            errors,
        }
    }

    /// Writes one verdict (unless the search-list stage holds it) and the held verdicts that
    /// are now final.
    pub(super) fn verdict(&mut self, sink: &mut dyn Sink, v: &Verdict) -> io::Result<()> {
        let mut r = if self.search_list.offer(v) { Ok(()) } else { self.write(sink, v) };
        while let Some(held) = self.search_list.due() {
            r = r.and_then(|()| self.write(sink, &held));
        }
        r
    }

    /// Moves a live run's clock: held verdicts whose wait is over are written.
    pub(super) fn tick(&mut self, sink: &mut dyn Sink, now: Timestamp) -> io::Result<()> {
        self.search_list.tick(now);
        let mut r = Ok(());
        while let Some(held) = self.search_list.due() {
            r = r.and_then(|()| self.write(sink, &held));
        }
        r
    }

    /// Writes every verdict still held (the end of the input).
    fn flush_held(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        let mut r = Ok(());
        while let Some(held) = self.search_list.pop() {
            r = r.and_then(|()| self.write(sink, &held));
        }
        r
    }

    /// Writes one verdict with the incidents it completes, and counts them.
    fn write(&mut self, sink: &mut dyn Sink, v: &Verdict) -> io::Result<()> {
        self.summary.observe(v);
        let mut r = sink.verdict(v, &self.inputs);
        for i in self.incidents.observe(v) {
            self.summary.observe_incident(&i);
            r = r.and_then(|()| sink.incident(&i));
        }
        r
    }

    /// Verdicts written so far.
    pub(super) fn attempts(&self) -> u64 {
        self.summary.attempts()
    }

    /// The end of a run: writes the summary (unless the output already failed) and gathers
    /// the counters. A closed pipe is a quiet end (`output_closed`); other write errors are
    /// returned.
    pub(super) fn conclude(
        mut self,
        sink: &mut dyn Sink,
        read: ReadStats,
        tracker: TrackerStats,
        result: io::Result<()>,
        show_summary: bool,
    ) -> io::Result<Outcome> {
        let result = result.and_then(|()| self.flush_held(sink));
        self.errors.extend(read.errors);
        let input_errors = self.errors.len();
        let stats = RunStats {
            frames: read.frames,
            bytes: read.bytes,
            decoded: read.decoded,
            skipped: read.skipped,
            encapsulations: read.encapsulations,
            link_types: read.link_types.into_vec(),
            tracker,
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
        Ok(Outcome {
            stats,
            attempts,
            input_errors,
            output_closed,
            timings: ThreadTimes::default(),
        })
    }
}
