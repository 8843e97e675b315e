//! The records the report counts: one for an attempt ([`FlowRecord`]) and one for an incident
//! ([`IncidentRecord`]), made the same way whether the attempt was analyzed in this process (a
//! [`Verdict`], an [`Incident`]) or read from a `flow`/`incident` line of a JSON-lines log.
//! The aggregation sees only these records, so a report from a log and one from the capture the
//! log was written from cannot drift apart — and nothing is written to JSON text to be read back.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::incident::Incident;
use crate::output::Inputs;
use crate::time::Timestamp;
use crate::verdict::{Cause, Evidence, Judgement, Verdict, VerdictKind};

/// `ts` in seconds: the `f64` nearest to the decimal the JSON-lines log writes for it.
///
/// The log writes a [`Timestamp`] as `secs.micros` (six decimals) or, when the sub-microsecond
/// part is not zero, `secs.nanos` (nine) — an integer of digits over a power of ten. This is
/// that quotient rounded once, exactly as a correctly rounding reader of the text (Rust's
/// `str::parse`, what the report used until now) gets it, but without the text.
///
/// serde_json, reading a log, rounds the same way whenever the digits are below 2^53 — every
/// microsecond timestamp before the year 2255 — so a report from a log and one from its capture
/// agree there to the last bit. Nanosecond timestamps have 19 digits: serde_json without its
/// `float_roundtrip` feature rounds them twice and may land one unit in the last place away.
pub fn logged_secs(ts: Timestamp) -> f64 {
    let abs = ts.0.unsigned_abs();
    let secs = if abs.is_multiple_of(1000) {
        decimal_to_f64(abs / 1000, 1_000_000)
    } else {
        decimal_to_f64(abs, 1_000_000_000)
    };
    if ts.0 < 0 { -secs } else { secs }
}

/// `digits / scale` rounded to the nearest `f64` (ties to even), for `scale` 10^6 or 10^9.
fn decimal_to_f64(digits: u64, scale: u64) -> f64 {
    const EXACT: u64 = 1 << f64::MANTISSA_DIGITS;
    if digits < EXACT {
        // Both operands are exact, and IEEE division rounds its result once.
        return digits as f64 / scale as f64;
    }
    // Long division to a 53-bit quotient q with remainder r, so digits / scale = (q + r/scale)
    // / 2^shift, then one rounding on r. With 2^53 <= digits < 2^64 and scale 10^6 or 10^9,
    // shift is between 8 and 29, so digits << shift fits in a u128.
    let (n, d) = (u128::from(digits), u128::from(scale));
    let bits = |x: u128| 128 - x.leading_zeros() as i32;
    let mut shift = f64::MANTISSA_DIGITS as i32 - 1 + bits(d) - bits(n);
    let mut q = (n << shift) / d;
    if q < u128::from(EXACT / 2) {
        shift += 1;
        q = (n << shift) / d;
    }
    let r = (n << shift) % d;
    if 2 * r > d || (2 * r == d && q & 1 == 1) {
        q += 1;
    }
    // q <= 2^53 converts exactly; 2^-shift is a normal power of two, so the product is exact.
    q as f64 * f64::from_bits(((1023 - shift) as u64) << 52)
}

/// A cause as a log names it: one of this version's [`Cause`]s, or a word from another version,
/// kept as written so that its attempts are still counted (and listed under that word).
#[derive(Clone, Debug, PartialEq)]
pub enum CauseWord<'a> {
    /// A cause this version knows.
    Known(Cause),
    /// A word this version has no cause for (a log written by another version).
    Other(Cow<'a, str>),
}

impl<'a> CauseWord<'a> {
    /// The cause named `word` under `kind`, or the word itself when this version has none.
    pub fn parse(kind: VerdictKind, word: Cow<'a, str>) -> Self {
        match Cause::parse(kind, &word) {
            Some(c) => CauseWord::Known(c),
            None => CauseWord::Other(word),
        }
    }

    /// What the outcome counts as: a known cause's [`Cause::judgement`]; a word this version
    /// does not know counts as its verdict kind says (a failure kind, a failure).
    pub fn judgement(&self, kind: VerdictKind) -> Judgement {
        match self {
            CauseWord::Known(c) => c.judgement(),
            CauseWord::Other(_) if kind.is_failure() => Judgement::Failure,
            CauseWord::Other(_) => Judgement::Fine,
        }
    }

