//! The `connlens` binary: parses arguments, wires the library's parts together, and maps the
//! outcome to an exit status (0: every input read to its end; 1: some input could not be
//! read, every verdict up to the damage still printed; 2: usage error).

mod cli;
mod privileges;
mod progress;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use connlens::capture::LiveCapture;
use connlens::capture::{InputSpec, MergedSource, expand_inputs};
use connlens::output::sink_for;
use connlens::pipeline::{Evidence, Outcome, Progress, analyze, live};

use progress::Bar;

use cli::{AnalyzeArgs, Command, LiveArgs, ReportArgs, ReportFormatArg};

fn main() -> ExitCode {
    let args = cli::parse();
    match args.command {
        Command::Analyze(a) => run_analyze(&a),
        Command::Live(a) => run_live(&a),
        Command::Report(a) => run_report(&a),
    }
}

fn error_line(msg: impl std::fmt::Display) {
    eprintln!("connlens: error: {msg}");
}

/// The width of the terminal the table ends up on, in columns: stdout's, else (in a pipe to
/// `less`, `head` or `grep`, whose output lands on the same terminal) stderr's.
fn terminal_width() -> Option<usize> {
    rustix::termios::tcgetwinsize(io::stdout())
        .or_else(|_| rustix::termios::tcgetwinsize(io::stderr()))
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|w| *w > 0)
}

/// The sink for stdout in the format asked for; around the progress bar when there is one
/// on the same terminal.
fn sink_of(
    common: &cli::CommonArgs,
    terminal: bool,
    live: bool,
    bar: Option<indicatif::ProgressBar>,
) -> Box<dyn connlens::output::Sink> {
    fn with<W: io::Write + 'static>(
        out: W,
        common: &cli::CommonArgs,
        terminal: bool,
        live: bool,
    ) -> Box<dyn connlens::output::Sink> {
        match common.format() {
            connlens::output::Format::Table => {
                let opts =
                    common.table(terminal, terminal_width(), live, |k| std::env::var(k).ok());
                Box::new(connlens::output::TableSink::with_options(out, opts))
            }
            format => sink_for(format, out, terminal || live),
        }
    }
    match bar {
        Some(bar) if terminal => {
            with(progress::AroundBar::new(io::stdout(), bar), common, terminal, live)
        }
        _ => with(io::stdout(), common, terminal, live),
    }
}

/// The stdout sink, teed to the broker when --publish is given.
#[cfg(feature = "nats")]
fn publishing(
    common: &cli::CommonArgs,
    sink: Box<dyn connlens::output::Sink>,
) -> Result<Box<dyn connlens::output::Sink>, ExitCode> {
    match common.publish.options(|k| std::env::var(k).ok()) {
        Err(e) => {
            error_line(e);
            Err(ExitCode::from(2))
        }
        Ok(None) => Ok(sink),
        Ok(Some(opts)) => match connlens::publish::PublishSink::start(opts, sink) {
            Ok(s) => Ok(Box::new(s)),
            Err(e) => {
                error_line(format_args!("publishing: {e}"));
                Err(ExitCode::from(1))
            }
        },
    }
}

#[cfg(not(feature = "nats"))]
fn publishing(
    _: &cli::CommonArgs,
    sink: Box<dyn connlens::output::Sink>,
) -> Result<Box<dyn connlens::output::Sink>, ExitCode> {
    Ok(sink)
}

