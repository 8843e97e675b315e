//! Bytes → a frame of some link type → decode. Must never panic, whatever the bytes.
//!
//! Input layout: byte 0 picks the link type, bytes 1..5 the length on the wire (so that
//! `orig_len` smaller and larger than the captured bytes are both tried), the rest is the frame.
#![no_main]

use connlens::capture::{Frame, LinkType, Origin};
use connlens::decode::{Transport, decode};
use connlens::time::Timestamp;
use libfuzzer_sys::fuzz_target;

/// Every link type the decoder reads, and one it must skip (a user link type).
fn links() -> Vec<LinkType> {
    let mut links = LinkType::DECODED.to_vec();
    links.push(LinkType(147));
    links
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let links = links();
    let link = links[data[0] as usize % links.len()];
    let orig_len = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
    let frame =
        Frame { ts: Timestamp(0), link, orig_len, data: &data[5..], origin: Origin::default() };
    if let Ok(p) = decode(&frame) {
        // What the decoder keeps is bounded by what was captured.
        match p.transport {
            Transport::Tcp(t) => assert!(t.payload.as_slice().len() <= frame.data.len()),
            Transport::Udp(u) => assert!(u.payload.as_slice().len() <= frame.data.len()),
            Transport::Sctp(s) => assert!(s.chunks != 0),
            Transport::IcmpError(_) | Transport::Neighbor(_) | Transport::Echo(_) => {}
        }
    }
});
