//! The flow tracker: a bounded table of conversations, one state machine per attempt, ICMP
//! errors charged to the attempt they quote, and timers that run on capture time.
//!
//! Each conversation (bidirectional 5-tuple + VLAN) holds at most one live attempt. An attempt
//! gets exactly one verdict: as soon as it is decided (a refusing RST, an ICMP error, a UDP
//! answer, a close), when its timer runs out (nothing back within `syn_timeout`; idle), when the
//! table is full and it is pushed out, or at the end of the input. After its verdict, the
//! conversation lingers for a while so that late packets (the last ACK, a retransmitted SYN
//! crossing the RST) are absorbed instead of opening bogus new attempts; a SYN with a new
//! initial sequence number is a new attempt.
//!
//! One job per file, in the order a packet meets them (no two of them import each other):
//! - `table`: the bounded flow table, its index and timers;
//! - `attempt`: one conversation and its current attempt (endpoints, per-side counts, ICMP
//!   errors charged to it, deadlines), over the TCP state machine (`tcp`) or UDP/DNS (`udp`);
//! - `hosts`: what the capture shows of the hosts (own TTLs, address resolution);
//! - `classify`: a finished attempt's packets, its ending and the host facts to a cause
//!   (a pure function), with `evidence` for the facts every verdict carries;
//! - `linger`: decided conversations kept a while to absorb late packets;
//! - `payload`: the first bytes of each side (TLS, HTTP, DNS); `shard`: `--threads`.

mod attempt;
mod classify;
mod dns_names;
mod evidence;
mod hosts;
pub(crate) use hosts::hops;
mod linger;
pub mod oneway;
mod payload;
mod ping;
mod plaintext;
mod sctp;
pub mod shard;
mod table;
mod tcp;
mod tls;
mod udp;

use std::net::IpAddr;

use crate::decode::{IcmpError, IcmpErrorKind, Packet, Proto, Transport};
use crate::flow::{Endpoint, FlowKey};
use crate::time::{Duration, Timestamp};
use crate::verdict::Verdict;

use attempt::{Flow, Held, IcmpSeen};
use hosts::HostFacts;
pub(crate) use hosts::{RecentFacts, RecentServices, sender_fact};
pub use oneway::OneWayPorts;
use table::{Handle, Table, Tracked};

/// Where the tracker puts verdicts as it decides them. A `Vec` collects them (tests); the
/// pipeline passes [`EmitWith`] so each verdict is written at once — a big step of capture
/// time (or the end of a flood) may decide hundreds of thousands at a time, and collecting
/// them first would take memory in proportion.
pub trait VerdictOut {
    /// One verdict.
    fn emit(&mut self, v: Verdict);

    /// The verdict that follows is given because a timer ran out at `deadline`, for an attempt
    /// first seen at the tracker's packet `first_seen`. With several tracker shards, the
    /// pipeline puts their verdicts back in one tracker's order by these.
    fn timer_ran_out(&mut self, _deadline: Timestamp, _first_seen: u64) {}

    /// The verdicts that follow are decided by the packet being tracked (after the timers its
    /// time ran out).
    fn tracking_packet(&mut self) {}

    /// The verdict that follows is given at the end of the input, to an attempt first seen at
    /// the tracker's packet `first_seen`.
    fn input_ended(&mut self, _first_seen: u64) {}

    /// The verdict that follows is given because the capture did not cover the time after
    /// the current packet's (see [`Tracker::coverage_gap`]), to an attempt first seen at the
    /// tracker's packet `first_seen`. Such verdicts come after the timers that ran out before
    /// the gap, before the packet's own.
    fn coverage_gap(&mut self, _first_seen: u64) {}
}

impl VerdictOut for Vec<Verdict> {
    fn emit(&mut self, v: Verdict) {
        self.push(v);
    }
}

/// Hands each verdict to a closure.
pub struct EmitWith<F: FnMut(Verdict)>(pub F);

impl<F: FnMut(Verdict)> VerdictOut for EmitWith<F> {
    fn emit(&mut self, v: Verdict) {
        (self.0)(v);
    }
}

