//! Writes every scenario of `connlens::synth::scenarios` to `fixtures/generated/<name>/`
//! (the capture and a README), plus the index `fixtures/generated/README.md`.
//!
//! The captures are checked in and `tests/generated_fixtures.rs` compares them with what the
//! generator writes now, so run this after changing a scenario and commit the result:
//!
//! ```sh
//! cargo run --example gen_fixtures
//! ```

use std::fs;
use std::path::Path;

use connlens::synth::scenarios;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("generated");
    let all = scenarios::all();
    for s in &all {
        let dir = root.join(s.name);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(s.file_name), &s.bytes)?;
        fs::write(dir.join("README.md"), s.readme())?;
        println!("{:<24} {:>5} bytes  {} attempts", s.name, s.bytes.len(), s.attempts.len());
    }
    fs::write(root.join("README.md"), scenarios::index(&all))?;
    Ok(())
}
