//! The `connlens` binary end to end: formats, exit codes, and every kind of bad input a user
//! will hand it. Captures are written here with the project's own writer and frame builders.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use connlens::capture::{LinkType, PcapWriter, TsResolution};
use connlens::decode::TcpFlags;
use connlens::synth::frame::{self, Ip, Link, Tcp};
use connlens::time::Timestamp;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_connlens"))
}

/// A scratch folder unique to the test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("connlens-cli-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Three attempts: refused (packets 1-2), established, then closed by the server without a
/// byte after the client's banner — rejected (3-9), unanswered (10).
/// Returns the capture and the byte offset where each record starts.
fn capture() -> (Vec<u8>, Vec<u64>) {
    let c = [192, 0, 2, 1];
    let s = [198, 51, 100, 7];
    let out = Ip::new(c, s);
    let back = Ip::new(s, c).ttl(61);
    let t0 = 1_790_000_000;
    let frames = vec![
        frame::tcp(&out, &Tcp::new(40001, 80).seq(100).flags(TcpFlags::SYN), b""),
        frame::tcp(&back, &Tcp::new(80, 40001).ack(101).flags(TcpFlags::RST | TcpFlags::ACK), b""),
        frame::tcp(&out, &Tcp::new(40002, 22).seq(500).flags(TcpFlags::SYN), b""),
        frame::tcp(
            &back,
            &Tcp::new(22, 40002).seq(900).ack(501).flags(TcpFlags::SYN | TcpFlags::ACK),
            b"",
        ),
        frame::tcp(&out, &Tcp::new(40002, 22).seq(501).ack(901).flags(TcpFlags::ACK), b""),
        frame::tcp(
            &out,
            &Tcp::new(40002, 22).seq(501).ack(901).flags(TcpFlags::ACK | TcpFlags::PSH),
            b"SSH-2.0-x\r\n",
        ),
        frame::tcp(
            &out,
            &Tcp::new(40002, 22).seq(512).ack(901).flags(TcpFlags::FIN | TcpFlags::ACK),
            b"",
        ),
        frame::tcp(
            &back,
            &Tcp::new(22, 40002).seq(901).ack(513).flags(TcpFlags::FIN | TcpFlags::ACK),
            b"",
        ),
        frame::tcp(&out, &Tcp::new(40002, 22).seq(513).ack(902).flags(TcpFlags::ACK), b""),
        frame::tcp(&out, &Tcp::new(40003, 443).seq(7).flags(TcpFlags::SYN), b""),
    ];
    let mut w =
        PcapWriter::new(Vec::new(), LinkType::ETHERNET, 65535, TsResolution::Micro, false).unwrap();
    let mut offsets = Vec::new();
    for (i, ip) in frames.iter().enumerate() {
        offsets.push(w.get_ref().len() as u64);
        let f = frame::frame(Link::Ethernet, ip);
        w.write_frame(Timestamp::from_secs_nanos(t0, i as u32 * 10_000_000), &f, f.len() as u32)
            .unwrap();
    }
    (w.into_inner(), offsets)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (verdict, cause) of each flow line.
fn verdicts(jsonl: &str) -> Vec<(String, String)> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "flow")
        .map(|v| {
            (v["verdict"].as_str().unwrap().to_string(), v["cause"].as_str().unwrap().to_string())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn write(path: &Path, bytes: &[u8]) {
    fs::File::create(path).unwrap().write_all(bytes).unwrap();
}

#[test]
fn jsonl_gives_every_attempt_its_verdict_and_a_summary() {
    let dir = Scratch::new("jsonl");
    let (cap, _) = capture();
    write(&dir.path("a.pcap"), &cap);
    let o = run(&["analyze", "--format", "jsonl", dir.path("a.pcap").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        verdicts(&out),
        // (The refusal is held for the 1 s look-ahead, so the close at 80 ms comes first.)
        pairs(&[
            ("rejected", "closed-after-request"),
            ("refused", "reset"),
            ("unanswered", "capture-ended")
        ])
    );
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["attempts"], 3);
    assert_eq!(last["packets"]["read"], 10);
    // The refusal: the second line (see above).
    let first: serde_json::Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
    for field in [
        "type",
        "ts",
        "proto",
        "client",
        "client_port",
        "server",
        "server_port",
        "verdict",
        "cause",
        "evidence",
        "hint",
    ] {
        assert!(first.get(field).is_some(), "flow line lacks {field}: {first}");
    }
    assert_eq!(first["ts"].to_string(), "1790000000.0");
    assert!(out.lines().nth(1).unwrap().contains("\"ts\":1790000000.000000,"));
    assert_eq!(first["client"], "192.0.2.1");
    assert_eq!(first["server_port"], 80);
    assert_eq!(first["evidence"]["rst_packet"], 2);
}

#[test]
fn output_is_deterministic_and_stdin_reads_the_same() {
    let dir = Scratch::new("stdin");
    let (cap, _) = capture();
    write(&dir.path("a.pcap"), &cap);
    let a = run(&["analyze", "-f", "jsonl", "--no-summary", dir.path("a.pcap").to_str().unwrap()]);
    let b = run(&["analyze", "-f", "jsonl", "--no-summary", dir.path("a.pcap").to_str().unwrap()]);
    assert_eq!(a.stdout, b.stdout);
    let mut child = bin()
        .args(["analyze", "-f", "jsonl", "--no-summary", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&cap).unwrap();
    let c = child.wait_with_output().unwrap();
    assert!(c.status.success());
    assert_eq!(verdicts(&stdout(&a)), verdicts(&stdout(&c)));
    assert!(stdout(&c).contains("\"capture\":\"<stdin>\""));
}

#[test]
fn csv_and_table_formats() {
    let dir = Scratch::new("formats");
    let (cap, _) = capture();
    write(&dir.path("a.pcap"), &cap);
    let o = run(&["analyze", "-f", "csv", "--no-summary", dir.path("a.pcap").to_str().unwrap()]);
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ts,proto,client,client_port,server,server_port,verdict,cause,hint,conn_state,capture,first_packet,vlan,evidence,tunnel"
    );
    // (The refusal, held for the look-ahead, comes after the close decided meanwhile.)
    lines.next();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("1790000000.000000,tcp,192.0.2.1,40001,198.51.100.7,80,refused,reset,")
    );
    assert_eq!(out.lines().count(), 4);

    let o = run(&["analyze", "-f", "table", dir.path("a.pcap").to_str().unwrap()]);
    let out = stdout(&o);
    assert!(out.starts_with("TIME (UTC)"));
    let all = stdout(&run(&["analyze", "-a", dir.path("a.pcap").to_str().unwrap()]));
    assert!(all.contains("unanswered    capture-ended") && !all.contains("not shown"), "{all}");
    let never = run(&["analyze", "--color", "always", dir.path("a.pcap").to_str().unwrap()]);
    assert!(stdout(&never).contains("\x1b[1;31mrefused"), "{}", stdout(&never));
    assert!(out.contains("-- 2026-09-21 (UTC) --\n14:13:20.000  tcp   192.0.2.1:40001"), "{out}");
    assert!(out.contains("1 other attempt not shown (1 undecided; -a shows them)"), "{out}");
    assert!(out.contains("refused"));
    assert!(out.contains("hint:"));
    assert!(
        out.contains(
            "summary: 3 attempts, 2 failed, 1 undecided; 10 packets read, 10 decoded, 0 skipped"
        ),
        "{out}"
    );
}

#[test]
fn a_folder_is_read_in_time_order_as_one_stream() {
    let dir = Scratch::new("folder");
    let (cap, offsets) = capture();
    // Split the capture in two rotated files; the established conversation spans both.
    let cut = offsets[5] as usize;
    let mut second = cap[..24].to_vec();
    second.extend_from_slice(&cap[cut..]);
    write(&dir.path("rot-1.pcap"), &cap[..cut]);
    write(&dir.path("rot-2.pcap"), &second);
    write(&dir.path("notes.txt"), b"not a capture");
    let o = run(&["analyze", "-f", "jsonl", "--no-summary", dir.0.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        verdicts(&stdout(&o)),
        // (The refusal is held for the 1 s look-ahead, so the close at 80 ms comes first.)
        pairs(&[
            ("rejected", "closed-after-request"),
            ("refused", "reset"),
            ("unanswered", "capture-ended")
        ])
    );
}

fn assert_one_error(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(1), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one error line expected: {err}");
    assert!(err.starts_with("connlens: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn missing_file() {
    let o = run(&["analyze", "/nonexistent/dump.pcap"]);
    assert_one_error(&o, "/nonexistent/dump.pcap: No such file or directory");
}

#[test]
fn folder_without_captures() {
    let dir = Scratch::new("nocap");
    write(&dir.path("readme.txt"), b"hello");
    let o = run(&["analyze", dir.0.to_str().unwrap()]);
    assert_one_error(&o, "folder holds no pcap or pcapng files");
}

#[test]
fn empty_file() {
    let dir = Scratch::new("empty");
    write(&dir.path("e.pcap"), b"");
    let o = run(&["analyze", "-f", "jsonl", dir.path("e.pcap").to_str().unwrap()]);
    assert_one_error(&o, "e.pcap: ");
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
}

#[test]
fn not_a_capture() {
    let dir = Scratch::new("garbage");
    write(&dir.path("g.pcap"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let o = run(&["analyze", "-f", "jsonl", dir.path("g.pcap").to_str().unwrap()]);
    assert_one_error(&o, "g.pcap: ");
    assert!(stderr(&o).contains("at byte 0"), "{}", stderr(&o));
}

#[test]
fn file_cut_inside_a_record_keeps_every_verdict_before_the_cut() {
    let dir = Scratch::new("cut");
    let (cap, offsets) = capture();
    // Cut in the middle of record 9 (the client's last ACK): everything before it is intact.
    let cut = offsets[8] as usize + 30;
    write(&dir.path("cut.pcap"), &cap[..cut]);
    let o =
        run(&["analyze", "-f", "jsonl", "--no-summary", dir.path("cut.pcap").to_str().unwrap()]);
    assert_one_error(&o, &format!("cut.pcap: at byte {}", offsets[8]));
    assert_eq!(
        verdicts(&stdout(&o)),
        pairs(&[("rejected", "closed-after-request"), ("refused", "reset")])
    );
}

#[test]
fn absurd_record_length() {
    let dir = Scratch::new("absurd");
    let (mut cap, offsets) = capture();
    let at = offsets[2] as usize + 8; // caplen of record 3
    cap[at..at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    write(&dir.path("absurd.pcap"), &cap);
    let o =
        run(&["analyze", "-f", "jsonl", "--no-summary", dir.path("absurd.pcap").to_str().unwrap()]);
    assert_one_error(&o, &format!("absurd.pcap: at byte {}", offsets[2]));
    assert_eq!(verdicts(&stdout(&o)), pairs(&[("refused", "reset")]));
}

#[test]
fn unreadable_file() {
    let dir = Scratch::new("perm");
    let (cap, _) = capture();
    let p = dir.path("secret.pcap");
    write(&p, &cap);
    let mut cmd = bin();
    if is_root() {
        // Root reads anything: drop to nobody for this run (util-linux setpriv).
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).unwrap();
        cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_connlens"),
        ]);
    }
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    }
    let o = cmd.args(["analyze", p.to_str().unwrap()]).output().unwrap();
    assert_one_error(&o, "secret.pcap: Permission denied");
}

fn is_root() -> bool {
    let mut s = String::new();
    fs::File::open("/proc/self/status").unwrap().read_to_string(&mut s).unwrap();
    s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

#[test]
fn one_bad_input_among_good_ones_loses_nothing() {
    let dir = Scratch::new("mixed");
    let (cap, _) = capture();
    write(&dir.path("good.pcap"), &cap);
    write(&dir.path("bad.pcap"), b"\xd4\xc3\xb2\xa1 truncated header");
    let o = run(&[
        "analyze",
        "-f",
        "jsonl",
        dir.path("good.pcap").to_str().unwrap(),
        dir.path("bad.pcap").to_str().unwrap(),
        "/nonexistent.pcap",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(verdicts(&stdout(&o)).len(), 3);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("bad.pcap: at byte 0"), "{err}");
    assert!(err.contains("/nonexistent.pcap: No such file or directory"), "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["errors"].as_array().unwrap().len(), 1, "{summary}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = Scratch::new("pipe");
    // Many attempts, so that output outlives the reader.
    let mut w =
        PcapWriter::new(Vec::new(), LinkType::ETHERNET, 65535, TsResolution::Micro, false).unwrap();
    for i in 0..20_000u32 {
        let ip = Ip::new([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], [198, 51, 100, 7]);
        let f = frame::frame(
            Link::Ethernet,
            &frame::tcp(&ip, &Tcp::new(40000, 80).seq(i).flags(TcpFlags::SYN), b""),
        );
        w.write_frame(Timestamp::from_secs_nanos(1_790_000_000 + i as i64, 0), &f, f.len() as u32)
            .unwrap();
    }
    write(&dir.path("many.pcap"), &w.into_inner());
    let mut child = bin()
        .args(["analyze", "-f", "jsonl", dir.path("many.pcap").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["analyze"]).status.code(), Some(2));
    assert_eq!(run(&["analyze", "--format", "xml", "x"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn skipped_frames_still_move_the_clock() {
    // A SYN, then 10 s later only an ICMP timestamp request (not a connection packet, nor a
    // ping): the SYN's timeout
    // passed inside the capture, so it is unanswered by timeout, not "capture ended".
    let dir = Scratch::new("clock");
    let syn = frame::tcp(
        &Ip::new([192, 0, 2, 1], [198, 51, 100, 7]),
        &Tcp::new(40000, 80).seq(1).flags(TcpFlags::SYN),
        b"",
    );
    let echo = frame::ip_packet(
        &Ip::new([192, 0, 2, 1], [203, 0, 113, 1]),
        1,
        &[13, 0, 0xf2, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    let mut w =
        PcapWriter::new(Vec::new(), LinkType::ETHERNET, 65535, TsResolution::Micro, false).unwrap();
    for (t, ip) in [(0, &syn), (10, &echo)] {
        let f = frame::frame(Link::Ethernet, ip);
        w.write_frame(Timestamp::from_secs_nanos(1_790_000_000 + t, 0), &f, f.len() as u32)
            .unwrap();
    }
    write(&dir.path("c.pcap"), &w.into_inner());
    let o = run(&["analyze", "-f", "jsonl", "--no-summary", dir.path("c.pcap").to_str().unwrap()]);
    assert_eq!(verdicts(&stdout(&o)), pairs(&[("unanswered", "no-response")]));
}

#[test]
fn timings_name_each_thread_on_stderr_and_change_nothing_else() {
    let capture = "fixtures/generated/established/input.pcap";
    let plain = run(&["analyze", "--format", "jsonl", "--threads", "2", capture]);
    let timed = run(&["analyze", "--format", "jsonl", "--threads", "2", "--timings", capture]);
    assert!(plain.status.success() && timed.status.success(), "{}", stderr(&timed));
    assert_eq!(stdout(&plain), stdout(&timed));
    assert_eq!(stderr(&plain), "");
    let line = stderr(&timed);
    let line = line.trim_end();
    assert_eq!(line.lines().count(), 1, "{line}");
    let rest = line.strip_prefix("connlens: timings: ").unwrap_or_else(|| panic!("{line}"));
    let (threads, totals) = rest.split_once("; ").unwrap_or_else(|| panic!("{line}"));
    let names: Vec<&str> = threads.split(", ").map(|t| t.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["capture", "tracker-0", "tracker-1", "output"], "{line}");
    for t in threads.split(", ") {
        let secs: f64 = t.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(t.ends_with(" s") && secs >= 0.0, "{line}");
    }
    assert!(totals.starts_with("CPU ") && totals.ends_with(" s wall"), "{line}");
}

/// A capture of `frames` (whole link-layer frames of `link`), one a second from `t0`.
fn raw_capture(link: LinkType, frames: &[Vec<u8>], t0: i64) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), link, 65535, TsResolution::Micro, false).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_frame(Timestamp::from_secs_nanos(t0 + i as i64, 500_000_000), f, f.len() as u32)
            .unwrap();
    }
    w.into_inner()
}

/// Item 7 of issue 16: the top-level help names every verdict word, from the list itself.
#[test]
fn top_level_help_names_every_verdict() {
    let o = run(&["--help"]);
    let out = stdout(&o);
    for k in connlens::verdict::VerdictKind::ALL {
        assert!(out.contains(k.as_str()), "`{}` missing from:\n{out}", k.as_str());
    }
}

/// A capture whose packets give no attempt (ARP only) still has its capture span (the times
/// of its packets, never 0), and a warning says it held nothing connlens analyzes.
#[test]
fn packets_without_attempts_keep_their_span_and_are_warned_about() {
    let dir = Scratch::new("arp");
    let arp = [&[0xffu8; 6][..], &[2, 0, 0, 0, 0, 1], &[8, 6], &[0; 28]].concat();
    write(
        &dir.path("arp.pcap"),
        &raw_capture(LinkType::ETHERNET, &[arp.clone(), arp], 1_790_000_000),
    );
    let o = run(&["analyze", "--format", "jsonl", dir.path("arp.pcap").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(summary["attempts"], 0);
    assert_eq!(summary["capture_span"]["first"], 1_790_000_000.5);
    assert_eq!(summary["capture_span"]["last"], 1_790_000_001.5);
    assert!(stderr(&o).contains("warning: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("link-type EN10MB (Ethernet)"), "{}", stderr(&o));
}

/// Item 5: an input of a link type connlens does not decode is named as tcpdump names it, on
/// stderr, in the summary (text and JSON) and in the report's inputs; the exit status stays 0.
#[test]
fn an_undecodable_input_is_warned_about_with_its_link_type() {
    // DLT 147 (USER0): a link type for private use; tcpdump 4.99 says `link-type 147`.
    let dir = Scratch::new("user0");
    let frame = [0x45u8; 40].to_vec();
    write(
        &dir.path("user0.pcap"),
        &raw_capture(LinkType(147), &[frame.clone(), frame.clone(), frame], 1_790_000_000),
    );
    let p = dir.path("user0.pcap");
    let p = p.to_str().unwrap();
    let o = run(&["analyze", p]);
    assert_eq!(o.status.code(), Some(0));
    let want = "link-type 147 is not one connlens reads: its 3 packets were skipped";
    assert_eq!(stderr(&o), format!("connlens: warning: {p}: {want}\n"));
    assert!(stdout(&o).contains(&format!("  warning: {p}: {want}")), "{}", stdout(&o));
    let o = run(&["analyze", "--format", "jsonl", p]);
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(summary["warnings"][0], format!("{p}: {want}"));
    let o = run(&["report", "--format", "md", "-o", "-", p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(want), "{}", stdout(&o));
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
}

/// Item 3: without --format the output is the human table in a pipe too, with no colour
/// and no progress bar; JSON lines only when asked for.
#[test]
fn a_pipe_gets_the_table_without_colour() {
    let dir = Scratch::new("pipe-table");
    let (cap, _) = capture();
    write(&dir.path("a.pcap"), &cap);
    let o = run(&["analyze", dir.path("a.pcap").to_str().unwrap()]);
    let out = stdout(&o);
    assert!(out.contains("refused"), "{out}");
    assert!(!out.contains('{') && !out.contains('\x1b'), "{out}");
    assert_eq!(stderr(&o), "");
}

/// Item 2: --failed, --verdict, --server HOST:PORT and a read filter choose the attempts
/// shown and counted; the summary says what was left out.
#[test]
fn filters_choose_the_attempts_shown() {
    let dir = Scratch::new("filters");
    let (cap, _) = capture();
    write(&dir.path("a.pcap"), &cap);
    let p = dir.path("a.pcap");
    let p = p.to_str().unwrap();
    let jsonl = |args: &[&str]| {
        let mut all = vec!["analyze", "--format", "jsonl"];
        all.extend_from_slice(args);
        all.push(p);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        (verdicts(&out), summary)
    };
    let (v, s) = jsonl(&["--failed"]);
    // (The refusal is written after the 1 s look-ahead, so after the rejection.)
    assert_eq!(v, pairs(&[("rejected", "closed-after-request"), ("refused", "reset")]));
    assert_eq!(s["attempts"], 2);
    assert_eq!(s["filters"]["attempts_not_shown"], 1);
    let (v, _) = jsonl(&["--verdict", "unanswered,refused"]);
    assert_eq!(v, pairs(&[("refused", "reset"), ("unanswered", "capture-ended")]));
    let (v, _) = jsonl(&["--server", "198.51.100.7:22"]);
    assert_eq!(v, pairs(&[("rejected", "closed-after-request")]));
    let (v, _) = jsonl(&["--client", "192.0.2.1", "--port", "443"]);
    assert_eq!(v, pairs(&[("unanswered", "capture-ended")]));
    let (v, s) = jsonl(&["--filter", "tcp port 80"]);
    assert_eq!(v, pairs(&[("refused", "reset")]));
    assert_eq!(s["read_filter"]["packets_left_out"], 8);
    // A filter that does not compile is a usage error, said against what was typed; filter
    // words among the inputs are told how to be given.
    let o = run(&["analyze", "--filter", "tcp port", p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the filter `tcp port` does not compile"), "{}", stderr(&o));
    let o = run(&["analyze", p, "port", "80"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--filter 'port 80'"), "{}", stderr(&o));
    // The report takes the same filters.
    let o =
        run(&["report", "--format", "json", "-o", "-", "--failed", "--filter", "tcp port 22", p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["headline"]["attempts"], 1);
    assert_eq!(r["failed"][0]["verdict"], "rejected");
}

/// Item 6: a folder is read with its subfolders (`analyze fixtures/recorded/`).
#[test]
fn folders_are_read_recursively() {
    let dir = Scratch::new("recursive");
    let (cap, _) = capture();
    fs::create_dir_all(dir.path("site/a/b")).unwrap();
    write(&dir.path("site/a/b/deep.pcap"), &cap);
    write(&dir.path("site/notes.txt"), b"not a capture");
    let o = run(&["analyze", "-f", "jsonl", "--no-summary", dir.path("site").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verdicts(&stdout(&o)).len(), 3);
    let line: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert!(line["capture"].as_str().unwrap().ends_with("site/a/b/deep.pcap"), "{line}");
}

/// Item 4: a report written to a file says so on stderr, naming it; counts are in words with
/// their plurals right (`1 capture`), and inputs carry their packets.
#[test]
fn a_written_report_is_named_on_stderr() {
    let dir = Scratch::new("wrote");
    let (cap, _) = capture();
    write(&dir.path("a.pcap"), &cap);
    let out = dir.path("r.md");
    let o = run(&["report", dir.path("a.pcap").to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("connlens: wrote {} (Markdown report, 3 attempts, 2 failures)\n", out.display())
    );
    let md = fs::read_to_string(&out).unwrap();
    assert!(md.contains("- **Inputs**: 1 capture, 0 logs"), "{md}");
    assert!(md.contains("| capture | read: 10 packets, all decoded |"), "{md}");
    assert!(md.contains("`ss -ltn`") && !md.contains("\\`"), "commands are code spans: {md}");
}

/// Issue 15, item 5: a read filter that names inner ports or addresses keeps what tunnels
/// carry that matches it — BPF sees only the outer headers, so connlens runs the expression on
/// the packet inside — and nothing else of the tunnel (`live` shares the code).
#[test]
fn a_read_filter_reaches_inside_tunnels() {
    let fixture =
        |name: &str| format!("{}/fixtures/generated/{name}/input.pcap", env!("CARGO_MANIFEST_DIR"));
    let flows = |filter: &str, name: &str| {
        let o = run(&["analyze", "--format", "jsonl", "--filter", filter, &fixture(name)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "flow")
            .map(|v| {
                let tunnel = v["tunnel"]["type"].as_str().unwrap_or("").to_string();
                (
                    v["server_port"].as_u64().unwrap(),
                    v["cause"].as_str().unwrap().to_string(),
                    tunnel,
                )
            })
            .collect::<Vec<_>>()
    };
    let f = |list: &[(u64, &str, &str)]| {
        list.iter().map(|&(p, c, t)| (p, c.to_string(), t.to_string())).collect::<Vec<_>>()
    };
    // Port 80 in both VXLAN tenants; the refused 8080 left out, and the overlay router's ICMP
    // error too: it quotes a SYN to port 22, which the filter does not name (errors pass the
    // widening to explain the chosen conversations, not to bring in others, as tcpdump with
    // the same expression would show none of them).
    assert_eq!(
        flows("tcp port 80", "vxlan"),
        f(&[(80, "closed", "vxlan"), (80, "reset", "vxlan")])
    );
    assert_eq!(flows("tcp port 22", "vxlan"), f(&[(22, "host-unreachable", "vxlan")]));
    // An inner address, in GRE and behind MPLS labels (by Ethertype).
    assert_eq!(flows("host 10.0.1.99", "gre"), f(&[(22, "host-unreachable", "gre")]));
    // (Without the port-80 conversation nothing shows the server's own TTL: a plain `reset`,
    // written after the look-ahead.)
    assert_eq!(flows("tcp port 8080", "mpls"), f(&[(8080, "reset", "mpls")]));
    // An outer address keeps the whole tunnel.
    assert_eq!(flows("host 192.0.2.2", "gtp-u").len(), 3);
    // An error about a tunnel (from the underlay) is kept with the conversation it fails.
    assert_eq!(
        flows("udp port 5001", "tunnel-errors").last(),
        Some(&(5001, "tunnel-mtu".to_string(), "ipip".to_string()))
    );
}