/// Tracker settings (resolved values; the CLI fills them from flags).
#[derive(Clone, Copy, Debug)]
pub struct TrackerConfig {
    /// How long an attempt waits after its last SYN (or UDP request) before it is unanswered.
    pub syn_timeout: Duration,
    /// How long an established or mid-stream conversation may be silent before its verdict is
    /// given (`idle`).
    pub idle_timeout: Duration,
    /// How long a conversation is kept after its verdict to absorb late packets.
    pub linger: Duration,
    /// The most conversations held at once; beyond it the one whose timer runs out first is
    /// pushed out (and gets its verdict now).
    pub max_flows: usize,
    /// Whether the VLAN tags are part of a conversation's identity. Off by default (as in
    /// Zeek): span ports and router-on-a-stick captures often show the two directions of one
    /// conversation on different VLANs. On, the same 5-tuple on two VLANs is two conversations.
    pub split_vlans: bool,
    /// UDP ports of protocols that never answer on the same 5-tuple (`--one-way`): their
    /// datagrams with nothing back are `one-way`, not `unanswered`.
    pub one_way: OneWayPorts,
    /// How long a verdict that later packets of the same attempt may contradict (a refusing
    /// RST, a SYN timeout) waits for them: see [`LOOK_AHEAD`].
    pub look_ahead: Duration,
    /// Offline: such a verdict is held for the look-ahead and written once it stands (or not
    /// at all, when contradicted). Live (false): it is written at once, and a contradicted one
    /// is followed by a correction line of the same attempt (`revised`).
    pub hold_verdicts: bool,
}

/// How long a verdict that later packets may contradict waits for them: 1 s of capture time.
/// An RST forged on the path races the server's real SYN-ACK and wins by less than a round
/// trip; a client retransmitting a SYN after its wait ran out does so soon after (the wait
/// already follows its back-off). The cost: such an attempt keeps its whole state (about
/// 1 KB, not the 112-byte lingering record) 1 s longer, and its line comes 1 s of capture
/// time later in the output (after lines decided meanwhile).
pub const LOOK_AHEAD: Duration = Duration(1_000_000_000);

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            syn_timeout: Duration::from_secs_f64(5.0),
            idle_timeout: Duration::from_secs_f64(300.0),
            linger: Duration::from_secs_f64(30.0),
            max_flows: 500_000,
            split_vlans: false,
            one_way: OneWayPorts::built_in(),
            look_ahead: LOOK_AHEAD,
            hold_verdicts: true,
        }
    }
}

/// Counters the tracker keeps besides verdicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerStats {
    /// Attempts opened (each gets one verdict).
    pub attempts: u64,
    /// Conversations pushed out early because the table was full.
    pub evicted: u64,
    /// Packets that arrived for a conversation after its verdict (absorbed).
    pub late_packets: u64,
    /// ICMP errors charged to an attempt.
    pub icmp_matched: u64,
    /// ICMP errors that changed nothing (informational kinds, or about attempts already decided).
    pub icmp_informational: u64,
    /// ICMP errors whose quote, cut short, named a tunnel only (charged to every waiting
    /// conversation of it, or to none). Every tracker shard sees each of them.
    pub icmp_about_tunnels: u64,
    /// Most conversations held at once.
    pub peak_flows: u64,
    /// UDP datagrams to or from broadcast/multicast addresses (not attempts; not tracked).
    pub group_datagrams: u64,
    /// Packets more than an hour ahead of capture time that the next packet did not confirm
    /// (treated as mis-stamped: they do not move the clock).
    pub clock_jumps: u64,
    /// Stretches of capture time no input recorded (between inputs, confirmed clock leaps).
    pub coverage_gaps: u64,
}

impl TrackerStats {
    /// Adds another shard's counters. `peak_flows` becomes the sum of the shards' peaks: an
    /// upper bound of the conversations held at once (the shards peak at different times).
    /// Every shard runs on the whole capture's clock, so each sees every clock jump:
    /// `clock_jumps` is the same in all, not added up; so is `icmp_about_tunnels` (such an
    /// error goes to every shard: the conversations of one tunnel may be in any of them).
    pub fn add(&mut self, other: &TrackerStats) {
        self.attempts += other.attempts;
        self.evicted += other.evicted;
        self.late_packets += other.late_packets;
        self.icmp_matched += other.icmp_matched;
        self.icmp_informational += other.icmp_informational;
        self.icmp_about_tunnels = self.icmp_about_tunnels.max(other.icmp_about_tunnels);
        self.peak_flows += other.peak_flows;
        self.group_datagrams += other.group_datagrams;
        self.clock_jumps = self.clock_jumps.max(other.clock_jumps);
        self.coverage_gaps = self.coverage_gaps.max(other.coverage_gaps);
    }
}

/// Why a verdict is being given now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
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
    /// The capture stopped covering time (between inputs, or a leap of the clock) while the
    /// attempt waited for its answer.
    CoverageGap,
}

/// What a verdict may consult besides its own conversation: the time and settings, and what
/// the capture showed of the hosts.
struct Context<'a> {
    now: Timestamp,
    config: &'a TrackerConfig,
    hosts: &'a HostFacts,
    /// At a gap in the capture's coverage: from when to when nothing was recorded.
    gap: Option<(Timestamp, Timestamp)>,
}