    /// The word, as the log writes it.
    pub fn word(&self) -> &str {
        match self {
            CauseWord::Known(c) => c.word(),
            CauseWord::Other(w) => w,
        }
    }
}

/// An attempt's evidence, as it came: turned into text only for the few attempts the report
/// lists (at most [`MAX_ROWS`](super::MAX_ROWS)), not for every verdict of a flood.
#[derive(Clone, Debug)]
pub enum Facts<'a> {
    /// The verdict's own evidence.
    Verdict(&'a Evidence),
    /// A log line's `evidence` object.
    Logged(&'a Map<String, Value>),
}

/// Same facts, whichever way they came (what a log line would hold).
impl PartialEq for Facts<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_map() == other.to_map()
    }
}

impl Facts<'_> {
    /// The facts as the JSON object the log writes (keys sorted, as serde_json's map keeps them).
    pub fn to_map(&self) -> Cow<'_, Map<String, Value>> {
        match self {
            Facts::Verdict(e) => {
                Cow::Owned(e.iter().map(|(k, f)| (k.to_string(), f.to_value())).collect())
            }
            Facts::Logged(m) => Cow::Borrowed(*m),
        }
    }

    /// A fact that is a non-negative integer (`client_ttl`), read without building the map.
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self {
            Facts::Verdict(e) => match e.get(key)? {
                crate::verdict::Fact::U64(n) => Some(*n),
                crate::verdict::Fact::Json(v) => v.as_u64(),
                _ => None,
            },
            Facts::Logged(m) => m.get(key)?.as_u64(),
        }
    }

    /// The deciding facts as the sentence a person reads first: `RST TTL 64 ≠ the server's 63
    /// (pkt 2): sent by a device 1 hop nearer than the server`. The full facts are
    /// [`Facts::brief`].
    pub fn sentence(&self, kind: VerdictKind, proto: &str) -> String {
        let map = self.to_map();
        evidence_sentence(&map, kind, proto).unwrap_or_else(|| self.brief())
    }

    /// The one-line summary the report lists: the scalar facts by name (a log's objects do not
    /// keep the order the verdict had, so both kinds are sorted).
    pub fn brief(&self) -> String {
        match self {
            Facts::Verdict(e) => {
                let facts: Vec<(&str, Value)> = e.iter().map(|(k, f)| (k, f.to_value())).collect();
                brief(facts.iter().map(|(k, v)| (*k, v)))
            }
            Facts::Logged(m) => brief(m.iter().map(|(k, v)| (k.as_str(), v))),
        }
    }
}