/// Expands each argument on its own, so one bad argument is reported and the rest still read.
fn expand_each(args: &[PathBuf]) -> (Vec<InputSpec>, Vec<String>) {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for arg in args {
        match expand_inputs(std::slice::from_ref(arg)) {
            Ok(found) => {
                for s in found {
                    if s == InputSpec::Stdin && specs.contains(&InputSpec::Stdin) {
                        errors.push("`-` (standard input) given more than once".to_string());
                    } else {
                        specs.push(s);
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    (specs, errors)
}

/// Checks a read filter (`--filter`) before anything is read: a mistake is a usage error.
fn check_read_filter(expr: Option<&str>) -> Result<(), ExitCode> {
    match expr.map(connlens::capture::ReadFilter::new) {
        Some(Err(e)) => {
            error_line(e);
            Err(ExitCode::from(2))
        }
        _ => Ok(()),
    }
}

/// Words that begin a tcpdump filter: an INPUT that is one of them and no file was meant as
/// a filter (`connlens analyze x.pcap port 80`), and the error says how to give one.
fn looks_like_filter(arg: &std::path::Path) -> bool {
    const WORDS: [&str; 24] = [
        "host",
        "net",
        "port",
        "portrange",
        "src",
        "dst",
        "tcp",
        "udp",
        "icmp",
        "icmp6",
        "ip",
        "ip6",
        "arp",
        "ether",
        "vlan",
        "not",
        "and",
        "or",
        "proto",
        "less",
        "greater",
        "len",
        "gateway",
        "!",
    ];
    !arg.exists() && arg.to_str().is_some_and(|s| WORDS.contains(&s))
}

/// Says what each warning says (an input with no decodable packet, …), on stderr.
fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("connlens: warning: {w}");
    }
}

fn run_analyze(a: &AnalyzeArgs) -> ExitCode {
    if let Err(code) = check_read_filter(a.common.filter.read_filter.as_deref()) {
        return code;
    }
    if let Some(word) = a.inputs.iter().find(|p| looks_like_filter(p)) {
        error_line(format_args!(
            "`{}` is not a file: give a read filter as one argument, --filter '{}'",
            word.display(),
            a.inputs
                .iter()
                .skip_while(|p| !looks_like_filter(p))
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ));
        return ExitCode::from(2);
    }
    let (specs, arg_errors) = expand_each(&a.inputs);
    for e in &arg_errors {
        error_line(e);
    }
    if specs.is_empty() {
        return ExitCode::from(1);
    }
    let (source, open_errors) = MergedSource::open(&specs);
    let bar = Bar::for_bytes(source.total_bytes());
    let terminal = io::stdout().is_terminal();
    let sink = sink_of(&a.common, terminal, false, bar.as_ref().map(Bar::handle));
    let mut sink = match publishing(&a.common, sink) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let bar = bar.map(|b| Box::new(b) as Box<dyn Progress>);
    let outcome = analyze(source, open_errors, a.config(), sink.as_mut(), bar);
    if a.timings
        && let Ok(o) = &outcome
    {
        eprintln!("connlens: timings: {}", o.timings);
    }
    exit_status(outcome, !arg_errors.is_empty())
}

/// The exit status of a run, after its input errors are printed (one line each): 0 when
/// everything was read (or the output was closed early), 1 otherwise.
fn exit_status(outcome: io::Result<Outcome>, other_errors: bool) -> ExitCode {
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            error_line(format_args!("writing the output: {e}"));
            return ExitCode::from(1);
        }
    };
    if outcome.output_closed {
        return ExitCode::SUCCESS;
    }
    warn_all(&outcome.stats.warnings);
    for e in &outcome.stats.errors {
        error_line(e);
    }
    if !other_errors && outcome.input_errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// `connlens live`: 0 after a clean stop (signal, --duration, --count); 1 when the capture
/// could not start (one line saying what to do) or failed on the way.
fn run_live(a: &LiveArgs) -> ExitCode {
    if a.common.filter.read_filter.is_some() {
        error_line(
            "live takes its filter as the words after the options, as tcpdump: `connlens live -i eth0 tcp port 443`",
        );
        return ExitCode::from(2);
    }
    // Ctrl-C and SIGTERM ask for a clean stop; a second one ends the process at once (the
    // shutdown hook is registered first so it only fires once the flag is already set).
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let armed = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&stop)));
        if let Err(e) = armed {
            error_line(format_args!("cannot install the signal handlers: {e}"));
            return ExitCode::from(1);
        }
    }
    let capture = match LiveCapture::open(&a.capture()) {
        Ok(c) => c,
        Err(e) => {
            error_line(e);
            return ExitCode::from(1);
        }
    };
    let evidence = match &a.write {
        None => None,
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(Evidence { name: path.display().to_string(), out: Box::new(f) }),
            Err(e) => {
                error_line(format_args!("{}: cannot create the capture file: {e}", path.display()));
                return ExitCode::from(1);
            }
        },
    };
    // Bound before the privileges go (a port below 1024 needs them); served after (the drop
    // must come before any thread starts).
    let metrics_listener = match a.metrics {
        None => None,
        Some(addr) => match std::net::TcpListener::bind(addr) {
            Ok(l) => Some(l),
            Err(e) => {
                error_line(format_args!("--metrics {addr}: cannot listen: {e}"));
                return ExitCode::from(1);
            }
        },
    };
    if let Err(e) = privileges::drop_privileges(&a.user) {
        error_line(e);
        return ExitCode::from(1);
    }
    let metrics = match metrics_listener {
        None => None,
        Some(listener) => {
            let m = Arc::new(connlens::metrics::Metrics::new(usize::from(a.metrics_top)));
            let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
            if let Err(e) = connlens::metrics::serve(listener, Arc::clone(&m)) {
                error_line(format_args!("--metrics: cannot start the server: {e}"));
                return ExitCode::from(1);
            }
            eprintln!("connlens: metrics on http://{local}/metrics");
            Some(m)
        }
    };
    let filter = capture.applied_filter().map(|f| format!(" (filter: {f})")).unwrap_or_default();
    eprintln!("connlens: listening on {}{filter}", capture.interface());
    // Live output is flushed verdict by verdict whatever stdout is: it is watched as it comes.
    let sink = sink_of(&a.common, io::stdout().is_terminal(), true, None);
    let sink = match publishing(&a.common, sink) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut options = a.options(stop);
    let mut sink = match &metrics {
        Some(m) => Box::new(connlens::metrics::MetricsSink::new(sink, Arc::clone(m))),
        None => sink,
    };
    options.metrics = metrics;
    exit_status(live(capture, evidence, options, sink.as_mut()), false)
}