impl<'a> Context<'a> {
    /// A context of the tracker's parts (taken one by one, so that the flow table can stay
    /// borrowed while a verdict is given).
    fn new(now: Timestamp, config: &'a TrackerConfig, hosts: &'a HostFacts) -> Self {
        Context { now, config, hosts, gap: None }
    }
}

/// The flow tracker. Feed it packets in capture order; collect verdicts from the `out` vectors.
pub struct Tracker {
    config: TrackerConfig,
    table: Table,
    now: Timestamp,
    /// The next attempt's number, and how far each attempt moves it (see
    /// [`Tracker::numbered`]).
    next_id: u64,
    id_step: u64,
    hosts: HostFacts,
    stats: TrackerStats,
    /// A packet far ahead of the clock, waiting for the next one to confirm the jump.
    jump: Option<Timestamp>,
    /// Packets (and, with several shards, other shards' packets) seen so far: an attempt's
    /// place in the capture, the same in every shard.
    seen: u64,
    /// Conversations whose timers ran out together (kept for its room).
    due: Vec<Handle>,
    /// Conversations an error about their tunnel is charged to (kept for its room).
    tunnel_hits: Vec<(u64, Handle, bool)>,
    /// Errors about a tunnel alone searched the table for in the current second of capture
    /// time (the second, the count): see [`TUNNEL_SCANS_PER_SECOND`].
    tunnel_scans: (i64, u32),
}

/// How many ICMP errors that name a tunnel but no conversation in it may search the flow
/// table (a walk over the open attempts) per second of capture time; beyond it they are
/// counted as informational. A tunnel that fails draws a few; a flood of forged ones must
/// not cost a walk of the table each.
pub const TUNNEL_SCANS_PER_SECOND: u32 = 64;

/// How far capture time may leap at one packet without a second packet confirming it.
const CLOCK_JUMP: Duration = Duration(3_600_000_000_000);

impl Tracker {
    /// A tracker with the given settings.
    pub fn new(config: TrackerConfig) -> Self {
        let max_flows = config.max_flows.max(1);
        Tracker {
            config: TrackerConfig { max_flows, ..config },
            table: Table::new(max_flows),
            now: Timestamp(i64::MIN),
            next_id: 1,
            id_step: 1,
            hosts: HostFacts::new(max_flows, config.split_vlans),
            jump: None,
            seen: 0,
            due: Vec::new(),
            tunnel_hits: Vec::new(),
            tunnel_scans: (i64::MIN, 0),
            stats: TrackerStats::default(),
        }
    }

    /// Numbers attempts `first`, `first + step`, `first + 2 × step`, … in first-seen order
    /// (by default 1, 2, 3, …). Shard `k` of `n` numbers its attempts `k + 1`, `k + 1 + n`, …:
    /// the numbers of all shards never collide and `(number − 1) mod n` names the shard.
    pub fn numbered(mut self, first: u64, step: u64) -> Self {
        self.next_id = first.max(1);
        self.id_step = step.max(1);
        self
    }

