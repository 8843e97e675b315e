//! Command-line arguments (what was typed) and their conversion into the library's settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use connlens::capture::LiveConfig;
use connlens::incident::{IncidentConfig, MAX_PEERS};
use connlens::output::Format;
use connlens::pipeline::{AnalyzeConfig, LiveOptions};
use connlens::time::Duration;
use connlens::track::{OneWayPorts, TrackerConfig};
use connlens::verdict::VerdictKind;

/// Explains failed network connections from packet captures.
#[derive(Parser, Debug)]
#[command(name = "connlens", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What `analyze` does, naming every verdict word. Derived from [`VerdictKind::ALL`], so a
/// new verdict is in the top-level help without anyone remembering to add it there.
pub fn about_analyze() -> String {
    let words: Vec<&str> = VerdictKind::ALL.iter().map(|k| k.as_str()).collect();
    let (last, rest) = words.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
    format!(
        "Give every connection attempt in capture files a verdict ({} or {last}), with its \
         cause, evidence and a hint",
        rest.join(", ")
    )
}

/// The arguments of this process, with the help texts that are derived rather than written.
pub fn parse() -> Args {
    let command = Args::command().mut_subcommand("analyze", |c| c.about(about_analyze()));
    let matches = command.get_matches();
    Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Give every connection attempt in capture files a verdict, with its cause, evidence and
    /// a hint (the help lists the verdict words: see `about_analyze`).
    Analyze(AnalyzeArgs),
    /// Watch an interface and explain each connection attempt as soon as its verdict is
    /// decided (refused and unreachable at once, unanswered when --syn-timeout passes).
    Live(LiveArgs),
    /// Write one report (HTML, Markdown or JSON) over captures and JSON-lines verdict logs:
    /// headline, timeline, failing services, clients, incidents, causes explained, and the
    /// failed attempts with where to find them.
    Report(ReportArgs),
}

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// A self-contained HTML page (inline CSS, SVG and script; no network access).
    Html,
    /// Markdown, for a ticket.
    Md,
    /// One JSON document, for machines.
    Json,
}

/// `connlens report`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
INPUTs are capture files (.pcap, .pcapng), JSON-lines logs written by `connlens analyze` or \
`live` (.jsonl, .json, .ndjson, or any file starting with `{`), and folders of either. All \
captures are merged into one stream in time order; logs are read as they are.

--since/--until take an RFC 3339 time (2026-11-20T14:00Z; seconds and the offset are \
optional, no offset means UTC) or a time of day (14:00, 14:30:15Z, 15:30+01:00), which means \
that time (UTC) on the day of the first attempt read. Impossible dates and times are refused.

Exit status: 0 when every input was read in full; 1 when some input (or a line of a log) was \
skipped, after the report is written; 2 for usage errors.")]
pub struct ReportArgs {
    /// Capture files, JSON-lines verdict logs, or folders of them; or a JetStream stream that
    /// sensors publish to, nats://HOST[:PORT]/STREAM (read in full, one input per sensor).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Only the lines of these sensors (repeatable), from a nats:// stream or from logs whose
    /// lines carry a `sensor` field; captures given beside are analyzed as usual.
    #[arg(long, value_name = "NAME")]
    pub sensor: Vec<String>,

    /// One attempt seen by several sensors (same protocol, addresses, ports and tunnel) is
    /// joined when its first packets at the sensors are at most this far apart: the sensors'
    /// clocks differ.
    #[arg(long, value_name = "SECONDS", default_value_t = connlens::report::fleet::DEFAULT_JOIN_WITHIN, value_parser = parse_join_within)]
    pub join_within: f64,

    /// The report file (`-`: standard output, then --format is needed).
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,

    /// Report format [default: from OUT's extension: .html/.htm, .md/.markdown, .json].
    #[arg(short, long, value_enum)]
    pub format: Option<ReportFormatArg>,