/// The sentence of [`Facts::sentence`], when the facts it needs are there.
fn evidence_sentence(m: &Map<String, Value>, kind: VerdictKind, proto: &str) -> Option<String> {
    let text = |k: &str| match m.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|x| x.to_string().trim_matches('"').to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Some(v) => Some(v.to_string()),
    };
    let num = |k: &str| m.get(k).and_then(Value::as_i64);
    let pkt = |k: &str| text(k).map(|p| format!(" (pkt {p})")).unwrap_or_default();
    let hops = |n: i64| if n == 1 { "1 hop".to_string() } else { format!("{n} hops") };
    Some(match kind {
        VerdictKind::Refused if proto == "sctp" => {
            let t = match m.get("abort_t_bit").and_then(Value::as_bool) {
                Some(true) => ", T bit set",
                _ => "",
            };
            let why = text("abort_cause").map(|c| format!(", cause {c}")).unwrap_or_default();
            format!(
                "{} INIT(s) answered by an ABORT{}{t}{why}",
                text("init_count").unwrap_or_else(|| "?".into()),
                pkt("abort_packet")
            )
        }
        VerdictKind::Unanswered if proto == "sctp" => {
            let times = text("init_times").map(|t| format!(" (at {t} s)")).unwrap_or_default();
            match text("waited_after_last_init") {
                Some(w) => format!(
                    "{} INIT(s){times}, nothing back for {w} s after the last",
                    text("init_count")?
                ),
                None => format!("{} INIT(s){times}, nothing back", text("init_count")?),
            }
        }
        VerdictKind::Unanswered if proto == "icmp" => match text("waited_after_last_request") {
            Some(w) => format!(
                "{} echo request(s) (id {}, over {} s), nothing back for {w} s after the last",
                text("echo_requests")?,
                text("echo_id").unwrap_or_else(|| "?".into()),
                text("echo_span").unwrap_or_else(|| "0".into())
            ),
            None => format!("{} echo request(s), nothing back", text("echo_requests")?),
        },
        VerdictKind::Answered if proto == "icmp" => {
            let rtt = match (text("rtt_min"), text("rtt_avg"), text("rtt_max")) {
                (Some(a), Some(b), Some(c)) => format!(", rtt min/avg/max {a}/{b}/{c} s"),
                _ => String::new(),
            };
            format!(
                "{} of {} echo request(s) answered, {} lost{rtt}",
                text("echo_replies")?,
                text("echo_requests")?,
                text("echo_lost").unwrap_or_else(|| "0".into())
            )
        }
        VerdictKind::Refused => {
            let rst = num("rst_ttl")?;
            match (num("host_ttl"), num("rst_hops"), num("host_hops")) {
                (Some(h), Some(rh), Some(hh)) if rh != hh => {
                    let (d, way) = if rh < hh { (hh - rh, "nearer") } else { (rh - hh, "farther") };
                    format!(
                        "RST TTL {rst} ≠ the server's {h}{}: sent by a device {} {way} than the server",
                        pkt("rst_packet"),
                        hops(d)
                    )
                }
                (Some(h), _, _) => format!(
                    "RST TTL {rst} = the server's own {h}{}: sent by the server's host",
                    pkt("rst_packet")
                ),
                (None, _, _) => format!(
                    "RST TTL {rst}{}: no earlier packet of the server to compare it with",
                    pkt("rst_packet")
                ),
            }
        }
        VerdictKind::Unreachable | VerdictKind::TimeExceeded => {
            let reporter = text("reporter")?;
            // An error about the tunnel: who said it, and how it was matched.
            let tunnel = m.get("tunnel_error").and_then(Value::as_object);
            let far_end = tunnel
                .and_then(|t| t.get("reporter_is_far_end"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let by = match (
                m.get("reporter_is_server").and_then(Value::as_bool),
                num("reporter_hops"),
            ) {
                _ if far_end => " (the far tunnel end)".to_string(),
                (Some(true), _) => " (the server itself)".to_string(),
                (_, Some(h)) => format!(" (a router, {} away)", hops(h)),
                _ => String::new(),
            };
            let about = match tunnel.and_then(|t| t.get("match")).and_then(Value::as_str) {
                Some("exact") => ", about the tunnel's packet carrying this attempt",
                Some(_) => ", about the tunnel (its quote names no conversation)",
                None => "",
            };
            format!(
                "{} type {} code {} from {reporter}{by}{}{about}",
                text("icmp_version")
                    .unwrap_or_else(|| "icmp".into())
                    .to_uppercase()
                    .replace("V6", "v6"),
                text("icmp_type").unwrap_or_else(|| "?".into()),
                text("icmp_code").unwrap_or_else(|| "?".into()),
                pkt("icmp_packet")
            )
        }
        VerdictKind::Unanswered if proto == "tcp" && text("rst_packet").is_some() => format!(
            "{} SYN(s), then the client's own RST{}",
            text("syn_count").unwrap_or_else(|| "?".into()),
            pkt("rst_packet")
        ),
        VerdictKind::Unanswered if proto == "tcp" => {
            let times = text("syn_times").map(|t| format!(" (at {t} s)")).unwrap_or_default();
            match text("waited_after_last_syn") {
                Some(w) => format!(
                    "{} SYN(s){times}, nothing back for {w} s after the last",
                    text("syn_count")?
                ),
                None => format!("{} SYN(s){times}, nothing back", text("syn_count")?),
            }
        }
        VerdictKind::Unanswered | VerdictKind::DnsFailure if text("dns_query").is_some() => {
            match text("dns_rcode") {
                Some(r) => format!(
                    "query {} {} answered {r}",
                    text("dns_query")?,
                    text("dns_qtype").unwrap_or_default()
                ),
                None => format!(
                    "query {} {}: no answer",
                    text("dns_query")?,
                    text("dns_qtype").unwrap_or_default()
                ),
            }
        }
        VerdictKind::Unanswered => match text("waited_after_last_request") {
            Some(w) => format!(
                "{} request(s), nothing back for {w} s after the last",
                text("client_packets")?
            ),
            None => format!("{} request(s), nothing back", text("client_packets")?),
        },
        VerdictKind::Rejected => match (text("http_status"), text("tls_alert")) {
            (Some(s), _) => {
                format!("the server's first answer: HTTP {s}{}", pkt("server_first_packet"))
            }
            (_, Some(a)) => {
                format!("the server's first answer: TLS alert {a}{}", pkt("server_first_packet"))
            }
            _ => {
                let how = match text("ended").as_deref() {
                    Some(e) if e.contains("reset") => "reset",
                    _ => "closed",
                };
                match num("client_bytes").unwrap_or(0) {
                    0 => format!(
                        "the server {how} before the client sent anything, without a byte of its own"
                    ),
                    n => format!(
                        "the server {how} after the client's {n} bytes, without answering a byte"
                    ),
                }
            }
        },
        VerdictKind::Mismatch => match text("server_first_bytes") {
            Some(b) => {
                format!("the client sent {}, the server answered {b}", text("client_first_bytes")?)
            }
            None => format!("the client sent {}, the server closed", text("client_first_bytes")?),
        },
        _ => return None,
    })
}

/// Scalar facts (and short lists of them) as `name=value`, sorted by name, cut at 240
/// characters; `attempt` is left out (the row says which attempt it is).
fn brief<'k, 'v>(facts: impl Iterator<Item = (&'k str, &'v Value)>) -> String {
    let mut out = String::new();
    let mut facts: Vec<_> = facts.collect();
    facts.sort_by_key(|f| f.0);
    for (k, v) in facts {
        let shown = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) if a.len() <= 4 && a.iter().all(|x| !x.is_object()) => a
                .iter()
                .map(|x| x.to_string().trim_matches('"').to_string())
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        if k == "attempt" {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&shown);
        if out.chars().count() > 240 {
            let cut: String = out.chars().take(240).collect();
            return cut + "…";
        }
    }
    out
}

