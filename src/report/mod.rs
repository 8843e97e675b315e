//! The batch report for incident reviews: one document (HTML, Markdown or JSON) over many
//! captures and JSON-lines verdict logs.
//!
//! [`ReportBuilder`] is a [`Sink`]: the pipeline pushes each verdict into it, and
//! [`ReportBuilder::read_log`] feeds it the `flow` and `incident` lines of logs written earlier by
//! `analyze` or `live`. It keeps only aggregates (counts per verdict and cause, a timeline,
//! rankings with a bounded number of keys) and a capped list of failed attempts — never packets
//! and never every verdict — so its memory does not grow with the size of the inputs.
//! [`ReportBuilder::finish`] turns it into one [`Report`] model, which the three renderers
//! ([`json`], [`markdown`], [`html`]) draw, so the numbers are the same in every format.

pub mod causes;
mod filter;
pub mod fleet;
pub mod html;
pub mod inputs;
pub mod json;
pub mod markdown;
pub mod record;
mod time;

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};

use crate::incident::Incident;
use crate::output::{Inputs, Sink, Summary};
use crate::verdict::{Judgement, Verdict, VerdictKind};

pub use filter::{Filter, HostPort, Matcher, parse_host_port};
pub use fleet::{FleetModel, JoinedRow, SeenRow, SensorRow};
pub use record::{CauseWord, Facts, FlowRecord, IncidentRecord, logged_secs};
pub use time::{TimeBound, parse_time_bound};

/// Failed attempts listed one by one (the rest are counted).
pub const MAX_ROWS: usize = 10_000;
/// Distinct servers, clients and hosts remembered; past it, new ones are counted as "others".
const MAX_KEYS: usize = 100_000;
/// Incidents kept (the rest are counted).
const MAX_INCIDENTS: usize = 1_000;
/// Rows of the server and client rankings.
pub const TOP: usize = 20;
/// Longest log line read; a longer one is a malformed line.
const MAX_LINE: u64 = 1 << 20;

/// An input and how reading it went.
#[derive(Clone, Debug, PartialEq)]
pub struct InputInfo {
    /// The name as given (a path).
    pub name: String,
    /// `capture` or `log`.
    pub kind: &'static str,
    /// What went wrong with it, if anything (file and byte offset, or file and line).
    pub errors: Vec<String>,
    /// What a person should know though nothing went wrong (no decodable packet in it).
    pub warnings: Vec<String>,
    /// A capture's packets: read, decoded (the rest skipped).
    pub packets: Option<crate::output::InputCounts>,
}

impl InputInfo {
    /// Its status in words: `read`, `read: 44 packets, 40 decoded, 4 skipped`, or its problems.
    pub fn status(&self) -> String {
        let mut parts = Vec::new();
        if self.errors.is_empty() {
            parts.push(match &self.packets {
                Some(c) if c.skipped() == 0 => {
                    format!(
                        "read: {}, all decoded",
                        crate::output::plural(c.frames, "packet", "packets")
                    )
                }
                Some(c) => format!(
                    "read: {}, {} decoded, {} skipped",
                    crate::output::plural(c.frames, "packet", "packets"),
                    c.decoded,
                    c.skipped()
                ),
                None => "read".to_string(),
            });
        }
        parts.extend(self.errors.iter().cloned());
        parts.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        parts.join("; ")
    }
}

/// Failures at one server:port.
#[derive(Clone, Debug, Default)]
struct ServerAgg {
    failures: u64,
    causes: BTreeMap<String, u64>,
    first: f64,
    last: f64,
    clients: FxHashSet<IpAddr>,
}

#[derive(Clone, Debug, Default)]
struct ClientAgg {
    attempts: u64,
    failures: u64,
    targets: FxHashSet<(IpAddr, u16)>,
    causes: BTreeMap<String, u64>,
}

/// Most distinct peers remembered per ranking row.
const MAX_PEERS: usize = 10_000;

/// A failed attempt listed in the report.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedRow {
    /// First packet, seconds since the epoch.
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
    /// Verdict word.
    pub verdict: &'static str,
    /// Cause word.
    pub cause: String,
    /// The deciding facts as a sentence (`RST TTL 64 ≠ the server's 63 …`).
    pub sentence: String,
    /// The main facts, in one line.
    pub evidence: String,
    /// The capture file holding the attempt's first packet.
    pub capture: String,
    /// Its packet number in that file (1-based), when known.
    pub packet: Option<u64>,
    /// The sensor that saw it, when the line named one.
    pub sensor: Option<String>,
    /// The tunnel that carried it (short form), if any.
    pub tunnel: Option<String>,
}

