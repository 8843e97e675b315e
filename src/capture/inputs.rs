//! Input files and the merged source over them.
//!
//! A run reads any number of captures (files, folders of captures, stdin) as one stream in
//! capture-time order, so that a conversation split over several files (one per interface,
//! or a ring buffer) is tracked as one. A damaged or unreadable input costs only its own
//! remaining frames: its error is reported once and the other inputs go on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::error::Error;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::Frame;
use super::file::{CaptureReader, ReadError, looks_like_capture, plain_io_reason};
use crate::time::Timestamp;

/// One input of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InputSpec {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A capture file.
    File(PathBuf),
}

impl InputSpec {
    /// The name used in messages: the path as given, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::Stdin => "<stdin>".to_string(),
            InputSpec::File(p) => p.display().to_string(),
        }
    }
}

/// A command-line input argument that cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum InputError {
    /// The path cannot be read (missing, permission denied, ...).
    Path {
        /// The path as given.
        path: PathBuf,
        /// The operating system's reason.
        error: io::Error,
    },
    /// `-` was given more than once: stdin can be read only once.
    StdinTwice,
    /// A folder holds no pcap or pcapng file at all (probably the wrong folder).
    NoCaptures(PathBuf),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Path { path, error } => {
                write!(f, "{}: {}", path.display(), plain_io_reason(error))
            }
            InputError::StdinTwice => write!(f, "`-` (standard input) given more than once"),
            InputError::NoCaptures(p) => {
                write!(f, "{}: folder holds no pcap or pcapng files", p.display())
            }
        }
    }
}

impl Error for InputError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            InputError::Path { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn path_error(path: &Path, error: io::Error) -> InputError {
    InputError::Path { path: path.to_path_buf(), error }
}

/// Whether the file starts with a capture magic. A file that cannot be read counts as one:
/// opening it later reports why, instead of a capture silently going missing.
fn is_capture_file(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else { return true };
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    looks_like_capture(&head[..n])
}

/// The regular files under `dir`, in its subfolders too, sorted by path. Symbolic links to
/// files are followed; links to folders are not (a link back up would never end), and
/// subfolders that cannot be read are passed over (the folder itself must be readable).
pub fn files_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    let mut first = true;
    while let Some(folder) = folders.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(e) => e,
            Err(e) if first => return Err(e),
            Err(_) => continue,
        };
        first = false;
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => folders.push(path),
                Ok(t) if t.is_file() => files.push(path),
                Ok(t) if t.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()) => {
                    files.push(path)
                }
                _ => {}
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Turns command-line arguments into inputs: a file stays itself, `-` is stdin (at most
/// once), a folder becomes the regular files under it (subfolders too) that start with a
/// pcap/pcapng magic, sorted by path (other files are ignored; a folder with none is an
/// error). A path that cannot be read is an error naming it.
pub fn expand_inputs(args: &[PathBuf]) -> Result<Vec<InputSpec>, InputError> {
    let mut specs = Vec::new();
    let mut stdin_seen = false;
    for arg in args {
        if arg.as_os_str() == "-" {
            if stdin_seen {
                return Err(InputError::StdinTwice);
            }
            stdin_seen = true;
            specs.push(InputSpec::Stdin);
            continue;
        }
        let meta = fs::metadata(arg).map_err(|e| path_error(arg, e))?;
        if meta.is_dir() {
            let found: Vec<PathBuf> = files_under(arg)
                .map_err(|e| path_error(arg, e))?
                .into_iter()
                .filter(|p| is_capture_file(p))
                .collect();
            if found.is_empty() {
                return Err(InputError::NoCaptures(arg.clone()));
            }
            specs.extend(found.into_iter().map(InputSpec::File));
        } else {
            // Open now so that "permission denied" is reported before any work starts.
            File::open(arg).map_err(|e| path_error(arg, e))?;
            specs.push(InputSpec::File(arg.clone()));
        }
    }
    Ok(specs)
}

/// An input for [`MergedSource::from_inputs`]: any byte stream with a name for messages.
pub struct NamedInput {
    /// Shown in messages (a path, or `<stdin>`).
    pub name: String,
    /// The capture's bytes.
    pub input: Box<dyn Read + Send>,
    /// Its size in bytes when known (for a progress bar).
    pub size: Option<u64>,
}

impl fmt::Debug for NamedInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedInput").field("name", &self.name).field("size", &self.size).finish()
    }
}

