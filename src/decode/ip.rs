//! IPv4/IPv6 headers (with IPv6 extension headers) and the TCP and UDP headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::link::IpVersion;
use super::{PayloadPrefix, Skip, TcpFlags, TcpSegment, UdpDatagram, be16, be32};

/// IP protocol numbers the decoder looks at.
pub(super) const PROTO_ICMP: u8 = 1;
pub(super) const PROTO_TCP: u8 = 6;
pub(super) const PROTO_UDP: u8 = 17;
pub(super) const PROTO_ICMPV6: u8 = 58;
pub(super) const PROTO_SCTP: u8 = 132;

/// IPv6 extension header chains longer than this are not walked (no real stack sends them).
const MAX_EXT_HEADERS: usize = 8;

/// The network layer of a packet.
#[derive(Clone, Copy, Debug)]
pub(super) struct Net<'a> {
    pub v6: bool,
    /// The source then the destination address, as the header has them (4 or 16 bytes
    /// each): read into an [`IpAddr`] only where the packet is built, because moving two
    /// `IpAddr`s (an IPv4 one being 4 of its 16 bytes) through the decoder's `Result`s cost
    /// store-forwarding stalls on every frame.
    addrs: &'a [u8],
    pub ttl: u8,
    pub ip_id: u16,
    pub dont_fragment: bool,
    /// The upper-layer protocol (after IPv6 extension headers).
    pub proto: u8,
    /// The captured upper-layer bytes, ending where the IP length says the packet ends.
    pub l4: &'a [u8],
    /// The upper-layer length on the wire, from the IP length (None in a quote, whose
    /// lengths are not trusted).
    pub l4_wire: Option<usize>,
}

impl Net<'_> {
    /// The source address.
    #[inline(always)]
    pub fn src(&self) -> IpAddr {
        self.addr(0)
    }

    /// The destination address.
    #[inline(always)]
    pub fn dst(&self) -> IpAddr {
        self.addr(1)
    }

    #[inline(always)]
    fn addr(&self, i: usize) -> IpAddr {
        if self.v6 {
            let a: Option<&[u8; 16]> = self.addrs.get(i * 16..).and_then(|b| b.first_chunk());
            IpAddr::V6(Ipv6Addr::from(a.copied().unwrap_or([0; 16])))
        } else {
            let a: Option<&[u8; 4]> = self.addrs.get(i * 4..).and_then(|b| b.first_chunk());
            IpAddr::V4(Ipv4Addr::from(a.copied().unwrap_or([0; 4])))
        }
    }
}

/// Parses an IP header. `wire_len` is the packet's length on the wire (from the frame's
/// original length), used when the IP length is zero (segmentation offload, jumbograms);
/// `None` parses a quote inside an ICMP error: lengths are ignored there, as routers and NATs
/// often leave them wrong.
#[inline(always)]
pub(super) fn parse(
    d: &[u8],
    version: IpVersion,
    wire_len: Option<usize>,
) -> Result<Net<'_>, Skip> {
    match version {
        IpVersion::V4 => ipv4(d, wire_len),
        IpVersion::V6 => ipv6(d, wire_len),
    }
}

#[inline(always)]
fn ipv4(d: &[u8], wire_len: Option<usize>) -> Result<Net<'_>, Skip> {
    let h: &[u8; 20] = d.get(..20).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    if h[0] >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let hl = usize::from(h[0] & 0x0f) * 4;
    if hl < 20 {
        return Err(Skip::Malformed);
    }
    let frag = u16::from_be_bytes([h[6], h[7]]);
    if frag & 0x1fff != 0 {
        return Err(Skip::Fragment);
    }
    if d.len() < hl {
        return Err(Skip::Truncated);
    }
    let (end, l4_wire) = match wire_len {
        Some(wire) => {
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let total = if total == 0 { wire } else { total };
            if total < hl {
                return Err(Skip::Malformed);
            }
            // The IP length, not the frame, bounds the packet: Ethernet pads short frames.
            (total.min(d.len()), Some(total - hl))
        }
        None => (d.len(), None),
    };
    Ok(Net {
        v6: false,
        addrs: &h[12..20],
        ttl: h[8],
        ip_id: u16::from_be_bytes([h[4], h[5]]),
        dont_fragment: frag & 0x4000 != 0,
        proto: h[9],
        l4: d.get(hl..end).ok_or(Skip::Truncated)?,
        l4_wire,
    })
}

