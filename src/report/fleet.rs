//! The fleet view of a report: what each sensor saw, and the attempts several sensors saw,
//! joined into one row that says what each of them saw.
//!
//! An attempt is the same one at two sensors when its protocol, client and server addresses
//! and ports (and the tunnel that carried it, when one did) are equal and its first packets
//! are at most [`DEFAULT_JOIN_WITHIN`] seconds apart (`--join-within`): the sensors' clocks
//! differ, and a sensor that missed the first SYN starts the attempt at the second. The join
//! is on the exact addresses: the same attempt seen on either side of a NAT shows other
//! addresses or ports on each side and is not joined (each sensor's sighting is still counted
//! under that sensor).
//!
//! Memory is bounded: at most [`MAX_SENSORS`] sensors are told apart and [`MAX_SIGHTINGS`]
//! sightings kept for the join (those past it are counted, not joined).

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::record::FlowRecord;
use crate::verdict::VerdictKind;

/// Sensors told apart; the attempts of more are counted as unlisted.
pub const MAX_SENSORS: usize = 1_000;
/// Sightings (an attempt seen by one sensor) kept for the join.
pub const MAX_SIGHTINGS: usize = 100_000;
/// Joined attempts listed (the rest are counted).
pub const MAX_JOINED: usize = 1_000;
/// How far apart (seconds) the first packets of one attempt at two sensors may be.
pub const DEFAULT_JOIN_WITHIN: f64 = 2.0;

/// A sensor's name as a NATS subject token: anything but letters, digits, `-` and `_` becomes
/// `_` (`web1.example.com` → `web1_example_com`); `--sensor` matches either form.
pub fn sensor_token(sensor: &str) -> String {
    sensor
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect()
}

#[derive(Default)]
struct SensorAgg {
    attempts: u64,
    failures: u64,
    causes: BTreeMap<String, u64>,
    first: f64,
    last: f64,
    joined: u64,
}

/// One attempt as one sensor saw it.
struct Sighting {
    sensor: u32,
    ts: f64,
    kind: VerdictKind,
    cause: String,
    failed: bool,
    sentence: String,
    client_ttl: Option<u8>,
    server_ttl: Option<u8>,
}

/// What tells one attempt: protocol, client, server, tunnel.
type JoinKey = (String, IpAddr, u16, IpAddr, u16, Option<String>);

/// Per-sensor counts and the sightings to join.
pub(super) struct Fleet {
    names: Vec<String>,
    index: FxHashMap<String, u32>,
    sensors: Vec<SensorAgg>,
    unlisted: u64,
    sightings: FxHashMap<JoinKey, Vec<Sighting>>,
    stored: usize,
    not_joined: u64,
    within: f64,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            names: Vec::new(),
            index: FxHashMap::default(),
            sensors: Vec::new(),
            unlisted: 0,
            sightings: FxHashMap::default(),
            stored: 0,
            not_joined: 0,
            within: DEFAULT_JOIN_WITHIN,
        }
    }
}

impl Fleet {
    pub(super) fn set_within(&mut self, seconds: f64) {
        self.within = seconds;
    }

    /// Counts an attempt that carries a sensor (the others are not the fleet's).
    pub(super) fn observe(&mut self, r: &FlowRecord<'_>, cause: &str, failed: bool) {
        let Some(name) = r.sensor.as_deref() else { return };
        let at = match self.index.get(name) {
            Some(&i) => i,
            None if self.names.len() < MAX_SENSORS => {
                let i = self.names.len() as u32;
                self.names.push(name.to_string());
                self.index.insert(name.to_string(), i);
                self.sensors.push(SensorAgg { first: r.ts, last: r.ts, ..Default::default() });
                i
            }
            None => {
                self.unlisted += 1;
                return;
            }
        };
        let s = &mut self.sensors[at as usize];
        s.attempts += 1;
        s.first = s.first.min(r.ts);
        s.last = s.last.max(r.ts);
        if failed {
            s.failures += 1;
            super::bump(&mut s.causes, cause);
        }
        if self.stored >= MAX_SIGHTINGS {
            self.not_joined += 1;
            return;
        }
        self.stored += 1;
        let ttl = |k: &str| r.evidence.u64(k).and_then(|t| u8::try_from(t).ok());
        let key = (
            r.proto.to_string(),
            r.client,
            r.client_port,
            r.server,
            r.server_port,
            r.tunnel.as_deref().map(str::to_string),
        );
        self.sightings.entry(key).or_default().push(Sighting {
            sensor: at,
            ts: r.ts,
            kind: r.kind,
            cause: cause.to_string(),
            failed,
            sentence: if failed { r.evidence.sentence(r.kind, &r.proto) } else { String::new() },
            client_ttl: ttl("client_ttl"),
            server_ttl: ttl("server_ttl"),
        });
    }