/// One attempt as the report counts it.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowRecord<'a> {
    /// First packet, seconds since the epoch (as the log gives it: [`logged_secs`]).
    pub ts: f64,
    /// `tcp` or `udp` (a log's word, kept as written).
    pub proto: Cow<'a, str>,
    /// Client address.
    pub client: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Server address.
    pub server: IpAddr,
    /// Server port.
    pub server_port: u16,
    /// What happened.
    pub kind: VerdictKind,
    /// Why.
    pub cause: CauseWord<'a>,
    /// The facts behind it.
    pub evidence: Facts<'a>,
    /// The capture holding the attempt's first packet.
    pub capture: Cow<'a, str>,
    /// Its packet number there, when known.
    pub first_packet: Option<u64>,
    /// The sensor that saw it: a log line's `sensor` field (lines published by `--publish`
    /// carry it); none for an attempt analyzed in this process.
    pub sensor: Option<Cow<'a, str>>,
    /// The tunnel that carried it, in short form (`vxlan:42 192.0.2.1>192.0.2.2`): part of
    /// its identity (two tenants' 10.0.0.10 are two clients).
    pub tunnel: Option<Cow<'a, str>>,
}

/// A log line's `tunnel` object in the short form the flow's own tunnel prints
/// (`vxlan:42 192.0.2.1>192.0.2.2`, `ipip 192.0.2.1>192.0.2.4`, `mpls:16`).
fn tunnel_short(t: &Map<String, Value>) -> Option<String> {
    let mut s = t.get("type")?.as_str()?.to_string();
    if let Some(id) = t.iter().find(|(k, v)| *k != "type" && *k != "outer" && v.is_u64()) {
        s.push_str(&format!(":{}", id.1));
    }
    if let Some([a, b]) = t.get("outer").and_then(Value::as_array).map(Vec::as_slice) {
        s.push_str(&format!(" {}>{}", a.as_str()?, b.as_str()?));
    }
    Some(s)
}

