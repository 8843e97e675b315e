//! `analyze --threads N` gives every fixture the output of one tracker, line for line and in
//! the same order. What legitimately differs is normalised, everything else compared in full:
//!
//! - the attempt number (`evidence.attempt`): shard k of N numbers its attempts k+1, k+1+N, …;
//! - the summary's `flows.peak`: the sum of the shards' peaks, an upper bound of one
//!   tracker's peak (checked to be at least it).
//!
//! Also: a closed output pipe with several threads ends the run quietly, without hanging.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connlens::capture::TsResolution;
use connlens::synth::frame::{self, Icmp, Ip, Link};
use connlens::synth::scenarios::{Dir, Script, TcpConv};
use connlens::time::Timestamp;
use serde_json::Value;

mod common;
use common::{args_of, capture_in, scenarios};

/// An output split into its parts, with what may differ between thread counts normalised.
#[derive(Debug, PartialEq)]
struct Normalised {
    /// Flow lines without `evidence.attempt`, in order.
    flows: Vec<String>,
    /// Incident lines, in order.
    incidents: Vec<String>,
    /// The summary without `flows.peak`.
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
                summary = v;
            }
            other => panic!("unexpected line type {other:?}: {line}"),
        }
    }
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

/// A capture of many batches: 60 servers (IPv4 and IPv6), each first answering a handshake (so
/// its own TTL is known), then refusing clients with its own RST and with a path's RST, ignoring
/// SYNs (timeouts that run out batches later), and firewalled by a router's ICMP error quoting
/// the SYN; the clients' ports are high, as real clients' are.
fn many_batches() -> Vec<u8> {
    let mut s = Script::new(Timestamp::from_secs_nanos(1_790_000_000, 0));
    let mut n = 0u32;
    for round in 0..12u32 {
        for server in 0..60u32 {
            let v6 = server % 4 == 3;
            let (srv, cli, router): (std::net::IpAddr, std::net::IpAddr, std::net::IpAddr) = if v6 {
                (
                    format!("2001:db8:5::{server:x}").parse().unwrap(),
                    format!("2001:db8:c::{:x}", n % 97).parse().unwrap(),
                    "2001:db8:ff::1".parse().unwrap(),
                )
            } else {
                (
                    format!("198.51.100.{server}").parse().unwrap(),
                    format!("192.0.2.{}", n % 97).parse().unwrap(),
                    "203.0.113.1".parse().unwrap(),
                )
            };
            let port = [22u16, 80, 443, 5432][(server % 4) as usize];
            // Rounds 0.5 s apart, servers spread within a round: attempts interleave.
            let at = f64::from(round) * 0.5 + f64::from(server) * 0.007;
            for kind in 0..5u32 {
                n += 1;
                let mut c = TcpConv::new(
                    Link::Ethernet,
                    (cli, 40_000 + (n % 20_000) as u16),
                    (srv, port),
                    (n, !n),
                );
                let t = at + f64::from(kind) * 0.0011;
                match (round, kind) {
                    (0, _) | (_, 0) => {
                        c.handshake(&mut s, t, 0.000_4);
                        c.client_close(&mut s, t + 0.01, 0.000_4);
                    }
                    (_, 1) => {
                        c.syn(&mut s, t);
                        c.refuse(&mut s, t + 0.000_3, 61);
                    }
                    (_, 2) => {
                        c.syn(&mut s, t);
                        c.refuse(&mut s, t + 0.000_2, 250);
                    }
                    (_, 3) => {
                        c.syn(&mut s, t);
                        c.syn(&mut s, t + 1.0);
                    }
                    _ => {
                        c.syn(&mut s, t);
                        let quote = c.syn_packet(58);
                        let err = frame::icmp_error(
                            &Ip::new(router, cli).ttl(254),
                            Icmp::ADMIN_PROHIBITED,
                            frame::quote_8(&quote),
                        );
                        s.packet(t + 0.000_5, Link::Ethernet, Dir::In, &err);
                    }
                }
            }
        }
    }
    s.to_pcap(TsResolution::Micro, false)
}

