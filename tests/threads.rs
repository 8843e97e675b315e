//! `analyze --threads N` gives every fixture the verdicts, incidents and summary of one
//! tracker. What legitimately differs is normalised, everything else compared in full:
//!
//! - the order of the lines (verdicts come out batch by batch, shard by shard), so flow and
//!   incident lines are compared as multisets;
//! - the attempt number (`evidence.attempt`): shard k of N numbers its attempts k+1, k+1+N, …;
//! - the summary's `flows.peak`: the sum of the shards' peaks, an upper bound of one
//!   tracker's peak (checked to be at least it), and the order of `incidents.listed`.
//!
//! Also: a closed output pipe with several threads ends the run quietly, without hanging.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Scenario folders holding a capture and its expected output (as tests/fixtures.rs finds them).
fn scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut found = Vec::new();
    for set in fs::read_dir(&root).unwrap() {
        let set = set.unwrap().path();
        if !set.is_dir() {
            continue;
        }
        for scenario in fs::read_dir(&set).unwrap() {
            let dir = scenario.unwrap().path();
            if dir.join("expected.jsonl").exists() {
                found.push(dir);
            }
        }
    }
    found.sort();
    found
}

fn capture_in(dir: &Path) -> &'static str {
    if dir.join("input.pcap").exists() { "input.pcap" } else { "input.pcapng" }
}

fn args_of(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("args"))
        .map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// An output split into its parts, with what may differ between thread counts normalised.
#[derive(Debug, PartialEq)]
struct Normalised {
    /// Flow lines without `evidence.attempt`, sorted.
    flows: Vec<String>,
    /// Incident lines, sorted.
    incidents: Vec<String>,
    /// The summary without `flows.peak`, with `incidents.listed` sorted.
    summary: Value,
    /// The summary's `flows.peak`.
    peak: u64,
}

fn normalise(output: &str) -> Normalised {
    let mut flows = Vec::new();
    let mut incidents = Vec::new();
    let mut summary = Value::Null;
    let mut peak = 0;
    for line in output.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str() {
            Some("flow") => {
                let ev = v["evidence"].as_object_mut().unwrap();
                assert!(ev.remove("attempt").is_some_and(|a| a.as_u64().is_some()), "{line}");
                flows.push(v.to_string());
            }
            Some("incident") => incidents.push(v.to_string()),
            Some("summary") => {
                peak = v["flows"]["peak"].as_u64().unwrap();
                v["flows"].as_object_mut().unwrap().remove("peak");
                if let Some(listed) = v["incidents"]["listed"].as_array_mut() {
                    listed.sort_by_key(|i| i.to_string());
                }
                summary = v;
            }
            other => panic!("unexpected line type {other:?}: {line}"),
        }
    }
    flows.sort();
    incidents.sort();
    Normalised { flows, incidents, summary, peak }
}

fn analyze(dir: &Path, threads: usize) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
        .current_dir(dir)
        .args(["analyze", "--format", "jsonl", "--threads", &threads.to_string()])
        .args(args_of(dir))
        .arg(capture_in(dir))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_fixture_gives_its_expected_verdicts_on_several_threads() {
    let all = scenarios();
    assert!(all.len() >= 30, "fixtures missing: found {}", all.len());
    let mut failures = Vec::new();
    for threads in [2, 3] {
        for dir in &all {
            let expected = normalise(&fs::read_to_string(dir.join("expected.jsonl")).unwrap());
            let actual = normalise(&analyze(dir, threads));
            let name = format!("{} --threads {threads}", dir.display());
            if actual.peak < expected.peak {
                failures.push(format!("{name}: peak {} < {}", actual.peak, expected.peak));
            }
            if actual.summary != expected.summary {
                failures.push(format!(
                    "{name}: summary differs\n  expected: {}\n  actual:   {}",
                    expected.summary, actual.summary
                ));
            }
            for (what, e, a) in [
                ("flow", &expected.flows, &actual.flows),
                ("incident", &expected.incidents, &actual.incidents),
            ] {
                if e != a {
                    let missing: Vec<_> = e.iter().filter(|l| !a.contains(l)).take(2).collect();
                    let extra: Vec<_> = a.iter().filter(|l| !e.contains(l)).take(2).collect();
                    failures.push(format!(
                        "{name}: {what} lines differ ({} expected, {} actual)\n  missing: {missing:?}\n  extra:   {extra:?}",
                        e.len(),
                        a.len()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn attempt_numbers_stay_unique_on_several_threads() {
    for dir in scenarios() {
        let out = analyze(&dir, 3);
        let mut ids: Vec<u64> = out
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["type"] == "flow")
            .map(|v| v["evidence"]["attempt"].as_u64().unwrap())
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "{}: attempt numbers repeat", dir.display());
    }
}

#[test]
fn a_closed_pipe_with_several_threads_ends_quietly() {
    // The biggest fixture (the nmap scan) repeated: the output outlives the reader.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded/nmap-scan");
    let input = dir.join(capture_in(&dir));
    let inputs: Vec<&Path> = std::iter::repeat_n(input.as_path(), 200).collect();
    for threads in ["2", "3"] {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .args(["analyze", "-f", "jsonl", "--threads", threads])
            .args(&inputs)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
        drop(child.stdout.take());
        // Not hanging: it ends on its own (killed after a minute, and the test fails).
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("--threads {threads}: still running a minute after the pipe closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(status.success(), "--threads {threads}: exit {status:?}: {err}");
        assert_eq!(err, "", "--threads {threads}");
    }
}
