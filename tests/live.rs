//! `connlens live` on a real interface: network namespaces joined by a veth pair, real servers
//! (a listener, a UDP echo, the kernel's own RST and ICMP, iptables REJECT and DROP) and real
//! clients (fixtures/recorded/netprobe.py), with connlens watching the client's veth. Each
//! attempt's verdict and cause must arrive while the run goes on — a refusal at once, an
//! unanswered SYN within --syn-timeout + 1 s of its last SYN with no other traffic — then SIGINT
//! must stop it with exit 0 and a summary carrying the drop counters, and `connlens analyze`
//! on its `-w` file must give the same verdicts (the unanswered one with the cause
//! `capture-ended`: the file ends before its timeout).
//!
//! Network safety: traffic stays inside the namespaces made here (`cl-live-<pid>-*`, veth
//! addresses 10.201.1.0/24 and fd00:201:1::/64, apart from record.sh's 10.200.x.y so both can
//! run at once); they are deleted when the test ends or panics, and namespaces left by a killed
//! run (whose pid is gone) are deleted by the next one.
//!
//! Needs root. Off CI a non-root run skips with a message; on CI (`CI=true`) it fails.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_connlens");

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// Whether the test may run; says why not (and fails on CI) otherwise.
fn need_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "{test} needs root on CI: run CI as root");
    eprintln!("SKIPPED {test}: needs root (network namespaces, capture)");
    false
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client namespace and a server namespace joined by a veth pair; deleted on drop.
struct Net {
    client: String,
    server: String,
    children: Vec<Child>,
}

impl Net {
    fn new(tag: &str) -> Net {
        remove_stale_namespaces();
        let pfx = format!("cl-live-{}-{tag}", std::process::id());
        let net = Net { client: format!("{pfx}-c"), server: format!("{pfx}-s"), children: vec![] };
        for ns in [&net.client, &net.server] {
            run(&["ip", "netns", "add", ns]);
            net.exec(ns, &["ip", "link", "set", "lo", "up"]);
            net.exec(
                ns,
                &[
                    "sysctl",
                    "-qw",
                    "net.ipv4.icmp_ratelimit=0",
                    "net.ipv4.icmp_ratemask=0",
                    "net.ipv6.icmp.ratelimit=0",
                ],
            );
        }
        run(&[
            "ip",
            "link",
            "add",
            "veth-c",
            "netns",
            &net.client,
            "type",
            "veth",
            "peer",
            "name",
            "veth-s",
            "netns",
            &net.server,
        ]);
        for (ns, ifc, n) in [(&net.client, "veth-c", 1), (&net.server, "veth-s", 2)] {
            net.exec(
                ns,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{ifc}.accept_dad=0"),
                    &format!("net.ipv6.conf.{ifc}.accept_ra=0"),
                    &format!("net.ipv6.conf.{ifc}.router_solicitations=0"),
                ],
            );
            net.exec(ns, &["ip", "addr", "add", &format!("10.201.1.{n}/24"), "dev", ifc]);
            net.exec(
                ns,
                &["ip", "-6", "addr", "add", &format!("fd00:201:1::{n}/64"), "dev", ifc, "nodad"],
            );
            net.exec(ns, &["ip", "link", "set", ifc, "up"]);
        }
        net
    }

    fn exec(&self, ns: &str, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", ns];
        all.extend_from_slice(args);
        run(&all);
    }

    fn command(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args);
        c
    }

    /// Starts a long-running process in `ns`; killed on drop.
    fn spawn(&mut self, ns: &str, args: &[&str]) {
        let child = self.command(ns, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        self.children.push(child.unwrap());
    }

    /// Runs a netprobe client in the client namespace and returns what it printed.
    fn probe(&self, args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded/netprobe.py");
        let mut all = vec!["python3", script.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.command(&self.client, &all).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.server] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Deletes `cl-live-<pid>-*` namespaces whose test process no longer exists (a run killed
/// before it could clean up).
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix("cl-live-") else { continue };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// A running `connlens live` whose stdout lines arrive, with their arrival time, on `lines`.
struct Live {
    child: Child,
    lines: mpsc::Receiver<(f64, String)>,
    stderr: mpsc::Receiver<String>,
    seen: Vec<Value>,
    /// Flow lines that arrived while another was awaited.
    early: Vec<(f64, Value)>,
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

impl Live {
    fn start(net: &Net, args: &[&str]) -> Live {
        Live::start_as(net, &[BIN], args)
    }

    /// Starts `connlens live` in the client namespace through `program` (the binary, or a
    /// command that runs it, such as `setpriv … BIN`).
    fn start_as(net: &Net, program: &[&str], args: &[&str]) -> Live {
        let mut all = program.to_vec();
        all.push("live");
        all.extend_from_slice(args);
        let mut child = net
            .command(&net.client, &all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((now_secs(), line)).is_err() {
                    break;
                }
            }
        });
        let (etx, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let first = stderr.recv_timeout(Duration::from_secs(10)).expect("connlens live started");
        assert!(first.starts_with("connlens: listening on veth-c"), "{first}");
        Live { child, lines, stderr, seen: vec![], early: vec![] }
    }

    /// Waits up to `within` for the flow line of the attempt from `client_port`; returns it
    /// with its arrival time.
    fn flow(&mut self, client_port: u16, within: Duration) -> (f64, Value) {
        // A line that came while the test waited for another (an NXDOMAIN is held a while).
        if let Some(i) = self.early.iter().position(|(_, v)| v["client_port"] == client_port) {
            return self.early.remove(i);
        }
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let (at, line) = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no verdict for client port {client_port} in {within:?}; seen: {:?}",
                    self.seen
                )
            });
            let v: Value = serde_json::from_str(&line).unwrap();
            self.seen.push(v.clone());
            if v["type"] == "flow" && v["client_port"] == client_port {
                return (at, v);
            }
            if v["type"] == "flow" {
                self.early.push((at, v));
            }
        }
    }

    /// SIGINT, then waits (up to 5 s) for a clean exit; returns the stdout lines not yet read.
    fn stop(&mut self) -> Vec<Value> {
        run(&["kill", "-INT", &self.child.id().to_string()]);
        let until = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < until, "connlens live did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        };
        let errs: Vec<String> = self.stderr.try_iter().collect();
        assert!(status.success(), "exit status after SIGINT: {status}; stderr: {errs:?}");
        let mut rest = Vec::new();
        while let Ok((_, line)) = self.lines.recv_timeout(Duration::from_secs(2)) {
            rest.push(serde_json::from_str(&line).unwrap());
        }
        rest
    }
}

