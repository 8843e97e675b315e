//! Incidents: patterns across attempts that no single verdict shows — one client failing on
//! many ports or hosts (a scan), many clients refused by one service (service down), every
//! attempt to one host failing (host down), retried SYNs and overload signs piling up at one
//! service (overload). Each kind is one pattern type with its own table.
//!
//! Only failures feed a pattern ([`counts_as_failure`]: never an attempt the capture cut short,
//! pushed out of the table, superseded, or only partly captured), plus, for overload, the
//! strain signs of attempts that got through ([`is_strain_sign`]). An incident's hint is chosen
//! from the causes it counted — the party they blame ([`Cause::blames`]) or, within one party,
//! the cause family most of them belong to — and names them with their counts; a service-down
//! is worded from what the same service accepted around the refusals.
//!
//! A pattern keeps, per key, a window that starts at the first qualifying attempt and restarts
//! when an attempt falls `window` seconds after it; when the window's count reaches the
//! threshold the incident is reported once (for that window).
//!
//! Every table is bounded, whatever the traffic:
//! - each pattern watches at most [`MAX_KEYS`] keys (clients, hosts or services); past that,
//!   new keys are not watched (their attempts still get verdicts, they just cannot add up to
//!   an incident);
//! - a window remembers at most as many distinct peers as its threshold needs (and never more
//!   than [`MAX_PEERS`]): the evidence is taken when the threshold is crossed, so peers past it
//!   would never be read;
//! - a window counts causes in a list at most as long as the [`Cause`] vocabulary;
//! - the services known to have accepted a client are at most [`MAX_KEYS`], each with two
//!   spans of accepted attempts (a few dozen bytes).
//!
//! So the detector holds at most about 4 × [`MAX_KEYS`] windows of a few hundred bytes each
//! (tens of MB with the default thresholds, under a flood of distinct sources).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value, json};

use crate::decode::Proto;
use crate::flow::Endpoint;
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Party, Verdict, VerdictKind};

/// Most keys each pattern watches at once, and most services remembered as having accepted.
pub const MAX_KEYS: usize = 100_000;
/// Most distinct peers a window remembers: the largest threshold of distinct targets or clients
/// (the CLI refuses larger ones).
pub const MAX_PEERS: usize = 1024;

/// Whether an attempt counts against the server, the host or the client: the project's one
/// rule of what a failure is ([`Cause::judgement`]). An attempt the capture cut short
/// (`capture-ended`), pushed out of the table (`evicted-before-timeout`), replaced by a new SYN
/// (`superseded`), aborted by its client while nothing of the server was captured
/// (`client-aborted`) or only partly captured (`partial`) says nothing against anyone.
fn counts_as_failure(c: Cause) -> bool {
    c.is_failure()
}

/// Whether an attempt that got through still shows a service straining (overload only): SYNs
/// retransmitted before the accept, a SYN-ACK resent after the client's ACK, a zero window.
fn is_strain_sign(c: Cause) -> bool {
    matches!(c, Cause::SlowAccept | Cause::SynAckRetransmitted | Cause::ZeroWindow)
}

/// Thresholds (the CLI exposes them; defaults documented in the README).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentConfig {
    /// The window each pattern counts within.
    pub window: Duration,
    /// Distinct server:port targets one client must fail on to be a scan (at most
    /// [`MAX_PEERS`]).
    pub scan_targets: usize,
    /// Distinct clients refused or turned away by one service to call it down (at most
    /// [`MAX_PEERS`]).
    pub service_clients: usize,
    /// Failed attempts (from any client) to one host, with none succeeding, to call it down.
    pub host_attempts: usize,
    /// Attempts showing overload (slow accept, SYN-ACK resent, zero window, 429/503,
    /// unanswered) at one service.
    pub overload_attempts: usize,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            window: Duration::from_secs_f64(60.0),
            scan_targets: 20,
            service_clients: 5,
            host_attempts: 10,
            overload_attempts: 10,
        }
    }
}

/// What kind of pattern an incident is. The words are the output contract (`incident` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    /// One client failing on many targets.
    Scan,
    /// Many clients refused by one service.
    ServiceDown,
    /// Every attempt to one host failing with silence or host-unreachable.
    HostDown,
    /// Attempts at one service retried, queued or turned away.
    Overload,
}

impl IncidentKind {
    /// The contract word.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Scan => "scan",
            IncidentKind::ServiceDown => "service-down",
            IncidentKind::HostDown => "host-down",
            IncidentKind::Overload => "overload",
        }
    }
}

impl fmt::Display for IncidentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares with the word, as the output reads.
impl PartialEq<&str> for IncidentKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// When the window began (first qualifying attempt).
    pub ts: Timestamp,
    /// The attempt that crossed the threshold.
    pub detected_ts: Timestamp,
    /// What pattern it is.
    pub kind: IncidentKind,
    /// Who: `client` for a scan, `server` (and `server_port`, `proto`) otherwise.
    pub subject: Map<String, Value>,
    /// Counts and examples.
    pub evidence: Map<String, Value>,
    /// What to check next.
    pub hint: String,
}

#[derive(Default)]
struct Window {
    start: Timestamp,
    /// The latest attempt counted (verdicts do not come in time order).
    last: Timestamp,
    attempts: u64,
    peers: FxHashSet<(IpAddr, u16)>,
    /// Attempts by cause, in first-seen order (a handful of causes: a scan beats hashing).
    causes: Vec<(Cause, u64)>,
    reported: bool,
}

impl Window {
    fn note(
        &mut self,
        ts: Timestamp,
        window: Duration,
        peer: (IpAddr, u16),
        cause: Cause,
        cap: usize,
    ) {
        if self.attempts == 0 || ts.since(self.start) > window {
            *self = Window { start: ts, last: ts, ..Window::default() };
        } else if ts < self.start {
            // Verdicts do not come in time order (a timeout is decided after later refusals;
            // tracker shards interleave): the window starts at its earliest attempt.
            self.start = ts;
        }
        self.last = self.last.max(ts);
        self.attempts += 1;
        if self.peers.len() < cap {
            self.peers.insert(peer);
        }
        match self.causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) => *n += 1,
            None => self.causes.push((cause, 1)),
        }
    }

    /// Attempts of one cause.
    fn count(&self, cause: Cause) -> u64 {
        self.causes.iter().find(|(c, _)| *c == cause).map_or(0, |&(_, n)| n)
    }

    /// Attempts by cause word (causes of different verdicts that share a word add up).
    fn by_word(&self) -> BTreeMap<&'static str, u64> {
        let mut by_word = BTreeMap::<&str, u64>::new();
        for &(c, n) in &self.causes {
            *by_word.entry(c.word()).or_default() += n;
        }
        by_word
    }

    fn causes_json(&self) -> Value {
        Value::Object(self.by_word().into_iter().map(|(k, n)| (k.to_string(), json!(n))).collect())
    }

    /// Attempts by the party their cause blames.
    fn by_party(&self) -> BTreeMap<Party, u64> {
        let mut by_party = BTreeMap::new();
        for &(c, n) in &self.causes {
            *by_party.entry(c.blames()).or_default() += n;
        }
        by_party
    }

    fn blames_json(&self) -> Value {
        Value::Object(
            self.by_party().into_iter().map(|(p, n)| (p.as_str().to_string(), json!(n))).collect(),
        )
    }

    /// The causes as the hint names them, most frequent first: `4 host-reset, 1 path-reset`.
    fn causes_text(&self) -> String {
        let mut words: Vec<(&str, u64)> = self.by_word().into_iter().collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        words.iter().map(|(w, n)| format!("{n} {w}")).collect::<Vec<_>>().join(", ")
    }

    /// The party most attempts blame (on a tie, the first of client, server, path), with how
    /// many attempts blame it.
    fn lead_party(&self) -> (Party, u64) {
        lead(self.by_party(), Party::Server)
    }

    /// The family (as `family` sorts causes) most attempts belong to, with how many.
    fn lead_family<F: Ord + Copy>(&self, family: impl Fn(Cause) -> F, none: F) -> (F, u64) {
        let mut by_family = BTreeMap::new();
        for &(c, n) in &self.causes {
            *by_family.entry(family(c)).or_default() += n;
        }
        lead(by_family, none)
    }

    /// `all 5` or `3 of the 5`: how many of the window's attempts a share is.
    fn share(&self, n: u64) -> String {
        if n == self.attempts {
            format!("all {n}")
        } else {
            format!("{n} of the {}", self.attempts)
        }
    }
}