    /// The sensors (most failures first) and the joined attempts (in time order).
    pub(super) fn finish(self) -> FleetModel {
        let Fleet { names, mut sensors, unlisted, sightings, not_joined, within, .. } = self;
        let mut joined = Vec::new();
        for (key, mut seen) in sightings {
            if seen.len() < 2 {
                continue;
            }
            seen.sort_by(|a, b| {
                a.ts.total_cmp(&b.ts).then(names[a.sensor as usize].cmp(&names[b.sensor as usize]))
            });
            // Greedy groups: a sighting joins the group when it is within the tolerance of
            // the group's first and its sensor is not in it yet.
            let mut groups: Vec<Vec<Sighting>> = Vec::new();
            for s in seen {
                match groups.last_mut() {
                    Some(g)
                        if s.ts - g[0].ts <= within && g.iter().all(|x| x.sensor != s.sensor) =>
                    {
                        g.push(s)
                    }
                    _ => groups.push(vec![s]),
                }
            }
            for g in groups {
                if g.len() < 2 || !g.iter().any(|s| s.failed) {
                    continue;
                }
                for s in &g {
                    if s.failed {
                        sensors[s.sensor as usize].joined += 1;
                    }
                }
                joined.push(joined_row(&key, g, &names));
            }
        }
        joined.sort_by(|a, b| {
            a.ts.total_cmp(&b.ts).then_with(|| {
                (&a.proto, a.client, a.client_port, a.server, a.server_port).cmp(&(
                    &b.proto,
                    b.client,
                    b.client_port,
                    b.server,
                    b.server_port,
                ))
            })
        });
        let joined_total = joined.len();
        joined.truncate(MAX_JOINED);
        let mut rows: Vec<SensorRow> = names
            .into_iter()
            .zip(sensors)
            .map(|(name, s)| SensorRow {
                name,
                attempts: s.attempts,
                failures: s.failures,
                causes: super::sorted_counts(s.causes),
                first: s.first,
                last: s.last,
                joined: s.joined,
            })
            .collect();
        rows.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.name.cmp(&b.name)));
        FleetModel { sensors: rows, unlisted, joined, joined_total, not_joined, within }
    }
}

/// Hops from the sender a TTL tells (the initial TTL guessed as the tracker guesses it).
fn hops(ttl: Option<u8>) -> Option<u8> {
    ttl.map(crate::track::hops)
}

/// Where the sensors stand, from the TTLs they saw: by the client's packets (fewer hops,
/// nearer the client) when they differ, else by the server's (more hops, nearer the client).
/// `None` when the TTLs do not tell.
fn path_order(seen: &[SeenRow]) -> Option<(Vec<usize>, &'static str)> {
    let by = |f: fn(&SeenRow) -> Option<u8>| -> Option<Vec<usize>> {
        let known: Vec<(usize, u8)> =
            seen.iter().enumerate().filter_map(|(i, s)| hops(f(s)).map(|h| (i, h))).collect();
        if known.len() < 2 || known.iter().all(|(_, h)| *h == known[0].1) {
            return None;
        }
        let mut order: Vec<(usize, u8)> = known;
        order.sort_by_key(|(i, h)| (*h, *i));
        Some(order.into_iter().map(|(i, _)| i).collect())
    };
    if let Some(o) = by(|s| s.client_ttl) {
        return Some((o, "client"));
    }
    by(|s| s.server_ttl).map(|o| (o, "server"))
}

