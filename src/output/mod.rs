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
pub use summary::{InputCounts, LiveCounters, RunStats, Summary, input_warnings, plural};
pub use table::TableSink;

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

/// Escapes terminal control characters so that nothing read from a capture can drive the
/// user's terminal.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(|c| !c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.chars().flat_map(|c| c.escape_default()).collect())
}
