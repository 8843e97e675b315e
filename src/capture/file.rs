//! Streaming pcap/pcapng reader.
//!
//! connlens reads captures itself rather than through libpcap because it must say *where* a
//! damaged file stops being readable (the byte offset of the record's header), keep going on
//! the other inputs, and read at close to disk speed without holding a file in memory. One
//! buffer per file: `read` fills it, records are parsed in place and handed out as borrowed
//! [`Frame`]s, and the unread tail is moved to the front only when a record straddles the
//! buffer's end.

use std::error::Error;
use std::fmt;
use std::io::{self, Read};

use super::{Frame, LinkType, Origin};
use crate::time::Timestamp;

/// The reader's buffer size: large enough that `read` calls are few and records rarely
/// straddle the end. It grows only when one record is larger.
pub const DEFAULT_BUFFER_SIZE: usize = 1 << 20;
/// The largest pcapng block accepted: a larger length field is damage, and the cap bounds
/// how far the buffer can grow.
pub const MAX_BLOCK_LEN: u32 = 16 << 20;
/// Most interfaces one pcapng section may declare.
const MAX_INTERFACES: usize = 65_536;
/// A pcap record may claim up to the larger of this and the snap length; beyond that its
/// length field is taken to be damage.
pub const MIN_CAPLEN_LIMIT: u32 = 262_144;

const PCAP_HEADER_LEN: usize = 24;
const PCAP_RECORD_LEN: usize = 16;
const BLOCK_MIN_LEN: usize = 12;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// The first four bytes of every format the reader knows, with what they mean.
const MAGICS: [([u8; 4], Magic); 5] = [
    ([0xd4, 0xc3, 0xb2, 0xa1], Magic::Pcap { big_endian: false, nanos: false }),
    ([0xa1, 0xb2, 0xc3, 0xd4], Magic::Pcap { big_endian: true, nanos: false }),
    ([0x4d, 0x3c, 0xb2, 0xa1], Magic::Pcap { big_endian: false, nanos: true }),
    ([0xa1, 0xb2, 0x3c, 0x4d], Magic::Pcap { big_endian: true, nanos: true }),
    ([0x0a, 0x0d, 0x0d, 0x0a], Magic::Pcapng),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Magic {
    Pcap { big_endian: bool, nanos: bool },
    Pcapng,
}

/// Whether `first` (a file's first bytes, at least 4) starts with a pcap or pcapng magic.
/// Used to pick the captures out of a folder.
pub fn looks_like_capture(first: &[u8]) -> bool {
    first.len() >= 4 && MAGICS.iter().any(|(m, _)| first[..4] == m[..])
}

/// A capture file could not be read (further): what went wrong and where.
#[derive(Debug)]
pub struct ReadError {
    /// Byte offset in the file of the header of the record (or block) that could not be read.
    pub offset: u64,
    /// What went wrong.
    pub kind: ReadErrorKind,
}

/// What went wrong while reading a capture.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The operating system failed a read.
    Io(io::Error),
    /// The input has no bytes at all.
    Empty,
    /// The first bytes are not a pcap or pcapng magic (the bytes found, at most 4).
    NotACapture(Vec<u8>),
    /// The input ends inside a file, record or block header.
    TruncatedHeader {
        /// Bytes the header needs.
        needed: u64,
        /// Bytes present before the input ends.
        available: u64,
    },
    /// The input ends inside a record's data (pcap: `needed` is the captured length; pcapng:
    /// the block's total length).
    TruncatedRecord {
        /// Bytes the header says follow.
        needed: u64,
        /// Bytes present before the input ends.
        available: u64,
    },
    /// A length field is far beyond anything a capture holds: damage or not really a capture.
    AbsurdLength {
        /// The length found.
        length: u64,
        /// The largest length accepted here.
        limit: u64,
    },
    /// pcapng structure is broken (the reason in a few words).
    BadBlock(String),
    /// A pcapng packet names an interface its section never declared.
    UnknownInterface(u32),
}

/// An I/O error's reason in plain words: "No such file or directory", without the
/// "(os error 2)" that means nothing to a user.
pub fn plain_io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadErrorKind::Io(e) => write!(f, "read failed: {}", plain_io_reason(e)),
            ReadErrorKind::Empty => write!(f, "file is empty"),
            ReadErrorKind::NotACapture(b) => {
                write!(f, "not a pcap or pcapng file (starts with")?;
                for x in b {
                    write!(f, " {x:02x}")?;
                }
                write!(f, ")")
            }
            ReadErrorKind::TruncatedHeader { needed, available } => {
                write!(f, "header cut short: header is {needed} bytes, file ends after {available}")
            }
            ReadErrorKind::TruncatedRecord { needed, available } => write!(
                f,
                "record cut short: header says {needed} bytes, file ends after {available}"
            ),
            ReadErrorKind::AbsurdLength { length, limit } => write!(
                f,
                "implausible length {length} (limit {limit}): damaged, or not what its header says"
            ),
            ReadErrorKind::BadBlock(reason) => write!(f, "damaged pcapng block: {reason}"),
            ReadErrorKind::UnknownInterface(id) => {
                write!(f, "packet on interface {id}, which its section never declared")
            }
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            ReadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn err(offset: u64, kind: ReadErrorKind) -> ReadError {
    ReadError { offset, kind }
}

fn bad(offset: u64, reason: String) -> ReadError {
    err(offset, ReadErrorKind::BadBlock(reason))
}

