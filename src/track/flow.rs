//! One conversation's attempt: the TCP/UDP state machine, ICMP charging, and the classifier
//! that turns the state into a verdict with its evidence.

use std::net::IpAddr;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value, json};

use super::{TrackerConfig, icmp_is_failure};
use crate::capture::Origin;
use crate::decode::{IcmpError, IcmpErrorKind, Packet, Proto, TcpFlags, TcpSegment, Transport};
use crate::flow::{Endpoint, FlowKey};
use crate::time::Timestamp;
use crate::verdict::{
    Verdict, VerdictKind, hint_for, icmp4_unreachable_cause, icmp6_unreachable_cause,
};

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
    fin_client: Option<Origin>,
    fin_server: Option<Origin>,
    rst: Option<RstSeen>,
    /// RSTs from the server side that did not acknowledge the SYN (the client ignores them).
    ignored_rsts: u32,
    /// The server sent something other than an RST.
    server_spoke: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct UdpState {
    last_request_ts: Timestamp,
    first_reply: Option<(Timestamp, Origin)>,
}

#[derive(Clone, Debug)]
enum State {
    Tcp(Box<TcpState>),
    Udp(UdpState),
}

/// One conversation and its current attempt.
pub(super) struct Flow {
    pub(super) id: u64,
    pub(super) key: FlowKey,
    pub(super) client: Endpoint,
    pub(super) server: Endpoint,
    first_ts: Timestamp,
    last_ts: Timestamp,
    first_packet: Origin,
    /// The verdict is out; the conversation lingers to absorb late packets.
    pub(super) emitted: bool,
    /// When the flow's timer should run out.
    pub(super) deadline: Timestamp,
    /// The deadline of the flow's live timer in the table's heap.
    pub(super) timer_at: Timestamp,
    /// The capture began after the attempt started (no SYN / no request seen).
    midstream: bool,
    /// The attempt is known only from an ICMP error quoting it.
    from_icmp_only: bool,
    c2s: Side,
    s2c: Side,
    icmp: Option<IcmpSeen>,
    /// ICMP errors that did not decide the attempt (informational, or about the replies).
    icmp_other: u32,
    icmp_other_first: Option<IcmpSeen>,
    decided: Option<Ending>,
    state: State,
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
                // A datagram from a well-known port to an ephemeral one is a reply whose
                // request was not captured.
                let reply = u.src_port < 1024 && u.dst_port >= 1024;
                (src, dst, State::Udp(UdpState::default()), !reply)
            }
            Transport::IcmpError(_) => unreachable!("conversations open on TCP/UDP packets"),
        };
        let (client, server) = if sender_is_client { (src, dst) } else { (dst, src) };
        let midstream = match &p.transport {
            Transport::Tcp(t) => !is_syn_only(t),
            _ => !sender_is_client,
        };
        let mut flow = Flow {
            id,
            key,
            client,
            server,
            first_ts: p.ts,
            last_ts: p.ts,
            first_packet: p.origin,
            emitted: false,
            deadline: p.ts,
            timer_at: Timestamp(i64::MAX),
            midstream,
            from_icmp_only: false,
            c2s: Side::default(),
            s2c: Side::default(),
            icmp: None,
            icmp_other: 0,
            icmp_other_first: None,
            decided: None,
            state,
        };
        flow.apply(p);
        flow
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
        let state = match q.proto {
            Proto::Tcp => {
                State::Tcp(Box::new(TcpState { client_isn: q.tcp_seq, ..Default::default() }))
            }
            Proto::Udp => State::Udp(UdpState::default()),
        };
        Flow {
            id,
            key,
            client: Endpoint::new(q.src, q.src_port),
            server: Endpoint::new(q.dst, q.dst_port),
            first_ts: p.ts,
            last_ts: p.ts,
            first_packet: p.origin,
            emitted: false,
            deadline: p.ts,
            timer_at: Timestamp(i64::MAX),
            midstream: false,
            from_icmp_only: true,
            c2s: Side::default(),
            s2c: Side::default(),
            icmp: Some(seen),
            icmp_other: 0,
            icmp_other_first: None,
            decided: None,
            state,
        }
    }

    /// Whether `p` opens a new attempt on this 5-tuple (a SYN with another initial sequence
    /// number, or any fresh SYN once the old attempt has its verdict).
    pub(super) fn starts_new_attempt(&self, p: &Packet) -> bool {
        let (Transport::Tcp(t), State::Tcp(s)) = (&p.transport, &self.state) else {
            return false;
        };
        if !is_syn_only(t) {
            return false;
        }
        let from_client = p.src == self.client.ip && t.src_port == self.client.port;
        if from_client {
            match s.client_isn {
                Some(isn) => t.seq != isn,
                None => true,
            }
        } else {
            // A SYN from the other side: simultaneous open while the attempt is young, a new
            // attempt in the other direction once this one is over.
            self.emitted || s.server_isn.is_some_and(|isn| isn != t.seq) || s.syn_ack.is_some()
        }
    }

    /// Takes the ending a packet just decided, if any.
    pub(super) fn decided(&mut self) -> Option<Ending> {
        self.decided.take()
    }

    /// Applies a packet of this conversation; returns whether it is the first from its side.
    pub(super) fn update(&mut self, p: &Packet, config: &TrackerConfig) -> bool {
        let first_from_side = self.apply(p);
        if !self.emitted {
            self.schedule(config);
        }
        first_from_side
    }

    /// Sets the deadline for the current state.
    pub(super) fn schedule(&mut self, config: &TrackerConfig) {
        self.deadline = match &self.state {
            State::Tcp(s) => {
                if self.midstream || s.established.is_some() {
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
        };
    }

    /// After the verdict: keep the conversation until `until` to absorb late packets.
    pub(super) fn linger_until(&mut self, until: Timestamp) {
        self.emitted = true;
        self.deadline = until;
    }

    fn apply(&mut self, p: &Packet) -> bool {
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
            Transport::IcmpError(_) => return false,
        };
        let side = if from_client { &mut self.c2s } else { &mut self.s2c };
        let first_from_side = side.packets == 0;
        side.packets += 1;
        side.bytes += payload_len as u64;
        if first_from_side {
            side.ttl = Some(p.ttl);
        }
        if self.emitted {
            return first_from_side;
        }
        match (&mut self.state, &p.transport) {
            (State::Tcp(s), Transport::Tcp(t)) => {
                self.decided = s.apply(p, t, from_client);
            }
            (State::Udp(u), Transport::Udp(_)) => {
                if from_client {
                    u.last_request_ts = p.ts;
                } else if u.first_reply.is_none() {
                    u.first_reply = Some((p.ts, p.origin));
                    if !self.midstream {
                        self.decided = Some(Ending::Answered);
                    }
                }
            }
            _ => {}
        }
        first_from_side
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
        };
        if !about_client_packets || !seen.is_failure() || answered {
            self.icmp_other += 1;
            if self.icmp_other_first.is_none() {
                self.icmp_other_first = Some(seen);
            }
            return false;
        }
        if seen.ts > self.last_ts {
            self.last_ts = seen.ts;
        }
        self.icmp = Some(seen);
        true
    }

    /// Gives the verdict and marks the conversation as decided.
    pub(super) fn finish(
        &mut self,
        ending: Ending,
        now: Timestamp,
        config: &TrackerConfig,
        host_ttls: &FxHashMap<IpAddr, u8>,
    ) -> Verdict {
        self.emitted = true;
        let mut ev = Map::new();
        ev.insert("attempt".into(), json!(self.id));
        ev.insert("client_packets".into(), json!(self.c2s.packets));
        ev.insert("server_packets".into(), json!(self.s2c.packets));
        ev.insert("client_bytes".into(), json!(self.c2s.bytes));
        ev.insert("server_bytes".into(), json!(self.s2c.bytes));
        if let Some(t) = self.c2s.ttl {
            ev.insert("client_ttl".into(), json!(t));
        }
        if let Some(t) = self.s2c.ttl {
            ev.insert("server_ttl".into(), json!(t));
        }
        ev.insert("duration".into(), secs(self.last_ts, self.first_ts));
        if self.from_icmp_only {
            ev.insert("attempt_packets_captured".into(), json!(false));
        }
        if ending == Ending::Evicted {
            ev.insert("evicted".into(), json!(true));
        }
        if ending == Ending::Superseded {
            ev.insert("superseded_by_new_syn".into(), json!(true));
        }
        if let Some(i) = self.icmp_other_first {
            ev.insert("other_icmp_errors".into(), json!(self.icmp_other));
            ev.insert("other_icmp_first".into(), icmp_json(&i, self.server.ip));
        }

        let (kind, cause) = if let Some(icmp) = self.icmp {
            icmp_evidence(&mut ev, &icmp, self.server.ip);
            icmp_verdict(&icmp)
        } else {
            match &self.state {
                State::Tcp(s) => s.classify(self, ending, now, config, host_ttls, &mut ev),
                State::Udp(u) => self.classify_udp(u, ending, now, config, &mut ev),
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
            proto: self.key.proto,
            vlan: self.key.vlan,
            client: self.client,
            server: self.server,
            kind,
            cause,
            evidence: ev,
            hint: hint_for(kind, cause, self.client, self.server),
        }
    }

    fn classify_udp(
        &self,
        u: &UdpState,
        ending: Ending,
        now: Timestamp,
        config: &TrackerConfig,
        ev: &mut Map<String, Value>,
    ) -> (VerdictKind, &'static str) {
        if self.midstream {
            return (VerdictKind::Partial, "midstream");
        }
        if let Some((ts, origin)) = u.first_reply {
            ev.insert("reply_packet".into(), json!(origin.number));
            ev.insert("reply_after".into(), secs(ts, self.first_ts));
            return (VerdictKind::Answered, "reply-seen");
        }
        unanswered(ev, ending, now, u.last_request_ts, config, "request")
    }
}