/// `1 connection`, `3 connections`.
fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("{n} {noun}") } else { format!("{n} {noun}s") }
}

/// The key with the largest count (the first such key on a tie), and its count (`none` and 0
/// when nothing was counted).
fn lead<K: Copy>(counts: BTreeMap<K, u64>, none: K) -> (K, u64) {
    let mut best = (none, 0);
    for (k, n) in counts {
        if n > best.1 {
            best = (k, n);
        }
    }
    best
}

/// One pattern's windows by key: at most [`MAX_KEYS`] keys, each remembering at most `peers`
/// distinct peers.
struct Windows<K> {
    map: FxHashMap<K, Window>,
    peers: usize,
}

impl<K: std::hash::Hash + Eq> Windows<K> {
    fn new(threshold: usize) -> Self {
        Windows { map: FxHashMap::default(), peers: threshold.clamp(1, MAX_PEERS) }
    }

    /// Counts an attempt in `key`'s window (created unless the table is full; one lookup
    /// either way, as a flood of new clients hits a full table with every verdict), and
    /// returns the window when it has not reported yet.
    fn note(
        &mut self,
        key: K,
        v: &Verdict,
        window: Duration,
        peer: (IpAddr, u16),
    ) -> Option<&mut Window> {
        let win = if self.map.len() >= MAX_KEYS {
            self.map.get_mut(&key)?
        } else {
            self.map.entry(key).or_default()
        };
        win.note(v.ts, window, peer, v.cause, self.peers);
        (!win.reported).then_some(win)
    }

    /// Starts `key`'s window over (the pattern was contradicted).
    fn reset(&mut self, key: &K) {
        if let Some(win) = self.map.get_mut(key) {
            *win = Window::default();
        }
    }
}

type Service = (Proto, Endpoint);

/// One client failing on many distinct targets.
struct ScanPattern {
    windows: Windows<IpAddr>,
    /// Pings that failed, by client: a sweep of many hosts (host discovery, `nmap -sn`).
    sweeps: Windows<IpAddr>,
    targets: usize,
}

impl ScanPattern {
    fn observe(&mut self, v: &Verdict, w: Duration) -> Option<Incident> {
        // A ping has no port: pings that fail are no port scan (a host that is down fails
        // them all; the host-down pattern counts them), but pings failing on many hosts are
        // a sweep.
        if v.proto == Proto::Icmp {
            return self.sweep(v, w);
        }
        // A half-open probe of an open port (SYN, SYN-ACK, the client's RST) is no failure,
        // but a SYN scan of open ports is made of them: they count here, and only here.
        let probe = v.cause == Cause::ClientAbortedHandshake;
        if !probe
            && (!counts_as_failure(v.cause)
                || !matches!(
                    v.kind(),
                    VerdictKind::Refused | VerdictKind::Unanswered | VerdictKind::Unreachable
                ))
        {
            return None;
        }
        let win = self.windows.note(v.client.ip, v, w, (v.server.ip, v.server.port))?;
        if win.peers.len() < self.targets {
            return None;
        }
        win.reported = true;
        let hosts: FxHashSet<IpAddr> = win.peers.iter().map(|p| p.0).collect();
        let ports: FxHashSet<u16> = win.peers.iter().map(|p| p.1).collect();
        let (party, n) = win.lead_party();
        let (client, targets, secs, causes) =
            (v.client.ip, win.peers.len(), w.as_secs_f64(), win.causes_text());
        let probes = win.count(Cause::ClientAbortedHandshake);
        let what = if probes == 0 {
            format!("failed on {targets} targets")
        } else {
            format!(
                "probed {targets} targets ({}, reset half-open by the client)",
                count(probes, "open port")
            )
        };
        let hint = if party == Party::Path {
            format!(
                "{client} {what} within {secs}s, {} turned away on the path ({causes}): a port scan or a misconfigured client meeting a firewall; check what runs on {client}, then the firewalls and routes between it and the targets",
                win.share(n)
            )
        } else {
            format!(
                "{client} {what} within {secs}s ({causes}): a port scan or a misconfigured client; check what runs on {client}"
            )
        };
        let mut evidence = obj(json!({
            "failed_attempts": win.attempts - probes,
            "targets": targets,
            "hosts": hosts.len(),
            "ports": ports.len(),
            "causes": win.causes_json(),
            "blames": win.blames_json(),
            "window": secs,
        }));
        if probes > 0 {
            evidence.insert("half_open_probes".into(), json!(probes));
        }
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::Scan,
            subject: obj(json!({"client": v.client.ip.to_string()})),
            evidence,
            hint,
        })
    }
}

impl ScanPattern {
    /// One client's pings unanswered or unreachable on as many hosts as a scan's targets.
    fn sweep(&mut self, v: &Verdict, w: Duration) -> Option<Incident> {
        if !counts_as_failure(v.cause)
            || !matches!(v.kind(), VerdictKind::Unanswered | VerdictKind::Unreachable)
        {
            return None;
        }
        let win = self.sweeps.note(v.client.ip, v, w, (v.server.ip, 0))?;
        if win.peers.len() < self.targets {
            return None;
        }
        win.reported = true;
        let (client, hosts, secs, causes) =
            (v.client.ip, win.peers.len(), w.as_secs_f64(), win.causes_text());
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::Scan,
            subject: obj(json!({"client": client.to_string()})),
            evidence: obj(json!({
                "failed_attempts": win.attempts,
                "targets": hosts,
                "hosts": hosts,
                "ping_sweep": true,
                "causes": win.causes_json(),
                "blames": win.blames_json(),
                "window": secs,
            })),
            hint: format!(
                "{client} pinged {hosts} hosts within {secs}s without an answer ({causes}): a ping sweep (host discovery such as `nmap -sn`) or a monitor pinging hosts that are gone or filter ICMP; check what runs on {client}"
            ),
        })
    }
}

/// Many clients refused (by a reset, a port-unreachable or an administratively-prohibited ICMP
/// error) at one server:port.
struct ServiceDownPattern {
    windows: Windows<Service>,
    clients: usize,
}

