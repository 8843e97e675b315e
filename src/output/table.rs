//! The human table: one line per attempt, and for failures a second line with the hint.

use std::io::{self, Write};

use super::{Inputs, Sink, Summary, printable};
use crate::incident::Incident;
use crate::verdict::{Fact, Judgement, Verdict, VerdictKind};

/// Writes a fixed-width table, then the summary in plain text.
pub struct TableSink<W: Write> {
    out: io::BufWriter<W>,
    flush_each: bool,
    header_done: bool,
}

impl<W: Write> TableSink<W> {
    /// A sink over `out`.
    pub fn new(out: W, flush_each: bool) -> Self {
        TableSink { out: io::BufWriter::new(out), flush_each, header_done: false }
    }
}

fn num(v: &Verdict, key: &str) -> Option<String> {
    let f = v.evidence.get(key)?;
    if f.is_null() {
        return None;
    }
    match (f, f.as_str()) {
        (_, Some(s)) => Some(s.to_string()),
        (Fact::Ip(ip), _) => Some(ip.to_string()),
        _ => Some(super::json::fact_to_string(f)),
    }
}

/// A few words of evidence for the table; the JSON output has all of it.
fn detail(v: &Verdict) -> String {
    let e = |k: &str| num(v, k).unwrap_or_else(|| "?".into());
    match v.kind() {
        VerdictKind::Refused => match num(v, "host_ttl") {
            Some(h) => {
                format!("RST pkt {} ttl {} (host's own ttl {h})", e("rst_packet"), e("rst_ttl"))
            }
            None => format!("RST pkt {} ttl {}", e("rst_packet"), e("rst_ttl")),
        },
        VerdictKind::Unreachable | VerdictKind::TimeExceeded => format!(
            "{} {}/{} from {} pkt {}",
            e("icmp_version"),
            e("icmp_type"),
            e("icmp_code"),
            e("reporter"),
            e("icmp_packet")
        ),
        VerdictKind::Rejected => match (num(v, "http_status"), num(v, "tls_alert")) {
            (Some(s), _) => {
                format!("HTTP {s} as the first answer (pkt {})", e("server_first_packet"))
            }
            (_, Some(a)) => match num(v, "tls_alert_from") {
                Some(from) => {
                    format!("TLS alert {a} from the {from} (pkt {})", e("tls_alert_packet"))
                }
                None => format!("TLS alert {a} (pkt {})", e("server_first_packet")),
            },
            _ => match num(v, "tls_encrypted_alert_from") {
                Some(from) => format!(
                    "TLS, a short encrypted record (an alert) from the {from} (pkt {}), then a close",
                    e("tls_encrypted_alert_packet")
                ),
                None => {
                    format!("{}, client sent {} bytes, server none", e("ended"), e("client_bytes"))
                }
            },
        },
        VerdictKind::Mismatch => match num(v, "server_first_bytes") {
            Some(b) => format!("client sent {}, server answered {b}", e("client_first_bytes")),
            None => format!("client sent {}, server closed", e("client_first_bytes")),
        },
        VerdictKind::DnsFailure => {
            format!(
                "{} {} -> {}",
                e("dns_query"),
                e("dns_qtype"),
                num(v, "dns_rcode").unwrap_or_else(|| "no answer".into())
            )
        }
        // The client reset its own attempt: no wait to speak of.
        VerdictKind::Unanswered if num(v, "rst_packet").is_some() => {
            format!("{} SYN(s), then the client's RST pkt {}", e("syn_count"), e("rst_packet"))
        }
        VerdictKind::Unanswered if v.proto == crate::decode::Proto::Tcp => {
            format!(
                "{} SYN(s), waited {}s after the last",
                e("syn_count"),
                e("waited_after_last_syn")
            )
        }
        VerdictKind::Unanswered => {
            format!(
                "{} request(s), waited {}s after the last",
                e("client_packets"),
                e("waited_after_last_request")
            )
        }
        VerdictKind::Answered if num(v, "dns_query").is_some() => format!(
            "{} {} -> {}",
            e("dns_query"),
            e("dns_qtype"),
            num(v, "dns_rcode").unwrap_or_else(|| "an answer".into())
        ),
        VerdictKind::OneWay => format!(
            "{} (one-way): {} datagram(s) in {}s, no answer expected",
            e("protocol"),
            e("client_packets"),
            e("duration")
        ),
        _ => format!(
            "{}/{} pkts, {}/{} bytes, {}s",
            e("client_packets"),
            e("server_packets"),
            e("client_bytes"),
            e("server_bytes"),
            e("duration")
        ),
    }
}