/// Evidence and cause for an attempt with nothing back.
fn unanswered(
    ev: &mut Map<String, Value>,
    ending: Ending,
    now: Timestamp,
    last_try: Timestamp,
    config: &TrackerConfig,
    what: &str,
) -> (VerdictKind, &'static str) {
    // At a timeout, say how long the attempt was given (not when a later, unrelated packet
    // happened to move the clock), so a verdict does not depend on other flows' timing.
    let waited = if ending == Ending::Timeout { config.syn_timeout } else { now.since(last_try) };
    ev.insert(format!("waited_after_last_{what}"), json!(round_ms(waited.as_secs_f64())));
    ev.insert("timeout".into(), json!(config.syn_timeout.as_secs_f64()));
    let cause = match ending {
        Ending::EndOfCapture if waited < config.syn_timeout => {
            ev.insert("capture_ended_before_timeout".into(), json!(true));
            "capture-ended"
        }
        Ending::Evicted => "evicted-before-timeout",
        Ending::Superseded => "superseded",
        _ => "no-response",
    };
    (VerdictKind::Unanswered, cause)
}

impl TcpState {
    /// Applies one segment; returns the ending it decides, if any.
    fn apply(&mut self, p: &Packet, t: &TcpSegment, from_client: bool) -> Option<Ending> {
        let f = t.flags;
        if f.has(TcpFlags::RST) {
            let in_syn_sent = self.client_isn.is_some()
                && self.server_isn.is_none()
                && !self.server_spoke
                && self.established.is_none();
            let acknowledges_syn = f.has(TcpFlags::ACK)
                && self.client_isn.is_some_and(|isn| t.ack == isn.wrapping_add(1));
            if !from_client && in_syn_sent && !acknowledges_syn {
                // RFC 9293 §3.10.7.3: in SYN-SENT an RST without an acceptable ACK is dropped.
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
            return Some(Ending::Rst);
        }
        if f.has(TcpFlags::SYN) {
            if from_client && !f.has(TcpFlags::ACK) {
                if self.client_isn.is_none() {
                    self.client_isn = Some(t.seq);
                }
                if self.client_isn == Some(t.seq) {
                    if (self.syn_count as usize) < SYN_KEPT {
                        self.syn_times[self.syn_count as usize] = p.ts;
                        self.syn_numbers[self.syn_count as usize] = p.origin.number;
                    }
                    self.syn_count += 1;
                    self.last_syn_ts = p.ts;
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
                    self.syn_ack_count += 1;
                    if self.syn_ack.is_none() {
                        self.syn_ack = Some((p.ts, p.origin));
                    }
                    if self.client_isn.is_some_and(|isn| t.ack == isn.wrapping_add(1)) {
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
            if !from_client {
                self.server_spoke = true;
            }
            if f.has(TcpFlags::FIN) {
                let fin = if from_client { &mut self.fin_client } else { &mut self.fin_server };
                if fin.is_none() {
                    *fin = Some(p.origin);
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

    fn syn_evidence(&self, ev: &mut Map<String, Value>) {
        if self.syn_count == 0 {
            return;
        }
        let kept = (self.syn_count as usize).min(SYN_KEPT);
        let first = self.syn_times[0];
        ev.insert("syn_count".into(), json!(self.syn_count));
        ev.insert("syn_packets".into(), json!(self.syn_numbers[..kept].to_vec()));
        let times: Vec<Value> = self.syn_times[..kept].iter().map(|t| secs(*t, first)).collect();
        ev.insert("syn_times".into(), Value::Array(times));
        if let Some((_, o)) = self.syn_ack {
            ev.insert("syn_ack_packet".into(), json!(o.number));
            ev.insert("syn_ack_count".into(), json!(self.syn_ack_count));
        }
        if self.ignored_rsts > 0 {
            ev.insert("ignored_rsts".into(), json!(self.ignored_rsts));
        }
    }

    fn classify(
        &self,
        flow: &Flow,
        ending: Ending,
        now: Timestamp,
        config: &TrackerConfig,
        host_ttls: &FxHashMap<IpAddr, u8>,
        ev: &mut Map<String, Value>,
    ) -> (VerdictKind, &'static str) {
        if let Some((ts, origin)) = self.established {
            ev.insert("established_packet".into(), json!(origin.number));
            ev.insert("established_after".into(), secs(ts, flow.first_ts));
            if let Some(o) = self.fin_client {
                ev.insert("client_fin_packet".into(), json!(o.number));
            }
            if let Some(o) = self.fin_server {
                ev.insert("server_fin_packet".into(), json!(o.number));
            }
            let cause = if let Some(r) = &self.rst {
                ev.insert("rst_packet".into(), json!(r.origin.number));
                if r.from_client { "reset-by-client" } else { "reset-by-server" }
            } else {
                match ending {
                    Ending::Fin => "closed",
                    Ending::Timeout => "idle",
                    Ending::Evicted => "evicted",
                    Ending::Superseded => "port-reused",
                    _ => "still-open",
                }
            };
            return (VerdictKind::Established, cause);
        }
        if flow.midstream {
            if let Some(r) = &self.rst {
                ev.insert("rst_packet".into(), json!(r.origin.number));
                ev.insert(
                    "rst_from".into(),
                    json!(if r.from_client { "client" } else { "server" }),
                );
            }
            return (VerdictKind::Partial, "midstream");
        }
        if let Some(r) = &self.rst {
            ev.insert("rst_packet".into(), json!(r.origin.number));
            ev.insert("rst_after".into(), secs(r.ts, flow.first_ts));
            if !r.from_client && r.acknowledges_syn && !self.client_syn_acked {
                return (VerdictKind::Refused, refusal_cause(r, flow.server.ip, host_ttls, ev));
            }
            if self.client_syn_acked {
                let cause = if r.from_client {
                    "client-aborted-handshake"
                } else {
                    "server-reset-handshake"
                };
                return (VerdictKind::Partial, cause);
            }
            if r.from_client {
                return (VerdictKind::Unanswered, "client-aborted");
            }
        }
        if self.client_syn_acked {
            return (VerdictKind::Partial, "handshake-incomplete");
        }
        if self.server_spoke {
            return (VerdictKind::Partial, "syn-ack-not-captured");
        }
        unanswered(ev, ending, now, self.last_syn_ts, config, "syn")
    }
}

/// Host RST or one injected on the path: compare the RST's TTL with the TTL of the host's own
/// non-RST packets seen elsewhere in the capture.
fn refusal_cause(
    r: &RstSeen,
    host: IpAddr,
    host_ttls: &FxHashMap<IpAddr, u8>,
    ev: &mut Map<String, Value>,
) -> &'static str {
    ev.insert("rst_ttl".into(), json!(r.ttl));
    ev.insert("rst_hops".into(), json!(hops(r.ttl)));
    if host.is_ipv4() {
        ev.insert("rst_ip_id".into(), json!(r.ip_id));
    }
    match host_ttls.get(&host) {
        Some(&own) => {
            ev.insert("host_ttl".into(), json!(own));
            ev.insert("host_hops".into(), json!(hops(own)));
            if hops(own) == hops(r.ttl) { "host-reset" } else { "path-reset" }
        }
        None => {
            ev.insert("host_ttl".into(), Value::Null);
            "reset"
        }
    }
}

fn icmp_verdict(i: &IcmpSeen) -> (VerdictKind, &'static str) {
    match i.kind {
        IcmpErrorKind::TimeExceeded => (VerdictKind::TimeExceeded, "ttl-exceeded"),
        _ if i.v6 => (VerdictKind::Unreachable, icmp6_unreachable_cause(i.code)),
        _ => (VerdictKind::Unreachable, icmp4_unreachable_cause(i.code)),
    }
}

fn icmp_json(i: &IcmpSeen, server: IpAddr) -> Value {
    let mut m = Map::new();
    m.insert("packet".into(), json!(i.origin.number));
    m.insert("version".into(), json!(if i.v6 { "icmpv6" } else { "icmp" }));
    m.insert("type".into(), json!(i.icmp_type));
    m.insert("code".into(), json!(i.code));
    m.insert("reporter".into(), json!(i.reporter.to_string()));
    m.insert("reporter_is_server".into(), json!(i.reporter == server));
    m.insert("reporter_ttl".into(), json!(i.reporter_ttl));
    m.insert("reporter_hops".into(), json!(hops(i.reporter_ttl)));
    if let Some(mtu) = i.mtu {
        m.insert("mtu".into(), json!(mtu));
    }
    Value::Object(m)
}

fn icmp_evidence(ev: &mut Map<String, Value>, i: &IcmpSeen, server: IpAddr) {
    if let Value::Object(m) = icmp_json(i, server) {
        for (k, v) in m {
            let key = if k == "packet" {
                "icmp_packet".to_string()
            } else if k.starts_with("reporter") {
                k
            } else {
                format!("icmp_{k}")
            };
            ev.insert(key, v);
        }
    }
}

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Seconds from `earlier` to `later`, rounded to microseconds, as a JSON number.
fn secs(later: Timestamp, earlier: Timestamp) -> Value {
    json!((later.since(earlier).as_secs_f64() * 1e6).round() / 1e6)
}
