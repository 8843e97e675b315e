//! JSON lines: the machine contract. One object per line, fields in a fixed order.

use std::io::{self, Write};

use super::{Inputs, Sink, Summary};
use crate::incident::Incident;
use crate::verdict::Verdict;

/// Writes each verdict as one JSON object per line (`type: flow`), then a `type: summary` line.
pub struct JsonLinesSink<W: Write> {
    out: io::BufWriter<W>,
    flush_each: bool,
    line: Vec<u8>,
}

impl<W: Write> JsonLinesSink<W> {
    /// A sink over `out`.
    pub fn new(out: W, flush_each: bool) -> Self {
        JsonLinesSink {
            out: io::BufWriter::with_capacity(1 << 16, out),
            flush_each,
            line: Vec::with_capacity(1024),
        }
    }
}

/// Writes `v` as one JSON line (without the newline) into `line`.
pub fn write_flow_line(line: &mut Vec<u8>, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
    let str_field = |line: &mut Vec<u8>, name: &str, s: &str| -> io::Result<()> {
        write!(line, ",\"{name}\":")?;
        serde_json::to_writer(&mut *line, s).map_err(io::Error::other)
    };
    write!(line, "{{\"type\":\"flow\",\"ts\":{},\"proto\":\"{}\"", v.ts, v.proto.as_str())?;
    write!(line, ",\"client\":\"{}\",\"client_port\":{}", v.client.ip, v.client.port)?;
    write!(line, ",\"server\":\"{}\",\"server_port\":{}", v.server.ip, v.server.port)?;
    write!(line, ",\"verdict\":\"{}\",\"cause\":\"{}\"", v.kind.as_str(), v.cause)?;
    line.extend_from_slice(b",\"evidence\":");
    serde_json::to_writer(&mut *line, &v.evidence).map_err(io::Error::other)?;
    str_field(line, "hint", &v.hint)?;
    write!(line, ",\"conn_state\":\"{}\"", v.conn_state)?;
    if v.vlan != 0 {
        write!(line, ",\"vlan\":{}", v.vlan)?;
    }
    str_field(line, "capture", inputs.name(v.first_packet.file))?;
    write!(line, ",\"first_packet\":{}}}", v.first_packet.number)?;
    Ok(())
}

/// Writes `i` as one `type: incident` JSON line (without the newline) into `line`.
pub fn write_incident_line(line: &mut Vec<u8>, i: &Incident) -> io::Result<()> {
    write!(
        line,
        "{{\"type\":\"incident\",\"ts\":{},\"detected_ts\":{},\"incident\":\"{}\"",
        i.ts, i.detected_ts, i.kind
    )?;
    for (k, v) in &i.subject {
        write!(line, ",\"{k}\":")?;
        serde_json::to_writer(&mut *line, v).map_err(io::Error::other)?;
    }
    line.extend_from_slice(b",\"evidence\":");
    serde_json::to_writer(&mut *line, &i.evidence).map_err(io::Error::other)?;
    line.extend_from_slice(b",\"hint\":");
    serde_json::to_writer(&mut *line, &i.hint).map_err(io::Error::other)?;
    line.push(b'}');
    Ok(())
}

impl<W: Write> Sink for JsonLinesSink<W> {
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
        self.line.clear();
        write_flow_line(&mut self.line, v, inputs)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        self.line.clear();
        write_incident_line(&mut self.line, i)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()> {
        if let Some(s) = summary {
            serde_json::to_writer(&mut self.out, &s.to_json()).map_err(io::Error::other)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}
