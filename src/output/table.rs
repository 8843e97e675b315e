//! The human table: one row per attempt (by default only the failures, with a count of the
//! rest), in capture-time order within a window, fitted to the terminal's width, coloured by
//! verdict where allowed; each failure's hint under it, indented.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use super::{Inputs, Sink, Summary, printable};
use crate::incident::Incident;
use crate::time::{Duration, Timestamp};
use crate::verdict::{Fact, Judgement, Verdict, VerdictKind};

/// How the table is drawn.
#[derive(Clone, Copy, Debug)]
pub struct TableOptions {
    /// The terminal's width in columns; `None` (a pipe, a file): rows are not cut, and the
    /// layout is the wide one.
    pub width: Option<usize>,
    /// Colour the verdicts (ANSI escapes).
    pub color: bool,
    /// Every attempt; otherwise only failures are rows and the rest are counted at the end.
    pub all: bool,
    /// Rows are held and sorted by their first packet's time within this much capture time
    /// (`None`: written as decided, as a live run needs).
    pub order_window: Option<Duration>,
    /// Flush after each row (a live run, a terminal).
    pub flush_each: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { width: None, color: false, all: true, order_window: None, flush_each: false }
    }
}

/// Rows held for ordering at most; past it the earliest is written.
const MAX_HELD: usize = 10_000;
/// The time column: `HH:MM:SS.mmm` (the date is a line of its own when it changes).
const TIME_W: usize = 12;
/// Where details and hints begin under a row.
const INDENT: usize = TIME_W + 2;
/// `255.255.255.255:65535`: the narrowest endpoint column.
const MIN_ENDPOINT_W: usize = 21;
const VERDICT_W: usize = 13;
/// The longest cause words (`client-aborted-handshake`).
const CAUSE_W: usize = 24;

/// A row, ready to be written.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    date: String,
    time: String,
    /// `None` for an incident.
    attempt: Option<AttemptRow>,
    /// An incident's sentence.
    incident: String,
    hint: Option<String>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct AttemptRow {
    proto: &'static str,
    client: String,
    server: String,
    verdict: &'static str,
    judgement: Judgement,
    cause: &'static str,
    detail: String,
}

/// Writes the table, then the summary in plain text.
pub struct TableSink<W: Write> {
    out: io::BufWriter<W>,
    opts: TableOptions,
    header_done: bool,
    /// Rows waiting for their turn: (first packet, arrival) → row.
    held: BinaryHeap<Reverse<(Timestamp, u64, Row)>>,
    arrivals: u64,
    /// The latest packet time of any verdict seen: the capture clock, from below.
    clock: Option<Timestamp>,
    /// The date of the last row written.
    date: String,
    client_w: usize,
    server_w: usize,
    /// Attempts not shown (not failures, without `--all`), fine and undecided.
    hidden_fine: u64,
    hidden_undecided: u64,
}

impl<W: Write> TableSink<W> {
    /// A sink over `out` with the defaults: every attempt, as decided, no colour, no width.
    pub fn new(out: W, flush_each: bool) -> Self {
        TableSink::with_options(out, TableOptions { flush_each, ..TableOptions::default() })
    }

    /// A sink over `out` drawn as `opts` says.
    pub fn with_options(out: W, opts: TableOptions) -> Self {
        TableSink {
            out: io::BufWriter::new(out),
            opts,
            header_done: false,
            held: BinaryHeap::new(),
            arrivals: 0,
            clock: None,
            date: String::new(),
            client_w: MIN_ENDPOINT_W,
            server_w: MIN_ENDPOINT_W,
            hidden_fine: 0,
            hidden_undecided: 0,
        }
    }

    /// The wide layout: every column on one line, when the width allows it.
    fn wide(&self) -> bool {
        let fixed =
            INDENT + 6 + self.client_w + 1 + self.server_w + 1 + VERDICT_W + 1 + CAUSE_W + 1;
        self.opts.width.is_none_or(|w| w >= fixed + 30)
    }

    fn hold(&mut self, ts: Timestamp, row: Row) -> io::Result<()> {
        if self.opts.order_window.is_none() {
            return self.write_row(&row);
        }
        self.arrivals += 1;
        self.held.push(Reverse((ts, self.arrivals, row)));
        self.release(false)
    }