    /// Keeps the facts of up to `hosts` hosts (by default as many as `max_flows`). A tracker
    /// shard tracks a share of the conversations but consults every host's facts.
    pub fn with_host_capacity(mut self, hosts: usize) -> Self {
        self.hosts.set_cap(hosts);
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> TrackerStats {
        let mut s = self.stats;
        s.peak_flows = self.table.peak() as u64;
        s
    }

    /// Timers pending (for tests of memory bounds).
    #[doc(hidden)]
    pub fn timers(&self) -> usize {
        self.table.timers()
    }

    /// Conversations held now.
    pub fn flows(&self) -> usize {
        self.table.len()
    }

    /// Processes one packet; verdicts it decides (and timers it makes run out) go to `out`.
    pub fn packet(&mut self, p: &Packet, out: &mut impl VerdictOut) {
        self.seen += 1;
        self.capture_time(p.ts, out);
        out.tracking_packet();
        match &p.transport {
            Transport::Tcp(_) | Transport::Udp(_) | Transport::Echo(_) | Transport::Sctp(_) => {
                self.conversation_packet(p, out)
            }
            Transport::IcmpError(e) => self.icmp_error(p, e, out),
            Transport::Neighbor(n) => {
                self.hosts.record_neighbor(p.vlan, p.tunnel.digest(), n);
            }
        }
    }

    /// Capture time as a frame shows it (also frames that are not connection packets): moves
    /// the clock forward, except for a leap of more than an hour that the next frame does not
    /// confirm — one mis-stamped frame must neither time out every open attempt nor freeze
    /// the clock far ahead.
    pub fn capture_time(&mut self, ts: Timestamp, out: &mut impl VerdictOut) {
        if ts <= self.now {
            // Time ran backwards (or stands still): timers wait for it to move forward again,
            // so a stretch of earlier-stamped packets is judged on its own clock.
            self.jump = None;
            return;
        }
        if self.now.0 != i64::MIN && ts.since(self.now) > CLOCK_JUMP {
            match self.jump {
                // Confirmed by another frame near it.
                Some(first) if ts.since(first).0.unsigned_abs() <= CLOCK_JUMP.0.unsigned_abs() => {
                    // Nothing was recorded in between (a clock set, a sensor paused): not
                    // silence in which servers failed to answer. The gap ends at the leap's
                    // first packet.
                    self.coverage_gap(self.now, first.min(ts), out);
                    // The first packet of the leap was not mis-stamped after all.
                    self.stats.clock_jumps = self.stats.clock_jumps.saturating_sub(1);
                    self.jump = None;
                    self.advance(ts, out);
                }
                _ => {
                    self.jump = Some(ts);
                    self.stats.clock_jumps += 1;
                }
            }
        } else {
            self.jump = None;
            self.advance(ts, out);
        }
    }

    /// Moves capture time forward to `now` (live runs call it on a wall-clock tick), giving
    /// verdicts to attempts whose timers have run out.
    #[inline]
    pub fn advance(&mut self, now: Timestamp, out: &mut impl VerdictOut) {
        if now > self.now {
            self.now = now;
        }
        // Most packets find no timer run out: one look at the earliest.
        if self.table.timer_due(self.now) {
            self.run_timers(out);
        }
    }

    /// Gives verdicts to the attempts whose timers ran out by now.
    #[inline(never)]
    fn run_timers(&mut self, out: &mut impl VerdictOut) {
        // Timers that run out at the same deadline go in the order their attempts began, so
        // that the order does not depend on where they sit in the table (nor on the shard).
        let mut due = std::mem::take(&mut self.due);
        while let Some((first, deadline)) = self.table.pop_due(self.now) {
            due.clear();
            due.push(first);
            while let Some(next) = self.table.pop_at(deadline) {
                due.push(next);
            }
            if due.len() > 1 {
                due.sort_by_key(|&h| self.table.first_seen(h));
            }
            for &handle in &due {
                self.timer_ran_out(handle, out);
            }
        }
        self.due = due;
    }

    /// Capture time from `from` to `to` that no input recorded (between two inputs that do
    /// not abut, or a leap of the clock that the next frame confirmed): it must not count as
    /// silence. Timers that ran out by `from` run out first; then every attempt still waiting
    /// for an answer (its deadline after `from`) gets its verdict, `capture-ended` with the
    /// gap in its evidence (in first-seen order); conversations waiting only to be idle, and
    /// decided ones lingering, keep their deadlines shifted by the gap's length, as if the
    /// gap had not been; the clock moves to `to`.
    pub fn coverage_gap(&mut self, from: Timestamp, to: Timestamp, out: &mut impl VerdictOut) {
        if to <= from {
            return;
        }
        // (Timers run out strictly before the clock: those due at `from` exactly too.)
        self.advance(Timestamp(from.0.saturating_add(1)), out);
        let mut waiting: Vec<(u64, Handle)> = self
            .table
            .open_flows()
            // Waiting across the gap; not a conversation a packet after it already touched
            // (a leap's first packet, before the next one confirmed it).
            .filter(|(_, f)| {
                f.deadline > from && f.last_ts < to && (f.held.is_some() || f.awaits_answer())
            })
            .map(|(handle, f)| (f.first_seen, handle))
            .collect();
        waiting.sort_unstable_by_key(|&(first_seen, _)| first_seen);
        for (first_seen, handle) in waiting {
            let flow = self.table.open_mut(handle);
            out.coverage_gap(first_seen);
            if flow.held.is_some() {
                // Its look-ahead ends with what was recorded.
                settle(flow, from, &mut self.stats, out);
                self.table.decide(handle);
                continue;
            }
            let mut ctx = Context::new(from, &self.config, &self.hosts);
            ctx.gap = Some((from, to));
            give_verdict(flow, Ending::CoverageGap, &ctx, from.add(self.config.linger), out);
            self.table.decide(handle);
        }
        self.table.shift_deadlines(from, to.since(from));
        self.stats.coverage_gaps += 1;
        self.jump = None;
        if to > self.now {
            self.now = to;
        }
    }

    /// A conversation's timer ran out: an open attempt gets its verdict (and lingers), a
    /// decided one goes.
    fn timer_ran_out(&mut self, handle: Handle, out: &mut impl VerdictOut) {
        if handle.is_decided() {
            self.table.remove(handle);
            return;
        }
        let flow = self.table.open_mut(handle);
        let deadline = flow.deadline();
        out.timer_ran_out(deadline, flow.first_seen);
        if flow.held.is_some() {
            // The look-ahead is over and nothing contradicted the verdict.
            settle(flow, self.now, &mut self.stats, out);
            self.table.decide(handle);
            return;
        }
        let v = classify::verdict(
            flow,
            Ending::Timeout,
            &Context::new(self.now, &self.config, &self.hosts),
        );
        // A connection that went idle may still be alive (keepalives come every few minutes):
        // keep it as long again, so a keepalive is not a new attempt.
        let linger = if v.kind() == crate::verdict::VerdictKind::Established {
            self.config.idle_timeout.max(self.config.linger)
        } else {
            self.config.linger
        };
        if emit_or_hold(flow, v, Ending::Timeout, deadline, self.now.add(linger), &self.config, out)
        {
            self.table.decide(handle);
        } else {
            self.table.reschedule(handle);
        }
    }

    /// The end of the input: every attempt still open gets its verdict, in first-seen order.
    pub fn finish(&mut self, out: &mut impl VerdictOut) {
        let mut open: Vec<(u64, Handle)> =
            self.table.open_flows().map(|(handle, f)| (f.first_seen, handle)).collect();
        open.sort_unstable_by_key(|&(first_seen, _)| first_seen);
        for (first_seen, handle) in open {
            let flow = self.table.open_mut(handle);
            out.input_ended(first_seen);
            if flow.held.is_some() {
                settle(flow, self.now, &mut self.stats, out);
                continue;
            }
            out.emit(finish(
                flow,
                Ending::EndOfCapture,
                &Context::new(self.now, &self.config, &self.hosts),
            ));
        }
        self.table.clear();
    }

    /// A packet another tracker shard tracks (`--threads`), whose sender's facts every shard
    /// keeps: counts it, moves the clock, and records what it shows of its sender (up; the
    /// TTL of its own non-RST packets), as [`packet`](Self::packet) would have.
    pub fn sender_facts(&mut self, p: &Packet, out: &mut impl VerdictOut) {
        self.seen += 1;
        self.capture_time(p.ts, out);
        self.hosts.record_sender(p);
    }

    /// A packet another tracker shard tracks, that shows nothing new of its sender: counts it
    /// and moves the clock, so that timers run out at the same packet in every shard.
    pub fn other_packet(&mut self, ts: Timestamp, out: &mut impl VerdictOut) {
        self.seen += 1;
        self.capture_time(ts, out);
    }

    fn conversation_packet(&mut self, p: &Packet, out: &mut impl VerdictOut) {
        let (proto, sport, dport) = match &p.transport {
            Transport::Tcp(t) => (Proto::Tcp, t.src_port, t.dst_port),
            Transport::Udp(u) => (Proto::Udp, u.src_port, u.dst_port),
            Transport::Sctp(c) => (Proto::Sctp, c.src_port, c.dst_port),
            // A ping is named by its identifier, on both sides (its endpoints' "ports" are the
            // ICMP types, see `Flow::open`).
            Transport::Echo(e) => (Proto::Icmp, e.id, e.id),
            Transport::IcmpError(_) | Transport::Neighbor(_) => return,
        };
        let src = Endpoint::new(p.src, sport);
        let dst = Endpoint::new(p.dst, dport);
        if matches!(proto, Proto::Udp | Proto::Icmp) && is_group_datagram(p) {
            // Broadcast and multicast datagrams (and pings) expect no one reply: they are not
            // attempts.
            self.stats.group_datagrams += 1;
            return;
        }
        let key = FlowKey::new(proto, self.vlan_key(p), p.tunnel.digest(), src, dst);

        match self.table.find(&key) {
            Some(handle) if handle.is_decided() => {
                let d = self.table.decided_mut(handle);
                if d.starts_new_attempt(p) {
                    self.table.remove(handle);
                } else {
                    self.stats.late_packets += 1;
                    d.late_packet(p);
                    self.table.reschedule(handle);
                    self.hosts.record_sender(p);
                    return;
                }
            }
            Some(handle) => {
                let flow = self.table.open_mut(handle);
                if flow.starts_new_attempt(p) {
                    if flow.held.is_some() {
                        settle(flow, self.now, &mut self.stats, out);
                    } else {
                        out.emit(finish(
                            flow,
                            Ending::Superseded,
                            &Context::new(self.now, &self.config, &self.hosts),
                        ));
                    }
                    self.table.remove(handle);
                } else if flow.held.is_some() && !flow.contradicts_held(p) {
                    // During the look-ahead: absorbed (a late packet if the verdict stands).
                    flow.apply(p);
                    flow.decided = None;
                    if let Some(h) = flow.held.as_deref_mut() {
                        h.late += 1;
                    }
                    self.hosts.record_sender(p);
                    return;
                } else {
                    if let Some(held) = flow.held.take() {
                        // A later packet of the same attempt contradicts its verdict: the
                        // attempt goes on as if the verdict had not been given.
                        reopen(flow, &held);
                    }
                    flow.update(p, &self.config);
                    let decided = flow.decided();
                    let mut held = false;
                    if let Some(ending) = decided {
                        let ctx = Context::new(self.now, &self.config, &self.hosts);
                        let v = classify::verdict(flow, ending, &ctx);
                        let until = p.ts.add(self.config.linger);
                        held = !emit_or_hold(flow, v, ending, p.ts, until, &self.config, out);
                    }
                    self.hosts.record_sender(p);
                    if decided.is_some() && !held {
                        self.table.decide(handle);
                    } else {
                        self.table.reschedule(handle);
                    }
                    return;
                }
            }
            None => {}
        }

        self.make_room(out);
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(self.id_step);
        self.stats.attempts += 1;
        let mut flow = Flow::open(id, key, p, &self.config.one_way);
        flow.first_seen = self.seen;
        let decided = flow.decided();
        if let Some(ending) = decided {
            give_verdict(
                &mut flow,
                ending,
                &Context::new(self.now, &self.config, &self.hosts),
                p.ts.add(self.config.linger),
                out,
            );
        }
        self.hosts.record_sender(p);
        if decided.is_some() {
            self.table.insert_decided(flow.decided_record());
        } else {
            flow.schedule(&self.config);
            self.table.insert_open(flow);
        }
    }

    fn vlan_key(&self, p: &Packet) -> u32 {
        if self.config.split_vlans { p.vlan } else { 0 }
    }

    /// Charges an ICMP error to the open attempt `handle`; when it decides the attempt, its
    /// verdict is given. Whether it did.
    fn charge_icmp(
        &mut self,
        handle: Handle,
        seen: IcmpSeen,
        about_client: bool,
        at: Timestamp,
        out: &mut impl VerdictOut,
    ) -> bool {
        let flow = self.table.open_mut(handle);
        if !flow.charge_icmp(seen, about_client) {
            return false;
        }
        let context = Context::new(self.now, &self.config, &self.hosts);
        give_verdict(flow, Ending::Icmp, &context, at.add(self.config.linger), out);
        self.table.decide(handle);
        true
    }

    fn icmp_error(&mut self, p: &Packet, e: &IcmpError, out: &mut impl VerdictOut) {
        let q = &e.quoted;
        if q.tunnel_only {
            return self.tunnel_error(p, e, out);
        }
        // An error from inside a tunnel is about the conversation in that tunnel; one about
        // a tunnel's outer packet, about the conversation the quote shows inside it (whose
        // VLAN tags, if any, the quote does not give: only the underlay's are known).
        let (vlan, tunnel) = if q.tunnel.is_some() {
            (0, q.tunnel.digest())
        } else {
            (self.vlan_key(p), p.tunnel.digest())
        };
        let key = FlowKey::new(
            q.proto,
            vlan,
            tunnel,
            Endpoint::new(q.src, q.src_port),
            Endpoint::new(q.dst, q.dst_port),
        );
        let seen = IcmpSeen::new(p, e);
        // The reporter is up; its TTL is not recorded (routers answer from other stacks).
        self.hosts.record_sender(p);
        match self.table.find(&key) {
            Some(handle) if handle.is_decided() => {
                self.stats.late_packets += 1;
                self.stats.icmp_informational += 1;
                return;
            }
            Some(handle) if self.table.open_mut(handle).held.is_some() => {
                // About an attempt whose verdict is given, waiting only for the look-ahead.
                self.stats.late_packets += 1;
                self.stats.icmp_informational += 1;
                return;
            }
            Some(handle) => {
                let flow = self.table.open_mut(handle);
                let about_client = match q.echo {
                    // A ping's request (its port is the identifier, not the client's type).
                    Some((_, reply)) => !reply && q.src == flow.client.ip,
                    None => q.src == flow.client.ip && q.src_port == flow.client.port,
                };
                if self.charge_icmp(handle, seen, about_client, p.ts, out) {
                    self.stats.icmp_matched += 1;
                } else {
                    self.stats.icmp_informational += 1;
                }
                return;
            }
            None => {}
        }
        // An error about an attempt whose own packets were not captured: it still names the
        // attempt (quoted source = the side that sent it), so it still gets a verdict.
        if !seen.is_failure() {
            self.stats.icmp_informational += 1;
            return;
        }
        self.make_room(out);
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(self.id_step);
        self.stats.attempts += 1;
        self.stats.icmp_matched += 1;
        let mut flow = Flow::from_icmp(id, key, p, e, seen);
        flow.first_seen = self.seen;
        give_verdict(
            &mut flow,
            Ending::Icmp,
            &Context::new(self.now, &self.config, &self.hosts),
            p.ts.add(self.config.linger),
            out,
        );
        self.table.insert_decided(flow.decided_record());
    }

    /// An ICMP error about a tunnel whose quote was cut before any conversation in it: charged
    /// to every conversation of that tunnel still waiting for its answer (same kind, same
    /// outer endpoints, and the same VNI or key when the quote shows one), in first-seen
    /// order; conversations already answered keep it as evidence. No conversation is made up
    /// from it: the quote names none.
    fn tunnel_error(&mut self, p: &Packet, e: &IcmpError, out: &mut impl VerdictOut) {
        let q = &e.quoted;
        let seen = IcmpSeen::new(p, e);
        self.hosts.record_sender(p);
        let second = p.ts.0.div_euclid(1_000_000_000);
        if self.tunnel_scans.0 != second {
            self.tunnel_scans = (second, 0);
        }
        // Counted apart from `icmp_matched` and `icmp_informational`: every shard sees it, and
        // whether it decided something in one shard is not known in another.
        self.stats.icmp_about_tunnels += 1;
        let (Some((from, to)), true) = (q.tunnel.outer(), seen.is_failure()) else {
            return;
        };
        if self.tunnel_scans.1 >= TUNNEL_SCANS_PER_SECOND {
            return;
        }
        self.tunnel_scans.1 += 1;
        let kind = q.tunnel.kind;
        let id = q.tunnel.id().filter(|_| kind.id_is_identity());
        let mut hits = std::mem::take(&mut self.tunnel_hits);
        hits.clear();
        for (handle, f) in self.table.open_flows() {
            let Some(t) = f.tunnel.as_deref() else { continue };
            if t.kind != kind || f.held.is_some() || id.is_some_and(|id| t.id() != Some(id)) {
                continue;
            }
            // The flow's outer endpoints are client side first.
            match t.outer() {
                Some(ends) if ends == (from, to) => hits.push((f.first_seen, handle, true)),
                Some(ends) if ends == (to, from) => hits.push((f.first_seen, handle, false)),
                _ => {}
            }
        }
        hits.sort_unstable_by_key(|&(first_seen, _, _)| first_seen);
        for &(_, handle, about_client) in &hits {
            self.charge_icmp(handle, seen, about_client, p.ts, out);
        }
        self.tunnel_hits = hits;
    }

    /// Frees one slot when the table is full: the oldest conversation whose verdict is already
    /// out goes first (it only absorbs late packets); only when there is none does an open
    /// attempt go — the one whose timer runs out first — and it gets its verdict now.
    fn make_room(&mut self, out: &mut impl VerdictOut) {
        while self.table.is_full() {
            if let Some(handle) = self.table.pop_lingering() {
                self.table.remove(handle);
                continue;
            }
            let Some((first, deadline)) = self.table.pop_earliest() else { break };
            // Of the conversations whose timers run out first, the one first seen goes (not
            // the one that sits first in the table); the others keep their timers.
            let mut ties = std::mem::take(&mut self.due);
            ties.clear();
            ties.push(first);
            while let Some(next) = self.table.pop_at(deadline) {
                ties.push(next);
            }
            let table = &self.table;
            let go = ties.iter().copied().min_by_key(|&h| (table.first_seen(h), h.is_decided()));
            for &h in &ties {
                if Some(h) != go {
                    self.table.rearm(h);
                }
            }
            self.due = ties;
            let Some(handle) = go else { break };
            if !handle.is_decided() && self.table.open_mut(handle).held.is_some() {
                // A verdict held for the look-ahead is written now: it was decided.
                settle(self.table.open_mut(handle), self.now, &mut self.stats, out);
            } else if !handle.is_decided() {
                self.stats.evicted += 1;
                let flow = self.table.open_mut(handle);
                out.emit(finish(
                    flow,
                    Ending::Evicted,
                    &Context::new(self.now, &self.config, &self.hosts),
                ));
            }
            self.table.remove(handle);
        }
    }
}

/// Gives `flow` its verdict now (`ending`) and keeps it, decided, until `until` to absorb
/// late packets.
fn give_verdict(
    flow: &mut Flow,
    ending: Ending,
    ctx: &Context<'_>,
    until: Timestamp,
    out: &mut impl VerdictOut,
) {
    out.emit(finish(flow, ending, ctx));
    flow.linger_until(until);
}

/// Writes `v`, the verdict on `flow` that `ending` decided at `at`, and keeps only what its
/// lingering (until `until`) needs; returns true. But a verdict later packets of the same
/// attempt may contradict — an RST refusing a TCP attempt, a TCP attempt's wait running out —
/// is held for the look-ahead instead, with the attempt's whole state (offline: not written
/// yet; live: written, and corrected if contradicted): returns false, the flow's deadline the
/// look-ahead's end.
fn emit_or_hold(
    flow: &mut Flow,
    v: Verdict,
    ending: Ending,
    at: Timestamp,
    until: Timestamp,
    config: &TrackerConfig,
    out: &mut impl VerdictOut,
) -> bool {
    use crate::verdict::VerdictKind;
    let contradictable = match (&flow.state, ending) {
        (attempt::State::Tcp(_), Ending::Rst) => v.kind() == VerdictKind::Refused,
        (attempt::State::Tcp(_), Ending::Timeout) => v.kind() == VerdictKind::Unanswered,
        // A UDP request whose wait ran out: a late answer, or the client asking again, says
        // the exchange was still going.
        (attempt::State::Udp(_), Ending::Timeout) => {
            matches!(v.kind(), VerdictKind::Unanswered | VerdictKind::DnsFailure)
        }
        // An unanswered ping or SCTP INIT: a late answer, or the client trying again.
        (attempt::State::Ping(_) | attempt::State::Sctp(_), Ending::Timeout) => {
            v.kind() == VerdictKind::Unanswered
        }
        _ => false,
    };
    if config.look_ahead.0 > 0 && contradictable {
        let (verdict, written) = if config.hold_verdicts {
            (Some(v), None)
        } else {
            let cause = v.cause;
            out.emit(v);
            (None, Some(cause))
        };
        let refused = ending == Ending::Rst;
        flow.held =
            Some(Box::new(Held { verdict, written, refused, linger_until: until, late: 0 }));
        flow.deadline = at.add(config.look_ahead);
        return false;
    }
    out.emit(v);
    flow.release();
    flow.linger_until(until);
    true
}

/// The look-ahead of a held verdict is over (or cut short): the verdict stands and is
/// written (offline; live it was already), the packets absorbed meanwhile are late packets,
/// and the conversation keeps only what its lingering needs.
fn settle(flow: &mut Flow, now: Timestamp, stats: &mut TrackerStats, out: &mut impl VerdictOut) {
    let Some(held) = flow.held.take() else { return };
    stats.late_packets += held.late;
    if let Some(v) = held.verdict {
        out.emit(v);
    }
    flow.release();
    flow.linger_until(held.linger_until.max(now));
}

/// A packet contradicted the verdict held for `flow`: the attempt goes on. A refusing RST
/// followed by the server's real SYN-ACK was forged on the path: it is set aside (its packet
/// kept for the evidence). Live, the verdict was written: the attempt's next one corrects it.
fn reopen(flow: &mut Flow, held: &Held) {
    if held.verdict.is_none() {
        flow.revises = held.written;
    }
    if held.refused
        && let attempt::State::Tcp(s) = &mut flow.state
        && let Some(r) = s.rst.take()
    {
        s.injected_rst = std::num::NonZeroU64::new(r.origin.number);
    }
}

/// Gives `flow` its verdict and keeps only what its lingering needs.
fn finish(flow: &mut Flow, ending: Ending, ctx: &Context<'_>) -> Verdict {
    let v = classify::verdict(flow, ending, ctx);
    flow.release();
    v
}

/// A datagram that expects no answer from one host: sent to an IP multicast address or the
/// limited broadcast (255.255.255.255), or in a frame the link layer addressed to a broadcast
/// or multicast address (ff:ff:ff:ff:ff:ff: a subnet broadcast, whatever its last octet).
/// Where the link layer names a unicast station, an IPv4 address ending in .255 is an ordinary
/// host (in a /16, or in 198.18.0.0/15). Where it names none (raw IP, BSD loopback, a cooked
/// capture's outgoing frames), such an address is still taken for a subnet broadcast: a host's
/// own broadcasts (NetBIOS, BACnet, discovery) fill `-i any` captures, while a host at .255 of
/// a wider network seen without link headers is rare.
pub(crate) fn is_group_datagram(p: &Packet) -> bool {
    use crate::decode::LinkDest;
    let subnet_broadcast = |ip: IpAddr| matches!(ip, IpAddr::V4(a) if a.octets()[3] == 255);
    match p.link_dst {
        LinkDest::Group => true,
        LinkDest::Unicast => is_group_address(p.dst) || is_group_address(p.src),
        LinkDest::Unknown => {
            [p.dst, p.src].into_iter().any(|ip| is_group_address(ip) || subnet_broadcast(ip))
        }
    }
}

/// IP multicast, or the IPv4 limited broadcast.
fn is_group_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}

/// Whether an ICMP error means the attempt failed (as opposed to path-MTU news, redirects,
/// quench, parameter problems or a fragment reassembly timeout).
pub(crate) fn icmp_is_failure(kind: IcmpErrorKind, v6: bool, code: u8) -> bool {
    match kind {
        IcmpErrorKind::DestinationUnreachable => v6 || code != 4,
        IcmpErrorKind::TimeExceeded => code == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