// Field readers. Callers check lengths first; every offset below is within a range already
// known to be present.
fn rd16(b: &[u8], at: usize, be: bool) -> u16 {
    let a = [b[at], b[at + 1]];
    if be { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) }
}

fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
}

fn rd64(b: &[u8], at: usize, be: bool) -> u64 {
    let hi = rd32(b, at, be) as u64;
    let lo = rd32(b, at + 4, be) as u64;
    if be { (hi << 32) | lo } else { (lo << 32) | hi }
}

/// How an interface's timestamp units become nanoseconds.
#[derive(Clone, Copy, Debug)]
enum Scale {
    /// Units of 10^-k s for k ≤ 9 (the common case: a multiplication).
    NanosPerUnit(u64),
    /// Finer units (or powers of 2): this many per second.
    UnitsPerSec(u64),
}

/// What the reader keeps of a pcapng Interface Description Block.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Bytes of frame check sequence at the end of each frame (`if_fcslen`).
    fcs: u8,
    snaplen: u32,
    scale: Scale,
    offset_secs: i64,
}

impl Interface {
    fn timestamp(&self, units: u64) -> Timestamp {
        const NS: i128 = 1_000_000_000;
        let ns = match self.scale {
            Scale::NanosPerUnit(m) => units as i128 * m as i128,
            Scale::UnitsPerSec(u) => {
                let secs = (units / u) as i128;
                let frac = (units % u) as u128 * NS as u128 / u as u128;
                secs * NS + frac as i128
            }
        };
        let ns = ns + self.offset_secs as i128 * NS;
        Timestamp(ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }
}

/// Parses an IDB body (between the length fields). Malformed options end option parsing
/// rather than the file: the packets are still readable, at worst with default timestamps.
fn parse_idb(body: &[u8], be: bool) -> Result<Interface, String> {
    if body.len() < 8 {
        return Err(format!("interface description of {} bytes is too short", body.len() + 12));
    }
    let link = LinkType(rd16(body, 0, be) as u32);
    let snaplen = rd32(body, 4, be);
    let mut tsresol: u8 = 6;
    let mut offset_secs = 0i64;
    let mut fcs = 0u8;
    let mut p = 8;
    while p + 4 <= body.len() {
        let code = rd16(body, p, be);
        let len = rd16(body, p + 2, be) as usize;
        p += 4;
        if code == 0 || p + len > body.len() {
            break;
        }
        match code {
            9 if len >= 1 => tsresol = body[p],
            13 if len >= 1 => fcs = body[p],
            14 if len >= 8 => offset_secs = rd64(body, p, be) as i64,
            _ => {}
        }
        p += len + (4 - len % 4) % 4;
    }
    let scale = if tsresol & 0x80 != 0 {
        let exp = tsresol & 0x7f;
        if exp > 63 {
            return Err(format!("timestamp resolution 2^-{exp} is beyond what connlens handles"));
        }
        if exp == 0 { Scale::NanosPerUnit(1_000_000_000) } else { Scale::UnitsPerSec(1 << exp) }
    } else if tsresol <= 9 {
        Scale::NanosPerUnit(10u64.pow(9 - tsresol as u32))
    } else if tsresol <= 19 {
        Scale::UnitsPerSec(10u64.pow(tsresol as u32))
    } else {
        return Err(format!("timestamp resolution 10^-{tsresol} is beyond what connlens handles"));
    };
    Ok(Interface { link, fcs, snaplen, scale, offset_secs })
}

/// Where the current frame lies in the buffer, and what it is.
#[derive(Clone, Copy, Debug)]
struct Current {
    ts: Timestamp,
    link: LinkType,
    /// A `u32` kept in 8 bytes: `advance` stores the frame and the capture loop loads it
    /// right after, and two 4-byte fields side by side were stored apart but loaded as one
    /// (a store-forwarding stall on every frame).
    orig_len: u64,
    start: usize,
    len: usize,
    /// The record's offset in the file. (Its input and number are the reader's: see
    /// [`CaptureReader::current`].)
    offset: u64,
}

impl Current {
    /// Takes a frame's trailing `fcs` bytes of frame check sequence (the capture says how
    /// many) off its wire length, and off its captured bytes as far as they reach into it:
    /// the FCS is no part of the packet. Done here, once, so the frame handed on carries no
    /// extra field (a wider `Current` cost a store-forwarding stall on every frame).
    fn without_fcs(mut self, fcs: u8) -> Current {
        if fcs != 0 {
            self.orig_len = self.orig_len.saturating_sub(u64::from(fcs));
            self.len = self.len.min(usize::try_from(self.orig_len).unwrap_or(usize::MAX));
        }
        self
    }
}

/// One step of the pcapng block loop.
enum Step {
    Packet(Current),
    Skipped,
    End,
}

/// Reads one pcap or pcapng capture from any `Read` (a file, stdin), one record at a time.
pub struct CaptureReader<R: Read> {
    input: R,
    buf: Vec<u8>,
    /// Unparsed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    eof: bool,
    /// Set at the clean end or after an error: from then on there are no more frames.
    done: bool,
    pcapng: bool,
    /// Byte order of the pcap file or of the current pcapng section.
    big_endian: bool,
    /// pcap: link type, sub-second unit and the captured-length limit from the header.
    link: LinkType,
    /// pcap: bytes of FCS at the end of every frame (the header's FCS bits).
    fcs: u8,
    nanos: bool,
    snaplen: u32,
    caplen_limit: u32,
    /// pcapng: the current section's interfaces, by id.
    interfaces: Vec<Interface>,
    /// pcapng: the last timestamp seen, for Simple Packet Blocks, which carry none.
    last_ts: Timestamp,
    file_index: u16,
    number: u64,
    bytes_read: u64,
    current: Option<Current>,
}

impl<R: Read> fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("file_index", &self.file_index)
            .field("pcapng", &self.pcapng)
            .field("number", &self.number)
            .field("position", &self.position())
            .finish_non_exhaustive()
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (the first Section Header Block for pcapng) and gets ready to
    /// return frames. `file_index` goes into every frame's [`Origin`].
    pub fn new(input: R, file_index: u16) -> Result<Self, ReadError> {
        Self::with_buffer_size(input, file_index, DEFAULT_BUFFER_SIZE)
    }

