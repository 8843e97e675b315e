//! CSV: one row per verdict, the evidence as a compact JSON cell.

use std::io::{self, Write};

use super::{Inputs, Sink, Summary};
use crate::incident::Incident;
use crate::verdict::Verdict;

/// The header row, in the order of the JSON contract.
pub const CSV_HEADER: &str = "ts,proto,client,client_port,server,server_port,verdict,cause,hint,conn_state,capture,first_packet,vlan,evidence,tunnel";

/// Writes verdicts as CSV rows; the summary goes to stderr so the stream stays one table.
pub struct CsvSink<W: Write> {
    out: io::BufWriter<W>,
    flush_each: bool,
    header_done: bool,
}

impl<W: Write> CsvSink<W> {
    /// A sink over `out`.
    pub fn new(out: W, flush_each: bool) -> Self {
        CsvSink { out: io::BufWriter::new(out), flush_each, header_done: false }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            writeln!(self.out, "{CSV_HEADER}")?;
        }
        Ok(())
    }
}

/// Quotes a CSV cell when it needs it (RFC 4180).
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
        self.header()?;
        let mut evidence = Vec::with_capacity(512);
        super::json::write_evidence(&mut evidence, &v.evidence);
        let evidence = String::from_utf8_lossy(&evidence);
        writeln!(
            self.out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            v.ts,
            v.proto.as_str(),
            v.client.ip,
            v.client.port,
            v.server.ip,
            v.server.port,
            v.kind().as_str(),
            v.cause,
            cell(&v.hint.to_string()),
            v.conn_state,
            cell(inputs.name(v.first_packet.file)),
            v.first_packet.number,
            v.vlan,
            cell(&evidence),
            v.tunnel.map(|t| t.to_string()).unwrap_or_default()
        )?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    /// CSV is one table of attempts: incidents are listed in the summary (on stderr).
    fn incident(&mut self, _i: &Incident) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()> {
        self.header()?;
        self.out.flush()?;
        if let Some(s) = summary {
            eprint!("{}", s.to_text());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