/// Issue 12: once the capture is open, no thread of `connlens live` keeps a capability
/// (effective, permitted or ambient), whether it was started as root or as a user given
/// CAP_NET_RAW/CAP_NET_ADMIN by `setcap`: hostile packets are parsed with none. Reads
/// `/proc/PID/task/*/status` of every thread (capabilities are per thread on Linux) and returns
/// how many threads it checked.
fn assert_no_capabilities(pid: u32) -> usize {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "connlens", "pid {pid} is not connlens");
    let mut statuses = vec![(format!("{pid}"), format!("/proc/{pid}/status"))];
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap();
        let tid = task.file_name().to_string_lossy().to_string();
        statuses.push((format!("{pid}/task/{tid}"), format!("{}/status", task.path().display())));
    }
    for (what, path) in &statuses {
        let status = std::fs::read_to_string(path).unwrap();
        for set in ["CapEff", "CapPrm", "CapAmb"] {
            let line = status
                .lines()
                .find(|l| l.starts_with(&format!("{set}:")))
                .unwrap_or_else(|| panic!("no {set} in {path}"));
            let value = line.split_whitespace().nth(1).unwrap_or("");
            assert!(
                value.chars().all(|c| c == '0'),
                "/proc/{what}: {line} (capabilities kept while parsing packets)"
            );
        }
    }
    statuses.len() - 1
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `proto client:port -> server:port verdict cause` of each flow line.
fn outcomes<'a>(lines: impl Iterator<Item = &'a Value>) -> BTreeMap<u64, String> {
    lines
        .filter(|v| v["type"] == "flow")
        .map(|v| {
            (
                v["client_port"].as_u64().unwrap(),
                format!(
                    "{} {} -> {}:{} {} {}",
                    v["proto"].as_str().unwrap(),
                    v["client"].as_str().unwrap(),
                    v["server"].as_str().unwrap(),
                    v["server_port"],
                    v["verdict"].as_str().unwrap(),
                    v["cause"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

#[test]
fn live_verdicts_arrive_as_they_are_decided_and_sigint_stops_cleanly() {
    if !need_root("live_verdicts_arrive_as_they_are_decided_and_sigint_stops_cleanly") {
        return;
    }
    let mut net = Net::new("v");
    let s = net.server.clone();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded/netprobe.py");
    let script = script.to_str().unwrap();
    net.spawn(&s, &["python3", script, "tcp-listen", "::", "8080"]);
    net.spawn(&s, &["python3", script, "udp-echo", "::", "7"]);
    // A real DNS server (answers by name) and one that reads queries and never answers.
    net.spawn(&s, &["python3", script, "dns-server", "10.201.1.2", "5300"]);
    net.spawn(&s, &["python3", script, "dns-server", "10.201.1.2", "5301", "--drop"]);
    for (port, action) in [
        ("81", vec!["REJECT", "--reject-with", "tcp-reset"]),
        ("82", vec!["REJECT", "--reject-with", "icmp-port-unreachable"]),
        ("83", vec!["DROP"]),
    ] {
        let mut args = vec!["iptables", "-A", "INPUT", "-p", "tcp", "--dport", port, "-j"];
        args.extend(action);
        net.exec(&s, &args);
    }
    for _ in 0..50 {
        let ss = net.command(&s, &["ss", "-Hltn", "sport = :8080"]).output().unwrap();
        if !ss.stdout.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let dir = std::env::temp_dir().join(format!("connlens-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let evidence: PathBuf = dir.join("evidence.pcap");
    let ev = evidence.to_str().unwrap();
    let mut live = Live::start(
        &net,
        &["-i", "veth-c", "--format", "jsonl", "--syn-timeout", "2", "-w", ev, "tcp or udp"],
    );

    // Decided at once: each verdict within a second of the client's outcome.
    let prompt = Duration::from_secs(1);
    // The established ones first: they show the server's own TTL, which tells its RSTs (the
    // kernel's, and iptables' tcp-reset on the server itself: identical) from a path's.
    let cases: [(&[&str], u16, &str, &str); 10] = [
        // The listener accepts and closes at once, answering nothing to the client's request:
        // turned away after the handshake. (Without a request, the verdict would depend on
        // which side happens to close first.)
        (
            &["tcp-connect", "10.201.1.2", "8080", "--send", "hello"],
            41004,
            "connected",
            "rejected closed-after-request",
        ),
        (
            &["tcp-connect", "fd00:201:1::2", "8080", "--send", "hello"],
            41009,
            "connected",
            "rejected closed-after-request",
        ),
        (&["tcp-connect", "10.201.1.2", "7"], 41001, "ECONNREFUSED", "refused host-reset"),
        (&["tcp-connect", "10.201.1.2", "81"], 41002, "ECONNREFUSED", "refused host-reset"),
        (
            &["tcp-connect", "10.201.1.2", "82"],
            41003,
            "ECONNREFUSED",
            "unreachable port-unreachable",
        ),
        // Nothing answers DNS there: the query's failure is the ICMP port unreachable.
        (&["udp-send", "10.201.1.2", "53"], 41005, "ECONNREFUSED", "unreachable port-unreachable"),
        (&["udp-send", "10.201.1.2", "7"], 41006, "reply", "answered reply-seen"),
        (
            &["dns-query", "10.201.1.2", "5300", "nxdomain.test"],
            41010,
            "NXDOMAIN",
            "dns-failure nxdomain",
        ),
        (
            &["dns-query", "10.201.1.2", "5300", "servfail.test"],
            41011,
            "SERVFAIL",
            "dns-failure servfail",
        ),
        (&["tcp-connect", "fd00:201:1::2", "7"], 41007, "ECONNREFUSED", "refused host-reset"),
    ];
    for (args, sport, said, expected) in cases {
        let sp = sport.to_string();
        let mut all = args.to_vec();
        all.extend(["--sport", &sp, "--timeout", "1.5"]);
        let printed = net.probe(&all);
        assert!(
            printed.to_lowercase().contains(&said.to_lowercase()),
            "client {args:?}: {printed}"
        );
        // An NXDOMAIN (or SERVFAIL, REFUSED) is held while a later query of the same lookup
        // may explain it (a resolver's search list): it comes within that window.
        let held = matches!(said, "NXDOMAIN" | "SERVFAIL" | "REFUSED");
        let within = if held { prompt + Duration::from_secs(6) } else { prompt };
        let (_, v) = live.flow(sport, within);
        let got = format!("{} {}", v["verdict"].as_str().unwrap(), v["cause"].as_str().unwrap());
        // The listener's close races the client's request: its kernel answers the request with
        // FIN or RST depending on which came first. Both are the same rejection.
        let got = got.replace("rejected reset-after-request", "rejected closed-after-request");
        assert_eq!(got, expected, "attempt {args:?}: {v}");
    }

    // A DNS server that reads queries and never answers: the query fails by timeout, on the
    // wall clock (the dropped SYNs below come after it, so the evidence file shows it too).
    let printed = net.probe(&[
        "dns-query",
        "10.201.1.2",
        "5301",
        "lost.test",
        "--sport",
        "41012",
        "--timeout",
        "1",
    ]);
    assert!(printed.contains("timeout"), "{printed}");
    let (_, v) = live.flow(41012, Duration::from_secs(4));
    let got = format!("{} {}", v["verdict"].as_str().unwrap(), v["cause"].as_str().unwrap());
    assert_eq!(got, "dns-failure no-response", "{v}");
    assert_eq!(v["evidence"]["dns_query"], "lost.test", "{v}");

    // Dropped: SYNs at 0 s and 1 s, then silence; the verdict must come within its wait + 1 s
    // of the last SYN, on the wall clock alone.
    let printed =
        net.probe(&["tcp-connect", "10.201.1.2", "83", "--sport", "41008", "--timeout", "1.5"]);
    assert!(printed.contains("timeout"), "{printed}");
    let (at, v) = live.flow(41008, Duration::from_secs(4));
    assert_eq!(v["verdict"], "unanswered", "{v}");
    // The server answered other ports in this run: its silence on this one is a filter.
    assert_eq!(v["cause"], "filtered", "{v}");
    let syn_times = v["evidence"]["syn_times"].as_array().unwrap();
    let last_syn = v["ts"].as_f64().unwrap() + syn_times.last().unwrap().as_f64().unwrap();
    assert!(syn_times.len() >= 2, "{v}");
    // The wait follows the client's own retransmissions: twice the last gap between its SYNs
    // plus 1 s, at least --syn-timeout (README, "Waiting").
    let n = syn_times.len();
    let gap = syn_times[n - 1].as_f64().unwrap() - syn_times[n - 2].as_f64().unwrap();
    let wait = (2.0 * gap + 1.0).max(2.0);
    assert!((v["evidence"]["timeout"].as_f64().unwrap() - wait).abs() < 0.01, "{v}");
    let late = at - last_syn;
    assert!(
        late <= wait + 1.0,
        "unanswered verdict came {late:.3} s after the last SYN (wait {wait:.3} s)"
    );
    assert!(
        late >= wait,
        "unanswered verdict came {late:.3} s after the last SYN, before its wait"
    );

    // Every verdict above was decided by threads that hold no capability (issue 12).
    assert!(assert_no_capabilities(live.child.id()) >= 2, "the capture thread was not seen");

    // SIGINT: exit 0, then the summary with the capture counters.
    run(&["kill", "-INT", &live.child.id().to_string()]);
    let until = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(st) = live.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < until, "connlens live did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status after SIGINT: {status}");
    let mut summary = None;
    while let Ok((_, line)) = live.lines.recv_timeout(Duration::from_secs(2)) {
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["type"] == "summary" {
            summary = Some(v);
        } else {
            live.seen.push(v);
        }
    }
    let summary = summary.expect("a summary line after SIGINT");
    assert_eq!(summary["attempts"], 12, "{summary}");
    let cap = &summary["capture"];
    assert_eq!(cap["interface"], "veth-c", "{summary}");
    assert!(cap["received"].as_u64().unwrap() >= summary["packets"]["read"].as_u64().unwrap());
    assert_eq!(cap["dropped_by_kernel"], 0, "{summary}");
    assert_eq!(cap["dropped_by_interface"], 0, "{summary}");
    assert_eq!(cap["dropped_by_connlens"], 0, "{summary}");
    let errs: Vec<String> = live.stderr.try_iter().collect();
    assert!(errs.is_empty(), "stderr: {errs:?}");

    let live_outcomes = outcomes(live.seen.iter());
    assert_eq!(live_outcomes.len(), 12, "{live_outcomes:?}");

    // The evidence file gives the same verdicts offline.
    let offline = Command::new(BIN)
        .args(["analyze", "--format", "jsonl", "--no-summary", "--syn-timeout", "2", ev])
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", String::from_utf8_lossy(&offline.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&offline.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Same verdicts and causes, but for the dropped attempt: a pcap cannot say that the watch
    // went on past its last packet, so offline its timeout never passed (README, Live).
    let mut expected = live_outcomes.clone();
    let dropped = expected.get_mut(&41008).unwrap();
    *dropped = dropped.replace("unanswered filtered", "unanswered capture-ended");
    assert_eq!(outcomes(lines.iter()), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn live_errors_are_one_clear_line() {
    // No root needed to be told that an interface does not exist.
    let out = Command::new(BIN).args(["live", "-i", "no-such-if0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("connlens: error: no-such-if0: no such interface; there are: ")
            && err.contains("lo"),
        "{err}"
    );

    if !need_root("live_errors_are_one_clear_line (root part)") {
        return;
    }
    let one_line = |args: &[&str], setpriv: bool| -> String {
        let mut c = if setpriv {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", BIN]);
            c
        } else {
            Command::new(BIN)
        };
        let out = c.arg("live").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    assert_eq!(
        one_line(&["-i", "lo", "tcp", "port"], false),
        "connlens: error: the filter `tcp port` does not compile: can't parse filter expression: \
         syntax error\n"
    );
    let err = one_line(&["-i", "lo"], true);
    assert!(
        err.starts_with("connlens: error: lo: not permitted to capture (")
            && err.contains("run as root, or give the binary the capabilities once with `setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
    let net = Net::new("e");
    net.exec(&net.client, &["ip", "link", "set", "veth-c", "down"]);
    let out = net.command(&net.client, &[BIN, "live", "-i", "veth-c"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "connlens: error: veth-c: the interface is down: bring it up with `ip link set veth-c up`, \
         or pick another with -i\n"
    );
}

/// Issue 7: live capture needs only CAP_NET_RAW and CAP_NET_ADMIN, not root. A copy of the
/// binary with just those file capabilities (`setcap`, as the README says) captures as the
/// unprivileged user `nobody`.
#[test]
fn captures_without_root_given_only_the_capture_capabilities() {
    if !need_root("captures_without_root_given_only_the_capture_capabilities") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("connlens-caps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.join("connlens");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    run(&["setcap", "cap_net_raw,cap_net_admin=eip", bin.to_str().unwrap()]);
    // In a namespace of its own, watching a refused attempt: while it parses packets, the
    // capture capabilities the file gave it are gone from every thread (issue 12).
    let net = Net::new("n");
    let setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    let mut program = setpriv.to_vec();
    program.push(bin.to_str().unwrap());
    let mut live = Live::start_as(&net, &program, &["-i", "veth-c", "--format", "jsonl"]);
    let printed = net.probe(&["tcp-connect", "10.201.1.2", "7", "--sport", "41101"]);
    assert!(printed.contains("ECONNREFUSED"), "{printed}");
    let (_, v) = live.flow(41101, Duration::from_secs(2));
    assert_eq!(v["verdict"], "refused", "{v}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", live.child.id())).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap().to_string();
    assert!(uids.split_whitespace().skip(1).all(|u| u == "65534"), "{uids}");
    assert!(assert_no_capabilities(live.child.id()) >= 2, "the capture thread was not seen");
    let rest = live.stop();
    let summary = rest.last().expect("a summary line");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["capture"]["interface"], "veth-c");
    drop(net);
    // Without the capabilities, the same user is refused with the fix in one line.
    run(&["setcap", "-r", bin.to_str().unwrap()]);
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["live", "-i", "lo", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("setcap"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Started as root, `live` runs as `nobody` once the capture is open (as tcpdump -Z does), so
/// nothing that parses hostile packets runs as root; `--user root` keeps root. Either way no
/// thread keeps a capability while it parses packets (issue 12).
#[test]
fn started_as_root_it_drops_to_nobody_once_the_capture_is_open() {
    if !need_root("started_as_root_it_drops_to_nobody_once_the_capture_is_open") {
        return;
    }
    let net = Net::new("r");
    for (extra, uid, sport) in [(None, "65534", 41201u16), (Some("root"), "0", 41202)] {
        let mut args = vec!["-i", "veth-c", "--format", "jsonl"];
        if let Some(u) = extra {
            args.extend(["--user", u]);
        }
        // Start waits for "listening on": the drop happens just before it is printed.
        let mut live = Live::start(&net, &args);
        let sp = sport.to_string();
        let printed = net.probe(&["tcp-connect", "10.201.1.2", "7", "--sport", &sp]);
        assert!(printed.contains("ECONNREFUSED"), "{printed}");
        let (_, v) = live.flow(sport, Duration::from_secs(2));
        assert_eq!(v["verdict"], "refused", "{v}");
        let status = std::fs::read_to_string(format!("/proc/{}/status", live.child.id())).unwrap();
        let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap().to_string();
        assert!(uids.split_whitespace().skip(1).all(|u| u == uid), "{uids}");
        assert!(assert_no_capabilities(live.child.id()) >= 2, "the capture thread was not seen");
        let rest = live.stop();
        assert_eq!(rest.last().map(|v| v["type"].clone()), Some("summary".into()), "{rest:?}");
    }
}

/// Issue 15, part 5: the user's filter names inner ports, the conversations travel in a real
/// kernel VXLAN tunnel over the veth pair (capture on the underlay): the kernel filter lets
/// the tunnel's datagrams through, connlens applies the expression to the inner packet. The
/// inner conversation to port 8080 is reported with its tunnel; the inner one to port 9 is
/// not (the filter leaves it out); a plain one to port 8080 on the underlay still is.
#[test]
fn live_filter_reaches_inside_a_kernel_vxlan() {
    if !need_root("live_filter_reaches_inside_a_kernel_vxlan") {
        return;
    }
    let mut net = Net::new("vx");
    for (ns, local, remote, inner) in [
        (net.client.clone(), "10.201.1.1", "10.201.1.2", "10.202.1.1/24"),
        (net.server.clone(), "10.201.1.2", "10.201.1.1", "10.202.1.2/24"),
    ] {
        let dev = if ns == net.client { "veth-c" } else { "veth-s" };
        net.exec(
            &ns,
            &[
                "ip", "link", "add", "vx42", "type", "vxlan", "id", "42", "local", local, "remote",
                remote, "dstport", "4789", "dev", dev,
            ],
        );
        net.exec(&ns, &["ip", "addr", "add", inner, "dev", "vx42"]);
        net.exec(&ns, &["ip", "link", "set", "vx42", "up"]);
    }
    let s = net.server.clone();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded/netprobe.py");
    let script = script.to_str().unwrap();
    net.spawn(&s, &["python3", script, "tcp-listen", "10.202.1.2", "8080"]);
    for _ in 0..50 {
        let ss = net.command(&s, &["ss", "-Hltn", "sport = :8080"]).output().unwrap();
        if !ss.stdout.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut live = Live::start(
        &net,
        &["-i", "veth-c", "--format", "jsonl", "--syn-timeout", "2", "tcp port 8080"],
    );
    let cases: [(&[&str], u16, &str); 3] = [
        (&["tcp-connect", "10.202.1.2", "8080", "--send", "hello"], 45001, "connected"),
        (&["tcp-connect", "10.202.1.2", "9"], 45002, "ECONNREFUSED"),
        (&["tcp-connect", "10.201.1.2", "8080"], 45003, "ECONNREFUSED"),
    ];
    for (args, sport, said) in cases {
        let sp = sport.to_string();
        let mut all = args.to_vec();
        all.extend(["--sport", &sp, "--timeout", "1.5"]);
        let printed = net.probe(&all);
        assert!(printed.contains(said), "{all:?}: the client says {printed:?}, not {said}");
    }
    let (_, inner) = live.flow(45001, Duration::from_secs(10));
    let (_, plain) = live.flow(45003, Duration::from_secs(10));
    let mut rest = live.stop();
    rest.extend(live.early.iter().map(|(_, v)| v.clone()));
    rest.extend(live.seen.iter().cloned());
    assert_eq!(inner["server"], "10.202.1.2");
    assert_eq!(inner["verdict"], "rejected", "{inner}");
    assert_eq!(
        inner["tunnel"],
        serde_json::json!({"type": "vxlan", "vni": 42, "outer": ["10.201.1.1", "10.201.1.2"]}),
        "{inner}"
    );
    // Refused by the host outside the tunnel. (`host-reset` when a packet of 10.201.1.2's
    // own came before to compare the RST's TTL with, else `reset`: that depends on timing.)
    assert_eq!(plain["verdict"], "refused", "{plain}");
    assert!(["reset", "host-reset"].contains(&plain["cause"].as_str().unwrap()), "{plain}");
    assert!(plain.get("tunnel").is_none_or(Value::is_null), "{plain}");
    let flows: Vec<&Value> = rest.iter().filter(|v| v["type"] == "flow").collect();
    assert!(
        flows.iter().all(|v| v["client_port"] != 45002 && v["server_port"] != 4789),
        "the filter let through what it names not: {flows:?}"
    );
}
