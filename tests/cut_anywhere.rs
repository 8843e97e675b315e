//! Cut anywhere: every fixture capture cut at every byte offset (a sample for the large one)
//! and analyzed through the library pipeline. Never a panic; an error naming the byte where
//! the damaged record starts unless the cut falls exactly on a record (block) boundary; and
//! every verdict that the full run decided on a packet before the cut comes out identical (a
//! verdict revised by a later conversation, a resolver's search-list step, only once that
//! conversation's packet is in too).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use connlens::capture::{CaptureReader, MergedSource, NamedInput};
use connlens::decode::decode;
use connlens::incident::Incident;
use connlens::output::{Inputs, Sink, Summary};
use connlens::pipeline::{AnalyzeConfig, analyze};
use connlens::track::Tracker;
use connlens::verdict::Verdict;

struct Collect(Vec<Verdict>);

impl Sink for Collect {
    fn verdict(&mut self, v: &Verdict, _: &Inputs) -> io::Result<()> {
        self.0.push(v.clone());
        Ok(())
    }
    fn incident(&mut self, _: &Incident) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: Option<&Summary>) -> io::Result<()> {
        Ok(())
    }
}

/// The settings of every run here: the defaults with room for 4 096 conversations instead of
/// 500 000. No fixture comes near that (each full run is checked to give the same verdicts
/// with the defaults), and the default table's presized index and timer heap would otherwise be
/// allocated and touched again for each of the ~13 000 cuts, which took most of this test's
/// time.
fn config() -> AnalyzeConfig {
    let mut config = AnalyzeConfig::default();
    config.tracker.max_flows = 4096;
    config
}

/// Verdicts and input errors of the pipeline over `bytes`.
fn run(bytes: &[u8]) -> (Vec<Verdict>, Vec<String>) {
    run_with(bytes, config())
}

fn run_with(bytes: &[u8], config: AnalyzeConfig) -> (Vec<Verdict>, Vec<String>) {
    let input = NamedInput {
        name: "cut".into(),
        input: Box::new(Cursor::new(bytes.to_vec())),
        size: Some(bytes.len() as u64),
    };
    let (source, open_errors) = MergedSource::from_inputs(vec![input]);
    let mut sink = Collect(Vec::new());
    let outcome =
        analyze(source, open_errors, config, &mut sink, None).expect("collecting never fails");
    (sink.0, outcome.stats.errors)
}

/// Offsets where a record (pcap) or block (pcapng) ends, the file header's end first.
fn boundaries(bytes: &[u8]) -> Vec<usize> {
    let le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    match &bytes[..4] {
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            // Each section header says its byte order (the byte-order magic after the length).
            let mut big = false;
            let mut at = 0;
            while at < bytes.len() {
                if bytes[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                    big = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
                }
                at += if big { be(at + 4) } else { le(at + 4) };
                out.push(at);
            }
        }
        m => {
            let big = m == [0xa1, 0xb2, 0xc3, 0xd4] || m == [0xa1, 0xb2, 0x3c, 0x4d];
            let mut at = 24;
            out.push(at);
            while at < bytes.len() {
                at += 16 + if big { be(at + 8) } else { le(at + 8) };
                out.push(at);
            }
        }
    }
    assert_eq!(out.last(), Some(&bytes.len()), "records fill the file");
    out
}

/// For every verdict the full run decides on a packet (not a timer, not the end), the number
/// of that packet — replaying the tracker as the pipeline does, timers first; and the file
/// offset where each packet's record ends, by number.
fn decided_by_packet(bytes: &[u8], bounds: &[usize]) -> (BTreeMap<u64, u64>, Vec<usize>) {
    let mut r = CaptureReader::new(Cursor::new(bytes), 0).unwrap();
    let mut t = Tracker::new(config().tracker);
    let mut decided = BTreeMap::new();
    let mut scratch = Vec::new();
    let mut ends = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        ends.push(*bounds.iter().find(|&&b| b > f.origin.offset as usize).unwrap());
        let Ok(p) = decode(&f) else { continue };
        t.advance(p.ts, &mut scratch);
        let mut out = Vec::new();
        t.packet(&p, &mut out);
        for v in out {
            decided.insert(v.id, f.origin.number);
        }
    }
    (decided, ends)
}

