//! Real traffic, recorded now: `fixtures/recorded/record.sh` builds network namespaces, runs
//! real clients and servers (closed ports, iptables REJECT and DROP, a router with unreachable
//! and prohibited routes), captures with tcpdump, and connlens must give each attempt the same
//! verdict and cause as the checked-in recording of that scenario. Timestamps, sequence numbers
//! and IP IDs differ from run to run; the attempts (fixed client ports) and outcomes must not.
//!
//! Needs root (namespaces, iptables). Off CI a non-root run skips with a message; on CI
//! (`CI=true`) it fails, so it can never silently stop running there.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// (proto, client, client_port, server, server_port, verdict, cause) of each flow line.
fn outcomes(jsonl: &str) -> BTreeSet<String> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "flow")
        .map(|v| {
            format!(
                "{} {}:{} -> {}:{} {} {}",
                v["proto"].as_str().unwrap(),
                v["client"].as_str().unwrap(),
                v["client_port"],
                v["server"].as_str().unwrap(),
                v["server_port"],
                v["verdict"].as_str().unwrap(),
                v["cause"].as_str().unwrap()
            )
        })
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
    let rec = Command::new("bash")
        .arg(root.join("fixtures/recorded/record.sh"))
        .arg(&out)
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
        assert_eq!(
            outcomes(&String::from_utf8_lossy(&run.stdout)),
            outcomes(&expected),
            "scenario {name:?}: fresh recording disagrees with the checked-in one"
        );
        checked += 1;
    }
    let _ = fs::remove_dir_all(&out);
    assert_eq!(checked, 7, "every recorded scenario must be re-recorded and checked");
}