/// ` (in vxlan:42 192.0.2.1>192.0.2.2)` after an endpoint that was reached in a tunnel, as the
/// fixtures' declarations write it; empty otherwise.
pub fn in_tunnel(tunnel: &Option<String>) -> String {
    tunnel.as_deref().map(|t| format!(" (in {t})")).unwrap_or_default()
}

/// Aggregates verdicts into a [`Report`].
pub struct ReportBuilder {
    filter: Matcher,
    inputs: Vec<InputInfo>,
    packets: u64,
    attempts: u64,
    failures: u64,
    undecided: u64,
    span: Option<(f64, f64)>,
    by_verdict: [u64; VerdictKind::ALL.len()],
    causes: BTreeMap<VerdictKind, BTreeMap<String, u64>>,
    hosts: FxHashSet<(IpAddr, Option<String>)>,
    hosts_capped: bool,
    timeline: Timeline,
    servers: FxHashMap<(String, IpAddr, u16, Option<String>), ServerAgg>,
    servers_unranked: u64,
    clients: FxHashMap<(IpAddr, Option<String>), ClientAgg>,
    clients_unranked: u64,
    incidents: Vec<IncidentRecord>,
    incidents_more: u64,
    rows: Vec<FailedRow>,
    rows_more: u64,
    max_rows: usize,
    fleet: fleet::Fleet,
    only_sensors: Vec<String>,
}