/// An input that could not be opened or stopped being readable.
#[derive(Debug)]
pub struct SourceError {
    /// The input's index (the `file` of its frames' origins).
    pub file: u16,
    /// The input's display name.
    pub name: String,
    /// What went wrong.
    pub kind: SourceErrorKind,
}

/// What went wrong with one input.
#[derive(Debug)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The file could not be opened.
    Open(io::Error),
    /// The capture could not be read (further), at a known offset.
    Read(ReadError),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SourceErrorKind::Open(e) => write!(f, "{}: {}", self.name, plain_io_reason(e)),
            SourceErrorKind::Read(e) => write!(f, "{}: {}", self.name, e),
        }
    }
}

impl Error for SourceError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            SourceErrorKind::Open(e) => Some(e),
            SourceErrorKind::Read(e) => Some(e),
        }
    }
}

type Reader = CaptureReader<Box<dyn Read + Send>>;

/// Frames of several captures in timestamp order.
///
/// A k-way merge on each input's next ("head") frame: the earliest head goes first, ties go
/// to the lower input index. Only heads are compared, so an input whose own timestamps run
/// backwards keeps its own order.
pub struct MergedSource {
    names: Vec<String>,
    /// By input index; `None` for inputs that could not be opened.
    readers: Vec<Option<Reader>>,
    /// Inputs with a head frame, earliest first.
    heap: BinaryHeap<Reverse<(Timestamp, u16)>>,
    /// Inputs to move to their next frame before the next merge step: at first all of
    /// them, later the one whose frame was last lent out (moved lazily, so that the frame
    /// stays valid until the caller asks for the next).
    pending: Vec<u16>,
    total: Option<u64>,
    /// What the inputs covered of capture time so far (see [`MergedSource::take_gap`]).
    coverage: Coverage,
}

/// Two inputs whose spans are this close (or overlap) are one coverage: rotated files
/// (`tcpdump -C`/`-G`, a ring buffer) follow each other with no more than the link's quiet
/// time between their last and first packets. A longer stretch between one input's end and
/// the next one's start is time no input recorded.
pub const ABUT_SLACK: crate::time::Duration = crate::time::Duration(1_000_000_000);

/// Which inputs have begun and ended, and until when the ended ones covered capture time.
#[derive(Default)]
struct Coverage {
    /// By input index: its first frame was given out.
    started: Vec<bool>,
    /// By input index: the latest time of its frames given out so far.
    last: Vec<Timestamp>,
    /// Inputs begun and not finished.
    active: usize,
    /// The latest time an input that finished covered.
    covered_until: Option<Timestamp>,
    /// A gap found before the frame last given out.
    gap: Option<(Timestamp, Timestamp)>,
}

impl Coverage {
    fn new(inputs: usize) -> Self {
        Coverage {
            started: vec![false; inputs],
            last: vec![Timestamp(i64::MIN); inputs],
            ..Coverage::default()
        }
    }

    /// Input `i` gives out a frame stamped `ts`.
    fn frame(&mut self, i: usize, ts: Timestamp) {
        if let Some(started) = self.started.get_mut(i)
            && !*started
        {
            *started = true;
            if self.active == 0
                && let Some(until) = self.covered_until
                && ts.since(until) > ABUT_SLACK
            {
                self.gap = Some((until, ts));
            }
            self.active += 1;
        }
        if let Some(last) = self.last.get_mut(i) {
            *last = (*last).max(ts);
        }
    }

    /// Input `i` has no more frames (its end, or damage).
    fn finished(&mut self, i: usize) {
        if self.started.get(i).copied().unwrap_or(false) {
            self.active = self.active.saturating_sub(1);
            if let Some(&last) = self.last.get(i) {
                self.covered_until = Some(self.covered_until.map_or(last, |u| u.max(last)));
            }
        }
    }
}

