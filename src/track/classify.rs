//! The classifier: from what an attempt's packets showed, why it is ending now, and what the
//! capture showed of the hosts, to a [`Diagnosis`] — its cause and the evidence behind it.
//! Pure: no I/O, no clock, no output format (the outputs write the diagnosis).

use std::net::IpAddr;

use super::attempt::{Flow, IcmpSeen, State, retry_wait};
use super::dns_names;
use super::evidence::{
    self, Detail, DnsFacts, DnsQuestion, DnsReply, EstablishedFacts, MidstreamRst, RefusalFacts,
    RefusalWords, ReplyFacts, RstFacts, WaitFacts, describe, retry_after_fact, round_ms, secs,
};
use super::hosts::hops;
use super::hosts::{HostFacts, HostKey};
use super::payload::{self, DnsHeader, FirstBytes};
use super::ping::PingState;
use super::plaintext;
use super::sctp::SctpState;
use super::tcp::{RstSeen, TcpState, seq_after};
use super::udp::UdpState;
use super::{Context, Ending};

/// The evidence key of a wait after the last SYN (TCP), request (UDP, ping) or INIT (SCTP).
const AFTER_SYN: &str = "waited_after_last_syn";
const AFTER_REQUEST: &str = "waited_after_last_request";
const AFTER_INIT: &str = "waited_after_last_init";
use crate::capture::Origin;
use crate::decode::{IcmpErrorKind, PayloadPrefix};
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Evidence, Hint, Verdict};

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
        tunnel: flow.tunnel.as_deref().copied(),
        client: flow.client,
        server: flow.server,
        cause,
        evidence,
        hint: Hint::for_proto(cause, flow.key.proto(), flow.client, flow.server),
        conn_state: flow.conn_state(),
        revises: flow.revises,
    }
}

/// Diagnoses `flow` as it ends for `ending`, given what the capture showed of its hosts: the
/// cause, and the typed facts of the outcome written into the evidence after the attempt's own.
pub(super) fn classify(flow: &Flow, ending: Ending, ctx: &Context<'_>) -> Diagnosis {
    let server_seen =
        ServerSeen::of(ctx.hosts.key(flow.vlan, flow.tunnel_digest, flow.server.ip), ctx.hosts);
    let (cause, detail) = if let Some(icmp) = flow.icmp.as_deref() {
        // An error about the server's reply says the reply could not reach the client (it had
        // given up, its port is closed), not that the server failed.
        // (An error about the tunnel says the tunnel failed, whichever way the packet went.)
        let cause = if flow.icmp_quotes_reply && icmp.about_tunnel.is_none() {
            Cause::ReplyUndeliverable
        } else {
            icmp_verdict(icmp)
        };
        (cause, Detail::Icmp(*icmp, flow.server.ip))
    } else {
        match &flow.state {
            State::Tcp(s) => s.classify(flow, ending, ctx, server_seen),
            State::Udp(u) => flow.classify_udp(u, ending, ctx, server_seen),
            State::Ping(g) => flow.classify_ping(g, ending, ctx, server_seen),
            State::Sctp(s) => flow.classify_sctp(s, ending, ctx, server_seen),
            // Never: a verdict is given once, and its state freed only then.
            State::Decided(_) => (Cause::Midstream, Detail::None),
        }
    };
    let mut ev = evidence::attempt(flow, ending);
    detail.record(&mut ev);
    match &flow.state {
        State::Tcp(s) => evidence::syn(s, &mut ev),
        State::Ping(g) => evidence::ping(g, (ctx.now, ctx.config.syn_timeout), &mut ev),
        State::Sctp(s) => evidence::sctp(s, &mut ev),
        _ => {}
    }
    Diagnosis { cause, evidence: ev }
}