    /// Which attempts to report.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Tracker threads: conversations are split over N trackers by a hash of their two
    /// endpoints (ICMP errors follow the flow they quote), beside the capture thread and the
    /// output thread. The output is one tracker's, in the same order, but for the attempt
    /// numbers and the summary's flows.peak; each tracker holds --max-flows / N
    /// conversations (see the README). `live` always uses one.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,

    /// Tracker settings for the captures.
    #[command(flatten)]
    pub tracker: TrackerArgs,
}

impl ReportArgs {
    /// The format asked for, else the one OUT's extension names.
    pub fn format(&self) -> Result<ReportFormatArg, String> {
        if let Some(f) = self.format {
            return Ok(f);
        }
        let ext =
            self.output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Ok(ReportFormatArg::Html),
            "md" | "markdown" => Ok(ReportFormatArg::Md),
            "json" => Ok(ReportFormatArg::Json),
            _ => Err(format!(
                "cannot tell the report format from `{}`: name it .html, .md or .json, or give --format",
                self.output.display()
            )),
        }
    }

    /// The filters these arguments stand for.
    pub fn filter(&self) -> connlens::report::Filter {
        self.filter.filter()
    }

    /// The analysis settings for the captures.
    pub fn config(&self) -> AnalyzeConfig {
        AnalyzeConfig {
            tracker: self.tracker.tracker(),
            incidents: self.tracker.incidents(),
            summary: false,
            threads: usize::from(self.threads),
            read_filter: self.filter.read_filter.clone(),
            // The report filters its attempts itself (logs too).
            filter: connlens::report::Filter::default(),
        }
    }
}

/// `--join-within`: a finite number of seconds, not negative.
fn parse_join_within(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("`{s}` is not a number of seconds (0 or more)")),
    }
}

/// Which attempts a run shows and counts: the same for `analyze`, `live` and `report`.
#[derive(clap::Args, Debug, Default)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only failures (refused, unreachable, unanswered, rejected, … whose cause blames the
    /// client, the server or the path: see the README's "What is a failure").
    #[arg(long)]
    pub failed: bool,

    /// Only these verdicts (repeat, or separate with commas).
    #[arg(long, value_name = "VERDICT", value_delimiter = ',', value_parser = connlens::report::parse_verdict)]
    pub verdict: Vec<VerdictKind>,

    /// Only attempts to these servers: ADDRESS or ADDRESS:PORT ([V6]:PORT), repeat or separate
    /// with commas.
    #[arg(long, value_name = "HOST[:PORT]", value_delimiter = ',', value_parser = connlens::report::parse_host_port)]
    pub server: Vec<connlens::report::HostPort>,

    /// Only attempts from these clients: ADDRESS or ADDRESS:PORT.
    #[arg(long, value_name = "HOST[:PORT]", value_delimiter = ',', value_parser = connlens::report::parse_host_port)]
    pub client: Vec<connlens::report::HostPort>,

    /// Only attempts to these server ports.
    #[arg(long, value_name = "PORT", value_delimiter = ',')]
    pub port: Vec<u16>,

    /// Only attempts from this time on (RFC 3339, or a time of day: the day of the first
    /// attempt read, UTC).
    #[arg(long, value_name = "TIME", value_parser = connlens::report::parse_time_bound)]
    pub since: Option<connlens::report::TimeBound>,

    /// Only attempts before this time.
    #[arg(long, value_name = "TIME", value_parser = connlens::report::parse_time_bound)]
    pub until: Option<connlens::report::TimeBound>,

    /// A read filter in tcpdump's syntax, as one argument (`--filter 'host 10.0.0.5 and tcp
    /// port 443'`; tcpdump -r FILE EXPR), compiled by libpcap and widened as `live` widens its
    /// FILTER, so the ICMP errors and tagged frames that explain the kept flows stay; a
    /// tunnel's packet is kept when its outer packet or the one it carries matches. Not for
    /// `live`, whose trailing words are its filter.
    #[arg(long = "filter", value_name = "EXPR")]
    pub read_filter: Option<String>,
}