/// A verdict the search-list stage revised (`src/search_list.rs`) depends on a second
/// conversation, the one asking the other name of the lookup: it counts as decided by the later
/// of its own deciding packet and the packet that gave the other name what the revision needs —
/// its query (`dns_search_base`: the name was asked), or the packet that decided it
/// (`dns_search_answered`: the name resolved). Not by a packet at all when that one was not.
fn revisions_decided(full: &[Verdict], decided: &mut BTreeMap<u64, u64>) {
    for v in full {
        let other = |key| v.evidence.get(key).and_then(|f| f.as_str()).map(str::to_string);
        let (name, asked) = match (other("dns_search_base"), other("dns_search_answered")) {
            (Some(name), _) => (name, true),
            (None, Some(name)) => (name, false),
            (None, None) => continue,
        };
        let by = full
            .iter()
            .filter(|u| {
                u.id != v.id
                    && u.client.ip == v.client.ip
                    && u.evidence.get("dns_query").and_then(|f| f.as_str()) == Some(name.as_str())
            })
            .filter_map(|u| {
                if asked { Some(u.first_packet.number) } else { decided.get(&u.id).copied() }
            })
            .min();
        match (decided.get(&v.id).copied(), by) {
            (Some(own), Some(by)) => {
                decided.insert(v.id, own.max(by));
            }
            _ => {
                decided.remove(&v.id);
            }
        }
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for kind in ["generated", "recorded"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(kind);
        for e in std::fs::read_dir(dir).unwrap() {
            for name in ["input.pcap", "input.pcapng"] {
                let p = e.as_ref().unwrap().path().join(name);
                if p.exists() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Cuts the capture at `path` everywhere (see the test below); returns how many cuts.
fn cut_everywhere(path: &Path) -> usize {
    let mut cuts_tried = 0;
    let bytes = std::fs::read(path).unwrap();
    let name = path.display();
    let (full, errors) = run(&bytes);
    assert!(errors.is_empty(), "{name}: {errors:?}");
    assert!(run_with(&bytes, AnalyzeConfig::default()).0 == full, "{name}: the table size matters");
    let bounds = boundaries(&bytes);
    let (mut decided, ends) = decided_by_packet(&bytes, &bounds);
    revisions_decided(&full, &mut decided);
    // Every offset of the small files; a dense sample and every boundary ±1 of big ones
    // (keeps the test near 10 s in a debug build).
    let step = match bytes.len() {
        0..=2000 => 1,
        2001..=5000 => 3,
        _ => 17,
    };
    let mut cuts: BTreeSet<usize> = (0..bytes.len()).step_by(step).collect();
    for &b in &bounds {
        cuts.extend([b.saturating_sub(1), b, b + 1]);
    }
    for cut in cuts.into_iter().filter(|&c| c < bytes.len()) {
        cuts_tried += 1;
        let (verdicts, errors) = run(&bytes[..cut]);
        // Where the damage starts: the last boundary at or before the cut (0 = the header).
        let start = bounds.iter().rev().find(|&&b| b <= cut).copied().unwrap_or(0);
        if bounds.contains(&cut) {
            assert!(errors.is_empty(), "{name} cut at {cut} (a boundary): {errors:?}");
        } else {
            assert_eq!(errors.len(), 1, "{name} cut at {cut}: {errors:?}");
            assert!(
                errors[0].contains(&format!("at byte {start}:")),
                "{name} cut at {cut}: {} does not name byte {start}",
                errors[0]
            );
        }
        // Records wholly before the cut: packet numbers 1..=complete.
        let complete = ends.iter().filter(|&&e| e <= cut).count() as u64;
        let by_id: BTreeMap<u64, &Verdict> = verdicts.iter().map(|v| (v.id, v)).collect();
        for v in &full {
            if decided.get(&v.id).is_some_and(|&n| n <= complete) {
                assert_eq!(
                    by_id.get(&v.id).copied(),
                    Some(v),
                    "{name} cut at {cut}: verdict {} decided by a packet before the cut",
                    v.id
                );
            }
        }
    }
    cuts_tried
}

#[test]
fn a_capture_cut_anywhere_keeps_every_verdict_decided_before_the_cut() {
    // The captures are independent: they are spread over the cores, as this test is most of
    // `cargo test`'s running time. A failure panics its worker with the capture's name.
    let all = fixtures();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(all.len());
    let next = AtomicUsize::new(0);
    let cuts_tried: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut cuts = 0;
                    while let Some(path) = all.get(next.fetch_add(1, Ordering::Relaxed)) {
                        cuts += cut_everywhere(path);
                    }
                    cuts
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a capture failed (see above)")).sum()
    });
    eprintln!("{cuts_tried} cuts tried on {} captures", all.len());
    assert!(cuts_tried > 10_000, "{cuts_tried} cuts");
}

/// The binary on a few cuts of a multi-section pcapng (read from stdin): exit 0 at each block
/// boundary, exit 1 with the damaged block's offset named inside one.
#[test]
fn the_binary_names_the_damaged_block_of_a_cut_pcapng() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/generated/pcapng-sections/input.pcapng");
    let bytes = std::fs::read(path).unwrap();
    let bounds = boundaries(&bytes);
    for (i, &b) in bounds.iter().enumerate() {
        for cut in [b, b + 5].into_iter().filter(|&c| c < bytes.len()) {
            let mut child = Command::new(env!("CARGO_BIN_EXE_connlens"))
                .args(["analyze", "--format", "jsonl", "--no-summary", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&bytes[..cut]).unwrap();
            let o = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            if cut == b {
                assert_eq!(o.status.code(), Some(0), "cut at {cut}: {stderr}");
            } else {
                assert_eq!(o.status.code(), Some(1), "cut at {cut}: {stderr}");
                let expected = format!("connlens: error: <stdin>: at byte {b}:");
                assert!(stderr.contains(&expected), "cut at {cut} (block {i}): {stderr}");
            }
        }
    }
}