impl Flow {
    /// A ping: answered (some replies lost or not), or not answered at all.
    pub(super) fn classify_ping(
        &self,
        g: &PingState,
        ending: Ending,
        ctx: &Context<'_>,
        server: ServerSeen,
    ) -> (Cause, Detail) {
        if self.midstream || g.requests == 0 {
            return (Cause::Midstream, Detail::None);
        }
        if g.replies > 0 {
            let lost = g.lost(ctx.now, ctx.config.syn_timeout);
            return (if lost > 0 { Cause::EchoLoss } else { Cause::ReplySeen }, Detail::None);
        }
        let last = g.last_request.map_or(self.first_ts, |(t, _)| t);
        let (cause, wait) = unanswered(ending, ctx, (last, g.request_gap), AFTER_REQUEST, server);
        (cause, Detail::Wait(wait))
    }

    /// An SCTP association: established (and how it ended), refused by an ABORT, begun but
    /// not completed, or its INITs unanswered.
    pub(super) fn classify_sctp(
        &self,
        s: &SctpState,
        ending: Ending,
        ctx: &Context<'_>,
        server: ServerSeen,
    ) -> (Cause, Detail) {
        if s.is_established() {
            let cause = match s.abort {
                Some(a) if a.from_client => Cause::AbortedByClient,
                Some(_) => Cause::AbortedByServer,
                None if s.shutdown_complete.is_some() || s.shutdown.is_some() => Cause::Shutdown,
                None => match ending {
                    Ending::Timeout => Cause::Idle,
                    Ending::Evicted => Cause::Evicted,
                    Ending::Superseded => Cause::PortReused,
                    _ => Cause::StillOpen,
                },
            };
            return (cause, Detail::None);
        }
        if self.midstream {
            return (Cause::Midstream, Detail::None);
        }
        match s.abort {
            Some(a) if !a.from_client => return (Cause::Abort, Detail::None),
            Some(_) if s.init_ack.is_some() => {
                return (Cause::ClientAbortedHandshake, Detail::None);
            }
            // An ABORT without the server's tag: the client never learned it, so no INIT-ACK
            // reached it before it gave up (RFC 9260 §8.5.1: an endpoint that knows the peer's
            // tag uses it). Its INITs went unanswered: judged as such, unless it gave up on its
            // one INIT before the timeout.
            Some(a) if !a.has_peer_tag(s.client_tag) => {
                let (cause, wait) =
                    unanswered(ending, ctx, (s.last_init_ts, s.init_gap), AFTER_INIT, server);
                let early = s.init_count <= 1 && wait.waited < wait.timeout;
                return (if early { Cause::ClientGaveUp } else { cause }, Detail::Wait(wait));
            }
            Some(_) => return (Cause::ClientAborted, Detail::None),
            None => {}
        }
        if s.init_ack.is_some() {
            return (Cause::HandshakeIncomplete, Detail::None);
        }
        let (cause, wait) =
            unanswered(ending, ctx, (s.last_init_ts, s.init_gap), AFTER_INIT, server);
        (cause, Detail::Wait(wait))
    }