fn verdict_index(k: VerdictKind) -> usize {
    VerdictKind::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

fn verdict_from_str(s: &str) -> Option<VerdictKind> {
    VerdictKind::ALL.into_iter().find(|k| k.as_str() == s)
}

/// Parses a verdict word (`--verdict`).
pub fn parse_verdict(s: &str) -> Result<VerdictKind, String> {
    verdict_from_str(s).ok_or_else(|| {
        let words: Vec<_> = VerdictKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("`{s}` is not a verdict (one of: {})", words.join(", "))
    })
}

impl ReportBuilder {
    /// A builder keeping attempts that pass `filter`.
    pub fn new(filter: Filter) -> Self {
        ReportBuilder {
            filter: Matcher::new(filter),
            inputs: Vec::new(),
            packets: 0,
            attempts: 0,
            failures: 0,
            undecided: 0,
            span: None,
            by_verdict: [0; VerdictKind::ALL.len()],
            causes: BTreeMap::new(),
            hosts: FxHashSet::default(),
            hosts_capped: false,
            timeline: Timeline::default(),
            servers: FxHashMap::default(),
            servers_unranked: 0,
            clients: FxHashMap::default(),
            clients_unranked: 0,
            incidents: Vec::new(),
            incidents_more: 0,
            rows: Vec::new(),
            rows_more: 0,
            max_rows: MAX_ROWS,
            fleet: fleet::Fleet::default(),
            only_sensors: Vec::new(),
        }
    }

    /// Lists at most `n` failed attempts one by one (default [`MAX_ROWS`]).
    pub fn max_rows(mut self, n: usize) -> Self {
        self.max_rows = n;
        self
    }

    /// Joins the sightings of one attempt by several sensors whose first packets are at most
    /// `seconds` apart (default [`fleet::DEFAULT_JOIN_WITHIN`]).
    pub fn join_within(mut self, seconds: f64) -> Self {
        self.fleet.set_within(seconds);
        self
    }

    /// Reads only the log lines of these sensors (by name, or as the subject token
    /// [`fleet::sensor_token`] makes of it); every line when empty.
    pub fn only_sensors(mut self, names: Vec<String>) -> Self {
        self.only_sensors = names.iter().map(|n| fleet::sensor_token(n)).collect();
        self
    }

    /// Records an input (in the order given).
    pub fn add_input(&mut self, name: &str, kind: &'static str) {
        self.inputs.push(InputInfo {
            name: name.to_string(),
            kind,
            errors: Vec::new(),
            warnings: Vec::new(),
            packets: None,
        });
    }

    /// Records what a capture gave (its packets read and decoded).
    pub fn input_packets(&mut self, name: &str, counts: crate::output::InputCounts) {
        if let Some(i) = self.inputs.iter_mut().find(|i| i.name == name && i.kind == "capture") {
            i.packets = Some(counts);
        }
    }

    /// The input whose name (the longest, if several) starts `message` as `NAME:`.
    fn input_named_in(&mut self, message: &str) -> Option<&mut InputInfo> {
        self.inputs
            .iter_mut()
            .filter(|i| message.strip_prefix(i.name.as_str()).is_some_and(|r| r.starts_with(':')))
            .max_by_key(|i| i.name.len())
    }

    /// Records a warning about an input: attached to the input whose name starts it, else
    /// listed on its own.
    pub fn input_warning(&mut self, message: String) {
        match self.input_named_in(&message) {
            Some(i) => i.warnings.push(message),
            None => self.inputs.push(InputInfo {
                name: message.split(':').next().unwrap_or("?").to_string(),
                kind: "capture",
                errors: Vec::new(),
                warnings: vec![message],
                packets: None,
            }),
        }
    }

    /// Records a problem with an input: attached to the input whose name starts the message,
    /// else listed on its own.
    pub fn input_error(&mut self, message: String) {
        match self.input_named_in(&message) {
            Some(i) => i.errors.push(message),
            None => self.inputs.push(InputInfo {
                name: message.split(':').next().unwrap_or("?").to_string(),
                kind: "unreadable",
                errors: vec![message],
                warnings: Vec::new(),
                packets: None,
            }),
        }
    }

    /// Adds packets read from captures.
    pub fn add_packets(&mut self, n: u64) {
        self.packets += n;
    }

    /// Whether any input had a problem.
    pub fn has_errors(&self) -> bool {
        self.inputs.iter().any(|i| !i.errors.is_empty())
    }

    /// Counts one attempt (when it passes the filter).
    fn observe(&mut self, r: &FlowRecord<'_>) {
        if !self.filter.attempt(r) {
            return;
        }
        self.attempts += 1;
        self.span = Some(match self.span {
            None => (r.ts, r.ts),
            Some((a, b)) => (a.min(r.ts), b.max(r.ts)),
        });
        let vi = verdict_index(r.kind);
        self.by_verdict[vi] += 1;
        let cause = r.cause.word();
        bump(self.causes.entry(r.kind).or_default(), cause);
        // A conversation in a tunnel is the tunnel's: its hosts, its client and its server
        // are not the same-addressed ones of another tenant (or of the underlay).
        let tunnel = r.tunnel.as_deref().map(str::to_string);
        for ip in [r.client, r.server] {
            let host = (ip, tunnel.clone());
            if self.hosts.len() < MAX_KEYS {
                self.hosts.insert(host);
            } else if !self.hosts.contains(&host) {
                self.hosts_capped = true;
            }
        }
        self.timeline.add(r.ts, vi);
        let judgement = r.cause.judgement(r.kind);
        let failed = judgement == Judgement::Failure;
        self.fleet.observe(r, cause, failed);
        if judgement == Judgement::Undecided {
            self.undecided += 1;
        }
        let client_key = (r.client, tunnel.clone());
        let client = if self.clients.len() < MAX_KEYS || self.clients.contains_key(&client_key) {
            Some(self.clients.entry(client_key).or_default())
        } else {
            None
        };
        match client {
            Some(c) => {
                c.attempts += 1;
                if failed {
                    c.failures += 1;
                    if c.targets.len() < MAX_PEERS {
                        c.targets.insert((r.server, r.server_port));
                    }
                    bump(&mut c.causes, cause);
                }
            }
            None => self.clients_unranked += 1,
        }
        if !failed {
            return;
        }
        self.failures += 1;
        let key = (r.proto.to_string(), r.server, r.server_port, tunnel.clone());
        let server = if self.servers.len() < MAX_KEYS || self.servers.contains_key(&key) {
            Some(self.servers.entry(key).or_insert(ServerAgg {
                first: r.ts,
                last: r.ts,
                ..Default::default()
            }))
        } else {
            None
        };
        match server {
            Some(s) => {
                s.failures += 1;
                bump(&mut s.causes, cause);
                s.first = s.first.min(r.ts);
                s.last = s.last.max(r.ts);
                if s.clients.len() < MAX_PEERS {
                    s.clients.insert(r.client);
                }
            }
            None => self.servers_unranked += 1,
        }
        if self.rows.len() < self.max_rows {
            self.rows.push(FailedRow {
                ts: r.ts,
                proto: r.proto.to_string(),
                client: r.client,
                client_port: r.client_port,
                server: r.server,
                server_port: r.server_port,
                verdict: r.kind.as_str(),
                cause: cause.to_string(),
                sentence: r.evidence.sentence(r.kind, &r.proto),
                evidence: r.evidence.brief(),
                capture: r.capture.to_string(),
                packet: r.first_packet,
                tunnel,
                sensor: r.sensor.as_deref().map(str::to_string),
            });
        } else {
            self.rows_more += 1;
        }
    }

    /// Keeps one incident (when its time and subject pass the filter).
    fn observe_incident(&mut self, i: IncidentRecord) {
        if !self.filter.incident(&i) {
            return;
        }
        if self.incidents.len() < MAX_INCIDENTS {
            self.incidents.push(i);
        } else {
            self.incidents_more += 1;
        }
    }

    /// Reads a JSON-lines verdict log (`type: flow` and `incident` lines; `summary` lines are
    /// skipped). A malformed line is recorded as an input error (`FILE:LINE: what`) and skipped.
    /// Returns `Err` only when the file cannot be read at all.
    pub fn read_log(&mut self, name: &str, input: impl Read) -> io::Result<()> {
        let mut reader = io::BufReader::with_capacity(1 << 16, input);
        let mut buf = Vec::new();
        let mut number = 0u64;
        let mut errors = 0u64;
        loop {
            buf.clear();
            number += 1;
            let n = match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    self.input_error(format!("{name}:{number}: cannot be read further: {e}"));
                    return Ok(());
                }
            };
            if n == 0 {
                break;
            }
            if n as u64 == MAX_LINE && buf.last() != Some(&b'\n') {
                // Skip the rest of the over-long line.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    let m = reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut rest)?;
                    if m == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                }
                self.log_error(name, number, "line longer than 1 MiB", &mut errors);
                continue;
            }
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(obj)) => {
                    if let Err(what) = self.log_object(name, obj) {
                        self.log_error(name, number, &what, &mut errors);
                    }
                }
                Ok(_) => self.log_error(name, number, "not a JSON object", &mut errors),
                Err(e) => self.log_error(name, number, &format!("not JSON ({e})"), &mut errors),
            }
        }
        if errors > LOG_ERRORS_LISTED {
            self.input_error(format!(
                "{name}: {} more malformed lines skipped",
                errors - LOG_ERRORS_LISTED
            ));
        }
        Ok(())
    }

    fn log_error(&mut self, name: &str, line: u64, what: &str, count: &mut u64) {
        *count += 1;
        if *count <= LOG_ERRORS_LISTED {
            self.input_error(format!("{name}:{line}: malformed line skipped: {what}"));
        }
    }

    /// Counts one log line: an attempt or an incident, made into the same record a verdict or
    /// an incident of this process becomes.
    fn log_object(&mut self, name: &str, obj: Map<String, Value>) -> Result<(), String> {
        if !self.only_sensors.is_empty() {
            let sensor = obj.get("sensor").and_then(Value::as_str).map(fleet::sensor_token);
            if !sensor.is_some_and(|s| self.only_sensors.contains(&s)) {
                return Ok(());
            }
        }
        match obj.get("type").and_then(Value::as_str) {
            Some("flow") => self.observe(&FlowRecord::from_log(&obj, name)?),
            Some("incident") => self.observe_incident(IncidentRecord::from_log(obj)?),
            Some("summary") => {}
            Some(t) => return Err(format!("unknown type `{t}`")),
            None => return Err("no `type` field".into()),
        }
        Ok(())
    }

    /// The report model.
    pub fn finish(self) -> Report {
        let mut servers: Vec<ServerRow> = self
            .servers
            .into_iter()
            .map(|((proto, server, port, tunnel), s)| ServerRow {
                proto,
                server,
                port,
                tunnel,
                failures: s.failures,
                clients: s.clients.len() as u64,
                causes: sorted_counts(s.causes),
                first: s.first,
                last: s.last,
            })
            .collect();
        let servers_total = servers.len();
        servers.sort_by(|a, b| {
            b.failures.cmp(&a.failures).then(a.first.total_cmp(&b.first)).then(
                (&a.proto, a.server, a.port, &a.tunnel)
                    .cmp(&(&b.proto, b.server, b.port, &b.tunnel)),
            )
        });
        servers.truncate(TOP);
        let mut clients: Vec<ClientRow> = self
            .clients
            .into_iter()
            .filter(|(_, c)| c.failures > 0)
            .map(|((client, tunnel), c)| ClientRow {
                client,
                tunnel,
                attempts: c.attempts,
                failures: c.failures,
                targets: c.targets.len() as u64,
                causes: sorted_counts(c.causes),
            })
            .collect();
        let clients_total = clients.len();
        clients.sort_by(|a, b| {
            b.failures.cmp(&a.failures).then((a.client, &a.tunnel).cmp(&(b.client, &b.tunnel)))
        });
        clients.truncate(TOP);
        let causes = self
            .causes
            .into_iter()
            .flat_map(|(kind, words)| words.into_iter().map(move |(cause, n)| ((kind, cause), n)))
            .map(|((kind, cause), count)| {
                let (meaning, check) = causes::explain(kind, &cause);
                CauseRow { verdict: kind.as_str(), cause, count, meaning, check }
            })
            .collect();
        let mut incidents = self.incidents;
        // Ties in time (several sensors, several logs read in whatever order a stream gave
        // them) are broken by what the lines say, so the order does not depend on the inputs'.
        incidents.sort_by(|a, b| {
            a.ts.total_cmp(&b.ts).then_with(|| {
                (&a.kind, Value::Object(a.subject.clone()).to_string())
                    .cmp(&(&b.kind, Value::Object(b.subject.clone()).to_string()))
            })
        });
        let mut rows = self.rows;
        // Stable: one sensor's attempts of the same time stay in the order they came.
        rows.sort_by(|a, b| a.ts.total_cmp(&b.ts).then_with(|| a.sensor.cmp(&b.sensor)));
        Report {
            fleet: self.fleet.finish(),
            inputs: self.inputs,
            filters: self.filter.filter().describe(),
            span: self.span,
            packets: self.packets,
            hosts: self.hosts.len() as u64,
            hosts_capped: self.hosts_capped,
            attempts: self.attempts,
            failures: self.failures,
            undecided: self.undecided,
            by_verdict: VerdictKind::ALL
                .iter()
                .zip(self.by_verdict)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.as_str(), n))
                .collect(),
            timeline: self.timeline.render(self.span),
            servers,
            servers_total,
            servers_unranked: self.servers_unranked,
            clients,
            clients_total,
            clients_unranked: self.clients_unranked,
            incidents,
            incidents_more: self.incidents_more,
            causes,
            failed: rows,
            failed_more: self.rows_more,
        }
    }
}

