//! Decoding: from a captured frame to a small owned [`Packet`] summary.
//!
//! The decoder runs in the capture thread. It walks the link layer (Ethernet, 802.1Q/QinQ,
//! Linux cooked SLL/SLL2, raw IP, BSD loopback, PPP, Cisco HDLC, 802.11 behind radiotap, PPI,
//! Prism or AVS headers, NFLOG), the encapsulations in between (VXLAN, Geneve, GRE, ERSPAN,
//! IP in IP, MPLS, PPPoE, GTP-U, Teredo: see `tunnel`), IPv4/IPv6 with extension headers, and
//! TCP/UDP/SCTP/ICMP/ICMPv6 (errors and echo), and for ICMP errors the datagram they quote. What it keeps is what the
//! tracker needs and a person can check in Wireshark — never the whole frame. A frame that is
//! not a connection-level packet is a counted [`Skip`], never an error.
//!
//! Hand-written over byte slices: no allocation, no copies beyond the payload prefix, and
//! every read bounds-checked. Checksums are never verified (offload makes locally sent
//! packets' checksums wrong), and lengths are trusted only as far as the capture goes.

mod icmp;
mod ip;
mod link;
mod packet;
mod sctp;
mod tunnel;

pub use sctp::error_cause_name as sctp_error_cause_name;

pub use packet::*;

use std::net::{IpAddr, Ipv4Addr};

use crate::capture::Frame;
use link::Next;

/// Decodes one frame into a packet summary, or says why it has none.
#[inline(always)]
pub fn decode(frame: &Frame<'_>) -> Result<Packet, Skip> {
    decode_with(frame, |p| p)
}

/// Decodes `frame` onto the end of `packets` (nothing is added when it is skipped). The
/// packet is built where it goes: moving a few hundred bytes from decoder to vector was a
/// good part of the capture thread's work.
#[inline(always)]
pub fn decode_into(frame: &Frame<'_>, packets: &mut Vec<Packet>) -> Result<(), Skip> {
    decode_with(frame, |p| packets.push(p))
}

/// When and where a frame was captured: all a packet keeps of the frame itself. Handed on
/// by value, so that the frame does not have to live in memory (its fields stored one by
/// one and copied whole cost store-forwarding stalls on every frame).
/// (`Origin`'s fields are kept apart for the same reason: copied as one struct, they were
/// loaded in wider pieces than they were stored.)
#[derive(Clone, Copy)]
struct At {
    ts: crate::time::Timestamp,
    file: u16,
    number: u64,
    offset: u64,
}

impl At {
    #[inline(always)]
    fn of(frame: &Frame<'_>) -> At {
        let o = frame.origin;
        At { ts: frame.ts, file: o.file, number: o.number, offset: o.offset }
    }

    #[inline(always)]
    fn origin(self) -> crate::capture::Origin {
        crate::capture::Origin { file: self.file, number: self.number, offset: self.offset }
    }
}

/// Decodes `frame` and hands the packet to `put`, which is given it as one expression.
#[inline(always)]
fn decode_with<R>(frame: &Frame<'_>, put: impl FnOnce(Packet) -> R) -> Result<R, Skip> {
    let at = At::of(frame);
    let link = match link::plain_ethernet(frame.link, frame.data) {
        Some(link) => link,
        None => link::strip(frame.link, frame.data)?,
    };
    let l3 = frame.data.get(link.ip_offset()..).ok_or(Skip::Truncated)?;
    // The IP packet's length on the wire, for IP headers whose length field is zero.
    let wire = usize::try_from(frame.orig_len)
        .unwrap_or(usize::MAX)
        .max(frame.data.len())
        .saturating_sub(link.ip_offset());
    match link.next {
        Next::Ip(version) => {
            let net = ip::parse(l3, version, Some(wire))?;
            // The common case: a packet that carries no other.
            if !tunnel::may_carry(&net) {
                return build(at, link.vlan, link.dest, Tunnel::NONE, net, put);
            }
        }
        Next::Arp => {
            return Ok(put(arp(at, link.vlan, link.dest, Tunnel::NONE, l3)?));
        }
        _ => {}
    }
    let (walk, reached) = decapsulate(link, l3, wire)?;
    match reached {
        tunnel::Reached::Ip(net) => build(at, walk.vlan, walk.dest, walk.tunnel, net, put),
        tunnel::Reached::Arp(b) => Ok(put(arp(at, walk.vlan, walk.dest, walk.tunnel, b)?)),
    }
}