impl FilterArgs {
    /// The attempt filters these arguments stand for.
    pub fn filter(&self) -> connlens::report::Filter {
        connlens::report::Filter {
            since: self.since.clone(),
            until: self.until.clone(),
            servers: self.server.clone(),
            clients: self.client.clone(),
            ports: self.port.clone(),
            verdicts: self.verdict.clone(),
            failed: self.failed,
        }
    }
}

/// When to colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set (non-empty) or TERM is `dumb`.
    Auto,
    /// Always (even in a pipe, even with NO_COLOR: a flag given is the user's word).
    Always,
    /// Never.
    Never,
}

/// Stream formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A table for people (the default, in a terminal and in a pipe alike).
    Table,
    /// One JSON object per line: the machine contract (give it in scripts).
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// `connlens analyze`.
#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files (.pcap, .pcapng), folders of them (read in time order, merged), or `-`
    /// for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Tracker threads: conversations are split over N trackers by a hash of their two
    /// endpoints (ICMP errors follow the flow they quote), beside the capture thread and the
    /// output thread. The output is one tracker's, in the same order, but for the attempt
    /// numbers and the summary's flows.peak; each tracker holds --max-flows / N
    /// conversations (see the README). `live` always uses one.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,

    /// After the run, print to stderr the CPU time each thread used (capture and decode, each
    /// tracker, output) and the wall time: which stage bounds the run, and whether more
    /// --threads can help. Linux only (elsewhere it says so).
    #[arg(long)]
    pub timings: bool,

    /// Output and tracker settings.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Settings `analyze` and `live` share: the stream format, the summary, and the tracker.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    /// Output format: `table` for people, `jsonl` for machines (the contract), `csv`.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: FormatArg,

    /// Table: every attempt. Without it the table shows the failures, and one line at the end
    /// counts the rest (fine and undecided); --verdict also shows what it names.
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Table: colour the verdicts (auto: on a terminal, unless NO_COLOR is set or TERM=dumb).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorArg,

    /// Which attempts to show and count.
    #[command(flatten)]
    pub filter: FilterArgs,

    /// Do not print the end-of-run summary.
    #[arg(long)]
    pub no_summary: bool,

    /// Tracker and incident settings.
    #[command(flatten)]
    pub tracker: TrackerArgs,

    /// Publishing to NATS JetStream.
    #[cfg(feature = "nats")]
    #[command(flatten)]
    pub publish: PublishArgs,
}

/// `--publish` and its settings (`analyze` and `live`).
#[cfg(feature = "nats")]
#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    /// Also publish every flow, incident and summary line (the JSON lines, with a `sensor`
    /// field) to NATS JetStream, on SUBJECT.<sensor>.<type> (SUBJECT: `connlens`), each stored
    /// once (message ids). Several servers: nats://a:4222,b:4222. Credentials from the
    /// environment: CONNLENS_NATS_CREDS (a .creds file), CONNLENS_NATS_TOKEN, or
    /// CONNLENS_NATS_USER and CONNLENS_NATS_PASSWORD.
    #[arg(long, value_name = "nats://HOST[:PORT][/SUBJECT]", help_heading = "Publishing")]
    pub publish: Option<String>,

    /// The sensor's name in the lines and subjects [default: the host name].
    #[arg(long, value_name = "NAME", help_heading = "Publishing")]
    pub sensor: Option<String>,

    /// The JetStream stream, created when missing (file storage, SUBJECT.>).
    #[arg(long, value_name = "NAME", default_value = "CONNLENS", value_parser = stream_name, help_heading = "Publishing")]
    pub stream: String,

    /// A stream created by connlens keeps lines this many seconds (7 days).
    #[arg(long, value_name = "SECONDS", default_value_t = 604_800.0, value_parser = positive_seconds, help_heading = "Publishing")]
    pub stream_max_age: f64,

    /// A stream created by connlens holds at most this many bytes (1 GiB), the oldest going
    /// first.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30, value_parser = clap::value_parser!(u64).range(4096..(i64::MAX as u64)), help_heading = "Publishing")]
    pub stream_max_bytes: u64,

    /// Replicas of a stream created by connlens (3 on a 3-node cluster).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5), help_heading = "Publishing")]
    pub stream_replicas: u8,

    /// Keep lines the broker cannot take yet in this folder, sent in order when it is back
    /// (also by a later run with the same folder). Without it they are held in memory.
    #[arg(long, value_name = "DIR", help_heading = "Publishing")]
    pub spool: Option<PathBuf>,

    /// Bound of the spool (or, without one, of the lines held in memory); past it the oldest
    /// lines are dropped and counted.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20, value_parser = clap::value_parser!(u64).range(4096..), help_heading = "Publishing")]
    pub spool_max: u64,

    /// At the end of the run, wait at most this long for every line to be stored; what is not
    /// stays in the spool for a later run, and the exit status is 1.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = positive_seconds, help_heading = "Publishing")]
    pub publish_wait: f64,
}