impl<W: Write> Sink for TableSink<W> {
    fn verdict(&mut self, v: &Verdict, _inputs: &Inputs) -> io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            writeln!(
                self.out,
                "{:<23}  {:<5} {:<25} {:<25} {:<13} {:<22} DETAIL",
                "TIME (UTC)", "PROTO", "CLIENT", "SERVER", "VERDICT", "CAUSE"
            )?;
        }
        writeln!(
            self.out,
            "{:<23}  {:<5} {:<25} {:<25} {:<13} {:<22} {}",
            v.ts.utc(),
            v.proto.as_str(),
            v.client.to_string(),
            v.server.to_string(),
            v.kind().as_str(),
            v.cause,
            printable(&detail(v))
        )?;
        if v.cause.judgement() != Judgement::Fine {
            writeln!(self.out, "{:>29} {}", "hint:", printable(&v.hint.to_string()))?;
        }
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        let who: Vec<String> = i
            .subject
            .iter()
            .map(|(k, v)| {
                format!("{k} {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            })
            .collect();
        writeln!(self.out, "{:<23}  INCIDENT {} ({})", i.ts.utc(), i.kind, who.join(", "))?;
        writeln!(self.out, "{:>29} {}", "hint:", printable(&i.hint))?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()> {
        if let Some(s) = summary {
            if self.header_done {
                writeln!(self.out)?;
            }
            write!(self.out, "{}", s.to_text())?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Origin;
    use crate::decode::Proto;
    use crate::flow::Endpoint;
    use crate::time::Timestamp;
    use crate::verdict::{Cause, Evidence, Hint};

    fn verdict(cause: Cause, proto: Proto, facts: &[(&'static str, Fact)]) -> Verdict {
        let client = Endpoint::new("192.0.2.1".parse().unwrap(), 40000);
        let server = Endpoint::new("198.51.100.7".parse().unwrap(), 53);
        let mut evidence = Evidence::new();
        for (k, f) in facts {
            evidence.insert(k, f.clone());
        }
        Verdict {
            id: 1,
            ts: Timestamp::from_secs_f64(1.0),
            last_ts: Timestamp::from_secs_f64(1.0),
            first_packet: Origin::default(),
            proto,
            vlan: 0,
            client,
            server,
            cause,
            evidence,
            hint: Hint::new(cause, client, server),
            conn_state: "S0",
            revised: false,
        }
    }

    /// Each detail says what the evidence has: a client's own RST is no wait, a DNS answer
    /// names its query.
    #[test]
    fn details_show_the_facts_the_verdict_has() {
        let aborted = verdict(
            Cause::ClientAborted,
            Proto::Tcp,
            &[("syn_count", 2u64.into()), ("rst_packet", 3u64.into())],
        );
        assert_eq!(detail(&aborted), "2 SYN(s), then the client's RST pkt 3");
        let waited = verdict(
            Cause::Filtered,
            Proto::Tcp,
            &[("syn_count", 3u64.into()), ("waited_after_last_syn", 5.0.into())],
        );
        assert_eq!(detail(&waited), "3 SYN(s), waited 5.0s after the last");
        let search = verdict(
            Cause::SearchList,
            Proto::Udp,
            &[
                ("dns_query", "www.example.corp.test".into()),
                ("dns_qtype", "A".into()),
                ("dns_rcode", "NXDOMAIN".into()),
            ],
        );
        assert_eq!(detail(&search), "www.example.corp.test A -> NXDOMAIN");
    }
}