/// Malformed lines listed one by one per log (the rest are counted).
const LOG_ERRORS_LISTED: u64 = 20;

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn sorted_counts(map: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl Sink for ReportBuilder {
    fn verdict(&mut self, v: &Verdict, inputs: &Inputs) -> io::Result<()> {
        self.observe(&FlowRecord::from_verdict(v, inputs));
        Ok(())
    }

    fn incident(&mut self, i: &Incident) -> io::Result<()> {
        self.observe_incident(IncidentRecord::from_incident(i));
        Ok(())
    }

    fn finish(&mut self, _summary: Option<&Summary>) -> io::Result<()> {
        Ok(())
    }
}

/// Candidate bin widths in milliseconds; each is a multiple of the one before, so counts kept
/// at one width can be merged into any wider one.
const WIDTHS_MS: [i64; 19] = [
    1, 2, 10, 20, 100, 200, 1_000, 2_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000,
    3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];
/// Most bins kept while reading (past it, the width grows).
const MAX_BINS: usize = 20_000;
/// About how many bars the timeline draws.
const TARGET_BARS: i64 = 60;

/// Attempts per verdict over time, kept at the finest width that fits [`MAX_BINS`].
#[derive(Default)]
struct Timeline {
    width: usize,
    bins: BTreeMap<i64, [u64; VerdictKind::ALL.len()]>,
}

impl Timeline {
    fn add(&mut self, ts: f64, verdict: usize) {
        let w = WIDTHS_MS[self.width];
        let ms = (ts * 1000.0).floor() as i64;
        self.bins.entry(ms.div_euclid(w)).or_insert([0; VerdictKind::ALL.len()])[verdict] += 1;
        while self.bins.len() > MAX_BINS && self.width + 1 < WIDTHS_MS.len() {
            self.regroup(self.width + 1);
        }
    }

    fn regroup(&mut self, to: usize) {
        let factor = WIDTHS_MS[to] / WIDTHS_MS[self.width];
        let mut merged: BTreeMap<i64, [u64; VerdictKind::ALL.len()]> = BTreeMap::new();
        for (k, c) in std::mem::take(&mut self.bins) {
            let slot = merged.entry(k.div_euclid(factor)).or_insert([0; VerdictKind::ALL.len()]);
            for (s, n) in slot.iter_mut().zip(c) {
                *s += n;
            }
        }
        self.bins = merged;
        self.width = to;
    }

    fn render(mut self, span: Option<(f64, f64)>) -> TimelineModel {
        let Some((first, last)) = span else {
            return TimelineModel { width_ms: 0, bins: Vec::new() };
        };
        let span_ms = ((last - first) * 1000.0).ceil() as i64;
        let wanted = WIDTHS_MS
            .iter()
            .position(|w| span_ms / w < TARGET_BARS)
            .unwrap_or(WIDTHS_MS.len() - 1)
            .max(self.width);
        if wanted != self.width {
            self.regroup(wanted);
        }
        let w = WIDTHS_MS[self.width];
        let (Some((&lo, _)), Some((&hi, _))) =
            (self.bins.first_key_value(), self.bins.last_key_value())
        else {
            return TimelineModel { width_ms: w, bins: Vec::new() };
        };
        let bins = (lo..=hi)
            .map(|k| {
                let counts = self.bins.get(&k).copied().unwrap_or_default();
                TimeBin {
                    start: (k * w) as f64 / 1000.0,
                    counts: VerdictKind::ALL.iter().map(|v| v.as_str()).zip(counts).collect(),
                }
            })
            .collect();
        TimelineModel { width_ms: w, bins }
    }
}

/// The timeline as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineModel {
    /// Bin width in milliseconds.
    pub width_ms: i64,
    /// Consecutive bins, from the first attempt's to the last's.
    pub bins: Vec<TimeBin>,
}

