//! Every fixture capture under `fixtures/<set>/<scenario>/` is analyzed and its whole output
//! (every flow line and the summary) compared with the `expected.jsonl` checked in beside it.
//! Regenerate the expected files with `fixtures/bless.sh` after a deliberate change, and read
//! the diff before committing it.

use std::fs;
use std::process::Command;

mod common;
use common::{args_of, capture_in, scenarios};

#[test]
fn every_fixture_gives_exactly_its_expected_verdicts() {
    let all = scenarios();
    assert!(all.len() >= 7, "fixtures missing: found {}", all.len());
    let mut failures = Vec::new();
    for dir in &all {
        let input = capture_in(dir);
        let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .current_dir(dir)
            .args(["analyze", "--format", "jsonl"])
            .args(args_of(dir))
            .arg(&input)
            .output()
            .unwrap();
        let expected = fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        let actual = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failures.push(format!(
                "{}: exit {:?}: {}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        } else if actual != expected {
            let diff: Vec<String> = expected
                .lines()
                .zip(actual.lines())
                .filter(|(e, a)| e != a)
                .take(3)
                .map(|(e, a)| format!("  expected: {e}\n  actual:   {a}"))
                .collect();
            failures.push(format!(
                "{}: output differs ({} expected lines, {} actual)\n{}",
                dir.display(),
                expected.lines().count(),
                actual.lines().count(),
                diff.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