impl<'a> FlowRecord<'a> {
    /// The record of a verdict made in this process (`inputs` names its capture).
    pub fn from_verdict(v: &'a Verdict, inputs: &'a Inputs) -> Self {
        FlowRecord {
            ts: logged_secs(v.ts),
            proto: Cow::Borrowed(v.proto.as_str()),
            client: v.client.ip,
            client_port: v.client.port,
            server: v.server.ip,
            server_port: v.server.port,
            kind: v.kind(),
            cause: CauseWord::Known(v.cause),
            evidence: Facts::Verdict(&v.evidence),
            capture: Cow::Borrowed(inputs.name(v.first_packet.file)),
            first_packet: Some(v.first_packet.number),
            sensor: None,
            tunnel: v.tunnel.map(|t| Cow::Owned(t.to_string())),
        }
    }

    /// The record of a log's `type: flow` line (`log` names the capture when the line does
    /// not). The error says what is missing or wrong, for the report's input problems.
    pub fn from_log(obj: &'a Map<String, Value>, log: &'a str) -> Result<Self, String> {
        let num = |k: &str| obj.get(k).and_then(Value::as_f64).ok_or(format!("no numeric `{k}`"));
        let text = |k: &str| obj.get(k).and_then(Value::as_str).ok_or(format!("no `{k}` text"));
        let addr =
            |k: &str| text(k)?.parse::<IpAddr>().map_err(|_| format!("`{k}` is not an IP address"));
        let port = |k: &str| {
            obj.get(k)
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or(format!("no port number `{k}`"))
        };
        let ts = num("ts")?;
        if !ts.is_finite() {
            return Err("`ts` is not finite".into());
        }
        let verdict = text("verdict")?;
        let kind = VerdictKind::ALL
            .into_iter()
            .find(|k| k.as_str() == verdict)
            .ok_or(format!("unknown verdict `{verdict}`"))?;
        // A line without evidence lists none.
        static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        Ok(FlowRecord {
            ts,
            proto: Cow::Borrowed(text("proto")?),
            client: addr("client")?,
            client_port: port("client_port")?,
            server: addr("server")?,
            server_port: port("server_port")?,
            kind,
            cause: CauseWord::parse(kind, Cow::Borrowed(text("cause")?)),
            evidence: Facts::Logged(
                obj.get("evidence").and_then(Value::as_object).unwrap_or(&*EMPTY),
            ),
            capture: Cow::Borrowed(obj.get("capture").and_then(Value::as_str).unwrap_or(log)),
            first_packet: obj.get("first_packet").and_then(Value::as_u64),
            sensor: obj.get("sensor").and_then(Value::as_str).map(Cow::Borrowed),
            tunnel: obj
                .get("tunnel")
                .and_then(Value::as_object)
                .and_then(tunnel_short)
                .map(Cow::Owned),
        })
    }
}

/// One incident as the report lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRecord {
    /// When the window began, seconds since the epoch ([`logged_secs`]).
    pub ts: f64,
    /// When the threshold was crossed (a log line may lack it).
    pub detected_ts: Option<f64>,
    /// `scan`, `service-down`, `host-down`, `overload`, or another version's word.
    pub kind: String,
    /// Who: `client`, or `server` (with `proto` and `server_port` for a service).
    pub subject: Map<String, Value>,
    /// Counts within the window, causes.
    pub evidence: Map<String, Value>,
    /// What to check next.
    pub hint: String,
}

impl IncidentRecord {
    /// The record of an incident detected in this process.
    pub fn from_incident(i: &Incident) -> Self {
        IncidentRecord {
            ts: logged_secs(i.ts),
            detected_ts: Some(logged_secs(i.detected_ts)),
            kind: i.kind.as_str().to_string(),
            subject: i.subject.clone(),
            evidence: i.evidence.clone(),
            hint: i.hint.clone(),
        }
    }