/// One bar of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeBin {
    /// Start of the bin, seconds since the epoch.
    pub start: f64,
    /// Attempts per verdict (every verdict, in [`VerdictKind::ALL`] order).
    pub counts: Vec<(&'static str, u64)>,
}

/// A failing server:port.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerRow {
    /// `tcp` or `udp`.
    pub proto: String,
    /// Address.
    pub server: IpAddr,
    /// Port.
    pub port: u16,
    /// The tunnel it was reached in (short form), if any.
    pub tunnel: Option<String>,
    /// Failed attempts.
    pub failures: u64,
    /// Distinct clients that failed there.
    pub clients: u64,
    /// Failures by cause, most first.
    pub causes: Vec<(String, u64)>,
    /// First failure.
    pub first: f64,
    /// Last failure.
    pub last: f64,
}

/// A client with failed attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRow {
    /// Address.
    pub client: IpAddr,
    /// The tunnel its attempts were in (short form), if any.
    pub tunnel: Option<String>,
    /// Its attempts.
    pub attempts: u64,
    /// Of which failed.
    pub failures: u64,
    /// Distinct server:port pairs it failed on.
    pub targets: u64,
    /// Failures by cause, most first.
    pub causes: Vec<(String, u64)>,
}

/// A cause seen, with what it means and what to check.
#[derive(Clone, Debug, PartialEq)]
pub struct CauseRow {
    /// Verdict word.
    pub verdict: &'static str,
    /// Cause word.
    pub cause: String,
    /// Attempts.
    pub count: u64,
    /// What it means, in plain words.
    pub meaning: &'static str,
    /// What to check.
    pub check: &'static str,
}

