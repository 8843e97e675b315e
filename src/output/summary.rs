//! The end-of-run summary: attempts per verdict and cause, the services and clients that
//! failed most, packets read and skipped (with the reasons), and what could not be read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value, json};

use crate::capture::{KernelStats, LinkType};
use crate::decode::{Encap, Proto, Skip};
use crate::flow::Endpoint;
use crate::incident::Incident;
use crate::time::Timestamp;
use crate::track::TrackerStats;
use crate::verdict::{Cause, Judgement, Verdict, VerdictKind};

/// How many distinct services and clients the ranking tables keep; past it, failures of new
/// ones are counted under "others" so that a scan of millions of hosts cannot grow memory.
const RANKED_CAP: usize = 100_000;
/// How many rows the rankings print.
const TOP: usize = 10;
/// How many incidents the summary lists one by one (all are counted).
const MAX_LISTED_INCIDENTS: usize = 50;
/// How many protocol names the one-way counts keep (the built-in list has about 25).
const MAX_ONE_WAY_NAMES: usize = 256;

/// Counters of the reading and decoding side of a run.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Records read from the inputs.
    pub frames: u64,
    /// Captured bytes read (record data).
    pub bytes: u64,
    /// Frames decoded into packets the tracker saw.
    pub decoded: u64,
    /// Frames skipped, by reason (indexed by [`Skip::index`]).
    pub skipped: [u64; Skip::ALL.len()],
    /// Decoded packets per encapsulation they were found in (indexed by [`Encap::index`]; a
    /// packet in VXLAN inside GRE counts for both).
    pub encapsulations: [u64; Encap::ALL.len() + 1],
    /// Frames read per link type, in the order first met.
    pub link_types: Vec<(LinkType, u64)>,
    /// Tracker counters.
    pub tracker: TrackerStats,
    /// One line per input that could not be read to its end.
    pub errors: Vec<String>,
    /// Input names.
    pub inputs: Vec<String>,
    /// First and last capture timestamps seen.
    pub span: Option<(Timestamp, Timestamp)>,
    /// Live runs: what libpcap and connlens itself could not keep.
    pub live: Option<LiveCounters>,
    /// Frames the read filter (`--filter`) left out.
    pub filtered_frames: u64,
    /// The read filter, as typed.
    pub read_filter: Option<String>,
    /// The attempt filters, in words (`failed`, `server 10.0.0.5`).
    pub filters: Vec<String>,
    /// Attempts the attempt filters left out.
    pub filtered_out: u64,
    /// Verdicts decided after `live --count` was reached (not written).
    pub beyond_limit: u64,
    /// Frames by input (index: the input's place in `inputs`).
    pub per_input: Vec<InputCounts>,
    /// Warnings for the person: an input with no decodable packet (naming its link type), a
    /// read filter that cannot be compiled for one.
    pub warnings: Vec<String>,
}

/// What one input gave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputCounts {
    /// Frames read.
    pub frames: u64,
    /// Frames decoded into packets the tracker saw.
    pub decoded: u64,
    /// Frames the read filter left out.
    pub filtered: u64,
    /// Frames skipped because connlens does not decode their link type.
    pub unsupported_link: u64,
    /// The link type of its first frame.
    pub link: Option<LinkType>,
    /// Whether it has frames of other link types too (pcapng, several interfaces).
    pub mixed_links: bool,
}

impl InputCounts {
    /// Frames read but not decoded (skipped, or left out by the read filter).
    pub fn skipped(&self) -> u64 {
        self.frames - self.decoded
    }
}

/// The warnings about the inputs: one for each input that yielded no decodable packet,
/// naming its link type as tcpdump does (`link-type PPP (PPP)`), so that a capture connlens
/// cannot read is not mistaken for a quiet network.
pub fn input_warnings(run: &RunStats) -> Vec<String> {
    let mut out = Vec::new();
    for (i, name) in run.inputs.iter().enumerate() {
        let c = run.per_input.get(i).copied().unwrap_or_default();
        let failed = run
            .errors
            .iter()
            .any(|e| e.strip_prefix(name.as_str()).is_some_and(|r| r.starts_with(':')));
        if c.decoded > 0 || c.filtered > 0 && c.filtered == c.frames || failed {
            continue;
        }
        let name = super::printable(name);
        if c.frames == 0 {
            out.push(format!("{name}: no packets in it"));
            continue;
        }
        let link = c.link.map(crate::capture::link_type_name).unwrap_or_default();
        let packets =
            if c.frames == 1 { "1 packet".to_string() } else { format!("{} packets", c.frames) };
        let more = if c.mixed_links { " and others" } else { "" };
        out.push(if c.unsupported_link == 0 {
            format!(
                "{name}: none of its {packets} (link-type {link}{more}) could be analyzed: nothing to give a verdict on"
            )
        } else {
            format!(
                "{name}: link-type {link}{more} is not one connlens reads: its {packets} were skipped"
            )
        });
    }
    out
}

