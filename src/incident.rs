//! Incidents: patterns across attempts that no single verdict shows — one client failing on
//! many ports or hosts (a scan), many clients refused by one service (service down), every
//! attempt to one host failing (host down), retried SYNs and overload signs piling up at one
//! service (overload).
//!
//! The detector watches the verdict stream. Each pattern keeps, per key, a window that starts
//! at the first qualifying attempt and restarts when an attempt falls `window` seconds after
//! it; when the window's count reaches the threshold the incident is reported once (for that
//! window). Tables are bounded: past `MAX_KEYS` keys, new keys are not watched.

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value, json};

use crate::decode::Proto;
use crate::flow::Endpoint;
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Verdict, VerdictKind};

/// Most keys each pattern watches at once.
const MAX_KEYS: usize = 100_000;
/// Most distinct peers remembered per window (enough to pass any sensible threshold).
const MAX_PEERS: usize = 1024;

/// Thresholds (the CLI exposes them; defaults documented in the README).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentConfig {
    /// The window each pattern counts within.
    pub window: Duration,
    /// Distinct server:port targets one client must fail on to be a scan.
    pub scan_targets: usize,
    /// Distinct clients refused or turned away by one service to call it down.
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

/// One incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// When the window began (first qualifying attempt).
    pub ts: Timestamp,
    /// The attempt that crossed the threshold.
    pub detected_ts: Timestamp,
    /// `scan`, `service-down`, `host-down` or `overload`.
    pub kind: &'static str,
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
    fn note(&mut self, ts: Timestamp, window: Duration, peer: (IpAddr, u16), cause: Cause) {
        if self.attempts == 0 || ts.since(self.start) > window {
            *self = Window { start: ts, ..Window::default() };
        } else if ts < self.start {
            // Verdicts do not come in time order (a timeout is decided after later refusals;
            // tracker shards interleave): the window starts at its earliest attempt.
            self.start = ts;
        }
        self.attempts += 1;
        if self.peers.len() < MAX_PEERS {
            self.peers.insert(peer);
        }
        match self.causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) => *n += 1,
            None => self.causes.push((cause, 1)),
        }
    }

    fn causes_json(&self) -> Value {
        let mut c: Vec<_> = self.causes.iter().map(|(k, n)| (k.word(), *n)).collect();
        c.sort();
        Value::Object(c.into_iter().map(|(k, n)| (k.to_string(), json!(n))).collect())
    }
}

/// The window of `key`, created unless `MAX_KEYS` keys are watched already. One lookup either
/// way (a flood of new clients hits a full table with every verdict).
fn watch<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, Window>, key: K) -> Option<&mut Window> {
    if map.len() >= MAX_KEYS {
        return map.get_mut(&key);
    }
    Some(map.entry(key).or_default())
}

/// Watches verdicts for incidents.
#[derive(Default)]
pub struct IncidentDetector {
    config: IncidentConfig,
    scans: FxHashMap<IpAddr, Window>,
    services: FxHashMap<(Proto, Endpoint), Window>,
    /// Services that accepted some client before (to say "was accepting, then stopped").
    accepted: FxHashSet<(Proto, Endpoint)>,
    hosts: FxHashMap<IpAddr, Window>,
    overloads: FxHashMap<(Proto, Endpoint), Window>,
    found: Vec<Incident>,
}

impl IncidentDetector {
    /// A detector with these thresholds.
    pub fn new(config: IncidentConfig) -> Self {
        IncidentDetector { config, ..Default::default() }
    }

    /// Incidents reported so far.
    pub fn incidents(&self) -> &[Incident] {
        &self.found
    }

