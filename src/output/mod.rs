//! Outputs: verdict streams (JSON lines, CSV, a human table) and the end-of-run summary.
//!
//! Every format sits behind one push-model [`Sink`]: the pipeline hands it each verdict as it
//! is decided and the [`Summary`] once at the end. Streams are written as they go (live runs
//! flush line by line) and never buffer verdicts.

mod csv;
pub mod json;
mod jsonl;
mod summary;
mod table;

use std::io;

pub use csv::CsvSink;
pub use jsonl::JsonLinesSink;
pub use jsonl::{write_flow_line, write_incident_line};
pub use summary::{
    InputCounts, LiveCounters, PublishCounters, RunStats, Summary, input_warnings, plural,
};
pub use table::{TableOptions, TableSink};

use crate::incident::Incident;
use crate::verdict::Verdict;

/// The stream formats of the CLI contract (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human table.
    Table,
    /// One JSON object per line (the machine contract).
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

/// Names of the inputs, so verdicts can say which capture their packets are in.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Display name of each input, by file index.
    pub names: Vec<String>,
}

impl Inputs {
    /// The display name of input `file`.
    pub fn name(&self, file: u16) -> &str {
        self.names.get(file as usize).map(String::as_str).unwrap_or("?")
    }
}

/// Receives verdicts as they are decided, then the summary.
pub trait Sink {
    /// One verdict.
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()>;
    /// One incident (a pattern across verdicts), right after the verdict that completed it.
    fn incident(&mut self, i: &Incident) -> io::Result<()>;
    /// The end of the run. `summary` is `None` when the user asked for no summary.
    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()>;
    /// The publishing counters of a sink that publishes to a broker, for the summary.
    fn publish_counters(&self) -> Option<std::sync::Arc<PublishCounters>> {
        None
    }
}

/// Builds the sink for a format over a writer (stdout in the CLI). `flush_each` makes every
/// verdict visible at once (live runs, or when the output is a terminal).
pub fn sink_for<W: io::Write + 'static>(format: Format, out: W, flush_each: bool) -> Box<dyn Sink> {
    match format {
        Format::Table => Box::new(TableSink::new(out, flush_each)),
        Format::Jsonl => Box::new(JsonLinesSink::new(out, flush_each)),
        Format::Csv => Box::new(CsvSink::new(out, flush_each)),
    }
}

/// An incident as a person reads it, with units: `scan by 10.0.0.1: 20 failed attempts on 20
/// targets (1 host, 20 ports) within 60 s`. From the JSON-lines fields, so that a log's
/// incidents read the same as a capture's.
pub fn incident_sentence(
    kind: &str,
    subject: &serde_json::Map<String, serde_json::Value>,
    evidence: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let text = |m: &serde_json::Map<String, serde_json::Value>, k: &str| match m.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) if !v.is_null() => v.to_string(),
        _ => "?".to_string(),
    };
    let n = |k: &str| evidence.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let window = evidence.get("window").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    let within = format!("within {window} s");
    let server = text(subject, "server");
    let service = if subject.contains_key("server_port") {
        let port = text(subject, "server_port");
        let at = if server.contains(':') {
            format!("[{server}]:{port}")
        } else {
            format!("{server}:{port}")
        };
        format!("{at}/{}", text(subject, "proto"))
    } else {
        server.clone()
    };
    match kind {
        "scan" if evidence.get("ping_sweep").and_then(serde_json::Value::as_bool) == Some(true) => {
            format!(
                "ping sweep by {}: {} unanswered or unreachable {within}",
                text(subject, "client"),
                plural(n("hosts"), "host", "hosts"),
            )
        }
        "scan" => format!(
            "scan by {}: {} on {} ({}, {}) {within}",
            text(subject, "client"),
            plural(n("failed_attempts"), "failed attempt", "failed attempts"),
            plural(n("targets"), "target", "targets"),
            plural(n("hosts"), "host", "hosts"),
            plural(n("ports"), "port", "ports"),
        ),
        "service-down" => format!(
            "service down at {service}: {} refused ({}) {within}; {} accepted in the window",
            plural(n("clients"), "client", "clients"),
            plural(n("refused_attempts"), "attempt", "attempts"),
            plural(n("accepted_in_window"), "connection", "connections"),
        ),
        "host-down" => format!(
            "host down: {server}: {} failed, none answered, {within}",
            plural(n("failed_attempts"), "attempt", "attempts"),
        ),
        "overload" => format!(
            "overload at {service}: {} retried, queued or turned away, from {} {within}",
            plural(n("attempts"), "attempt", "attempts"),
            plural(n("clients"), "client", "clients"),
        ),
        other => {
            let who: Vec<String> =
                subject.keys().map(|k| format!("{k} {}", text(subject, k))).collect();
            format!("{other} ({})", who.join(", "))
        }
    }
}

/// Escapes terminal control characters so that nothing read from a capture can drive the
/// user's terminal.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(|c| !c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().flat_map(|c| c.escape_default()).collect())
}
