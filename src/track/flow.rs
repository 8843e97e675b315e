//! One conversation's attempt: the TCP/UDP state machine, ICMP charging, and the classifier
//! that turns the state into a verdict with its evidence.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::payload::{self, DnsHeader, FirstBytes};
use super::table::Tracked;
use super::{Context, TrackerConfig, icmp_is_failure};
use crate::capture::Origin;
use crate::decode::{
    IcmpError, IcmpErrorKind, Packet, PayloadPrefix, Proto, TcpFlags, TcpSegment, Transport,
};
use crate::flow::{Endpoint, FlowKey};
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Evidence, Fact, Hint, Verdict};

/// How many SYN times and packet numbers an attempt keeps for its evidence.
const SYN_KEPT: usize = 8;

/// Why a verdict is being given now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// An RST ended the attempt (refusal, or a reset of an established connection).
    Rst,
    /// Both sides sent FIN.
    Fin,
    /// UDP: the server answered.
    Answered,
    /// An ICMP error quoting the attempt.
    Icmp,
    /// The attempt's timer ran out.
    Timeout,
    /// The input ended.
    EndOfCapture,
    /// The table was full and this conversation was pushed out.
    Evicted,
    /// A new attempt (new SYN) took over the same 5-tuple.
    Superseded,
}

/// Per-direction counters.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Side {
    packets: u64,
    bytes: u64,
    ttl: Option<u8>,
}

/// An ICMP error as evidence.
#[derive(Clone, Copy, Debug)]
pub(super) struct IcmpSeen {
    ts: Timestamp,
    origin: Origin,
    reporter: IpAddr,
    reporter_ttl: u8,
    v6: bool,
    kind: IcmpErrorKind,
    icmp_type: u8,
    code: u8,
    mtu: Option<u32>,
    quoted_seq: Option<u32>,
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
        }
    }

    pub(super) fn is_failure(&self) -> bool {
        icmp_is_failure(self.kind, self.v6, self.code)
    }
}

#[derive(Clone, Copy, Debug)]
struct RstSeen {
    from_client: bool,
    ts: Timestamp,
    origin: Origin,
    ttl: u8,
    ip_id: u16,
    /// In SYN-SENT: the RST carries ACK = ISN + 1 (RFC 9293 §3.10.7.3), so the client's stack
    /// accepts it as a refusal.
    acknowledges_syn: bool,
}

#[derive(Clone, Debug, Default)]
struct TcpState {
    client_isn: Option<u32>,
    syn_count: u32,
    syn_times: [Timestamp; SYN_KEPT],
    syn_numbers: [u64; SYN_KEPT],
    last_syn_ts: Timestamp,
    server_isn: Option<u32>,
    syn_ack: Option<(Timestamp, Origin)>,
    syn_ack_count: u32,
    /// The server acknowledged the client's SYN (SYN-ACK with ack = ISN + 1, or later ACKs).
    client_syn_acked: bool,
    /// The client acknowledged the server's SYN.
    server_syn_acked: bool,
    established: Option<(Timestamp, Origin)>,
    fin_client: Option<(Timestamp, Origin)>,
    fin_server: Option<(Timestamp, Origin)>,
    rst: Option<RstSeen>,
    /// RSTs from the server side that did not acknowledge the SYN (the client ignores them).
    ignored_rsts: u32,
    /// The server sent something other than an RST.
    server_spoke: bool,
    /// The client sent an ACK or data after its SYN: it saw an answer, even if the capture
    /// did not (one-sided capture, asymmetric routing).
    client_went_on: bool,
    /// Each side's first payload (bounded prefix) and where it is.
    /// (Boxed: most attempts in a flood carry no payload, and the table holds many.)
    client_first: Option<Box<(PayloadPrefix, Origin)>>,
    server_first: Option<Box<(PayloadPrefix, Origin)>>,
    /// SYNs the client had sent when the first SYN-ACK came (more than one: slow accept).
    syns_before_answer: u32,
    /// SYN-ACKs the server resent after the client had acknowledged one (accept queue full).
    syn_ack_after_ack: u32,
    /// The server's first zero-window advertisement after the handshake.
    zero_window: Option<Origin>,
    /// Payload carried by the client's SYN (TCP Fast Open): an answer acknowledges it too.
    syn_payload: u32,
    /// The acknowledgment number of the first SYN-ACK (to join a SYN captured after it).
    syn_ack_ack: Option<u32>,
    /// Copies of packets seen within a moment of the original (span ports, two interfaces).
    duplicates: u32,
    /// Where each side's byte stream has got to (sequence number after its last segment).
    next_seq_client: Option<u32>,
    next_seq_server: Option<u32>,
}

