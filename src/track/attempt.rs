//! One conversation and its current attempt: who is client and server, what each side sent,
//! the ICMP errors charged to it, when its timer runs out; the TCP or UDP state of the attempt
//! lives in `tcp` and `udp`, its verdict is decided by `classify`.

use std::net::IpAddr;

use super::linger::{Decided, Lingering};
use super::payload;
use super::ping::PingState;
use super::sctp::{SctpEnd, SctpState};
use super::tcp::{TcpEndpoint, TcpState, is_syn_only};
use super::udp::UdpState;
use super::{Ending, OneWayPorts, TrackerConfig, icmp_is_failure};
use crate::capture::Origin;
use crate::decode::{
    EchoMessage, IcmpError, IcmpErrorKind, Packet, Proto, TcpFlags, Transport, Tunnel, sctp_chunk,
};
use crate::flow::{Endpoint, FlowKey};
use crate::time::{Duration, Timestamp};

/// Per-direction counters.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Side {
    pub(super) packets: u64,
    pub(super) bytes: u64,
    pub(super) ttl: Option<u8>,
}

/// An ICMP error as evidence.
#[derive(Clone, Copy, Debug)]
pub(super) struct IcmpSeen {
    pub(super) ts: Timestamp,
    pub(super) origin: Origin,
    pub(super) reporter: IpAddr,
    pub(super) reporter_ttl: u8,
    pub(super) v6: bool,
    pub(super) kind: IcmpErrorKind,
    pub(super) icmp_type: u8,
    pub(super) code: u8,
    pub(super) mtu: Option<u32>,
    pub(super) quoted_seq: Option<u32>,
    /// A quoted ICMP echo's sequence number.
    pub(super) quoted_echo_seq: Option<u16>,
    /// The error quoted a tunnel's outer packet: the tunnel failed the conversation.
    pub(super) about_tunnel: Option<TunnelFault>,
}

/// An ICMP error about the tunnel a conversation travels in (its quote is the tunnel's outer
/// packet), as evidence.
#[derive(Clone, Copy, Debug)]
pub(super) struct TunnelFault {
    /// The tunnel, outer endpoints as the quoted packet carried them (its sender first).
    pub(super) tunnel: Tunnel,
    /// The quote reached the conversation's own ports (else it named the tunnel only, and the
    /// error was charged to every conversation of that tunnel).
    pub(super) exact: bool,
}

impl IcmpSeen {
    pub(super) fn new(p: &Packet, e: &IcmpError) -> Self {
        IcmpSeen {
            ts: p.ts,
            origin: p.origin,
            reporter: p.src,
            reporter_ttl: p.ttl,
            v6: e.v6,
            kind: e.kind,
            icmp_type: e.icmp_type,
            code: e.code,
            mtu: e.mtu,
            quoted_seq: e.quoted.tcp_seq,
            quoted_echo_seq: e.quoted.echo.map(|(seq, _)| seq),
            about_tunnel: e
                .quoted
                .tunnel
                .is_some()
                .then_some(TunnelFault { tunnel: e.quoted.tunnel, exact: !e.quoted.tunnel_only }),
        }
    }

    /// Whether the error means the attempt failed. Path-MTU news (fragmentation needed,
    /// packet too big) does too when it is about a tunnel's outer packet: the inner packet
    /// was dropped, and its sender is not the one told (the tunnel endpoint is).
    pub(super) fn is_failure(&self) -> bool {
        icmp_is_failure(self.kind, self.v6, self.code)
            || (self.about_tunnel.is_some() && self.is_mtu())
    }