    /// Like [`CaptureReader::new`] with a given initial buffer size (tests use a tiny one so
    /// that records straddle the buffer's end).
    pub fn with_buffer_size(input: R, file_index: u16, size: usize) -> Result<Self, ReadError> {
        let mut r = CaptureReader {
            input,
            buf: vec![0; size.max(PCAP_HEADER_LEN)],
            start: 0,
            end: 0,
            buf_offset: 0,
            eof: false,
            done: false,
            pcapng: false,
            big_endian: false,
            link: LinkType::ETHERNET,
            fcs: 0,
            nanos: false,
            snaplen: 0,
            caplen_limit: MIN_CAPLEN_LIMIT,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
            file_index,
            number: 0,
            bytes_read: 0,
            current: None,
        };
        r.read_header()?;
        Ok(r)
    }

    fn read_header(&mut self) -> Result<(), ReadError> {
        let avail = self.fill(4).map_err(|e| err(0, ReadErrorKind::Io(e)))?;
        if avail == 0 {
            return Err(err(0, ReadErrorKind::Empty));
        }
        let n = avail.min(4);
        let head = &self.buf[self.start..self.start + n];
        let Some(&(_, magic)) = MAGICS.iter().find(|(m, _)| m[..n] == *head) else {
            return Err(err(0, ReadErrorKind::NotACapture(head.to_vec())));
        };
        match magic {
            Magic::Pcap { big_endian, nanos } => {
                let avail = self.fill(PCAP_HEADER_LEN).map_err(|e| err(0, ReadErrorKind::Io(e)))?;
                if avail < PCAP_HEADER_LEN {
                    return Err(err(
                        0,
                        ReadErrorKind::TruncatedHeader {
                            needed: PCAP_HEADER_LEN as u64,
                            available: avail as u64,
                        },
                    ));
                }
                let h = &self.buf[self.start..self.start + PCAP_HEADER_LEN];
                let snaplen = rd32(h, 16, big_endian);
                // The bits above the low 16 carry FCS information, not the link type: bit 28
                // says the frames end with an FCS, bits 29-31 its length in 16-bit words.
                let field = rd32(h, 20, big_endian);
                self.link = LinkType(field & 0xffff);
                self.fcs = if field & 0x1000_0000 != 0 { ((field >> 29) * 2) as u8 } else { 0 };
                self.snaplen = snaplen;
                self.caplen_limit = snaplen.clamp(MIN_CAPLEN_LIMIT, MAX_BLOCK_LEN);
                self.big_endian = big_endian;
                self.nanos = nanos;
                self.start += PCAP_HEADER_LEN;
                Ok(())
            }
            Magic::Pcapng => {
                self.pcapng = true;
                // The first block is the SHB (the magic says so); read it now so that a
                // broken header is an opening error.
                match self.pcapng_block()? {
                    Step::Skipped => Ok(()),
                    // Unreachable in practice: fill(4) saw bytes, and an SHB is no packet.
                    Step::End | Step::Packet(_) => Ok(()),
                }
            }
        }
    }

