//! pcap/pcapng writers.
//!
//! Used by the fixture generator, the benchmark's capture generator (gigabyte files) and the
//! reader's tests, so they write straight to the caller's `Write` (pass a `BufWriter`) and
//! never allocate per frame: every record header is built in a stack array.

use std::io::{self, Write};

use super::LinkType;
use crate::time::Timestamp;

/// Timestamp resolution of a written file or interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsResolution {
    /// Microseconds (classic pcap magic 0xa1b2c3d4; pcapng's default `if_tsresol` of 6).
    Micro,
    /// Nanoseconds (pcap magic 0xa1b23c4d; pcapng `if_tsresol` = 9).
    Nano,
}

/// pcapng block types the writer emits.
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const ZEROS: [u8; 4] = [0; 4];

fn put16(buf: &mut [u8], at: usize, v: u16, be: bool) {
    let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
    buf[at..at + 2].copy_from_slice(&b);
}

fn put32(buf: &mut [u8], at: usize, v: u32, be: bool) {
    let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
    buf[at..at + 4].copy_from_slice(&b);
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

fn caplen_of(data: &[u8]) -> io::Result<u32> {
    u32::try_from(data.len()).map_err(|_| invalid("frame longer than 4 GiB"))
}

/// Padding that brings `len` to a multiple of 4, as pcapng requires.
fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Writes a classic pcap file.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    big_endian: bool,
    nano: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header. `big_endian` picks the byte order of every header field, so
    /// tests can produce the files a big-endian capturing host would.
    pub fn new(
        mut w: W,
        link: LinkType,
        snaplen: u32,
        resolution: TsResolution,
        big_endian: bool,
    ) -> io::Result<Self> {
        let nano = resolution == TsResolution::Nano;
        let mut hdr = [0u8; 24];
        put32(&mut hdr, 0, if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, big_endian);
        put16(&mut hdr, 4, 2, big_endian);
        put16(&mut hdr, 6, 4, big_endian);
        // thiszone and sigfigs stay 0, as every modern writer leaves them.
        put32(&mut hdr, 16, snaplen, big_endian);
        put32(&mut hdr, 20, link.0, big_endian);
        w.write_all(&hdr)?;
        Ok(PcapWriter { w, big_endian, nano })
    }

    /// Writes one record. `orig_len` is the length on the wire (may exceed `data.len()`).
    /// Times before 1970 or after 2106 do not fit the format's unsigned seconds and are
    /// refused.
    pub fn write_frame(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let secs = u32::try_from(ts.secs()).map_err(|_| invalid("timestamp outside pcap range"))?;
        let frac = if self.nano { ts.subsec_nanos() } else { ts.subsec_nanos() / 1000 };
        let be = self.big_endian;
        let mut hdr = [0u8; 16];
        put32(&mut hdr, 0, secs, be);
        put32(&mut hdr, 4, frac, be);
        put32(&mut hdr, 8, caplen_of(data)?, be);
        put32(&mut hdr, 12, orig_len, be);
        self.w.write_all(&hdr)?;
        self.w.write_all(data)
    }

    /// The underlying writer (tests use it to note where each record ends).
    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// The underlying writer, to flush it while writing goes on (a live capture makes its file
    /// complete whenever the interface is quiet).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }

    /// Gives back the underlying writer (flush it if it buffers).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Writes a pcapng file: one or more sections, each with its own interfaces.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    w: W,
    big_endian: bool,
    /// Resolution of each interface of the current section, by interface id.
    interfaces: Vec<TsResolution>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the first Section Header Block in the given byte order.
    pub fn new(w: W, big_endian: bool) -> io::Result<Self> {
        let mut writer = PcapngWriter { w, big_endian, interfaces: Vec::new() };
        writer.write_shb()?;
        Ok(writer)
    }

    /// Starts a new section (another SHB, possibly in the other byte order). Interface ids
    /// restart at 0, as the format says.
    pub fn new_section(&mut self, big_endian: bool) -> io::Result<()> {
        self.big_endian = big_endian;
        self.interfaces.clear();
        self.write_shb()
    }

    fn write_shb(&mut self) -> io::Result<()> {
        let be = self.big_endian;
        let mut b = [0u8; 28];
        put32(&mut b, 0, SHB, be);
        put32(&mut b, 4, 28, be);
        put32(&mut b, 8, BYTE_ORDER_MAGIC, be);
        put16(&mut b, 12, 1, be);
        put16(&mut b, 14, 0, be);
        // Section length -1: unknown, which is what a streaming writer must say.
        b[16..24].copy_from_slice(&[0xff; 8]);
        put32(&mut b, 24, 28, be);
        self.w.write_all(&b)
    }

    /// Declares an interface in the current section and returns its id. A nanosecond
    /// interface carries `if_tsresol` = 9; microseconds is the format's default and needs no
    /// option.
    pub fn add_interface(
        &mut self,
        link: LinkType,
        snaplen: u32,
        resolution: TsResolution,
    ) -> io::Result<u32> {
        let link16 = u16::try_from(link.0).map_err(|_| invalid("pcapng link types are 16-bit"))?;
        let id =
            u32::try_from(self.interfaces.len()).map_err(|_| invalid("too many interfaces"))?;
        let be = self.big_endian;
        let mut b = [0u8; 32];
        let len: usize = if resolution == TsResolution::Nano { 32 } else { 20 };
        put32(&mut b, 0, IDB, be);
        put32(&mut b, 4, len as u32, be);
        put16(&mut b, 8, link16, be);
        put32(&mut b, 12, snaplen, be);
        if resolution == TsResolution::Nano {
            put16(&mut b, 16, 9, be); // if_tsresol
            put16(&mut b, 18, 1, be);
            b[20] = 9;
            // bytes 21..24 pad the option; 24..28 is opt_endofopt (all zero).
        }
        put32(&mut b, len - 4, len as u32, be);
        self.w.write_all(&b[..len])?;
        self.interfaces.push(resolution);
        Ok(id)
    }

    /// Writes an Enhanced Packet Block on interface `iface` (an id `add_interface` returned in
    /// this section). Times before 1970 are refused: pcapng timestamps are unsigned.
    pub fn write_frame(
        &mut self,
        iface: u32,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let res = *self
            .interfaces
            .get(iface as usize)
            .ok_or_else(|| invalid("interface not declared in this section"))?;
        let ns = u64::try_from(ts.0).map_err(|_| invalid("timestamp before 1970"))?;
        let units = match res {
            TsResolution::Micro => ns / 1000,
            TsResolution::Nano => ns,
        };
        let caplen = caplen_of(data)?;
        let total = u32::try_from(32 + data.len() + pad4(data.len()))
            .map_err(|_| invalid("block too long"))?;
        let be = self.big_endian;
        let mut hdr = [0u8; 28];
        put32(&mut hdr, 0, EPB, be);
        put32(&mut hdr, 4, total, be);
        put32(&mut hdr, 8, iface, be);
        put32(&mut hdr, 12, (units >> 32) as u32, be);
        put32(&mut hdr, 16, units as u32, be);
        put32(&mut hdr, 20, caplen, be);
        put32(&mut hdr, 24, orig_len, be);
        self.w.write_all(&hdr)?;
        self.finish_body(data, total)
    }

    /// Writes a Simple Packet Block (interface 0, no timestamp). `data` should already be cut
    /// to the interface's snap length; readers take the captured length from the block.
    pub fn write_simple_packet(&mut self, data: &[u8], orig_len: u32) -> io::Result<()> {
        let total = u32::try_from(16 + data.len() + pad4(data.len()))
            .map_err(|_| invalid("block too long"))?;
        let be = self.big_endian;
        let mut hdr = [0u8; 12];
        put32(&mut hdr, 0, SPB, be);
        put32(&mut hdr, 4, total, be);
        put32(&mut hdr, 8, orig_len, be);
        self.w.write_all(&hdr)?;
        self.finish_body(data, total)
    }

    /// Writes any block: `body` is everything between the length fields (padded here to a
    /// multiple of 4). For tests of blocks the reader must skip or of hand-made options.
    pub fn write_raw_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let total = u32::try_from(12 + body.len() + pad4(body.len()))
            .map_err(|_| invalid("block too long"))?;
        let be = self.big_endian;
        let mut hdr = [0u8; 8];
        put32(&mut hdr, 0, block_type, be);
        put32(&mut hdr, 4, total, be);
        self.w.write_all(&hdr)?;
        self.finish_body(body, total)
    }

    /// Declares an interface without telling the writer's bookkeeping its resolution, for
    /// blocks written by hand with `write_raw_block`; returns the id it gets.
    pub fn note_raw_interface(&mut self, resolution: TsResolution) -> u32 {
        self.interfaces.push(resolution);
        self.interfaces.len() as u32 - 1
    }

    fn finish_body(&mut self, data: &[u8], total: u32) -> io::Result<()> {
        self.w.write_all(data)?;
        self.w.write_all(&ZEROS[..pad4(data.len())])?;
        let t = if self.big_endian { total.to_be_bytes() } else { total.to_le_bytes() };
        self.w.write_all(&t)
    }

    /// The underlying writer (tests use it to note where each record ends).
    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// Gives back the underlying writer (flush it if it buffers).
    pub fn into_inner(self) -> W {
        self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_header_and_record_layout() {
        let mut w =
            PcapWriter::new(Vec::new(), LinkType::ETHERNET, 65535, TsResolution::Micro, false)
                .unwrap();
        w.write_frame(Timestamp::from_secs_nanos(1, 2_000), &[0xaa, 0xbb], 60).unwrap();
        let b = w.into_inner();
        assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(b.len(), 24 + 16 + 2);
        assert_eq!(&b[24..28], &1u32.to_le_bytes());
        assert_eq!(&b[28..32], &2u32.to_le_bytes());
        assert_eq!(&b[32..36], &2u32.to_le_bytes());
        assert_eq!(&b[36..40], &60u32.to_le_bytes());
    }

    #[test]
    fn pcapng_blocks_are_padded_and_framed() {
        let mut w = PcapngWriter::new(Vec::new(), true).unwrap();
        let id = w.add_interface(LinkType::RAW, 0, TsResolution::Nano).unwrap();
        w.write_frame(id, Timestamp(5), &[1, 2, 3], 3).unwrap();
        let b = w.into_inner();
        assert_eq!(&b[8..12], &BYTE_ORDER_MAGIC.to_be_bytes());
        // SHB 28 + IDB 32 + EPB 32+3+1.
        assert_eq!(b.len(), 28 + 32 + 36);
        assert_eq!(&b[b.len() - 4..], &36u32.to_be_bytes());
        assert!(w_refuses_unknown_interface());
    }

    fn w_refuses_unknown_interface() -> bool {
        let mut w = PcapngWriter::new(Vec::new(), false).unwrap();
        w.write_frame(0, Timestamp(0), &[], 0).is_err()
    }
}
