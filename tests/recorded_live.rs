//! Real traffic, recorded now: `fixtures/recorded/record.sh` builds network namespaces, runs
//! real clients and servers (closed ports, iptables REJECT and DROP, routers with unreachable and
//! prohibited routes, a rejecting firewall and a loop, absent hosts, applications that turn
//! clients away, a full accept queue, TLS mismatches, DNS errors, an nmap scan, normal traffic
//! that is no failure, MariaDB, PostgreSQL, Redis and nginx refusing in plaintext, conversations
//! inside VXLAN, GRE, Geneve, IPIP, 6in4 and QinQ captured on the underlay, pings answered,
//! lost, dropped, unreachable and out of TTL), captures with
//! tcpdump, and connlens must give each attempt the same verdict and cause as the checked-in
//! recording of that scenario (see `BOUNDS_ONLY` and `VERDICT_ONLY` for the two scenarios whose
//! outcome varies, `EPHEMERAL_DNS` for the one whose resolver picks its own ports). Timestamps,
//! sequence numbers and IP IDs differ from run to run; the attempts (fixed client ports) and
//! outcomes must not.
//!
//! Needs root (namespaces, iptables). Off CI a non-root run skips with a message; on CI
//! (`CI=true`) it fails, so it can never silently stop running there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// Scenarios whose outcome varies from one recording to the next, and what is compared there.
///
/// `backlog`: six clients race for an accept queue of two; which of them get in (and whether a
/// SYN-ACK is retransmitted) changes every run, so only bounds are checked: as many attempts as
/// recorded, each established, unanswered or partial.
const BOUNDS_ONLY: &[&str] = &["backlog"];
/// `nmap-scan`: the verdict of each port (refused / established) is stable, but whether an RST is
/// `reset` or `host-reset` depends on whether a packet of the server's came before it, which
/// depends on nmap's timing: verdicts are compared per connection, causes are not.
const VERDICT_ONLY: &[&str] = &["nmap-scan"];
/// `not-failures`: glibc's resolver (`getent ahosts`) sends from ports the kernel picks, new
/// ones every run. Its conversations (UDP to port 53 from the ephemeral range record.sh sets
/// there, 49152–65535) are compared without the client port but with their `dns_query`, as a
/// multiset: as many conversations per (client, server, verdict, cause, name) as recorded. The
/// scenario's other attempts have fixed ports and are compared as everywhere else.
const EPHEMERAL_DNS: &[&str] = &["not-failures"];
/// Where the client ports of `EPHEMERAL_DNS` scenarios' resolvers come from.
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u64> = 49152..=65535;

fn flows(jsonl: &str) -> Vec<serde_json::Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "flow")
        .collect()
}

/// (proto, client, client_port, server, server_port, verdict[, cause], vlan, tunnel, echo id)
/// of each flow line: the VLAN tags and the tunnel (kind, identifier, outer endpoints) are part
/// of what must come out the same, where there are any; so is a ping's identifier (its ports
/// are the ICMP types, the same for every ping: `record.sh` pins each ping's identifier with
/// `ping -e`, so it names the ping as a client port names a connection).
fn attempts(jsonl: &str, with_cause: bool) -> BTreeSet<String> {
    flows(jsonl)
        .iter()
        .map(|v| {
            let cause = if with_cause { v["cause"].as_str().unwrap() } else { "" };
            format!(
                "{} {}:{} -> {}:{} {} {} {} {} {}",
                v["proto"].as_str().unwrap(),
                v["client"].as_str().unwrap(),
                v["client_port"],
                v["server"].as_str().unwrap(),
                v["server_port"],
                v["verdict"].as_str().unwrap(),
                cause,
                v["vlan"],
                v["tunnel"],
                v["evidence"]["echo_id"]
            )
        })
        .collect()
}