impl ServiceDownPattern {
    fn observe(&mut self, v: &Verdict, w: Duration, accepted: &Accepted) -> Option<Incident> {
        let refusal = v.kind() == VerdictKind::Refused
            || matches!(
                v.cause,
                Cause::PortUnreachable
                    | Cause::AdminProhibited
                    | Cause::HostProhibited
                    | Cause::NetProhibited
            );
        if !refusal || !counts_as_failure(v.cause) {
            return None;
        }
        let service = (v.proto, v.server);
        let win = self.windows.note(service, v, w, (v.client.ip, 0))?;
        if win.peers.len() < self.clients {
            return None;
        }
        win.reported = true;
        let around = accepted.around(&service, win.start, win.last);
        let (party, n) = win.lead_party();
        let (s, ip, k, causes) = (v.server, v.server.ip, win.peers.len(), win.causes_text());
        let (clients, accepts) = (count(k as u64, "client"), count(around.during, "connection"));
        let mixed = if n == win.attempts { "" } else { "mostly " };
        let hint = if party == Party::Path {
            let up = if around.during > 0 {
                format!("; {s} itself accepted {accepts} in the same window")
            } else if around.before {
                format!("; {s} itself had accepted connections earlier")
            } else {
                String::new()
            };
            // A path's reset is told by its hop count; an ICMP error by its sender, which may
            // be the server's own firewall.
            let icmp = win
                .causes
                .iter()
                .any(|&(c, _)| c.blames() == Party::Path && c.kind() == VerdictKind::Unreachable);
            let reporter = if icmp {
                " (for the ICMP errors, the host that sent them: `reporter` in each flow's evidence)"
            } else {
                ""
            };
            format!(
                "{} refusals of {clients} at {s} came from a firewall or another device on the path, not from the service ({causes}): check the firewalls, load balancers and IPSs between the clients and {ip}{reporter}{up}",
                win.share(n)
            )
        } else if around.during > 0 && !around.proven_during {
            format!(
                "{s} accepted {accepts} in the same window, before and after refusing {clients} ({mixed}{causes}): it restarted in between, or a per-client rule (firewall, rate limit, ACL) turned these clients away; check its log on {ip}"
            )
        } else if around.during > 0 {
            format!(
                "{s} refused {clients} ({mixed}{causes}) while it accepted {accepts} in the same window: a per-client rule (firewall, rate limit, ACL) on {ip}, not a stopped service; check which clients it turns away"
            )
        } else if around.before && around.after {
            format!(
                "{s} accepted connections before and after refusing {clients} ({mixed}{causes}): the service was stopped or restarting in between; check its log on {ip}"
            )
        } else if around.before {
            format!(
                "{s} accepted connections earlier, then refused {clients} ({mixed}{causes}): the service stopped or crashed; check it on {ip}"
            )
        } else if around.after {
            format!(
                "{s} refused {clients} ({mixed}{causes}), then accepted connections: the service started late or was restarting; check its log on {ip}"
            )
        } else {
            format!(
                "{s} refused {clients} ({mixed}{causes}): nothing listens there; check the service on {ip} (`ss -ltn`)"
            )
        };
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::ServiceDown,
            subject: service_subject(service),
            evidence: obj(json!({
                "refused_attempts": win.attempts,
                "clients": k,
                "causes": win.causes_json(),
                "blames": win.blames_json(),
                "accepted_earlier": around.before,
                "accepted_in_window": around.during,
                "window": w.as_secs_f64(),
            })),
            hint,
        })
    }
}

/// What the evidence of a host-down says of the host, by cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HostSilence {
    /// Nobody answered ARP / neighbour discovery for it (`host-down`).
    NoNeighbour,
    /// A router reported it unreachable (`host-unreachable`, `address-unreachable`, ...).
    RouterReported,
    /// Nothing came back, and the capture shows nothing else of it (`no-response`).
    Silent,
}

impl HostSilence {
    fn of(c: Cause) -> Option<HostSilence> {
        match c {
            Cause::HostDown => Some(HostSilence::NoNeighbour),
            Cause::HostUnreachable
            | Cause::HostUnknown
            | Cause::HostUnreachableForTos
            | Cause::AddressUnreachable => Some(HostSilence::RouterReported),
            Cause::NoResponse => Some(HostSilence::Silent),
            _ => None,
        }
    }
}

/// Attempts to one host that keep failing with silence or host-unreachable, none answered.
struct HostDownPattern {
    windows: Windows<IpAddr>,
    attempts: usize,
}

impl HostDownPattern {
    fn observe(&mut self, v: &Verdict, w: Duration, reached_server: bool) -> Option<Incident> {
        if reached_server || v.kind() == VerdictKind::Refused {
            // The host answered: a new window must start over.
            self.windows.reset(&v.server.ip);
            return None;
        }
        if !counts_as_failure(v.cause) || HostSilence::of(v.cause).is_none() {
            return None;
        }
        let win = self.windows.note(v.server.ip, v, w, (v.client.ip, v.server.port))?;
        if (win.attempts as usize) < self.attempts {
            return None;
        }
        win.reported = true;
        let (family, n) = win.lead_family(
            |c| HostSilence::of(c).unwrap_or(HostSilence::Silent),
            HostSilence::Silent,
        );
        let (ip, share, causes) = (v.server.ip, win.share(n), win.causes_text());
        let hint = match family {
            HostSilence::NoNeighbour => format!(
                "nobody answered ARP / neighbour discovery for {ip} in {share} failed attempts ({causes}): it is down or absent on its network; check that it is up and its address is right"
            ),
            HostSilence::RouterReported => format!(
                "a router reported {ip} unreachable in {share} failed attempts ({causes}): it is down or absent on the last router's network; check that it is up and the router's ARP / neighbour table"
            ),
            HostSilence::Silent => format!(
                "nothing came back from {ip} in {share} failed attempts ({causes}) and nothing else of it was seen: the host is down, not routed, or a firewall drops everything to it; check that it is up and routed"
            ),
        };
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::HostDown,
            subject: obj(json!({"server": v.server.ip.to_string()})),
            evidence: obj(json!({
                "failed_attempts": win.attempts,
                "clients_and_ports": win.peers.len(),
                "causes": win.causes_json(),
                "blames": win.blames_json(),
                "window": w.as_secs_f64(),
            })),
            hint,
        })
    }
}

/// What an overload's attempts show, by cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Strain {
    /// SYNs retransmitted, SYN-ACKs resent, SYNs unanswered: the accept queue.
    Queue,
    /// The application stopped reading (`zero-window`).
    NotReading,
    /// HTTP 429 / 503.
    TurnedAway,
    /// Reset right after the accept, before any request: a connection limit.
    ResetAtAccept,
}

impl Strain {
    fn of(c: Cause) -> Strain {
        match c {
            Cause::ZeroWindow => Strain::NotReading,
            Cause::HttpOverloaded => Strain::TurnedAway,
            Cause::ResetBeforeRequest => Strain::ResetAtAccept,
            _ => Strain::Queue,
        }
    }
}

/// Attempts at one service showing it cannot keep up.
struct OverloadPattern {
    windows: Windows<Service>,
    attempts: usize,
}

impl OverloadPattern {
    fn observe(&mut self, v: &Verdict, w: Duration, accepted: &Accepted) -> Option<Incident> {
        let service = (v.proto, v.server);
        let overloaded = is_strain_sign(v.cause)
            || (counts_as_failure(v.cause)
                && (matches!(v.cause, Cause::HttpOverloaded | Cause::ResetBeforeRequest)
                    || (v.kind() == VerdictKind::Unanswered
                        && v.proto == Proto::Tcp
                        && accepted.any(&service))));
        if !overloaded {
            return None;
        }
        let win = self.windows.note(service, v, w, (v.client.ip, 0))?;
        if (win.attempts as usize) < self.attempts {
            return None;
        }
        win.reported = true;
        let (family, n) = win.lead_family(Strain::of, Strain::Queue);
        let (s, ip, share, causes) = (v.server, v.server.ip, win.share(n), win.causes_text());
        let hint = match family {
            Strain::Queue => format!(
                "{s} shows overload: {share} attempts retried, queued or unanswered ({causes}): check its accept queue (`ss -ltn` Recv-Q, `nstat -az TcpExtListenOverflows`) and capacity"
            ),
            Strain::NotReading => format!(
                "{s} shows overload: {share} attempts stalled by a zero window ({causes}): its application stopped reading; check the process on {ip} (stuck, overloaded)"
            ),
            Strain::TurnedAway => format!(
                "{s} shows overload: {share} attempts answered 429 or 503 ({causes}): check its rate limits, capacity and log"
            ),
            Strain::ResetAtAccept => format!(
                "{s} shows overload: {share} attempts reset right after the accept ({causes}): check its connection limits and log on {ip}"
            ),
        };
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::Overload,
            subject: service_subject(service),
            evidence: obj(json!({
                "attempts": win.attempts,
                "clients": win.peers.len(),
                "causes": win.causes_json(),
                "blames": win.blames_json(),
                "window": w.as_secs_f64(),
            })),
            hint,
        })
    }
}

