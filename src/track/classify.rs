//! The classifier: from what an attempt's packets showed, why it is ending now, and what the
//! capture showed of the hosts, to a [`Diagnosis`] — its cause and the evidence behind it.
//! Pure: no I/O, no clock, no output format (the outputs write the diagnosis).

use std::net::IpAddr;

use super::attempt::{Flow, IcmpSeen, State};
use super::evidence::{self, describe, icmp_evidence, round_ms, secs};
use super::hosts::hops;
use super::hosts::{HostFacts, HostKey};
use super::payload::{self, DnsHeader, FirstBytes};
use super::tcp::{RstSeen, TcpState};
use super::udp::UdpState;
use super::{Context, Ending, TrackerConfig};
use crate::capture::Origin;
use crate::decode::{IcmpErrorKind, PayloadPrefix};
use crate::time::Timestamp;
use crate::verdict::{Cause, Evidence, Fact, Hint, Verdict};

/// An attempt's cause and the facts that led there.
pub(super) struct Diagnosis {
    pub(super) cause: Cause,
    pub(super) evidence: Evidence,
}

/// The verdict on `flow` as it ends for `ending`: the diagnosis, with who and when.
pub(super) fn verdict(flow: &Flow, ending: Ending, ctx: &Context<'_>) -> Verdict {
    let Diagnosis { cause, evidence } = classify(flow, ending, ctx);
    Verdict {
        id: flow.id,
        ts: flow.first_ts,
        last_ts: flow.last_ts,
        first_packet: flow.first_packet,
        proto: flow.key.proto(),
        vlan: flow.vlan,
        client: flow.client,
        server: flow.server,
        cause,
        evidence,
        hint: Hint::new(cause, flow.client, flow.server),
        conn_state: flow.conn_state(),
    }
}

/// Diagnoses `flow` as it ends for `ending`, given what the capture showed of its hosts.
pub(super) fn classify(flow: &Flow, ending: Ending, ctx: &Context<'_>) -> Diagnosis {
    let (now, config) = (ctx.now, ctx.config);
    let server_seen = ServerSeen::of(ctx.hosts.key(flow.vlan, flow.server.ip), ctx.hosts);
    let mut ev = evidence::attempt(flow, ending);
    let cause = if let Some(icmp) = flow.icmp.as_deref() {
        icmp_evidence(&mut ev, icmp, flow.server.ip);
        icmp_verdict(icmp)
    } else {
        match &flow.state {
            State::Tcp(s) => s.classify(flow, ending, ctx, &mut ev),
            State::Udp(u) => flow.classify_udp(u, ending, now, config, server_seen, &mut ev),
            // Never: a verdict is given once, and its state freed only then.
            State::Decided(_) => Cause::Midstream,
        }
    };
    if let State::Tcp(s) = &flow.state {
        evidence::syn(s, &mut ev);
    }
    Diagnosis { cause, evidence: ev }
}

impl Flow {
    pub(super) fn classify_udp(
        &self,
        u: &UdpState,
        ending: Ending,
        now: Timestamp,
        config: &TrackerConfig,
        server: ServerSeen,
        ev: &mut Evidence,
    ) -> Cause {
        if self.midstream {
            return Cause::Midstream;
        }
        if let Some(d) = &u.dns {
            // The query that tells the story: the first answered with an error, else the first
            // never answered, else the first.
            let failed = d.queries.iter().find_map(|q| {
                let (h, _) = q.reply?;
                Cause::dns_rcode(h.rcode).map(|cause| (q, cause))
            });
            let open = d.queries.iter().find(|q| q.reply.is_none());
            if let Some(q) = failed.map(|(q, _)| q).or(open).or(d.queries.first()) {
                let (name, qtype) =
                    payload::dns_question(q.question.as_slice()).unwrap_or(("?".into(), 0));
                ev.insert("dns_query", name);
                ev.insert("dns_qtype", payload::dns_type_name(qtype));
                ev.insert("dns_query_packet", q.packet.number);
                if let Some((h, o)) = q.reply {
                    ev.insert("dns_rcode", payload::dns_rcode_name(h.rcode));
                    ev.insert("dns_answers", h.answers);
                    ev.insert("dns_reply_packet", o.number);
                }
            }
            ev.insert("dns_queries", d.queries.len());
            let answered = d.queries.iter().filter(|q| q.reply.is_some()).count();
            ev.insert("dns_answered", answered);
            if let Some((_, cause)) = failed {
                return cause;
            }
            if open.is_some() {
                // A query nobody answered: name resolution failed (or the capture ended first).
                let cause =
                    unanswered(ev, ending, now, u.last_request_ts, config, "request", server);
                return if cause == Cause::CaptureEnded {
                    Cause::DnsCaptureEnded
                } else {
                    Cause::DnsNoResponse
                };
            }
        }
        if let Some((ts, origin)) = u.first_reply {
            ev.insert("reply_packet", origin.number);
            ev.insert("reply_after", secs(ts, self.first_ts));
            return Cause::ReplySeen;
        }
        unanswered(ev, ending, now, u.last_request_ts, config, "request", server)
    }
}