/// The scenarios to re-record: `CONNLENS_RECORDED=tunnel-gre,tunnel-vxlan` narrows the run to
/// those (a quicker check while working on some); unset or empty, all of them.
fn only() -> Vec<String> {
    std::env::var("CONNLENS_RECORDED")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Like [`attempts`] with causes, as a multiset, with the client port masked and the DNS name
/// added for UDP queries to port 53 from an ephemeral port (see `EPHEMERAL_DNS`).
fn attempts_any_resolver_port(jsonl: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for v in flows(jsonl) {
        let port = v["client_port"].as_u64().unwrap();
        let resolver = v["proto"] == "udp"
            && v["server_port"].as_u64() == Some(53)
            && EPHEMERAL_PORTS.contains(&port);
        let key = format!(
            "{} {}:{} -> {}:{} {} {} {}",
            v["proto"].as_str().unwrap(),
            v["client"].as_str().unwrap(),
            if resolver { "*".to_string() } else { port.to_string() },
            v["server"].as_str().unwrap(),
            v["server_port"],
            v["verdict"].as_str().unwrap(),
            v["cause"].as_str().unwrap(),
            v["evidence"]["dns_query"].as_str().unwrap_or("")
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// (incident, client or server) of each incident line: who scanned, which service or host.
fn incidents(jsonl: &str) -> BTreeSet<String> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "incident")
        .map(|v| format!("{} {} {} {}", v["incident"], v["client"], v["server"], v["server_port"]))
        .collect()
}

#[test]
fn recording_real_traffic_again_gives_the_same_verdicts() {
    if !is_root() {
        assert!(std::env::var("CI").is_err(), "this test needs root on CI: run CI as root");
        eprintln!("SKIPPED recording_real_traffic_again_gives_the_same_verdicts: needs root");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("connlens-rerecord-{}", std::process::id()));
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    let only = only();
    let rec = Command::new("bash")
        .arg(root.join("fixtures/recorded/record.sh"))
        .arg(&out)
        .args(&only)
        .output()
        .unwrap();
    assert!(
        rec.status.success(),
        "record.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&rec.stdout),
        String::from_utf8_lossy(&rec.stderr)
    );
    let mut checked = 0;
    for entry in fs::read_dir(root.join("fixtures/recorded")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(expected) = fs::read_to_string(dir.join("expected.jsonl")) else { continue };
        let name = dir.file_name().unwrap();
        if !only.is_empty() && !only.iter().any(|o| name == o.as_str()) {
            continue;
        }
        let fresh = out.join(name).join("input.pcap");
        let run = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .args(["analyze", "--format", "jsonl", "--no-summary"])
            .arg(&fresh)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}: {}",
            fresh.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        let fresh_out = String::from_utf8_lossy(&run.stdout);
        let scenario = name.to_str().unwrap();
        if BOUNDS_ONLY.contains(&scenario) {
            let got = flows(&fresh_out);
            assert_eq!(
                got.len(),
                flows(&expected).len(),
                "scenario {name:?}: every attempt must get a verdict"
            );
            for v in &got {
                assert!(
                    ["established", "unanswered", "partial"]
                        .contains(&v["verdict"].as_str().unwrap()),
                    "scenario {name:?}: unexpected verdict {v}"
                );
            }
        } else if EPHEMERAL_DNS.contains(&scenario) {
            assert_eq!(
                attempts_any_resolver_port(&fresh_out),
                attempts_any_resolver_port(&expected),
                "scenario {name:?}: fresh recording disagrees with the checked-in one"
            );
        } else if VERDICT_ONLY.contains(&scenario) {
            assert_eq!(
                attempts(&fresh_out, false),
                attempts(&expected, false),
                "scenario {name:?}: fresh recording disagrees with the checked-in one"
            );
        } else {
            assert_eq!(
                attempts(&fresh_out, true),
                attempts(&expected, true),
                "scenario {name:?}: fresh recording disagrees with the checked-in one"
            );
        }
        if !BOUNDS_ONLY.contains(&scenario) {
            assert_eq!(
                incidents(&fresh_out),
                incidents(&expected),
                "scenario {name:?}: incidents differ"
            );
        }
        checked += 1;
    }
    let _ = fs::remove_dir_all(&out);
    let want = if only.is_empty() { 31 } else { only.len() };
    assert_eq!(checked, want, "every recorded scenario must be re-recorded and checked");
}