/// Accepted attempts at one service within one span of at most the window.
#[derive(Clone, Copy, Default)]
struct Span {
    first: Timestamp,
    last: Timestamp,
    count: u64,
}

impl Span {
    /// Whether `ts` fits in the span without stretching it past `w`.
    fn fits(&self, ts: Timestamp, w: Duration) -> bool {
        self.count > 0 && self.last.max(ts).since(self.first.min(ts)) <= w
    }

    fn add(&mut self, ts: Timestamp) {
        if self.count == 0 {
            *self = Span { first: ts, last: ts, count: 0 };
        }
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        self.count += 1;
    }

    fn overlaps(&self, from: Timestamp, to: Timestamp) -> bool {
        self.count > 0 && self.first <= to && self.last >= from
    }

    /// Whether one of the span's own accepts (its first or its last) lies in `from..=to`.
    fn has_one_in(&self, from: Timestamp, to: Timestamp) -> bool {
        self.count > 0 && ((from..=to).contains(&self.first) || (from..=to).contains(&self.last))
    }
}

/// What one service accepted: its earliest accepted attempt and its last two spans of accepted
/// attempts (each at most the window long), to tell a service that stopped from one that kept
/// accepting others while it refused some.
#[derive(Clone, Copy, Default)]
struct Accepts {
    earliest: Timestamp,
    latest: Timestamp,
    current: Span,
    previous: Span,
}

/// What a service accepted around a window of refusals.
#[derive(Debug, Default, PartialEq)]
struct Around {
    /// Accepted attempts in the spans of accepts that overlap the refusals' window.
    during: u64,
    /// Some accepted attempt is known to lie between the first and the last refusal (a span
    /// of accepts begins or ends there); else the overlapping spans only straddle the
    /// refusals, which a restart and a per-client rule both explain.
    proven_during: bool,
    /// An accepted attempt began before the first refusal.
    before: bool,
    /// An accepted attempt began after the last refusal.
    after: bool,
}

/// Services that accepted some client, and when: at most [`MAX_KEYS`]; past that, new services
/// are not remembered.
#[derive(Default)]
struct Accepted(FxHashMap<Service, Accepts>);

impl Accepted {
    fn note(&mut self, service: Service, ts: Timestamp, w: Duration) {
        let a = if self.0.len() >= MAX_KEYS {
            let Some(a) = self.0.get_mut(&service) else { return };
            a
        } else {
            self.0.entry(service).or_insert(Accepts {
                earliest: ts,
                latest: ts,
                ..Accepts::default()
            })
        };
        a.earliest = a.earliest.min(ts);
        a.latest = a.latest.max(ts);
        if a.current.count == 0 || a.current.fits(ts, w) {
            a.current.add(ts);
        } else if a.previous.fits(ts, w) {
            a.previous.add(ts);
        } else if ts > a.current.last {
            a.previous = a.current;
            a.current = Span::default();
            a.current.add(ts);
        }
        // Else an accept older than both spans, decided late: it still counts as `earliest`.
    }

    fn any(&self, service: &Service) -> bool {
        self.0.contains_key(service)
    }

    /// What `service` accepted around refusals from `from` to `to`.
    fn around(&self, service: &Service, from: Timestamp, to: Timestamp) -> Around {
        let Some(a) = self.0.get(service) else { return Around::default() };
        let spans = [a.previous, a.current];
        Around {
            during: spans.iter().filter(|s| s.overlaps(from, to)).map(|s| s.count).sum(),
            proven_during: spans.iter().any(|s| s.has_one_in(from, to)),
            before: a.earliest < from,
            after: a.latest > to,
        }
    }
}

/// Watches verdicts for incidents.
pub struct IncidentDetector {
    window: Duration,
    scans: ScanPattern,
    services: ServiceDownPattern,
    hosts: HostDownPattern,
    overloads: OverloadPattern,
    accepted: Accepted,
}

impl Default for IncidentDetector {
    fn default() -> Self {
        IncidentDetector::new(IncidentConfig::default())
    }
}

impl IncidentDetector {
    /// A detector with these thresholds.
    pub fn new(config: IncidentConfig) -> Self {
        IncidentDetector {
            window: config.window,
            scans: ScanPattern {
                windows: Windows::new(config.scan_targets),
                sweeps: Windows::new(config.scan_targets),
                targets: config.scan_targets,
            },
            services: ServiceDownPattern {
                windows: Windows::new(config.service_clients),
                clients: config.service_clients,
            },
            hosts: HostDownPattern {
                windows: Windows::new(config.host_attempts),
                attempts: config.host_attempts,
            },
            overloads: OverloadPattern {
                windows: Windows::new(config.overload_attempts),
                attempts: config.overload_attempts,
            },
            accepted: Accepted::default(),
        }
    }

