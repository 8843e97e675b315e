//! Evidence an attempt's verdict carries whatever its cause: counts, TTLs, SYN times, the ICMP
//! error — facts a person can find in Wireshark, by packet number.

use std::net::IpAddr;

use super::Ending;
use super::attempt::{Flow, IcmpSeen, TunnelFault};
use super::hosts::hops;
use super::payload::{self, FirstBytes};
use super::ping::PingState;
use super::plaintext;
use super::sctp::{INIT_KEPT, SctpState};
use super::tcp::{SYN_KEPT, TcpState};
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Evidence, Fact};

/// The facts every attempt's evidence starts with, in the order the output contract has them.
// Inlined (with `syn` and `Detail::record`): each is called once per verdict, where a call
// costs the move of the evidence; left to the compiler, whether they are depends on how the
// crate happens to split into codegen units (about 50 instructions a verdict on the flood).
#[inline(always)]
pub(super) fn attempt(flow: &Flow, ending: Ending) -> Evidence {
    let mut ev = Evidence::new();
    ev.insert("attempt", flow.id);
    ev.insert("client_packets", flow.c2s.packets);
    ev.insert("server_packets", flow.s2c.packets);
    ev.insert("client_bytes", flow.c2s.bytes);
    ev.insert("server_bytes", flow.s2c.bytes);
    if let Some(t) = flow.c2s.ttl {
        ev.insert("client_ttl", t);
    }
    if let Some(t) = flow.s2c.ttl {
        ev.insert("server_ttl", t);
    }
    ev.insert("duration", secs(flow.last_ts, flow.first_ts));
    if flow.from_icmp_only {
        ev.insert("attempt_packets_captured", false);
    }
    if ending == Ending::Evicted {
        ev.insert("evicted", true);
    }
    if ending == Ending::Superseded {
        ev.insert("superseded_by_new_syn", true);
    }
    if let Some(i) = flow.icmp_other_first.as_deref() {
        ev.insert("other_icmp_errors", flow.icmp_other);
        ev.insert("other_icmp_first", icmp_json(i, flow.server.ip));
    }
    ev
}

/// The SYNs (and SYN-ACKs) of a TCP attempt: how many, when, which packets.
#[inline(always)]
pub(super) fn syn(s: &TcpState, ev: &mut Evidence) {
    if s.duplicates > 0 {
        ev.insert("syn_duplicates", s.duplicates);
    }
    if s.syn_count == 0 {
        return;
    }
    let kept = (s.syn_count as usize).min(SYN_KEPT);
    let first = s.syn_times[0];
    ev.insert("syn_count", s.syn_count);
    ev.insert("syn_packets", Fact::u64_list(&s.syn_numbers[..kept]));
    ev.insert("syn_times", Fact::f64_list(s.syn_times[..kept].iter().map(|t| secs(*t, first))));
    if let Some((_, o)) = s.syn_ack {
        ev.insert("syn_ack_packet", o.number);
        ev.insert("syn_ack_count", s.syn_ack_count);
    }
    if s.ignored_rsts > 0 {
        ev.insert("ignored_rsts", s.ignored_rsts);
    }
    if let Some(p) = s.injected_rst {
        ev.insert("ignored_rst_packet", p.get());
    }
}