/// What the capture shows of the server host apart from this attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ServerSeen {
    /// It sent something (to anyone), or answered address resolution: it is up.
    Alive,
    /// It never sent anything, and this many ARP/neighbour solicitations for it went unanswered.
    Unresolved(u32),
    /// Nothing is known.
    Unknown,
}

impl ServerSeen {
    pub(super) fn of(host: HostKey, hosts: &HostFacts) -> ServerSeen {
        if hosts.has_sent(host) {
            return ServerSeen::Alive;
        }
        match hosts.resolution(host) {
            Some((_, true)) => ServerSeen::Alive,
            Some((n, false)) if n > 0 => ServerSeen::Unresolved(n),
            _ => ServerSeen::Unknown,
        }
    }
}

/// Evidence and cause for an attempt with nothing back.
pub(super) fn unanswered(
    ev: &mut Evidence,
    ending: Ending,
    now: Timestamp,
    last_try: Timestamp,
    config: &TrackerConfig,
    what: &str,
    server: ServerSeen,
) -> Cause {
    // At a timeout, say how long the attempt was given (not when a later, unrelated packet
    // happened to move the clock), so a verdict does not depend on other flows' timing.
    let waited = if ending == Ending::Timeout { config.syn_timeout } else { now.since(last_try) };
    let key = if what == "syn" { "waited_after_last_syn" } else { "waited_after_last_request" };
    ev.insert(key, round_ms(waited.as_secs_f64()));
    ev.insert("timeout", config.syn_timeout.as_secs_f64());
    match ending {
        Ending::EndOfCapture if waited < config.syn_timeout => {
            ev.insert("capture_ended_before_timeout", true);
            Cause::CaptureEnded
        }
        Ending::Evicted => Cause::EvictedBeforeTimeout,
        Ending::Superseded => Cause::Superseded,
        // The host answered other traffic in the capture: this port's silence is a filter.
        _ if server == ServerSeen::Alive => Cause::Filtered,
        _ => match server {
            ServerSeen::Unresolved(n) => {
                ev.insert("neighbor_solicitations", n);
                Cause::HostDown
            }
            _ => Cause::NoResponse,
        },
    }
}