/// `1 packet`, `2 packets`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Drop counters of a live run.
#[derive(Clone, Debug, Default)]
pub struct LiveCounters {
    /// The interface captured on.
    pub interface: String,
    /// libpcap's counters (`None` when the platform gives none).
    pub kernel: Option<KernelStats>,
    /// Packets captured and decoded but dropped because the tracker was behind (the channel
    /// was full): they got no analysis (the evidence file still has them).
    pub dropped_by_connlens: u64,
}

impl RunStats {
    /// Frames skipped for any reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }
}

/// Counts by cause, in first-seen order (a handful of causes: a scan beats a map lookup).
#[derive(Clone, Debug, Default)]
struct CauseCounts(Vec<(Cause, u64)>);

impl CauseCounts {
    #[inline]
    fn bump(&mut self, cause: Cause) {
        match self.0.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) => *n += 1,
            None => self.0.push((cause, 1)),
        }
    }

    /// Takes back one count of `cause` (a live verdict its correction replaced).
    fn take_back(&mut self, cause: Cause) {
        if let Some(at) = self.0.iter().position(|(c, _)| *c == cause) {
            self.0[at].1 -= 1;
            if self.0[at].1 == 0 {
                self.0.remove(at);
            }
        }
    }

    /// The counts by cause word, in word order. Two causes of different verdicts may share a
    /// word (`no-response` of an unanswered SYN and of an unanswered DNS query): their counts
    /// add up, as the word is all the output shows.
    fn sorted(&self) -> BTreeMap<&'static str, u64> {
        let mut by_word = BTreeMap::new();
        for &(c, n) in &self.0 {
            *by_word.entry(c.word()).or_default() += n;
        }
        by_word
    }
}

#[derive(Default)]
struct Failures {
    total: u64,
    causes: CauseCounts,
}

/// Aggregates verdicts for the summary.
#[derive(Default)]
pub struct Summary {
    attempts: u64,
    /// By verdict kind (indexed by declaration order, the order summaries list them in), then
    /// by cause.
    by_verdict: [CauseCounts; VerdictKind::ALL.len()],
    servers: FxHashMap<(Proto, Endpoint), Failures>,
    clients: FxHashMap<IpAddr, u64>,
    unranked_failures: u64,
    /// One-way conversations by protocol (the evidence's `protocol`; at most
    /// `MAX_ONE_WAY_NAMES` names, the rest under "other").
    one_way: BTreeMap<Box<str>, u64>,
    /// Incidents, as one-line descriptions (bounded: the first `MAX_LISTED_INCIDENTS`).
    incidents: Vec<Value>,
    incident_counts: BTreeMap<&'static str, u64>,
    /// The listed incidents as sentences, for the text summary.
    incident_lines: Vec<String>,
    /// Reading-side counters, set at the end of the run.
    pub run: RunStats,
    /// Publishing counters (`--publish`), read when the summary is written.
    pub publish: Option<std::sync::Arc<PublishCounters>>,
}

/// What became of the lines published to a broker (`--publish`): shared between the output
/// stage and the publisher thread, read by the summary and the metrics page.
#[derive(Debug, Default)]
pub struct PublishCounters {
    /// Lines the stream acknowledged as stored.
    pub published: std::sync::atomic::AtomicU64,
    /// Of those, ones the stream already held (a re-send after a lost acknowledgement).
    pub duplicates: std::sync::atomic::AtomicU64,
    /// Lines written to the on-disk spool while the broker was away.
    pub spooled: std::sync::atomic::AtomicU64,
    /// Sends after the first of a line (no acknowledgement came in time).
    pub resent: std::sync::atomic::AtomicU64,
    /// Lines lost: the spool's oldest past its bound, or no spool and no broker at the end.
    pub dropped: std::sync::atomic::AtomicU64,
    /// Lines not yet stored, left in the spool for a later run.
    pub left_in_spool: std::sync::atomic::AtomicU64,
}

