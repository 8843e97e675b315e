//! How fast connlens' own capture reader goes, next to libpcap on the same file.
//!
//! ```text
//! read_speed FILE [RUNS]
//! ```
//!
//! connlens reads files itself (to name the byte offset where a damaged file stops being
//! readable); this measures whether that costs speed against libpcap, the reader tcpdump and
//! Wireshark's tools use. Both loops only count packets and captured bytes, touching each
//! frame's length, so the figure is the reader's own cost. Each reader runs `RUNS` times
//! (default 3, alternating) and the median is printed; run it on a file already in the page
//! cache (`cat FILE > /dev/null` first) to compare readers rather than disks.
//!
//! Output, one line per reader, for scripts:
//! `reader=NAME packets=N bytes=N seconds=S mb_per_s=X packets_per_s=Y`

use std::fs::File;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use connlens::capture::CaptureReader;

/// Packets and captured bytes counted by one pass.
type Count = (u64, u64);

fn ours(path: &Path) -> Result<Count, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = CaptureReader::new(file, 0).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut packets, mut bytes) = (0u64, 0u64);
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                packets += 1;
                bytes += frame.data.len() as u64;
            }
            Ok(None) => return Ok((packets, bytes)),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
}

fn libpcap(path: &Path) -> Result<Count, String> {
    let mut cap =
        pcap::Capture::from_file(path).map_err(|e| format!("{}: libpcap: {e}", path.display()))?;
    let (mut packets, mut bytes) = (0u64, 0u64);
    loop {
        match cap.next_packet() {
            Ok(p) => {
                packets += 1;
                bytes += p.data.len() as u64;
            }
            Err(pcap::Error::NoMorePackets) => return Ok((packets, bytes)),
            Err(e) => return Err(format!("{}: libpcap: {e}", path.display())),
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: read_speed FILE [RUNS]");
        return ExitCode::from(2);
    };
    let path = Path::new(&path);
    let runs: usize = args.next().and_then(|r| r.to_str()?.parse().ok()).unwrap_or(3).max(1);
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);

    type Reader = fn(&Path) -> Result<Count, String>;
    let readers: [(&str, Reader); 2] = [("connlens", ours), ("libpcap", libpcap)];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); readers.len()];
    let mut counts = [(0, 0); 2];
    for _ in 0..runs {
        for (i, (_, read)) in readers.iter().enumerate() {
            let start = Instant::now();
            match read(path) {
                Ok(c) => counts[i] = c,
                Err(e) => {
                    eprintln!("read_speed: {e}");
                    return ExitCode::FAILURE;
                }
            }
            times[i].push(start.elapsed().as_secs_f64());
        }
    }
    for (i, (name, _)) in readers.iter().enumerate() {
        times[i].sort_by(f64::total_cmp);
        let secs = times[i][times[i].len() / 2];
        let (packets, bytes) = counts[i];
        println!(
            "reader={name} packets={packets} bytes={bytes} seconds={secs:.4} mb_per_s={:.0} \
             packets_per_s={:.0}",
            file_bytes as f64 / 1e6 / secs,
            packets as f64 / secs
        );
    }
    if counts[0] != counts[1] {
        eprintln!(
            "read_speed: the readers disagree: connlens {:?}, libpcap {:?}",
            counts[0], counts[1]
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
