//! `live --metrics`: the page scraped during a live run on the loopback interface passes
//! `promtool check metrics` (Debian package `prometheus`), and its counters match the run's
//! summary. Needs capture rights (root); says so and passes without them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn scrape(port: u16, path: &str) -> (String, String) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

/// Kills the live run if the test fails half-way.
struct Run(Option<std::process::Child>);

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn value(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn metrics_page_during_a_live_run() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("skipped: capturing on lo needs root");
        return;
    }
    let metrics_port = free_port();
    let closed = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_connlens"))
        .args(["live", "-i", "lo", "-Z", "root", "--format", "jsonl", "--duration", "4"])
        .args(["--metrics", &format!("127.0.0.1:{metrics_port}")])
        .args(["tcp", "port", &closed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut run = Run(Some(child));
    let until = Instant::now() + Duration::from_secs(3);
    while TcpStream::connect(("127.0.0.1", metrics_port)).is_err() {
        assert!(Instant::now() < until, "no metrics server");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The capture is open before the server starts: three refusals by the kernel's RST.
    for _ in 0..3 {
        assert!(TcpStream::connect(("127.0.0.1", closed)).is_err());
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (head, page) = scrape(metrics_port, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let (head404, _) = scrape(metrics_port, "/");
    assert!(head404.starts_with("HTTP/1.1 404"), "{head404}");
    let out = run.0.take().unwrap().wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(value(&page, "connlens_attempts_total"), summary["attempts"].as_u64().unwrap());
    let refused = summary["verdicts"]["refused"]["causes"]["host-reset"].as_u64().unwrap();
    assert!(refused >= 3, "{summary}");
    assert_eq!(
        value(&page, "connlens_verdicts_total{verdict=\"refused\",cause=\"host-reset\"}"),
        refused
    );
    assert_eq!(
        value(
            &page,
            &format!(
                "connlens_service_failures_total{{proto=\"tcp\",server=\"127.0.0.1\",port=\"{closed}\",verdict=\"refused\"}}"
            )
        ),
        refused
    );
    assert!(value(&page, "connlens_packets_read_total") >= 6, "{page}");

    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut p) => {
            p.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
            let r = p.wait_with_output().unwrap();
            assert!(
                r.status.success(),
                "promtool: {}{}\n{page}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
        }
        Err(e) => panic!("promtool (Debian package prometheus; .ci/setup installs it): {e}"),
    }
}

/// The README's Prometheus scrape configuration and alert rules (deploy/) are valid.
#[test]
fn deploy_prometheus_files_are_valid() {
    let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
    for args in [["check", "rules", "connlens.rules.yml"], ["check", "config", "prometheus.yml"]] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(deploy)
            .output()
            .expect("promtool (Debian package prometheus; .ci/setup installs it)");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
