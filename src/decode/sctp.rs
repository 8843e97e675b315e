//! SCTP (RFC 9260): the common header and a walk over the chunks, every length bounded.

use super::{SctpPacket, Skip, be16, be32, sctp_chunk};

/// Most chunks walked in one packet: a bundle of many small DATA chunks says nothing more
/// after the first few kinds; what is beyond is not read (the kinds seen so far stand).
const MAX_CHUNKS: usize = 64;

/// SCTP chunk type numbers (RFC 9260 §3.2).
const DATA: u8 = 0;
const INIT: u8 = 1;
const INIT_ACK: u8 = 2;
const ABORT: u8 = 6;
const ERROR: u8 = 9;

/// Decodes an SCTP packet: `l4` the captured bytes, `wire` its length on the wire (from the
/// IP length). The 12-byte common header must be captured, and at least one chunk header;
/// a chunk whose length is below 4, or runs past the packet's end on the wire, is malformed.
/// Chunks the capture cut off are not read (a snap length may leave only the first).
pub(super) fn decode(l4: &[u8], wire: usize) -> Result<SctpPacket, Skip> {
    if wire < 16 {
        return Err(Skip::Malformed);
    }
    let h: &[u8; 12] = l4.get(..12).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    let mut p = SctpPacket {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        vtag: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        chunks: 0,
        abort_t: false,
        error_cause: 0,
        initiate_tag: 0,
        data_len: 0,
    };
    // The packet's end: the wire length, or what was captured of it.
    let end = wire.min(l4.len());
    let mut off = 12;
    for _ in 0..MAX_CHUNKS {
        if off >= wire {
            break;
        }
        let (Some(&kind), Some(&flags), Some(len)) =
            (l4.get(off), l4.get(off + 1), be16(l4, off + 2))
        else {
            // A chunk header the capture cut: the first one is needed.
            if p.chunks == 0 {
                return Err(Skip::Truncated);
            }
            break;
        };
        let len = usize::from(len);
        if len < 4 || off + len > wire {
            return Err(Skip::Malformed);
        }
        p.chunks |= sctp_chunk::bit(kind);
        // The chunk's value, as far as it was captured.
        let value = l4.get(off + 4..(off + len).min(end)).unwrap_or(&[]);
        match kind {
            DATA => {
                // TSN, stream identifier and sequence, payload protocol: 12 bytes of header.
                let user = u32::try_from(len.saturating_sub(16)).unwrap_or(u32::MAX);
                p.data_len = p.data_len.saturating_add(user);
            }
            INIT | INIT_ACK => {
                if len < 20 {
                    return Err(Skip::Malformed);
                }
                p.initiate_tag = be32(value, 0).unwrap_or(0);
            }
            ABORT | ERROR => {
                if kind == ABORT {
                    p.abort_t = flags & 1 != 0;
                }
                // The first error cause: code, length (at least 4), information.
                if p.error_cause == 0
                    && let (Some(code), Some(clen)) = (be16(value, 0), be16(value, 2))
                    && clen >= 4
                {
                    p.error_cause = code;
                }
            }
            _ => {}
        }
        // Chunks are padded to 4 bytes; the padding of the last may be missing.
        off += len.next_multiple_of(4);
    }
    Ok(p)
}