/// How far from a side's stream an RST's sequence number may be and still be that side's:
/// 8 MiB, beyond the windows of all but the longest fat pipes.
const RST_WINDOW: u32 = 8 << 20;

/// Two copies of a SYN or SYN-ACK closer than this are one packet captured twice (a real
/// retransmission waits at least the minimum RTO, 200 ms on Linux, 1 s initially).
const DUPLICATE_WITHIN: i64 = 100_000_000;

/// Whether `later` is within [`DUPLICATE_WITHIN`] of `earlier` (either way round).
fn is_duplicate(later: Timestamp, earlier: Timestamp) -> bool {
    later.since(earlier).0.unsigned_abs() < DUPLICATE_WITHIN.unsigned_abs()
}

#[derive(Clone, Debug, Default)]
struct UdpState {
    last_request_ts: Timestamp,
    first_reply: Option<(Timestamp, Origin)>,
    /// The conversation carries DNS: the first query and the transaction IDs asked.
    dns: Option<Box<DnsQueries>>,
}

/// DNS queries on one conversation (a resolver often asks A and AAAA on one socket), each
/// matched to its response by transaction ID.
#[derive(Clone, Debug, Default)]
struct DnsQueries {
    queries: Vec<DnsQuery>,
}

/// Most queries followed per conversation (more are counted in `extra`, not followed).
const DNS_QUERIES_KEPT: usize = 8;

#[derive(Clone, Copy, Debug)]
struct DnsQuery {
    id: u16,
    question: PayloadPrefix,
    packet: Origin,
    reply: Option<(DnsHeader, Origin)>,
}

impl DnsQueries {
    fn ask(&mut self, id: u16, question: PayloadPrefix, packet: Origin) {
        if self.queries.len() < DNS_QUERIES_KEPT && !self.queries.iter().any(|q| q.id == id) {
            self.queries.push(DnsQuery { id, question, packet, reply: None });
        }
    }

    /// Records a response; true when it answered a query still open.
    fn answer(&mut self, h: DnsHeader, packet: Origin) -> bool {
        match self.queries.iter_mut().find(|q| q.id == h.id && q.reply.is_none()) {
            Some(q) => {
                q.reply = Some((h, packet));
                true
            }
            None => false,
        }
    }

    fn all_answered(&self) -> bool {
        self.queries.iter().all(|q| q.reply.is_some())
    }
}

#[derive(Clone, Debug)]
enum State {
    Tcp(Box<TcpState>),
    Udp(UdpState),
    /// The verdict is out: only what absorbing late packets needs is kept (the attempt's
    /// state is freed, so the many conversations a flood leaves lingering stay small).
    Decided(Lingering),
}

/// What a decided conversation still reads: whether it is TCP, and the client's initial
/// sequence number (a SYN with another one is a new attempt).
#[derive(Clone, Copy, Debug)]
struct Lingering {
    tcp: bool,
    client_isn: Option<u32>,
}

/// A conversation whose verdict is out, kept for a while to absorb late packets (the last
/// ACK, a retransmitted SYN crossing the RST): only what that needs, about a third of an open
/// attempt's size, so that the many a flood leaves behind stay small.
pub(super) struct Decided {
    key: FlowKey,
    client: Endpoint,
    deadline: Timestamp,
    timer_at: Timestamp,
    /// How long it lingers after its last packet.
    linger_span: Duration,
    /// TCP: the client's initial sequence number (a SYN with another one is a new attempt).
    client_isn: Option<u32>,
    tcp: bool,
}

impl Decided {
    /// Whether `p` opens a new attempt on this 5-tuple: a SYN from the client with another
    /// initial sequence number, or any SYN from the other side.
    pub(super) fn starts_new_attempt(&self, p: &Packet) -> bool {
        let Transport::Tcp(t) = &p.transport else { return false };
        if !self.tcp || !is_syn_only(t) {
            return false;
        }
        let from_client = p.src == self.client.ip && t.src_port == self.client.port;
        !from_client || self.client_isn.is_none_or(|isn| t.seq != isn)
    }

