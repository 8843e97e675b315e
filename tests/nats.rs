//! `--publish` against real `nats-server -js` processes on loopback (Debian package
//! `nats-server`, installed by .ci/setup): every line stored once and in order, a broker that
//! is away at the start or in the middle, the spool carried over to a later run.
#![cfg(feature = "nats")]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use connlens::publish::{Auth, Stored, read_stream};

/// A `nats-server -js` on a loopback port with its own store; killed (and waited for) when
/// dropped, panics included.
struct Server {
    child: Option<Child>,
    port: u16,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("connlens-nats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Server {
    fn start(port: u16, store: &Path) -> Server {
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (Debian package nats-server; .ci/setup installs it)");
        let s = Server { child: Some(child), port };
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "nats-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// SIGKILL, as a crash.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn read(&self, stream: &str) -> Vec<Stored> {
        read_stream(&[self.url()], stream, &Auth::None).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn connlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connlens")).args(args).output().unwrap()
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/generated");

/// The lines of a `--format jsonl` run, each with the sensor field the published copy has.
fn with_sensor(stdout: &[u8], sensor: &str) -> Vec<String> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| format!("{},\"sensor\":\"{sensor}\"}}", l.strip_suffix('}').unwrap()))
        .collect()
}

fn payloads(stored: &[Stored], sensor: &str) -> Vec<String> {
    stored
        .iter()
        .filter(|m| m.subject.split('.').nth(1) == Some(sensor))
        .map(|m| String::from_utf8(m.payload.clone()).unwrap())
        .collect()
}

/// The summary line's `publish` counters are those of the moment it was published (stdout's
/// copy is written after, with the final ones): compared without them; the rest byte for byte.
#[track_caller]
fn same_lines(got: &[String], expected: &[String]) {
    assert_eq!(got.len(), expected.len(), "line counts");
    for (n, (g, e)) in got.iter().zip(expected).enumerate() {
        if e.starts_with("{\"type\":\"flow\"") || e.starts_with("{\"type\":\"incident\"") {
            assert_eq!(g, e, "line {}", n + 1);
        } else {
            let mut g: serde_json::Value = serde_json::from_str(g).unwrap();
            let mut e: serde_json::Value = serde_json::from_str(e).unwrap();
            assert_eq!(e["type"], "summary");
            g.as_object_mut().unwrap().remove("publish");
            e.as_object_mut().unwrap().remove("publish");
            assert_eq!(g, e, "line {}", n + 1);
        }
    }
}

fn summary(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

/// Every line of the fixtures' analysis is in the stream once, in order, on
/// SUBJECT.<sensor>.<type>, with the same bytes as the JSON lines plus `sensor`; the summary
/// counts them (the summary line itself is published after it is written).
#[test]
fn every_line_is_stored_once_in_order() {
    let store = tempdir("once");
    let server = Server::start(free_port(), &store);
    let url = format!("{}/fleet", server.url());
    let out = connlens(&[
        "analyze",
        FIXTURES,
        "--format",
        "jsonl",
        "--publish",
        &url,
        "--sensor",
        "s1",
        "--stream",
        "ONCE",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = with_sensor(&out.stdout, "s1");
    let stored = server.read("ONCE");
    same_lines(&payloads(&stored, "s1"), &expected);
    assert_eq!(stored.len(), expected.len());
    for (m, line) in stored.iter().zip(&expected) {
        let kind: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(m.subject, format!("fleet.s1.{}", kind["type"].as_str().unwrap()));
    }
    let ids: std::collections::HashSet<_> = stored.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), stored.len());
    let s = summary(&out.stdout);
    // Every line, the published summary too: stdout's summary is written after.
    assert_eq!(s["publish"]["published"], expected.len() as u64);
    assert_eq!(s["publish"]["dropped"], 0);
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
}

/// The broker is down when the run starts: lines wait in the spool, and the run ends (0)
/// once the restarted broker has stored them all, once each.
#[test]
fn a_broker_down_at_the_start_gets_everything_when_it_comes() {
    let store = tempdir("late-store");
    let spool = tempdir("late-spool");
    let port = free_port();
    let url = server_url(port);
    let child = std::thread::spawn({
        let spool = spool.clone();
        move || {
            connlens(&[
                "analyze",
                FIXTURES,
                "--format",
                "jsonl",
                "--publish",
                &url,
                "--sensor",
                "late",
                "--stream",
                "LATE",
                "--spool",
                spool.to_str().unwrap(),
                "--publish-wait",
                "30",
            ])
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    let server = Server::start(port, &store);
    let out = child.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = with_sensor(&out.stdout, "late");
    same_lines(&payloads(&server.read("LATE"), "late"), &expected);
    let s = summary(&out.stdout);
    assert!(s["publish"]["spooled"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["publish"]["left_in_spool"], 0);
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0, "the spool is drained");
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&spool);
}

/// The broker is down while a run writes far more than a small spool holds, then comes back:
/// the stream holds every line but exactly the ones the summary counts as dropped, and those
/// are the oldest (the spool drops its oldest segments); the run says how many were lost.
#[test]
fn a_spool_smaller_than_the_gap_drops_exactly_the_counted_oldest_lines() {
    let store = tempdir("bound-store");
    let spool = tempdir("bound-spool");
    let port = free_port();
    let url = server_url(port);
    let child = std::thread::spawn({
        let spool = spool.clone();
        move || {
            connlens(&[
                "analyze",
                FIXTURES,
                "--format",
                "jsonl",
                "--publish",
                &url,
                "--sensor",
                "bound",
                "--stream",
                "BOUND",
                "--spool",
                spool.to_str().unwrap(),
                "--spool-max",
                "16384",
                "--publish-wait",
                "30",
            ])
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    let server = Server::start(port, &store);
    let out = child.join().unwrap();
    let expected = with_sensor(&out.stdout, "bound");
    let s = summary(&out.stdout);
    let dropped = s["publish"]["dropped"].as_u64().unwrap() as usize;
    // Everything the fixtures give is far more than 16 KiB: most of it was dropped.
    let bytes: usize = expected.iter().map(String::len).sum();
    assert!(bytes > 4 * 16384, "{bytes}");
    eprintln!("{} lines ({bytes} bytes), {dropped} dropped", expected.len());
    assert!(dropped > 0 && dropped < expected.len(), "{s}");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("publishing: {dropped} lines were not stored")), "{err}");
    assert_eq!(s["publish"]["left_in_spool"], 0, "{s}");
    // The stream: all lines but the `dropped` oldest, in order, once each.
    let stored = server.read("BOUND");
    same_lines(&payloads(&stored, "bound"), &expected[dropped..]);
    // The summary published in the stream counted the same drops.
    let published: serde_json::Value =
        serde_json::from_slice(&stored.last().unwrap().payload).unwrap();
    assert_eq!(published["publish"]["dropped"], dropped as u64);
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&spool);
}

fn server_url(port: u16) -> String {
    format!("nats://127.0.0.1:{port}")
}

/// The broker is killed (SIGKILL) after a first run; a second run while it is down gives up
/// after --publish-wait (exit 1, lines left in the spool); a third run with the same spool,
/// the broker back on the same store, sends the second run's lines first, then its own:
/// nothing lost, nothing stored twice.
#[test]
fn a_killed_broker_and_a_spool_carried_to_the_next_run() {
    let store = tempdir("kill-store");
    let spool = tempdir("kill-spool");
    let port = free_port();
    let mut server = Server::start(port, &store);
    let url = server_url(port);
    let run = |sensor: &str, wait: &str| {
        connlens(&[
            "analyze",
            FIXTURES,
            "--format",
            "jsonl",
            "--publish",
            &url,
            "--sensor",
            sensor,
            "--stream",
            "KILL",
            "--spool",
            spool.to_str().unwrap(),
            "--publish-wait",
            wait,
        ])
    };
    let first = run("a", "30");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    server.kill();
    let second = run("b", "1");
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("left in the spool"), "{err}");
    assert!(summary(&second.stdout)["publish"]["left_in_spool"].as_u64().unwrap() > 0);
    let server = Server::start(port, &store);
    let third = run("c", "30");
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
    let stored = server.read("KILL");
    same_lines(&payloads(&stored, "a"), &with_sensor(&first.stdout, "a"));
    same_lines(&payloads(&stored, "b"), &with_sensor(&second.stdout, "b"));
    same_lines(&payloads(&stored, "c"), &with_sensor(&third.stdout, "c"));
    // In order: every one of b's lines before c's.
    let last_b = stored.iter().rposition(|m| m.subject.contains(".b.")).unwrap();
    let first_c = stored.iter().position(|m| m.subject.contains(".c.")).unwrap();
    assert!(last_b < first_c);
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&spool);
}

/// Mistakes are one line each and exit 2 before anything is read.
#[test]
fn bad_urls_are_usage_errors() {
    for (url, says) in [
        ("http://127.0.0.1", "nats://"),
        ("nats://127.0.0.1:0", "port"),
        ("nats://me:secret@127.0.0.1", "environment"),
        ("nats://127.0.0.1/a.>", "not a subject"),
    ] {
        let out = connlens(&["analyze", FIXTURES, "--publish", url]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{url}: {err}");
        assert!(!err.contains("secret"), "{err}");
    }
}

/// Two sensors publish overlapping captures into one stream at once (s1 the whole fixture
/// set, s2 `refused-v4`, which s1 holds too); `report nats://…/STREAM` gives the same document
/// as `report` over the two runs' JSON-lines files (with the `sensor` field the published
/// lines carry), with one input per sensor; the attempts both saw are joined, failures once
/// each with what each sensor saw; `--sensor` keeps one sensor's lines.
#[test]
fn a_fleet_report_from_the_stream_is_the_report_from_the_files() {
    let store = tempdir("report-store");
    let work = tempdir("report-work");
    let server = Server::start(free_port(), &store);
    let url = server.url();
    let runs: Vec<_> = [("s1", FIXTURES.to_string()), ("s2", format!("{FIXTURES}/refused-v4"))]
        .into_iter()
        .map(|(sensor, input)| {
            let url = url.clone();
            std::thread::spawn(move || {
                let out = connlens(&[
                    "analyze",
                    &input,
                    "--format",
                    "jsonl",
                    "--publish",
                    &url,
                    "--sensor",
                    sensor,
                ]);
                (sensor, out)
            })
        })
        .collect();
    let mut files = Vec::new();
    for run in runs {
        let (sensor, out) = run.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let file = work.join(format!("{sensor}.jsonl"));
        std::fs::write(&file, with_sensor(&out.stdout, sensor).join("\n") + "\n").unwrap();
        files.push(file);
    }
    let report = |inputs: &[&str], extra: &[&str]| -> serde_json::Value {
        let out = connlens(&[&["report"], inputs, &["-f", "json", "-o", "-"], extra].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let stream = format!("{url}/CONNLENS");
    let mut from_stream = report(&[&stream], &[]);
    let mut from_files = report(&[files[0].to_str().unwrap(), files[1].to_str().unwrap()], &[]);
    let names: Vec<String> = from_stream["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, [format!("{stream} sensor s1"), format!("{stream} sensor s2")]);
    from_stream.as_object_mut().unwrap().remove("inputs");
    from_files.as_object_mut().unwrap().remove("inputs");
    assert_eq!(from_stream, from_files);
    // The two failures of refused-v4 were seen by both sensors: joined, once each, with what
    // each sensor saw (the same verdicts when s1's merged analysis agrees with s2's).
    let fleet = &from_stream["fleet"];
    let sensors: Vec<&str> = fleet["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sensor"].as_str().unwrap())
        .collect();
    assert_eq!(sensors.len(), 2);
    let joined = fleet["seen_by_several"].as_array().unwrap();
    let ports: Vec<u64> = joined.iter().map(|j| j["client_port"].as_u64().unwrap()).collect();
    assert_eq!(ports, [40080, 40443], "{fleet}");
    for j in joined {
        let mut seen: Vec<&str> =
            j["seen"].as_array().unwrap().iter().map(|s| s["sensor"].as_str().unwrap()).collect();
        seen.sort();
        assert_eq!(seen, ["s1", "s2"]);
        let verdicts: Vec<(&serde_json::Value, &serde_json::Value)> =
            j["seen"].as_array().unwrap().iter().map(|s| (&s["verdict"], &s["cause"])).collect();
        assert_eq!(j["agree"], verdicts[0] == verdicts[1]);
    }
    let s2 = fleet["sensors"].as_array().unwrap().iter().find(|s| s["sensor"] == "s2").unwrap();
    assert_eq!(
        (s2["attempts"].as_u64(), s2["failures_seen_by_others"].as_u64()),
        (Some(3), Some(2))
    );
    let one = report(&[&stream], &["--sensor", "s2"]);
    let alone = report(&[files[1].to_str().unwrap()], &[]);
    assert_eq!(one["verdicts"], alone["verdicts"]);
    assert_eq!(one["fleet"]["seen_by_several_total"], 0);
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&work);
}

/// The README's cluster configurations (deploy/nats-*.conf) are valid for nats-server.
#[test]
fn deploy_cluster_configs_are_valid() {
    for n in 1..=3 {
        let conf = format!("{}/deploy/nats-{n}.conf", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("nats-server").args(["-c", &conf, "-t"]).output().unwrap();
        assert!(out.status.success(), "{conf}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// An unreachable broker and refused credentials: one clear line each (the run still ends,
/// exit 1, the lines counted as not stored), and no password in it.
#[test]
fn an_unreachable_broker_and_wrong_credentials_say_so_once() {
    let dead = free_port();
    let out = connlens(&[
        "analyze",
        &format!("{FIXTURES}/refused-v4"),
        "--format",
        "jsonl",
        "--publish",
        &server_url(dead),
        "--publish-wait",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("cannot reach").count(), 1, "{err}");
    assert!(err.contains("lines were not stored (--spool DIR"), "{err}");

    let store = tempdir("auth");
    let port = free_port();
    let child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "--user", "u", "--pass", "right"])
        .arg("-sd")
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child: Some(child), port };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
        .args(["analyze", &format!("{FIXTURES}/refused-v4"), "--format", "jsonl"])
        .args(["--publish", &server.url(), "--publish-wait", "1"])
        .env("CONNLENS_NATS_USER", "u")
        .env("CONNLENS_NATS_PASSWORD", "wrong-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("refused the credentials").count(), 1, "{err}");
    assert!(!err.contains("wrong-secret"), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
}

/// The broker is killed (SIGKILL) in the middle of a live run on `lo` and restarted on the
/// same store: every line of the run is in the stream once, in order, the spool drained.
/// Needs capture rights (root); says so and passes without them.
#[test]
fn a_broker_killed_during_a_live_run_loses_nothing() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("skipped: capturing on lo needs root");
        return;
    }
    let store = tempdir("live-store");
    let spool = tempdir("live-spool");
    let port = free_port();
    let mut server = Server::start(port, &store);
    let closed = free_port();
    let live = Command::new(env!("CARGO_BIN_EXE_connlens"))
        .args(["live", "-i", "lo", "-Z", "root", "--format", "jsonl", "--duration", "5"])
        .args(["--publish", &server.url(), "--sensor", "live", "--stream", "LIVE"])
        .arg("--spool")
        .arg(&spool)
        .args(["tcp", "port", &closed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let refuse = |n: usize| {
        for _ in 0..n {
            assert!(TcpStream::connect(("127.0.0.1", closed)).is_err());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::thread::sleep(Duration::from_millis(1000));
    refuse(10);
    std::thread::sleep(Duration::from_millis(500));
    server.kill();
    refuse(10);
    std::thread::sleep(Duration::from_millis(1000));
    let server = Server::start(port, &store);
    refuse(10);
    let out = live.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = with_sensor(&out.stdout, "live");
    assert!(expected.len() > 30, "{}", expected.len());
    same_lines(&payloads(&server.read("LIVE"), "live"), &expected);
    let s = summary(&out.stdout);
    assert!(s["publish"]["spooled"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["publish"]["dropped"], 0);
    assert_eq!(s["publish"]["left_in_spool"], 0);
    drop(server);
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&spool);
}

/// A 3-node JetStream cluster on loopback, a stream of 3 replicas: one node is killed
/// (SIGKILL) while a sensor publishes; every line of both runs is stored once, in order.
#[test]
fn a_cluster_node_killed_while_publishing_loses_nothing() {
    let dir = tempdir("cluster");
    let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let routes: Vec<String> = route.iter().map(|p| format!("nats-route://127.0.0.1:{p}")).collect();
    let mut nodes = Vec::new();
    for n in 0..3 {
        let conf = dir.join(format!("n{n}.conf"));
        std::fs::write(
            &conf,
            format!(
                "server_name: n{n}\nlisten: 127.0.0.1:{}\njetstream {{ store_dir: \"{}\" }}\n\
                 cluster {{ name: t, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                client[n],
                dir.join(format!("store{n}")).display(),
                route[n],
                routes.join(", ")
            ),
        )
        .unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        nodes.push(Server { child: Some(child), port: client[n] });
    }
    for n in &nodes {
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", n.port)).is_err() {
            assert!(Instant::now() < until);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let url = format!(
        "nats://{}",
        client.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    );
    let run = move |sensor: &str| {
        connlens(&[
            "analyze",
            FIXTURES,
            "--format",
            "jsonl",
            "--publish",
            &url,
            "--sensor",
            sensor,
            "--stream",
            "R3",
            "--stream-replicas",
            "3",
            "--publish-wait",
            "60",
        ])
    };
    let first = run("a");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = std::thread::spawn({
        let run = run.clone();
        move || run("b")
    });
    std::thread::sleep(Duration::from_millis(30));
    nodes[0].kill();
    let second = second.join().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    // The two nodes left elect a new leader for the stream: reads may time out meanwhile
    // (seconds on a loaded machine), so they are tried again for a while.
    let until = Instant::now() + Duration::from_secs(60);
    let stored = loop {
        match read_stream(&[nodes[1].url()], "R3", &Auth::None) {
            Ok(stored) => break stored,
            Err(e) if Instant::now() < until => {
                eprintln!("reading the stream after the kill: {e}; trying again");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("the stream could not be read after a node was killed: {e}"),
        }
    };
    same_lines(&payloads(&stored, "a"), &with_sensor(&first.stdout, "a"));
    same_lines(&payloads(&stored, "b"), &with_sensor(&second.stdout, "b"));
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A certificate authority and a certificate for 127.0.0.1 it signed, made by `openssl` in `dir`:
/// (ca.pem, server.pem, server.key).
fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(&[&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]]
        .concat()
        .iter()
        .copied()
        .chain(["-subj", "/CN=connlens test CA"])
        .collect::<Vec<_>>());
    run(&[
        &["req"],
        &ec[..],
        &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
    ]
    .concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// The connection options the README documents, against a real `nats-server` with TLS and a
/// token: tls:// with the CA in CONNLENS_NATS_CA and the token in CONNLENS_NATS_TOKEN stores
/// every line and `report tls://…` reads them back; a wrong token, a missing CA file and a
/// missing credentials file are one clear line each (exit 1); no secret is ever printed.
#[test]
fn tls_token_and_credential_files_from_the_environment() {
    let dir = tempdir("tls");
    let (ca, cert, key) = test_certificates(&dir);
    let port = free_port();
    let token = "s3cret-t0ken-value";
    let child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "--auth", token, "--tls"])
        .arg("--tlscert")
        .arg(&cert)
        .arg("--tlskey")
        .arg(&key)
        .arg("-sd")
        .arg(dir.join("store"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child: Some(child), port };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("tls://127.0.0.1:{port}");
    let input = format!("{FIXTURES}/refused-v4");
    let run = |envs: &[(&str, &std::ffi::OsStr)], args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .args(args)
            .env_remove("CONNLENS_NATS_TOKEN")
            .env_remove("CONNLENS_NATS_CA")
            .env_remove("CONNLENS_NATS_CREDS")
            .env_remove("CONNLENS_NATS_USER")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        for text in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(
                !text.contains(token) && !text.contains("wrong-one"),
                "a secret printed: {text}"
            );
        }
        out
    };
    let publish = ["analyze", &input, "--format", "jsonl", "--publish", &url, "--sensor", "t"];
    let good = [("CONNLENS_NATS_CA", ca.as_os_str()), ("CONNLENS_NATS_TOKEN", token.as_ref())];
    let out = run(&good, &[&publish[..], &["--stream", "TLS", "--publish-wait", "20"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(summary(&out.stdout)["publish"]["published"], lines as u64);
    let stream = format!("{url}/TLS");
    let report = run(&good, &["report", &stream, "-f", "json", "-o", "-"]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let r: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(r["headline"]["attempts"], 3);

    let wrong =
        [("CONNLENS_NATS_CA", ca.as_os_str()), ("CONNLENS_NATS_TOKEN", "wrong-one".as_ref())];
    let out = run(&wrong, &[&publish[..], &["--publish-wait", "1"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("refused the credentials").count(), 1, "{err}");

    let missing = dir.join("no-such-ca.pem");
    let no_ca =
        [("CONNLENS_NATS_CA", missing.as_os_str()), ("CONNLENS_NATS_TOKEN", token.as_ref())];
    let out = run(&no_ca, &[&publish[..], &["--publish-wait", "1"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("cannot read the CA (CONNLENS_NATS_CA)").count(), 1, "{err}");

    let creds = dir.join("no-such.creds");
    let out = run(
        &[("CONNLENS_NATS_CA", ca.as_os_str()), ("CONNLENS_NATS_CREDS", creds.as_os_str())],
        &[&publish[..], &["--publish-wait", "1"]].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("cannot read the credentials").count(), 1, "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
