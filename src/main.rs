//! The `connlens` binary: parses arguments, wires the library's parts together, and maps the
//! outcome to an exit status (0: every input read to its end; 1: some input could not be
//! read, every verdict up to the damage still printed; 2: usage error).

mod cli;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use connlens::capture::{InputSpec, MergedSource, expand_inputs};
use connlens::output::{progress, sink_for};
use connlens::pipeline::analyze;

use cli::{AnalyzeArgs, Args, Command};

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Analyze(a) => run_analyze(&a),
    }
}

fn error_line(msg: impl std::fmt::Display) {
    eprintln!("connlens: error: {msg}");
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

fn run_analyze(a: &AnalyzeArgs) -> ExitCode {
    let (specs, arg_errors) = expand_each(&a.inputs);
    for e in &arg_errors {
        error_line(e);
    }
    if specs.is_empty() {
        return ExitCode::from(1);
    }
    let (source, open_errors) = MergedSource::open(&specs);
    let bar = progress::for_bytes(source.total_bytes());
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    let mut sink = sink_for(a.format(terminal), stdout, terminal);
    let outcome = match analyze(source, open_errors, a.config(), sink.as_mut(), bar) {
        Ok(o) => o,
        Err(e) => {
            error_line(format_args!("writing the output: {e}"));
            return ExitCode::from(1);
        }
    };
    if outcome.output_closed {
        return ExitCode::SUCCESS;
    }
    for e in &outcome.stats.errors {
        error_line(e);
    }
    if arg_errors.is_empty() && outcome.input_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