impl fmt::Debug for MergedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MergedSource")
            .field("names", &self.names)
            .field("bytes_read", &self.bytes_read())
            .finish_non_exhaustive()
    }
}

/// What takes each frame of [`MergedSource::next_frame_with`]. A trait rather than a
/// closure so that its method can be inlined (`#[inline(always)]`) at both places the
/// source hands a frame over.
pub trait FrameSink {
    /// What the sink makes of a frame (it may keep borrowing the frame's bytes).
    type Out<'f>;
    /// Takes one frame, borrowed from the source until its next step.
    fn frame<'f>(&mut self, frame: Frame<'f>) -> Self::Out<'f>;
}

/// The sink that keeps the frame itself: [`MergedSource::next_frame`].
struct KeepFrame;

impl FrameSink for KeepFrame {
    type Out<'f> = Frame<'f>;

    #[inline(always)]
    fn frame<'f>(&mut self, frame: Frame<'f>) -> Frame<'f> {
        frame
    }
}

/// Input `file`'s read error, with its name (from `names`, the inputs' names).
#[inline(never)]
fn read_error(names: &[String], file: u16, e: ReadError) -> SourceError {
    let name = names.get(usize::from(file)).cloned().unwrap_or_default();
    SourceError { file, name, kind: SourceErrorKind::Read(e) }
}