#[cfg(feature = "nats")]
fn publish_url(s: &str) -> Result<connlens::publish::NatsUrl, String> {
    let u: connlens::publish::NatsUrl = s.parse()?;
    if let Some(subject) = &u.path
        && !connlens::publish::valid_subject(subject)
    {
        return Err(format!(
            "`{subject}` is not a subject: dot-separated words without spaces, `*` or `>`"
        ));
    }
    Ok(u)
}

#[cfg(feature = "nats")]
fn stream_name(s: &str) -> Result<String, String> {
    if s.is_empty()
        || s.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        return Err(format!("`{s}`: a stream name has no spaces, `.`, `*`, `>` or slashes"));
    }
    Ok(s.to_string())
}

#[cfg(feature = "nats")]
impl PublishArgs {
    /// The publishing options, when --publish is given; a bad URL is an error (checked here,
    /// not by clap, whose message would repeat the URL and any password in it).
    pub fn options(
        &self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<connlens::publish::PublishOptions>, String> {
        let Some(url) = &self.publish else { return Ok(None) };
        let url = publish_url(url).map_err(|e| format!("--publish: {e}"))?;
        Ok(Some(connlens::publish::PublishOptions {
            servers: url.servers.clone(),
            subject: url.path.clone().unwrap_or_else(|| "connlens".into()),
            sensor: self.sensor.clone().unwrap_or_else(connlens::publish::host_name),
            stream: self.stream.clone(),
            max_age: std::time::Duration::from_secs_f64(self.stream_max_age),
            max_bytes: i64::try_from(self.stream_max_bytes).unwrap_or(i64::MAX),
            replicas: usize::from(self.stream_replicas),
            spool: self.spool.clone(),
            spool_max: self.spool_max,
            wait: std::time::Duration::from_secs_f64(self.publish_wait),
            auth: connlens::publish::Auth::from_env(var),
        }))
    }
}

/// The tracker's timers and limits and the incident thresholds (every subcommand).
#[derive(clap::Args, Debug)]
pub struct TrackerArgs {
    /// Seconds an attempt waits after its last SYN (or UDP request) before it is `unanswered`.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = positive_seconds)]
    pub syn_timeout: f64,