/// Walks a frame whose conversation is inside a tunnel (or behind a link layer that leads
/// to one: MPLS, PPPoE, PPP) to the packet it carries. Out of line, and given nothing of the
/// frame but its bytes, so that the common path keeps the frame in registers.
#[inline(never)]
fn decapsulate<'a>(
    link: link::LinkInfo,
    l3: &'a [u8],
    wire: usize,
) -> Result<(tunnel::Walk<'a>, tunnel::Reached<'a>), Skip> {
    let mut walk = tunnel::Walk::new(l3, wire, link.vlan, link.dest);
    let reached = walk.run(link.next)?;
    Ok((walk, reached))
}

/// The innermost IP packet of a tunnelled frame of `link` (from its IP header to the end of
/// the capture), for a filter to run on what the tunnel carries (`--filter`, `live`'s
/// filter: see `capture::bpf`); `None` when the frame carries no tunnel or does not decode.
/// The same walk as [`decode`], nothing allocated.
pub fn inner_ip_packet(link: crate::capture::LinkType, data: &[u8]) -> Option<&[u8]> {
    let info = link::strip(link, data).ok()?;
    let l3 = data.get(info.ip_offset()..)?;
    if let Next::Ip(version) = info.next {
        let net = ip::parse(l3, version, Some(l3.len())).ok()?;
        if !tunnel::may_carry(&net) {
            return None;
        }
    }
    let mut walk = tunnel::Walk::new(l3, l3.len(), info.vlan, info.dest);
    match walk.run(info.next) {
        Ok(tunnel::Reached::Ip(_)) if walk.tunnel.is_some() => Some(walk.ip_at),
        _ => None,
    }
}

/// The packet an ICMP or ICMPv6 error in a frame of `link` quotes (in a tunnel, the
/// innermost packet's), from its IP header to the end of the capture; `None` for any other
/// frame. Lets a read filter keep only the errors about what it names (see `capture::bpf`).
pub fn icmp_error_quote(link: crate::capture::LinkType, data: &[u8]) -> Option<&[u8]> {
    let info = link::strip(link, data).ok()?;
    let l3 = data.get(info.ip_offset()..)?;
    let mut walk = tunnel::Walk::new(l3, l3.len(), info.vlan, info.dest);
    let Ok(tunnel::Reached::Ip(net)) = walk.run(info.next) else { return None };
    if !matches!((net.v6, net.proto), (false, ip::PROTO_ICMP) | (true, ip::PROTO_ICMPV6)) {
        return None;
    }
    icmp::error_kind(net.v6, *net.l4.first()?)?;
    net.l4.get(8..)
}

/// The packet of the IP header `net`, from the link layer's (or tunnel's) facts.
#[inline(always)]
fn build<R>(
    at: At,
    vlan: u32,
    link_dst: LinkDest,
    tunnel: Tunnel,
    net: ip::Net<'_>,
    put: impl FnOnce(Packet) -> R,
) -> Result<R, Skip> {
    let l4_wire = net.l4_wire.unwrap_or(net.l4.len());
    let ip = IpFacts { at, vlan, link_dst, tunnel };
    // Each transport's packet is built where it is put: joined first into one value, its
    // fields were moved through memory in pieces (store-forwarding stalls on every packet).
    match net.proto {
        ip::PROTO_TCP => {
            let head = ip::tcp(net.l4, l4_wire)?;
            Ok(put(ip.packet(&net, Transport::Tcp(head.segment()))))
        }
        ip::PROTO_UDP => {
            let head = ip::udp(net.l4, l4_wire)?;
            Ok(put(ip.packet(&net, Transport::Udp(head.datagram(net.l4)))))
        }
        _ => Ok(put(ip.packet(&net, other_transport(&net, l4_wire)?))),
    }
}