#[inline(always)]
fn ipv6(d: &[u8], wire_len: Option<usize>) -> Result<Net<'_>, Skip> {
    let h: &[u8; 40] = d.get(..40).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    if h[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    // `declared`: where the packet ends per its header (a quote: wherever the capture ends).
    let declared = match wire_len {
        Some(wire) => match usize::from(u16::from_be_bytes([h[4], h[5]])) {
            0 => wire.max(40),
            plen => 40 + plen,
        },
        None => usize::MAX,
    };
    // Needs `n` bytes at `off`: past the IP length is malformed, past the capture truncated.
    let need = |off: usize, n: usize| {
        if off + n > declared {
            Err(Skip::Malformed)
        } else if off + n > d.len() {
            Err(Skip::Truncated)
        } else {
            Ok(())
        }
    };
    let mut nh = h[6];
    let mut off = 40;
    let mut walked = 0;
    loop {
        match nh {
            // Transports, and the packets and tunnels IPv6 may carry (4in6, 6in6, GRE, MPLS).
            PROTO_TCP | PROTO_UDP | PROTO_ICMPV6 | PROTO_SCTP | 4 | 41 | 47 | 137 => break,
            // Hop-by-hop, routing, destination options: length in 8-byte units past the first 8.
            0 | 43 | 60 | 51 => {
                need(off, 2)?;
                let len = usize::from(d.get(off + 1).copied().unwrap_or(0));
                let len = if nh == 51 { (len + 2) * 4 } else { (len + 1) * 8 };
                nh = d.get(off).copied().unwrap_or(59);
                off += len;
            }
            44 => {
                need(off, 8)?;
                if be16(d, off + 2).unwrap_or(0) >> 3 != 0 {
                    return Err(Skip::Fragment);
                }
                nh = d.get(off).copied().unwrap_or(59);
                off += 8;
            }
            // 59 "no next header", ESP, mobility, GRE, …
            _ => return Err(Skip::OtherIpProtocol),
        }
        walked += 1;
        if walked > MAX_EXT_HEADERS {
            return Err(Skip::Malformed);
        }
    }
    need(off, 0)?;
    let end = declared.min(d.len());
    Ok(Net {
        v6: true,
        addrs: &h[8..40],
        ttl: h[7],
        ip_id: 0,
        dont_fragment: false,
        proto: nh,
        l4: d.get(off..end).ok_or(Skip::Truncated)?,
        l4_wire: wire_len.map(|_| declared - off),
    })
}

/// Decodes a TCP header. `l4` is the captured segment, `wire` its length on the wire.
#[inline(always)]
pub(super) fn tcp(l4: &[u8], wire: usize) -> Result<TcpHead<'_>, Skip> {
    if wire < 20 {
        return Err(Skip::Malformed);
    }
    // Ports, seq, ack, offset and flags are what matters; a snap length that cuts the rest of
    // the header (common with -s 54/64 on VLAN-tagged links) still leaves a usable segment.
    let h: &[u8; 14] = l4.first_chunk().ok_or(Skip::Truncated)?;
    let hl = usize::from(h[12] >> 4) * 4;
    if hl < 20 || wire < hl {
        return Err(Skip::Malformed);
    }
    Ok(TcpHead { l4, payload_len: u32::try_from(wire - hl).unwrap_or(u32::MAX), header_len: hl })
}

/// A TCP header, checked, before its fields and payload are copied: the decoder builds the
/// whole packet in one place, so that it is not moved from function to function on its way
/// to the batch. The fields are read from the frame there, not carried here: small fields
/// moved through the decoder's enums cost store-forwarding stalls on every segment.
#[derive(Clone, Copy, Debug)]
pub(super) struct TcpHead<'a> {
    /// The captured segment, at least the 14 bytes up to the flags.
    l4: &'a [u8],
    payload_len: u32,
    header_len: usize,
}

impl TcpHead<'_> {
    /// The segment, with the payload prefix.
    #[inline(always)]
    pub(super) fn segment(self) -> TcpSegment {
        let h: &[u8; 14] = self.l4.first_chunk().unwrap_or(&[0; 14]);
        TcpSegment {
            src_port: u16::from_be_bytes([h[0], h[1]]),
            dst_port: u16::from_be_bytes([h[2], h[3]]),
            seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
            flags: TcpFlags(h[13]),
            window: be16(self.l4, 14).unwrap_or(0),
            payload_len: self.payload_len,
            payload: PayloadPrefix::new(self.l4.get(self.header_len..).unwrap_or(&[])),
        }
    }
}

/// Decodes a UDP header. `l4` is the captured datagram, `wire` its length on the wire.
#[inline(always)]
pub(super) fn udp(l4: &[u8], wire: usize) -> Result<UdpHead, Skip> {
    if wire < 8 {
        return Err(Skip::Malformed);
    }
    let h: &[u8; 8] = l4.get(..8).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    // Zero (jumbograms, offload) or impossible lengths: trust the IP length instead; a UDP
    // length beyond the IP packet cannot be true either.
    let len = if ulen >= 8 { ulen.min(wire) } else { wire };
    Ok(UdpHead {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        len,
    })
}

/// A UDP header's facts, before its payload is copied (see [`TcpHead`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct UdpHead {
    src_port: u16,
    dst_port: u16,
    /// The datagram's length, header included.
    len: usize,
}

impl UdpHead {
    pub(super) fn src_port(&self) -> u16 {
        self.src_port
    }

    pub(super) fn dst_port(&self) -> u16 {
        self.dst_port
    }

    /// The datagram's length, header included (at least 8).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The datagram, with the payload prefix from `l4` (the bytes [`udp`] parsed).
    #[inline(always)]
    pub(super) fn datagram(self, l4: &[u8]) -> UdpDatagram {
        UdpDatagram {
            src_port: self.src_port,
            dst_port: self.dst_port,
            payload_len: u32::try_from(self.len - 8).unwrap_or(u32::MAX),
            payload: PayloadPrefix::new(l4.get(8..l4.len().min(self.len)).unwrap_or(&[])),
        }
    }
}

/// The source and destination ports and (TCP) sequence number of a quoted transport header,
/// of which only the first 8 bytes are guaranteed.
pub(super) fn quoted_ports(l4: &[u8]) -> Option<(u16, u16, Option<u32>)> {
    Some((be16(l4, 0)?, be16(l4, 2)?, be32(l4, 4)))
}
