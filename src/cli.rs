//! Command-line arguments (what was typed) and their conversion into the library's settings.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use connlens::output::Format;
use connlens::pipeline::AnalyzeConfig;
use connlens::time::Duration;
use connlens::track::TrackerConfig;

/// Explains failed network connections from packet captures.
#[derive(Parser, Debug)]
#[command(name = "connlens", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Give every connection attempt in capture files a verdict: established, refused,
    /// unreachable, time-exceeded, unanswered, answered (UDP) or partial, with its cause,
    /// evidence and a hint.
    Analyze(AnalyzeArgs),
}

/// Stream formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Fixed-width table for people (the default on a terminal).
    Table,
    /// One JSON object per line (the default when stdout is not a terminal).
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

    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(short, long, value_enum)]
    pub format: Option<FormatArg>,

    /// Seconds an attempt waits after its last SYN (or UDP request) before it is `unanswered`.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = positive_seconds)]
    pub syn_timeout: f64,

    /// Seconds an established conversation may be silent before its verdict is given (`idle`).
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = positive_seconds)]
    pub idle_timeout: f64,

    /// Most conversations tracked at once; beyond it the one whose timer runs out first gets
    /// its verdict early (counted in the summary). About 400 bytes each.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_flows: u64,

    /// Treat the same 5-tuple on different VLANs as different conversations (off: the two
    /// directions of one conversation may carry different tags on a span port).
    #[arg(long)]
    pub split_vlans: bool,

    /// Do not print the end-of-run summary.
    #[arg(long)]
    pub no_summary: bool,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v < 1e9 {
        Ok(v)
    } else {
        Err(format!("`{s}`: give a number of seconds above 0"))
    }
}

impl AnalyzeArgs {
    /// The format to use: the one asked for, else table on a terminal and jsonl otherwise.
    pub fn format(&self, stdout_is_terminal: bool) -> Format {
        match self.format {
            Some(FormatArg::Table) => Format::Table,
            Some(FormatArg::Jsonl) => Format::Jsonl,
            Some(FormatArg::Csv) => Format::Csv,
            None if stdout_is_terminal => Format::Table,
            None => Format::Jsonl,
        }
    }

    /// The library settings these arguments stand for.
    pub fn config(&self) -> AnalyzeConfig {
        AnalyzeConfig {
            tracker: TrackerConfig {
                syn_timeout: Duration::from_secs_f64(self.syn_timeout),
                idle_timeout: Duration::from_secs_f64(self.idle_timeout),
                max_flows: usize::try_from(self.max_flows).unwrap_or(usize::MAX),
                split_vlans: self.split_vlans,
                ..TrackerConfig::default()
            },
            summary: !self.no_summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_off_a_terminal_are_jsonl_and_5_seconds() {
        let a = Args::try_parse_from(["connlens", "analyze", "x.pcap"]).unwrap();
        let Command::Analyze(a) = a.command;
        assert_eq!(a.format(false), Format::Jsonl);
        assert_eq!(a.format(true), Format::Table);
        assert_eq!(a.config().tracker.syn_timeout, Duration::from_secs_f64(5.0));
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