    /// The next packet record, borrowed from the reader's buffer until the next call; `None`
    /// at the clean end of the file. After an error, every further call returns `None`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        if self.advance()? { Ok(self.current()) } else { Ok(None) }
    }

    /// Bytes read from the input so far (for a progress bar; runs ahead of the frames
    /// returned by up to one buffer).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The pcap header's snap length; 0 for pcapng, where each interface has its own.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Whether the input is pcapng (rather than classic pcap).
    pub fn is_pcapng(&self) -> bool {
        self.pcapng
    }

    /// File offset of the next record or block to be parsed.
    pub fn position(&self) -> u64 {
        self.buf_offset + self.start as u64
    }

    /// Moves to the next frame; `Ok(false)` at the end. The merge uses this with
    /// [`CaptureReader::current`] to keep one head frame per file without borrowing.
    pub(crate) fn advance(&mut self) -> Result<bool, ReadError> {
        self.current = None;
        if self.done {
            return Ok(false);
        }
        let step = if self.pcapng {
            loop {
                match self.pcapng_block() {
                    Ok(Step::Skipped) => continue,
                    Ok(Step::Packet(c)) => break Ok(Some(c)),
                    Ok(Step::End) => break Ok(None),
                    Err(e) => break Err(e),
                }
            }
        } else {
            self.pcap_record()
        };
        match step {
            Ok(Some(c)) => {
                self.current = Some(c);
                Ok(true)
            }
            Ok(None) => {
                self.done = true;
                Ok(false)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// The frame the last successful `advance` moved to.
    #[inline(always)]
    pub(crate) fn current(&self) -> Option<Frame<'_>> {
        let c = self.current?;
        let data = self.buf.get(c.start..c.start + c.len)?;
        let orig_len = u32::try_from(c.orig_len).unwrap_or(u32::MAX);
        // Built field by field: `advance` has just stored the frame, and copying it whole
        // loaded padding stored apart (a store-forwarding stall on every frame).
        let origin = Origin { file: self.file_index, number: self.number, offset: c.offset };
        Some(Frame { ts: c.ts, link: c.link, orig_len, data, origin })
    }

    /// The current frame's timestamp (the merge's sort key).
    pub(crate) fn current_ts(&self) -> Option<Timestamp> {
        self.current.map(|c| c.ts)
    }

    /// Makes at least `need` unparsed bytes available if the input has them; returns how
    /// many are available. Moves the unparsed tail to the front only when `need` bytes would
    /// not fit after it, and grows the buffer only when one record needs more than it holds.
    fn fill(&mut self, need: usize) -> io::Result<usize> {
        if self.end - self.start >= need || self.eof {
            return Ok(self.end - self.start);
        }
        if self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_offset += self.start as u64;
            self.end -= self.start;
            self.start = 0;
            if need > self.buf.len() {
                self.buf.resize(need, 0);
            }
        }
        while self.end - self.start < need {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    self.end += n;
                    self.bytes_read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    fn pcap_record(&mut self) -> Result<Option<Current>, ReadError> {
        let off = self.position();
        let io = |e| err(off, ReadErrorKind::Io(e));
        let avail = self.fill(PCAP_RECORD_LEN).map_err(io)?;
        if avail == 0 {
            return Ok(None);
        }
        if avail < PCAP_RECORD_LEN {
            return Err(err(
                off,
                ReadErrorKind::TruncatedHeader {
                    needed: PCAP_RECORD_LEN as u64,
                    available: avail as u64,
                },
            ));
        }
        let be = self.big_endian;
        let h = &self.buf[self.start..self.start + PCAP_RECORD_LEN];
        let secs = rd32(h, 0, be);
        let frac = rd32(h, 4, be);
        let caplen = rd32(h, 8, be);
        let orig_len = rd32(h, 12, be);
        if caplen > self.caplen_limit {
            return Err(err(
                off,
                ReadErrorKind::AbsurdLength {
                    length: caplen as u64,
                    limit: self.caplen_limit as u64,
                },
            ));
        }
        let total = PCAP_RECORD_LEN + caplen as usize;
        let avail = self.fill(total).map_err(io)?;
        if avail < total {
            return Err(err(
                off,
                ReadErrorKind::TruncatedRecord {
                    needed: caplen as u64,
                    available: (avail - PCAP_RECORD_LEN) as u64,
                },
            ));
        }
        let frac_ns = if self.nanos { frac as i64 } else { frac as i64 * 1000 };
        let ts = Timestamp(secs as i64 * 1_000_000_000 + frac_ns);
        let start = self.start + PCAP_RECORD_LEN;
        self.start += total;
        self.number += 1;
        Ok(Some(
            Current {
                ts,
                link: self.link,
                orig_len: u64::from(orig_len.max(caplen)),
                start,
                len: caplen as usize,
                offset: off,
            }
            .without_fcs(self.fcs),
        ))
    }

    fn pcapng_block(&mut self) -> Result<Step, ReadError> {
        let off = self.position();
        let io = |e| err(off, ReadErrorKind::Io(e));
        let avail = self.fill(BLOCK_MIN_LEN).map_err(io)?;
        if avail == 0 {
            return Ok(Step::End);
        }
        if avail < BLOCK_MIN_LEN {
            return Err(err(
                off,
                ReadErrorKind::TruncatedHeader {
                    needed: BLOCK_MIN_LEN as u64,
                    available: avail as u64,
                },
            ));
        }
        let h = &self.buf[self.start..self.start + BLOCK_MIN_LEN];
        // The SHB type reads the same in both byte orders; its byte-order magic sets the
        // order of everything in the section, its own length included.
        let is_shb = rd32(h, 0, false) == SHB;
        let mut be = self.big_endian;
        if is_shb {
            be = match rd32(h, 8, false) {
                BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                _ => return Err(bad(off, "section header without byte-order magic".into())),
            };
        }
        let btype = rd32(h, 0, be);
        let len = rd32(h, 4, be);
        if len > MAX_BLOCK_LEN {
            return Err(err(
                off,
                ReadErrorKind::AbsurdLength { length: len as u64, limit: MAX_BLOCK_LEN as u64 },
            ));
        }
        if (len as usize) < BLOCK_MIN_LEN || !len.is_multiple_of(4) {
            return Err(bad(
                off,
                format!("block length {len} is not a multiple of 4 of at least 12"),
            ));
        }
        let total = len as usize;
        let avail = self.fill(total).map_err(io)?;
        if avail < total {
            return Err(err(
                off,
                ReadErrorKind::TruncatedRecord { needed: len as u64, available: avail as u64 },
            ));
        }
        let s = self.start;
        let trailing = rd32(&self.buf, s + total - 4, be);
        if trailing != len {
            return Err(bad(
                off,
                format!("trailing length {trailing} does not match leading length {len}"),
            ));
        }
        let body = &self.buf[s + 8..s + total - 4];
        let step = match btype {
            SHB => {
                if body.len() < 16 {
                    return Err(bad(off, format!("section header of {len} bytes is too short")));
                }
                let (major, minor) = (rd16(body, 4, be), rd16(body, 6, be));
                if major != 1 {
                    return Err(bad(off, format!("unsupported pcapng version {major}.{minor}")));
                }
                self.big_endian = be;
                self.interfaces.clear();
                Step::Skipped
            }
            IDB => {
                // Interface ids are 32 bits, but no real capture has more than a few hundred
                // interfaces: a stream of IDBs is damage, and must not grow memory unbounded.
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Err(bad(
                        off,
                        format!("more than {MAX_INTERFACES} interfaces in one section"),
                    ));
                }
                let iface = parse_idb(body, be).map_err(|r| bad(off, r))?;
                self.interfaces.push(iface);
                Step::Skipped
            }
            EPB | PB => {
                if body.len() < 20 {
                    return Err(bad(off, format!("packet block of {len} bytes is too short")));
                }
                let id = if btype == EPB { rd32(body, 0, be) } else { rd16(body, 0, be) as u32 };
                let units = ((rd32(body, 4, be) as u64) << 32) | rd32(body, 8, be) as u64;
                let caplen = rd32(body, 12, be);
                let orig_len = rd32(body, 16, be);
                if caplen as usize > body.len() - 20 {
                    return Err(bad(
                        off,
                        format!("captured length {caplen} does not fit in a {len}-byte block"),
                    ));
                }
                let iface = self
                    .interfaces
                    .get(id as usize)
                    .ok_or_else(|| err(off, ReadErrorKind::UnknownInterface(id)))?;
                let ts = iface.timestamp(units);
                self.last_ts = ts;
                self.number += 1;
                Step::Packet(
                    Current {
                        ts,
                        link: iface.link,
                        orig_len: u64::from(orig_len.max(caplen)),
                        start: s + 8 + 20,
                        len: caplen as usize,
                        offset: off,
                    }
                    .without_fcs(iface.fcs),
                )
            }
            SPB => {
                if body.len() < 4 {
                    return Err(bad(
                        off,
                        format!("simple packet block of {len} bytes is too short"),
                    ));
                }
                let iface =
                    self.interfaces.first().ok_or(err(off, ReadErrorKind::UnknownInterface(0)))?;
                // The block has no captured length: it is the original length cut by the
                // snap length (0 = none) and by the block.
                let orig_len = rd32(body, 0, be);
                let mut caplen = orig_len.min((body.len() - 4) as u32);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen);
                }
                self.number += 1;
                Step::Packet(
                    Current {
                        ts: self.last_ts,
                        link: iface.link,
                        orig_len: u64::from(orig_len),
                        start: s + 8 + 4,
                        len: caplen as usize,
                        offset: off,
                    }
                    .without_fcs(iface.fcs),
                )
            }
            // NRB, ISB, DSB, custom and unknown blocks carry nothing connlens uses.
            _ => Step::Skipped,
        };
        self.start += total;
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{PcapWriter, PcapngWriter, TsResolution};

    /// An owned copy of a frame, to compare runs.
    #[derive(Clone, Debug, PartialEq)]
    struct Got {
        ts: Timestamp,
        link: LinkType,
        orig_len: u32,
        data: Vec<u8>,
        origin: Origin,
    }

    fn read_with(bytes: &[u8], buf: usize) -> (Vec<Got>, Result<(), ReadError>) {
        let mut r = match CaptureReader::with_buffer_size(bytes, 3, buf) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Err(e)),
        };
        let mut out = Vec::new();
        loop {
            match r.next_frame() {
                Ok(Some(f)) => out.push(Got {
                    ts: f.ts,
                    link: f.link,
                    orig_len: f.orig_len,
                    data: f.data.to_vec(),
                    origin: f.origin,
                }),
                Ok(None) => {
                    assert!(matches!(r.next_frame(), Ok(None)), "end is sticky");
                    return (out, Ok(()));
                }
                Err(e) => {
                    assert!(matches!(r.next_frame(), Ok(None)), "no frames after an error");
                    return (out, Err(e));
                }
            }
        }
    }

    /// Reads with the default buffer and with a tiny one (records straddle its end, so
    /// compaction and growth run) and checks both agree.
    fn read_all(bytes: &[u8]) -> (Vec<Got>, Result<(), ReadError>) {
        let (big, big_res) = read_with(bytes, DEFAULT_BUFFER_SIZE);
        let (small, small_res) = read_with(bytes, 40);
        assert_eq!(big, small);
        assert_eq!(
            big_res.as_ref().map_err(|e| e.to_string()),
            small_res.as_ref().map_err(|e| e.to_string())
        );
        (big, big_res)
    }

    fn payload(i: usize) -> Vec<u8> {
        (0..(i * 37) % 150 + 1).map(|k| (k * 7 + i) as u8).collect()
    }

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp::from_secs_nanos(secs, nanos)
    }

    /// A pcap with `n` frames; returns the bytes and each record's offset.
    fn pcap(n: usize, res: TsResolution, be: bool) -> (Vec<u8>, Vec<u64>) {
        let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 65535, res, be).unwrap();
        let mut offs = Vec::new();
        for i in 0..n {
            offs.push(w.get_ref().len() as u64);
            let d = payload(i);
            w.write_frame(ts(1_700_000_000 + i as i64, 123_456_789), &d, d.len() as u32 + 4)
                .unwrap();
        }
        (w.into_inner(), offs)
    }

    #[test]
    fn pcap_micro_le_round_trip() {
        let (b, offs) = pcap(5, TsResolution::Micro, false);
        let (got, res) = read_all(&b);
        res.unwrap();
        assert_eq!(got.len(), 5);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g.ts, ts(1_700_000_000 + i as i64, 123_456_000));
            assert_eq!(g.link, LinkType::ETHERNET);
            assert_eq!(g.data, payload(i));
            assert_eq!(g.orig_len, payload(i).len() as u32 + 4);
            assert_eq!(g.origin, Origin { file: 3, number: i as u64 + 1, offset: offs[i] });
        }
    }

    #[test]
    fn pcap_nano_be_round_trip() {
        let (b, _) = pcap(3, TsResolution::Nano, true);
        assert_eq!(&b[..4], &[0xa1, 0xb2, 0x3c, 0x4d]);
        let (got, res) = read_all(&b);
        res.unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].ts, ts(1_700_000_002, 123_456_789));
        assert_eq!(got[2].data, payload(2));
    }

    #[test]
    fn pcap_cuts_the_fcs_and_tolerates_odd_lengths() {
        // Link type with the FCS-present bit and an FCS length of one 16-bit word; snaplen 64
        // but a longer record; a record whose caplen exceeds its orig_len.
        let mut w = PcapWriter::new(
            Vec::new(),
            LinkType(0x1000_0001 | 0x2000_0000),
            64,
            TsResolution::Micro,
            false,
        )
        .unwrap();
        w.write_frame(ts(1, 0), &[7; 100], 100).unwrap();
        w.write_frame(ts(2, 0), &[8; 10], 4).unwrap();
        let (got, res) = read_all(&w.into_inner());
        res.unwrap();
        assert_eq!(got[0].link, LinkType::ETHERNET);
        // The 2-byte FCS is no part of the frame.
        assert_eq!((got[0].data.len(), got[0].orig_len), (98, 98));
        let (b, _) = pcap(1, TsResolution::Micro, false);
        assert_eq!(CaptureReader::new(&b[..], 0).unwrap().snaplen(), 65535);
        assert_eq!((got[1].orig_len, got[1].data.len()), (8, 8));
        // 4 bytes (the usual Ethernet FCS), and a frame cut by the snap length inside it.
        let mut w =
            PcapWriter::new(Vec::new(), LinkType(0x5000_0001), 98, TsResolution::Micro, false)
                .unwrap();
        w.write_frame(ts(1, 0), &[7; 98], 100).unwrap();
        let (got, res) = read_all(&w.into_inner());
        res.unwrap();
        assert_eq!((got[0].data.len(), got[0].orig_len), (96, 96));
    }

    #[test]
    fn pcapng_if_fcslen_is_cut_off() {
        // An IDB with if_fcslen (option 13) = 4, by hand: the writer does not write options.
        let mut f = Vec::new();
        f.extend(0x0a0d_0d0au32.to_le_bytes());
        f.extend(28u32.to_le_bytes());
        f.extend(0x1a2b_3c4du32.to_le_bytes());
        f.extend([1, 0, 0, 0]);
        f.extend(u64::MAX.to_le_bytes());
        f.extend(28u32.to_le_bytes());
        let idb_len = 20u32 + 8 + 4;
        f.extend(1u32.to_le_bytes());
        f.extend(idb_len.to_le_bytes());
        f.extend(1u16.to_le_bytes());
        f.extend(0u16.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(13u16.to_le_bytes());
        f.extend(1u16.to_le_bytes());
        f.extend([4, 0, 0, 0]);
        f.extend(0u32.to_le_bytes()); // opt_endofopt
        f.extend(idb_len.to_le_bytes());
        let epb_len = 32u32 + 64;
        f.extend(6u32.to_le_bytes());
        f.extend(epb_len.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(64u32.to_le_bytes());
        f.extend(64u32.to_le_bytes());
        f.extend([9u8; 64]);
        f.extend(epb_len.to_le_bytes());
        let (got, res) = read_all(&f);
        res.unwrap();
        assert_eq!((got[0].data.len(), got[0].orig_len), (60, 60));
    }

    /// Where each block ends, and for packet blocks which frame (0-based) it holds.
    struct Layout {
        ends: Vec<(u64, Option<usize>)>,
    }

    /// pcapng with two sections (LE then BE), interfaces of different link types and
    /// resolutions, an unknown block, an NRB-like block and an SPB.
    fn rich_pcapng() -> (Vec<u8>, Layout, Vec<Got>) {
        let mut ends = Vec::new();
        let mut expect = Vec::new();
        let mut w = PcapngWriter::new(Vec::new(), false).unwrap();
        let mut n = 0usize;
        macro_rules! mark {
            ($pkt:expr) => {{
                let end = w.get_ref().len() as u64;
                ends.push((end, $pkt));
            }};
        }
        mark!(None);
        let eth = w.add_interface(LinkType::ETHERNET, 0, TsResolution::Micro).unwrap();
        mark!(None);
        let raw = w.add_interface(LinkType::RAW, 0, TsResolution::Nano).unwrap();
        mark!(None);
        for i in 0..4 {
            let (iface, link, t) = if i % 2 == 0 {
                (eth, LinkType::ETHERNET, ts(100 + i as i64, 5_000))
            } else {
                (raw, LinkType::RAW, ts(100 + i as i64, 5_001))
            };
            let offset = w.get_ref().len() as u64;
            let d = payload(i);
            w.write_frame(iface, t, &d, d.len() as u32).unwrap();
            expect.push(Got {
                ts: t,
                link,
                orig_len: d.len() as u32,
                data: d,
                origin: Origin { file: 3, number: n as u64 + 1, offset },
            });
            mark!(Some(n));
            n += 1;
            if i == 1 {
                w.write_raw_block(0x0000_0BAD, &[1, 2, 3, 4, 5]).unwrap();
                mark!(None);
                w.write_raw_block(4, &[0; 8]).unwrap(); // NRB-shaped, skipped
                mark!(None);
            }
        }
        // Second section, other byte order; interface ids restart.
        w.new_section(true).unwrap();
        mark!(None);
        let sll = w.add_interface(LinkType::LINUX_SLL, 64, TsResolution::Nano).unwrap();
        mark!(None);
        let offset = w.get_ref().len() as u64;
        w.write_frame(sll, ts(200, 7), &[9; 30], 30).unwrap();
        expect.push(Got {
            ts: ts(200, 7),
            link: LinkType::LINUX_SLL,
            orig_len: 30,
            data: vec![9; 30],
            origin: Origin { file: 3, number: n as u64 + 1, offset },
        });
        mark!(Some(n));
        n += 1;
        // SPB: interface 0, previous timestamp, cut to the snap length of 64.
        let offset = w.get_ref().len() as u64;
        w.write_simple_packet(&[6; 64], 1500).unwrap();
        expect.push(Got {
            ts: ts(200, 7),
            link: LinkType::LINUX_SLL,
            orig_len: 1500,
            data: vec![6; 64],
            origin: Origin { file: 3, number: n as u64 + 1, offset },
        });
        mark!(Some(n));
        (w.into_inner(), Layout { ends }, expect)
    }

    #[test]
    fn pcapng_interfaces_sections_unknown_blocks_and_spb() {
        let (b, _, expect) = rich_pcapng();
        let (got, res) = read_all(&b);
        res.unwrap();
        assert_eq!(got, expect);
    }

    #[test]
    fn pcapng_big_endian_round_trip() {
        let mut w = PcapngWriter::new(Vec::new(), true).unwrap();
        let i = w.add_interface(LinkType::IPV4, 0, TsResolution::Nano).unwrap();
        w.write_frame(i, ts(5, 999_999_999), &[1, 2, 3, 4, 5, 6], 6).unwrap();
        let b = w.into_inner();
        assert_eq!(&b[8..12], &[0x1a, 0x2b, 0x3c, 0x4d]);
        let (got, res) = read_all(&b);
        res.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].ts, got[0].link), (ts(5, 999_999_999), LinkType::IPV4));
        assert_eq!(got[0].data, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn pcapng_power_of_two_resolution_and_offset() {
        let mut w = PcapngWriter::new(Vec::new(), false).unwrap();
        let mut idb = Vec::new();
        idb.extend(1u16.to_le_bytes());
        idb.extend([0, 0]);
        idb.extend(0u32.to_le_bytes());
        idb.extend(9u16.to_le_bytes()); // if_tsresol: 2^-10 s
        idb.extend(1u16.to_le_bytes());
        idb.extend([0x80 | 10, 0, 0, 0]);
        idb.extend(14u16.to_le_bytes()); // if_tsoffset: +100 s
        idb.extend(8u16.to_le_bytes());
        idb.extend(100i64.to_le_bytes());
        idb.extend([0; 4]);
        w.write_raw_block(1, &idb).unwrap();
        let units: u64 = 5 * 1024 + 512;
        let mut epb = Vec::new();
        epb.extend(0u32.to_le_bytes());
        epb.extend(((units >> 32) as u32).to_le_bytes());
        epb.extend((units as u32).to_le_bytes());
        epb.extend(2u32.to_le_bytes());
        epb.extend(2u32.to_le_bytes());
        epb.extend([0xab, 0xcd]);
        w.write_raw_block(6, &epb).unwrap();
        let (got, res) = read_all(&w.into_inner());
        res.unwrap();
        assert_eq!(got[0].ts, ts(105, 500_000_000));
        assert_eq!(got[0].data, [0xab, 0xcd]);
    }

    fn kind_of(bytes: &[u8]) -> (usize, ReadError) {
        let (got, res) = read_all(bytes);
        (got.len(), res.expect_err("should fail"))
    }

    #[test]
    fn empty_and_garbage_inputs() {
        let (_, e) = kind_of(&[]);
        assert!(matches!(e.kind, ReadErrorKind::Empty));
        let (_, e) = kind_of(b"hello world, not a capture");
        assert!(matches!(e.kind, ReadErrorKind::NotACapture(_)));
        assert_eq!(e.to_string(), "at byte 0: not a pcap or pcapng file (starts with 68 65 6c 6c)");
        let (_, e) = kind_of(b"he");
        assert!(matches!(e.kind, ReadErrorKind::NotACapture(ref b) if b == b"he"));
        let (_, e) = kind_of(&[0xd4, 0xc3]);
        assert!(matches!(e.kind, ReadErrorKind::TruncatedHeader { needed: 24, available: 2 }));
    }

    #[test]
    fn pcap_cut_in_record_header_and_body() {
        let (b, offs) = pcap(3, TsResolution::Micro, false);
        let (n, e) = kind_of(&b[..offs[1] as usize + 5]);
        assert_eq!(n, 1);
        assert_eq!(e.offset, offs[1]);
        assert!(matches!(e.kind, ReadErrorKind::TruncatedHeader { needed: 16, available: 5 }));
        let (n, e) = kind_of(&b[..offs[2] as usize + 16 + 10]);
        assert_eq!(n, 2);
        assert_eq!(
            e.to_string(),
            format!(
                "at byte {}: record cut short: header says {} bytes, file ends after 10",
                offs[2],
                payload(2).len()
            )
        );
    }

    #[test]
    fn pcap_absurd_caplen() {
        let (mut b, offs) = pcap(2, TsResolution::Micro, false);
        let at = offs[1] as usize + 8;
        b[at..at + 4].copy_from_slice(&(1u32 << 20).to_le_bytes());
        let (n, e) = kind_of(&b);
        assert_eq!((n, e.offset), (1, offs[1]));
        assert!(matches!(
            e.kind,
            ReadErrorKind::AbsurdLength { length: 1_048_576, limit: 262_144 }
        ));
    }

    #[test]
    fn pcapng_damaged_blocks() {
        let (b, layout, _) = rich_pcapng();
        // The first packet block: the one after SHB and two IDBs.
        let (start, end) = (layout.ends[2].0 as usize, layout.ends[3].0 as usize);

        let mut t = b.clone();
        t[end - 4] ^= 0x40;
        let (n, e) = kind_of(&t);
        assert_eq!((n, e.offset), (0, start as u64));
        assert!(matches!(e.kind, ReadErrorKind::BadBlock(ref r) if r.contains("trailing")));

        let mut t = b.clone();
        t[start + 4] = 0x2a; // total length 42: not a multiple of 4
        assert!(matches!(kind_of(&t).1.kind, ReadErrorKind::BadBlock(_)));

        let mut t = b.clone();
        t[start + 7] = 0x7f; // total length ~2 GiB
        let (_, e) = kind_of(&t);
        assert!(matches!(e.kind, ReadErrorKind::AbsurdLength { .. }), "{e}");
        assert_eq!(e.offset, start as u64);
    }

    #[test]
    fn pcapng_unknown_interface() {
        let mut w = PcapngWriter::new(Vec::new(), false).unwrap();
        let i = w.add_interface(LinkType::ETHERNET, 0, TsResolution::Micro).unwrap();
        w.write_frame(i, ts(1, 0), &[1; 20], 20).unwrap();
        let at = w.get_ref().len() as u64;
        let mut epb = vec![0u8; 20];
        epb[..4].copy_from_slice(&7u32.to_le_bytes());
        w.write_raw_block(6, &epb).unwrap();
        let (n, e) = kind_of(&w.into_inner());
        assert_eq!((n, e.offset), (1, at));
        assert!(matches!(e.kind, ReadErrorKind::UnknownInterface(7)));
        assert!(e.to_string().contains("interface 7"), "{e}");
    }

    /// Cuts `full` at every offset and checks what survives. `ends` are the record/block
    /// boundaries after the file header (the header's own end first).
    fn check_every_cut(full: &[u8], header_end: u64, ends: &[(u64, Option<usize>)]) {
        let (all, res) = read_all(full);
        res.unwrap();
        for cut in 0..full.len() as u64 {
            let (got, res) = read_all(&full[..cut as usize]);
            let complete = ends.iter().filter(|(e, p)| *e <= cut && p.is_some()).count();
            assert_eq!(got[..], all[..complete], "cut at {cut}");
            let at_boundary = cut >= header_end && ends.iter().any(|(e, _)| *e == cut);
            match res {
                Ok(()) => assert!(at_boundary, "clean end inside a record, cut at {cut}"),
                Err(e) => {
                    assert!(!at_boundary, "error at a boundary, cut at {cut}: {e}");
                    let first_missing = ends
                        .iter()
                        .map(|(e, _)| *e)
                        .take_while(|e| *e <= cut)
                        .last()
                        .filter(|_| cut >= header_end)
                        .unwrap_or(0);
                    assert_eq!(e.offset, first_missing, "cut at {cut}: {e}");
                }
            }
        }
    }

    #[test]
    fn pcap_cut_anywhere() {
        let (b, offs) = pcap(4, TsResolution::Micro, false);
        let mut ends: Vec<(u64, Option<usize>)> = vec![(24, None)];
        for i in 0..offs.len() {
            let end = offs.get(i + 1).copied().unwrap_or(b.len() as u64);
            ends.push((end, Some(i)));
        }
        check_every_cut(&b, 24, &ends);
    }

    #[test]
    fn pcapng_cut_anywhere() {
        let (b, layout, _) = rich_pcapng();
        check_every_cut(&b, layout.ends[0].0, &layout.ends);
    }

    /// Random byte damage must never panic or loop: the reader ends with frames or an error.
    #[test]
    fn damaged_bytes_never_panic() {
        let (png, _, _) = rich_pcapng();
        let (pc, _) = pcap(6, TsResolution::Nano, true);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for base in [&png, &pc] {
            for _ in 0..2000 {
                let mut t = base.clone();
                for _ in 0..(rand() % 4 + 1) {
                    let at = (rand() % t.len() as u64) as usize;
                    t[at] = rand() as u8;
                }
                let _ = read_with(&t, 40);
                let _ = read_with(&t, DEFAULT_BUFFER_SIZE);
            }
        }
    }
}