/// What a packet takes from its frame and the layers below its IP header.
#[derive(Clone, Copy)]
struct IpFacts {
    at: At,
    vlan: u32,
    link_dst: LinkDest,
    tunnel: Tunnel,
}

impl IpFacts {
    /// The packet of IP header `net` carrying `transport`. (A function that is always
    /// inlined, not a closure: a closure was left out of line, and its packet copied.)
    #[inline(always)]
    fn packet(self, net: &ip::Net<'_>, transport: Transport) -> Packet {
        Packet {
            ts: self.at.ts,
            origin: self.at.origin(),
            vlan: self.vlan,
            src: net.src(),
            dst: net.dst(),
            ttl: net.ttl,
            ip_id: net.ip_id,
            dont_fragment: net.dont_fragment,
            link_dst: self.link_dst,
            tunnel: self.tunnel,
            transport,
        }
    }
}

/// The transports other than TCP and UDP: ICMP and ICMPv6 (errors, echo, neighbour
/// discovery) and SCTP. Out of line: they are rare next to TCP and UDP.
#[inline(never)]
fn other_transport(net: &ip::Net<'_>, l4_wire: usize) -> Result<Transport, Skip> {
    Ok(match net.proto {
        ip::PROTO_ICMP if !net.v6 => match icmp::echo(net.l4, false, l4_wire) {
            Some(e) => Transport::Echo(e?),
            None => Transport::IcmpError(icmp::error(net.l4, false)?),
        },
        ip::PROTO_ICMPV6 if net.v6 => match icmp::neighbor(net.l4) {
            Some(n) => Transport::Neighbor(n),
            None => match icmp::echo(net.l4, true, l4_wire) {
                Some(e) => Transport::Echo(e?),
                None => Transport::IcmpError(icmp::error(net.l4, true)?),
            },
        },
        ip::PROTO_SCTP => Transport::Sctp(sctp::decode(net.l4, l4_wire)?),
        _ => return Err(Skip::OtherIpProtocol),
    })
}

/// An ARP request or reply for IPv4 over Ethernet (RFC 826); other ARP kinds are not IP.
fn arp(at: At, vlan: u32, link_dst: LinkDest, tunnel: Tunnel, b: &[u8]) -> Result<Packet, Skip> {
    let a: &[u8; 28] = b.get(..28).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    if a[0..2] != [0, 1] || a[2..4] != [8, 0] || a[4] != 6 || a[5] != 4 {
        return Err(Skip::NotIp);
    }
    let sender = IpAddr::V4(Ipv4Addr::new(a[14], a[15], a[16], a[17]));
    let target = IpAddr::V4(Ipv4Addr::new(a[24], a[25], a[26], a[27]));
    let n = match u16::from_be_bytes([a[6], a[7]]) {
        // A probe (sender 0.0.0.0, RFC 5227) asks; a gratuitous ARP (sender = target)
        // announces the sender, so it answers for it.
        1 if sender != target || sender.is_unspecified() => {
            NeighborMessage { solicit: true, target }
        }
        1 | 2 => NeighborMessage { solicit: false, target: sender },
        _ => return Err(Skip::NotIp),
    };
    Ok(Packet {
        ts: at.ts,
        origin: at.origin(),
        vlan,
        src: sender,
        dst: target,
        ttl: 0,
        ip_id: 0,
        dont_fragment: false,
        link_dst,
        tunnel,
        transport: Transport::Neighbor(n),
    })
}

/// The big-endian u16 at `at`, if captured.
fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// The big-endian u32 at `at`, if captured.
fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = d.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

#[cfg(test)]
mod tests;
