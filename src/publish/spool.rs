//! The on-disk spool: lines waiting for the broker, in order, bounded in bytes.
//!
//! A directory of segment files named by a number, oldest first; each record is one text line,
//! `<msg-id> <subject> <json>`. New records are appended to the last segment (a new one once it
//! is past an eighth of the bound); records are read from the first. A segment is deleted once
//! every record in it has been read and acknowledged by the stream. Past the bound, the oldest
//! segment is deleted and its records not yet read are counted as dropped.
//!
//! Records are flushed to the operating system before they are read back, not synced to the
//! disk: a crash of connlens loses nothing, a crash of the machine may lose the last records.
//! A record read and sent whose segment was not yet deleted when connlens stopped is sent again
//! by the next run with the same message id: the stream stores it once (within its duplicate
//! window).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One line for the stream: its message id, subject and JSON payload (no newline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The `Nats-Msg-Id` header.
    pub id: String,
    /// The subject it is published on.
    pub subject: String,
    /// The JSON line.
    pub payload: Vec<u8>,
}

impl Record {
    /// Bytes it takes in the spool (and, roughly, in memory).
    pub fn size(&self) -> u64 {
        (self.id.len() + self.subject.len() + self.payload.len() + 3) as u64
    }
}

struct Segment {
    id: u64,
    bytes: u64,
    lines: u64,
    /// Records handed out by `read_next`.
    read: u64,
    /// Records acknowledged (`ack`).
    acked: u64,
}

/// The first segment number of a fresh spool: room below it for `prepend`.
const FIRST: u64 = 1 << 40;

/// A bounded, ordered, on-disk queue of records.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_max: u64,
    segments: VecDeque<Segment>,
    writer: Option<(u64, BufWriter<File>)>,
    reader: Option<(u64, BufReader<File>)>,
    /// Records deleted unread, past the bound.
    pub dropped: u64,
    line: String,
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, with what an earlier run left in it.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        let mut ids = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            if let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".spool"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut segments = VecDeque::new();
        for id in ids {
            let path = segment_path(dir, id);
            let mut lines = 0;
            for line in BufReader::new(File::open(&path)?).split(b'\n') {
                if !line?.is_empty() {
                    lines += 1;
                }
            }
            let bytes = fs::metadata(&path)?.len();
            if lines == 0 {
                fs::remove_file(&path)?;
                continue;
            }
            segments.push_back(Segment { id, bytes, lines, read: 0, acked: 0 });
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(4096),
            segment_max: (max_bytes / 8).max(4096),
            segments,
            writer: None,
            reader: None,
            dropped: 0,
            line: String::new(),
        })
    }

    /// Records not yet handed out by `read_next`.
    pub fn unread(&self) -> u64 {
        self.segments.iter().map(|s| s.lines - s.read).sum()
    }

    /// Whether every record has been handed out.
    pub fn is_empty(&self) -> bool {
        self.unread() == 0
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Appends a record at the end; drops the oldest segments past the bound.
    pub fn append(&mut self, r: &Record) -> io::Result<()> {
        let size = r.size();
        let full = self.segments.back().is_none_or(|s| s.bytes + size > self.segment_max);
        let last_is_writer = match (&self.writer, self.segments.back()) {
            (Some((w, _)), Some(s)) => *w == s.id,
            _ => false,
        };
        if full || !last_is_writer {
            let id = self.segments.back().map_or(FIRST, |s| s.id + 1);
            if let Some((_, mut w)) = self.writer.take() {
                w.flush()?;
            }
            let f =
                OpenOptions::new().create(true).append(true).open(segment_path(&self.dir, id))?;
            self.writer = Some((id, BufWriter::with_capacity(1 << 16, f)));
            self.segments.push_back(Segment { id, bytes: 0, lines: 0, read: 0, acked: 0 });
        }
        if let (Some((_, w)), Some(s)) = (&mut self.writer, self.segments.back_mut()) {
            write_record(w, r)?;
            s.bytes += size;
            s.lines += 1;
        }
        while self.bytes() > self.max_bytes && self.segments.len() > 1 {
            self.drop_oldest()?;
        }
        Ok(())
    }

    /// Writes `records` as a new first segment, before everything spooled (the lines a
    /// stopping run still held in memory, older than the spool's).
    pub fn prepend(&mut self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let id = self.segments.front().map_or(FIRST, |s| s.id - 1);
        let mut w = BufWriter::new(File::create(segment_path(&self.dir, id))?);
        let mut bytes = 0;
        for r in records {
            write_record(&mut w, r)?;
            bytes += r.size();
        }
        w.flush()?;
        if self.reader.is_some() {
            // Records already read stay in memory with their segment's id; start over.
            self.reader = None;
        }
        self.segments.push_front(Segment {
            id,
            bytes,
            lines: records.len() as u64,
            read: 0,
            acked: 0,
        });
        Ok(())
    }

    fn drop_oldest(&mut self) -> io::Result<()> {
        if let Some(s) = self.segments.pop_front() {
            self.dropped += s.lines - s.read;
            if self.reader.as_ref().is_some_and(|(id, _)| *id == s.id) {
                self.reader = None;
            }
            if self.writer.as_ref().is_some_and(|(id, _)| *id == s.id) {
                self.writer = None;
            }
            remove(&segment_path(&self.dir, s.id))?;
        }
        Ok(())
    }

    /// The oldest record not yet handed out, with the segment it is from (for `ack`).
    pub fn read_next(&mut self) -> io::Result<Option<(Record, u64)>> {
        loop {
            let Some(s) = self.segments.iter_mut().find(|s| s.read < s.lines) else {
                return Ok(None);
            };
            let id = s.id;
            if let Some((w_id, w)) = &mut self.writer
                && *w_id == id
            {
                w.flush()?;
            }
            if self.reader.as_ref().is_none_or(|(r, _)| *r != id) {
                let mut r = BufReader::new(File::open(segment_path(&self.dir, id))?);
                // Skip what was already handed out (after `prepend` reset the reader).
                for _ in 0..s.read {
                    self.line.clear();
                    r.read_line(&mut self.line)?;
                }
                self.reader = Some((id, r));
            }
            let Some((_, reader)) = &mut self.reader else { return Ok(None) };
            self.line.clear();
            let n = reader.read_line(&mut self.line)?;
            if n == 0 || !self.line.ends_with('\n') {
                // A torn last line (a crash while writing): the segment ends here.
                s.lines = s.read;
                self.reader = None;
                self.collect()?;
                continue;
            }
            s.read += 1;
            let text = self.line.trim_end_matches('\n');
            let mut parts = text.splitn(3, ' ');
            if let (Some(msg), Some(subject), Some(payload)) =
                (parts.next(), parts.next(), parts.next())
            {
                let r = Record {
                    id: msg.to_string(),
                    subject: subject.to_string(),
                    payload: payload.as_bytes().to_vec(),
                };
                return Ok(Some((r, id)));
            }
            // Not a record (damaged): skipped, and acknowledged as such.
            s.acked += 1;
        }
    }

    /// Records that one record of segment `id` is stored in the stream: a segment read and
    /// acknowledged to its end is deleted.
    pub fn ack(&mut self, id: u64) -> io::Result<()> {
        if let Some(s) = self.segments.iter_mut().find(|s| s.id == id) {
            s.acked += 1;
        }
        self.collect()
    }

    fn collect(&mut self) -> io::Result<()> {
        while let Some(s) = self.segments.front() {
            if s.read < s.lines || s.acked < s.lines {
                break;
            }
            let id = s.id;
            self.segments.pop_front();
            if self.writer.as_ref().is_some_and(|(w, _)| *w == id) {
                self.writer = None;
            }
            if self.reader.as_ref().is_some_and(|(r, _)| *r == id) {
                self.reader = None;
            }
            remove(&segment_path(&self.dir, id))?;
        }
        Ok(())
    }

    /// Flushes the segment being written.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some((_, w)) => w.flush(),
            None => Ok(()),
        }
    }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.spool"))
}