/// Reads a `nats://HOST/STREAM` input into the report: one log input per sensor (in the order
/// the sensors first appear), each with its lines in stream order.
#[cfg(feature = "nats")]
fn report_stream(
    builder: &mut connlens::report::ReportBuilder,
    url: &str,
    a: &ReportArgs,
) -> Result<(), ExitCode> {
    use connlens::publish::{Auth, NatsUrl, read_stream, sensor_token};
    let parsed: NatsUrl = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            error_line(e);
            return Err(ExitCode::from(2));
        }
    };
    let Some(stream) = parsed.path.clone() else {
        error_line(format_args!("{url}: give the stream: nats://HOST[:PORT]/STREAM"));
        return Err(ExitCode::from(2));
    };
    let shown = format!("{}/{stream}", parsed.servers.join(","));
    let stored =
        match read_stream(&parsed.servers, &stream, &Auth::from_env(|k| std::env::var(k).ok())) {
            Ok(s) => s,
            Err(e) => {
                builder.add_input(&shown, "log");
                builder.input_error(format!("{shown}: {e}"));
                return Ok(());
            }
        };
    let wanted: Vec<String> = a.sensor.iter().map(|s| sensor_token(s)).collect();
    let mut sensors: Vec<(String, Vec<u8>)> = Vec::new();
    for m in stored {
        // SUBJECT.<sensor>.<type>: the sensor is the next-to-last token.
        let mut tokens = m.subject.rsplit('.');
        let sensor = tokens.nth(1).unwrap_or("?").to_string();
        if !wanted.is_empty() && !wanted.contains(&sensor) {
            continue;
        }
        let at = match sensors.iter().position(|(s, _)| *s == sensor) {
            Some(i) => i,
            None => {
                sensors.push((sensor, Vec::new()));
                sensors.len() - 1
            }
        };
        sensors[at].1.extend_from_slice(&m.payload);
        sensors[at].1.push(b'\n');
    }
    if sensors.is_empty() {
        builder.add_input(&shown, "log");
        builder.input_warning(format!("{shown}: no lines (of the sensors asked for)"));
    }
    for (sensor, lines) in sensors {
        let name = format!("{shown} sensor {sensor}");
        builder.add_input(&name, "log");
        if let Err(e) = builder.read_log(&name, lines.as_slice()) {
            builder.input_error(format!("{name}: {e}"));
        }
    }
    Ok(())
}

#[cfg(not(feature = "nats"))]
fn report_stream(
    _: &mut connlens::report::ReportBuilder,
    url: &str,
    _: &ReportArgs,
) -> Result<(), ExitCode> {
    error_line(format_args!("{url}: this connlens was built without the `nats` feature"));
    Err(ExitCode::from(2))
}

