//! Every fixture capture under `fixtures/<set>/<scenario>/` is analyzed and its whole output
//! (every flow line and the summary) compared with the `expected.jsonl` checked in beside it.
//! Regenerate the expected files with `fixtures/bless.sh` after a deliberate change, and read
//! the diff before committing it.

use std::fs;
use std::process::Command;

mod common;
use common::{args_of, capture_in, scenarios};

#[test]
fn every_fixture_gives_exactly_its_expected_verdicts() {
    let all = scenarios();
    assert!(all.len() >= 7, "fixtures missing: found {}", all.len());
    let mut failures = Vec::new();
    for dir in &all {
        let input = capture_in(dir);
        let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .current_dir(dir)
            .args(["analyze", "--format", "jsonl"])
            .args(args_of(dir))
            .arg(&input)
            .output()
            .unwrap();
        let expected = fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        let actual = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failures.push(format!(
                "{}: exit {:?}: {}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        } else if actual != expected {
            let diff: Vec<String> = expected
                .lines()
                .zip(actual.lines())
                .filter(|(e, a)| e != a)
                .take(3)
                .map(|(e, a)| format!("  expected: {e}\n  actual:   {a}"))
                .collect();
            failures.push(format!(
                "{}: output differs ({} expected lines, {} actual)\n{}",
                dir.display(),
                expected.lines().count(),
                actual.lines().count(),
                diff.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Discovery protocols whose silence is never a failure (all in the built-in one-way list,
/// checked below), and NetBIOS names (137): request/response, so only a name query nobody
/// answered (`dns_query` in the evidence) may fail there.
const DISCOVERY: [u16; 5] = [5353, 5355, 1900, 138, 137];

/// Issue 13: no fixture's conversation of a one-way or discovery protocol is called a failure,
/// unless an ICMP error decided it (a syslog server that is down is a failure when ICMP says
/// so).
#[test]
fn no_one_way_or_discovery_conversation_is_a_failure_without_icmp() {
    use connlens::track::OneWayPorts;
    use connlens::verdict::VerdictKind;
    let one_way = OneWayPorts::built_in();
    for port in DISCOVERY.into_iter().filter(|&p| p != 137) {
        assert!(one_way.contains(port), "discovery port {port} is not in the built-in list");
    }
    let mut seen = 0;
    let mut failures = Vec::new();
    for dir in &scenarios() {
        let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .current_dir(dir)
            .args(["analyze", "--format", "jsonl", "--no-summary"])
            .args(args_of(dir))
            .arg(capture_in(dir))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {:?}", dir.display(), out.status);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] != "flow" || v["proto"] != "udp" {
                continue;
            }
            let port = |k: &str| v[k].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap();
            let (client, server) = (port("client_port"), port("server_port"));
            let listed = |p: u16| one_way.contains(p) || DISCOVERY.contains(&p);
            if !listed(server) && !listed(client) {
                continue;
            }
            seen += 1;
            let word = v["verdict"].as_str().unwrap();
            let kind = VerdictKind::ALL.into_iter().find(|k| k.as_str() == word).unwrap();
            let ev = &v["evidence"];
            let by_icmp = ev.get("icmp_packet").is_some();
            let netbios_query = server == 137 && ev.get("dns_query").is_some();
            if kind.is_failure() && !by_icmp && !netbios_query {
                failures.push(format!("{}: {line}", dir.display()));
            }
        }
    }
    assert!(seen >= 7, "the fixtures hold {seen} one-way or discovery conversations");
    assert!(
        failures.is_empty(),
        "one-way or discovery traffic called a failure:\n{}",
        failures.join("\n")
    );
}

/// Issue 14: every hint points at the party its cause blames, in every fixture's expected
/// verdicts: a cause that blames the client names the client (its address, or "the client"), one
/// that blames the
/// server names the server's, one that blames the path names a device on it (a router, a
/// firewall, the ICMP error's sender), one that blames the capture says so, and a cause that
/// blames nobody does not send the user anywhere.
#[test]
fn every_hint_blames_the_party_its_cause_does() {
    use connlens::verdict::{Cause, Party, VerdictKind};
    let mut wrong = Vec::new();
    let mut checked = 0;
    for dir in scenarios() {
        let expected = fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        for line in expected.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] != "flow" {
                continue;
            }
            let word = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let kind = VerdictKind::ALL.into_iter().find(|k| k.as_str() == word("verdict"));
            let Some(cause) = kind.and_then(|k| Cause::parse(k, &word("cause"))) else {
                wrong.push(format!("{}: unknown verdict/cause in {line}", dir.display()));
                continue;
            };
            let hint = word("hint");
            let lower = hint.to_lowercase();
            let names = |ip: &str| hint.contains(ip);
            let ok = match cause.blames() {
                Party::Client => names(&word("client")) || lower.contains("the client"),
                Party::Server => names(&word("server")),
                Party::Path => ["path", "router", "firewall", "icmp", "traceroute", "routing"]
                    .iter()
                    .any(|w| lower.contains(w)),
                Party::Capture => lower.contains("capture"),
                Party::None => !["check the firewall", "check the service", "check the client"]
                    .iter()
                    .any(|w| lower.contains(w)),
            };
            checked += 1;
            if !ok {
                wrong.push(format!(
                    "{}: {} / {} blames {:?}, hint: {hint}",
                    dir.display(),
                    word("verdict"),
                    word("cause"),
                    cause.blames()
                ));
            }
        }
    }
    assert!(checked > 300, "only {checked} flows checked");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
