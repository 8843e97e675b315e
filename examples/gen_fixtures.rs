//! Writes every scenario of `connlens::synth::scenarios` to `fixtures/generated/<name>/`
//! (the capture, its `args` file when it has arguments, and a README), plus the index
//! `fixtures/generated/README.md`.
//!
//! The captures are checked in and `tests/generated_fixtures.rs` compares them with what the
//! generator writes now, so run this after changing a scenario and commit the result:
//!
//! ```sh
//! cargo run --example gen_fixtures
//! ```
//!
//! It first analyzes every new capture with the `connlens` binary of the same build (it builds
//! it) and refuses to write anything when the output departs from a scenario's declaration:
//! the READMEs state the declarations, and a capture that does not show what its scenario says
//! is a bug in the scenario or in connlens, to be decided by reading the packets.
//!
//! `gen_fixtures --check NAME OUTPUT...` only checks: each `OUTPUT` (connlens' JSON lines for
//! scenario `NAME`'s capture) against `NAME`'s declaration. `fixtures/bless.sh` runs it before
//! it writes any `expected.jsonl`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use connlens::synth::scenarios::{self, Disagreement, Scenario};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = scenarios::all();
    let result = match args.first().map(String::as_str) {
        None => generate(&all),
        Some("--check") => check(&all, &args[1..]),
        Some(_) => Err("usage: gen_fixtures [--check NAME OUTPUT...]".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_fixtures: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Refuses with every disagreement, if there are any.
fn refuse_on(found: Vec<Disagreement>, what: &str) -> Result<(), String> {
    if found.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = found.iter().map(|d| format!("  {d}")).collect();
    Err(format!(
        "connlens' output departs from the declarations in src/synth/scenarios.rs, so {what}:\n{}\n\
         Read the packets (tcpdump -nr) and fix whichever is wrong: the declaration, or connlens \
         (then mark the attempt with `but_connlens_says` until it is fixed).",
        list.join("\n")
    ))
}

fn check(all: &[Scenario], pairs: &[String]) -> Result<(), String> {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err("usage: gen_fixtures --check NAME OUTPUT [NAME OUTPUT...]".to_string());
    }
    let mut found = Vec::new();
    for pair in pairs.chunks(2) {
        let s = all
            .iter()
            .find(|s| s.name == pair[0])
            .ok_or_else(|| format!("no scenario named {}", pair[0]))?;
        let out = fs::read_to_string(&pair[1]).map_err(|e| format!("{}: {e}", pair[1]))?;
        found.extend(s.disagreements(&out));
    }
    refuse_on(found, "nothing is blessed")
}

fn generate(all: &[Scenario]) -> Result<(), String> {
    let connlens = build_connlens()?;
    let scratch =
        std::env::temp_dir().join(format!("connlens-gen-fixtures-{}", std::process::id()));
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut found = Vec::new();
    for s in all {
        let capture = scratch.join(s.file_name);
        fs::write(&capture, &s.bytes).map_err(|e| format!("{}: {e}", capture.display()))?;
        let out = Command::new(&connlens)
            .current_dir(&scratch)
            .args(["analyze", "--format", "jsonl"])
            .args(s.args)
            .arg(s.file_name)
            .output()
            .map_err(|e| format!("{}: {e}", connlens.display()))?;
        if !out.status.success() {
            return Err(format!("{}: {}", s.name, String::from_utf8_lossy(&out.stderr)));
        }
        found.extend(s.disagreements(&String::from_utf8_lossy(&out.stdout)));
    }
    let _ = fs::remove_dir_all(&scratch);
    refuse_on(found, "no fixture is written")?;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("generated");
    let write = |path: PathBuf, bytes: &[u8]| {
        fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    for s in all {
        let dir = root.join(s.name);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write(dir.join(s.file_name), &s.bytes)?;
        write(dir.join("README.md"), s.readme().as_bytes())?;
        if s.args.is_empty() {
            let _ = fs::remove_file(dir.join("args"));
        } else {
            write(dir.join("args"), format!("{}\n", s.args.join("\n")).as_bytes())?;
        }
        println!("{:<32} {:>5} bytes  {} attempts", s.name, s.bytes.len(), s.attempts.len());
    }
    write(root.join("README.md"), scenarios::index(all).as_bytes())
}

/// The `connlens` binary beside this example (`target/<profile>/`), built first when run by
/// cargo, so that the check uses the code of this build.
fn build_connlens() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/examples/gen_fixtures -> target/<profile>
    let profile_dir = exe.parent().and_then(Path::parent).ok_or("no target directory")?;
    if let Ok(cargo) = std::env::var("CARGO") {
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--bin", "connlens", "--profile", profile])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err("cargo build --bin connlens failed".to_string());
        }
    }
    let bin = profile_dir.join(format!("connlens{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} not built: run `cargo build` first", bin.display()))
    }
}