impl PublishCounters {
    /// The counters as a JSON object (the summary's `publish`).
    pub fn to_json(&self) -> Value {
        use std::sync::atomic::Ordering::Relaxed;
        json!({
            "published": self.published.load(Relaxed),
            "duplicates": self.duplicates.load(Relaxed),
            "spooled": self.spooled.load(Relaxed),
            "resent": self.resent.load(Relaxed),
            "dropped": self.dropped.load(Relaxed),
            "left_in_spool": self.left_in_spool.load(Relaxed),
        })
    }
}

impl Summary {
    /// Counts one verdict. A live correction (`revises`) replaces the earlier line's count:
    /// the attempt is counted once, with its last verdict.
    pub fn observe(&mut self, v: &Verdict) {
        match v.revises {
            Some(earlier) => self.take_back(earlier, v),
            None => self.attempts += 1,
        }
        if let Some(c) = self.by_verdict.get_mut(v.kind() as usize) {
            c.bump(v.cause);
        }
        if v.kind() == VerdictKind::OneWay {
            let name = v.evidence.get("protocol").and_then(|f| f.as_str()).unwrap_or("other");
            if let Some(n) = self.one_way.get_mut(name) {
                *n += 1;
            } else if self.one_way.len() < MAX_ONE_WAY_NAMES {
                self.one_way.insert(name.into(), 1);
            } else {
                *self.one_way.entry("other".into()).or_default() += 1;
            }
        }
        if !v.cause.is_failure() {
            return;
        }
        let key = (v.proto, v.server);
        // One lookup either way: below the cap, entry(); at it, only known keys count.
        let ranked = if self.servers.len() < RANKED_CAP {
            Some(self.servers.entry(key).or_default())
        } else {
            self.servers.get_mut(&key)
        };
        if let Some(f) = ranked {
            f.total += 1;
            f.causes.bump(v.cause);
        } else {
            self.unranked_failures += 1;
        }
        if self.clients.len() < RANKED_CAP {
            *self.clients.entry(v.client.ip).or_default() += 1;
        } else if let Some(n) = self.clients.get_mut(&v.client.ip) {
            *n += 1;
        }
    }