/// A ping's requests and replies: identifier, counts, sequence numbers, round-trip times and
/// the requests lost (unanswered for at least `wait` before `now`).
pub(super) fn ping(g: &PingState, (now, wait): (Timestamp, Duration), ev: &mut Evidence) {
    ev.insert("echo_id", g.id);
    ev.insert("echo_requests", g.requests);
    ev.insert("echo_replies", g.replies);
    if g.requests > 0 {
        ev.insert("echo_lost", g.lost(now, wait));
    }
    if let Some((first, origin, seq)) = g.first_request {
        ev.insert("echo_first_request_packet", origin.number);
        ev.insert("echo_first_seq", seq);
        if let Some((last, last_seq)) = g.last_request {
            ev.insert("echo_last_seq", last_seq);
            ev.insert("echo_span", secs(last, first));
        }
    }
    if let Some((_, origin)) = g.first_reply {
        ev.insert("echo_first_reply_packet", origin.number);
    }
    if g.replies > g.answered {
        ev.insert("echo_unmatched_replies", g.replies - g.answered);
    }
    if g.answered > 0 {
        let ms = |ns: i64| round_us(ns as f64 / 1e9);
        ev.insert("rtt_min", ms(g.rtt_min));
        ev.insert("rtt_avg", ms(g.rtt_sum / i64::from(g.answered)));
        ev.insert("rtt_max", ms(g.rtt_max));
    }
}

/// An SCTP association's handshake and end: the INITs (how many, when, which packets), the
/// INIT-ACK, COOKIE-ECHO and COOKIE-ACK, the ABORT (who, its T bit and error cause) and the
/// SHUTDOWN.
pub(super) fn sctp(s: &SctpState, ev: &mut Evidence) {
    if s.init_count > 0 {
        let kept = (s.init_count as usize).min(INIT_KEPT);
        let first = s.init_times[0];
        ev.insert("init_count", s.init_count);
        ev.insert("init_packets", Fact::u64_list(&s.init_numbers[..kept]));
        ev.insert(
            "init_times",
            Fact::f64_list(s.init_times[..kept].iter().map(|t| secs(*t, first))),
        );
    }
    if let Some((_, o)) = s.init_ack {
        ev.insert("init_ack_packet", o.number);
    }
    if let Some(o) = s.cookie_echo {
        ev.insert("cookie_echo_packet", o.number);
    }
    if let Some((_, o)) = s.established {
        ev.insert("cookie_ack_packet", o.number);
    }
    if let Some((o, from_client)) = s.shutdown {
        ev.insert("shutdown_packet", o.number);
        ev.insert("shutdown_from", if from_client { "client" } else { "server" });
    }
    if let Some(o) = s.shutdown_complete {
        ev.insert("shutdown_complete_packet", o.number);
    }
    if let Some(a) = s.abort {
        ev.insert("abort_packet", a.origin.number);
        ev.insert("abort_from", if a.from_client { "client" } else { "server" });
        ev.insert("abort_t_bit", a.t_bit);
        ev.insert("abort_vtag", a.vtag);
        ev.insert("abort_ttl", a.ttl);
        ev.insert("abort_hops", hops(a.ttl));
        if a.cause != 0 {
            ev.insert("abort_cause", crate::decode::sctp_error_cause_name(a.cause));
            ev.insert("abort_cause_code", a.cause);
        }
    }
}

pub(super) fn icmp_json(i: &IcmpSeen, server: IpAddr) -> Fact {
    let mut m = Evidence::new();
    icmp_fields(&mut m, i, server, ["packet", "version", "type", "code", "mtu"]);
    Fact::from(m)
}

