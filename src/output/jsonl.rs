//! JSON lines: the machine contract. One object per line, fields in a fixed order.

use std::io::{self, Write};

use super::json;
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
///
/// Written by hand (this runs once per attempt, millions of times in a flood): the bytes are
/// those serde_json and `Display` gave when this was `write!` and `serde_json::to_writer`; the
/// fixtures' expected outputs hold it to that.
pub fn write_flow_line(line: &mut Vec<u8>, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
    line.reserve(1024);
    line.extend_from_slice(b"{\"type\":\"flow\",\"ts\":");
    json::write_timestamp(line, v.ts);
    line.extend_from_slice(b",\"proto\":\"");
    line.extend_from_slice(v.proto.as_str().as_bytes());
    line.extend_from_slice(b"\",\"client\":\"");
    json::write_ip(line, v.client.ip);
    line.extend_from_slice(b"\",\"client_port\":");
    json::write_u64(line, u64::from(v.client.port));
    line.extend_from_slice(b",\"server\":\"");
    json::write_ip(line, v.server.ip);
    line.extend_from_slice(b"\",\"server_port\":");
    json::write_u64(line, u64::from(v.server.port));
    line.extend_from_slice(b",\"verdict\":\"");
    line.extend_from_slice(v.kind().as_str().as_bytes());
    line.extend_from_slice(b"\",\"cause\":\"");
    line.extend_from_slice(v.cause.word().as_bytes());
    line.extend_from_slice(b"\",\"evidence\":");
    json::write_evidence(line, &v.evidence);
    line.extend_from_slice(b",\"hint\":\"");
    json::write_hint(line, &v.hint);
    line.extend_from_slice(b"\",\"conn_state\":\"");
    line.extend_from_slice(v.conn_state.as_bytes());
    line.push(b'"');
    if v.vlan != 0 {
        line.extend_from_slice(b",\"vlan\":");
        json::write_u64(line, u64::from(v.vlan));
    }
    if let Some(t) = &v.tunnel {
        line.extend_from_slice(b",\"tunnel\":");
        json::write_tunnel(line, t);
    }
    line.extend_from_slice(b",\"capture\":");
    json::write_str(line, inputs.name(v.first_packet.file));
    line.extend_from_slice(b",\"first_packet\":");
    json::write_u64(line, v.first_packet.number);
    if let Some(earlier) = v.revises {
        line.extend_from_slice(b",\"revised\":true,\"revised_from\":\"");
        line.extend_from_slice(earlier.word().as_bytes());
        line.push(b'"');
    }
    line.push(b'}');
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