    /// A late packet: absorbed, and the conversation kept as long again as its verdict asked
    /// for.
    pub(super) fn late_packet(&mut self, p: &Packet) {
        self.deadline = self.deadline.max(p.ts.add(self.linger_span));
    }
}

impl Tracked for Decided {
    fn key(&self) -> &FlowKey {
        &self.key
    }
    /// (Its timer only removes it: no verdict, so no order to keep.)
    fn first_seen(&self) -> u64 {
        0
    }
    fn deadline(&self) -> Timestamp {
        self.deadline
    }
    fn timer_at(&mut self) -> &mut Timestamp {
        &mut self.timer_at
    }
}

impl Tracked for Flow {
    fn key(&self) -> &FlowKey {
        &self.key
    }
    fn first_seen(&self) -> u64 {
        self.first_seen
    }
    fn deadline(&self) -> Timestamp {
        self.deadline
    }
    fn timer_at(&mut self) -> &mut Timestamp {
        &mut self.timer_at
    }
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
    first_ts: Timestamp,
    last_ts: Timestamp,
    first_packet: Origin,
    /// VLAN tags of the first packet.
    vlan: u32,
    /// When the flow's timer should run out.
    deadline: Timestamp,
    /// The deadline of the flow's live timer in the table's heap.
    timer_at: Timestamp,
    /// How long a decided conversation lingers after its last packet.
    linger_span: Duration,
    /// The capture began after the attempt started (no SYN / no request seen).
    midstream: bool,
    /// The attempt is known only from an ICMP error quoting it.
    from_icmp_only: bool,
    c2s: Side,
    s2c: Side,
    icmp: Option<Box<IcmpSeen>>,
    /// ICMP errors that did not decide the attempt (informational, or about the replies).
    icmp_other: u32,
    icmp_other_first: Option<Box<IcmpSeen>>,
    decided: Option<Ending>,
    state: State,
}

/// UDP ports of request/response services whose replies can be recognised on their own.
fn is_udp_service_port(port: u16) -> bool {
    matches!(
        port,
        53 | 67 | 69 | 88 | 123 | 161 | 389 | 443 | 500 | 514 | 1812 | 1813 | 4500 | 5353
    )
}

fn is_syn_only(t: &TcpSegment) -> bool {
    t.flags.has(TcpFlags::SYN) && !t.flags.has(TcpFlags::ACK) && !t.flags.has(TcpFlags::RST)
}

/// `a` is after `b` in sequence space (RFC 9293 modular comparison).
fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Hops a packet has travelled, guessing the sender's initial TTL as the next of the common
/// defaults (32, 64, 128, 255) at or above what arrived.
pub(super) fn hops(ttl: u8) -> u8 {
    let initial = [32u8, 64, 128, 255].into_iter().find(|&i| ttl <= i).unwrap_or(255);
    initial - ttl
}