/// The ICMP error's facts under the given names for packet, version, type, code and MTU.
pub(super) fn icmp_fields(
    ev: &mut Evidence,
    i: &IcmpSeen,
    server: IpAddr,
    names: [&'static str; 5],
) {
    ev.insert(names[0], i.origin.number);
    ev.insert(names[1], if i.v6 { "icmpv6" } else { "icmp" });
    ev.insert(names[2], i.icmp_type);
    ev.insert(names[3], i.code);
    ev.insert("reporter", i.reporter);
    ev.insert("reporter_is_server", i.reporter == server);
    ev.insert("reporter_ttl", i.reporter_ttl);
    ev.insert("reporter_hops", hops(i.reporter_ttl));
    if let Some(mtu) = i.mtu {
        ev.insert(names[4], mtu);
    }
    if let Some(seq) = i.quoted_echo_seq {
        ev.insert("quoted_echo_seq", seq);
    }
    if let Some(t) = &i.about_tunnel {
        ev.insert("tunnel_error", tunnel_fault(t, i.reporter));
    }
}

/// The tunnel an ICMP error was about: its kind and number (when the quote showed it), the
/// outer endpoints of the quoted packet (its sender first), whether the reporter is the far
/// end, and how the conversation was matched: `exact` (the quote reached its ports) or
/// `tunnel` (it named the tunnel only; every conversation of the tunnel was charged).
fn tunnel_fault(t: &TunnelFault, reporter: IpAddr) -> Fact {
    let mut m = Evidence::new();
    m.insert("type", t.tunnel.kind.as_str());
    if let Some(id) = t.tunnel.id() {
        m.insert(t.tunnel.kind.id_name(), id);
    }
    if let Some((src, dst)) = t.tunnel.outer() {
        m.insert("outer", Fact::from(vec![Fact::from(src), Fact::from(dst)]));
        m.insert("reporter_is_far_end", reporter == dst);
    }
    m.insert("match", if t.exact { "exact" } else { "tunnel" });
    Fact::from(m)
}

pub(super) fn icmp_evidence(ev: &mut Evidence, i: &IcmpSeen, server: IpAddr) {
    icmp_fields(
        ev,
        i,
        server,
        ["icmp_packet", "icmp_version", "icmp_type", "icmp_code", "icmp_mtu"],
    );
}

/// A first payload for the evidence: its first text line, or what kind of bytes it is.
pub(super) fn describe(b: &[u8]) -> String {
    match payload::classify(b) {
        FirstBytes::TlsClientHello => "tls-client-hello".into(),
        FirstBytes::TlsAlert { level, description } => {
            format!("tls-alert level {level} {}", payload::tls_alert_name(description))
        }
        FirstBytes::TlsRecord => format!("tls-record type {}", b.first().copied().unwrap_or(0)),
        FirstBytes::HttpResponse { .. } | FirstBytes::Text => payload::first_line(b),
        FirstBytes::Binary => "binary".into(),
    }
}

/// Seconds to the microsecond.
pub(super) fn round_us(s: f64) -> f64 {
    (s * 1e6).round() / 1e6
}

pub(super) fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Seconds from `earlier` to `later`, rounded to microseconds, as a JSON number.
pub(super) fn secs(later: Timestamp, earlier: Timestamp) -> f64 {
    (later.since(earlier).as_secs_f64() * 1e6).round() / 1e6
}

/// What decided an attempt, as typed facts: each outcome has its own, and [`Detail::record`]
/// alone says in which order they reach the evidence (the output contract's key order).
pub(super) enum Detail {
    /// Nothing beyond the attempt's own counts (a UDP conversation begun mid-stream).
    None,
    /// An ICMP error quoting the attempt, and the server it was about.
    Icmp(IcmpSeen, IpAddr),
    /// The handshake completed.
    Established(Box<EstablishedFacts>),
    /// The capture began mid-conversation, perhaps with an RST in it.
    Midstream(Option<MidstreamRst>),
    /// TCP without a completed handshake: the RST that ended it, or the wait for an answer.
    Handshake { rst: Option<RstFacts>, wait: Option<WaitFacts> },
    /// UDP: the DNS queries it carried, the first reply, or the wait for one.
    Udp { dns: Option<DnsFacts>, reply: Option<ReplyFacts>, wait: Option<WaitFacts> },
    /// UDP of a one-way protocol: its name and the port that names it.
    OneWay { protocol: &'static str, port: u16 },
    /// A ping or SCTP INIT that waited for an answer in vain (their own facts are recorded
    /// after the detail, as a TCP attempt's SYNs are).
    Wait(WaitFacts),
}

impl Detail {
    #[inline(always)]
    pub(super) fn record(self, ev: &mut Evidence) {
        match self {
            Detail::None => {}
            Detail::Icmp(i, server) => icmp_evidence(ev, &i, server),
            Detail::Established(e) => e.record(ev),
            Detail::Midstream(rst) => {
                if let Some(r) = rst {
                    ev.insert("rst_packet", r.packet);
                    ev.insert("rst_from", r.from);
                }
            }
            Detail::Handshake { rst, wait } => {
                if let Some(r) = rst {
                    r.record(ev);
                }
                if let Some(w) = wait {
                    w.record(ev);
                }
            }
            Detail::Wait(w) => w.record(ev),
            Detail::OneWay { protocol, port } => {
                ev.insert("protocol", protocol);
                ev.insert("one_way_port", port);
            }
            Detail::Udp { dns, reply, wait } => {
                if let Some(d) = dns {
                    d.record(ev);
                }
                if let Some(r) = reply {
                    ev.insert("reply_packet", r.packet);
                    ev.insert("reply_after", r.after);
                }
                if let Some(w) = wait {
                    w.record(ev);
                }
            }
        }
    }
}

/// How long an attempt waited for an answer that never came.
pub(super) struct WaitFacts {
    /// The key of the wait: after the last SYN (TCP), request (UDP, ping) or INIT (SCTP).
    pub(super) after: &'static str,
    /// Seconds, to the millisecond.
    pub(super) waited: f64,
    /// The timeout it was given: `--syn-timeout`, or longer where the client's retries
    /// showed a slower schedule.
    pub(super) timeout: f64,
    /// The gap between the client's last two tries, when the timeout follows it.
    pub(super) retry_gap: Option<f64>,
    pub(super) capture_ended_before_timeout: bool,
    /// The stretch of capture time no input recorded that its wait ran into (seconds since
    /// the epoch, from and to).
    pub(super) not_covered: Option<(f64, f64)>,
    /// Unanswered address resolution for the server (a host that is down).
    pub(super) neighbor_solicitations: Option<u32>,
}

impl WaitFacts {
    fn record(self, ev: &mut Evidence) {
        ev.insert(self.after, self.waited);
        ev.insert("timeout", self.timeout);
        if let Some(gap) = self.retry_gap {
            ev.insert("timeout_basis", "retransmission-schedule");
            ev.insert("last_retry_gap", gap);
        }
        if self.capture_ended_before_timeout {
            ev.insert("capture_ended_before_timeout", true);
        }
        if let Some((from, to)) = self.not_covered {
            ev.insert("coverage_gap_from", from);
            ev.insert("coverage_gap_to", to);
        }
        if let Some(n) = self.neighbor_solicitations {
            ev.insert("neighbor_solicitations", n);
        }
    }
}

/// The RST that ended a handshake, and for a refusal how it compares with the server's own
/// packets.
pub(super) struct RstFacts {
    pub(super) packet: u64,
    pub(super) after: f64,
    pub(super) refusal: Option<RefusalFacts>,
}

impl RstFacts {
    fn record(self, ev: &mut Evidence) {
        ev.insert("rst_packet", self.packet);
        ev.insert("rst_after", self.after);
        if let Some(r) = self.refusal {
            ev.insert("rst_ttl", r.rst_ttl);
            ev.insert("rst_hops", hops(r.rst_ttl));
            if let Some(id) = r.rst_ip_id {
                ev.insert("rst_ip_id", id);
            }
            // Always present: `null` says the capture had no packet of the host to compare.
            ev.insert("host_ttl", r.host_ttl);
            ev.insert("host_hops", r.host_ttl.map(hops));
        }
    }
}

/// A refusing RST against the server's own packets: who sent it.
pub(super) struct RefusalFacts {
    pub(super) rst_ttl: u8,
    /// IPv4 only.
    pub(super) rst_ip_id: Option<u16>,
    /// The TTL of the server's own packets closest to the RST's, if any were captured.
    pub(super) host_ttl: Option<u8>,
}

/// An RST in a conversation the capture joined late.
pub(super) struct MidstreamRst {
    pub(super) packet: u64,
    pub(super) from: &'static str,
}

/// A DNS question and, when it came, its answer.
pub(super) struct DnsQuestion {
    /// Over TCP (RFC 7766), not UDP.
    pub(super) tcp: bool,
    pub(super) name: String,
    pub(super) qtype: String,
    /// UDP: the query's packet.
    pub(super) packet: Option<u64>,
    pub(super) reply: Option<DnsReply>,
}

/// A DNS response to a question.
pub(super) struct DnsReply {
    pub(super) rcode: &'static str,
    pub(super) answers: u16,
    /// UDP: the response's packet.
    pub(super) packet: Option<u64>,
}

impl DnsQuestion {
    fn record(self, ev: &mut Evidence) {
        if self.tcp {
            ev.insert("dns_transport", "tcp");
        }
        ev.insert("dns_query", self.name);
        ev.insert("dns_qtype", self.qtype);
        if let Some(p) = self.packet {
            ev.insert("dns_query_packet", p);
        }
        if let Some(r) = self.reply {
            ev.insert("dns_rcode", r.rcode);
            ev.insert("dns_answers", r.answers);
            if let Some(p) = r.packet {
                ev.insert("dns_reply_packet", p);
            }
        }
    }
}

/// The DNS queries of a UDP conversation: the one that tells the story, and counts.
pub(super) struct DnsFacts {
    pub(super) question: Option<DnsQuestion>,
    pub(super) queries: usize,
    pub(super) answered: usize,
    /// The NXDOMAIN answered a discovery probe of this kind (`wpad`, `service`, …).
    pub(super) discovery: Option<&'static str>,
}

impl DnsFacts {
    fn record(self, ev: &mut Evidence) {
        if let Some(q) = self.question {
            q.record(ev);
        }
        ev.insert("dns_queries", self.queries);
        ev.insert("dns_answered", self.answered);
        if let Some(kind) = self.discovery {
            ev.insert("dns_discovery", kind);
        }
    }
}

/// A UDP server's first reply.
pub(super) struct ReplyFacts {
    pub(super) packet: u64,
    pub(super) after: f64,
}

/// `Retry-After` as the evidence has it: seconds as a number, an HTTP date as text.
pub(super) fn retry_after_fact(v: &[u8]) -> Fact {
    match std::str::from_utf8(v).ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(n) => Fact::from(n),
        None => Fact::from(plaintext::escape_message(v)),
    }
}

/// A plaintext protocol's refusal: the protocol, its code, the server's words and the packet
/// that carried them.
pub(super) struct RefusalWords {
    pub(super) protocol: &'static str,
    pub(super) code: plaintext::Code,
    pub(super) message: String,
    pub(super) packet: Option<u64>,
}

impl RefusalWords {
    pub(super) fn of(r: &plaintext::Refusal<'_>, packet: Option<u64>) -> Self {
        RefusalWords {
            protocol: r.protocol,
            code: r.code,
            message: plaintext::escape_message(r.message),
            packet,
        }
    }

    fn record(self, ev: &mut Evidence) {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        ev.insert("protocol", self.protocol);
        match self.code {
            plaintext::Code::Mysql { error, sqlstate } => {
                ev.insert("mysql_error", error);
                if let Some(s) = sqlstate {
                    ev.insert("sqlstate", text(&s));
                }
            }
            plaintext::Code::Sqlstate(s) => ev.insert("sqlstate", text(&s)),
            plaintext::Code::Redis(w, n) => {
                ev.insert("redis_error", text(w.get(..usize::from(n)).unwrap_or_default()));
            }
            plaintext::Code::Reply(code) => ev.insert("reply_code", code),
            plaintext::Code::None => {}
        }
        ev.insert("server_message", self.message);
        if let Some(p) = self.packet {
            ev.insert("server_message_packet", p);
        }
    }
}

/// An established conversation: how it went and how it ended.
pub(super) struct EstablishedFacts {
    pub(super) packet: u64,
    pub(super) after: f64,
    pub(super) client_fin_packet: Option<u64>,
    pub(super) server_fin_packet: Option<u64>,
    pub(super) rst_packet: Option<u64>,
    /// Which side sent that RST.
    pub(super) rst_from: Option<&'static str>,
    /// How it ended (an established cause: closed, reset by a side, still open, …).
    pub(super) ended: Cause,
    /// Each side's first payload: its packet and what it is.
    pub(super) client_first: Option<(u64, String)>,
    pub(super) server_first: Option<(u64, String)>,
    pub(super) dns: Option<DnsQuestion>,
    /// The server's fatal TLS alert: its name and code.
    pub(super) tls_alert: Option<(&'static str, u8)>,
    pub(super) http_status: Option<u16>,
    /// An HTTP 429/503's `Retry-After`, when its line is within the prefix.
    pub(super) retry_after: Option<Fact>,
    /// A plaintext protocol's refusal in the server's own words.
    pub(super) refusal: Option<RefusalWords>,
    pub(super) syn_acks_after_ack: Option<u32>,
    pub(super) zero_window_packet: Option<u64>,
    /// The TLS handshake's facts, when a TLS cause decided.
    pub(super) tls: Option<super::tls::TlsFacts>,
    /// Where the RST that ended it came from.
    pub(super) rst_origin: Option<super::classify::RstOriginFacts>,
    /// A hung server: how long the client waited after its request, in seconds.
    pub(super) waited_for_answer: Option<f64>,
}

impl EstablishedFacts {
    fn record(self, ev: &mut Evidence) {
        ev.insert("established_packet", self.packet);
        ev.insert("established_after", self.after);
        if let Some(p) = self.client_fin_packet {
            ev.insert("client_fin_packet", p);
        }
        if let Some(p) = self.server_fin_packet {
            ev.insert("server_fin_packet", p);
        }
        if let Some(p) = self.rst_packet {
            ev.insert("rst_packet", p);
        }
        if let Some(side) = self.rst_from {
            ev.insert("rst_from", side);
        }
        if let Some(o) = self.rst_origin {
            use super::classify::RstOrigin;
            let origin = match o.origin {
                RstOrigin::Host => "host",
                RstOrigin::Path => "path",
                RstOrigin::Unknown => "unknown",
            };
            ev.insert("rst_origin", origin);
            ev.insert("rst_ttl", o.rst_ttl);
            ev.insert("rst_hops", hops(o.rst_ttl));
            if let Some((id, pattern)) = o.ip_id {
                ev.insert("rst_ip_id", id);
                ev.insert("rst_ip_id_pattern", pattern);
            }
            // Always present: `null` says the capture had no packet of the sender to compare.
            ev.insert("rst_sender_ttl", o.sender_ttl);
            ev.insert("rst_sender_hops", o.sender_ttl.map(hops));
        }
        ev.insert("ended", self.ended.word());
        if let Some(w) = self.waited_for_answer {
            ev.insert("waited_for_answer", w);
        }
        if let Some((p, what)) = self.client_first {
            ev.insert("client_first_packet", p);
            ev.insert("client_first_bytes", what);
        }
        if let Some((p, what)) = self.server_first {
            ev.insert("server_first_packet", p);
            ev.insert("server_first_bytes", what);
        }
        if let Some(d) = self.dns {
            d.record(ev);
        }
        if let Some((name, code)) = self.tls_alert {
            ev.insert("tls_alert", name);
            ev.insert("tls_alert_code", code);
        }
        if let Some(t) = self.tls {
            t.record(ev);
        }
        if let Some(s) = self.http_status {
            ev.insert("http_status", s);
        }
        if let Some(r) = self.retry_after {
            ev.insert("retry_after", r);
        }
        if let Some(r) = self.refusal {
            r.record(ev);
        }
        if let Some(n) = self.syn_acks_after_ack {
            ev.insert("syn_acks_after_ack", n);
        }
        if let Some(p) = self.zero_window_packet {
            ev.insert("zero_window_packet", p);
        }
    }
}