    /// Takes back the count of an earlier line of `v`'s attempt whose cause was `earlier`.
    fn take_back(&mut self, earlier: Cause, v: &Verdict) {
        if let Some(c) = self.by_verdict.get_mut(earlier.kind() as usize) {
            c.take_back(earlier);
        }
        if !earlier.is_failure() {
            return;
        }
        let key = (v.proto, v.server);
        match self.servers.get_mut(&key) {
            Some(f) => {
                f.total = f.total.saturating_sub(1);
                f.causes.take_back(earlier);
                if f.total == 0 {
                    self.servers.remove(&key);
                }
            }
            None => self.unranked_failures = self.unranked_failures.saturating_sub(1),
        }
        if let Some(n) = self.clients.get_mut(&v.client.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.clients.remove(&v.client.ip);
            }
        }
    }

    /// Counts one incident (and lists it, up to a bound).
    pub fn observe_incident(&mut self, i: &Incident) {
        *self.incident_counts.entry(i.kind.as_str()).or_default() += 1;
        if self.incidents.len() < MAX_LISTED_INCIDENTS {
            let mut m: Map<String, Value> = Map::new();
            m.insert("incident".into(), json!(i.kind.as_str()));
            m.insert("ts".into(), json!(i.ts.to_string().parse::<f64>().unwrap_or(0.0)));
            for (k, v) in &i.subject {
                m.insert(k.clone(), v.clone());
            }
            self.incidents.push(Value::Object(m));
            self.incident_lines.push(super::incident_sentence(
                i.kind.as_str(),
                &i.subject,
                &i.evidence,
            ));
        }
    }

    /// Attempts seen.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }

    /// Attempts judged failures ([`Cause::judgement`]).
    pub fn failures(&self) -> u64 {
        self.judged(Judgement::Failure)
    }

    /// Attempts whose outcome the capture could not decide.
    pub fn undecided(&self) -> u64 {
        self.judged(Judgement::Undecided)
    }

    fn judged(&self, j: Judgement) -> u64 {
        let counts = self.by_verdict.iter().flat_map(|c| c.0.iter());
        counts.filter(|(c, _)| c.judgement() == j).map(|(_, n)| n).sum()
    }

    /// Counts by verdict kind and cause, for the outputs (kinds seen only, both in order).
    fn by_verdict(&self) -> BTreeMap<VerdictKind, BTreeMap<&'static str, u64>> {
        VerdictKind::ALL
            .into_iter()
            .filter_map(|k| {
                let c = self.by_verdict.get(k as usize)?;
                (!c.0.is_empty()).then(|| (k, c.sorted()))
            })
            .collect()
    }

    fn top_servers(&self) -> Vec<(&(Proto, Endpoint), &Failures)> {
        let mut v: Vec<_> = self.servers.iter().collect();
        v.sort_by(|a, b| b.1.total.cmp(&a.1.total).then_with(|| a.0.cmp(b.0)));
        v.truncate(TOP);
        v
    }

    fn top_clients(&self) -> Vec<(&IpAddr, &u64)> {
        let mut v: Vec<_> = self.clients.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        v.truncate(TOP);
        v
    }

    /// The summary as plain text for people.
    pub fn to_text(&self) -> String {
        let r = &self.run;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "summary: {} attempts, {} failed, {} undecided; {} packets read, {} decoded, {} skipped",
            self.attempts,
            self.failures(),
            self.undecided(),
            r.frames,
            r.decoded,
            r.skipped_total()
        );
        if let Some(f) = &r.read_filter {
            let _ = writeln!(
                s,
                "  read filter: {} (with ICMP and VLAN-tagged frames): {} left out",
                super::printable(f),
                plural(r.filtered_frames, "packet", "packets")
            );
        }
        if !r.filters.is_empty() {
            let _ = writeln!(
                s,
                "  shown: {} ({} not shown)",
                r.filters.join(", "),
                plural(r.filtered_out, "other attempt", "other attempts")
            );
        }
        if r.beyond_limit > 0 {
            let _ = writeln!(
                s,
                "  stopped at --count: {} decided after it not shown",
                plural(r.beyond_limit, "verdict", "verdicts")
            );
        }
        for w in &r.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
        if r.skipped_total() > 0 {
            let reasons: Vec<String> = Skip::ALL
                .iter()
                .filter(|k| r.skipped[k.index()] > 0)
                .map(|k| format!("{} {}", k.as_str(), r.skipped[k.index()]))
                .collect();
            let _ = writeln!(s, "  skipped:   {}", reasons.join(", "));
        }
        if r.link_types.iter().any(|(l, _)| *l != LinkType::ETHERNET) {
            let links: Vec<String> =
                r.link_types.iter().map(|(l, n)| format!("{} {n}", l.name())).collect();
            let _ = writeln!(s, "  link types: {}", links.join(", "));
        }
        if r.encapsulations.iter().any(|&n| n > 0) {
            let tunnels: Vec<String> = Encap::ALL
                .iter()
                .filter(|e| r.encapsulations[e.index()] > 0)
                .map(|e| format!("{} {}", e.as_str(), r.encapsulations[e.index()]))
                .collect();
            let _ = writeln!(s, "  tunnels:   {}", tunnels.join(", "));
        }
        for (kind, causes) in &self.by_verdict() {
            let total: u64 = causes.values().sum();
            let parts: Vec<String> = causes.iter().map(|(c, n)| format!("{c} {n}")).collect();
            let _ = writeln!(s, "  {:<14} {:>7}  ({})", kind.as_str(), total, parts.join(", "));
            if *kind == VerdictKind::OneWay {
                let protocols: Vec<String> =
                    self.one_way.iter().map(|(p, n)| format!("{p} {n}")).collect();
                let _ =
                    writeln!(s, "  {:<14} {:>7}  by protocol: {}", "", "", protocols.join(", "));
            }
        }
        let servers = self.top_servers();
        if !servers.is_empty() {
            let _ = writeln!(s, "  services that failed most:");
            for ((proto, ep), f) in servers {
                let causes: Vec<String> =
                    f.causes.sorted().iter().map(|(c, n)| format!("{c} {n}")).collect();
                let _ = writeln!(
                    s,
                    "    {:<30} {:<3} {:>7}  ({})",
                    // A ping has no port (its port fields hold ICMP types).
                    if proto.has_ports() { ep.to_string() } else { ep.ip.to_string() },
                    proto.as_str(),
                    f.total,
                    causes.join(", ")
                );
            }
        }
        let clients = self.top_clients();
        if !clients.is_empty() {
            let _ = writeln!(s, "  clients that failed most:");
            for (ip, n) in clients {
                let _ = writeln!(s, "    {:<30} {:>11}", ip.to_string(), n);
            }
        }
        if !self.incident_counts.is_empty() {
            let kinds: Vec<String> =
                self.incident_counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(s, "  incidents: {}", kinds.join(", "));
            for line in self.incident_lines.iter().take(TOP) {
                let _ = writeln!(s, "    {}", super::printable(line));
            }
        }
        if r.tracker.evicted > 0 {
            let _ = writeln!(
                s,
                "  {} conversations were pushed out early (flow table full, peak {}): raise --max-flows",
                r.tracker.evicted, r.tracker.peak_flows
            );
        }
        if let Some(l) = &r.live {
            let k = l.kernel.unwrap_or_default();
            let _ = writeln!(
                s,
                "  capture on {}: {} received by the filter, {} dropped by the kernel, {} dropped by the interface, {} dropped by connlens",
                l.interface, k.received, k.dropped, k.if_dropped, l.dropped_by_connlens
            );
        }
        if let Some(p) = &self.publish {
            use std::sync::atomic::Ordering::Relaxed;
            let _ = writeln!(
                s,
                "  published: {} stored ({} already held), {} spooled, {} re-sent, {} dropped, {} left in the spool",
                p.published.load(Relaxed),
                p.duplicates.load(Relaxed),
                p.spooled.load(Relaxed),
                p.resent.load(Relaxed),
                p.dropped.load(Relaxed),
                p.left_in_spool.load(Relaxed),
            );
        }
        for e in &r.errors {
            let _ = writeln!(s, "  input error: {e}");
        }
        s
    }

    /// The summary as the `type: summary` JSON object.
    pub fn to_json(&self) -> Value {
        let r = &self.run;
        let mut verdicts = Map::new();
        for (kind, causes) in &self.by_verdict() {
            let total: u64 = causes.values().sum();
            let c: Map<String, Value> =
                causes.iter().map(|(k, n)| ((*k).to_string(), json!(n))).collect();
            let mut entry = json!({"total": total, "causes": c});
            if *kind == VerdictKind::OneWay {
                // By protocol: one-way traffic is counted and summarised, not judged.
                entry["protocols"] = json!(self.one_way);
            }
            verdicts.insert(kind.as_str().to_string(), entry);
        }
        let skipped: Map<String, Value> = Skip::ALL
            .iter()
            .filter(|k| r.skipped[k.index()] > 0)
            .map(|k| (k.as_str().to_string(), json!(r.skipped[k.index()])))
            .collect();
        let encapsulations: Map<String, Value> = Encap::ALL
            .iter()
            .filter(|e| r.encapsulations[e.index()] > 0)
            .map(|e| (e.as_str().to_string(), json!(r.encapsulations[e.index()])))
            .collect();
        // Several numbers share a name (raw IP is 12, 14 and 101): their counts add up.
        let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
        for (l, n) in &r.link_types {
            *by_name.entry(l.name().into_owned()).or_default() += n;
        }
        let link_types: Map<String, Value> =
            by_name.into_iter().map(|(k, n)| (k, json!(n))).collect();
        let servers: Vec<Value> = self
            .top_servers()
            .into_iter()
            .map(|((proto, ep), f)| {
                let c: Map<String, Value> = f.causes.sorted().iter().map(|(k, n)| ((*k).to_string(), json!(n))).collect();
                json!({"proto": proto.as_str(), "server": ep.ip.to_string(), "server_port": ep.port, "failures": f.total, "causes": c})
            })
            .collect();
        let clients: Vec<Value> = self
            .top_clients()
            .into_iter()
            .map(|(ip, n)| json!({"client": ip.to_string(), "failures": n}))
            .collect();
        let span = r.span.map(|(a, b)| json!({"first": a.to_string().parse::<f64>().unwrap_or(0.0), "last": b.to_string().parse::<f64>().unwrap_or(0.0)}));
        let mut obj = json!({
            "type": "summary",
            "inputs": r.inputs,
            "packets": {"read": r.frames, "decoded": r.decoded, "skipped": r.skipped_total(), "skipped_by_reason": skipped, "link_types": link_types, "encapsulations": encapsulations},
            "attempts": self.attempts,
            "failures": self.failures(),
            "undecided": self.undecided(),
            "verdicts": verdicts,
            "top_failed_servers": servers,
            "top_failed_clients": clients,
            "flows": {"peak": r.tracker.peak_flows, "evicted": r.tracker.evicted, "late_packets": r.tracker.late_packets, "clock_jumps_ignored": r.tracker.clock_jumps},
            "udp_group_datagrams": r.tracker.group_datagrams,
            "icmp_errors": {"matched": r.tracker.icmp_matched, "informational": r.tracker.icmp_informational},
            "capture_span": span,
            "incidents": {"total": self.incident_counts.values().sum::<u64>(), "by_kind": self.incident_counts, "listed": self.incidents},
            "errors": r.errors,
        });
        // Only when there were any: stretches of capture time no input recorded.
        if r.tracker.coverage_gaps > 0
            && let Some(flows) = obj.get_mut("flows").and_then(Value::as_object_mut)
        {
            flows.insert("coverage_gaps".into(), json!(r.tracker.coverage_gaps));
        }
        // Only when there were any: errors about a tunnel whose quote named the tunnel only.
        if r.tracker.icmp_about_tunnels > 0
            && let Some(icmp) = obj.get_mut("icmp_errors").and_then(Value::as_object_mut)
        {
            icmp.insert("about_tunnels".into(), json!(r.tracker.icmp_about_tunnels));
        }
        // Present only when they say something, so that the summary of an ordinary run is
        // what it was.
        if let Some(o) = obj.as_object_mut() {
            if let Some(f) = &r.read_filter {
                o.insert(
                    "read_filter".into(),
                    json!({"filter": f, "packets_left_out": r.filtered_frames}),
                );
            }
            if !r.filters.is_empty() {
                o.insert(
                    "filters".into(),
                    json!({"shown": r.filters, "attempts_not_shown": r.filtered_out}),
                );
            }
            if r.beyond_limit > 0 {
                o.insert("verdicts_after_count".into(), json!(r.beyond_limit));
            }
            if !r.warnings.is_empty() {
                o.insert("warnings".into(), json!(r.warnings));
            }
            if let Some(p) = &self.publish {
                o.insert("publish".into(), p.to_json());
            }
        }
        if let (Some(l), Some(o)) = (&r.live, obj.as_object_mut()) {
            let k = l.kernel;
            o.insert(
                "capture".into(),
                json!({
                    "interface": l.interface,
                    "received": k.map(|k| k.received),
                    "dropped_by_kernel": k.map(|k| k.dropped),
                    "dropped_by_interface": k.map(|k| k.if_dropped),
                    "dropped_by_connlens": l.dropped_by_connlens,
                }),
            );
        }
        obj
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(cause: Cause, client_port: u16) -> Verdict {
        let client = Endpoint::new("192.0.2.1".parse().unwrap(), client_port);
        let server = Endpoint::new("198.51.100.53".parse().unwrap(), 53);
        Verdict::for_test(cause, Proto::Tcp, client, server)
    }

    /// An unanswered SYN and an unanswered DNS query share the word `no-response`: a service's
    /// causes add up to its failures. A wait the capture cut short is no failure: undecided.
    #[test]
    fn causes_that_share_a_word_add_up_and_cut_waits_are_undecided() {
        let mut s = Summary::default();
        for (i, c) in
            [Cause::NoResponse, Cause::DnsNoResponse, Cause::CaptureEnded, Cause::DnsCaptureEnded]
                .into_iter()
                .enumerate()
        {
            s.observe(&verdict(c, 40000 + i as u16));
        }
        let json = s.to_json();
        let servers = &json["top_failed_servers"];
        assert_eq!(servers[0]["failures"], 2);
        assert_eq!(servers[0]["causes"], json!({"no-response": 2}));
        assert_eq!((&json["failures"], &json["undecided"]), (&json!(2), &json!(2)));
        assert_eq!(
            json["verdicts"]["unanswered"]["causes"],
            json!({"capture-ended": 1, "no-response": 1})
        );
    }

    /// Live, a refusal corrected by an `injected-reset` line: one attempt, established, no
    /// failure left for the service or the client; the summary is as if only the last line
    /// had been written.
    #[test]
    fn a_correction_takes_the_earlier_line_back() {
        let mut s = Summary::default();
        let first = verdict(Cause::Reset, 40000);
        let mut second = verdict(Cause::InjectedReset, 40000);
        second.revises = Some(first.cause);
        s.observe(&first);
        s.observe(&verdict(Cause::HostReset, 40001));
        s.observe(&second);
        let mut only_last = Summary::default();
        only_last.observe(&verdict(Cause::HostReset, 40001));
        only_last.observe(&verdict(Cause::InjectedReset, 40000));
        assert_eq!(s.to_json(), only_last.to_json());
        let json = s.to_json();
        assert_eq!((&json["attempts"], &json["failures"]), (&json!(2), &json!(1)));
        assert_eq!(json["verdicts"]["refused"]["causes"], json!({"host-reset": 1}));
    }
}