#[test]
fn a_capture_of_many_batches_gives_the_same_verdicts_on_several_threads() {
    let dir = std::env::temp_dir().join(format!("connlens-threads-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("input.pcap"), many_batches()).unwrap();
    let one = analyze(&dir, 1);
    let reference = normalise(&one);
    let summary: Value = serde_json::from_str(one.lines().last().unwrap()).unwrap();
    // Many batches of 1024 packets, every kind of verdict, and incidents.
    assert!(summary["packets"]["decoded"].as_u64().unwrap() > 5 * 1024, "{summary}");
    for kind in ["established", "refused", "unanswered", "unreachable"] {
        assert!(summary["verdicts"][kind]["total"].as_u64().unwrap() > 100, "{kind}: {summary}");
    }
    assert!(!reference.incidents.is_empty());
    for threads in [2, 3] {
        let actual = normalise(&analyze(&dir, threads));
        assert!(actual.summary == reference.summary, "--threads {threads}: summary differs");
        assert!(actual.flows == reference.flows, "--threads {threads}: flow lines differ");
        assert!(actual.incidents == reference.incidents, "--threads {threads}: incidents differ");
        assert!(actual.peak >= reference.peak);
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Hosts whose own packets are seen only where they are clients (of another server, or
/// reporting ICMP errors about others' flows), then called on two ports: one refused with
/// their own RST, one silent. Their facts (their TTL, that they are up) are learned in the
/// shard of the conversation that shows them, and must reach the shards of their own
/// conversations as servers.
fn hosts_known_as_clients() -> Vec<u8> {
    let mut s = Script::new(Timestamp::from_secs_nanos(1_790_000_000, 0));
    let caller: std::net::IpAddr = "192.0.2.9".parse().unwrap();
    let far: std::net::IpAddr = "203.0.113.80".parse().unwrap();
    for k in 0..32u32 {
        let host: std::net::IpAddr = if k % 2 == 0 {
            format!("198.51.100.{}", 10 + k).parse().unwrap()
        } else {
            format!("2001:db8:7::{:x}", 10 + k).parse().unwrap()
        };
        let far = if k % 2 == 0 { far } else { "2001:db8:ff::80".parse().unwrap() };
        let caller = if k % 2 == 0 { caller } else { "2001:db8:c::9".parse().unwrap() };
        let t = f64::from(k) * 0.01;
        if k % 4 < 2 {
            // The host as a client of a far server: its own TTL (64) is seen here.
            let c = TcpConv::new(Link::Ethernet, (host, 50_000), (far, 443), (k, !k));
            c.handshake(&mut s, t, 0.000_4);
        } else {
            // The host reports an ICMP error about someone else's flow: it is up.
            let other =
                TcpConv::new(Link::Ethernet, (far, 40_000 + k as u16), (caller, 25), (k, k));
            other.syn(&mut s, t);
            let err = frame::icmp_error(
                &Ip::new(host, far).ttl(64),
                Icmp::ADMIN_PROHIBITED,
                frame::quote_8(&other.syn_packet(63)),
            );
            s.packet(t + 0.000_2, Link::Ethernet, Dir::In, &err);
        }
        // Then the host is called: port 8080 refused by its own RST (TTL 64 as its own
        // packets), port 8443 silent.
        let refused =
            TcpConv::new(Link::Ethernet, (caller, 41_000 + k as u16), (host, 8080), (k, k));
        refused.syn(&mut s, 1.0 + t);
        refused.refuse(&mut s, 1.0 + t + 0.000_3, 64);
        let silent =
            TcpConv::new(Link::Ethernet, (caller, 42_000 + k as u16), (host, 8443), (k, k));
        silent.syn(&mut s, 1.0 + t);
    }
    // Capture time goes on past the SYN timeout.
    let later = TcpConv::new(Link::Ethernet, (caller, 43_000), (far, 80), (1, 1));
    later.handshake(&mut s, 20.0, 0.000_4);
    s.to_pcap(TsResolution::Micro, false)
}

#[test]
fn a_hosts_facts_from_other_shards_reach_its_own_conversations() {
    let dir = std::env::temp_dir().join(format!("connlens-threads-facts-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("input.pcap"), hosts_known_as_clients()).unwrap();
    let one = analyze(&dir, 1);
    let reference = normalise(&one);
    // One tracker knows every host: up (so a silent port is filtered), and, for those seen as
    // clients, their own TTL (so their RST is theirs); a host known only from its ICMP error
    // has no TTL of its own to compare with (`reset`).
    let causes = |n: &Normalised, port: u64| -> Vec<(String, usize)> {
        let mut count = std::collections::BTreeMap::new();
        for l in &n.flows {
            let v: Value = serde_json::from_str(l).unwrap();
            if v["server_port"] == port {
                *count.entry(format!("{} {}", v["verdict"], v["cause"])).or_insert(0) += 1;
            }
        }
        count.into_iter().collect()
    };
    let c = |s: &str, n: usize| (s.to_string(), n);
    assert_eq!(
        causes(&reference, 8080),
        [c("\"refused\" \"host-reset\"", 16), c("\"refused\" \"reset\"", 16)],
        "{one}"
    );
    assert_eq!(causes(&reference, 8443), [c("\"unanswered\" \"filtered\"", 32)], "{one}");
    for threads in [2, 3, 5] {
        let actual = normalise(&analyze(&dir, threads));
        assert_eq!(causes(&actual, 8080), causes(&reference, 8080), "--threads {threads}");
        assert_eq!(causes(&actual, 8443), causes(&reference, 8443), "--threads {threads}");
        assert!(actual.flows == reference.flows, "--threads {threads}: flow lines differ");
        // (Not the listed incidents' start times: the scan's window may be reported before
        // the verdict of its earliest attempt arrives from another shard; see the README.)
        let counts = |v: &Value| (v["verdicts"].clone(), v["incidents"]["by_kind"].clone());
        assert!(
            counts(&actual.summary) == counts(&reference.summary),
            "--threads {threads}: summary counts differ"
        );
    }
    let _ = fs::remove_dir_all(&dir);
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

#[test]
fn a_failing_output_with_several_threads_stops_the_run() {
    // /dev/full: every write fails with ENOSPC (not a closed pipe): exit 1 with one line.
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here: skipped");
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded/nmap-scan");
    let input = dir.join(capture_in(&dir));
    let inputs: Vec<&Path> = std::iter::repeat_n(input.as_path(), 100).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
        .args(["analyze", "-f", "jsonl", "--threads", "2"])
        .args(&inputs)
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("connlens: error: writing the output: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Refusals and silent SYNs around one frame stamped two hours ahead (a mis-stamped frame that
/// the next one does not confirm), and timestamps going backwards for a moment.
fn odd_clock() -> Vec<u8> {
    let mut s = Script::new(Timestamp::from_secs_nanos(1_790_000_000, 0));
    let server: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    for k in 0..40u32 {
        let client: std::net::IpAddr = format!("10.1.{}.{}", k / 200, 1 + k % 200).parse().unwrap();
        let c = TcpConv::new(Link::Ethernet, (client, 40_000 + k as u16), (server, 443), (k, k));
        let t = f64::from(k) * 0.5;
        match k {
            10 => c.syn(&mut s, t + 7200.0),
            20 => c.syn(&mut s, t - 3.0),
            _ if k % 3 == 0 => c.syn(&mut s, t),
            _ => {
                c.syn(&mut s, t);
                c.refuse(&mut s, t + 0.000_3, 64);
            }
        }
    }
    s.to_pcap(TsResolution::Micro, false)
}

#[test]
fn a_mis_stamped_frame_is_judged_as_one_tracker_judges_it() {
    let dir = std::env::temp_dir().join(format!("connlens-threads-clock-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("input.pcap"), odd_clock()).unwrap();
    let one = analyze(&dir, 1);
    let reference = normalise(&one);
    assert_eq!(reference.summary["flows"]["clock_jumps_ignored"], 1, "{}", reference.summary);
    assert!(reference.flows.iter().any(|l| l.contains("\"unanswered\"")), "{one}");
    for threads in [2, 3] {
        let actual = normalise(&analyze(&dir, threads));
        assert_eq!(actual.summary, reference.summary, "--threads {threads}");
        assert_eq!(actual.flows, reference.flows, "--threads {threads}");
        assert_eq!(actual.incidents, reference.incidents, "--threads {threads}");
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Frames in the order given (not sorted by time), `(seconds after the start, IP packet)`.
fn frames_in_order(frames: &[(f64, Vec<u8>)]) -> Vec<u8> {
    use connlens::capture::{LinkType, PcapWriter};
    let mut w =
        PcapWriter::new(Vec::new(), LinkType::ETHERNET, 65535, TsResolution::Micro, false).unwrap();
    for (at, ip) in frames {
        let f = frame::frame(Link::Ethernet, ip);
        let ts = Timestamp::from_secs_nanos(1_790_000_000, 0)
            .add(connlens::time::Duration::from_secs_f64(*at));
        w.write_frame(ts, &f, f.len() as u32).unwrap();
    }
    w.into_inner()
}

fn v4(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

/// What once made several shards differ from one tracker: hosts that send a broadcast before
/// anything else; an address whose packets come with two TTLs (a load-balanced service: two
/// backends at different distances); SYNs with the very same time (equal deadlines); open
/// attempts whose timestamps step backwards; and, last, a frame stamped two hours ahead.
fn corner_cases() -> Vec<u8> {
    use connlens::decode::TcpFlags as F;
    let tcp = |src: &str, sp: u16, dst: &str, dp: u16, ttl: u8, seq: u32, ack: u32, flags: u8| {
        frame::tcp(
            &Ip::new(v4(src), v4(dst)).ttl(ttl),
            &frame::Tcp::new(sp, dp).seq(seq).ack(ack).flags(flags),
            b"",
        )
    };
    let mut f: Vec<(f64, Vec<u8>)> = Vec::new();
    for k in 0..8u16 {
        let h = format!("10.0.1.{}", 10 + k);
        let t = f64::from(k);
        let bcast = Ip::new(v4(&h), v4("10.0.1.255"));
        f.push((t, frame::udp(&bcast, 137, 137, b"hello")));
        f.push((t + 0.1, tcp(&h, 50_000, "198.51.100.9", 80, 64, 1, 0, F::SYN)));
        f.push((t + 0.2, tcp("198.51.100.9", 80, &h, 50_000, 61, 0, 2, F::RST | F::ACK)));
        f.push((t + 0.3, tcp("192.0.2.50", 41_000 + k, &h, 22, 64, 5, 0, F::SYN)));
    }
    for k in 0..6u16 {
        let t = 10.0 + f64::from(k);
        let (a, b, c) = (format!("10.0.{k}.1"), format!("10.0.{k}.2"), format!("10.0.{k}.3"));
        let vip = "198.51.100.7";
        f.push((t, tcp(&a, 40_000, vip, 443, 64, 100, 0, F::SYN)));
        f.push((t + 0.001, tcp(vip, 443, &a, 40_000, 61, 500, 101, F::SYN | F::ACK)));
        f.push((t + 0.002, tcp(&a, 40_000, vip, 443, 64, 101, 501, F::ACK)));
        f.push((t + 0.1, tcp(&b, 40_001, vip, 443, 64, 100, 0, F::SYN)));
        f.push((t + 0.101, tcp(vip, 443, &b, 40_001, 124, 900, 101, F::SYN | F::ACK)));
        f.push((t + 0.102, tcp(&b, 40_001, vip, 443, 64, 101, 901, F::ACK)));
        f.push((t + 0.2, tcp(vip, 443, &a, 40_000, 61, 501, 101, F::ACK | F::PSH)));
        f.push((t + 0.3, tcp(&c, 40_002 + k, vip, 8080, 64, 7, 0, F::SYN)));
        f.push((t + 0.301, tcp(vip, 8080, &c, 40_002 + k, 124, 0, 8, F::RST | F::ACK)));
    }
    for k in 0..10u16 {
        // Pairs at the same time, to servers in different shards: equal deadlines.
        let at = 20.0 + f64::from(k / 2);
        let s = format!("203.0.113.{}", 1 + k);
        f.push((at, tcp(&format!("10.8.0.{}", 1 + k), 41_000 + k, &s, 443, 64, 1, 0, F::SYN)));
    }
    for k in 0..12u16 {
        // Open at the end of the input, stamped back and forth.
        let at = 40.0 + f64::from(k) * 0.01 + if k % 2 == 0 { 0.5 } else { 0.0 };
        f.push((
            at,
            tcp(&format!("10.9.0.{}", 1 + k), 42_000 + k, "203.0.113.99", 443, 64, 1, 0, F::SYN),
        ));
    }
    f.push((7200.0, tcp("10.9.1.1", 43_000, "203.0.113.98", 443, 64, 1, 0, F::SYN)));
    frames_in_order(&f)
}

#[test]
fn corner_cases_give_one_trackers_output_on_several_threads() {
    let dir = std::env::temp_dir().join(format!("connlens-threads-corner-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("input.pcap"), corner_cases()).unwrap();
    let one = analyze(&dir, 1);
    let reference = normalise(&one);
    let causes = |port: u64| -> Vec<String> {
        reference
            .flows
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["server_port"] == port)
            .map(|v| v["cause"].as_str().unwrap().to_string())
            .collect()
    };
    // The hosts that sent a broadcast first are up: their silent port is filtered.
    assert_eq!(causes(22), vec!["filtered"; 8], "{one}");
    // The service answers with TTL 61 and 124 (two backends): its RST at 124 is its own.
    assert_eq!(causes(8080), vec!["host-reset"; 6], "{one}");
    // The frame stamped two hours ahead is the last one: nothing confirms the leap (the end
    // of its batch repeats its own time), so the attempts still open are not timed out.
    assert_eq!(reference.summary["flows"]["clock_jumps_ignored"], 1, "{}", reference.summary);
    let open_at_end: Vec<Value> = reference
        .flows
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["server"] == "203.0.113.99")
        .collect();
    assert_eq!(open_at_end.len(), 12);
    assert!(open_at_end.iter().all(|v| v["cause"] == "capture-ended"), "{open_at_end:?}");
    for threads in [2, 3, 5] {
        let actual = normalise(&analyze(&dir, threads));
        assert_eq!(actual.flows, reference.flows, "--threads {threads}");
        assert_eq!(actual.incidents, reference.incidents, "--threads {threads}");
        assert_eq!(actual.summary, reference.summary, "--threads {threads}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn every_shard_keeps_as_many_hosts_as_one_tracker() {
    // 15 hosts seen as clients, then one silent port on each, one at a time: with
    // --max-flows 24 no attempt is ever pushed out, but 3 shards of 8 conversations each must
    // still know all 15 hosts.
    use connlens::decode::TcpFlags as F;
    let mut f: Vec<(f64, Vec<u8>)> = Vec::new();
    for k in 0..15u16 {
        let h = format!("10.0.5.{}", 10 + k);
        let t = f64::from(k) * 0.1;
        let ip = Ip::new(v4(&h), v4("198.51.100.9"));
        f.push((t, frame::tcp(&ip, &frame::Tcp::new(50_000, 80).seq(1).flags(F::SYN), b"")));
    }
    for k in 0..15u16 {
        let h = format!("10.0.5.{}", 10 + k);
        let ip = Ip::new(v4("192.0.2.50"), v4(&h));
        let syn = frame::Tcp::new(41_000 + k, 22).seq(5).flags(F::SYN);
        f.push((10.0 + f64::from(k) * 10.0, frame::tcp(&ip, &syn, b"")));
    }
    // Capture time goes on past the last timeout.
    let later = Ip::new(v4("192.0.2.50"), v4("198.51.100.9"));
    f.push((300.0, frame::tcp(&later, &frame::Tcp::new(42_000, 80).seq(9).flags(F::SYN), b"")));
    let dir = std::env::temp_dir().join(format!("connlens-threads-hosts-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("input.pcap"), frames_in_order(&f)).unwrap();
    fs::write(dir.join("args"), "--max-flows\n24\n").unwrap();
    let reference = normalise(&analyze(&dir, 1));
    let filtered = reference.flows.iter().filter(|l| l.contains("\"filtered\"")).count();
    assert_eq!(filtered, 15, "{:?}", reference.flows);
    assert_eq!(reference.summary["flows"]["evicted"], 0);
    for threads in [2, 3] {
        let actual = normalise(&analyze(&dir, threads));
        assert_eq!(actual.flows, reference.flows, "--threads {threads}");
        assert_eq!(actual.summary, reference.summary, "--threads {threads}");
    }
    let _ = fs::remove_dir_all(&dir);
}
