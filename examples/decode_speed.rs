//! How fast the decoder goes on its own: every frame of a capture, already in memory,
//! decoded into batches as the capture thread does, without reading, tracking or output.
//!
//! ```text
//! decode_speed FILE [PASSES]
//! ```
//!
//! The capture's frames are read into memory once; then each pass decodes them all
//! (default 5 passes) and the fastest pass is printed, so the figure is the decoder's cost
//! and not the disk's or the page cache's. Compare two builds on the same file to see what
//! a change to the decoder costs.
//!
//! Output, one line, for scripts:
//! `frames=N decoded=N skipped=N seconds=S ns_per_frame=X`

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use connlens::capture::{CaptureReader, Frame, LinkType, Origin};
use connlens::decode::{Packet, decode_into};
use connlens::time::Timestamp;

/// One frame's metadata, its bytes being a range of one buffer.
struct Stored {
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    bytes: Range<usize>,
    origin: Origin,
}

fn load(path: &Path) -> Result<(Vec<Stored>, Vec<u8>), String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = CaptureReader::new(file, 0).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut frames, mut data) = (Vec::new(), Vec::new());
    loop {
        match reader.next_frame() {
            Ok(Some(f)) => {
                let start = data.len();
                data.extend_from_slice(f.data);
                frames.push(Stored {
                    ts: f.ts,
                    link: f.link,
                    orig_len: f.orig_len,
                    bytes: start..data.len(),
                    origin: f.origin,
                });
            }
            Ok(None) => return Ok((frames, data)),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: decode_speed FILE [PASSES]");
        return ExitCode::from(2);
    };
    let passes: usize = args.next().and_then(|r| r.to_str()?.parse().ok()).unwrap_or(5).max(1);
    let (frames, data) = match load(Path::new(&path)) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("decode_speed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut packets: Vec<Packet> = Vec::with_capacity(1024);
    let mut best = f64::MAX;
    let mut decoded = 0u64;
    for _ in 0..passes {
        decoded = 0;
        let start = Instant::now();
        for s in &frames {
            let frame = Frame {
                ts: s.ts,
                link: s.link,
                orig_len: s.orig_len,
                data: data.get(s.bytes.clone()).unwrap_or(&[]),
                origin: s.origin,
            };
            if decode_into(&frame, &mut packets).is_ok() {
                decoded += 1;
            }
            if packets.len() == 1024 {
                std::hint::black_box(&packets);
                packets.clear();
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let n = frames.len() as u64;
    println!(
        "frames={n} decoded={decoded} skipped={} seconds={best:.4} ns_per_frame={:.2}",
        n - decoded,
        best * 1e9 / n.max(1) as f64
    );
    ExitCode::SUCCESS
}