fn joined_row(key: &JoinKey, group: Vec<Sighting>, names: &[String]) -> JoinedRow {
    let (proto, client, client_port, server, server_port, tunnel) = key.clone();
    let mut seen: Vec<SeenRow> = group
        .into_iter()
        .map(|s| SeenRow {
            sensor: names[s.sensor as usize].clone(),
            ts: s.ts,
            verdict: s.kind.as_str(),
            cause: s.cause,
            sentence: s.sentence,
            client_ttl: s.client_ttl,
            server_ttl: s.server_ttl,
        })
        .collect();
    let ts = seen.iter().map(|s| s.ts).fold(f64::INFINITY, f64::min);
    let agree = seen.iter().all(|s| s.verdict == seen[0].verdict && s.cause == seen[0].cause);
    // Along the path from the client when the TTLs tell it, else by time.
    let order = path_order(&seen);
    let mut nearest = None;
    if let Some((order, by)) = &order {
        // Nearest the client first.
        let sequence: Vec<usize> = match *by {
            "client" => order.clone(),
            _ => order.iter().rev().copied().collect(),
        };
        let ttl = |s: &SeenRow| if *by == "client" { s.client_ttl } else { s.server_ttl };
        let ttls = sequence
            .iter()
            .map(|&i| {
                let s = &seen[i];
                let h = hops(ttl(s)).unwrap_or_default();
                format!(
                    "{} TTL {} = {h} {}",
                    s.sensor,
                    ttl(s).unwrap_or_default(),
                    if h == 1 { "hop" } else { "hops" }
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let (party, who) = match *by {
            "client" => ("client", &seen[sequence[0]].sensor),
            _ => ("server", &seen[sequence[sequence.len() - 1]].sensor),
        };
        nearest = Some(format!("{who} is nearest the {party} (the {party}'s packets: {ttls})"));
        let rest = (0..seen.len()).filter(|i| !sequence.contains(i));
        let sequence: Vec<usize> = sequence.iter().copied().chain(rest).collect();
        let mut taken: Vec<Option<SeenRow>> = seen.into_iter().map(Some).collect();
        seen = sequence.into_iter().filter_map(|i| taken[i].take()).collect();
    }
    let saw = |s: &SeenRow| format!("{} saw {} ({})", s.sensor, s.verdict, s.cause);
    let note = if agree {
        let all = format!("every sensor saw {} ({})", seen[0].verdict, seen[0].cause);
        match nearest {
            Some(n) => format!("{all}; {n}"),
            None => all,
        }
    } else {
        let list = seen.iter().map(saw).collect::<Vec<_>>().join(", ");
        match (&order, nearest) {
            (Some(_), Some(n)) => format!(
                "the sensors disagree: from the client's side on, {list}: what differs was made or lost between their capture points; {n}"
            ),
            _ => format!(
                "the sensors disagree: {list}: what differs was made or lost between their capture points; no TTL tells which sensor is nearer which party"
            ),
        }
    };
    JoinedRow { ts, proto, client, client_port, server, server_port, tunnel, agree, seen, note }
}

/// A sensor's attempts and failures.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorRow {
    /// The sensor's name (the lines' `sensor` field).
    pub name: String,
    /// Attempts it saw.
    pub attempts: u64,
    /// Of which failed.
    pub failures: u64,
    /// Its failures by cause, most first.
    pub causes: Vec<(String, u64)>,
    /// Its first attempt.
    pub first: f64,
    /// Its last attempt.
    pub last: f64,
    /// Its failures another sensor saw too (joined).
    pub joined: u64,
}

/// What one sensor saw of a joined attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenRow {
    /// The sensor.
    pub sensor: String,
    /// The attempt's first packet by this sensor's clock.
    pub ts: f64,
    /// Its verdict.
    pub verdict: &'static str,
    /// Its cause.
    pub cause: String,
    /// The deciding facts (failures only).
    pub sentence: String,
    /// TTL of the client's first packet there.
    pub client_ttl: Option<u8>,
    /// TTL of the server's (or what answered for it) first packet there.
    pub server_ttl: Option<u8>,
}

/// One attempt seen by several sensors.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinedRow {
    /// The earliest first packet among the sensors.
    pub ts: f64,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Client address.
    pub client: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Server address.
    pub server: IpAddr,
    /// Server port.
    pub server_port: u16,
    /// The tunnel (short form, `vxlan:42 192.0.2.1>192.0.2.2`), when one carried it.
    pub tunnel: Option<String>,
    /// Whether every sensor saw the same verdict and cause.
    pub agree: bool,
    /// What each saw: from the client's side on when the TTLs tell, else by time.
    pub seen: Vec<SeenRow>,
    /// The join in words: agreement or not, which sensor is nearer which party.
    pub note: String,
}

/// The fleet part of the report model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetModel {
    /// Sensors, most failures first.
    pub sensors: Vec<SensorRow>,
    /// Attempts of sensors past [`MAX_SENSORS`].
    pub unlisted: u64,
    /// Attempts with a failure seen by several sensors, in time order (at most
    /// [`MAX_JOINED`]).
    pub joined: Vec<JoinedRow>,
    /// How many there were.
    pub joined_total: usize,
    /// Sightings past [`MAX_SIGHTINGS`], not joined.
    pub not_joined: u64,
    /// The join's tolerance in seconds.
    pub within: f64,
}

/// The sentence that says which attempts the "seen by several sensors" section joins.
pub(super) fn joined_intro(within: f64) -> String {
    format!(
        "Failed attempts that several sensors saw: the same protocol, addresses, ports and \
         tunnel, first packets at most {within} s apart (addresses a NAT rewrote between two \
         sensors are not joined)."
    )
}