impl Flow {
    /// A new conversation from its first packet.
    pub(super) fn open(id: u64, key: FlowKey, p: &Packet) -> Self {
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
                // A datagram from a well-known service port to an ephemeral one is a reply
                // whose request was not captured. (Not "any port below 1024": NFS and other
                // RPC clients send from reserved ports.)
                let reply = is_udp_service_port(u.src_port)
                    && !is_udp_service_port(u.dst_port)
                    && u.dst_port >= 1024;
                (src, dst, State::Udp(UdpState::default()), !reply)
            }
            Transport::IcmpError(_) | Transport::Neighbor(_) => {
                unreachable!("conversations open on TCP/UDP packets")
            }
        };
        let (client, server) = if sender_is_client { (src, dst) } else { (dst, src) };
        let midstream = match &p.transport {
            Transport::Tcp(t) => !is_syn_only(t),
            _ => !sender_is_client,
        };
        let mut flow = Flow::new(id, key, (client, server), p, state);
        flow.midstream = midstream;
        flow.apply(p);
        flow
    }

    /// A conversation between `ends` (client, server) first seen in `p`, nothing applied yet.
    fn new(id: u64, key: FlowKey, ends: (Endpoint, Endpoint), p: &Packet, state: State) -> Self {
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
            deadline: p.ts,
            timer_at: Timestamp(i64::MAX),
            linger_span: Duration(0),
            midstream: false,
            from_icmp_only: false,
            c2s: Side::default(),
            s2c: Side::default(),
            icmp: None,
            icmp_other: 0,
            icmp_other_first: None,
            decided: None,
            state,
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
        // A quoted SYN-ACK was sent by the server: the attempt's client is its receiver.
        let from_server = q.tcp_flags.is_some_and(|f| f.has(TcpFlags::SYN | TcpFlags::ACK));
        let state = match q.proto {
            Proto::Tcp if from_server => {
                State::Tcp(Box::new(TcpState { server_isn: q.tcp_seq, ..Default::default() }))
            }
            Proto::Tcp => {
                State::Tcp(Box::new(TcpState { client_isn: q.tcp_seq, ..Default::default() }))
            }
            Proto::Udp => State::Udp(UdpState::default()),
        };
        let (sender, receiver) =
            (Endpoint::new(q.src, q.src_port), Endpoint::new(q.dst, q.dst_port));
        let ends = if from_server { (receiver, sender) } else { (sender, receiver) };
        let mut flow = Flow::new(id, key, ends, p, state);
        flow.from_icmp_only = true;
        flow.icmp = Some(Box::new(seen));
        flow
    }

    /// Whether `p` opens a new attempt on this 5-tuple (a SYN with another initial sequence
    /// number, or any fresh SYN once the old attempt has its verdict).
    pub(super) fn starts_new_attempt(&self, p: &Packet) -> bool {
        let Transport::Tcp(t) = &p.transport else { return false };
        let s = match &self.state {
            State::Tcp(s) => s,
            // (Once decided, the table holds a `Decided` record instead, which answers this.)
            State::Udp(_) | State::Decided(_) => return false,
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
            match s.client_isn {
                Some(isn) => t.seq != isn,
                None => true,
            }
        } else {
            // A SYN from the other side: simultaneous open while the attempt is young, a new
            // attempt in the other direction once it has an answer (once it is over, the
            // `Decided` record answers).
            s.server_isn.is_some_and(|isn| isn != t.seq) || s.syn_ack.is_some()
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
                } else if s.client_syn_acked || s.server_spoke {
                    self.last_ts.add(config.syn_timeout)
                } else {
                    s.last_syn_ts.add(config.syn_timeout)
                }
            }
            State::Udp(u) => {
                if self.midstream {
                    self.last_ts.add(config.idle_timeout)
                } else {
                    u.last_request_ts.add(config.syn_timeout)
                }
            }
            // Decided: the linger deadline stands.
            State::Decided(_) => self.deadline,
        };
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
            State::Tcp(s) => (true, s.client_isn),
            State::Udp(_) => (false, None),
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

    fn apply(&mut self, p: &Packet) {
        if p.ts > self.last_ts {
            self.last_ts = p.ts;
        }
        let (from_client, payload_len) = match &p.transport {
            Transport::Tcp(t) => {
                (p.src == self.client.ip && t.src_port == self.client.port, t.payload_len)
            }
            Transport::Udp(u) => {
                (p.src == self.client.ip && u.src_port == self.client.port, u.payload_len)
            }
            Transport::IcmpError(_) | Transport::Neighbor(_) => return,
        };
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
            _ => {}
        }
    }

    /// Charges an ICMP error to this attempt. Returns true when it decides the verdict: a
    /// failure-kind error about the client's packets while nothing has come back yet.
    pub(super) fn charge_icmp(&mut self, seen: IcmpSeen, about_client_packets: bool) -> bool {
        let answered = match &self.state {
            State::Tcp(s) => {
                s.client_syn_acked
                    || s.server_spoke
                    || s.established.is_some()
                    || self.midstream
                    // The quote names another attempt (RFC 5927: check the quoted sequence).
                    || matches!((s.client_isn, seen.quoted_seq), (Some(isn), Some(q)) if isn != q)
            }
            State::Udp(u) => u.first_reply.is_some() || self.midstream,
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

    /// Gives the verdict and marks the conversation as decided.
    pub(super) fn finish(&mut self, ending: Ending, ctx: &Context<'_>) -> Verdict {
        let v = self.verdict(ending, ctx);
        self.release();
        v
    }

    /// Frees what only the verdict needed, keeping what absorbs late packets.
    fn release(&mut self) {
        let lingering = match &self.state {
            State::Tcp(s) => Lingering { tcp: true, client_isn: s.client_isn },
            State::Udp(_) => Lingering { tcp: false, client_isn: None },
            State::Decided(l) => *l,
        };
        self.state = State::Decided(lingering);
        self.icmp = None;
        self.icmp_other_first = None;
    }

    fn verdict(&mut self, ending: Ending, ctx: &Context<'_>) -> Verdict {
        let (now, config) = (ctx.now, ctx.config);
        let server_seen = ServerSeen::of(self.server.ip, ctx);
        let mut ev = Evidence::new();
        ev.insert("attempt", self.id);
        ev.insert("client_packets", self.c2s.packets);
        ev.insert("server_packets", self.s2c.packets);
        ev.insert("client_bytes", self.c2s.bytes);
        ev.insert("server_bytes", self.s2c.bytes);
        if let Some(t) = self.c2s.ttl {
            ev.insert("client_ttl", t);
        }
        if let Some(t) = self.s2c.ttl {
            ev.insert("server_ttl", t);
        }
        ev.insert("duration", secs(self.last_ts, self.first_ts));
        if self.from_icmp_only {
            ev.insert("attempt_packets_captured", false);
        }
        if ending == Ending::Evicted {
            ev.insert("evicted", true);
        }
        if ending == Ending::Superseded {
            ev.insert("superseded_by_new_syn", true);
        }
        if let Some(i) = self.icmp_other_first.as_deref() {
            ev.insert("other_icmp_errors", self.icmp_other);
            ev.insert("other_icmp_first", icmp_json(i, self.server.ip));
        }

        let cause = if let Some(icmp) = self.icmp.as_deref() {
            icmp_evidence(&mut ev, icmp, self.server.ip);
            icmp_verdict(icmp)
        } else {
            match &self.state {
                State::Tcp(s) => s.classify(self, ending, ctx, &mut ev),
                State::Udp(u) => self.classify_udp(u, ending, now, config, server_seen, &mut ev),
                // Never: a verdict is given once, and its state freed only then.
                State::Decided(_) => Cause::Midstream,
            }
        };
        if let State::Tcp(s) = &self.state {
            s.syn_evidence(&mut ev);
        }
        Verdict {
            id: self.id,
            ts: self.first_ts,
            last_ts: self.last_ts,
            first_packet: self.first_packet,
            proto: self.key.proto(),
            vlan: self.vlan,
            client: self.client,
            server: self.server,
            cause,
            evidence: ev,
            hint: Hint::new(cause, self.client, self.server),
            conn_state: match &self.state {
                State::Tcp(s) => s.conn_state(self),
                State::Udp(u) if self.midstream => "SHR",
                State::Udp(u) if u.first_reply.is_some() => "SF",
                State::Udp(_) if self.from_icmp_only => "OTH",
                State::Udp(_) => "S0",
                State::Decided(_) => "OTH",
            },
        }
    }

    fn classify_udp(
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
    fn of(ip: IpAddr, ctx: &Context<'_>) -> ServerSeen {
        if ctx.hosts.contains_key(&ip) {
            return ServerSeen::Alive;
        }
        match ctx.neighbors.get(&ip) {
            Some(&(_, true)) => ServerSeen::Alive,
            Some(&(n, false)) if n > 0 => ServerSeen::Unresolved(n),
            _ => ServerSeen::Unknown,
        }
    }
}

/// Evidence and cause for an attempt with nothing back.
fn unanswered(
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
    /// Whether `ack` acknowledges the client's SYN: ISN + 1, or further when the SYN carried
    /// data (TCP Fast Open; Linux's RST to such a SYN acknowledges the data too).
    fn acks_syn(&self, ack: u32) -> bool {
        self.client_isn.is_some_and(|isn| {
            let d = ack.wrapping_sub(isn.wrapping_add(1));
            d <= self.syn_payload
        })
    }

    /// Applies one segment; returns the ending it decides, if any.
    fn apply(&mut self, p: &Packet, t: &TcpSegment, from_client: bool) -> Option<Ending> {
        let f = t.flags;
        if !f.has(TcpFlags::RST) {
            // SYN and FIN each take one sequence number.
            let len =
                t.payload_len + u32::from(f.has(TcpFlags::SYN)) + u32::from(f.has(TcpFlags::FIN));
            let end = t.seq.wrapping_add(len);
            let next =
                if from_client { &mut self.next_seq_client } else { &mut self.next_seq_server };
            if next.is_none_or(|n| seq_after(end, n)) {
                *next = Some(end);
            }
        }
        if !f.has(TcpFlags::RST) && t.payload_len > 0 {
            let first = if from_client { &mut self.client_first } else { &mut self.server_first };
            if first.is_none() {
                *first = Some(Box::new((t.payload, p.origin)));
            }
        }
        if !from_client
            && t.window == 0
            && !f.has(TcpFlags::SYN)
            && !f.has(TcpFlags::RST)
            && self.established.is_some()
            && self.zero_window.is_none()
        {
            self.zero_window = Some(p.origin);
        }
        if f.has(TcpFlags::RST) {
            let in_syn_sent = self.client_isn.is_some()
                && self.server_isn.is_none()
                && !self.server_spoke
                && self.established.is_none();
            let acknowledges_syn = f.has(TcpFlags::ACK) && self.acks_syn(t.ack);
            if !from_client && in_syn_sent && !acknowledges_syn {
                // RFC 9293 §3.10.7.3: in SYN-SENT an RST without an acceptable ACK is dropped.
                self.ignored_rsts += 1;
                return None;
            }
            // RFC 5961 §3: an RST whose sequence number is far from where its sender's stream
            // is cannot be the sender's own (a blind injection, a stray from another
            // connection); the receiver drops it, and so does the verdict. "Far" is beyond any
            // plausible window, since the window scale is not known here.
            let side_next = if from_client { self.next_seq_client } else { self.next_seq_server };
            if let Some(next) = side_next
                && (t.seq.wrapping_sub(next) as i32).unsigned_abs() > RST_WINDOW
            {
                self.ignored_rsts += 1;
                return None;
            }
            self.rst = Some(RstSeen {
                from_client,
                ts: p.ts,
                origin: p.origin,
                ttl: p.ttl,
                ip_id: p.ip_id,
                acknowledges_syn,
            });
            if from_client && self.syn_ack.is_none() && self.established.is_none() {
                // The client resets while nothing answered its SYN — often its answer to a
                // stale segment — and may still retransmit the SYN: not the end yet.
                return None;
            }
            return Some(Ending::Rst);
        }
        if f.has(TcpFlags::SYN) {
            if from_client && !f.has(TcpFlags::ACK) {
                if self.client_isn.is_none() {
                    self.client_isn = Some(t.seq);
                    self.syn_payload = t.payload_len;
                    // A SYN-ACK captured before its SYN (multi-interface captures are not
                    // strictly in time order) acknowledges it.
                    if self.syn_ack_ack.is_some_and(|a| self.acks_syn(a)) {
                        self.client_syn_acked = true;
                    }
                }
                if self.client_isn == Some(t.seq) {
                    if self.syn_count > 0 && is_duplicate(p.ts, self.last_syn_ts) {
                        self.duplicates += 1;
                    } else {
                        if (self.syn_count as usize) < SYN_KEPT {
                            self.syn_times[self.syn_count as usize] = p.ts;
                            self.syn_numbers[self.syn_count as usize] = p.origin.number;
                        }
                        self.syn_count += 1;
                        // The client tried again: an earlier reset of its own was not the end.
                        if self.rst.is_some_and(|r| r.from_client) && self.syn_ack.is_none() {
                            self.rst = None;
                        }
                    }
                    // Never backwards: timestamps that run back must not pull timers earlier.
                    self.last_syn_ts = self.last_syn_ts.max(p.ts);
                }
            } else if from_client {
                // Split handshake: the client answers the server's SYN with a SYN-ACK.
                if self.server_isn.is_some_and(|isn| t.ack == isn.wrapping_add(1)) {
                    self.server_syn_acked = true;
                }
            } else {
                self.server_spoke = true;
                if self.server_isn.is_none() {
                    self.server_isn = Some(t.seq);
                }
                if f.has(TcpFlags::ACK) {
                    if self.syn_ack.is_some_and(|(ts, _)| is_duplicate(p.ts, ts))
                        && self.server_isn == Some(t.seq)
                        && self.syn_ack_count == 1
                    {
                        self.duplicates += 1;
                    } else {
                        self.syn_ack_count += 1;
                        if self.syn_ack.is_none() {
                            self.syn_ack = Some((p.ts, p.origin));
                            self.syn_ack_ack = Some(t.ack);
                            self.syns_before_answer = self.syn_count;
                        } else if self.server_syn_acked {
                            // A SYN-ACK again after the client acknowledged one: the server
                            // did not take the ACK (accept queue full). Not on the first
                            // SYN-ACK: in a simultaneous open the client acknowledges first.
                            self.syn_ack_after_ack += 1;
                        }
                    }
                    if self.acks_syn(t.ack) {
                        self.client_syn_acked = true;
                    }
                }
            }
        } else {
            if f.has(TcpFlags::ACK) {
                if from_client {
                    if self.server_isn.is_some_and(|isn| seq_after(t.ack, isn)) {
                        self.server_syn_acked = true;
                    }
                } else if self.client_isn.is_some_and(|isn| seq_after(t.ack, isn))
                    && self.server_isn.is_some()
                {
                    self.client_syn_acked = true;
                }
            }
            if from_client {
                self.client_went_on |= f.has(TcpFlags::ACK) || t.payload_len > 0;
            } else {
                self.server_spoke = true;
            }
            if f.has(TcpFlags::FIN) {
                let fin = if from_client { &mut self.fin_client } else { &mut self.fin_server };
                if fin.is_none() {
                    *fin = Some((p.ts, p.origin));
                }
            }
        }
        if self.established.is_none() && self.client_syn_acked && self.server_syn_acked {
            self.established = Some((p.ts, p.origin));
        }
        if self.fin_client.is_some() && self.fin_server.is_some() {
            return Some(Ending::Fin);
        }
        None
    }

    fn syn_evidence(&self, ev: &mut Evidence) {
        if self.duplicates > 0 {
            ev.insert("syn_duplicates", self.duplicates);
        }
        if self.syn_count == 0 {
            return;
        }
        let kept = (self.syn_count as usize).min(SYN_KEPT);
        let first = self.syn_times[0];
        ev.insert("syn_count", self.syn_count);
        ev.insert("syn_packets", Fact::u64_list(&self.syn_numbers[..kept]));
        ev.insert(
            "syn_times",
            Fact::f64_list(self.syn_times[..kept].iter().map(|t| secs(*t, first))),
        );
        if let Some((_, o)) = self.syn_ack {
            ev.insert("syn_ack_packet", o.number);
            ev.insert("syn_ack_count", self.syn_ack_count);
        }
        if self.ignored_rsts > 0 {
            ev.insert("ignored_rsts", self.ignored_rsts);
        }
    }

    /// An established conversation: did the application turn the client away, do the two
    /// sides speak different protocols, did the server show overload — else how it ended.
    fn classify_established(&self, flow: &Flow, ending: Ending, ev: &mut Evidence) -> Cause {
        if let Some((_, o)) = self.fin_client {
            ev.insert("client_fin_packet", o.number);
        }
        if let Some((_, o)) = self.fin_server {
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

        let client_kind = self.client_first.as_deref().map(|(p, o)| {
            ev.insert("client_first_packet", o.number);
            ev.insert("client_first_bytes", describe(p.as_slice()));
            payload::classify(p.as_slice())
        });
        let server_kind = self.server_first.as_deref().map(|(p, o)| {
            ev.insert("server_first_packet", o.number);
            ev.insert("server_first_bytes", describe(p.as_slice()));
            payload::classify(p.as_slice())
        });
        let server_closed = self.fin_server.is_some() || server_rst.is_some();

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
            dns_over_tcp(&self.client_first).filter(|(_, b)| dns_port && payload::is_dns_query(b))
        {
            let (name, qtype) = payload::dns_question(qb).unwrap_or(("?".into(), 0));
            ev.insert("dns_transport", "tcp");
            ev.insert("dns_query", name);
            ev.insert("dns_qtype", payload::dns_type_name(qtype));
            match dns_over_tcp(&self.server_first).filter(|(h, _)| h.response && h.id == q.id) {
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
            match (self.fin_client, server_rst.map(|r| (r.ts, r.origin)).or(self.fin_server)) {
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

    /// Zeek's `conn_state` for this conversation (scripts/base/protocols/conn/main.zeek).
    fn conn_state(&self, flow: &Flow) -> &'static str {
        let client_rst = self.rst.is_some_and(|r| r.from_client);
        let server_rst = self.rst.is_some_and(|r| !r.from_client);
        if self.syn_count == 0 {
            return match (self.syn_ack.is_some(), server_rst, self.fin_server.is_some()) {
                _ if flow.from_icmp_only => "OTH",
                (true, true, _) => "RSTRH",
                (true, false, true) => "SHR",
                _ => "OTH",
            };
        }
        if self.syn_ack.is_none() {
            return if server_rst {
                "REJ"
            } else if client_rst {
                "RSTOS0"
            } else if self.fin_client.is_some() {
                "SH"
            } else {
                "S0"
            };
        }
        if client_rst {
            return "RSTO";
        }
        if server_rst {
            return "RSTR";
        }
        match (self.fin_client.is_some(), self.fin_server.is_some()) {
            (true, true) => "SF",
            (true, false) => "S2",
            (false, true) => "S3",
            (false, false) => "S1",
        }
    }

    fn classify(&self, flow: &Flow, ending: Ending, ctx: &Context<'_>, ev: &mut Evidence) -> Cause {
        let (now, config, host_ttls) = (ctx.now, ctx.config, ctx.hosts);
        let server = ServerSeen::of(flow.server.ip, ctx);
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
            if !r.from_client && r.acknowledges_syn && !self.client_syn_acked {
                return refusal_cause(r, flow.server.ip, host_ttls, ev);
            }
            if self.client_syn_acked {
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
        if self.client_syn_acked {
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
fn refusal_cause(
    r: &RstSeen,
    host: IpAddr,
    host_ttls: &FxHashMap<IpAddr, super::OwnTtls>,
    ev: &mut Evidence,
) -> Cause {
    ev.insert("rst_ttl", r.ttl);
    ev.insert("rst_hops", hops(r.ttl));
    if host.is_ipv4() {
        ev.insert("rst_ip_id", r.ip_id);
    }
    match host_ttls.get(&host).and_then(|own| own.closest(r.ttl)) {
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

fn icmp_verdict(i: &IcmpSeen) -> Cause {
    match i.kind {
        IcmpErrorKind::TimeExceeded => Cause::TtlExceeded,
        _ if i.v6 => Cause::icmp6_unreachable(i.code),
        _ => Cause::icmp4_unreachable(i.code),
    }
}

fn icmp_json(i: &IcmpSeen, server: IpAddr) -> Fact {
    let mut m = Evidence::new();
    icmp_fields(&mut m, i, server, ["packet", "version", "type", "code", "mtu"]);
    Fact::from(m)
}

/// The ICMP error's facts under the given names for packet, version, type, code and MTU.
fn icmp_fields(ev: &mut Evidence, i: &IcmpSeen, server: IpAddr, names: [&'static str; 5]) {
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
}

fn icmp_evidence(ev: &mut Evidence, i: &IcmpSeen, server: IpAddr) {
    icmp_fields(
        ev,
        i,
        server,
        ["icmp_packet", "icmp_version", "icmp_type", "icmp_code", "icmp_mtu"],
    );
}

/// A DNS message behind TCP's 2-byte length (RFC 7766), from a side's first payload.
fn dns_over_tcp(first: &Option<Box<(PayloadPrefix, Origin)>>) -> Option<(DnsHeader, &[u8])> {
    let b = first.as_deref()?.0.as_slice().get(2..)?;
    payload::dns_header(b).map(|h| (h, b))
}

/// A first payload for the evidence: its first text line, or what kind of bytes it is.
fn describe(b: &[u8]) -> String {
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

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Seconds from `earlier` to `later`, rounded to microseconds, as a JSON number.
fn secs(later: Timestamp, earlier: Timestamp) -> f64 {
    (later.since(earlier).as_secs_f64() * 1e6).round() / 1e6
}

#[cfg(test)]
pub(super) fn tcp_state_size() -> usize {
    std::mem::size_of::<TcpState>()
}