    pub(super) fn classify_udp(
        &self,
        u: &UdpState,
        ending: Ending,
        ctx: &Context<'_>,
        server: ServerSeen,
    ) -> (Cause, Detail) {
        if self.midstream {
            return (Cause::Midstream, Detail::None);
        }
        // A one-way protocol's datagrams with nothing back (and no ICMP error: that decided
        // above) went as they should.
        if let (Some(port), None) = (u.one_way, u.first_reply) {
            return (
                Cause::OneWayProtocol,
                Detail::OneWay { protocol: super::oneway::protocol_name(port), port },
            );
        }
        let wait = || {
            let last = (u.last_request_ts, u.request_gap);
            unanswered(ending, ctx, last, AFTER_REQUEST, server)
        };
        let mut dns = None;
        if let Some(d) = &u.dns {
            // The query that tells the story: the first answered with an error, else the first
            // never answered, else the first.
            let failed = d.queries.iter().find_map(|q| {
                let (h, _) = q.reply?;
                Cause::dns_rcode(h.rcode).map(|cause| (q, cause))
            });
            let open = d.queries.iter().find(|q| q.reply.is_none());
            let mut discovery = None;
            let question = failed.map(|(q, _)| q).or(open).or(d.queries.first()).map(|q| {
                let (name, qtype) =
                    payload::dns_question(q.question.as_slice()).unwrap_or(("?".into(), 0));
                if let Some((_, Cause::Nxdomain)) = failed {
                    discovery = dns_names::discovery_lookup(&name, qtype);
                }
                DnsQuestion {
                    tcp: false,
                    name,
                    qtype: payload::dns_type_name(qtype),
                    packet: Some(q.packet.number),
                    reply: q.reply.map(|(h, o)| DnsReply {
                        rcode: payload::dns_rcode_name(h.rcode),
                        answers: h.answers,
                        packet: Some(o.number),
                    }),
                }
            });
            let answered = d.queries.iter().filter(|q| q.reply.is_some()).count();
            let facts = DnsFacts { question, queries: d.queries.len(), answered, discovery };
            if discovery.is_some() {
                // NXDOMAIN to a discovery probe: the answer the protocol expects.
                let detail = Detail::Udp { dns: Some(facts), reply: None, wait: None };
                return (Cause::DiscoveryName, detail);
            }
            if let Some((_, cause)) = failed {
                return (cause, Detail::Udp { dns: Some(facts), reply: None, wait: None });
            }
            if open.is_some() {
                // A query nobody answered: name resolution failed (or the capture ended first).
                let (cause, wait) = wait();
                let cause = if cause == Cause::CaptureEnded {
                    Cause::DnsCaptureEnded
                } else {
                    Cause::DnsNoResponse
                };
                return (cause, Detail::Udp { dns: Some(facts), reply: None, wait: Some(wait) });
            }
            dns = Some(facts);
        }
        if let Some((ts, origin)) = u.first_reply {
            let reply = ReplyFacts { packet: origin.number, after: secs(ts, self.first_ts) };
            return (Cause::ReplySeen, Detail::Udp { dns, reply: Some(reply), wait: None });
        }
        let (cause, wait) = wait();
        (cause, Detail::Udp { dns, reply: None, wait: Some(wait) })
    }
}