    /// Looks at one verdict; returns the incidents it completes (scan, service down, host
    /// down, overload, in that order).
    pub fn observe(&mut self, v: &Verdict) -> Vec<Incident> {
        let w = self.window;
        // The server answered: its handshake completed, or it sent something back. A DNS query
        // nobody answered, or one cut short by the end of the capture, does not show it.
        let reached_server = matches!(
            v.kind(),
            VerdictKind::Established
                | VerdictKind::Answered
                | VerdictKind::Rejected
                | VerdictKind::Mismatch
                | VerdictKind::DnsFailure
        ) && !matches!(v.cause, Cause::DnsNoResponse | Cause::DnsCaptureEnded);
        if reached_server {
            self.accepted.note((v.proto, v.server), v.ts, w);
        }
        let mut new = Vec::new();
        new.extend(self.scans.observe(v, w));
        new.extend(self.services.observe(v, w, &self.accepted));
        new.extend(self.hosts.observe(v, w, reached_server));
        new.extend(self.overloads.observe(v, w, &self.accepted));
        new
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn service_subject((proto, ep): Service) -> Map<String, Value> {
    obj(json!({"proto": proto.as_str(), "server": ep.ip.to_string(), "server_port": ep.port}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Origin;

    fn verdict(
        ts: f64,
        client: &str,
        cport: u16,
        server: &str,
        port: u16,
        kind: VerdictKind,
        cause: &'static str,
    ) -> Verdict {
        let cause = Cause::parse(kind, cause).expect("a cause of that verdict");
        Verdict {
            id: 0,
            ts: Timestamp::from_secs_f64(ts),
            last_ts: Timestamp::from_secs_f64(ts),
            first_packet: Origin::default(),
            proto: Proto::Tcp,
            vlan: 0,
            tunnel: None,
            client: Endpoint::new(client.parse().unwrap(), cport),
            server: Endpoint::new(server.parse().unwrap(), port),
            cause,
            evidence: crate::verdict::Evidence::new(),
            hint: crate::verdict::Hint::new(
                cause,
                Endpoint::new(client.parse().unwrap(), cport),
                Endpoint::new(server.parse().unwrap(), port),
            ),
            conn_state: "S0",
            revises: None,
        }
    }

    /// A detector and every incident it reported.
    #[derive(Default)]
    struct Recorder {
        d: IncidentDetector,
        found: Vec<Incident>,
    }

    impl Recorder {
        fn observe(&mut self, v: &Verdict) {
            self.found.extend(self.d.observe(v));
        }

        fn incidents(&self) -> &[Incident] {
            &self.found
        }
    }

    fn kinds(d: &Recorder) -> Vec<&'static str> {
        d.incidents().iter().map(|i| i.kind.as_str()).collect()
    }

    /// `i` in full: window start, detection, kind, subject, evidence and hint.
    fn assert_incident(
        i: &Incident,
        (ts, detected): (f64, f64),
        kind: &str,
        subject: Value,
        evidence: Value,
        hint: &str,
    ) {
        assert_eq!(i.ts, Timestamp::from_secs_f64(ts), "window start of {i:?}");
        assert_eq!(i.detected_ts, Timestamp::from_secs_f64(detected), "detection of {i:?}");
        assert_eq!(i.kind, kind);
        assert_eq!(Value::Object(i.subject.clone()), subject);
        assert_eq!(Value::Object(i.evidence.clone()), evidence);
        assert_eq!(i.hint, hint);
    }

    fn service(server: &str, port: u16) -> Value {
        json!({"proto": "tcp", "server": server, "server_port": port})
    }

    /// Five clients (192.0.2.1 to .5) refused at `server:port` at `t0`, `t0 + 1`, …, each
    /// with its cause.
    fn refuse_five(d: &mut Recorder, t0: f64, server: &str, port: u16, causes: [&'static str; 5]) {
        for (i, cause) in causes.into_iter().enumerate() {
            let c = i as u8 + 1;
            d.observe(&verdict(
                t0 + f64::from(c) - 1.0,
                &format!("192.0.2.{c}"),
                1,
                server,
                port,
                VerdictKind::Refused,
                cause,
            ));
        }
    }

    /// `n` connections accepted at `server:port` from other clients (192.0.2.100, …), one a
    /// second from `t0`.
    fn accept(d: &mut Recorder, t0: f64, n: u8, server: &str, port: u16) {
        for i in 0..n {
            d.observe(&verdict(
                t0 + f64::from(i),
                &format!("192.0.2.{}", 100 + i),
                2,
                server,
                port,
                VerdictKind::Established,
                "closed",
            ));
        }
    }

    #[test]
    fn a_client_failing_on_many_ports_is_a_scan_reported_once() {
        let mut d = Recorder::default();
        for port in 1..=100u16 {
            d.observe(&verdict(
                f64::from(port) * 0.01,
                "192.0.2.66",
                40000,
                "198.51.100.7",
                port,
                VerdictKind::Refused,
                "host-reset",
            ));
        }
        assert_eq!(kinds(&d), vec!["scan"]);
        assert_incident(
            &d.incidents()[0],
            (0.01, 0.2),
            "scan",
            json!({"client": "192.0.2.66"}),
            json!({"failed_attempts": 20, "targets": 20, "hosts": 1, "ports": 20,
                   "causes": {"host-reset": 20}, "blames": {"server": 20}, "window": 60.0}),
            "192.0.2.66 failed on 20 targets within 60s (20 host-reset): a port scan or a misconfigured client; check what runs on 192.0.2.66",
        );
    }

    /// A SYN scan of open ports is made of half-open probes (SYN, SYN-ACK, the client's RST):
    /// no failures, but they count toward the scan, and say so; they feed nothing else.
    #[test]
    fn half_open_probes_count_toward_a_scan_and_nothing_else() {
        let mut d = Recorder::default();
        for port in 1..=20u16 {
            let (kind, cause) = if port % 4 == 0 {
                (VerdictKind::Established, "client-aborted-handshake")
            } else {
                (VerdictKind::Refused, "host-reset")
            };
            d.observe(&verdict(
                f64::from(port) * 0.01,
                "192.0.2.66",
                41400,
                "198.51.100.7",
                port,
                kind,
                cause,
            ));
        }
        assert_eq!(kinds(&d), vec!["scan"]);
        assert_incident(
            &d.incidents()[0],
            (0.01, 0.2),
            "scan",
            json!({"client": "192.0.2.66"}),
            json!({"failed_attempts": 15, "half_open_probes": 5, "targets": 20, "hosts": 1,
                   "ports": 20, "causes": {"host-reset": 15, "client-aborted-handshake": 5},
                   "blames": {"server": 15, "client": 5}, "window": 60.0}),
            "192.0.2.66 probed 20 targets (5 open ports, reset half-open by the client) within 60s (15 host-reset, 5 client-aborted-handshake): a port scan or a misconfigured client; check what runs on 192.0.2.66",
        );
        // Probes alone, from many clients at one service: no service down, no overload.
        let mut d = Recorder::default();
        for i in 0..100u16 {
            let client = format!("192.0.2.{}", i % 50);
            d.observe(&verdict(
                f64::from(i) * 0.01,
                &client,
                2000 + i,
                "198.51.100.7",
                80,
                VerdictKind::Established,
                "client-aborted-handshake",
            ));
        }
        assert!(kinds(&d).is_empty(), "{:?}", kinds(&d));
    }

    /// A scan turned away on the path (a firewall's silence, a router's refusals) says so.
    #[test]
    fn a_scan_turned_away_on_the_path_says_so() {
        let mut d = Recorder::default();
        for port in 1..=20u16 {
            let (kind, cause) = if port <= 15 {
                (VerdictKind::Unanswered, "filtered")
            } else {
                (VerdictKind::Refused, "host-reset")
            };
            d.observe(&verdict(
                f64::from(port),
                "192.0.2.66",
                1,
                "198.51.100.7",
                port,
                kind,
                cause,
            ));
        }
        assert_eq!(kinds(&d), vec!["scan"]);
        assert_incident(
            &d.incidents()[0],
            (1.0, 20.0),
            "scan",
            json!({"client": "192.0.2.66"}),
            json!({"failed_attempts": 20, "targets": 20, "hosts": 1, "ports": 20,
                   "causes": {"filtered": 15, "host-reset": 5},
                   "blames": {"path": 15, "server": 5}, "window": 60.0}),
            "192.0.2.66 failed on 20 targets within 60s, 15 of the 20 turned away on the path (15 filtered, 5 host-reset): a port scan or a misconfigured client meeting a firewall; check what runs on 192.0.2.66, then the firewalls and routes between it and the targets",
        );
    }

    /// One-way traffic (issue 13) is no failure: a flow exporter or syslog client sending to
    /// many collectors, or many streams to one silent collector, raise no incident.
    #[test]
    fn one_way_conversations_raise_no_incident() {
        let mut d = Recorder::default();
        for i in 0..50u16 {
            for (server, port) in
                [(format!("198.51.100.{}", i % 30), 6343 + i), ("198.51.100.99".into(), 514)]
            {
                d.observe(&verdict(
                    f64::from(i) * 0.1,
                    "192.0.2.66",
                    40000 + i,
                    &server,
                    port,
                    VerdictKind::OneWay,
                    "one-way-protocol",
                ));
            }
        }
        assert!(kinds(&d).is_empty(), "{:?}", kinds(&d));
    }

    #[test]
    fn failures_spread_beyond_the_window_are_not_a_scan() {
        let mut d = Recorder::default();
        for port in 1..=100u16 {
            d.observe(&verdict(
                f64::from(port) * 10.0,
                "192.0.2.66",
                40000,
                "198.51.100.7",
                port,
                VerdictKind::Refused,
                "host-reset",
            ));
        }
        assert!(kinds(&d).is_empty());
    }

    #[test]
    fn many_clients_refused_after_the_service_accepted_is_service_down() {
        let mut d = Recorder::default();
        d.observe(&verdict(
            0.0,
            "192.0.2.1",
            1,
            "198.51.100.7",
            443,
            VerdictKind::Established,
            "closed",
        ));
        for c in 2..=6u8 {
            d.observe(&verdict(
                f64::from(c),
                &format!("192.0.2.{c}"),
                1,
                "198.51.100.7",
                443,
                VerdictKind::Refused,
                "host-reset",
            ));
        }
        assert_eq!(kinds(&d), vec!["service-down"]);
        assert_incident(
            &d.incidents()[0],
            (2.0, 6.0),
            "service-down",
            service("198.51.100.7", 443),
            json!({"refused_attempts": 5, "clients": 5, "causes": {"host-reset": 5},
                   "blames": {"server": 5}, "accepted_earlier": true, "accepted_in_window": 0,
                   "window": 60.0}),
            "198.51.100.7:443 accepted connections earlier, then refused 5 clients (5 host-reset): the service stopped or crashed; check it on 198.51.100.7",
        );
    }

    /// The case: every refusal is a reset forged on the path while the service
    /// accepts others: the hint points at the path, with the counts, never at a crash.
    #[test]
    fn path_resets_at_a_service_that_accepts_others_point_at_the_path() {
        let mut d = Recorder::default();
        accept(&mut d, 0.0, 20, "198.51.100.7", 443);
        refuse_five(&mut d, 5.0, "198.51.100.7", 443, ["path-reset"; 5]);
        // Nothing accepted at all: the path still, without the note.
        refuse_five(
            &mut d,
            5.0,
            "198.51.100.8",
            443,
            ["path-reset", "path-reset", "path-reset", "host-reset", "host-reset"],
        );
        assert_eq!(kinds(&d), vec!["service-down", "service-down"]);
        assert_incident(
            &d.incidents()[0],
            (5.0, 9.0),
            "service-down",
            service("198.51.100.7", 443),
            json!({"refused_attempts": 5, "clients": 5, "causes": {"path-reset": 5},
                   "blames": {"path": 5}, "accepted_earlier": true, "accepted_in_window": 20,
                   "window": 60.0}),
            "all 5 refusals of 5 clients at 198.51.100.7:443 came from a firewall or another device on the path, not from the service (5 path-reset): check the firewalls, load balancers and IPSs between the clients and 198.51.100.7; 198.51.100.7:443 itself accepted 20 connections in the same window",
        );
        assert_incident(
            &d.incidents()[1],
            (5.0, 9.0),
            "service-down",
            service("198.51.100.8", 443),
            json!({"refused_attempts": 5, "clients": 5,
                   "causes": {"path-reset": 3, "host-reset": 2},
                   "blames": {"path": 3, "server": 2}, "accepted_earlier": false,
                   "accepted_in_window": 0, "window": 60.0}),
            "3 of the 5 refusals of 5 clients at 198.51.100.8:443 came from a firewall or another device on the path, not from the service (3 path-reset, 2 host-reset): check the firewalls, load balancers and IPSs between the clients and 198.51.100.8",
        );
    }

    /// Refusals mostly from the server itself, nothing accepted: nothing listens, and the hint
    /// says the causes were mixed; a router's administratively-prohibited errors are the path.
    #[test]
    fn mixed_refusals_are_named_by_their_majority() {
        let mut d = Recorder::default();
        for c in 1..=5u8 {
            d.observe(&verdict(
                f64::from(c),
                &format!("192.0.2.{c}"),
                1,
                "198.51.100.9",
                5432,
                VerdictKind::Unreachable,
                if c == 5 { "port-unreachable" } else { "admin-prohibited" },
            ));
        }
        assert_eq!(kinds(&d), vec!["service-down"]);
        assert_incident(
            &d.incidents()[0],
            (1.0, 5.0),
            "service-down",
            service("198.51.100.9", 5432),
            json!({"refused_attempts": 5, "clients": 5,
                   "causes": {"admin-prohibited": 4, "port-unreachable": 1},
                   "blames": {"path": 4, "server": 1}, "accepted_earlier": false,
                   "accepted_in_window": 0, "window": 60.0}),
            "4 of the 5 refusals of 5 clients at 198.51.100.9:5432 came from a firewall or another device on the path, not from the service (4 admin-prohibited, 1 port-unreachable): check the firewalls, load balancers and IPSs between the clients and 198.51.100.9 (for the ICMP errors, the host that sent them: `reporter` in each flow's evidence)",
        );
        d.found.clear();
        refuse_five(
            &mut d,
            0.0,
            "198.51.100.7",
            25,
            ["host-reset", "path-reset", "host-reset", "host-reset", "host-reset"],
        );
        assert_eq!(kinds(&d), vec!["service-down"]);
        assert_incident(
            &d.incidents()[0],
            (0.0, 4.0),
            "service-down",
            service("198.51.100.7", 25),
            json!({"refused_attempts": 5, "clients": 5,
                   "causes": {"host-reset": 4, "path-reset": 1},
                   "blames": {"path": 1, "server": 4}, "accepted_earlier": false,
                   "accepted_in_window": 0, "window": 60.0}),
            "198.51.100.7:25 refused 5 clients (mostly 4 host-reset, 1 path-reset): nothing listens there; check the service on 198.51.100.7 (`ss -ltn`)",
        );
    }

    /// Accepts long before the refusals are not "in the same window": the service stopped;
    /// accepts before and after it are a restart; an accept decided late but inside the
    /// refusals' window counts.
    #[test]
    fn only_accepts_in_the_window_make_refusals_per_client() {
        let mut d = Recorder::default();
        accept(&mut d, 0.0, 3, "198.51.100.7", 80);
        refuse_five(&mut d, 100.0, "198.51.100.7", 80, ["host-reset"; 5]);
        accept(&mut d, 0.0, 3, "198.51.100.8", 80);
        refuse_five(
            &mut d,
            100.0,
            "198.51.100.8",
            80,
            ["host-reset", "host-reset", "host-reset", "host-reset", "reset"],
        );
        accept(&mut d, 200.0, 1, "198.51.100.8", 80);
        // .9: four refusals, then the verdict of a connection accepted between them (decided
        // at its close), then the fifth refusal.
        for c in 1..=4u8 {
            d.observe(&verdict(
                300.0 + f64::from(c),
                &format!("192.0.2.{c}"),
                1,
                "198.51.100.9",
                80,
                VerdictKind::Refused,
                "host-reset",
            ));
        }
        accept(&mut d, 302.5, 1, "198.51.100.9", 80);
        d.observe(&verdict(
            305.0,
            "192.0.2.5",
            1,
            "198.51.100.9",
            80,
            VerdictKind::Refused,
            "host-reset",
        ));
        // The restart at .8 is known only once its later accept is seen: the incident was
        // reported at the fifth refusal, before it.
        assert_eq!(kinds(&d), vec!["service-down", "service-down", "service-down"]);
        assert_incident(
            &d.incidents()[0],
            (100.0, 104.0),
            "service-down",
            service("198.51.100.7", 80),
            json!({"refused_attempts": 5, "clients": 5, "causes": {"host-reset": 5},
                   "blames": {"server": 5}, "accepted_earlier": true, "accepted_in_window": 0,
                   "window": 60.0}),
            "198.51.100.7:80 accepted connections earlier, then refused 5 clients (5 host-reset): the service stopped or crashed; check it on 198.51.100.7",
        );
        assert_incident(
            &d.incidents()[1],
            (100.0, 104.0),
            "service-down",
            service("198.51.100.8", 80),
            json!({"refused_attempts": 5, "clients": 5, "causes": {"host-reset": 4, "reset": 1},
                   "blames": {"server": 5}, "accepted_earlier": true, "accepted_in_window": 0,
                   "window": 60.0}),
            "198.51.100.8:80 accepted connections earlier, then refused 5 clients (4 host-reset, 1 reset): the service stopped or crashed; check it on 198.51.100.8",
        );
        assert_incident(
            &d.incidents()[2],
            (301.0, 305.0),
            "service-down",
            service("198.51.100.9", 80),
            json!({"refused_attempts": 5, "clients": 5, "causes": {"host-reset": 5},
                   "blames": {"server": 5}, "accepted_earlier": false, "accepted_in_window": 1,
                   "window": 60.0}),
            "198.51.100.9:80 refused 5 clients (5 host-reset) while it accepted 1 connection in the same window: a per-client rule (firewall, rate limit, ACL) on 198.51.100.9, not a stopped service; check which clients it turns away",
        );
    }

    /// Accepts on both sides of the refusals, known before the threshold: a restart; within
    /// one window, a restart or a per-client rule (the spans kept cannot tell).
    #[test]
    fn accepts_before_and_after_the_refusals_are_a_restart() {
        let mut d = Recorder::default();
        accept(&mut d, 0.0, 11, "198.51.100.6", 80);
        accept(&mut d, 16.0, 5, "198.51.100.6", 80);
        refuse_five(&mut d, 11.0, "198.51.100.6", 80, ["host-reset"; 5]);
        assert_incident(
            &d.incidents()[0],
            (11.0, 15.0),
            "service-down",
            service("198.51.100.6", 80),
            json!({"refused_attempts": 5, "clients": 5, "causes": {"host-reset": 5},
                   "blames": {"server": 5}, "accepted_earlier": true, "accepted_in_window": 16,
                   "window": 60.0}),
            "198.51.100.6:80 accepted 16 connections in the same window, before and after refusing 5 clients (5 host-reset): it restarted in between, or a per-client rule (firewall, rate limit, ACL) turned these clients away; check its log on 198.51.100.6",
        );
        d.found.clear();
        accept(&mut d, 0.0, 2, "198.51.100.7", 80);
        accept(&mut d, 200.0, 2, "198.51.100.7", 80);
        refuse_five(&mut d, 100.0, "198.51.100.7", 80, ["host-reset"; 5]);
        // Accepted only after: started late.
        accept(&mut d, 200.0, 2, "198.51.100.8", 80);
        refuse_five(&mut d, 100.0, "198.51.100.8", 80, ["host-reset"; 5]);
        assert_eq!(kinds(&d), vec!["service-down", "service-down"]);
        let evidence = json!({"refused_attempts": 5, "clients": 5, "causes": {"host-reset": 5},
                              "blames": {"server": 5}, "accepted_earlier": true,
                              "accepted_in_window": 0, "window": 60.0});
        assert_incident(
            &d.incidents()[0],
            (100.0, 104.0),
            "service-down",
            service("198.51.100.7", 80),
            evidence.clone(),
            "198.51.100.7:80 accepted connections before and after refusing 5 clients (5 host-reset): the service was stopped or restarting in between; check its log on 198.51.100.7",
        );
        let mut evidence = evidence;
        evidence["accepted_earlier"] = json!(false);
        assert_incident(
            &d.incidents()[1],
            (100.0, 104.0),
            "service-down",
            service("198.51.100.8", 80),
            evidence,
            "198.51.100.8:80 refused 5 clients (5 host-reset), then accepted connections: the service started late or was restarting; check its log on 198.51.100.8",
        );
    }

    /// Attempts that are not failures — cut short by the capture, pushed out of the table,
    /// superseded, aborted by the client with nothing of the server captured, only partly
    /// captured — never feed a pattern, however many.
    #[test]
    fn what_is_not_a_failure_never_feeds_an_incident() {
        let mut d = Recorder::default();
        accept(&mut d, 0.0, 1, "198.51.100.7", 80);
        let not_failures = [
            (VerdictKind::Unanswered, "capture-ended"),
            (VerdictKind::Unanswered, "client-aborted"),
            (VerdictKind::Unanswered, "evicted-before-timeout"),
            (VerdictKind::Unanswered, "superseded"),
            (VerdictKind::DnsFailure, "capture-ended"),
            (VerdictKind::Partial, "midstream"),
            (VerdictKind::Partial, "handshake-incomplete"),
            (VerdictKind::Partial, "server-reset-handshake"),
        ];
        for (kind, cause) in not_failures {
            // One client on 100 ports of one host, 100 clients at one service that accepted
            // before: a scan, a host down, an overload and a service down if they counted.
            for i in 0..100u16 {
                let t = 1.0 + f64::from(i) * 0.01;
                d.observe(&verdict(t, "192.0.2.66", 1000 + i, "198.51.100.7", 1 + i, kind, cause));
                let client = format!("192.0.2.{}", i % 50);
                d.observe(&verdict(t, &client, 2000 + i, "198.51.100.7", 80, kind, cause));
            }
        }
        assert!(kinds(&d).is_empty(), "{:?}", d.incidents());
        assert!(d.d.scans.windows.map.is_empty());
        assert!(d.d.services.windows.map.is_empty());
        assert!(d.d.hosts.windows.map.is_empty());
        assert!(d.d.overloads.windows.map.is_empty());
    }

    #[test]
    fn a_host_that_never_answers_is_down_unless_it_answers_once() {
        let mut d = Recorder::default();
        for i in 0..9u16 {
            d.observe(&verdict(
                f64::from(i),
                "192.0.2.1",
                1000 + i,
                "198.51.100.9",
                22,
                VerdictKind::Unanswered,
                "no-response",
            ));
        }
        d.observe(&verdict(
            9.5,
            "192.0.2.2",
            1,
            "198.51.100.9",
            80,
            VerdictKind::Refused,
            "host-reset",
        ));
        d.observe(&verdict(
            10.0,
            "192.0.2.1",
            2000,
            "198.51.100.9",
            22,
            VerdictKind::Unanswered,
            "no-response",
        ));
        assert!(kinds(&d).is_empty(), "the host answered in between");
        for i in 0..10u16 {
            d.observe(&verdict(
                20.0 + f64::from(i),
                "192.0.2.1",
                3000 + i,
                "198.51.100.10",
                22,
                VerdictKind::Unreachable,
                "host-unreachable",
            ));
        }
        assert_eq!(kinds(&d), vec!["host-down"]);
    }

    #[test]
    fn retried_syns_piling_up_at_one_service_are_overload() {
        let mut d = Recorder::default();
        for i in 0..10u16 {
            d.observe(&verdict(
                f64::from(i) * 0.1,
                "192.0.2.1",
                1000 + i,
                "198.51.100.7",
                80,
                VerdictKind::Established,
                "slow-accept",
            ));
        }
        assert_eq!(kinds(&d), vec!["overload"]);
        assert_incident(
            &d.incidents()[0],
            (0.0, 0.9),
            "overload",
            service("198.51.100.7", 80),
            json!({"attempts": 10, "clients": 1, "causes": {"slow-accept": 10},
                   "blames": {"server": 10}, "window": 60.0}),
            "198.51.100.7:80 shows overload: all 10 attempts retried, queued or unanswered (10 slow-accept): check its accept queue (`ss -ltn` Recv-Q, `nstat -az TcpExtListenOverflows`) and capacity",
        );
    }

    /// An overload's hint follows what most of its attempts show.
    #[test]
    fn an_overload_is_named_by_what_most_attempts_show() {
        let mut d = Recorder::default();
        for i in 0..10u16 {
            let t = f64::from(i);
            let (kind, cause) = if i < 6 {
                (VerdictKind::Established, "zero-window")
            } else {
                (VerdictKind::Established, "slow-accept")
            };
            d.observe(&verdict(t, "192.0.2.1", 1000 + i, "198.51.100.7", 81, kind, cause));
            d.observe(&verdict(
                t,
                &format!("192.0.2.{}", 10 + i),
                1,
                "198.51.100.7",
                82,
                VerdictKind::Rejected,
                "http-overloaded",
            ));
        }
        assert_eq!(kinds(&d), vec!["overload", "overload"]);
        assert_incident(
            &d.incidents()[0],
            (0.0, 9.0),
            "overload",
            service("198.51.100.7", 81),
            json!({"attempts": 10, "clients": 1, "causes": {"zero-window": 6, "slow-accept": 4},
                   "blames": {"server": 10}, "window": 60.0}),
            "198.51.100.7:81 shows overload: 6 of the 10 attempts stalled by a zero window (6 zero-window, 4 slow-accept): its application stopped reading; check the process on 198.51.100.7 (stuck, overloaded)",
        );
        assert_incident(
            &d.incidents()[1],
            (0.0, 9.0),
            "overload",
            service("198.51.100.7", 82),
            json!({"attempts": 10, "clients": 10, "causes": {"http-overloaded": 10},
                   "blames": {"server": 10}, "window": 60.0}),
            "198.51.100.7:82 shows overload: all 10 attempts answered 429 or 503 (10 http-overloaded): check its rate limits, capacity and log",
        );
    }

    /// A host down is named by its evidence: nobody answering ARP / neighbour discovery, a
    /// router's host-unreachable, or plain silence.
    #[test]
    fn a_host_down_is_named_by_its_evidence() {
        let mut d = Recorder::default();
        for i in 0..10u16 {
            let t = f64::from(i);
            let cport = 1000 + i;
            d.observe(&verdict(
                t,
                "192.0.2.1",
                cport,
                "198.51.100.10",
                22,
                VerdictKind::Unanswered,
                "host-down",
            ));
            let (kind, cause) = if i < 3 {
                (VerdictKind::Unanswered, "no-response")
            } else {
                (VerdictKind::Unreachable, "host-unreachable")
            };
            d.observe(&verdict(t, "192.0.2.1", cport, "198.51.100.11", 22, kind, cause));
            d.observe(&verdict(
                t,
                "192.0.2.1",
                cport,
                "198.51.100.12",
                22,
                VerdictKind::Unanswered,
                "no-response",
            ));
        }
        assert_eq!(kinds(&d), vec!["host-down"; 3]);
        let evidence = |causes: Value| {
            json!({"failed_attempts": 10, "clients_and_ports": 1, "causes": causes,
                   "blames": {"server": 10}, "window": 60.0})
        };
        assert_incident(
            &d.incidents()[0],
            (0.0, 9.0),
            "host-down",
            json!({"server": "198.51.100.10"}),
            evidence(json!({"host-down": 10})),
            "nobody answered ARP / neighbour discovery for 198.51.100.10 in all 10 failed attempts (10 host-down): it is down or absent on its network; check that it is up and its address is right",
        );
        assert_incident(
            &d.incidents()[1],
            (0.0, 9.0),
            "host-down",
            json!({"server": "198.51.100.11"}),
            evidence(json!({"host-unreachable": 7, "no-response": 3})),
            "a router reported 198.51.100.11 unreachable in 7 of the 10 failed attempts (7 host-unreachable, 3 no-response): it is down or absent on the last router's network; check that it is up and the router's ARP / neighbour table",
        );
        assert_incident(
            &d.incidents()[2],
            (0.0, 9.0),
            "host-down",
            json!({"server": "198.51.100.12"}),
            evidence(json!({"no-response": 10})),
            "nothing came back from 198.51.100.12 in all 10 failed attempts (10 no-response) and nothing else of it was seen: the host is down, not routed, or a firewall drops everything to it; check that it is up and routed",
        );
    }

    /// A flood of distinct failing clients and services fills each table to its bound and no
    /// further; known keys still count, and a window's peers stop at its threshold.
    #[test]
    fn every_table_stays_within_its_bound() {
        let mut d = IncidentDetector::default();
        let n = MAX_KEYS as u32 + 500;
        for i in 0..n {
            let client = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            let server = std::net::Ipv4Addr::from(0xc633_0000 + i).to_string();
            d.observe(&verdict(1.0, &client, 1, &server, 80, VerdictKind::Refused, "host-reset"));
            d.observe(&verdict(
                1.0,
                &client,
                1,
                &server,
                80,
                VerdictKind::Established,
                "slow-accept",
            ));
        }
        assert_eq!(d.scans.windows.map.len(), MAX_KEYS);
        assert_eq!(d.services.windows.map.len(), MAX_KEYS);
        assert_eq!(d.overloads.windows.map.len(), MAX_KEYS);
        assert_eq!(d.accepted.0.len(), MAX_KEYS);
        // One scanner hitting many more targets than the threshold keeps only the threshold.
        let mut d = Recorder::default();
        for port in 1..=2000u16 {
            d.observe(&verdict(
                0.0,
                "192.0.2.66",
                1,
                "198.51.100.7",
                port,
                VerdictKind::Refused,
                "host-reset",
            ));
        }
        let win = &d.d.scans.windows.map[&"192.0.2.66".parse::<IpAddr>().unwrap()];
        assert_eq!((win.attempts, win.peers.len()), (2000, 20));
        assert_eq!(kinds(&d), vec!["scan"]);
    }

    /// Pings unanswered by 20 hosts: a ping sweep, reported as a scan with `ping_sweep`; the
    /// pings of one host that is down, however many, are no sweep (one target), and pings
    /// never count toward a port scan.
    #[test]
    fn pings_unanswered_on_many_hosts_are_a_sweep() {
        let ping = |ts: f64, host: u8, cause: &'static str| {
            let mut v = verdict(
                ts,
                "192.0.2.1",
                8,
                &format!("198.51.100.{host}"),
                0,
                VerdictKind::Unanswered,
                cause,
            );
            v.proto = Proto::Icmp;
            v
        };
        let mut one = Recorder::default();
        for i in 0..30 {
            one.observe(&ping(f64::from(i), 200, "no-response"));
        }
        assert_eq!(kinds(&one), vec!["host-down"], "one host down is no sweep");
        let mut d = Recorder::default();
        for host in 1..=19 {
            d.observe(&ping(f64::from(host), host, "no-response"));
        }
        assert!(kinds(&d).is_empty(), "19 hosts: below the 20 targets");
        d.observe(&ping(21.0, 20, "no-response"));
        assert_eq!(kinds(&d), vec!["scan"]);
        let i = &d.incidents()[0];
        assert_eq!(i.evidence["ping_sweep"], json!(true));
        assert_eq!(i.evidence["hosts"], json!(20));
        assert!(i.hint.starts_with("192.0.2.1 pinged 20 hosts within 60s"), "{}", i.hint);
        assert_eq!(
            crate::output::incident_sentence(i.kind.as_str(), &i.subject, &i.evidence),
            "ping sweep by 192.0.2.1: 20 hosts unanswered or unreachable within 60 s"
        );
    }
}