/// `connlens report`: 0 when every input was read in full, 1 when something was skipped (after
/// the report is written, with the problems in its inputs section and on stderr).
fn run_report(a: &ReportArgs) -> ExitCode {
    use connlens::report::inputs::{ReportInputs, sort_inputs};
    use connlens::report::{ReportBuilder, html, json, markdown};
    if a.output.as_os_str() == "-" && a.format.is_none() {
        error_line("give --format when the report goes to standard output");
        return ExitCode::from(2);
    }
    let format = match a.format() {
        Ok(f) => f,
        Err(e) => {
            error_line(e);
            return ExitCode::from(2);
        }
    };
    if let Err(code) = check_read_filter(a.filter.read_filter.as_deref()) {
        return code;
    }
    let (streams, files): (Vec<&PathBuf>, Vec<&PathBuf>) = a.inputs.iter().partition(|p| {
        p.to_str().is_some_and(|s| s.starts_with("nats://") || s.starts_with("tls://"))
    });
    let files: Vec<PathBuf> = files.into_iter().cloned().collect();
    let ReportInputs { captures, logs, errors: arg_errors } = sort_inputs(&files);
    let mut builder =
        ReportBuilder::new(a.filter()).join_within(a.join_within).only_sensors(a.sensor.clone());
    for url in streams {
        if let Err(code) = report_stream(&mut builder, url.to_str().unwrap_or_default(), a) {
            return code;
        }
    }
    let (specs, expand_errors) = expand_each(&captures);
    if !specs.is_empty() {
        let (source, open_errors) = MergedSource::open(&specs);
        for name in source.names() {
            builder.add_input(name, "capture");
        }
        let bar = Bar::boxed(source.total_bytes());
        match analyze(source, open_errors, a.config(), &mut builder, bar) {
            Ok(outcome) => {
                builder.add_packets(outcome.stats.frames);
                for (i, name) in outcome.stats.inputs.iter().enumerate() {
                    let counts = outcome.stats.per_input.get(i).copied().unwrap_or_default();
                    builder.input_packets(name, counts);
                }
                for w in outcome.stats.warnings {
                    warn_all(std::slice::from_ref(&w));
                    builder.input_warning(w);
                }
                for e in outcome.stats.errors {
                    builder.input_error(e);
                }
            }
            Err(e) => builder.input_error(format!("analysis stopped: {e}")),
        }
    }
    let log_bytes = logs.iter().filter_map(|l| std::fs::metadata(l).ok()).map(|m| m.len()).sum();
    let mut bar = if logs.is_empty() { None } else { Bar::for_bytes(Some(log_bytes)) };
    for log in &logs {
        let name = log.display().to_string();
        builder.add_input(&name, "log");
        match std::fs::File::open(log) {
            Ok(f) => {
                let read = match &bar {
                    Some(b) => builder.read_log(&name, b.wrap_read(f)),
                    None => builder.read_log(&name, f),
                };
                if let Err(e) = read {
                    builder.input_error(format!("{name}: {e}"));
                }
            }
            Err(e) => builder.input_error(format!("{name}: {e}")),
        }
    }
    if let Some(b) = &mut bar {
        b.finish();
    }
    for e in arg_errors.into_iter().chain(expand_errors) {
        builder.input_error(e);
    }
    let skipped = builder.has_errors();
    let report = builder.finish();
    let text = match format {
        ReportFormatArg::Html => html::render(&report),
        ReportFormatArg::Md => markdown::render(&report),
        ReportFormatArg::Json => json::render(&report),
    };
    let written = if a.output.as_os_str() == "-" {
        io::Write::write_all(&mut io::stdout().lock(), text.as_bytes())
    } else {
        std::fs::write(&a.output, text)
    };
    if let Err(e) = written {
        error_line(format_args!("{}: cannot write the report: {e}", a.output.display()));
        return ExitCode::from(1);
    }
    for e in report.errors() {
        error_line(e);
    }
    if a.output.as_os_str() != "-" {
        let what = match format {
            ReportFormatArg::Html => "HTML page",
            ReportFormatArg::Md => "Markdown report",
            ReportFormatArg::Json => "JSON report",
        };
        eprintln!(
            "connlens: wrote {} ({what}, {}, {})",
            a.output.display(),
            connlens::output::plural(report.attempts, "attempt", "attempts"),
            connlens::output::plural(report.failures, "failure", "failures")
        );
    }
    if skipped { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