    /// The record of a log's `type: incident` line: every field but the incident's own (and the
    /// `sensor` a published line carries) is its subject. Only a numeric `ts` is required (a line from another version may lack the
    /// rest, which then reads as empty).
    pub fn from_log(mut obj: Map<String, Value>) -> Result<Self, String> {
        let ts = obj
            .get("ts")
            .and_then(Value::as_f64)
            .ok_or_else(|| "incident without a numeric `ts`".to_string())?;
        let detected_ts = obj.get("detected_ts").and_then(Value::as_f64);
        let mut text = |k: &str| match obj.remove(k) {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let kind = text("incident");
        let hint = text("hint");
        let evidence = match obj.remove("evidence") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for k in ["type", "ts", "detected_ts", "sensor"] {
            obj.remove(k);
        }
        Ok(IncidentRecord { ts, detected_ts, kind, subject: obj, evidence, hint })
    }

    /// The incident as the JSON-lines contract writes it (the report's JSON lists these).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = self.subject.clone();
        m.insert("type".into(), Value::from("incident"));
        m.insert("ts".into(), Value::from(self.ts));
        if let Some(t) = self.detected_ts {
            m.insert("detected_ts".into(), Value::from(t));
        }
        m.insert("incident".into(), Value::from(self.kind.as_str()));
        m.insert("evidence".into(), Value::Object(self.evidence.clone()));
        m.insert("hint".into(), Value::from(self.hint.as_str()));
        m
    }

    /// A subject field that is text (`client`, `server`, `proto`).
    pub fn subject_text(&self, key: &str) -> Option<&str> {
        self.subject.get(key).and_then(Value::as_str)
    }

    /// The subject's address under `key`, when it is one.
    pub fn subject_ip(&self, key: &str) -> Option<IpAddr> {
        self.subject_text(key).and_then(|s| s.parse().ok())
    }

    /// The subject's `server_port`, when it has one.
    pub fn server_port(&self) -> Option<u64> {
        self.subject.get("server_port").and_then(Value::as_u64)
    }
}

#[cfg(test)]
mod tests {

    /// The deciding fact comes first, as a sentence: the RST's TTL against the server's, the
    /// ICMP error's reporter, the SYNs and the wait.
    #[test]
    fn evidence_reads_as_a_sentence() {
        let m = |j: serde_json::Value| j.as_object().cloned().unwrap();
        let path = m(
            serde_json::json!({"rst_packet": 7, "rst_ttl": 64, "rst_hops": 0, "host_ttl": 63, "host_hops": 1}),
        );
        assert_eq!(
            Facts::Logged(&path).sentence(VerdictKind::Refused, "tcp"),
            "RST TTL 64 ≠ the server's 63 (pkt 7): sent by a device 1 hop nearer than the server"
        );
        let host = m(
            serde_json::json!({"rst_packet": 2, "rst_ttl": 61, "rst_hops": 3, "host_ttl": 61, "host_hops": 3}),
        );
        assert!(
            Facts::Logged(&host)
                .sentence(VerdictKind::Refused, "tcp")
                .contains("sent by the server's host")
        );
        let icmp = m(
            serde_json::json!({"icmp_version": "icmp", "icmp_type": 3, "icmp_code": 13, "reporter": "10.0.0.1", "reporter_is_server": false, "reporter_hops": 2, "icmp_packet": 4}),
        );
        assert_eq!(
            Facts::Logged(&icmp).sentence(VerdictKind::Unreachable, "tcp"),
            "ICMP type 3 code 13 from 10.0.0.1 (a router, 2 hops away) (pkt 4)"
        );
        let syns = m(
            serde_json::json!({"syn_count": 3, "syn_times": [0.0, 1.0, 3.0], "waited_after_last_syn": 5.0}),
        );
        assert_eq!(
            Facts::Logged(&syns).sentence(VerdictKind::Unanswered, "tcp"),
            "3 SYN(s) (at 0.0, 1.0, 3.0 s), nothing back for 5.0 s after the last"
        );
        // Facts a sentence does not know fall back to the list.
        let other = m(serde_json::json!({"client_packets": 3}));
        assert_eq!(
            Facts::Logged(&other).sentence(VerdictKind::Established, "tcp"),
            "client_packets=3"
        );
    }

    use super::*;
    use crate::capture::Origin;
    use crate::decode::Proto;
    use crate::flow::Endpoint;
    use crate::incident::IncidentKind;
    use crate::output::{write_flow_line, write_incident_line};
    use crate::verdict::{Fact, Hint};

