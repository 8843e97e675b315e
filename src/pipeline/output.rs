//! The last stage of every run: each verdict is written, counted for the summary and watched
//! for incidents, in the order it arrives; at the end the summary is written and the run's
//! [`Outcome`] put together.

use std::io;

use crate::incident::{IncidentConfig, IncidentDetector};
use crate::output::{Inputs, RunStats, Sink, Summary};
use crate::report::{FlowRecord, IncidentRecord, Matcher};
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
    /// Which attempts are written and counted (`--verdict`, `--failed`, `--server`, …).
    filter: Matcher,
    /// Attempts the filter left out.
    filtered_out: u64,
    /// Write at most this many verdicts (`live --count`).
    limit: Option<u64>,
    /// Verdicts given after the limit was reached (not written).
    beyond_limit: u64,
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
            filter: Matcher::default(),
            filtered_out: 0,
            limit: None,
            beyond_limit: 0,
            errors,
        }
    }

    /// Writes and counts only the attempts that pass `filter` (incidents are detected over
    /// every attempt, and shown when their subject passes).
    pub(super) fn with_filter(mut self, filter: Matcher) -> Self {
        self.filter = filter;
        self
    }

    /// Writes at most `limit` verdicts: the ones decided after are counted, not written.
    pub(super) fn with_limit(mut self, limit: Option<u64>) -> Self {
        self.limit = limit;
        self
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
        if self.limit.is_some_and(|n| self.summary.attempts() >= n) {
            self.beyond_limit += 1;
            return Ok(());
        }
        let shown = self.filter.is_empty()
            || self.filter.attempt(&FlowRecord::from_verdict(v, &self.inputs));
        let mut r = Ok(());
        if shown {
            self.summary.observe(v);
            r = sink.verdict(v, &self.inputs);
        } else {
            self.filtered_out += 1;
        }
        for i in self.incidents.observe(v) {
            if !self.filter.is_empty() && !self.filter.incident(&IncidentRecord::from_incident(&i))
            {
                continue;
            }
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
            filtered_frames: read.filtered,
            read_filter: read.filter.as_ref().map(|f| f.expr().to_string()),
            filters: self.filter.filter().describe(),
            filtered_out: self.filtered_out,
            beyond_limit: self.beyond_limit,
            per_input: read.per_input,
            warnings: Vec::new(),
        };
        let mut stats = stats;
        // Files only: a live interface that saw nothing is a quiet network, said by the
        // capture counters.
        if stats.live.is_none() {
            stats.warnings = crate::output::input_warnings(&stats);
        }
        if let Some(f) = &read.filter {
            stats.warnings.extend(f.errors.iter().map(|e| format!("{e}: its frames are left out")));
        }
        let attempts = self.summary.attempts();
        let mut output_closed = false;
        match result {
            Ok(()) => {
                self.summary.run = stats.clone();
                self.summary.publish = sink.publish_counters();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Proto;
    use crate::flow::Endpoint;
    use crate::incident::Incident;
    use crate::verdict::Cause;

    #[derive(Default)]
    struct Collect(Vec<u16>);

    impl Sink for Collect {
        fn verdict(&mut self, v: &Verdict, _: &Inputs) -> io::Result<()> {
            self.0.push(v.client.port);
            Ok(())
        }
        fn incident(&mut self, _: &Incident) -> io::Result<()> {
            Ok(())
        }
        fn finish(&mut self, _: Option<&Summary>) -> io::Result<()> {
            Ok(())
        }
    }

    fn verdict(cause: Cause, client_port: u16) -> Verdict {
        let client = Endpoint::new("192.0.2.1".parse().unwrap(), client_port);
        let server = Endpoint::new("198.51.100.7".parse().unwrap(), 80);
        Verdict::for_test(cause, Proto::Tcp, client, server)
    }

    /// `live --count 2` writes exactly two verdicts, as tcpdump -c 2 prints two packets:
    /// the ones decided after (pending attempts given theirs at the stop) are counted only.
    #[test]
    fn a_limit_writes_exactly_that_many() {
        let mut out = Output::new(IncidentConfig::default(), Inputs::default(), Vec::new())
            .with_limit(Some(2));
        let mut sink = Collect::default();
        for port in [1, 2, 3] {
            out.verdict(&mut sink, &verdict(Cause::HostReset, port)).unwrap();
        }
        assert_eq!(sink.0, [1, 2]);
        let o = out
            .conclude(&mut sink, ReadStats::default(), TrackerStats::default(), Ok(()), false)
            .unwrap();
        assert_eq!((o.attempts, o.stats.beyond_limit), (2, 1));
    }

    /// A filter writes and counts only the attempts it lets through.
    #[test]
    fn a_filter_writes_only_what_passes() {
        let filter = crate::report::Filter { failed: true, ..Default::default() };
        let mut out = Output::new(IncidentConfig::default(), Inputs::default(), Vec::new())
            .with_filter(Matcher::new(filter));
        let mut sink = Collect::default();
        out.verdict(&mut sink, &verdict(Cause::HostReset, 1)).unwrap();
        out.verdict(&mut sink, &verdict(Cause::Closed, 2)).unwrap();
        assert_eq!(sink.0, [1]);
        let o = out
            .conclude(&mut sink, ReadStats::default(), TrackerStats::default(), Ok(()), false)
            .unwrap();
        assert_eq!((o.attempts, o.stats.filtered_out), (1, 1));
        assert_eq!(o.stats.filters, ["failed"]);
    }
}