fn write_record(w: &mut impl Write, r: &Record) -> io::Result<()> {
    w.write_all(r.id.as_bytes())?;
    w.write_all(b" ")?;
    w.write_all(r.subject.as_bytes())?;
    w.write_all(b" ")?;
    w.write_all(&r.payload)?;
    w.write_all(b"\n")
}

fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u64) -> Record {
        Record {
            id: format!("s.run.{n}"),
            subject: "connlens.s.flow".into(),
            payload: format!("{{\"n\":{n}}}").into_bytes(),
        }
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("connlens-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    /// Records come back in order, across segments and across a reopen; acknowledged ones
    /// are gone for the next run, unacknowledged ones come back.
    #[test]
    fn in_order_and_kept_until_acknowledged() {
        let dir = tempdir("order");
        let mut s = Spool::open(&dir, 256 * 1024).unwrap();
        for n in 0..2000 {
            s.append(&rec(n)).unwrap();
        }
        assert!(s.segments.len() > 1);
        for n in 0..1500 {
            let (r, seg) = s.read_next().unwrap().unwrap();
            assert_eq!(r, rec(n));
            if n < 1000 {
                s.ack(seg).unwrap();
            }
        }
        s.flush().unwrap();
        drop(s);
        let mut s = Spool::open(&dir, 256 * 1024).unwrap();
        let (first, _) = s.read_next().unwrap().unwrap();
        // Whole segments are deleted: the first record back is at or before 1000.
        let n: u64 =
            String::from_utf8(first.payload).unwrap()[5..].trim_end_matches('}').parse().unwrap();
        assert!(n <= 1000, "{n}");
        let mut last = n;
        while let Some((r, seg)) = s.read_next().unwrap() {
            let m: u64 =
                String::from_utf8(r.payload).unwrap()[5..].trim_end_matches('}').parse().unwrap();
            assert_eq!(m, last + 1);
            last = m;
            s.ack(seg).unwrap();
        }
        assert_eq!(last, 1999);
        assert_eq!(s.unread(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Past the bound the oldest records go, counted; the newest stay.
    #[test]
    fn past_the_bound_the_oldest_are_dropped_and_counted() {
        let dir = tempdir("bound");
        let mut s = Spool::open(&dir, 16 * 1024).unwrap();
        let total = 5000;
        for n in 0..total {
            s.append(&rec(n)).unwrap();
        }
        assert!(s.bytes() <= 16 * 1024);
        assert!(s.dropped > 0);
        let mut got = Vec::new();
        while let Some((r, _)) = s.read_next().unwrap() {
            got.push(r);
        }
        assert_eq!(got.len() as u64 + s.dropped, total);
        assert_eq!(got.last(), Some(&rec(total - 1)));
        assert_eq!(got[0], rec(s.dropped));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Lines held in memory at the stop go before the spooled ones.
    #[test]
    fn prepended_records_come_first() {
        let dir = tempdir("prepend");
        let mut s = Spool::open(&dir, 1 << 20).unwrap();
        s.append(&rec(2)).unwrap();
        s.prepend(&[rec(0), rec(1)]).unwrap();
        s.flush().unwrap();
        drop(s);
        let mut s = Spool::open(&dir, 1 << 20).unwrap();
        let got: Vec<Record> =
            std::iter::from_fn(|| s.read_next().unwrap().map(|(r, _)| r)).collect();
        assert_eq!(got, [rec(0), rec(1), rec(2)]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