/// Everything a report says; the renderers only draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Inputs, in the order given, with their problems.
    pub inputs: Vec<InputInfo>,
    /// The filters applied, in words.
    pub filters: Vec<String>,
    /// First and last attempt (seconds since the epoch).
    pub span: Option<(f64, f64)>,
    /// Packets read from captures (logs carry none).
    pub packets: u64,
    /// Distinct addresses (clients and servers).
    pub hosts: u64,
    /// More addresses were seen than counted.
    pub hosts_capped: bool,
    /// Attempts.
    pub attempts: u64,
    /// Failed attempts ([`Cause::judgement`]).
    pub failures: u64,
    /// Attempts whose outcome the capture could not decide.
    pub undecided: u64,
    /// Attempts per verdict (those seen).
    pub by_verdict: Vec<(&'static str, u64)>,
    /// Attempts per verdict over time.
    pub timeline: TimelineModel,
    /// The most failing server:port pairs.
    pub servers: Vec<ServerRow>,
    /// Distinct failing server:port pairs.
    pub servers_total: usize,
    /// Failures at servers past the key cap.
    pub servers_unranked: u64,
    /// The clients with most failures.
    pub clients: Vec<ClientRow>,
    /// Distinct clients with failures.
    pub clients_total: usize,
    /// Attempts by clients past the key cap.
    pub clients_unranked: u64,
    /// Incidents, in time order.
    pub incidents: Vec<IncidentRecord>,
    /// Incidents past the cap.
    pub incidents_more: u64,
    /// Causes seen.
    pub causes: Vec<CauseRow>,
    /// Failed attempts listed.
    pub failed: Vec<FailedRow>,
    /// Failed attempts not listed (past the cap).
    pub failed_more: u64,
    /// Per sensor, and the attempts several sensors saw (empty without sensors).
    pub fleet: FleetModel,
}