    /// Seconds an established conversation may be silent before its verdict is given (`idle`).
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = positive_seconds)]
    pub idle_timeout: f64,

    /// Most conversations tracked at once; beyond it the one whose timer runs out first gets
    /// its verdict early (counted in the summary). About 1.1 KB each.
    #[arg(long, value_name = "N", default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_flows: u64,

    /// Treat the same 5-tuple on different VLANs as different conversations (off: the two
    /// directions of one conversation may carry different tags on a span port).
    #[arg(long)]
    pub split_vlans: bool,

    /// UDP ports of protocols that never answer on the same 5-tuple (their silence is
    /// `one-way`, not `unanswered`): edits the built-in list (syslog 514, NetFlow, IPFIX,
    /// sFlow, VXLAN, Geneve, BFD, SNMP traps, mDNS, SSDP, … see the README). A comma list, left
    /// to right: PORT or LO-HI adds, -PORT or -LO-HI removes, `none` empties the list.
    /// Repeatable; e.g. `--one-way 5140,-69` or `--one-way none,514`.
    #[arg(long = "one-way", value_name = "PORTS", value_parser = one_way_spec, allow_hyphen_values = true)]
    pub one_way: Vec<String>,

    /// Incidents: the window (seconds) the thresholds below count within.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = positive_seconds, help_heading = "Incidents")]
    pub incident_window: f64,

    /// A scan: one client failing on this many distinct server:port targets (at most 1024).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=MAX_PEERS as u64), help_heading = "Incidents")]
    pub scan_targets: u64,

    /// A service down: this many distinct clients refused by one server:port (at most 1024).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=MAX_PEERS as u64), help_heading = "Incidents")]
    pub service_down_clients: u64,

    /// A host down: this many attempts to one host unanswered or host-unreachable, none answered.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Incidents")]
    pub host_down_attempts: u64,

    /// Overload: this many attempts at one service retried, queued or turned away.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Incidents")]
    pub overload_attempts: u64,
}

/// `connlens live`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
FILTER is a BPF filter in tcpdump's syntax (several words are joined). It is widened so that \
the packets that explain its flows are kept: `FILTER` becomes \
`(FILTER) or icmp or icmp6 or (vlan and ((FILTER) or icmp or icmp6))` (without the vlan part \
on `-i any`, whose cooked headers cannot express it), since ICMP errors come from routers and \
match no port, and tagged frames match no untagged filter. A kernel filter cannot see inside a \
tunnel, so every tunnel's outer packets pass it too (UDP 4789, 8472, 6081, 2152, 3544; IP \
protocols 4, 41, 47; MPLS and PPPoE), and connlens applies FILTER itself to the packet each \
carries: `tcp port 80` reports the port-80 conversations inside VXLAN, and nothing else of it.

Capturing needs root, or once: setcap cap_net_raw,cap_net_admin=eip PATH-TO-connlens

Stops on Ctrl-C or SIGTERM (a second one ends at once), after --duration or after --count \
attempts: every pending attempt then gets its verdict and the summary reports the packets \
libpcap received and the kernel, the interface and connlens dropped.

A live run tracks on one thread (beside the capture thread): `--threads` is for `analyze` and \
`report`.")]
pub struct LiveArgs {
    /// Interface to capture on (`any`: all, with Linux cooked headers) [default: the first up,
    /// non-loopback interface, as tcpdump picks].
    #[arg(short, long, value_name = "IFACE")]
    pub interface: Option<String>,

    /// BPF filter (tcpdump syntax), widened to keep the ICMP errors and VLAN-tagged frames that
    /// explain its flows (see below). Options may follow its words, as with tcpdump.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Also write every captured packet to FILE (pcap), as evidence: `connlens analyze FILE`
    /// gives the same verdicts later.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// When started as root: once the capture and the -w file are open, run as this user
    /// (as tcpdump -Z); `root` keeps root.
    #[arg(short = 'Z', long = "user", value_name = "USER", default_value = "nobody")]
    pub user: String,

    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub duration: Option<f64>,

    /// Stop after this many verdicts, as tcpdump -c: exactly N are written (attempts still
    /// pending then are counted in the summary, not shown).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Kernel capture buffer in bytes: raise it when the summary reports kernel drops.
    #[arg(long, value_name = "BYTES", default_value_t = connlens::capture::live::DEFAULT_BUFFER_SIZE, value_parser = clap::value_parser!(u32).range(65_536..=(i32::MAX as i64)))]
    pub buffer_size: u32,

    /// Bytes kept of each packet; the default covers every header stack connlens decodes plus
    /// the first 128 payload bytes its application checks read.
    #[arg(long, value_name = "BYTES", default_value_t = connlens::capture::live::DEFAULT_SNAPLEN, value_parser = clap::value_parser!(u32).range(128..=262_144))]
    pub snaplen: u32,

