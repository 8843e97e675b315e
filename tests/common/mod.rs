//! What the end-to-end tests share: finding the fixture scenarios.

use std::fs;
use std::path::{Path, PathBuf};

/// Scenario folders `fixtures/<set>/<scenario>/` holding a capture and its expected output.
pub fn scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut found = Vec::new();
    for set in fs::read_dir(&root).unwrap() {
        let set = set.unwrap().path();
        if !set.is_dir() {
            continue;
        }
        for scenario in fs::read_dir(&set).unwrap() {
            let dir = scenario.unwrap().path();
            if dir.join("expected.jsonl").exists() {
                found.push(dir);
            }
        }
    }
    found.sort();
    found
}

/// The capture file of a scenario folder.
pub fn capture_in(dir: &Path) -> String {
    for name in ["input.pcap", "input.pcapng"] {
        if dir.join(name).exists() {
            return name.to_string();
        }
    }
    panic!("{}: no input.pcap or input.pcapng", dir.display());
}

/// Extra arguments a scenario asks for, one per line in `args` (e.g. `--split-vlans`).
pub fn args_of(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("args"))
        .map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}