impl Report {
    /// Failure rate in percent, one decimal (the figure every format shows).
    pub fn failure_rate_percent(&self) -> f64 {
        if self.attempts == 0 {
            return 0.0;
        }
        (self.failures as f64 * 1000.0 / self.attempts as f64).round() / 10.0
    }

    /// Captures and logs read.
    pub fn count_inputs(&self, kind: &str) -> usize {
        self.inputs.iter().filter(|i| i.kind == kind).count()
    }

    /// Input problems, one line each.
    pub fn errors(&self) -> impl Iterator<Item = &str> {
        self.inputs.iter().flat_map(|i| i.errors.iter().map(String::as_str))
    }
}

/// `2026-11-20 14:03:07.123Z` for a time in seconds since the epoch: the table's form
/// ([`Timestamp::utc`](crate::time::Timestamp::utc)) marked as UTC.
pub fn utc(ts: f64) -> String {
    // To the microsecond first (the contract's precision), so float noise such as
    // 3.1819999 does not show as 3.181.
    let us = (ts * 1e6).round() as i64;
    let t = crate::time::Timestamp::from_secs_nanos(
        us.div_euclid(1_000_000),
        (us.rem_euclid(1_000_000) * 1000) as u32,
    );
    format!("{}Z", t.utc())
}

/// A bin width for people: `10 ms`, `2 s`, `5 min`, `1 h`.
pub fn width_text(ms: i64) -> String {
    match ms {
        m if m < 1000 => format!("{m} ms"),
        m if m < 60_000 => format!("{} s", m / 1000),
        m if m < 3_600_000 => format!("{} min", m / 60_000),
        m => format!("{} h", m / 3_600_000),
    }
}

/// Causes of one row as `cause ×N, …`.
pub fn causes_text(causes: &[(String, u64)]) -> String {
    causes.iter().map(|(c, n)| format!("{c} ×{n}")).collect::<Vec<_>>().join(", ")
}

/// An incident's subject (who) in words.
pub fn incident_subject(i: &IncidentRecord) -> String {
    let s = |k: &str| i.subject_text(k);
    match (s("client"), s("server"), i.server_port()) {
        (Some(c), _, _) => format!("client {c}"),
        (None, Some(h), Some(p)) => {
            format!("{} {}", s("proto").unwrap_or_default(), endpoint(h, p))
        }
        (None, Some(h), None) => format!("host {h}"),
        _ => "?".into(),
    }
}

/// `addr:port` of an attempt of `proto`: a ping's address alone (its port fields hold ICMP
/// types, not ports).
pub fn proto_endpoint(proto: &str, addr: &str, port: u64) -> String {
    if proto == "icmp" { addr.to_string() } else { endpoint(addr, port) }
}

