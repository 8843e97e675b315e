//! The checked-in captures under `fixtures/generated/` are exactly what the scenario generator
//! writes now, so a change to the builders, writers or scenarios cannot leave stale fixtures
//! (and their expected verdicts) behind unnoticed; and what connlens says of each capture, and
//! what `expected.jsonl` records, is what the scenario declares of every attempt (verdict and
//! cause), so the golden files cannot drift from the declarations.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use connlens::synth::scenarios;

const REGENERATE: &str = "regenerate with `cargo run --example gen_fixtures`, review the diff \
                          (and each scenario's expected verdicts), and commit it";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("generated")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", path.display()))
}

#[test]
fn checked_in_captures_match_the_generator() {
    for s in scenarios::all() {
        let path = root().join(s.name).join(s.file_name);
        let on_disk = read(&path);
        if on_disk != s.bytes {
            let at = on_disk.iter().zip(&s.bytes).position(|(a, b)| a != b);
            panic!(
                "{} differs from the generator ({} bytes on disk, {} generated, first \
                 difference at byte {}); {REGENERATE}",
                path.display(),
                on_disk.len(),
                s.bytes.len(),
                at.map_or_else(|| "end of the shorter".to_string(), |i| i.to_string()),
            );
        }
    }
}

#[test]
fn checked_in_readmes_match_the_generator() {
    let all = scenarios::all();
    for s in &all {
        let path = root().join(s.name).join("README.md");
        assert!(read(&path) == s.readme().as_bytes(), "{} is stale; {REGENERATE}", path.display());
    }
    let path = root().join("README.md");
    assert!(
        read(&path) == scenarios::index(&all).as_bytes(),
        "{} is stale; {REGENERATE}",
        path.display()
    );
}

#[test]
fn no_directory_without_a_scenario() {
    let names: Vec<&str> = scenarios::all().iter().map(|s| s.name).collect();
    for entry in fs::read_dir(root()).expect("fixtures/generated exists") {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                names.contains(&name.as_str()),
                "fixtures/generated/{name} has no scenario in src/synth/scenarios.rs; remove it \
                 or add the scenario, then {REGENERATE}"
            );
        }
    }
}

#[test]
fn connlens_and_the_expected_files_give_every_attempt_its_declared_verdict() {
    let mut failures = Vec::new();
    for s in scenarios::all() {
        let dir = root().join(s.name);
        // The `args` file: one argument a line, as `fixtures/bless.sh` reads it.
        let args: Vec<String> = fs::read_to_string(dir.join("args"))
            .map(|a| a.lines().map(String::from).collect())
            .unwrap_or_default();
        if args != s.args {
            failures.push(format!(
                "{}/args holds {args:?}, the scenario declares {:?}; {REGENERATE}",
                dir.display(),
                s.args
            ));
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .current_dir(&dir)
            .args(["analyze", "--format", "jsonl"])
            .args(s.args)
            .arg(s.file_name)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", s.name, String::from_utf8_lossy(&out.stderr));
        let actual = String::from_utf8(out.stdout).unwrap();
        for d in s.disagreements(&actual) {
            failures.push(format!("connlens: {d}"));
        }
        let expected = String::from_utf8(read(&dir.join("expected.jsonl"))).unwrap();
        for d in s.disagreements(&expected) {
            failures.push(format!("{}/expected.jsonl: {d}", dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "the output departs from the scenarios' declarations in src/synth/scenarios.rs; read \
         the packets (tcpdump -nr) and fix whichever is wrong:\n{}",
        failures.join("\n")
    );
}