    /// Writes the held rows whose turn has come (all of them at the end).
    fn release(&mut self, all: bool) -> io::Result<()> {
        let window = self.opts.order_window.unwrap_or(Duration(0));
        let until = self.clock.map(|c| c.add(Duration(-window.0)));
        let mut ready = Vec::new();
        while let Some(Reverse((ts, _, _))) = self.held.peek() {
            let due = all || self.held.len() > MAX_HELD || until.is_some_and(|u| *ts < u);
            if !due {
                break;
            }
            if let Some(Reverse((_, _, row))) = self.held.pop() {
                ready.push(row);
            }
        }
        // The widths of what is written together are known before the first of it.
        for r in ready.iter().filter_map(|r| r.attempt.as_ref()) {
            self.client_w = self.client_w.max(r.client.chars().count());
            self.server_w = self.server_w.max(r.server.chars().count());
        }
        for row in &ready {
            self.write_row(row)?;
        }
        if !ready.is_empty() && self.opts.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    fn paint(&self, judgement: Judgement, text: &str) -> String {
        if !self.opts.color {
            return text.to_string();
        }
        let code = match judgement {
            Judgement::Failure => "1;31",
            Judgement::Undecided => "33",
            Judgement::Fine => "32",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn header(&mut self) -> io::Result<()> {
        if self.header_done {
            return Ok(());
        }
        self.header_done = true;
        let (cw, sw) = (self.client_w, self.server_w);
        if self.wide() {
            writeln!(
                self.out,
                "{:<TIME_W$}  {:<5} {:<cw$} {:<sw$} {:<VERDICT_W$} {:<CAUSE_W$} DETAIL",
                "TIME (UTC)", "PROTO", "CLIENT", "SERVER", "VERDICT", "CAUSE"
            )
        } else {
            writeln!(
                self.out,
                "{:<TIME_W$}  {:<5} {:<cw$} SERVER\n{:INDENT$}VERDICT CAUSE: DETAIL",
                "TIME (UTC)", "PROTO", "CLIENT", ""
            )
        }
    }

    fn write_row(&mut self, row: &Row) -> io::Result<()> {
        self.client_w =
            self.client_w.max(row.attempt.as_ref().map_or(0, |a| a.client.chars().count()));
        self.server_w =
            self.server_w.max(row.attempt.as_ref().map_or(0, |a| a.server.chars().count()));
        self.header()?;
        if row.date != self.date {
            self.date.clone_from(&row.date);
            writeln!(self.out, "-- {} (UTC) --", row.date)?;
        }
        let width = self.opts.width.unwrap_or(usize::MAX);
        match &row.attempt {
            Some(a) => {
                let verdict = format!("{:<VERDICT_W$}", a.verdict);
                let verdict = self.paint(a.judgement, &verdict);
                let (cw, sw) = (self.client_w, self.server_w);
                if self.wide() {
                    let at = INDENT + 6 + cw + 1 + sw + 1 + VERDICT_W + 1 + CAUSE_W + 1;
                    write!(
                        self.out,
                        "{:<TIME_W$}  {:<5} {:<cw$} {:<sw$} {verdict} {:<CAUSE_W$} ",
                        row.time, a.proto, a.client, a.server, a.cause
                    )?;
                    let lines = wrap(&a.detail, width.saturating_sub(at).max(20));
                    for (i, l) in lines.iter().enumerate() {
                        if i == 0 {
                            writeln!(self.out, "{l}")?;
                        } else {
                            writeln!(self.out, "{:at$}{l}", "")?;
                        }
                    }
                } else {
                    writeln!(
                        self.out,
                        "{:<TIME_W$}  {:<5} {:<cw$} {}",
                        row.time, a.proto, a.client, a.server
                    )?;
                    let rest = format!("{} {}: {}", a.verdict, a.cause, a.detail);
                    let lines = wrap(&rest, width.saturating_sub(INDENT).max(20));
                    for (i, l) in lines.iter().enumerate() {
                        let l = if i == 0 {
                            format!(
                                "{}{}",
                                self.paint(a.judgement, a.verdict),
                                &l[a.verdict.len()..]
                            )
                        } else {
                            l.clone()
                        };
                        writeln!(self.out, "{:INDENT$}{l}", "")?;
                    }
                }
            }
            None => {
                let text = format!("INCIDENT {}", row.incident);
                let lines = wrap(&text, width.saturating_sub(INDENT).max(20));
                for (i, l) in lines.iter().enumerate() {
                    let l = if i == 0 {
                        self.paint(Judgement::Failure, "INCIDENT") + &l["INCIDENT".len()..]
                    } else {
                        l.clone()
                    };
                    if i == 0 {
                        writeln!(self.out, "{:<TIME_W$}  {l}", row.time)?;
                    } else {
                        writeln!(self.out, "{:INDENT$}{l}", "")?;
                    }
                }
            }
        }
        if let Some(h) = &row.hint {
            for (i, l) in wrap(h, width.saturating_sub(INDENT + 6).max(20)).iter().enumerate() {
                let tag = if i == 0 { "hint: " } else { "      " };
                writeln!(self.out, "{:INDENT$}{tag}{l}", "")?;
            }
        }
        Ok(())
    }
}

/// Splits `text` into lines of at most `width` characters at spaces; a word longer than the
/// line (an address, a path) is never broken, it overflows.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let (have, more) = (line.chars().count(), word.chars().count());
        if have > 0 && have + 1 + more > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// `2026-09-21` and `14:13:20.000` of a time.
fn date_time(ts: Timestamp) -> (String, String) {
    let utc = ts.utc();
    match utc.split_once(' ') {
        Some((d, t)) => (d.to_string(), t.to_string()),
        None => (String::new(), utc),
    }
}

/// The hint as the table shows it: a hint pointing at an evidence field the table does not
/// show (`(see http_status)`) shows that field's value instead (`(http_status 418)`).
fn table_hint(v: &Verdict) -> String {
    let mut hint = v.hint.to_string();
    while let Some(at) = hint.find("(see ") {
        let Some(len) = hint[at..].find(')') else { break };
        let named = &hint[at + 5..at + len];
        let key = named.strip_prefix("the ").unwrap_or(named);
        let value = num(v, key).unwrap_or_else(|| "not in the capture".into());
        hint.replace_range(at..at + len + 1, &format!("({key} {value})"));
    }
    hint
}

/// `13.10` for a QinQ pair (outer << 12 | inner), `13` for one tag.
/// A tunnel's compact mark for the detail column: `vxlan 42`, `gre key 7`, `gtp-u teid 4097`,
/// `ipip` (its outer endpoints are in the JSON and CSV lines).
fn tunnel_mark(t: &crate::decode::Tunnel) -> String {
    match (t.id(), t.kind.id_name()) {
        (Some(id), "vni") => format!("{} {id}", t.kind.as_str()),
        (Some(id), name) => format!("{} {name} {id}", t.kind.as_str()),
        (None, _) => t.kind.as_str().to_string(),
    }
}

fn vlan_text(vlan: u32) -> String {
    if vlan > 0xfff { format!("{}.{}", vlan >> 12, vlan & 0xfff) } else { vlan.to_string() }
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

/// A ping's few words: its identifier, requests and replies, and what decided it.
fn ping_detail(v: &Verdict) -> String {
    let e = |k: &str| num(v, k).unwrap_or_else(|| "?".into());
    let id = format!("echo id {}", e("echo_id"));
    match v.kind() {
        VerdictKind::Answered => match (num(v, "rtt_min"), num(v, "rtt_avg"), num(v, "rtt_max")) {
            (Some(lo), Some(avg), Some(hi)) => format!(
                "{id}: {}/{} replied, {} lost, rtt {lo}/{avg}/{hi}s",
                e("echo_replies"),
                e("echo_requests"),
                e("echo_lost")
            ),
            _ => format!("{id}: {}/{} replied", e("echo_replies"), e("echo_requests")),
        },
        VerdictKind::Unreachable | VerdictKind::TimeExceeded => format!(
            "{id}: {} {}/{} from {} pkt {}",
            e("icmp_version"),
            e("icmp_type"),
            e("icmp_code"),
            e("reporter"),
            e("icmp_packet")
        ),
        VerdictKind::Unanswered => format!(
            "{id}: {} request(s) over {}s, waited {}s after the last",
            e("echo_requests"),
            e("echo_span"),
            e("waited_after_last_request")
        ),
        _ => format!("{id}: {} request(s), {} replies", e("echo_requests"), e("echo_replies")),
    }
}

/// An endpoint for the table: a ping's has no port.
fn endpoint_text(v: &Verdict, ep: crate::flow::Endpoint) -> String {
    if v.proto.has_ports() { ep.to_string() } else { ep.ip.to_string() }
}

/// A few words of evidence for the table; the JSON output has all of it.
fn detail_of(v: &Verdict) -> String {
    let e = |k: &str| num(v, k).unwrap_or_else(|| "?".into());
    if v.proto == crate::decode::Proto::Icmp {
        return ping_detail(v);
    }
    match v.kind() {
        VerdictKind::Refused if v.proto == crate::decode::Proto::Sctp => {
            let cause = num(v, "abort_cause").map(|c| format!(", {c}")).unwrap_or_default();
            let t = if num(v, "abort_t_bit").as_deref() == Some("true") { ", T bit" } else { "" };
            format!("ABORT pkt {} ttl {}{t}{cause}", e("abort_packet"), e("abort_ttl"))
        }
        VerdictKind::Unanswered if v.proto == crate::decode::Proto::Sctp => {
            format!(
                "{} INIT(s), waited {}s after the last",
                e("init_count"),
                e("waited_after_last_init")
            )
        }
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
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
        self.clock = Some(self.clock.map_or(v.last_ts, |c| c.max(v.last_ts)));
        let judgement = v.cause.judgement();
        if !self.opts.all && judgement != Judgement::Failure {
            match judgement {
                Judgement::Undecided => self.hidden_undecided += 1,
                _ => self.hidden_fine += 1,
            }
            return self.release(false);
        }
        let mut detail = String::new();
        if let Some(t) = &v.tunnel {
            detail.push_str(&tunnel_mark(t));
            detail.push_str(", ");
        }
        if v.vlan != 0 {
            detail.push_str(&format!("vlan {}, ", vlan_text(v.vlan)));
        }
        detail.push_str(&printable(&detail_of(v)));
        if inputs.names.len() > 1 {
            // Its packet numbers are in that file.
            detail.push_str(" in ");
            detail.push_str(&printable(inputs.name(v.first_packet.file)));
        }
        let (date, time) = date_time(v.ts);
        let row = Row {
            date,
            time,
            attempt: Some(AttemptRow {
                proto: v.proto.as_str(),
                client: endpoint_text(v, v.client),
                server: endpoint_text(v, v.server),
                verdict: v.kind().as_str(),
                judgement,
                cause: v.cause.word(),
                detail,
            }),
            incident: String::new(),
            hint: (judgement != Judgement::Fine).then(|| printable(&table_hint(v)).into_owned()),
        };
        self.hold(v.ts, row)
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        // Shown, and placed, when the attempt that crossed the threshold came (not at the
        // window's start): the rows before it are what made it.
        let (date, time) = date_time(i.detected_ts);
        let row = Row {
            date,
            time,
            attempt: None,
            incident: printable(&super::incident_sentence(
                i.kind.as_str(),
                &i.subject,
                &i.evidence,
            ))
            .into_owned(),
            hint: Some(printable(&i.hint).into_owned()),
        };
        self.hold(i.detected_ts, row)
    }

    fn finish(&mut self, summary: Option<&Summary>) -> io::Result<()> {
        self.release(true)?;
        let hidden = self.hidden_fine + self.hidden_undecided;
        if hidden > 0 {
            let what = match (self.hidden_fine, self.hidden_undecided) {
                (f, 0) => format!("{f} fine"),
                (0, u) => format!("{u} undecided"),
                (f, u) => format!("{f} fine, {u} undecided"),
            };
            let shown = if self.header_done { "other " } else { "" };
            writeln!(
                self.out,
                "{} not shown ({what}; -a shows them)",
                super::plural(hidden, &format!("{shown}attempt"), &format!("{shown}attempts"))
            )?;
        }
        if let Some(s) = summary {
            if self.header_done || hidden > 0 {
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
    use crate::decode::Proto;
    use crate::flow::Endpoint;
    use crate::time::Timestamp;
    use crate::verdict::Cause;

    fn verdict(cause: Cause, proto: Proto, facts: &[(&'static str, Fact)]) -> Verdict {
        let client = Endpoint::new("192.0.2.1".parse().unwrap(), 40000);
        let server = Endpoint::new("198.51.100.7".parse().unwrap(), 53);
        let mut v = Verdict::for_test(cause, proto, client, server);
        for (k, f) in facts {
            v.evidence.insert(k, f.clone());
        }
        v
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
        assert_eq!(detail_of(&aborted), "2 SYN(s), then the client's RST pkt 3");
        let waited = verdict(
            Cause::Filtered,
            Proto::Tcp,
            &[("syn_count", 3u64.into()), ("waited_after_last_syn", 5.0.into())],
        );
        assert_eq!(detail_of(&waited), "3 SYN(s), waited 5.0s after the last");
        let search = verdict(
            Cause::SearchList,
            Proto::Udp,
            &[
                ("dns_query", "www.example.corp.test".into()),
                ("dns_qtype", "A".into()),
                ("dns_rcode", "NXDOMAIN".into()),
            ],
        );
        assert_eq!(detail_of(&search), "www.example.corp.test A -> NXDOMAIN");
    }

    /// No hint in the table points at a field the table does not show: `(see http_status)`
    /// shows the value instead, for every cause.
    #[test]
    fn hints_show_the_fields_they_name() {
        let facts: [(&'static str, Fact); 6] = [
            ("tls_alert", "handshake_failure".into()),
            ("http_status", 418u64.into()),
            ("dns_rcode", "FORMERR".into()),
            ("reporter", "203.0.113.1".into()),
            ("protocol", "syslog".into()),
            ("syn_times", "0.0".into()),
        ];
        for &cause in Cause::ALL {
            let hint = table_hint(&verdict(cause, Proto::Tcp, &facts));
            assert!(!hint.contains("(see "), "{cause:?}: {hint}");
        }
        let v = verdict(Cause::HttpServerError, Proto::Tcp, &facts);
        assert!(table_hint(&v).contains("(http_status 418)"), "{}", table_hint(&v));
    }

    #[test]
    fn tunnels_are_marked_compactly() {
        use crate::decode::{Encap, Tunnel};
        let outer = Some(("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()));
        assert_eq!(tunnel_mark(&Tunnel::new(Encap::Vxlan, Some(42), outer)), "vxlan 42");
        assert_eq!(tunnel_mark(&Tunnel::new(Encap::Gre, Some(7), outer)), "gre key 7");
        assert_eq!(tunnel_mark(&Tunnel::new(Encap::Gre, None, outer)), "gre");
        assert_eq!(tunnel_mark(&Tunnel::new(Encap::IpIp, None, outer)), "ipip");
        assert_eq!(tunnel_mark(&Tunnel::new(Encap::Mpls, Some(16), None)), "mpls label 16");
        let mut v = verdict(Cause::HostReset, Proto::Tcp, &[]);
        v.tunnel = Some(Tunnel::new(Encap::Vxlan, Some(43), outer));
        let opts = TableOptions { width: Some(100), ..TableOptions::default() };
        let out = table(opts, &[v]);
        assert!(out.contains("vxlan 43, "), "{out}");
    }

    #[test]
    fn wrapping_never_breaks_a_word_and_qinq_reads_outer_inner() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("[2001:db8::1]:443 x", 4), ["[2001:db8::1]:443", "x"]);
        assert_eq!(vlan_text(10 << 12 | 20), "10.20");
        assert_eq!(vlan_text(53258), "13.10");
        assert_eq!(vlan_text(100), "100");
    }

    fn at(mut v: Verdict, secs: f64, port: u16) -> Verdict {
        v.ts = Timestamp::from_secs_f64(secs);
        v.last_ts = v.ts;
        v.client.port = port;
        v
    }

    fn table(opts: TableOptions, verdicts: &[Verdict]) -> String {
        let mut out = Vec::new();
        {
            let mut t = TableSink::with_options(&mut out, opts);
            for v in verdicts {
                t.verdict(v, &Inputs::default()).unwrap();
            }
            t.finish(None).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    /// By default the failures are rows and the rest one line; rows come in capture-time
    /// order within the window whatever order they were decided in; lines fit the width.
    #[test]
    fn failures_in_capture_order_within_the_width() {
        let refused = verdict(Cause::HostReset, Proto::Tcp, &[("rst_packet", 2u64.into())]);
        let fine = verdict(Cause::Closed, Proto::Tcp, &[]);
        let undecided = verdict(Cause::CaptureEnded, Proto::Tcp, &[]);
        let vs = [
            at(refused.clone(), 12.0, 2),
            at(fine, 11.0, 3),
            at(refused.clone(), 10.0, 1),
            at(undecided, 13.0, 4),
            at(refused, 40.0, 5),
        ];
        let opts = TableOptions {
            width: Some(80),
            color: false,
            all: false,
            order_window: Some(Duration::from_secs_f64(10.0)),
            flush_each: false,
        };
        let out = table(opts, &vs);
        let ports: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2))
            .filter(|w| w.starts_with("192.0.2.1:"))
            .collect();
        assert_eq!(ports, ["192.0.2.1:1", "192.0.2.1:2", "192.0.2.1:5"], "{out}");
        assert!(
            out.contains("2 other attempts not shown (1 fine, 1 undecided; -a shows them)"),
            "{out}"
        );
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
        assert!(!out.contains('\x1b'));
        let all = table(TableOptions { all: true, color: true, ..opts }, &vs);
        assert!(all.contains("192.0.2.1:3") && all.contains("\x1b[1;31mrefused"), "{all}");
        assert!(!all.contains("not shown"), "{all}");
    }
}