    /// Serve the run's counters on http://ADDR:PORT/metrics in Prometheus text format
    /// (attempts, verdicts by verdict and cause, incidents, packets read and dropped,
    /// publishing, failures of the --metrics-top services).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,

    /// Services (protocol, server, port) with the most failures that /metrics names: a bound on
    /// the label values.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub metrics_top: u16,

    /// Output and tracker settings.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A `--one-way` value, checked as it is typed (applied in [`TrackerArgs::tracker`]).
fn one_way_spec(s: &str) -> Result<String, String> {
    connlens::track::OneWayPorts::none().apply(s)?;
    Ok(s.to_string())
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v < 1e9 {
        Ok(v)
    } else {
        Err(format!("`{s}`: give a number of seconds above 0"))
    }
}

impl CommonArgs {
    /// The format asked for (a table unless told otherwise, whatever stdout is).
    pub fn format(&self) -> Format {
        match self.format {
            FormatArg::Table => Format::Table,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Csv => Format::Csv,
        }
    }

    /// The incident thresholds these arguments stand for.
    pub fn incidents(&self) -> IncidentConfig {
        self.tracker.incidents()
    }

    /// How the table is drawn: `terminal` when stdout is one (colour, a flush per row),
    /// `width` the terminal's the output lands on (else `COLUMNS`, else none), `live` for a
    /// live run (rows as decided), `env` reads an environment variable.
    pub fn table(
        &self,
        terminal: bool,
        width: Option<usize>,
        live: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> connlens::output::TableOptions {
        let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
        let color = match self.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                terminal && !set("NO_COLOR") && env("TERM").as_deref() != Some("dumb")
            }
        };
        let width = width.or_else(|| env("COLUMNS").and_then(|c| c.parse().ok()));
        connlens::output::TableOptions {
            width: width.filter(|w| *w > 0),
            color,
            all: self.all || !self.filter.verdict.is_empty(),
            // An attempt is decided at most --syn-timeout after its last SYN, an NXDOMAIN
            // held up to 5 s more (search lists): rows wait that long to be put in order.
            order_window: (!live).then(|| Duration::from_secs_f64(self.tracker.syn_timeout + 5.0)),
            flush_each: terminal || live,
        }
    }

    /// The tracker settings these arguments stand for.
    pub fn tracker(&self) -> TrackerConfig {
        self.tracker.tracker()
    }
}

impl TrackerArgs {
    /// The incident thresholds these arguments stand for.
    pub fn incidents(&self) -> IncidentConfig {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        IncidentConfig {
            window: Duration::from_secs_f64(self.incident_window),
            scan_targets: n(self.scan_targets),
            service_clients: n(self.service_down_clients),
            host_attempts: n(self.host_down_attempts),
            overload_attempts: n(self.overload_attempts),
        }
    }

    /// The tracker settings these arguments stand for.
    pub fn tracker(&self) -> TrackerConfig {
        TrackerConfig {
            syn_timeout: Duration::from_secs_f64(self.syn_timeout),
            idle_timeout: Duration::from_secs_f64(self.idle_timeout),
            max_flows: usize::try_from(self.max_flows).unwrap_or(usize::MAX),
            split_vlans: self.split_vlans,
            one_way: self.one_way_ports(),
            ..TrackerConfig::default()
        }
    }

    /// The built-in one-way ports edited by every `--one-way` value, in order.
    pub fn one_way_ports(&self) -> OneWayPorts {
        let mut ports = OneWayPorts::built_in();
        for spec in &self.one_way {
            // Checked when parsed: an error here cannot happen, and would change nothing.
            let _ = ports.apply(spec);
        }
        ports
    }
}

impl AnalyzeArgs {
    /// The library settings these arguments stand for.
    pub fn config(&self) -> AnalyzeConfig {
        AnalyzeConfig {
            tracker: self.common.tracker(),
            incidents: self.common.incidents(),
            summary: !self.common.no_summary,
            threads: usize::from(self.threads),
            read_filter: self.common.filter.read_filter.clone(),
            filter: self.common.filter.filter(),
        }
    }
}