impl TcpState {
    /// An established conversation: did the application turn the client away, do the two
    /// sides speak different protocols, did the server show overload — else how it ended.
    pub(super) fn classify_established(
        &self,
        flow: &Flow,
        ending: Ending,
        ev: &mut Evidence,
    ) -> Cause {
        if let Some((_, o)) = self.client.fin {
            ev.insert("client_fin_packet", o.number);
        }
        if let Some((_, o)) = self.server.fin {
            ev.insert("server_fin_packet", o.number);
        }
        let server_rst = self.rst.filter(|r| !r.from_client);
        let ended = if let Some(r) = &self.rst {
            ev.insert("rst_packet", r.origin.number);
            if r.from_client { Cause::ResetByClient } else { Cause::ResetByServer }
        } else {
            match ending {
                Ending::Fin => Cause::Closed,
                Ending::Timeout => Cause::Idle,
                Ending::Evicted => Cause::Evicted,
                Ending::Superseded => Cause::PortReused,
                _ => Cause::StillOpen,
            }
        };
        ev.insert("ended", ended.word());

        let client_kind = self.client.first.as_deref().map(|(p, o)| {
            ev.insert("client_first_packet", o.number);
            ev.insert("client_first_bytes", describe(p.as_slice()));
            payload::classify(p.as_slice())
        });
        let server_kind = self.server.first.as_deref().map(|(p, o)| {
            ev.insert("server_first_packet", o.number);
            ev.insert("server_first_bytes", describe(p.as_slice()));
            payload::classify(p.as_slice())
        });
        let server_closed = self.server.fin.is_some() || server_rst.is_some();

        match (client_kind, server_kind) {
            (Some(FirstBytes::TlsClientHello), Some(k))
                if !matches!(k, FirstBytes::TlsAlert { .. } | FirstBytes::TlsRecord) =>
            {
                return Cause::TlsToPlaintext;
            }
            (Some(FirstBytes::Text), Some(FirstBytes::TlsAlert { .. } | FirstBytes::TlsRecord)) => {
                return Cause::PlaintextToTls;
            }
            (Some(FirstBytes::TlsClientHello), None) if server_closed => {
                return Cause::TlsHelloClosed;
            }
            _ => {}
        }
        // DNS over TCP (RFC 7766): each message behind a 2-byte length.
        let dns_port = flow.server.port == 53;
        if let Some((q, qb)) =
            dns_over_tcp(&self.client.first).filter(|(_, b)| dns_port && payload::is_dns_query(b))
        {
            let (name, qtype) = payload::dns_question(qb).unwrap_or(("?".into(), 0));
            ev.insert("dns_transport", "tcp");
            ev.insert("dns_query", name);
            ev.insert("dns_qtype", payload::dns_type_name(qtype));
            match dns_over_tcp(&self.server.first).filter(|(h, _)| h.response && h.id == q.id) {
                Some((h, _)) => {
                    ev.insert("dns_rcode", payload::dns_rcode_name(h.rcode));
                    ev.insert("dns_answers", h.answers);
                    if let Some(cause) = Cause::dns_rcode(h.rcode) {
                        return cause;
                    }
                }
                None if flow.s2c.bytes == 0 => {
                    return if ending == Ending::EndOfCapture {
                        Cause::DnsCaptureEnded
                    } else {
                        Cause::DnsNoResponse
                    };
                }
                None => {}
            }
        }
        match server_kind {
            Some(FirstBytes::TlsAlert { level: 2, description }) => {
                ev.insert("tls_alert", payload::tls_alert_name(description));
                ev.insert("tls_alert_code", description);
                return Cause::TlsAlert;
            }
            Some(FirstBytes::HttpResponse { status }) if status >= 400 => {
                ev.insert("http_status", status);
                return match status {
                    401 | 407 => Cause::HttpAuthRequired,
                    403 => Cause::HttpForbidden,
                    429 | 503 => Cause::HttpOverloaded,
                    400..=499 => Cause::HttpClientError,
                    _ => Cause::HttpServerError,
                };
            }
            _ => {}
        }
        // The server closed or reset without sending a byte, after the client asked something
        // (or before the client closed): the application turned it away.
        let server_closed_first =
            // By capture time, not by place in the input: with one file per direction (a
            // TAP), the order of the files must not change the verdict.
            match (self.client.fin, server_rst.map(|r| (r.ts, r.origin)).or(self.server.fin)) {
                (None, Some(_)) => true,
                (Some(c), Some(s)) => s < c,
                _ => false,
            };
        if flow.s2c.bytes == 0 && server_closed && (flow.c2s.bytes > 0 || server_closed_first) {
            return match (server_rst.is_some(), flow.c2s.bytes > 0) {
                (true, true) => Cause::ResetAfterRequest,
                (true, false) => Cause::ResetBeforeRequest,
                (false, true) => Cause::ClosedAfterRequest,
                (false, false) => Cause::ClosedBeforeRequest,
            };
        }
        if self.syns_before_answer > 1 {
            return Cause::SlowAccept;
        }
        if self.syn_ack_after_ack > 0 {
            ev.insert("syn_acks_after_ack", self.syn_ack_after_ack);
            return Cause::SynAckRetransmitted;
        }
        if let Some(o) = self.zero_window {
            ev.insert("zero_window_packet", o.number);
            return Cause::ZeroWindow;
        }
        ended
    }