    /// Fragmentation needed (ICMPv4 type 3 code 4) or packet too big (ICMPv6 type 2).
    pub(super) fn is_mtu(&self) -> bool {
        match self.kind {
            IcmpErrorKind::PacketTooBig => true,
            IcmpErrorKind::DestinationUnreachable => !self.v6 && self.code == 4,
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum State {
    Tcp(Box<TcpState>),
    Udp(UdpState),
    /// A ping: echo requests of one identifier and their replies.
    Ping(Box<PingState>),
    /// An SCTP association's handshake and end.
    Sctp(Box<SctpState>),
    /// The verdict is out: only what absorbing late packets needs is kept (the attempt's
    /// state is freed, so the many conversations a flood leaves lingering stay small).
    Decided(Lingering),
}

/// A verdict that later packets of the same attempt may still contradict, during the
/// look-ahead (see `LOOK_AHEAD`): the attempt keeps its state meanwhile.
pub(super) struct Held {
    /// The verdict, until it is written (offline); `None` once written (live).
    pub(super) verdict: Option<crate::verdict::Verdict>,
    /// The cause of the verdict already written (live), for its correction to name.
    pub(super) written: Option<crate::verdict::Cause>,
    /// An RST refused the attempt (the server's real SYN-ACK would show it forged); else its
    /// wait ran out (a retransmitted SYN or a SYN-ACK would show it still going).
    pub(super) refused: bool,
    /// Until when the decided conversation would have lingered.
    pub(super) linger_until: Timestamp,
    /// Packets absorbed meanwhile: late packets, if the verdict stands.
    pub(super) late: u64,
}

/// One conversation and its current attempt.
pub(super) struct Flow {
    pub(super) id: u64,
    /// The tracker's packet count when the attempt's first packet came: its place in the
    /// capture, the same with any number of tracker shards (see `Tracker::packet`).
    pub(super) first_seen: u64,
    pub(super) key: FlowKey,
    pub(super) client: Endpoint,
    pub(super) server: Endpoint,
    pub(super) first_ts: Timestamp,
    pub(super) last_ts: Timestamp,
    pub(super) first_packet: Origin,
    /// VLAN tags of the first packet.
    pub(super) vlan: u32,
    /// The tunnel of the first packet, outer endpoints oriented client side first (boxed:
    /// most conversations are not tunnelled, and the table holds many).
    pub(super) tunnel: Option<Box<Tunnel>>,
    /// Its identity digest (0 when not tunnelled), which host facts are keyed by.
    pub(super) tunnel_digest: u32,
    /// When the flow's timer should run out.
    pub(super) deadline: Timestamp,
    /// The deadline of the flow's live timer in the table's heap.
    pub(super) timer_at: Timestamp,
    /// How long a decided conversation lingers after its last packet.
    pub(super) linger_span: Duration,
    /// The capture began after the attempt started (no SYN / no request seen).
    pub(super) midstream: bool,
    /// The attempt is known only from an ICMP error quoting it.
    pub(super) from_icmp_only: bool,
    /// That error quoted the server's packet (a reply), not the client's.
    pub(super) icmp_quotes_reply: bool,
    pub(super) c2s: Side,
    pub(super) s2c: Side,
    pub(super) icmp: Option<Box<IcmpSeen>>,
    /// ICMP errors that did not decide the attempt (informational, or about the replies).
    pub(super) icmp_other: u32,
    pub(super) icmp_other_first: Option<Box<IcmpSeen>>,
    pub(super) decided: Option<Ending>,
    pub(super) state: State,
    /// A verdict waiting for the look-ahead to end.
    pub(super) held: Option<Box<Held>>,
    /// Live: an earlier line of this attempt, with this cause, was contradicted; its verdict
    /// corrects it.
    pub(super) revises: Option<crate::verdict::Cause>,
}

/// How much later than the client's next expected retry an attempt still waits.
pub(super) const RETRY_MARGIN: Duration = Duration(1_000_000_000);
/// The longest wait for the next retry the deadline allows: TCP's largest retransmission
/// timeout (Linux's `TCP_RTO_MAX`, 120 s; RFC 6298 asks for at least 60 s).
pub(super) const RETRY_GAP_CAP: Duration = Duration(120_000_000_000);

/// How long an attempt waits after its last SYN (or request) for an answer, given the gap
/// between its last two: at least `--syn-timeout`, and at least until the client's next
/// retransmission would come — exponential back-off doubles the gap — plus
/// [`RETRY_MARGIN`], the doubled gap capped at [`RETRY_GAP_CAP`]. So the classic 1, 2, 4, 8 s SYN
/// back-off waits 17 s after the SYN sent 8 s after the one before. Also whether the
/// schedule, not the floor, set it.
pub(super) fn retry_wait(gap: Duration, config: &TrackerConfig) -> (Duration, bool) {
    if gap.0 <= 0 {
        return (config.syn_timeout, false);
    }
    let next = Duration(gap.0.saturating_mul(2).min(RETRY_GAP_CAP.0));
    let wait = Duration(next.0.saturating_add(RETRY_MARGIN.0));
    if wait > config.syn_timeout { (wait, true) } else { (config.syn_timeout, false) }
}

/// UDP ports of request/response services whose replies can be recognised on their own.
pub(super) fn is_udp_service_port(port: u16) -> bool {
    matches!(
        port,
        53 | 67
            | 69
            | 88
            | 123
            | 161
            | 389
            | 443
            | 500
            | 514
            | 1812
            | 1813
            | 3478
            | 3544
            | 4500
            | 5353
    )
}

/// A DNS conversation's last query ID (kept as a decided UDP conversation's `client_isn`: a
/// query with another ID on the same ports is a new lookup, as a SYN with another ISN is a new
/// TCP attempt).
fn last_dns_id(u: &UdpState) -> Option<u32> {
    u.dns.as_deref()?.queries.last().map(|q| u32::from(q.id))
}

/// Whether a datagram between these ports, the first seen of its conversation, is a reply
/// whose request was not captured: from a well-known service port to an ephemeral one. (Not
/// "any port below 1024": NFS and other RPC clients send from reserved ports.)
pub(super) fn is_udp_reply(src_port: u16, dst_port: u16) -> bool {
    is_udp_service_port(src_port) && !is_udp_service_port(dst_port) && dst_port >= 1024
}

impl Flow {
    /// A new conversation from its first packet; `one_way` names the UDP ports of protocols
    /// that never answer on the same 5-tuple.
    pub(super) fn open(id: u64, key: FlowKey, p: &Packet, one_way: &OneWayPorts) -> Self {
        let (src, dst, state, sender_is_client) = match &p.transport {
            Transport::Tcp(t) => {
                let src = Endpoint::new(p.src, t.src_port);
                let dst = Endpoint::new(p.dst, t.dst_port);
                let sender_is_client = if is_syn_only(t) {
                    true
                } else if t.flags.has(TcpFlags::SYN | TcpFlags::ACK) {
                    false
                } else {
                    // Mid-stream: the side with the lower port is most likely the service.
                    t.src_port >= t.dst_port
                };
                (src, dst, State::Tcp(Box::default()), sender_is_client)
            }
            Transport::Udp(u) => {
                let src = Endpoint::new(p.src, u.src_port);
                let dst = Endpoint::new(p.dst, u.dst_port);
                // A one-way protocol's datagram is never a reply: the destination's port
                // names the protocol, else the source's (an SSDP answer to a multicast search
                // comes from 1900 to the searcher's port).
                let one_way = [u.dst_port, u.src_port].into_iter().find(|&p| one_way.contains(p));
                // A datagram from a well-known service port to an ephemeral one is a reply
                // whose request was not captured (`is_udp_reply`). So is a DNS-format message
                // marked as a response (a NetBIOS name answer from 137 to 137, whose query was
                // broadcast).
                let reply = one_way.is_none()
                    && (is_udp_reply(u.src_port, u.dst_port)
                        || (matches!(u.src_port, 53 | 137 | 5353 | 5355)
                            && payload::is_dns_format_response(u.payload.as_slice())));
                (src, dst, State::Udp(UdpState { one_way, ..UdpState::default() }), !reply)
            }
            Transport::Echo(e) => {
                // The ports are the request's and the reply's ICMP types, as in Zeek's
                // conn.log (the identifier is in the key and the evidence).
                let (req, rep) = (EchoMessage::request_type(e.v6), EchoMessage::reply_type(e.v6));
                let (src, dst) = if e.request {
                    (Endpoint::new(p.src, req), Endpoint::new(p.dst, rep))
                } else {
                    (Endpoint::new(p.src, rep), Endpoint::new(p.dst, req))
                };
                (src, dst, State::Ping(Box::new(PingState::new(e))), e.request)
            }
            Transport::Sctp(c) => {
                let src = Endpoint::new(p.src, c.src_port);
                let dst = Endpoint::new(p.dst, c.dst_port);
                let sender_is_client = if c.has(sctp_chunk::INIT) {
                    true
                } else if c.has(sctp_chunk::INIT_ACK) {
                    false
                } else {
                    // Mid-association: the side with the lower port is most likely the service.
                    c.src_port >= c.dst_port
                };
                (src, dst, State::Sctp(Box::default()), sender_is_client)
            }
            Transport::IcmpError(_) | Transport::Neighbor(_) => {
                unreachable!("conversations open on TCP/UDP/SCTP/echo packets")
            }
        };
        let (client, server) = if sender_is_client { (src, dst) } else { (dst, src) };
        let midstream = match &p.transport {
            Transport::Tcp(t) => !is_syn_only(t),
            Transport::Sctp(c) => !c.has(sctp_chunk::INIT),
            _ => !sender_is_client,
        };
        let mut flow = Flow::new(id, key, (client, server), p, state);
        if !sender_is_client {
            flow.reverse_tunnel();
        }
        flow.midstream = midstream;
        flow.apply(p);
        flow
    }

    /// A conversation between `ends` (client, server) first seen in `p`, nothing applied yet.
    pub(super) fn new(
        id: u64,
        key: FlowKey,
        ends: (Endpoint, Endpoint),
        p: &Packet,
        state: State,
    ) -> Self {
        Flow {
            id,
            first_seen: 0,
            key,
            client: ends.0,
            server: ends.1,
            first_ts: p.ts,
            last_ts: p.ts,
            first_packet: p.origin,
            vlan: p.vlan,
            tunnel: p.tunnel.is_some().then(|| Box::new(p.tunnel)),
            tunnel_digest: p.tunnel.digest(),
            deadline: p.ts,
            timer_at: Timestamp(i64::MAX),
            linger_span: Duration(0),
            midstream: false,
            from_icmp_only: false,
            icmp_quotes_reply: false,
            c2s: Side::default(),
            s2c: Side::default(),
            icmp: None,
            icmp_other: 0,
            icmp_other_first: None,
            decided: None,
            state,
            held: None,
            revises: None,
        }
    }

    /// Orients the tunnel's outer endpoints the other way (the digest is the same either way).
    fn reverse_tunnel(&mut self) {
        if let Some(t) = self.tunnel.as_deref_mut() {
            *t = t.reversed();
        }
    }

    /// An attempt known only from an ICMP error that quotes it.
    pub(super) fn from_icmp(
        id: u64,
        key: FlowKey,
        p: &Packet,
        e: &IcmpError,
        seen: IcmpSeen,
    ) -> Self {
        let q = &e.quoted;
        // Who sent the quoted packet is decided as for any first packet (`Flow::open`): a
        // SYN-ACK, another TCP segment from the lower port, or a datagram from a service port
        // to an ephemeral one came from the server, and the attempt's client is its receiver.
        // (A quote too short to show TCP flags is taken for the client's: errors about
        // connection attempts are about SYNs.)
        let from_server = match (q.proto, q.tcp_flags) {
            (Proto::Tcp, Some(f)) if f.has(TcpFlags::SYN | TcpFlags::ACK) => true,
            (Proto::Tcp, Some(f)) if !f.has(TcpFlags::SYN) => q.src_port < q.dst_port,
            (Proto::Tcp, _) => false,
            (Proto::Udp, _) => is_udp_reply(q.src_port, q.dst_port),
            // An echo reply quoted back: the ping's server sent it.
            (Proto::Icmp, _) => q.echo.is_some_and(|(_, reply)| reply),
            // An INIT (tag 0) is the client's; else the lower port is the service's.
            (Proto::Sctp, _) => q.sctp_vtag.is_some_and(|t| t != 0) && q.src_port < q.dst_port,
        };
        let state = match q.proto {
            Proto::Tcp if from_server => State::Tcp(Box::new(TcpState {
                server: TcpEndpoint { isn: q.tcp_seq, ..Default::default() },
                ..Default::default()
            })),
            Proto::Tcp => State::Tcp(Box::new(TcpState {
                client: TcpEndpoint { isn: q.tcp_seq, ..Default::default() },
                ..Default::default()
            })),
            Proto::Udp => State::Udp(UdpState::default()),
            Proto::Icmp => {
                let echo = EchoMessage {
                    v6: e.v6,
                    request: !from_server,
                    id: q.src_port,
                    seq: q.echo.map_or(0, |(s, _)| s),
                    payload_len: 0,
                };
                State::Ping(Box::new(PingState::new(&echo)))
            }
            Proto::Sctp => State::Sctp(Box::default()),
        };
        let (sport, dport) = match q.proto {
            // The quoted request's and reply's types stand for the ports (see `open`).
            Proto::Icmp if from_server => {
                (EchoMessage::reply_type(e.v6), EchoMessage::request_type(e.v6))
            }
            Proto::Icmp => (EchoMessage::request_type(e.v6), EchoMessage::reply_type(e.v6)),
            _ => (q.src_port, q.dst_port),
        };
        let (sender, receiver) = (Endpoint::new(q.src, sport), Endpoint::new(q.dst, dport));
        let ends = if from_server { (receiver, sender) } else { (sender, receiver) };
        let mut flow = Flow::new(id, key, ends, p, state);
        if q.tunnel.is_some() {
            // An error about the tunnel: the conversation is in the quoted tunnel (whose
            // outer endpoints the quoted packet carried, its sender's first).
            flow.tunnel = Some(Box::new(q.tunnel));
            flow.tunnel_digest = q.tunnel.digest();
            if from_server {
                flow.reverse_tunnel();
            }
        } else if !from_server {
            // The error goes to the quoted packet's sender: outer endpoints server side first
            // when that is the client.
            flow.reverse_tunnel();
        }
        flow.from_icmp_only = true;
        flow.icmp_quotes_reply = from_server;
        flow.icmp = Some(Box::new(seen));
        flow
    }

    /// Whether `p` opens a new attempt on this 5-tuple (a SYN with another initial sequence
    /// number, or any fresh SYN once the old attempt has its verdict).
    pub(super) fn starts_new_attempt(&self, p: &Packet) -> bool {
        if let (Transport::Sctp(c), State::Sctp(s)) = (&p.transport, &self.state) {
            // An INIT with another initiate tag: a new association (a retransmitted INIT
            // keeps its tag); from the other side, once this one had an answer.
            return c.has(sctp_chunk::INIT)
                && if self.is_from_client(p) {
                    s.client_tag.is_some_and(|t| t != c.initiate_tag)
                } else {
                    s.init_ack.is_some() || s.init_count > 0
                };
        }
        let Transport::Tcp(t) = &p.transport else { return false };
        let s = match &self.state {
            State::Tcp(s) => s,
            // (Once decided, the table holds a `Decided` record instead, which answers this.)
            State::Udp(_) | State::Ping(_) | State::Sctp(_) | State::Decided(_) => return false,
        };
        if !is_syn_only(t) {
            return false;
        }
        if self.midstream {
            // A SYN-ACK captured just before its SYN: the SYN joins the conversation.
            let from_client = p.src == self.client.ip && t.src_port == self.client.port;
            if from_client
                && s.syn_ack_ack == Some(t.seq.wrapping_add(1).wrapping_add(t.payload_len))
            {
                return false;
            }
            // Otherwise the mid-stream guess of who is the client may be wrong; a SYN
            // settles it.
            return true;
        }
        let from_client = p.src == self.client.ip && t.src_port == self.client.port;
        if from_client {
            match s.client.isn {
                Some(isn) => t.seq != isn,
                None => true,
            }
        } else {
            // A SYN from the other side: simultaneous open while the attempt is young, a new
            // attempt in the other direction once it has an answer (once it is over, the
            // `Decided` record answers).
            s.server.isn.is_some_and(|isn| isn != t.seq) || s.syn_ack.is_some()
        }
    }

    /// Takes the ending a packet just decided, if any.
    pub(super) fn decided(&mut self) -> Option<Ending> {
        self.decided.take()
    }

    /// Applies a packet of this conversation.
    pub(super) fn update(&mut self, p: &Packet, config: &TrackerConfig) {
        self.apply(p);
        self.schedule(config);
    }

    /// Sets the deadline for the current state.
    pub(super) fn schedule(&mut self, config: &TrackerConfig) {
        self.deadline = match &self.state {
            State::Tcp(s) => {
                if self.midstream || s.established.is_some() || s.client_went_on {
                    self.last_ts.add(config.idle_timeout)
                } else if s.client.syn_acked || s.server_spoke {
                    self.last_ts.add(config.syn_timeout)
                } else {
                    s.last_syn_ts.add(retry_wait(s.syn_gap(), config).0)
                }
            }
            State::Udp(u) => {
                // A one-way stream waits like an established conversation: its verdict counts
                // all of it, and an ICMP error about any of its datagrams still decides it.
                if self.midstream || (u.one_way.is_some() && u.first_reply.is_none()) {
                    self.last_ts.add(config.idle_timeout)
                } else {
                    u.last_request_ts.add(retry_wait(u.request_gap, config).0)
                }
            }
            State::Ping(g) => match g.last_request {
                Some((last, _)) => last.add(retry_wait(g.request_gap, config).0),
                // Replies only: the capture missed the requests.
                None => self.last_ts.add(config.syn_timeout),
            },
            State::Sctp(s) => {
                if self.midstream || s.is_established() {
                    self.last_ts.add(config.idle_timeout)
                } else if s.init_ack.is_some() {
                    self.last_ts.add(config.syn_timeout)
                } else {
                    s.last_init_ts.add(retry_wait(s.init_gap, config).0)
                }
            }
            // Decided: the linger deadline stands.
            State::Decided(_) => self.deadline,
        };
    }

    /// Whether `p` contradicts the verdict held for this attempt: after a refusing RST, the
    /// server's SYN-ACK acknowledging the client's SYN; after a SYN timeout, the client's SYN
    /// again (same ISN, not a copy) or any answer of the server.
    pub(super) fn contradicts_held(&self, p: &Packet) -> bool {
        // A ping or an SCTP INIT whose wait ran out: any answer, or the client trying again
        // (not a copy of its last try).
        match (&self.held, &self.state, &p.transport) {
            (Some(_), State::Ping(g), Transport::Echo(e)) => {
                return !e.request
                    || g.last_request.is_none_or(|(t, _)| !super::tcp::is_duplicate(p.ts, t));
            }
            (Some(_), State::Sctp(s), Transport::Sctp(_)) => {
                return !self.is_from_client(p) || !super::tcp::is_duplicate(p.ts, s.last_init_ts);
            }
            _ => {}
        }
        if let (Some(_), State::Udp(u), Transport::Udp(d)) = (&self.held, &self.state, &p.transport)
        {
            // UDP: any answer, or the client asking again (not a copy of its last request).
            let from_client = p.src == self.client.ip && d.src_port == self.client.port;
            return !from_client || !super::tcp::is_duplicate(p.ts, u.last_request_ts);
        }
        let (Some(held), State::Tcp(s), Transport::Tcp(t)) =
            (&self.held, &self.state, &p.transport)
        else {
            return false;
        };
        let from_client = p.src == self.client.ip && t.src_port == self.client.port;
        let syn_ack = t.flags.has(TcpFlags::SYN | TcpFlags::ACK) && !t.flags.has(TcpFlags::RST);
        if !from_client && syn_ack && s.acks_syn(t.ack) {
            return true;
        }
        !held.refused
            && ((from_client
                && is_syn_only(t)
                && s.client.isn == Some(t.seq)
                && !super::tcp::is_duplicate(p.ts, s.last_syn_ts))
                || (!from_client && !t.flags.has(TcpFlags::RST)))
    }

    /// Whether the attempt waits for an answer (its deadline is the wait after the last SYN or
    /// request, or for the handshake to complete), not only to be idle.
    pub(super) fn awaits_answer(&self) -> bool {
        match &self.state {
            State::Tcp(s) => !(self.midstream || s.established.is_some() || s.client_went_on),
            State::Udp(_) | State::Ping(_) => !self.midstream,
            State::Sctp(s) => !(self.midstream || s.is_established()),
            State::Decided(_) => false,
        }
    }

    /// Whether `p` (of this conversation) came from the client. A ping's requests are the
    /// client's and its replies the server's (a host pinging itself is both ends).
    pub(super) fn is_from_client(&self, p: &Packet) -> bool {
        match &p.transport {
            Transport::Tcp(t) => p.src == self.client.ip && t.src_port == self.client.port,
            Transport::Udp(u) => p.src == self.client.ip && u.src_port == self.client.port,
            Transport::Sctp(c) => p.src == self.client.ip && c.src_port == self.client.port,
            Transport::Echo(e) => e.request && p.src == self.client.ip,
            Transport::IcmpError(_) | Transport::Neighbor(_) => false,
        }
    }

    /// After the verdict: keep the conversation until `until` to absorb late packets.
    pub(super) fn linger_until(&mut self, until: Timestamp) {
        // (Also after a close, whose idle deadline was later: late ACKs must extend it.)
        self.linger_span = until.since(self.last_ts).max(Duration(0));
        self.deadline = until;
    }

    /// What lingers of the conversation once its verdict is out (after
    /// [`linger_until`](Self::linger_until)).
    pub(super) fn decided_record(&self) -> Decided {
        let (tcp, client_isn) = match &self.state {
            State::Tcp(s) => (true, s.client.isn),
            State::Udp(u) => (false, last_dns_id(u)),
            State::Ping(g) => (false, g.last_seq()),
            State::Sctp(s) => (false, s.client_tag),
            State::Decided(l) => (l.tcp, l.client_isn),
        };
        Decided {
            key: self.key,
            client: self.client,
            deadline: self.deadline,
            timer_at: Timestamp(i64::MAX),
            linger_span: self.linger_span,
            client_isn,
            tcp,
        }
    }

    pub(super) fn apply(&mut self, p: &Packet) {
        if p.ts > self.last_ts {
            self.last_ts = p.ts;
        }
        let payload_len = match &p.transport {
            Transport::Tcp(t) => t.payload_len,
            Transport::Udp(u) => u.payload_len,
            Transport::Echo(e) => e.payload_len,
            Transport::Sctp(c) => c.data_len,
            Transport::IcmpError(_) | Transport::Neighbor(_) => return,
        };
        let from_client = self.is_from_client(p);
        if let Transport::Echo(e) = &p.transport
            && !from_client
            && (e.request || p.src != self.server.ip)
        {
            // The server pinging the client with the same identifier, or a reply from a
            // third host: not this ping's.
            return;
        }
        let side = if from_client { &mut self.c2s } else { &mut self.s2c };
        let first_from_side = side.packets == 0;
        side.packets += 1;
        side.bytes += payload_len as u64;
        if first_from_side {
            side.ttl = Some(p.ttl);
        }
        match (&mut self.state, &p.transport) {
            (State::Tcp(s), Transport::Tcp(t)) => {
                if self.midstream && from_client && is_syn_only(t) {
                    // The SYN of a conversation whose SYN-ACK was captured first.
                    self.midstream = false;
                }
                self.decided = s.apply(p, t, from_client);
            }
            (State::Udp(u), Transport::Udp(d)) => {
                if from_client {
                    if u.requests > 0 && p.ts > u.last_request_ts {
                        u.request_gap = p.ts.since(u.last_request_ts);
                    }
                    u.requests = u.requests.saturating_add(1);
                    u.last_request_ts = u.last_request_ts.max(p.ts);
                    if let Some(h) = payload::dns_header(d.payload.as_slice())
                        .filter(|_| payload::is_dns_query(d.payload.as_slice()))
                    {
                        u.dns.get_or_insert_with(Box::default).ask(h.id, d.payload, p.origin);
                    }
                } else {
                    if u.first_reply.is_none() {
                        u.first_reply = Some((p.ts, p.origin));
                    }
                    match (&mut u.dns, payload::dns_header(d.payload.as_slice())) {
                        // DNS: decided once every query asked has its answer (or by timeout).
                        (Some(q), Some(h)) if h.response => {
                            if q.answer(h, p.origin) && q.all_answered() && !self.midstream {
                                self.decided = Some(Ending::Answered);
                            }
                        }
                        (Some(_), _) => {}
                        (None, _) if !self.midstream => self.decided = Some(Ending::Answered),
                        (None, _) => {}
                    }
                }
            }
            (State::Ping(g), Transport::Echo(e)) => {
                if from_client {
                    g.request(p.ts, p.origin, e);
                } else {
                    g.reply(p.ts, p.origin, e);
                }
            }
            (State::Sctp(s), Transport::Sctp(c)) => {
                if self.midstream && from_client && c.has(sctp_chunk::INIT) {
                    self.midstream = false;
                }
                self.decided = match s.apply((p.ts, p.origin, p.ttl), c, from_client) {
                    Some(SctpEnd::Abort) => Some(Ending::Rst),
                    Some(SctpEnd::Shutdown) => Some(Ending::Fin),
                    None => None,
                };
            }
            _ => {}
        }
    }

    /// Charges an ICMP error to this attempt. Returns true when it decides the verdict: a
    /// failure-kind error about the client's packets while nothing has come back yet.
    pub(super) fn charge_icmp(&mut self, seen: IcmpSeen, about_client_packets: bool) -> bool {
        let answered = match &self.state {
            State::Tcp(s) => {
                s.client.syn_acked
                    || s.server_spoke
                    || s.established.is_some()
                    || self.midstream
                    // The quote names another attempt (RFC 5927: check the quoted sequence).
                    || matches!((s.client.isn, seen.quoted_seq), (Some(isn), Some(q)) if isn != q)
            }
            State::Udp(u) => u.first_reply.is_some() || self.midstream,
            // A ping answered before stays answered: the error is about one of its requests
            // (counted as lost), unless nothing came back yet.
            State::Ping(g) => g.replies > 0 || self.midstream,
            State::Sctp(s) => s.init_ack.is_some() || s.is_established() || self.midstream,
            State::Decided(_) => true,
        };
        if !about_client_packets || !seen.is_failure() || answered {
            self.icmp_other += 1;
            if self.icmp_other_first.is_none() {
                self.icmp_other_first = Some(Box::new(seen));
            }
            return false;
        }
        if seen.ts > self.last_ts {
            self.last_ts = seen.ts;
        }
        self.icmp = Some(Box::new(seen));
        true
    }

    /// Frees what only the verdict needed, keeping what absorbs late packets.
    pub(super) fn release(&mut self) {
        let lingering = match &self.state {
            State::Tcp(s) => Lingering { tcp: true, client_isn: s.client.isn },
            State::Udp(u) => Lingering { tcp: false, client_isn: last_dns_id(u) },
            State::Ping(g) => Lingering { tcp: false, client_isn: g.last_seq() },
            State::Sctp(s) => Lingering { tcp: false, client_isn: s.client_tag },
            State::Decided(l) => *l,
        };
        self.state = State::Decided(lingering);
        self.icmp = None;
        self.icmp_other_first = None;
    }

    /// The state Zeek's conn.log would give this conversation.
    pub(super) fn conn_state(&self) -> &'static str {
        match &self.state {
            State::Tcp(s) => s.conn_state(self.from_icmp_only),
            State::Udp(_) if self.midstream => "SHR",
            State::Udp(u) if u.first_reply.is_some() => "SF",
            State::Udp(_) if self.from_icmp_only => "OTH",
            State::Udp(_) => "S0",
            // Zeek gives ICMP conversations no state of their own.
            State::Ping(_) => "OTH",
            State::Sctp(s) => {
                if self.from_icmp_only {
                    "OTH"
                } else {
                    s.conn_state(self.midstream)
                }
            }
            State::Decided(_) => "OTH",
        }
    }
}