impl LiveArgs {
    /// The capture settings.
    pub fn capture(&self) -> LiveConfig {
        let filter = self.filter.join(" ");
        LiveConfig {
            interface: self.interface.clone(),
            filter: if filter.trim().is_empty() { None } else { Some(filter) },
            snaplen: self.snaplen,
            buffer_size: self.buffer_size,
        }
    }

    /// The run settings; `stop` is the flag the signal handlers set.
    pub fn options(&self, stop: Arc<AtomicBool>) -> LiveOptions {
        LiveOptions {
            tracker: self.common.tracker(),
            incidents: self.common.incidents(),
            summary: !self.common.no_summary,
            duration: self.duration.map(std::time::Duration::from_secs_f64),
            count: self.count,
            filter: self.common.filter.filter(),
            stop,
            metrics: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_are_a_table_and_5_seconds() {
        let a = Args::try_parse_from(["connlens", "analyze", "x.pcap"]).unwrap();
        let Command::Analyze(a) = a.command else { panic!("not analyze") };
        assert_eq!(a.common.format(), Format::Table, "a table in a pipe too, as tcpdump's text");
        assert_eq!(a.config().tracker.syn_timeout, Duration::from_secs_f64(5.0));
    }

    #[test]
    fn live_joins_filter_words_and_has_defaults() {
        let a =
            Args::try_parse_from(["connlens", "live", "-i", "eth0", "host", "10.1.2.3"]).unwrap();
        let Command::Live(a) = a.command else { panic!("not live") };
        let c = a.capture();
        assert_eq!(c.interface.as_deref(), Some("eth0"));
        assert_eq!(c.filter.as_deref(), Some("host 10.1.2.3"));
        assert_eq!(c.snaplen, connlens::capture::live::DEFAULT_SNAPLEN);
        let a = Args::try_parse_from(["connlens", "live", "--count", "3", "-w", "e.pcap"]).unwrap();
        let Command::Live(a) = a.command else { panic!("not live") };
        assert_eq!(a.capture().filter, None);
        assert_eq!(a.count, Some(3));
        assert!(Args::try_parse_from(["connlens", "live", "--count", "0"]).is_err());
    }

    /// As with tcpdump (GNU getopt permutes), options may follow the filter words, and the
    /// words around them are one filter; `--` ends the options for a filter word that starts
    /// with a hyphen.
    #[test]
    fn live_options_may_follow_the_filter_words() {
        let live = |args: &[&str]| {
            let mut all = vec!["connlens", "live"];
            all.extend_from_slice(args);
            let Command::Live(a) = Args::try_parse_from(all).unwrap().command else {
                panic!("not live")
            };
            a
        };
        let a = live(&["-i", "eth0", "tcp", "--duration", "1"]);
        assert_eq!(a.capture().filter.as_deref(), Some("tcp"));
        assert_eq!(a.duration, Some(1.0));
        let a = live(&["tcp", "port", "80", "--count", "2", "-w", "e.pcap"]);
        assert_eq!(a.capture().filter.as_deref(), Some("tcp port 80"));
        assert_eq!((a.count, a.write.as_deref()), (Some(2), Some(std::path::Path::new("e.pcap"))));
        let a = live(&["tcp", "--count", "2", "and", "port", "80"]);
        assert_eq!(a.capture().filter.as_deref(), Some("tcp and port 80"));
        let a = live(&["--", "tcp", "--duration"]);
        assert_eq!(a.capture().filter.as_deref(), Some("tcp --duration"));
        assert_eq!(a.duration, None);
    }

    /// The top-level help names every verdict word, from the list itself.
    #[test]
    fn analyze_about_names_every_verdict() {
        let about = about_analyze();
        for k in VerdictKind::ALL {
            assert!(about.contains(k.as_str()), "{} missing from: {about}", k.as_str());
        }
    }

    #[test]
    fn one_way_edits_the_built_in_list_in_order() {
        let ports = |args: &[&str]| {
            let mut all = vec!["connlens", "analyze"];
            all.extend_from_slice(args);
            all.push("x.pcap");
            let Command::Analyze(a) = Args::try_parse_from(all).unwrap().command else {
                panic!("not analyze")
            };
            a.config().tracker.one_way
        };
        let built_in = ports(&[]);
        assert_eq!(built_in, OneWayPorts::built_in());
        let p = ports(&["--one-way", "5140,-69", "--one-way", "7000-7002"]);
        assert!(p.contains(5140) && !p.contains(69) && p.contains(514) && p.contains(7001));
        let p = ports(&["--one-way=-514"]);
        assert!(!p.contains(514) && p.contains(4789));
        let p = ports(&["--one-way", "-514"]);
        assert!(!p.contains(514), "a leading hyphen is a value, not a flag");
        let p = ports(&["--one-way", "none,514"]);
        assert_eq!(p.ranges(), vec![(514, 514)]);
        for bad in ["", "abc", "0", "65536", "10-5", "1,,2", "-", "5-", "none5"] {
            let e = Args::try_parse_from(["connlens", "analyze", "--one-way", bad, "x"])
                .err()
                .unwrap_or_else(|| panic!("`{bad}` accepted"));
            assert!(e.to_string().contains("--one-way"), "{bad}: {e}");
        }
        for sub in [&["live"][..], &["report", "-o", "r.html", "x.pcap"]] {
            let mut all = vec!["connlens"];
            all.extend_from_slice(sub);
            all.extend_from_slice(&["--one-way", "none"]);
            assert!(Args::try_parse_from(all).is_ok(), "{sub:?}");
        }
    }

    /// Colour on a terminal unless NO_COLOR or TERM=dumb; --color always/never win; no
    /// colour in a pipe; failures only unless -a or --verdict.
    #[test]
    fn table_colour_width_and_rows() {
        let common = |args: &[&str]| {
            let mut all = vec!["connlens", "analyze"];
            all.extend_from_slice(args);
            all.push("x.pcap");
            let Command::Analyze(a) = Args::try_parse_from(all).unwrap().command else {
                panic!("not analyze")
            };
            a.common
        };
        let none = |_: &str| None;
        let no_color = |k: &str| (k == "NO_COLOR").then(|| "1".to_string());
        let dumb = |k: &str| (k == "TERM").then(|| "dumb".to_string());
        let c = common(&[]);
        assert!(c.table(true, Some(80), false, none).color);
        assert!(!c.table(false, Some(80), false, none).color, "no colour in a pipe");
        assert!(!c.table(true, None, false, no_color).color);
        assert!(!c.table(true, None, false, dumb).color);
        assert!(common(&["--color", "always"]).table(false, None, false, no_color).color);
        assert!(!common(&["--color", "never"]).table(true, None, false, none).color);
        let cols = |k: &str| (k == "COLUMNS").then(|| "100".to_string());
        assert_eq!(c.table(false, None, false, cols).width, Some(100));
        assert_eq!(c.table(false, Some(90), false, cols).width, Some(90));
        assert!(!c.table(true, None, false, none).all);
        assert!(common(&["-a"]).table(true, None, false, none).all);
        assert!(common(&["--verdict", "established"]).table(true, None, false, none).all);
        assert!(c.table(true, None, true, none).order_window.is_none(), "live: as decided");
    }

    #[test]
    fn rejects_nonsense_timeouts() {
        assert!(Args::try_parse_from(["connlens", "analyze", "--syn-timeout", "-1", "x"]).is_err());
        assert!(
            Args::try_parse_from(["connlens", "analyze", "--syn-timeout", "nan", "x"]).is_err()
        );
        assert!(Args::try_parse_from(["connlens", "analyze", "--max-flows", "0", "x"]).is_err());
    }
}