/// A time as seconds since the epoch, to the microsecond (as `ts`).
fn epoch(t: Timestamp) -> f64 {
    (t.as_secs_f64() * 1e6).round() / 1e6
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

/// Cause and facts for an attempt with nothing back (after its last SYN, or its last request,
/// `gap` after the one before).
pub(super) fn unanswered(
    ending: Ending,
    ctx: &Context<'_>,
    (last_try, gap): (Timestamp, Duration),
    after: &'static str,
    server: ServerSeen,
) -> (Cause, WaitFacts) {
    let (now, config) = (ctx.now, ctx.config);
    let (timeout, adaptive) = retry_wait(gap, config);
    // At a timeout, say how long the attempt was given (not when a later, unrelated packet
    // happened to move the clock), so a verdict does not depend on other flows' timing.
    let waited = if ending == Ending::Timeout { timeout } else { now.since(last_try) };
    let mut facts = WaitFacts {
        after,
        waited: round_ms(waited.as_secs_f64()),
        timeout: if adaptive { round_ms(timeout.as_secs_f64()) } else { timeout.as_secs_f64() },
        retry_gap: adaptive.then(|| round_ms(gap.as_secs_f64())),
        capture_ended_before_timeout: false,
        not_covered: None,
        neighbor_solicitations: None,
    };
    let cause = match ending {
        Ending::EndOfCapture if waited < timeout => {
            facts.capture_ended_before_timeout = true;
            Cause::CaptureEnded
        }
        Ending::CoverageGap => {
            facts.capture_ended_before_timeout = true;
            facts.not_covered = ctx.gap.map(|(from, to)| (epoch(from), epoch(to)));
            Cause::CaptureEnded
        }
        Ending::Evicted => Cause::EvictedBeforeTimeout,
        Ending::Superseded => Cause::Superseded,
        // The host answered other traffic in the capture: this port's silence is a filter.
        _ if server == ServerSeen::Alive => Cause::Filtered,
        _ => match server {
            ServerSeen::Unresolved(n) => {
                facts.neighbor_solicitations = Some(n);
                Cause::HostDown
            }
            _ => Cause::NoResponse,
        },
    };
    (cause, facts)
}

impl TcpState {
    /// An established conversation: did the application turn the client away, do the two
    /// sides speak different protocols, did the server show overload — else how it ended.
    pub(super) fn classify_established(
        &self,
        flow: &Flow,
        ending: Ending,
        (ts, origin): (Timestamp, Origin),
        ctx: &Context<'_>,
    ) -> (Cause, Detail) {
        let server_rst = self.rst.filter(|r| !r.from_client);
        let ended = if let Some(r) = &self.rst {
            // An RST after a FIN (either side's) ends a connection that was already closing:
            // a browser answering the server's FIN, a side that closed with data still
            // arriving. Only an RST with no FIN before it cuts a conversation short.
            let fin_before =
                [self.client.fin, self.server.fin].into_iter().flatten().any(|f| f.0 <= r.ts);
            match (fin_before, r.from_client) {
                (true, _) => Cause::ClosedWithReset,
                (false, true) => Cause::ResetByClient,
                (false, false) => Cause::ResetByServer,
            }
        } else {
            match ending {
                Ending::Fin => Cause::Closed,
                Ending::Timeout => Cause::Idle,
                Ending::Evicted => Cause::Evicted,
                Ending::Superseded => Cause::PortReused,
                _ => Cause::StillOpen,
            }
        };
        let first = |side: &Option<Box<(PayloadPrefix, Origin)>>| {
            side.as_deref().map(|(p, o)| (o.number, describe(p.as_slice())))
        };
        let mut facts = EstablishedFacts {
            packet: origin.number,
            after: secs(ts, flow.first_ts),
            client_fin_packet: self.client.fin.map(|(_, o)| o.number),
            server_fin_packet: self.server.fin.map(|(_, o)| o.number),
            rst_packet: self.rst.map(|r| r.origin.number),
            rst_from: self.rst.map(|r| if r.from_client { "client" } else { "server" }),
            ended,
            client_first: first(&self.client.first),
            server_first: first(&self.server.first),
            dns: None,
            tls_alert: None,
            http_status: None,
            retry_after: None,
            refusal: None,
            syn_acks_after_ack: None,
            zero_window_packet: None,
            tls: None,
            rst_origin: self.rst.map(|r| rst_origin(self, &r, flow.server.ip.is_ipv4())),
            waited_for_answer: None,
        };
        let cause = self.established_cause(flow, ending, server_rst, &mut facts, ctx);
        (cause, Detail::Established(Box::new(facts)))
    }

    /// The cause of an established conversation, adding the facts that decide it.
    fn established_cause(
        &self,
        flow: &Flow,
        ending: Ending,
        server_rst: Option<RstSeen>,
        facts: &mut EstablishedFacts,
        ctx: &Context<'_>,
    ) -> Cause {
        let kind = |side: &Option<Box<(PayloadPrefix, Origin)>>| {
            side.as_deref().map(|(p, _)| payload::classify(p.as_slice()))
        };
        // A TLS handshake that says who refused whom (see `tls`).
        if let Some(cause) = self.tls_cause(flow, ending, facts) {
            return cause;
        }
        let (client_kind, server_kind) = (kind(&self.client.first), kind(&self.server.first));
        let server_closed = self.server.fin.is_some() || server_rst.is_some();
        // An RST forged on the path before the server said a word: nothing the server did
        // explains the end (not a refusal of the request, nor of a TLS hello).
        if flow.s2c.bytes == 0
            && let Some(cause) = self.path_reset(flow, facts)
        {
            return cause;
        }
        // What the port speaks, from the port and from the service's other conversations.
        let host = ctx.hosts.key(flow.vlan, flow.tunnel_digest, flow.server.ip);
        let service = ctx.hosts.service(host, flow.server.port);
        let speaks_tls = service.tls || is_tls_port(flow.server.port);

        // SSH on one side only: an HTTP request to an SSH server (which answers its banner,
        // then 'Protocol mismatch.'), or an SSH client at an HTTP server.
        let bytes = |side: &Option<Box<(PayloadPrefix, Origin)>>| {
            side.as_deref().map(|(p, _)| p.as_slice().starts_with(b"SSH-"))
        };
        match (bytes(&self.client.first), bytes(&self.server.first), server_kind) {
            (Some(false), Some(true), _) if client_kind == Some(FirstBytes::Text) => {
                return Cause::ProtocolMismatch;
            }
            (Some(true), _, Some(FirstBytes::HttpResponse { .. })) => {
                return Cause::ProtocolMismatch;
            }
            _ => {}
        }

        match (client_kind, server_kind) {
            (Some(FirstBytes::TlsClientHello), Some(k))
                if !matches!(k, FirstBytes::TlsAlert { .. } | FirstBytes::TlsRecord) =>
            {
                return Cause::TlsToPlaintext;
            }
            (Some(FirstBytes::Text), Some(FirstBytes::TlsAlert { .. } | FirstBytes::TlsRecord)) => {
                return Cause::PlaintextToTls;
            }
            // nginx answers plaintext on its TLS port with `400 The plain HTTP request was
            // sent to HTTPS port` (the words beyond the kept bytes); OpenSSL closes silently.
            (Some(FirstBytes::Text), Some(FirstBytes::HttpResponse { status: 400 }))
                if speaks_tls =>
            {
                return Cause::PlaintextToTls;
            }
            (Some(FirstBytes::Text), None) if server_closed && speaks_tls => {
                return Cause::PlaintextToTls;
            }
            // A hello closed silently where the service answered in plaintext before.
            (Some(FirstBytes::TlsClientHello), None) if server_closed && service.plaintext => {
                return Cause::TlsToPlaintext;
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
            let answer =
                dns_over_tcp(&self.server.first).filter(|(h, _)| h.response && h.id == q.id);
            let question = facts.dns.insert(DnsQuestion {
                tcp: true,
                name,
                qtype: payload::dns_type_name(qtype),
                packet: None,
                reply: None,
            });
            match answer {
                Some((h, _)) => {
                    question.reply = Some(DnsReply {
                        rcode: payload::dns_rcode_name(h.rcode),
                        answers: h.answers,
                        packet: None,
                    });
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
                facts.tls_alert = Some((payload::tls_alert_name(description), description));
                return Cause::TlsAlert;
            }
            // 404 and 410 answer the request (the resource is not there): the connection
            // worked, the status is kept as a fact.
            Some(FirstBytes::HttpResponse { status: status @ (404 | 410) }) => {
                facts.http_status = Some(status);
            }
            Some(FirstBytes::HttpResponse { status }) if status >= 400 => {
                facts.http_status = Some(status);
                if matches!(status, 429 | 503) {
                    facts.retry_after = self
                        .server
                        .first
                        .as_deref()
                        .and_then(|(p, _)| plaintext::retry_after(p.as_slice()))
                        .map(retry_after_fact);
                }
                return match status {
                    401 => Cause::HttpAuthRequired,
                    407 => Cause::HttpProxyAuthRequired,
                    403 => Cause::HttpForbidden,
                    429 | 503 => Cause::HttpOverloaded,
                    502 => Cause::HttpBadGateway,
                    504 => Cause::HttpGatewayTimeout,
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
        // A database, cache, mail or file server that said no in plaintext.
        let server_first = prefix(&self.server.first);
        let exchange = plaintext::Exchange {
            port: flow.server.port,
            client_first: prefix(&self.client.first),
            server_first,
            server_spoke_first: self.server_spoke_first,
            server_reply: prefix(&self.server_reply),
            reply_turn: self.reply_turns,
            server_closed_first,
            server_sent_only_first: server_first.is_some_and(|b| {
                b.len() < crate::decode::PAYLOAD_PREFIX && flow.s2c.bytes == b.len() as u64
            }),
        };
        if let Some(r) = plaintext::refusal(&exchange) {
            let packet = if r.in_reply {
                self.server_reply.as_deref().map(|(_, o)| o.number)
            } else {
                self.server.first.as_deref().map(|(_, o)| o.number)
            };
            facts.refusal = Some(RefusalWords::of(&r, packet));
            return r.cause;
        }
        if let Some(waited) = self.hung_wait(flow, ending, ctx) {
            facts.waited_for_answer = Some(waited);
            return Cause::ServerHung;
        }
        if flow.s2c.bytes == 0 && server_closed && (flow.c2s.bytes > 0 || server_closed_first) {
            return match (server_rst.is_some(), flow.c2s.bytes > 0) {
                (true, true) => Cause::ResetAfterRequest,
                (true, false) => Cause::ResetBeforeRequest,
                (false, true) => Cause::ClosedAfterRequest,
                (false, false) => Cause::ClosedBeforeRequest,
            };
        }
        if let Some(cause) = self.path_reset(flow, facts) {
            return cause;
        }
        if self.injected_rst.is_some() {
            return Cause::InjectedReset;
        }
        if self.syns_before_answer > 1 {
            return Cause::SlowAccept;
        }
        if self.syn_ack_after_ack > 0 {
            facts.syn_acks_after_ack = Some(self.syn_ack_after_ack);
            return Cause::SynAckRetransmitted;
        }
        if let Some(o) = self.zero_window {
            facts.zero_window_packet = Some(o.number);
            return Cause::ZeroWindow;
        }
        facts.ended
    }

    /// The cause of an RST after the handshake that did not come from the side it claims
    /// (its hop count unlike every other packet of that side in the conversation), with no
    /// FIN before it: toward the client after its request, toward the client otherwise, or
    /// toward the server.
    fn path_reset(&self, flow: &Flow, facts: &EstablishedFacts) -> Option<Cause> {
        let r = self.rst?;
        if !facts.rst_origin.as_ref().is_some_and(|o| o.origin == RstOrigin::Path) {
            return None;
        }
        if [self.client.fin, self.server.fin].into_iter().flatten().any(|f| f.0 <= r.ts) {
            return None;
        }
        Some(if r.from_client {
            Cause::PathResetTowardServer
        } else if flow.s2c.bytes == 0 && flow.c2s.bytes > 0 {
            Cause::PathResetAfterRequest
        } else {
            Cause::PathResetTowardClient
        })
    }

    /// How long the client waited for an answer to a request the server acknowledged and
    /// never answered, when it waited long enough to say the server hung: until it gave up
    /// (its FIN or RST, at least [`HUNG_AFTER`] after its last request byte), or — nothing
    /// closed — until the idle timeout or the end of the capture, at least `--syn-timeout`
    /// after it. None when the server sent a byte (or the client acknowledged one the capture
    /// missed), closed first, never acknowledged the request, or the port is one of a push
    /// protocol's (the client only sends there).
    fn hung_wait(&self, flow: &Flow, ending: Ending, ctx: &Context<'_>) -> Option<f64> {
        if flow.s2c.bytes > 0 || flow.c2s.bytes == 0 || is_push_port(flow.server.port) {
            return None;
        }
        let (asked, end) = self.client.data_end?;
        // The server's ACK covers the request: it reached the server's stack.
        if self.server.acked.is_none_or(|a| seq_after(end, a)) {
            return None;
        }
        // The client acknowledged bytes of the server's the capture does not hold: it missed
        // the answer, the server did not hang.
        if let (Some(a), Some(next)) = (self.client.acked, self.server.next_seq)
            && seq_after(a, next)
        {
            return None;
        }
        let client_rst = self.rst.filter(|r| r.from_client).map(|r| r.ts);
        let gave_up = [self.client.fin.map(|f| f.0), client_rst].into_iter().flatten().min();
        let server_rst = self.rst.filter(|r| !r.from_client).map(|r| r.ts);
        let server_closed = [self.server.fin.map(|f| f.0), server_rst].into_iter().flatten().min();
        let (until, enough) = match gave_up {
            Some(t) => (t, HUNG_AFTER),
            None if matches!(
                ending,
                Ending::Timeout | Ending::EndOfCapture | Ending::Evicted | Ending::Superseded
            ) =>
            {
                (ctx.now, ctx.config.syn_timeout)
            }
            None => return None,
        };
        if server_closed.is_some_and(|s| s <= until) {
            return None;
        }
        let waited = until.since(asked);
        (waited >= enough).then(|| round_ms(waited.as_secs_f64()))
    }

    pub(super) fn classify(
        &self,
        flow: &Flow,
        ending: Ending,
        ctx: &Context<'_>,
        server: ServerSeen,
    ) -> (Cause, Detail) {
        if let Some(at) = self.established {
            return self.classify_established(flow, ending, at, ctx);
        }
        if flow.midstream && flow.c2s.packets == 0 && self.syn_ack.is_some() {
            // The server's SYN-ACK and nothing of the client: a capture of one side.
            return (Cause::ClientSideNotCaptured, Detail::None);
        }
        if flow.midstream {
            let rst = self.rst.map(|r| MidstreamRst {
                packet: r.origin.number,
                from: if r.from_client { "client" } else { "server" },
            });
            return (Cause::Midstream, Detail::Midstream(rst));
        }
        let rst_facts = |r: &RstSeen, refusal| RstFacts {
            packet: r.origin.number,
            after: secs(r.ts, flow.first_ts),
            refusal,
        };
        let ended = |cause, r: &RstSeen| {
            (cause, Detail::Handshake { rst: Some(rst_facts(r, None)), wait: None })
        };
        if let Some(r) = &self.rst {
            if !r.from_client && r.acknowledges_syn && !self.client.syn_acked {
                let (cause, refusal) =
                    refusal_cause(r, (flow.vlan, flow.tunnel_digest, flow.server.ip), ctx.hosts);
                let rst = Some(rst_facts(r, Some(refusal)));
                return (cause, Detail::Handshake { rst, wait: None });
            }
            if self.client.syn_acked {
                let cause = if r.from_client {
                    Cause::ClientAbortedHandshake
                } else {
                    Cause::ServerResetHandshake
                };
                return ended(cause, r);
            }
            // A SYN-ACK that does not acknowledge the SYN is still an answer: the client's RST
            // answered it (RFC 9293 §3.10.7.3), so the attempt was not unanswered.
            if r.from_client && self.syn_ack.is_some() {
                return ended(Cause::ClientAbortedHandshake, r);
            }
            if r.from_client && !self.server_spoke {
                return ended(Cause::ClientAborted, r);
            }
        }
        let rst = self.rst.as_ref().map(|r| rst_facts(r, None));
        if self.client.syn_acked {
            return (Cause::HandshakeIncomplete, Detail::Handshake { rst, wait: None });
        }
        if self.server_spoke {
            return (Cause::SynAckNotCaptured, Detail::Handshake { rst, wait: None });
        }
        if self.client_went_on {
            // Never "unanswered": the client behaved as if answered.
            return (Cause::ServerSideNotCaptured, Detail::Handshake { rst, wait: None });
        }
        let last = (self.last_syn_ts, self.syn_gap());
        let (cause, wait) = unanswered(ending, ctx, last, AFTER_SYN, server);
        (cause, Detail::Handshake { rst, wait: Some(wait) })
    }
}

/// Host RST or one injected on the path: compare the RST's TTL with the TTL of the host's own
/// non-RST packets seen elsewhere in the capture.
pub(super) fn refusal_cause(
    r: &RstSeen,
    (vlan, tunnel, host): (u32, u32, IpAddr),
    hosts: &HostFacts,
) -> (Cause, RefusalFacts) {
    let host_ttl = hosts.own_ttls(hosts.key(vlan, tunnel, host)).and_then(|own| own.closest(r.ttl));
    let cause = match host_ttl {
        Some(own) if hops(own) == hops(r.ttl) => Cause::HostReset,
        Some(_) => Cause::PathReset,
        None => Cause::Reset,
    };
    let rst_ip_id = host.is_ipv4().then_some(r.ip_id);
    (cause, RefusalFacts { rst_ttl: r.ttl, rst_ip_id, host_ttl })
}

/// How long a client waits, at least, after its request before its close says the server
/// hung: a push protocol's client sends and closes at once (milliseconds), a client giving up
/// waits its timeout (seconds).
pub(super) const HUNG_AFTER: Duration = Duration(1_000_000_000);

/// TCP ports where the client only sends (syslog, Graphite's plaintext protocol, raw
/// printing, Fluentd's forward protocol): a server that never answers there is not hung.
fn is_push_port(port: u16) -> bool {
    matches!(port, 514 | 601 | 6514 | 2003 | 9100 | 24224)
}

/// Ports whose service speaks TLS from the first byte (HTTPS and its alternates, SMTPS,
/// LDAPS, DNS over TLS, FTPS, IMAPS, POP3S).
fn is_tls_port(port: u16) -> bool {
    matches!(port, 443 | 465 | 636 | 853 | 990 | 993 | 995 | 8443)
}

/// Who sent an RST after the handshake, by its hop count against the claimed sender's own
/// packets in this conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RstOrigin {
    /// The hop count of one of the sender's own packets.
    Host,
    /// None of them: forged on the path.
    Path,
    /// No packet of the sender's to compare with.
    Unknown,
}

/// An RST's origin and the facts behind it.
pub(super) struct RstOriginFacts {
    pub(super) origin: RstOrigin,
    pub(super) rst_ttl: u8,
    /// IPv4 only: the RST's IP ID, and how it relates to the two sides' (`zero`,
    /// `copied-from-peer`, `in-sequence` with the sender's, `other`).
    pub(super) ip_id: Option<(u16, &'static str)>,
    /// The TTL of the sender's own packets closest to the RST's.
    pub(super) sender_ttl: Option<u8>,
}

/// Where an RST of `s` came from (see [`RstOrigin`]).
pub(super) fn rst_origin(s: &TcpState, r: &RstSeen, v4: bool) -> RstOriginFacts {
    let (sender, peer) =
        if r.from_client { (&s.client, &s.server) } else { (&s.server, &s.client) };
    let sender_ttl = sender.ttls.closest(r.ttl);
    let origin = match sender_ttl {
        Some(own) if hops(own) == hops(r.ttl) => RstOrigin::Host,
        Some(_) => RstOrigin::Path,
        None => RstOrigin::Unknown,
    };
    let ip_id = v4.then(|| {
        let pattern = if r.ip_id == 0 {
            "zero"
        } else if r.ip_id == peer.ip_id {
            "copied-from-peer"
        } else if sender_ttl.is_some() && (1..=256).contains(&r.ip_id.wrapping_sub(sender.ip_id)) {
            "in-sequence"
        } else {
            "other"
        };
        (r.ip_id, pattern)
    });
    RstOriginFacts { origin, rst_ttl: r.ttl, ip_id, sender_ttl }
}

pub(super) fn icmp_verdict(i: &IcmpSeen) -> Cause {
    if i.about_tunnel.is_some() {
        return match i.kind {
            IcmpErrorKind::TimeExceeded => Cause::TunnelTtlExceeded,
            _ if i.is_mtu() => Cause::TunnelMtu,
            _ if Cause::icmp_prohibited(i.v6, i.code) => Cause::TunnelProhibited,
            _ => Cause::TunnelEndpointUnreachable,
        };
    }
    match i.kind {
        IcmpErrorKind::TimeExceeded => Cause::TtlExceeded,
        _ if i.v6 => Cause::icmp6_unreachable(i.code),
        _ => Cause::icmp4_unreachable(i.code),
    }
}

/// A side's kept payload prefix, if any.
fn prefix(side: &Option<Box<(PayloadPrefix, Origin)>>) -> Option<&[u8]> {
    side.as_deref().map(|(p, _)| p.as_slice())
}

/// A DNS message behind TCP's 2-byte length (RFC 7766), from a side's first payload.
pub(super) fn dns_over_tcp(
    first: &Option<Box<(PayloadPrefix, Origin)>>,
) -> Option<(DnsHeader, &[u8])> {
    let b = first.as_deref()?.0.as_slice().get(2..)?;
    payload::dns_header(b).map(|h| (h, b))
}
