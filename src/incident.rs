//! Incidents: patterns across attempts that no single verdict shows — one client failing on
//! many ports or hosts (a scan), many clients refused by one service (service down), every
//! attempt to one host failing (host down), retried SYNs and overload signs piling up at one
//! service (overload). Each kind is one pattern type with its own table.
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
//! - the services known to have accepted a client are at most [`MAX_KEYS`].
//!
//! So the detector holds at most about 4 × [`MAX_KEYS`] windows of a few hundred bytes each
//! (tens of MB with the default thresholds, under a flood of distinct sources).

use std::fmt;
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value, json};

use crate::decode::Proto;
use crate::flow::Endpoint;
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Verdict, VerdictKind};

/// Most keys each pattern watches at once, and most services remembered as having accepted.
pub const MAX_KEYS: usize = 100_000;
/// Most distinct peers a window remembers: the largest threshold of distinct targets or clients
/// (the CLI refuses larger ones).
pub const MAX_PEERS: usize = 1024;

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
            *self = Window { start: ts, ..Window::default() };
        } else if ts < self.start {
            // Verdicts do not come in time order (a timeout is decided after later refusals;
            // tracker shards interleave): the window starts at its earliest attempt.
            self.start = ts;
        }
        self.attempts += 1;
        if self.peers.len() < cap {
            self.peers.insert(peer);
        }
        match self.causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) => *n += 1,
            None => self.causes.push((cause, 1)),
        }
    }

    /// Attempts by cause word (causes of different verdicts that share a word add up).
    fn causes_json(&self) -> Value {
        let mut by_word = std::collections::BTreeMap::<&str, u64>::new();
        for &(c, n) in &self.causes {
            *by_word.entry(c.word()).or_default() += n;
        }
        Value::Object(by_word.into_iter().map(|(k, n)| (k.to_string(), json!(n))).collect())
    }
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
    targets: usize,
}

impl ScanPattern {
    fn observe(&mut self, v: &Verdict, w: Duration) -> Option<Incident> {
        if !matches!(
            v.kind(),
            VerdictKind::Refused | VerdictKind::Unanswered | VerdictKind::Unreachable
        ) {
            return None;
        }
        let win = self.windows.note(v.client.ip, v, w, (v.server.ip, v.server.port))?;
        if win.peers.len() < self.targets {
            return None;
        }
        win.reported = true;
        let hosts: FxHashSet<IpAddr> = win.peers.iter().map(|p| p.0).collect();
        let ports: FxHashSet<u16> = win.peers.iter().map(|p| p.1).collect();
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::Scan,
            subject: obj(json!({"client": v.client.ip.to_string()})),
            evidence: obj(json!({
                "failed_attempts": win.attempts,
                "targets": win.peers.len(),
                "hosts": hosts.len(),
                "ports": ports.len(),
                "causes": win.causes_json(),
                "window": w.as_secs_f64(),
            })),
            hint: format!(
                "{} failed on {} targets within {}s: a port scan or a misconfigured client; check what runs on {}",
                v.client.ip,
                win.peers.len(),
                w.as_secs_f64(),
                v.client.ip
            ),
        })
    }
}

/// Many clients refused (or port-unreachable) by one server:port.
struct ServiceDownPattern {
    windows: Windows<Service>,
    clients: usize,
}