    /// Seconds-since-epoch timestamps that are awkward as floats: a lone microsecond on a large
    /// second, a half, the largest microsecond and nanosecond an i64 of nanoseconds holds (the
    /// log's 9999999999.999999 is past it), nanoseconds that round up and down, and negatives.
    const AWKWARD: [i64; 12] = [
        1_795_183_200_000_001_000,
        500_000_000,
        9_223_372_036_854_775_000,
        i64::MAX,
        1_795_183_200_000_000_123,
        1_795_183_200_000_000_100,
        1_795_183_203_000_001_001,
        1_700_000_000_123_456_789,
        1,
        0,
        -500_000_000,
        i64::MIN,
    ];

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn logged_secs_equal_the_correctly_rounded_reading_of_the_text() {
        // A spread of values across the whole range (a fixed LCG), in both written forms.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut values: Vec<i64> = AWKWARD.to_vec();
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let ns = x as i64;
            values.push(ns);
            values.push(ns / 1000 * 1000);
            values.push((ns >> 8) / 1000 * 1000);
        }
        for ns in values {
            let ts = Timestamp(ns);
            let text = ts.to_string();
            let exact: f64 = text.parse().expect("a number");
            assert_eq!(logged_secs(ts).to_bits(), exact.to_bits(), "{text}");
            // serde_json (reading a log) agrees whenever the digits are below 2^53.
            let digits: u64 = text.trim_start_matches('-').replace('.', "").parse().unwrap();
            if digits < 1 << 53 {
                let json: f64 = serde_json::from_str(&text).expect("a number");
                assert_eq!(logged_secs(ts).to_bits(), json.to_bits(), "{text}");
            }
        }
    }

    /// `logged`, the log reader's number, when it is `direct` — or when serde_json rounded
    /// the written digits twice (19-digit nanoseconds, or microseconds past the year 2255):
    /// then the two are one unit in the last place apart, never more.
    fn as_logged(direct: f64, logged: f64, ts: Timestamp) -> f64 {
        if direct.to_bits() != logged.to_bits() {
            let abs = ts.0.unsigned_abs();
            let digits = if abs.is_multiple_of(1000) { abs / 1000 } else { abs };
            assert!(digits >= 1 << 53, "{ts}: {direct} from the verdict, {logged} from the log");
            assert_eq!(direct.to_bits().abs_diff(logged.to_bits()), 1, "{ts}");
        }
        logged
    }

    fn verdict(ns: i64) -> Verdict {
        let client = Endpoint::new("192.0.2.10".parse().unwrap(), 41_901);
        let server = Endpoint::new("2001:db8::20".parse().unwrap(), 8080);
        let mut evidence = Evidence::new();
        evidence.insert("attempt", 2u64);
        evidence.insert("duration", 0.0119);
        evidence.insert("rst_after", 1.000001);
        evidence.insert("reporter", "203.0.113.2".parse::<IpAddr>().unwrap());
        evidence.insert("ended", "reset-by-server");
        evidence.insert("server_first_bytes", String::from("tab\there \"quoted\" é"));
        evidence.insert("host_ttl", Fact::Null);
        evidence.insert("reporter_is_server", false);
        evidence.insert("syn_packets", Fact::u64_list(&[11, 13]));
        evidence.insert("syn_times", Fact::f64_list([0.0, 1.0, 3.0]));
        let mut nested = Evidence::new();
        nested.insert("reset", 20u64);
        nested.insert("no-response", 1u64);
        evidence.insert("causes", nested);
        Verdict {
            id: 2,
            ts: Timestamp(ns),
            last_ts: Timestamp(ns),
            first_packet: Origin { file: 1, number: 12, offset: 0 },
            proto: Proto::Tcp,
            vlan: 7,
            tunnel: None,
            client,
            server,
            cause: Cause::HostReset,
            evidence,
            hint: Hint::new(Cause::HostReset, client, server),
            conn_state: "REJ",
            revises: None,
        }
    }

    #[test]
    fn a_verdict_becomes_the_record_its_log_line_becomes() {
        let inputs = Inputs { names: vec!["a.pcap".into(), "dir/b \"2\".pcapng".into()] };
        for ns in AWKWARD {
            let v = verdict(ns);
            let mut line = Vec::new();
            write_flow_line(&mut line, &v, &inputs).unwrap();
            let Value::Object(obj) = parsed(std::str::from_utf8(&line).unwrap()) else {
                panic!("a flow line is an object");
            };
            let from_log = FlowRecord::from_log(&obj, "log.jsonl").expect("a valid line");
            let direct = FlowRecord::from_verdict(&v, &inputs);
            let ts = as_logged(direct.ts, from_log.ts, v.ts);
            assert_eq!(FlowRecord { ts, ..direct.clone() }, from_log);
            assert_eq!(direct.evidence.brief(), from_log.evidence.brief());
            assert_eq!(direct.capture, "dir/b \"2\".pcapng");
            assert_eq!(direct.first_packet, Some(12));
            assert_eq!(direct.cause, CauseWord::Known(Cause::HostReset));
        }
    }

    fn incident(kind: IncidentKind, subject: Value, ts: i64, detected: i64) -> Incident {
        let Value::Object(subject) = subject else { panic!("an object") };
        let Value::Object(evidence) = serde_json::json!({
            "causes": {"reset": 20, "no-response": 2},
            "failed_attempts": 22,
            "window": 60.0,
            "accepted_earlier": true,
        }) else {
            panic!("an object")
        };
        Incident {
            ts: Timestamp(ts),
            detected_ts: Timestamp(detected),
            kind,
            subject,
            evidence,
            hint: "check what runs on 10.200.22.1 \"now\"".into(),
        }
    }

    #[test]
    fn an_incident_becomes_the_record_its_log_line_becomes() {
        let cases = [
            incident(
                IncidentKind::Scan,
                serde_json::json!({"client": "10.200.22.1"}),
                500_000_000,
                9_223_372_036_854_775_000,
            ),
            incident(
                IncidentKind::ServiceDown,
                serde_json::json!({"proto": "tcp", "server": "2001:db8::20", "server_port": 443}),
                1_795_183_200_000_001_000,
                1_795_183_200_000_002_000,
            ),
        ];
        for i in &cases {
            let mut line = Vec::new();
            write_incident_line(&mut line, i).unwrap();
            let Value::Object(obj) = parsed(std::str::from_utf8(&line).unwrap()) else {
                panic!("an incident line is an object");
            };
            let mut direct = IncidentRecord::from_incident(i);
            let from_log = IncidentRecord::from_log(obj.clone()).expect("a valid line");
            direct.ts = as_logged(direct.ts, from_log.ts, i.ts);
            direct.detected_ts = from_log
                .detected_ts
                .map(|t| as_logged(direct.detected_ts.unwrap_or(f64::NAN), t, i.detected_ts));
            assert_eq!(from_log, direct);
            // What the report's JSON lists is the line itself.
            assert_eq!(direct.to_json(), obj);
        }
        assert_eq!(IncidentRecord::from_incident(&cases[1]).server_port(), Some(443));
        assert_eq!(
            IncidentRecord::from_incident(&cases[0]).subject_ip("client"),
            "10.200.22.1".parse().ok()
        );
    }

    #[test]
    fn log_lines_from_other_versions_are_kept() {
        // A cause word this version does not know is kept as written.
        let line = r#"{"type":"flow","ts":1.5,"proto":"tcp","client":"10.0.0.1","client_port":1,"server":"10.0.0.2","server_port":2,"verdict":"refused","cause":"brand-new","evidence":{"rst_packet":2}}"#;
        let Value::Object(obj) = parsed(line) else { panic!("an object") };
        let r = FlowRecord::from_log(&obj, "log.jsonl").unwrap();
        assert_eq!(r.cause, CauseWord::Other(Cow::Borrowed("brand-new")));
        assert_eq!(r.cause.word(), "brand-new");
        assert_eq!(r.capture, "log.jsonl");
        assert_eq!(r.first_packet, None);
        // An incident of a kind, and with a subject field, this version does not know.
        let line = r#"{"type":"incident","ts":2.0,"incident":"brownout","site":"lab","hint":"h"}"#;
        let Value::Object(obj) = parsed(line) else { panic!("an object") };
        let i = IncidentRecord::from_log(obj).unwrap();
        assert_eq!(
            (i.kind.as_str(), i.detected_ts, i.subject_text("site")),
            ("brownout", None, Some("lab"))
        );
        assert!(i.to_json().get("detected_ts").is_none());
        let Value::Object(obj) = parsed(r#"{"type":"incident","ts":"soon"}"#) else {
            panic!("an object")
        };
        assert_eq!(IncidentRecord::from_log(obj).unwrap_err(), "incident without a numeric `ts`");
    }
}