/// `addr:port`, with brackets for IPv6.
pub fn endpoint(addr: &str, port: u64) -> String {
    if addr.contains(':') { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") }
}

/// An incident's evidence in one line.
pub fn incident_evidence(i: &IncidentRecord) -> String {
    i.evidence
        .iter()
        .map(|(k, v)| match v {
            Value::Object(o) => format!(
                "{k}: {}",
                o.iter().map(|(a, b)| format!("{a} {b}")).collect::<Vec<_>>().join(", ")
            ),
            Value::String(s) => format!("{k}: {s}"),
            Value::Number(n) if k == "window" => format!("{k}: {n} s"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = r#"{"type":"flow","ts":100.5,"proto":"tcp","client":"10.0.0.1","client_port":4000,"server":"10.0.0.2","server_port":80,"verdict":"refused","cause":"host-reset","evidence":{"rst_packet":2},"capture":"a.pcap","first_packet":1}"#;

    fn read(text: &str, filter: Filter) -> Report {
        let mut b = ReportBuilder::new(filter);
        b.add_input("log.jsonl", "log");
        b.read_log("log.jsonl", text.as_bytes()).unwrap();
        b.finish()
    }

    #[test]
    fn log_lines_good_bad_and_skipped() {
        let long = format!("{{\"x\":\"{}\"}}", "a".repeat(2 << 20));
        let text = format!(
            "{FLOW}\n\n{{\"type\":\"summary\"}}\n[1]\n{{\"type\":\"flow\",\"verdict\":\"nope\"}}\n{long}\n{FLOW}\n"
        );
        let r = read(&text, Filter::default());
        assert_eq!(r.attempts, 2);
        assert_eq!(r.failures, 2);
        let errors: Vec<&str> = r.errors().collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("log.jsonl:4: malformed line skipped: not a JSON object"));
        assert!(errors[1].starts_with("log.jsonl:5: "));
        assert!(errors[2].starts_with("log.jsonl:6: malformed line skipped: line longer"));
        assert_eq!(r.failed[0].capture, "a.pcap");
        assert_eq!(r.failed[0].packet, Some(1));
        assert_eq!(r.failed[0].evidence, "rst_packet=2");
        assert_eq!(r.servers[0].failures, 2);
    }

    /// On a span that crosses days every timeline tick carries its date (it would read
    /// 00:00:00 on a day-wide bin otherwise); within a day, the time of day.
    #[test]
    fn timeline_ticks_carry_dates_across_days() {
        let lines: Vec<String> = (0..4)
            .map(|d| FLOW.replace("100.5", &format!("{}.0", 1_790_000_000 + d * 86_400)))
            .collect();
        let page = html::render(&read(&lines.join("\n"), Filter::default()));
        let ticks: Vec<&str> = page
            .split("<text x=\"")
            .filter(|t| t.contains("font-size=\"11\">") && !t.contains("text-anchor"))
            .filter_map(|t| t.split("font-size=\"11\">").nth(1)?.split('<').next())
            .collect();
        assert!(ticks.len() >= 3, "{ticks:?}");
        assert!(ticks[0].starts_with("2026-09-21"), "{ticks:?}");
        assert!(ticks[1..].iter().all(|t| t.len() == 11 && t.as_bytes()[2] == b'-'), "{ticks:?}");
        let one_day = html::render(&read(FLOW, Filter::default()));
        assert!(!one_day.contains(">01-01 "), "within a day: times only");
    }

    #[test]
    fn filters_and_time_of_day() {
        let later = FLOW.replace("100.5", "86500.0").replace("10.0.0.1", "10.0.0.9");
        let text = format!("{FLOW}\n{later}\n");
        let f = Filter { since: parse_time_bound("01:00").ok(), ..Filter::default() };
        // 01:00 on the first day (1970-01-01): only the later attempt.
        let r = read(&text, f);
        assert_eq!(r.attempts, 1);
        assert_eq!(r.failed[0].client.to_string(), "10.0.0.9");
        let f = Filter { clients: vec![parse_host_port("10.0.0.1").unwrap()], ..Filter::default() };
        assert_eq!(read(&text, f).attempts, 1);
        let f = Filter { verdicts: vec![VerdictKind::Established], ..Filter::default() };
        let r = read(&text, f);
        assert_eq!(r.attempts, 0);
        assert!(r.timeline.bins.is_empty());
    }

    #[test]
    fn a_cause_this_version_does_not_know_is_counted_under_its_word() {
        let text = format!("{FLOW}\n{}\n", FLOW.replace("host-reset", "brand-new"));
        let r = read(&text, Filter::default());
        assert_eq!((r.attempts, r.failures), (2, 2));
        assert!(r.errors().next().is_none());
        let words: Vec<_> = r.causes.iter().map(|c| (c.cause.as_str(), c.count)).collect();
        assert_eq!(words, [("brand-new", 1), ("host-reset", 1)]);
        assert!(r.causes[0].meaning.contains("no explanation"));
        assert_eq!(
            r.servers[0].causes,
            [("brand-new".to_string(), 1), ("host-reset".to_string(), 1)]
        );
    }

    #[test]
    fn rows_are_capped_and_counted() {
        let text = format!("{FLOW}\n{FLOW}\n{FLOW}\n");
        let mut b = ReportBuilder::new(Filter::default()).max_rows(2);
        b.read_log("l", text.as_bytes()).unwrap();
        let r = b.finish();
        assert_eq!((r.failed.len(), r.failed_more), (2, 1));
    }

    #[test]
    fn timeline_width_follows_the_span_and_memory_stays_bounded() {
        let mut t = Timeline::default();
        // One attempt a second for a day: regrouped while reading, about 60 bars at the end.
        for s in 0..86_400 {
            t.add(f64::from(s), 0);
            assert!(t.bins.len() <= MAX_BINS + 1);
        }
        let m = t.render(Some((0.0, 86_399.0)));
        assert_eq!(m.width_ms, 1_800_000);
        assert_eq!(m.bins.len(), 48);
        assert_eq!(m.bins.iter().map(|b| b.counts[0].1).sum::<u64>(), 86_400);
        let mut t = Timeline::default();
        t.add(1.0, 1);
        t.add(1.05, 1);
        let m = t.render(Some((1.0, 1.05)));
        assert_eq!(m.width_ms, 1);
        assert_eq!(m.bins.len(), 51);
    }
}