impl ServiceDownPattern {
    fn observe(&mut self, v: &Verdict, w: Duration, accepted: &Accepted) -> Option<Incident> {
        if v.kind() != VerdictKind::Refused && v.cause != Cause::PortUnreachable {
            return None;
        }
        let service = (v.proto, v.server);
        let win = self.windows.note(service, v, w, (v.client.ip, 0))?;
        if win.peers.len() < self.clients {
            return None;
        }
        win.reported = true;
        let was_up = accepted.contains(&service);
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::ServiceDown,
            subject: service_subject(service),
            evidence: obj(json!({
                "refused_attempts": win.attempts,
                "clients": win.peers.len(),
                "causes": win.causes_json(),
                "accepted_earlier": was_up,
                "window": w.as_secs_f64(),
            })),
            hint: if was_up {
                format!(
                    "{} accepted connections earlier, then refused {} clients: the service stopped or crashed; check it on {}",
                    v.server,
                    win.peers.len(),
                    v.server.ip
                )
            } else {
                format!(
                    "{} refused {} clients: nothing listens there; check the service on {} (`ss -ltn`)",
                    v.server,
                    win.peers.len(),
                    v.server.ip
                )
            },
        })
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
        let silent = matches!(
            v.cause,
            Cause::NoResponse
                | Cause::HostDown
                | Cause::HostUnreachable
                | Cause::AddressUnreachable
        );
        if !silent {
            return None;
        }
        let win = self.windows.note(v.server.ip, v, w, (v.client.ip, v.server.port))?;
        if (win.attempts as usize) < self.attempts {
            return None;
        }
        win.reported = true;
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::HostDown,
            subject: obj(json!({"server": v.server.ip.to_string()})),
            evidence: obj(json!({
                "failed_attempts": win.attempts,
                "clients_and_ports": win.peers.len(),
                "causes": win.causes_json(),
                "window": w.as_secs_f64(),
            })),
            hint: format!(
                "nothing reached {} for {} attempts: check that the host is up and routed",
                v.server.ip, win.attempts
            ),
        })
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
        let overloaded = matches!(
            v.cause,
            Cause::SlowAccept
                | Cause::SynAckRetransmitted
                | Cause::ZeroWindow
                | Cause::HttpOverloaded
                | Cause::ResetBeforeRequest
        ) || (v.kind() == VerdictKind::Unanswered && accepted.contains(&service));
        if !overloaded {
            return None;
        }
        let win = self.windows.note(service, v, w, (v.client.ip, 0))?;
        if (win.attempts as usize) < self.attempts {
            return None;
        }
        win.reported = true;
        Some(Incident {
            ts: win.start,
            detected_ts: v.ts,
            kind: IncidentKind::Overload,
            subject: service_subject(service),
            evidence: obj(json!({
                "attempts": win.attempts,
                "clients": win.peers.len(),
                "causes": win.causes_json(),
                "window": w.as_secs_f64(),
            })),
            hint: format!(
                "{} shows overload ({} attempts retried, queued or turned away): check its accept queue (`ss -ltn` Recv-Q, `nstat -az TcpExtListenOverflows`) and capacity",
                v.server, win.attempts
            ),
        })
    }
}

/// Services that accepted some client (to say "was accepting, then stopped"): at most
/// [`MAX_KEYS`]; past that, new services are not remembered.
#[derive(Default)]
struct Accepted(FxHashSet<Service>);

impl Accepted {
    fn insert(&mut self, service: Service) {
        if self.0.len() < MAX_KEYS {
            self.0.insert(service);
        }
    }

    fn contains(&self, service: &Service) -> bool {
        self.0.contains(service)
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
        // A DNS query nobody answered does not show the server reached. (One cut short by the
        // end of the capture counts as reached, as it always has: deciding otherwise belongs
        // with the rule of what a failure is, not with this change of types.)
        let reached_server = matches!(
            v.kind(),
            VerdictKind::Established
                | VerdictKind::Answered
                | VerdictKind::Rejected
                | VerdictKind::Mismatch
                | VerdictKind::DnsFailure
        ) && v.cause != Cause::DnsNoResponse;
        if reached_server && v.kind() == VerdictKind::Established {
            self.accepted.insert((v.proto, v.server));
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
            revised: false,
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
        let i = &d.incidents()[0];
        assert_eq!(i.evidence["targets"], 20);
        assert_eq!(i.subject["client"], "192.0.2.66");
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
        assert_eq!(d.incidents()[0].evidence["accepted_earlier"], true);
        assert_eq!(d.incidents()[0].subject["server_port"], 443);
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
}
