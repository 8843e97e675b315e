//! Memory under attack (issue 7): a SYN flood from distinct sources, a scan of all 65 535
//! ports, and an ICMP error storm quoting random flows, each run through the binary with a
//! small flow table. Every attempt must get exactly one verdict, the table must stay within
//! its cap (the summary's peak), and the summary must say how many were pushed out early.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use connlens::capture::{LinkType, PcapWriter, TsResolution};
use connlens::decode::TcpFlags;
use connlens::synth::frame::{self, Icmp, Ip, Link, Tcp};
use connlens::time::Timestamp;
use serde_json::Value;

const CAP: &str = "1000";

/// Writes frames (one every 10 µs) to a temp pcap and runs `connlens analyze` on it with a
/// table of `CAP` conversations; returns the flow lines, the incident lines and the summary.
fn analyze(name: &str, frames: impl Iterator<Item = Vec<u8>>) -> (Vec<Value>, Vec<Value>, Value) {
    let path: PathBuf =
        std::env::temp_dir().join(format!("connlens-attack-{}-{name}.pcap", std::process::id()));
    let mut w = PcapWriter::new(
        std::io::BufWriter::new(fs::File::create(&path).unwrap()),
        LinkType::ETHERNET,
        65535,
        TsResolution::Micro,
        false,
    )
    .unwrap();
    for (i, ip) in frames.enumerate() {
        let f = frame::frame(Link::Ethernet, &ip);
        let ts = Timestamp(1_790_000_000_000_000_000 + i as i64 * 10_000);
        w.write_frame(ts, &f, f.len() as u32).unwrap();
    }
    w.into_inner().flush().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
        .args(["analyze", "--format", "jsonl", "--max-flows", CAP])
        .arg(&path)
        .output()
        .unwrap();
    let _ = fs::remove_file(&path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flows = lines.iter().filter(|v| v["type"] == "flow").cloned().collect();
    let incidents = lines.iter().filter(|v| v["type"] == "incident").cloned().collect();
    let summary = lines.last().cloned().unwrap();
    (flows, incidents, summary)
}

fn source(i: u32) -> [u8; 4] {
    [10, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

#[test]
fn a_syn_flood_from_distinct_sources_stays_within_the_table() {
    let n = 100_000u32;
    let (flows, _, summary) = analyze(
        "synflood",
        (0..n).map(|i| {
            frame::tcp(
                &Ip::new(source(i), [198, 51, 100, 7]),
                &Tcp::new(40000, 443).seq(i).flags(TcpFlags::SYN),
                b"",
            )
        }),
    );
    assert_eq!(flows.len(), n as usize);
    assert!(flows.iter().all(|v| v["verdict"] == "unanswered"));
    assert_eq!(summary["attempts"], n);
    assert_eq!(summary["flows"]["peak"], 1000);
    // Pushed out early: all but those whose timeout passed or that were open at the end.
    let evicted = summary["flows"]["evicted"].as_u64().unwrap();
    assert!(evicted > 90_000, "{summary}");
    let early = flows.iter().filter(|v| v["cause"] == "evicted-before-timeout").count() as u64;
    assert_eq!(early, evicted);
}

#[test]
fn a_scan_of_every_port_is_refused_port_by_port_and_reported_as_a_scan() {
    let c = Ip::new([192, 0, 2, 66], [198, 51, 100, 7]);
    let s = Ip::new([198, 51, 100, 7], [192, 0, 2, 66]);
    let (flows, incidents, summary) = analyze(
        "portscan",
        (1..=65_535u16).flat_map(|port| {
            [
                frame::tcp(&c, &Tcp::new(50000, port).seq(7).flags(TcpFlags::SYN), b""),
                frame::tcp(
                    &s,
                    &Tcp::new(port, 50000).ack(8).flags(TcpFlags::RST | TcpFlags::ACK),
                    b"",
                ),
            ]
        }),
    );
    assert_eq!(flows.len(), 65_535);
    assert!(
        flows.iter().all(|v| v["verdict"] == "refused"),
        "{:?}",
        flows.iter().find(|v| v["verdict"] != "refused")
    );
    // Decided conversations made room: nothing pending was pushed out.
    assert_eq!(summary["flows"]["evicted"], 0);
    assert_eq!(summary["flows"]["peak"], 1000);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["incident"], "scan");
    assert_eq!(incidents[0]["client"], "192.0.2.66");
}

#[test]
fn an_icmp_error_storm_quoting_random_flows_gives_each_quoted_attempt_one_verdict() {
    let n = 50_000u32;
    let router = Ip::new([203, 0, 113, 1], [192, 0, 2, 1]);
    let (flows, _, summary) = analyze(
        "icmpstorm",
        (0..n).map(|i| {
            // Each quotes a SYN from 192.0.2.1 to a different host and port, never captured.
            let quoted = frame::tcp(
                &Ip::new([192, 0, 2, 1], source(i)),
                &Tcp::new(40000 + (i % 20_000) as u16, 443).seq(i).flags(TcpFlags::SYN),
                b"",
            );
            frame::icmp_error(&router, Icmp::HOST_UNREACHABLE, frame::quote_8(&quoted))
        }),
    );
    assert_eq!(flows.len(), n as usize);
    assert!(flows.iter().all(
        |v| v["verdict"] == "unreachable" && v["evidence"]["attempt_packets_captured"] == false
    ));
    assert_eq!(summary["flows"]["peak"], 1000);
}
