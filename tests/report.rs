//! `connlens report` end to end: golden JSON and Markdown reports over recorded captures and
//! over a log written by `connlens analyze`, bad inputs among good ones, filters, an empty
//! result, and the HTML page in a real headless chromium.
//!
//! Golden files live in `tests/golden/`; `BLESS=1 cargo test --test report` rewrites them.
//! Commands run from the crate root with relative paths, so the reports name inputs the same
//! way on every machine.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn connlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connlens"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run connlens")
}

/// A scratch folder under `target/report-test/NAME` (relative to the crate root).
fn scratch(name: &str) -> String {
    let rel = format!("target/report-test/{name}");
    let _ = fs::remove_dir_all(root().join(&rel));
    fs::create_dir_all(root().join(&rel)).unwrap();
    rel
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Compares `actual` with `tests/golden/NAME`, or rewrites it under `BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{name} differs from the golden file (BLESS=1 cargo test --test report rewrites it):\n{actual}"
    );
}

/// Runs `report` over `inputs` into `dir/out.{json,md}` and checks both against the goldens.
fn report_both(dir: &str, inputs: &[&str], extra: &[&str], name: &str) -> Value {
    let mut json = None;
    for ext in ["json", "md"] {
        let out = format!("{dir}/{name}.{ext}");
        let mut args = vec!["report"];
        args.extend_from_slice(inputs);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-o", &out]);
        let run = connlens(&args);
        assert!(run.status.success(), "{args:?}: {}", String::from_utf8_lossy(&run.stderr));
        let text = read(&out);
        golden(&format!("{name}.{ext}"), &text);
        if ext == "json" {
            json = Some(serde_json::from_str(&text).unwrap());
        }
    }
    json.unwrap()
}

#[test]
fn golden_recorded_captures() {
    let dir = scratch("recorded");
    let r = report_both(
        &dir,
        &["fixtures/recorded/app-reject/input.pcap", "fixtures/recorded/dns/input.pcap"],
        &[],
        "recorded",
    );
    let h = &r["headline"];
    assert_eq!(h["captures"], 2);
    assert_eq!(h["attempts"], 11);
    assert_eq!(h["failures"], 10);
    assert!(r["failed"].as_array().unwrap().iter().all(|f| f["packet"].is_u64()));
    assert!(r["causes"].as_array().unwrap().iter().any(|c| c["cause"] == "nxdomain"));
}

/// Conversations in tunnels: each is shown with its tunnel, and two tenants' same private
/// addresses (VXLAN 42 and 43 between the same VTEPs) are two clients and two services, not
/// one (issue 15, item 3).
#[test]
fn golden_tunnels() {
    let dir = scratch("tunnels");
    let r = report_both(
        &dir,
        &["fixtures/generated/vxlan/input.pcap", "fixtures/generated/tunnel-errors/input.pcap"],
        &[],
        "tunnels",
    );
    let clients = r["clients"].as_array().unwrap();
    let tenants: Vec<&str> = clients
        .iter()
        .filter(|c| c["client"] == "10.0.0.10")
        .map(|c| c["tunnel"].as_str().unwrap())
        .collect();
    assert!(tenants.contains(&"vxlan:42 192.0.2.1>192.0.2.2"), "{tenants:?}");
    assert!(tenants.contains(&"vxlan:43 192.0.2.1>192.0.2.2"), "{tenants:?}");
    assert!(r["failed"].as_array().unwrap().iter().all(|f| f["tunnel"].is_string()));
    let services: Vec<(&Value, &Value)> = r["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["server_port"] == 80)
        .map(|s| (&s["server"], &s["tunnel"]))
        .collect();
    // Port 80 of 10.0.1.20 failed in VNI 43 (refused) and in GRE key 7 (the tunnel failed):
    // two services; VNI 42's port 80 worked.
    assert_eq!(services.len(), 2, "{services:?}");
}

/// A log written by `analyze` gives the same report as the capture it came from (except for
/// the packet count, which a log does not carry, and the inputs).
#[test]
fn golden_from_a_log_matches_the_capture() {
    let dir = scratch("log");
    let log = format!("{dir}/nmap.jsonl");
    let run = connlens(&["analyze", "--format", "jsonl", "fixtures/recorded/nmap-scan/input.pcap"]);
    assert!(run.status.success());
    fs::write(root().join(&log), &run.stdout).unwrap();
    let from_log = report_both(&dir, &[&log], &[], "log");
    let out = format!("{dir}/capture.json");
    let run = connlens(&["report", "fixtures/recorded/nmap-scan/input.pcap", "-o", &out]);
    assert!(run.status.success());
    let from_capture: Value = serde_json::from_str(&read(&out)).unwrap();
    for key in ["verdicts", "timeline", "servers", "clients", "incidents", "causes", "failed"] {
        assert!(from_log[key] == from_capture[key], "{key} differs");
    }
    assert_eq!(from_log["headline"]["attempts"], from_capture["headline"]["attempts"]);
    assert_eq!(from_log["incidents"][0]["incident"], "scan");
}

/// The same over more fixtures. Microsecond captures give the same JSON numbers; nanosecond
/// ones (`unreachable-icmp`, `pcapng-two-interfaces`) the same Markdown, which shows times to
/// the millisecond: serde_json (without its `float_roundtrip` feature) may read a 19-digit
/// nanosecond `ts` one unit in the last place away from the nearest float, as the report's
/// JSON numbers would show.
#[test]
fn a_log_gives_the_report_its_capture_gives() {
    let dir = scratch("logs");
    for (fixture, exact) in [
        ("recorded/app-reject/input.pcap", true),
        ("recorded/dns/input.pcap", true),
        ("generated/unreachable-icmp/input.pcap", false),
        ("generated/pcapng-two-interfaces/input.pcapng", false),
        ("generated/one-way-udp/input.pcap", true),
        ("generated/vxlan/input.pcap", true),
        ("generated/tunnel-errors/input.pcap", true),
    ] {
        let capture = format!("fixtures/{fixture}");
        let run = connlens(&["analyze", "--format", "jsonl", &capture]);
        assert!(run.status.success(), "{fixture}");
        let log = format!("{dir}/{}.jsonl", fixture.replace('/', "-"));
        fs::write(root().join(&log), &run.stdout).unwrap();
        let report = |input: &str, ext: &str| {
            let out = format!("{dir}/out.{ext}");
            let run = connlens(&["report", input, "-o", &out]);
            assert!(run.status.success(), "{input}");
            read(&out)
        };
        // All but what names the inputs: their counts, the packets read, the Inputs section.
        let shown = |md: String| {
            md.lines()
                .take_while(|l| *l != "## Inputs")
                .filter(|l| !l.starts_with("- **Inputs**") && !l.starts_with("- **Packets**"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        assert_eq!(shown(report(&log, "md")), shown(report(&capture, "md")), "{fixture}");
        if exact {
            let json = |text: String| -> Value { serde_json::from_str(&text).unwrap() };
            let (from_log, from_capture) =
                (json(report(&log, "json")), json(report(&capture, "json")));
            for key in
                ["verdicts", "timeline", "servers", "clients", "incidents", "causes", "failed"]
            {
                assert!(from_log[key] == from_capture[key], "{fixture}: {key} differs");
            }
        }
    }
}

#[test]
fn bad_inputs_are_reported_and_the_rest_is_read() {
    let dir = scratch("bad");
    // A capture cut in the middle of a record.
    let good = fs::read(root().join("fixtures/recorded/app-reject/input.pcap")).unwrap();
    let damaged = format!("{dir}/damaged.pcap");
    fs::write(root().join(&damaged), &good[..good.len() - 30]).unwrap();
    // A log with a malformed line between good ones.
    let run = connlens(&["analyze", "--format", "jsonl", "fixtures/recorded/dns/input.pcap"]);
    let text = String::from_utf8(run.stdout).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{\"type\":\"flow\",\"ts\":\"soon\"");
    lines.insert(2, "not json at all");
    let log = format!("{dir}/dns.jsonl");
    fs::write(root().join(&log), lines.join("\n") + "\n").unwrap();
    let out = format!("{dir}/out.json");
    let run =
        connlens(&["report", &damaged, &log, "fixtures/recorded/nmap-scan/input.pcap", "-o", &out]);
    assert_eq!(run.status.code(), Some(1), "some input was skipped");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(&format!("{damaged}: at byte")), "{stderr}");
    assert!(stderr.contains(&format!("{log}:2: malformed line")), "{stderr}");
    assert!(stderr.contains(&format!("{log}:3: malformed line")), "{stderr}");
    let r: Value = serde_json::from_str(&read(&out)).unwrap();
    let inputs = r["inputs"].as_array().unwrap();
    let find = |name: &str| inputs.iter().find(|i| i["name"] == name).unwrap().clone();
    assert_eq!(find(&damaged)["ok"], false);
    assert!(find(&damaged)["errors"][0].as_str().unwrap().contains("at byte"));
    assert_eq!(find(&log)["errors"].as_array().unwrap().len(), 2);
    assert_eq!(find("fixtures/recorded/nmap-scan/input.pcap")["ok"], true);
    // Everything readable is in: the nmap scan's 200, the log's 5, and the damaged capture's
    // attempts before the damage.
    let attempts = r["headline"]["attempts"].as_u64().unwrap();
    assert!(attempts >= 205, "{attempts}");
    // The Markdown report says so too.
    let md = format!("{dir}/out.md");
    connlens(&["report", &damaged, &log, "-o", &md]);
    let md = read(&md);
    assert!(md.contains("Input problems"));
    assert!(md.contains("malformed line skipped"));
}

#[test]
fn filters_select_attempts() {
    let dir = scratch("filters");
    let out = format!("{dir}/f.json");
    let run = connlens(&[
        "report",
        "fixtures/recorded/app-reject/input.pcap",
        "fixtures/recorded/dns/input.pcap",
        "--verdict",
        "dns-failure,answered",
        "--server",
        "10.200.21.2",
        "-o",
        &out,
    ]);
    assert!(run.status.success());
    let r: Value = serde_json::from_str(&read(&out)).unwrap();
    assert_eq!(r["headline"]["attempts"], 4, "{}", r["verdicts"]);
    assert!(r["failed"].as_array().unwrap().iter().all(|f| f["server"] == "10.200.21.2"));
    let run = connlens(&[
        "report",
        "fixtures/recorded/app-reject/input.pcap",
        "--port",
        "8201,8202",
        "--since",
        "00:00",
        "-o",
        &out,
    ]);
    assert!(run.status.success());
    let r: Value = serde_json::from_str(&read(&out)).unwrap();
    assert_eq!(r["headline"]["attempts"], 2);
}

#[test]
fn an_empty_result_says_so() {
    let dir = scratch("empty");
    for ext in ["md", "html", "json"] {
        let out = format!("{dir}/e.{ext}");
        let run = connlens(&[
            "report",
            "fixtures/recorded/app-reject/input.pcap",
            "--until",
            "1970-01-01T00:00Z",
            "-o",
            &out,
        ]);
        assert!(run.status.success());
        let text = read(&out);
        match ext {
            "json" => assert!(text.contains("\"attempts\": 0")),
            "html" => {
                assert!(text.contains("No connection attempts match the filters"));
                assert!(!text.contains("<svg"), "no empty charts");
            }
            _ => assert!(text.contains("No connection attempts match the filters")),
        }
    }
}

#[test]
fn impossible_times_are_usage_errors_that_say_why() {
    let dir = scratch("bad-time");
    let out = format!("{dir}/never.json");
    for (option, value, why) in [
        (
            "--since",
            "2026-02-31T00:00Z",
            "'day' for `2026-02` is invalid, must be in range `1..=28`",
        ),
        ("--until", "24:30", "'hour' is not in the required range of 0..=23"),
        ("--since", "14:60Z", "'minute' is not in the required range of 0..=59"),
        ("--until", "2026-11-20T14:00+25:99", "'time zone offset minutes' is not in the required"),
        ("--since", "2026-11-20T14:00Z and more", "unparsed input \" and more\" remains"),
    ] {
        let run = connlens(&[
            "report",
            "fixtures/recorded/app-reject/input.pcap",
            option,
            value,
            "-o",
            &out,
        ]);
        assert_eq!(run.status.code(), Some(2), "{option} {value}");
        let err = String::from_utf8_lossy(&run.stderr);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("error: invalid value '{value}' for '{option} <TIME>': ")),
            "{err}"
        );
        assert!(first.contains(why), "{option} {value}: {err}");
        assert!(!root().join(&out).exists(), "no report for a usage error");
    }
}

#[test]
fn html_escapes_and_has_no_external_resources() {
    let dir = scratch("html");
    let log = format!("{dir}/evil.jsonl");
    fs::write(
        root().join(&log),
        "{\"type\":\"flow\",\"ts\":1.5,\"proto\":\"tcp\",\"client\":\"10.0.0.1\",\"client_port\":1,\"server\":\"10.0.0.2\",\"server_port\":80,\"verdict\":\"dns-failure\",\"cause\":\"<script>alert(1)</script>\",\"evidence\":{\"dns_query\":\"<img src=x onerror=alert(1)>\"},\"capture\":\"a\\\"b.pcap\"}\n",
    )
    .unwrap();
    let out = format!("{dir}/evil.html");
    assert!(connlens(&["report", &log, "-o", &out]).status.success());
    let html = read(&out);
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for bad in ["http://", "https://", "src=\"", "<link"] {
        let hits: Vec<_> = html.match_indices(bad).collect();
        // The only URL is the SVG namespace name, which is never fetched.
        assert!(
            hits.iter().all(|(i, _)| html[..*i].ends_with("xmlns=\"")),
            "external reference `{bad}` in the page"
        );
    }
}

/// Issue 12: the page's Content-Security-Policy allows no inline code but its own, pinned by
/// SHA-256: every `<script>` and `<style>` element and every `style` attribute of a page that
/// shows every part (charts, legend, tables) has its hash in the policy, and nothing is
/// allowed wholesale.
#[test]
fn html_csp_pins_every_inline_script_and_style() {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let sha256 = |text: &str| {
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
        )
    };
    let (_, out) = three_capture_page("csp");
    let html = read(&out);
    let meta = "http-equiv=\"Content-Security-Policy\" content=\"";
    let start = html.find(meta).unwrap() + meta.len();
    let csp = &html[start..start + html[start..].find('"').unwrap()];
    let directive = |name: &str| -> Vec<&str> {
        let d = csp.split(';').map(str::trim).find(|d| d.starts_with(name)).unwrap();
        d.split_whitespace().skip(1).collect()
    };
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(directive("default-src"), ["'none'"], "{csp}");
    let (scripts, styles) = (directive("script-src"), directive("style-src"));
    assert!(scripts.iter().all(|s| s.starts_with("'sha256-")), "{csp}");
    assert!(styles.iter().all(|s| s.starts_with("'sha256-") || *s == "'unsafe-hashes'"));
    // Every piece of inline code, by what a browser hashes: an element's text, an attribute's
    // value.
    let inner = |open: &str, close: &str| -> Vec<String> {
        html.split(open).skip(1).map(|p| p[..p.find(close).unwrap()].to_string()).collect()
    };
    let (script_code, style_code) = (inner("<script>", "</script>"), inner("<style>", "</style>"));
    assert_eq!((script_code.len(), style_code.len()), (1, 1), "one script, one style sheet");
    assert!(!html.contains("<script ") && !html.contains("<style "), "elements with attributes");
    for code in &script_code {
        assert!(scripts.contains(&sha256(code).as_str()), "script not pinned in {csp}");
    }
    let attributes = inner("style=\"", "\"");
    assert!(!attributes.is_empty(), "the legend's colours");
    for code in style_code.iter().chain(&attributes) {
        assert!(styles.contains(&sha256(code).as_str()), "style `{code:.40}` not pinned in {csp}");
    }
}

/// The page in a real headless chromium: it loads without script errors, the charts are drawn
/// with a size, a typed filter (through the URL fragment, which types into the box and fires
/// its `input` event) and a header click (likewise) work; at 1400 px and at a phone's 390 px
/// no token cell is broken over two lines, and a screenshot of each is written to
/// `target/report-screenshot.png` and `target/report-screenshot-phone.png`.
#[test]
fn html_page_in_headless_chromium() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "chromium is required on CI");
        eprintln!("skipped: no chromium (apt-get install chromium)");
        return;
    };
    let (dir, out) = three_capture_page("browser");
    let page = root().join(&out);
    let url = format!("file://{}", page.display());
    let profile = root().join(&dir).join("profile");
    let browse = |extra: &[&str], url: &str| -> Output {
        let mut c = Command::new(chromium);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url);
        c.output().expect("run chromium")
    };
    let attr = |dom: &str, name: &str| -> Option<String> {
        let tag = &dom[dom.find("<html")?..];
        let tag = &tag[..tag.find('>')?];
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[start..start + tag[start..].find('"')?].to_string())
    };
    // The console goes to stderr: a Content-Security-Policy violation (a script or a style
    // whose hash is not pinned, issue 12) shows there, never in the DOM.
    let dump = |fragment: &str| -> String {
        let o = browse(
            &["--virtual-time-budget=3000", "--dump-dom", "--enable-logging=stderr", "--v=0"],
            &format!("{url}{fragment}"),
        );
        let console = String::from_utf8_lossy(&o.stderr);
        assert!(
            !console.contains("Content Security Policy"),
            "the page breaks its own CSP:\n{console}"
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };

    let dom = dump("");
    assert!(dom.contains("id=\"failed\""), "page did not load: {dom:.300}");
    assert_eq!(attr(&dom, "data-js-errors"), None, "script errors");
    let width: u32 = attr(&dom, "data-chart-width").unwrap().parse().unwrap();
    let height: u32 = attr(&dom, "data-chart-height").unwrap().parse().unwrap();
    assert!(width > 300 && height > 100, "timeline drawn at {width}x{height}");
    assert!(dom.matches("class=\"bar\"").count() >= 3, "timeline bars");
    assert_eq!(attr(&dom, "data-visible-rows").as_deref(), Some("207"));

    // A typed query: only the DNS failures are left.
    let dom = dump("#filter=dns-failure");
    assert_eq!(attr(&dom, "data-js-errors"), None);
    assert_eq!(attr(&dom, "data-visible-rows").as_deref(), Some("4"));
    // Two words: both must match.
    let dom = dump("#filter=nxdomain%2010.200.21.2");
    assert_eq!(attr(&dom, "data-visible-rows").as_deref(), Some("1"));
    // A click on the packet column header sorts by packet number.
    let dom = dump("#sort=8");
    assert_eq!(attr(&dom, "data-sorted-by").as_deref(), Some("8 asc"));
    assert_eq!(attr(&dom, "data-first-row").as_deref(), Some("1"));

    // At a desk and on a phone: no address, port, verdict or time is broken over two lines
    // (those cells do not wrap; the tables scroll sideways instead), and a screenshot of each
    // for a person to look at.
    for (width, height, name) in
        [(1400, 2400, "report-screenshot.png"), (390, 844, "report-screenshot-phone.png")]
    {
        let size = format!("--window-size={width},{height}");
        let o = browse(&["--virtual-time-budget=3000", "--dump-dom", &size], &url);
        let dom = String::from_utf8_lossy(&o.stdout);
        assert_eq!(attr(&dom, "data-js-errors"), None, "{width} px");
        assert_eq!(
            attr(&dom, "data-broken-tokens").as_deref(),
            Some("0"),
            "{width} px: tokens broken"
        );
        let shot = root().join("target").join(name);
        let _ = fs::remove_file(&shot);
        browse(&[&format!("--screenshot={}", shot.display()), &size, "--hide-scrollbars"], &url);
        let png = fs::read(&shot).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot");
        eprintln!("screenshot at {width} px: {}", shot.display());
        // The page is as wide as the window (headless chromium keeps a minimum of its own),
        // and the timeline no wider than the page.
        let chart: u32 = attr(&dom, "data-chart-width").unwrap().parse().unwrap();
        let page: u32 = attr(&dom, "data-viewport-width").unwrap().parse().unwrap();
        assert!(
            chart <= page,
            "{width} px: the timeline ({chart} px) wider than the page ({page} px)"
        );
    }
    let _ = Path::new(&profile);
}

/// The HTML page over three recorded captures (a rejecting service, DNS failures, an nmap
/// scan), written in a scratch folder of its own: (folder, page).
fn three_capture_page(tag: &str) -> (String, String) {
    let dir = scratch(tag);
    let out = format!("{dir}/page.html");
    let run = connlens(&[
        "report",
        "fixtures/recorded/app-reject/input.pcap",
        "fixtures/recorded/dns/input.pcap",
        "fixtures/recorded/nmap-scan/input.pcap",
        "-o",
        &out,
    ]);
    assert!(run.status.success());
    (dir, out)
}

/// One-way conversations are counted under their verdict, read back from a log too, and are
/// neither failures nor listed as failed attempts.
#[test]
fn one_way_conversations_are_counted_not_failed() {
    let dir = scratch("one-way");
    let run =
        connlens(&["analyze", "--format", "jsonl", "fixtures/generated/one-way-udp/input.pcap"]);
    assert!(run.status.success());
    let log = format!("{dir}/log.jsonl");
    fs::write(root().join(&log), &run.stdout).unwrap();
    let out = format!("{dir}/out.json");
    assert!(connlens(&["report", &log, "-o", &out]).status.success());
    let r: Value = serde_json::from_str(&read(&out)).unwrap();
    assert_eq!(r["verdicts"]["one-way"], 6, "{}", r["verdicts"]);
    assert_eq!(r["headline"]["failures"], 1, "{}", r["headline"]);
    let failed =
        r["failed"]["rows"].as_array().or(r["failed"].as_array()).cloned().unwrap_or_default();
    assert!(failed.iter().all(|f| f.to_string().contains("7001")), "{failed:?}");
    let html = format!("{dir}/out.html");
    assert!(connlens(&["report", &log, "--verdict", "one-way", "-o", &html]).status.success());
}

/// Two sensors' logs (lines carrying `sensor`, as `--publish` writes them): the client's host
/// and the load balancer in front of 10.2.0.80, whose clock is 0.35 s behind. Built by hand in
/// `tests/fleet/` so that every number below follows from the lines:
/// - 10.1.0.5:40001 → :443: the client's host saw a reset forged 1 hop away (path-reset), the
///   load balancer only the SYN (unanswered): joined, the sensors disagree, and the client's
///   TTLs (64 at client-host, 62 at lb) put client-host nearest the client;
/// - :40002 → :443 unanswered at both and :40003 → :8443 refused by the host at both: joined,
///   agreeing;
/// - :40004 → 10.3.0.9:22 seen by client-host alone, 10.9.0.7 → :443 (established) by lb alone;
/// - 10.1.0.5:40005 → the address 203.0.113.80 and 198.51.100.1:61005 → 10.2.0.80: one
///   attempt through a NAT, other addresses on each side: not joined (the documented limit);
/// - :40002 → :443 again 39 s later at lb: a new attempt, past the 2 s tolerance;
/// - 10.1.0.5:39999 established at both: joined by nobody (no failure to show).
#[test]
fn golden_fleet_of_two_sensors() {
    let dir = scratch("fleet");
    let logs = ["tests/fleet/client-host.jsonl", "tests/fleet/lb.jsonl"];
    let r = report_both(&dir, &logs, &[], "fleet");
    assert_eq!(r["headline"]["sensors"], 2);
    assert_eq!(
        (r["headline"]["attempts"].as_u64(), r["headline"]["failures"].as_u64()),
        (Some(13), Some(10))
    );
    let sensors: Vec<(&str, u64, u64, u64)> = r["fleet"]["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (
                s["sensor"].as_str().unwrap(),
                n("attempts"),
                n("failures"),
                n("failures_seen_by_others"),
            )
        })
        .collect();
    assert_eq!(sensors, [("client-host", 6, 5, 3), ("lb", 7, 5, 3)]);
    let joined = r["fleet"]["seen_by_several"].as_array().unwrap();
    let ports: Vec<u64> = joined.iter().map(|j| j["client_port"].as_u64().unwrap()).collect();
    assert_eq!(ports, [40001, 40002, 40003]);
    let first = &joined[0];
    assert_eq!(first["agree"], false);
    let seen: Vec<(&str, &str)> = first["seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sensor"].as_str().unwrap(), s["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("client-host", "refused"), ("lb", "unanswered")]);
    assert!(first["note"].as_str().unwrap().contains("client-host is nearest the client"));
    assert!(joined[1]["agree"].as_bool().unwrap() && joined[2]["agree"].as_bool().unwrap());
    assert!(r["failed"].as_array().unwrap().iter().all(|f| f["sensor"].is_string()));

    // A tolerance below the clocks' 0.35 s difference joins nothing.
    let out = format!("{dir}/tight.json");
    let run = connlens(&[&["report"], &logs[..], &["--join-within", "0.1", "-o", &out]].concat());
    assert!(run.status.success());
    let tight: Value = serde_json::from_str(&read(&out)).unwrap();
    assert_eq!(tight["fleet"]["seen_by_several_total"], 0);
    // --sensor keeps one sensor's lines from logs too.
    let out = format!("{dir}/lb.json");
    let run = connlens(&[&["report"], &logs[..], &["--sensor", "lb", "-o", &out]].concat());
    assert!(run.status.success());
    let lb: Value = serde_json::from_str(&read(&out)).unwrap();
    assert_eq!(lb["headline"]["attempts"], 7);
    assert_eq!(lb["headline"]["sensors"], 1);
    // A report without sensors has no sensor section and no sensor column.
    let md = read("tests/golden/log.md");
    assert!(!md.contains("## Sensors") && !md.contains("| sensor |"));
}