impl MergedSource {
    /// Opens every input. Inputs that cannot be opened (missing, not a capture, empty, ...)
    /// come back as errors, one each; the source reads the others.
    pub fn open(specs: &[InputSpec]) -> (Self, Vec<SourceError>) {
        let mut inputs = Vec::with_capacity(specs.len());
        let mut failed = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let name = spec.display_name();
            let opened: io::Result<(Box<dyn Read + Send>, Option<u64>)> = match spec {
                InputSpec::Stdin => Ok((Box::new(io::stdin()), None)),
                InputSpec::File(p) => File::open(p).map(|f| {
                    let size = f.metadata().ok().map(|m| m.len());
                    (Box::new(f) as Box<dyn Read + Send>, size)
                }),
            };
            match opened {
                Ok((input, size)) => inputs.push(NamedInput { name, input, size }),
                Err(e) => {
                    // Keep the index: a placeholder that fails at once, reported below.
                    failed.push((i, e));
                    inputs.push(NamedInput { name, input: Box::new(io::empty()), size: None });
                }
            }
        }
        Self::build(inputs, failed, specs.contains(&InputSpec::Stdin))
    }

    /// Merges already opened inputs (in-memory captures in tests, pipes). The total size is
    /// known only when every input's size is.
    pub fn from_inputs(inputs: Vec<NamedInput>) -> (Self, Vec<SourceError>) {
        let unknown = inputs.iter().any(|i| i.size.is_none());
        Self::build(inputs, Vec::new(), unknown)
    }

    fn build(
        inputs: Vec<NamedInput>,
        open_failed: Vec<(usize, io::Error)>,
        size_unknown: bool,
    ) -> (Self, Vec<SourceError>) {
        let mut errors = Vec::new();
        let mut names = Vec::with_capacity(inputs.len());
        let mut readers = Vec::with_capacity(inputs.len());
        let mut total = 0u64;
        let mut open_failed = open_failed.into_iter().peekable();
        for (i, NamedInput { name, input, size }) in inputs.into_iter().enumerate() {
            names.push(name.clone());
            let file = u16::try_from(i).unwrap_or(u16::MAX);
            if open_failed.peek().is_some_and(|(j, _)| *j == i) {
                if let Some((_, e)) = open_failed.next() {
                    errors.push(SourceError { file, name, kind: SourceErrorKind::Open(e) });
                }
                readers.push(None);
                continue;
            }
            if i > u16::MAX as usize {
                let e = io::Error::other("too many inputs (at most 65536)");
                errors.push(SourceError { file, name, kind: SourceErrorKind::Open(e) });
                readers.push(None);
                continue;
            }
            match CaptureReader::new(input, file) {
                Ok(r) => {
                    total = total.saturating_add(size.unwrap_or(0));
                    readers.push(Some(r));
                }
                Err(e) => {
                    errors.push(SourceError { file, name, kind: SourceErrorKind::Read(e) });
                    readers.push(None);
                }
            }
        }
        // Popped from the end: input 0 is moved first.
        let pending = (0..readers.len()).rev().filter_map(|i| u16::try_from(i).ok()).collect();
        let coverage = Coverage::new(readers.len());
        let source = MergedSource {
            names,
            readers,
            heap: BinaryHeap::new(),
            coverage,
            pending,
            total: if size_unknown { None } else { Some(total) },
        };
        (source, errors)
    }

    /// The next frame in timestamp order, borrowed until the next call; `None` when every
    /// input is finished. An input that turns out damaged yields its error once (frames it
    /// gave before stand) and the merge goes on with the others.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, SourceError>> {
        self.next_frame_with(&mut KeepFrame)
    }

    /// [`next_frame`](Self::next_frame), with the frame handed to `sink` where it is
    /// read: for the capture loop, inlined, so the frame stays in registers. (Handed back
    /// through memory from two places, one input and several, it was stored in pieces and
    /// loaded whole: a store-forwarding stall on every frame.)
    #[inline(always)]
    pub fn next_frame_with<S: FrameSink>(
        &mut self,
        sink: &mut S,
    ) -> Option<Result<S::Out<'_>, SourceError>> {
        if self.readers.len() == 1 {
            // One input: nothing to merge, so no heap (the same frames, errors and end).
            let reader = self.readers.first_mut()?.as_mut()?;
            return match reader.advance() {
                Ok(true) => reader.current().map(|frame| Ok(sink.frame(frame))),
                Ok(false) => None,
                Err(e) => Some(Err(read_error(&self.names, 0, e))),
            };
        }
        Some(self.next_merged()?.map(|frame| sink.frame(frame)))
    }

    /// [`next_frame`](Self::next_frame) from several inputs, in timestamp order.
    #[inline(never)]
    fn next_merged(&mut self) -> Option<Result<Frame<'_>, SourceError>> {
        while let Some(i) = self.pending.pop() {
            let Some(Some(reader)) = self.readers.get_mut(i as usize) else { continue };
            match reader.advance() {
                Ok(true) => {
                    if let Some(ts) = reader.current_ts() {
                        self.heap.push(Reverse((ts, i)));
                    }
                }
                Ok(false) => self.coverage.finished(i as usize),
                Err(e) => {
                    self.coverage.finished(i as usize);
                    return Some(Err(read_error(&self.names, i, e)));
                }
            }
        }
        let Reverse((ts, i)) = self.heap.pop()?;
        self.coverage.frame(i as usize, ts);
        self.pending.push(i);
        let frame = self.readers.get(i as usize)?.as_ref()?.current()?;
        Some(Ok(frame))
    }

    /// Time no input recorded, found just before the frame [`next_frame`](Self::next_frame)
    /// gave last: every input begun so far had ended (the latest at the gap's start) more
    /// than [`ABUT_SLACK`] before this frame, the first of a new input (the gap's end). Taken
    /// once. A single input has no gaps between inputs.
    pub fn take_gap(&mut self) -> Option<(Timestamp, Timestamp)> {
        self.coverage.gap.take()
    }

    /// Display names of the inputs, by index (the `file` of a frame's origin).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The display name of input `file` (empty if there is no such input).
    pub fn name(&self, file: u16) -> &str {
        self.names.get(file as usize).map(String::as_str).unwrap_or("")
    }

    /// Bytes read so far over all inputs that opened.
    pub fn bytes_read(&self) -> u64 {
        self.readers.iter().flatten().map(CaptureReader::bytes_read).sum()
    }

    /// Total size of the inputs that opened, or `None` when it cannot be known (stdin).
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::ReadErrorKind;
    use crate::capture::writer::{PcapWriter, PcapngWriter, TsResolution};
    use crate::capture::{LinkType, Origin};

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_secs_nanos(s, 0)
    }

    fn pcap_at(times: &[i64], tag: u8) -> Vec<u8> {
        let mut w =
            PcapWriter::new(Vec::new(), LinkType::RAW, 65535, TsResolution::Micro, false).unwrap();
        for (i, t) in times.iter().enumerate() {
            w.write_frame(ts(*t), &[tag, i as u8, 0, 0], 4).unwrap();
        }
        w.into_inner()
    }

    fn pcapng_at(times: &[i64], tag: u8) -> Vec<u8> {
        let mut w = PcapngWriter::new(Vec::new(), true).unwrap();
        let i = w.add_interface(LinkType::ETHERNET, 0, TsResolution::Nano).unwrap();
        for (k, t) in times.iter().enumerate() {
            w.write_frame(i, ts(*t), &[tag, k as u8, 0, 0], 4).unwrap();
        }
        w.into_inner()
    }

    fn mem(name: &str, bytes: Vec<u8>) -> NamedInput {
        let size = Some(bytes.len() as u64);
        NamedInput { name: name.into(), input: Box::new(io::Cursor::new(bytes)), size }
    }

    /// Drains a source: (tag, index-in-file, origin) per frame, and error messages, in order.
    fn drain(src: &mut MergedSource) -> (Vec<(u8, u8, Origin)>, Vec<String>) {
        let mut frames = Vec::new();
        let mut events = Vec::new();
        while let Some(r) = src.next_frame() {
            match r {
                Ok(f) => {
                    frames.push((f.data[0], f.data[1], f.origin));
                    events.push(format!("{}{}", f.data[0] as char, f.data[1]));
                }
                Err(e) => events.push(format!("error {e}")),
            }
        }
        (frames, events)
    }

    #[test]
    fn merges_by_time_ties_to_lower_index_and_keeps_file_order() {
        let a = pcap_at(&[1, 3, 5, 10, 9], b'a');
        let b = pcapng_at(&[2, 4, 10, 11], b'b');
        let total = (a.len() + b.len()) as u64;
        let (mut src, errors) = MergedSource::from_inputs(vec![mem("a", a), mem("b", b)]);
        assert!(errors.is_empty());
        assert_eq!(src.total_bytes(), Some(total));
        let (frames, events) = drain(&mut src);
        // a's 10 ties b's 10 and goes first (lower index); a's 9 comes after its own 10 (a
        // file's order is kept) and, being the head now, before b's 10.
        assert_eq!(events, ["a0", "b0", "a1", "b1", "a2", "a3", "a4", "b2", "b3"]);
        assert_eq!(frames[1].2.file, 1);
        assert_eq!(frames[1].2.number, 1);
        assert_eq!(src.bytes_read(), total);
        assert_eq!(src.names(), ["a", "b"]);
        assert!(src.next_frame().is_none());
    }

    #[test]
    fn time_between_inputs_that_do_not_abut_is_a_gap() {
        // a: 1–5, b: 5.5–8 (abuts a, within 1 s), c: 20–30, d: 25–40 (overlaps c).
        let a = pcap_at(&[1, 3, 5], b'a');
        let b = pcap_at(&[6, 8], b'b');
        let c = pcap_at(&[20, 30], b'c');
        let d = pcap_at(&[25, 40], b'd');
        let inputs = vec![mem("a", a), mem("b", b), mem("c", c), mem("d", d)];
        let (mut src, _) = MergedSource::from_inputs(inputs);
        let mut gaps = Vec::new();
        while let Some(Ok(f)) = src.next_frame() {
            let t = f.ts;
            if let Some(g) = src.take_gap() {
                gaps.push((g, t));
            }
        }
        // 5 → 6 is a gap of 1 s, not more: b abuts a. 8 → 20 is not covered.
        assert_eq!(gaps, [((ts(8), ts(20)), ts(20))]);
    }

    #[test]
    fn damaged_file_reports_once_and_others_continue() {
        let a = pcap_at(&[1, 2, 3, 4], b'a');
        let full = pcap_at(&[1, 2, 3], b'b');
        // Cut b inside its second record's data: header 24 + record 20 + 16 + 2.
        let b = full[..24 + 20 + 16 + 2].to_vec();
        let (mut src, errors) = MergedSource::from_inputs(vec![mem("a.pcap", a), mem("b.pcap", b)]);
        assert!(errors.is_empty());
        let (_, events) = drain(&mut src);
        assert_eq!(
            events,
            [
                "a0",
                "b0",
                "error b.pcap: at byte 44: record cut short: header says 4 bytes, file ends after 2",
                "a1",
                "a2",
                "a3"
            ]
        );
    }

    /// A temporary folder, removed when dropped (also when a test fails).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let p =
                std::env::temp_dir().join(format!("connlens-test-{}-{}", std::process::id(), tag));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn folders_expand_to_their_captures_sorted_by_name() {
        let dir = TempDir::new("expand");
        let d = &dir.0;
        fs::write(d.join("b.pcap"), pcap_at(&[2], b'b')).unwrap();
        fs::write(d.join("a.pcapng"), pcapng_at(&[1], b'a')).unwrap();
        fs::write(d.join("notes.txt"), "not a capture").unwrap();
        fs::write(d.join("empty.pcap"), "").unwrap();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("sub").join("c.pcap"), pcap_at(&[3], b'c')).unwrap();

        let specs = expand_inputs(&[d.clone(), PathBuf::from("-")]).unwrap();
        assert_eq!(
            specs,
            [
                InputSpec::File(d.join("a.pcapng")),
                InputSpec::File(d.join("b.pcap")),
                // Subfolders too (issue 16: `analyze fixtures/recorded/`).
                InputSpec::File(d.join("sub").join("c.pcap")),
                InputSpec::Stdin
            ]
        );

        let only_txt = d.join("sub2");
        fs::create_dir(&only_txt).unwrap();
        fs::write(only_txt.join("x.txt"), "hello").unwrap();
        let e = expand_inputs(std::slice::from_ref(&only_txt)).unwrap_err();
        assert!(matches!(e, InputError::NoCaptures(ref p) if *p == only_txt));
        assert!(e.to_string().contains("sub2"));

        let missing = d.join("nope.pcap");
        let e = expand_inputs(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: No such file or directory", missing.display()));

        let e = expand_inputs(&["-".into(), "-".into()]).unwrap_err();
        assert!(matches!(e, InputError::StdinTwice));
    }

    #[test]
    fn open_reports_bad_inputs_and_reads_the_rest() {
        let dir = TempDir::new("open");
        let d = &dir.0;
        let good = d.join("good.pcap");
        let garbage = d.join("garbage.pcap");
        let empty = d.join("empty.pcap");
        fs::write(&good, pcap_at(&[1, 2], b'g')).unwrap();
        fs::write(&garbage, "GARBAGE!").unwrap();
        fs::write(&empty, "").unwrap();
        let specs = [
            InputSpec::File(d.join("missing.pcap")),
            InputSpec::File(garbage.clone()),
            InputSpec::File(empty),
            InputSpec::File(good.clone()),
        ];
        let (mut src, errors) = MergedSource::open(&specs);
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].file, 0);
        assert!(errors[0].to_string().ends_with("missing.pcap: No such file or directory"));
        assert_eq!(errors[1].file, 1);
        assert!(matches!(
            errors[1].kind,
            SourceErrorKind::Read(ReadError { offset: 0, kind: ReadErrorKind::NotACapture(_) })
        ));
        assert!(matches!(
            errors[2].kind,
            SourceErrorKind::Read(ReadError { kind: ReadErrorKind::Empty, .. })
        ));
        assert_eq!(src.total_bytes(), Some(fs::metadata(&good).unwrap().len()));
        let (frames, _) = drain(&mut src);
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| f.2.file == 3));
        assert_eq!(src.name(3), good.display().to_string());
        assert_eq!(InputSpec::Stdin.display_name(), "<stdin>");
    }
}