    pub(super) fn classify(
        &self,
        flow: &Flow,
        ending: Ending,
        ctx: &Context<'_>,
        ev: &mut Evidence,
    ) -> Cause {
        let (now, config, hosts) = (ctx.now, ctx.config, ctx.hosts);
        let server = ServerSeen::of(ctx.hosts.key(flow.vlan, flow.server.ip), ctx.hosts);
        if let Some((ts, origin)) = self.established {
            ev.insert("established_packet", origin.number);
            ev.insert("established_after", secs(ts, flow.first_ts));
            return self.classify_established(flow, ending, ev);
        }
        if flow.midstream {
            if let Some(r) = &self.rst {
                ev.insert("rst_packet", r.origin.number);
                ev.insert("rst_from", if r.from_client { "client" } else { "server" });
            }
            return Cause::Midstream;
        }
        if let Some(r) = &self.rst {
            ev.insert("rst_packet", r.origin.number);
            ev.insert("rst_after", secs(r.ts, flow.first_ts));
            if !r.from_client && r.acknowledges_syn && !self.client.syn_acked {
                return refusal_cause(r, (flow.vlan, flow.server.ip), hosts, ev);
            }
            if self.client.syn_acked {
                return if r.from_client {
                    Cause::ClientAbortedHandshake
                } else {
                    Cause::ServerResetHandshake
                };
            }
            // A SYN-ACK that does not acknowledge the SYN is still an answer: the client's RST
            // answered it (RFC 9293 §3.10.7.3), so the attempt was not unanswered.
            if r.from_client && self.syn_ack.is_some() {
                return Cause::ClientAbortedHandshake;
            }
            if r.from_client && !self.server_spoke {
                return Cause::ClientAborted;
            }
        }
        if self.client.syn_acked {
            return Cause::HandshakeIncomplete;
        }
        if self.server_spoke {
            return Cause::SynAckNotCaptured;
        }
        if self.client_went_on {
            // Never "unanswered": the client behaved as if answered.
            return Cause::ServerSideNotCaptured;
        }
        unanswered(ev, ending, now, self.last_syn_ts, config, "syn", server)
    }
}

/// Host RST or one injected on the path: compare the RST's TTL with the TTL of the host's own
/// non-RST packets seen elsewhere in the capture.
pub(super) fn refusal_cause(
    r: &RstSeen,
    (vlan, host): (u32, IpAddr),
    hosts: &HostFacts,
    ev: &mut Evidence,
) -> Cause {
    ev.insert("rst_ttl", r.ttl);
    ev.insert("rst_hops", hops(r.ttl));
    if host.is_ipv4() {
        ev.insert("rst_ip_id", r.ip_id);
    }
    match hosts.own_ttls(hosts.key(vlan, host)).and_then(|own| own.closest(r.ttl)) {
        Some(own) => {
            ev.insert("host_ttl", own);
            ev.insert("host_hops", hops(own));
            if hops(own) == hops(r.ttl) { Cause::HostReset } else { Cause::PathReset }
        }
        None => {
            ev.insert("host_ttl", Fact::Null);
            ev.insert("host_hops", Fact::Null);
            Cause::Reset
        }
    }
}

pub(super) fn icmp_verdict(i: &IcmpSeen) -> Cause {
    match i.kind {
        IcmpErrorKind::TimeExceeded => Cause::TtlExceeded,
        _ if i.v6 => Cause::icmp6_unreachable(i.code),
        _ => Cause::icmp4_unreachable(i.code),
    }
}

/// A DNS message behind TCP's 2-byte length (RFC 7766), from a side's first payload.
pub(super) fn dns_over_tcp(
    first: &Option<Box<(PayloadPrefix, Origin)>>,
) -> Option<(DnsHeader, &[u8])> {
    let b = first.as_deref()?.0.as_slice().get(2..)?;
    payload::dns_header(b).map(|h| (h, b))
}
