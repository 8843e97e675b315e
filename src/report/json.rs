//! The report as one JSON document, for machines.

use serde_json::{Value, json};

use super::{FleetModel, IncidentRecord, Report, utc};

fn counts(c: &[(String, u64)]) -> Value {
    Value::Object(c.iter().map(|(k, n)| (k.clone(), json!(n))).collect())
}

/// The per-sensor counts and the attempts several sensors saw.
fn fleet(f: &FleetModel) -> Value {
    json!({
        "sensors": f.sensors.iter().map(|s| json!({
            "sensor": s.name, "attempts": s.attempts, "failures": s.failures,
            "causes": counts(&s.causes), "first": s.first, "last": s.last,
            "failures_seen_by_others": s.joined,
        })).collect::<Vec<_>>(),
        "sensors_unlisted_attempts": f.unlisted,
        "join_within": f.within,
        "seen_by_several": f.joined.iter().map(|j| {
            let mut row = json!({
                "ts": j.ts, "proto": j.proto, "client": j.client.to_string(), "client_port": j.client_port,
                "server": j.server.to_string(), "server_port": j.server_port, "agree": j.agree,
                "note": j.note,
                "seen": j.seen.iter().map(|s| json!({
                    "sensor": s.sensor, "ts": s.ts, "verdict": s.verdict, "cause": s.cause,
                    "sentence": s.sentence, "client_ttl": s.client_ttl, "server_ttl": s.server_ttl,
                })).collect::<Vec<_>>(),
            });
            row = with_tunnel(row, &j.tunnel);
            row
        }).collect::<Vec<_>>(),
        "seen_by_several_total": f.joined_total,
        "seen_by_several_not_listed": f.joined_total - f.joined.len(),
        "sightings_not_joined": f.not_joined,
    })
}

/// The report as a JSON value (the same numbers as the other formats).
pub fn to_json(r: &Report) -> Value {
    json!({
        "type": "report",
        "headline": {
            "first": r.span.map(|s| s.0),
            "last": r.span.map(|s| s.1),
            "first_utc": r.span.map(|s| utc(s.0)),
            "last_utc": r.span.map(|s| utc(s.1)),
            "captures": r.count_inputs("capture"),
            "logs": r.count_inputs("log"),
            "hosts": r.hosts,
            "hosts_capped": r.hosts_capped,
            "packets": r.packets,
            "attempts": r.attempts,
            "failures": r.failures,
            "failure_rate_percent": r.failure_rate_percent(),
            "undecided": r.undecided,
            "sensors": r.fleet.sensors.len(),
            "filters": r.filters,
        },
        "verdicts": Value::Object(r.by_verdict.iter().map(|(k, n)| ((*k).to_string(), json!(n))).collect()),
        "timeline": {
            "bin_ms": r.timeline.width_ms,
            "bins": r.timeline.bins.iter().map(|b| json!({
                "start": b.start,
                "counts": Value::Object(b.counts.iter().filter(|(_, n)| *n > 0).map(|(k, n)| ((*k).to_string(), json!(n))).collect()),
            })).collect::<Vec<_>>(),
        },
        "servers": r.servers.iter().map(|s| with_tunnel(json!({
            "proto": s.proto, "server": s.server.to_string(), "server_port": s.port,
            "failures": s.failures, "clients": s.clients, "causes": counts(&s.causes),
            "first_failure": s.first, "last_failure": s.last,
        }), &s.tunnel)).collect::<Vec<_>>(),
        "servers_total": r.servers_total,
        "servers_unranked_failures": r.servers_unranked,
        "clients": r.clients.iter().map(|c| with_tunnel(json!({
            "client": c.client.to_string(), "attempts": c.attempts, "failures": c.failures,
            "targets": c.targets, "causes": counts(&c.causes),
        }), &c.tunnel)).collect::<Vec<_>>(),
        "clients_total": r.clients_total,
        "clients_unranked_attempts": r.clients_unranked,
        "incidents": r.incidents.iter().map(IncidentRecord::to_json).collect::<Vec<_>>(),
        "incidents_not_listed": r.incidents_more,
        "causes": r.causes.iter().map(|c| json!({
            "verdict": c.verdict, "cause": c.cause, "attempts": c.count,
            "meaning": c.meaning, "check": c.check,
        })).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| {
            let mut row = with_tunnel(json!({
                "ts": f.ts, "proto": f.proto, "client": f.client.to_string(), "client_port": f.client_port,
                "server": f.server.to_string(), "server_port": f.server_port, "verdict": f.verdict,
                "cause": f.cause, "sentence": f.sentence, "evidence": f.evidence, "capture": f.capture, "packet": f.packet,
            }), &f.tunnel);
            if let (Some(s), Some(o)) = (&f.sensor, row.as_object_mut()) {
                o.insert("sensor".into(), json!(s));
            }
            row
        }).collect::<Vec<_>>(),
        "fleet": fleet(&r.fleet),
        "failed_not_listed": r.failed_more,
        "inputs": r.inputs.iter().map(|i| json!({
            "name": i.name, "kind": i.kind, "ok": i.errors.is_empty(), "errors": i.errors,
            "warnings": i.warnings,
            "packets": i.packets.map(|c| json!({"read": c.frames, "decoded": c.decoded, "skipped": c.skipped()})),
        })).collect::<Vec<_>>(),
    })
}

/// The report as pretty-printed JSON text (with a final newline).
pub fn render(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&to_json(r)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// `v` with a `tunnel` field (short form) when the row was in one; without it otherwise, so a
/// report of plain traffic reads as before.
fn with_tunnel(mut v: Value, tunnel: &Option<String>) -> Value {
    if let (Some(t), Some(m)) = (tunnel, v.as_object_mut()) {
        m.insert("tunnel".into(), Value::from(t.as_str()));
    }
    v
}
