//! The benchmark's generated captures (`examples/gencap.rs`: the realistic mix, the
//! small-packet flood, the flood of distinct SYNs), at a size a test can afford: connlens'
//! verdicts must match the generator's expected ones (at least 99.9 %, verdict and cause, by
//! `bench/compare.py`), on one tracker and on several. Speed is measured by `bench/run.sh`,
//! never asserted here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `gencap` example, which `cargo test` builds beside the test binaries.
fn gencap() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/examples/gencap
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let path = profile.join("examples").join("gencap");
    assert!(
        path.exists(),
        "{} not built: run the whole `cargo test` (it builds the examples) or `cargo build --example gencap`",
        path.display()
    );
    path
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Generates `kind` with `args`, analyzes it with each of `threads`, and checks the verdicts.
fn check(kind: &str, args: &[&str], threads: &[usize]) {
    let dir = std::env::temp_dir().join(format!("connlens-gen-{kind}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("input.pcap");
    let expected = dir.join("expected.jsonl");
    let generated = Command::new(gencap())
        .args(["--kind", kind, "--seed", "7"])
        .args(args)
        .arg("--out")
        .arg(&pcap)
        .arg("--expected")
        .arg(&expected)
        .output()
        .unwrap();
    assert!(generated.status.success(), "gencap: {}", String::from_utf8_lossy(&generated.stderr));
    for &n in threads {
        let verdicts = dir.join(format!("verdicts-{n}.jsonl"));
        let out = Command::new(env!("CARGO_BIN_EXE_connlens"))
            .args(["analyze", "--format", "jsonl", "--threads", &n.to_string()])
            .arg(&pcap)
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&verdicts, &out.stdout).unwrap();
        let compare = Command::new("python3")
            .arg(root().join("bench/compare.py"))
            .arg(&expected)
            .arg(&verdicts)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&compare.stdout);
        assert!(compare.status.success(), "{kind}, --threads {n}: below 99.9 %:\n{report}");
        // Every expected attempt was found (none missing, none extra), cause included.
        for line in ["missing (expected, absent): 0", "extra (not expected):      0"] {
            assert!(report.contains(line), "{kind}, --threads {n}:\n{report}");
        }
        assert!(report.contains("share verdict + cause:     100.000 %"), "{kind}:\n{report}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_generated_mix_gets_its_expected_verdicts() {
    check("mix", &["--size", "12M"], &[1, 2]);
}

#[test]
fn the_generated_flood_gets_its_expected_verdicts() {
    check("flood", &["--size", "4M"], &[1, 2]);
}

#[test]
fn the_generated_syn_flood_gets_its_expected_verdicts() {
    check("synflood", &["--flows", "30000"], &[1, 3]);
}