    /// Looks at one verdict; returns the incidents it completes.
    pub fn observe(&mut self, v: &Verdict) -> Vec<Incident> {
        let mut new = Vec::new();
        let w = self.config.window;
        let service = (v.proto, v.server);
        // An unanswered DNS query reached nobody, whether or not the capture ended first.
        let reached_server = matches!(
            v.kind(),
            VerdictKind::Established
                | VerdictKind::Answered
                | VerdictKind::Rejected
                | VerdictKind::Mismatch
                | VerdictKind::DnsFailure
        ) && !matches!(v.cause, Cause::DnsNoResponse | Cause::DnsCaptureEnded);

        // A scan: one client failing on many distinct targets.
        if matches!(
            v.kind(),
            VerdictKind::Refused | VerdictKind::Unanswered | VerdictKind::Unreachable
        ) && let Some(win) = watch(&mut self.scans, v.client.ip)
        {
            win.note(v.ts, w, (v.server.ip, v.server.port), v.cause);
            if !win.reported && win.peers.len() >= self.config.scan_targets {
                win.reported = true;
                let hosts: FxHashSet<IpAddr> = win.peers.iter().map(|p| p.0).collect();
                let ports: FxHashSet<u16> = win.peers.iter().map(|p| p.1).collect();
                new.push(Incident {
                    ts: win.start,
                    detected_ts: v.ts,
                    kind: "scan",
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
                });
            }
        }

        // A service down: many clients refused (or port-unreachable) by one server:port.
        let refused_here = v.kind() == VerdictKind::Refused || v.cause == Cause::PortUnreachable;
        if reached_server && v.kind() == VerdictKind::Established {
            self.accepted.insert(service);
        }
        if refused_here && let Some(win) = watch(&mut self.services, service) {
            win.note(v.ts, w, (v.client.ip, 0), v.cause);
            if !win.reported && win.peers.len() >= self.config.service_clients {
                win.reported = true;
                let was_up = self.accepted.contains(&service);
                new.push(Incident {
                    ts: win.start,
                    detected_ts: v.ts,
                    kind: "service-down",
                    subject: service_subject(service),
                    evidence: obj(json!({
                        "refused_attempts": win.attempts,
                        "clients": win.peers.len(),
                        "causes": win.causes_json(),
                        "accepted_earlier": was_up,
                        "window": w.as_secs_f64(),
                    })),
                    hint: if was_up {
                        format!("{} accepted connections earlier, then refused {} clients: the service stopped or crashed; check it on {}", v.server, win.peers.len(), v.server.ip)
                    } else {
                        format!("{} refused {} clients: nothing listens there; check the service on {} (`ss -ltn`)", v.server, win.peers.len(), v.server.ip)
                    },
                });
            }
        }

        // A host down: attempts to one host keep failing with silence or host-unreachable.
        let host_silent = matches!(
            v.cause,
            Cause::NoResponse
                | Cause::HostDown
                | Cause::HostUnreachable
                | Cause::AddressUnreachable
        );
        if reached_server || v.kind() == VerdictKind::Refused {
            if let Some(win) = self.hosts.get_mut(&v.server.ip) {
                // The host answered: a new window must start over.
                *win = Window::default();
            }
        } else if host_silent && let Some(win) = watch(&mut self.hosts, v.server.ip) {
            win.note(v.ts, w, (v.client.ip, v.server.port), v.cause);
            if !win.reported && win.attempts as usize >= self.config.host_attempts {
                win.reported = true;
                new.push(Incident {
                    ts: win.start,
                    detected_ts: v.ts,
                    kind: "host-down",
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
                });
            }
        }

        // Overload: attempts at one service showing it cannot keep up.
        let overloaded = matches!(
            v.cause,
            Cause::SlowAccept
                | Cause::SynAckRetransmitted
                | Cause::ZeroWindow
                | Cause::HttpOverloaded
                | Cause::ResetBeforeRequest
        ) || (v.kind() == VerdictKind::Unanswered
            && self.accepted.contains(&service));
        if overloaded && let Some(win) = watch(&mut self.overloads, service) {
            win.note(v.ts, w, (v.client.ip, 0), v.cause);
            if !win.reported && win.attempts as usize >= self.config.overload_attempts {
                win.reported = true;
                new.push(Incident {
                    ts: win.start,
                    detected_ts: v.ts,
                    kind: "overload",
                    subject: service_subject(service),
                    evidence: obj(json!({
                        "attempts": win.attempts,
                        "clients": win.peers.len(),
                        "causes": win.causes_json(),
                        "window": w.as_secs_f64(),
                    })),
                    hint: format!("{} shows overload ({} attempts retried, queued or turned away): check its accept queue (`ss -ltn` Recv-Q, `nstat -az TcpExtListenOverflows`) and capacity", v.server, win.attempts),
                });
            }
        }
        self.found.extend(new.iter().cloned());
        new
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn service_subject((proto, ep): (Proto, Endpoint)) -> Map<String, Value> {
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
        }
    }

    fn kinds(d: &IncidentDetector) -> Vec<&'static str> {
        d.incidents().iter().map(|i| i.kind).collect()
    }

    #[test]
    fn a_client_failing_on_many_ports_is_a_scan_reported_once() {
        let mut d = IncidentDetector::default();
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
        let mut d = IncidentDetector::default();
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
        let mut d = IncidentDetector::default();
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
        let mut d = IncidentDetector::default();
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
        let mut d = IncidentDetector::default();
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
}