/// The name of an SCTP error cause code (RFC 9260 §3.3.10, RFC 4895, RFC 5061), for the
/// evidence.
pub fn error_cause_name(code: u16) -> &'static str {
    match code {
        1 => "invalid-stream-identifier",
        2 => "missing-mandatory-parameter",
        3 => "stale-cookie",
        4 => "out-of-resource",
        5 => "unresolvable-address",
        6 => "unrecognized-chunk-type",
        7 => "invalid-mandatory-parameter",
        8 => "unrecognized-parameters",
        9 => "no-user-data",
        10 => "cookie-received-while-shutting-down",
        11 => "restart-with-new-addresses",
        12 => "user-initiated-abort",
        13 => "protocol-violation",
        0x00a0 => "request-to-delete-last-address",
        0x00a1 => "operation-refused-resource-shortage",
        0x00a2 => "request-to-delete-source-address",
        0x00a3 => "association-aborted-illegal-asconf-ack",
        0x00a4 => "request-refused-no-authorization",
        0x0105 => "unsupported-hmac-identifier",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SCTP packet from ports 5000 to 38412 with tag `vtag` and these chunks.
    fn packet(vtag: u32, chunks: &[&[u8]]) -> Vec<u8> {
        let mut p = vec![0x13, 0x88, 0x96, 0x2c];
        p.extend_from_slice(&vtag.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        for c in chunks {
            p.extend_from_slice(c);
            while p.len() % 4 != 0 {
                p.push(0);
            }
        }
        p
    }

    fn chunk(kind: u8, flags: u8, value: &[u8]) -> Vec<u8> {
        let mut c = vec![kind, flags];
        c.extend_from_slice(&u16::try_from(4 + value.len()).unwrap().to_be_bytes());
        c.extend_from_slice(value);
        c
    }

    fn init(kind: u8, tag: u32) -> Vec<u8> {
        let mut v = tag.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0, 0xff, 0xff, 0, 10, 0, 10, 0, 0, 0, 1]);
        chunk(kind, 0, &v)
    }

    fn dec(p: &[u8]) -> Result<SctpPacket, Skip> {
        decode(p, p.len())
    }

    #[test]
    fn each_chunk_type() {
        let p = dec(&packet(0, &[&init(1, 0xdead_beef)])).unwrap();
        assert_eq!((p.src_port, p.dst_port, p.vtag), (5000, 38444, 0));
        assert_eq!(p.chunks, sctp_chunk::INIT);
        assert_eq!(p.initiate_tag, 0xdead_beef);
        let p = dec(&packet(0xdead_beef, &[&init(2, 7)])).unwrap();
        assert!(p.has(sctp_chunk::INIT_ACK) && p.initiate_tag == 7);
        for (kind, bit) in [
            (10, sctp_chunk::COOKIE_ECHO),
            (11, sctp_chunk::COOKIE_ACK),
            (7, sctp_chunk::SHUTDOWN),
            (8, sctp_chunk::SHUTDOWN_ACK),
            (14, sctp_chunk::SHUTDOWN_COMPLETE),
            (3, sctp_chunk::SACK),
            (4, sctp_chunk::HEARTBEAT),
            (64, sctp_chunk::OTHER),
        ] {
            assert_eq!(dec(&packet(1, &[&chunk(kind, 0, &[1, 2, 3])])).unwrap().chunks, bit);
        }
        // ABORT with the T bit and no cause (Linux's answer to an INIT for a closed port).
        let p = dec(&packet(0xdead_beef, &[&chunk(6, 1, &[])])).unwrap();
        assert!(p.has(sctp_chunk::ABORT) && p.abort_t && p.error_cause == 0);
        // ABORT with a cause: user-initiated abort.
        let p = dec(&packet(9, &[&chunk(6, 0, &[0, 12, 0, 4])])).unwrap();
        assert!(!p.abort_t);
        assert_eq!((p.error_cause, error_cause_name(p.error_cause)), (12, "user-initiated-abort"));
        // Bundled: COOKIE-ECHO and DATA; the user data is counted without its header.
        let mut data = vec![0; 12];
        data.extend_from_slice(b"hello");
        let p = dec(&packet(9, &[&chunk(10, 0, &[0; 8]), &chunk(0, 3, &data)])).unwrap();
        assert_eq!(p.chunks, sctp_chunk::COOKIE_ECHO | sctp_chunk::DATA);
        assert_eq!(p.data_len, 5);
    }

    #[test]
    fn lengths_are_bounded() {
        // No chunk at all, a header cut by the capture.
        assert_eq!(dec(&packet(0, &[])), Err(Skip::Malformed));
        let p = packet(0, &[&init(1, 5)]);
        assert_eq!(decode(&p[..10], p.len()), Err(Skip::Truncated));
        assert_eq!(decode(&p[..13], p.len()), Err(Skip::Truncated));
        // The first chunk's header captured, its value cut: still an INIT.
        assert_eq!(decode(&p[..16], p.len()).unwrap().chunks, sctp_chunk::INIT);
        // Chunk length 0, 3, past the packet; an INIT too short for its fields.
        for len in [0u16, 3, 200] {
            let mut bad = p.clone();
            bad[14..16].copy_from_slice(&len.to_be_bytes());
            assert_eq!(dec(&bad), Err(Skip::Malformed), "length {len}");
        }
        assert_eq!(dec(&packet(0, &[&chunk(1, 0, &[0; 8])])), Err(Skip::Malformed));
        // A later chunk cut by the capture: the first stands.
        let two = packet(1, &[&chunk(11, 0, &[]), &chunk(0, 3, &[0; 40])]);
        assert_eq!(decode(&two[..18], two.len()).unwrap().chunks, sctp_chunk::COOKIE_ACK);
        // Many chunks: at most MAX_CHUNKS are walked, nothing overflows.
        let small = chunk(4, 0, &[]);
        let many: Vec<&[u8]> = (0..1000).map(|_| small.as_slice()).collect();
        assert_eq!(dec(&packet(1, &many)).unwrap().chunks, sctp_chunk::HEARTBEAT);
        // Every cut of a valid packet decodes or is skipped, never panics.
        let full = packet(3, &[&init(1, 9), &chunk(6, 1, &[0, 3, 0, 8, 0, 0, 0, 1])]);
        for n in 0..full.len() {
            let _ = decode(&full[..n], full.len());
            let _ = decode(&full[..n], n);
        }
    }
}
