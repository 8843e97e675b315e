//! Encapsulations: from an outer packet to the conversation it carries, layer by layer, with
//! a depth limit. VXLAN, Geneve, GRE (every header flag; PPTP's enhanced GRE), ERSPAN I/II/III,
//! IP in IP (4in4, 6in4, 4in6, 6in6), MPLS label stacks (pseudowire control word), PPPoE
//! sessions and PPP, GTP-U, Teredo, and VLAN tags inside any of them.
//!
//! The walk works on borrowed slices and a few numbers: nothing is allocated or copied.
//! A layer whose header does not check out (a UDP datagram to port 4789 whose VXLAN flags are
//! wrong) is not a tunnel: the packet is what its outer header says.

use std::net::IpAddr;

use super::ip::{self, Net};
use super::link::{
    self, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST, ETHERTYPE_PPPOE_DISCOVERY,
    ETHERTYPE_PPPOE_SESSION, IpVersion, Next,
};
use super::{Encap, LinkDest, MAX_ENCAP_DEPTH, Proto, QuotedPacket, Skip, Tunnel, be16, be32};

/// IP protocol numbers that carry another packet.
const PROTO_IPV4: u8 = 4;
const PROTO_IPV6: u8 = 41;
const PROTO_GRE: u8 = 47;
const PROTO_MPLS: u8 = 137;

/// UDP ports of the tunnels decoded (destination port; Teredo: either).
const PORT_VXLAN: u16 = 4789;
const PORT_VXLAN_LINUX: u16 = 8472;
const PORT_GENEVE: u16 = 6081;
const PORT_GTP_U: u16 = 2152;
const PORT_TEREDO: u16 = 3544;

/// Labels an MPLS stack may have before it is taken as malformed (real stacks have 2 to 4).
const MAX_LABELS: usize = 8;
/// GRE source route entries (RFC 1701) walked at most.
const MAX_SRES: usize = 16;
/// Steps of the walk (headers of any kind) at most: a bound on the loop whatever the input.
const MAX_STEPS: usize = 64;

/// Whether the IP packet `net` may carry another: an IP protocol of a tunnel, or UDP to a
/// tunnel's port. A cheap test, for the common path to pass by.
#[inline(always)]
pub(super) fn may_carry(net: &Net<'_>) -> bool {
    match net.proto {
        PROTO_IPV4 | PROTO_IPV6 | PROTO_GRE | PROTO_MPLS => true,
        ip::PROTO_UDP => match (be16(net.l4, 0), be16(net.l4, 2)) {
            (Some(s), Some(d)) => {
                matches!(d, PORT_VXLAN | PORT_VXLAN_LINUX | PORT_GENEVE | PORT_GTP_U | PORT_TEREDO)
                    || s == PORT_TEREDO
                    || teredo_by_content(net.l4.get(8..).unwrap_or(&[]))
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether a UDP payload on ports other than 3544 is Teredo all the same: once qualified, a
/// Teredo client talks to relays and peers on whatever port they have (RFC 4380 §5.2), so
/// its IPv6 packets come and go on the client's mapped port, not 3544. Taken as Teredo, as
/// Zeek does, when the payload is an IPv6 header whose source or destination is a Teredo
/// address (2001:0::/32) — first byte tested first, so other UDP passes by at once. (The
/// length check that follows is the walk's.)
#[inline(always)]
fn teredo_by_content(b: &[u8]) -> bool {
    const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];
    b.first().is_some_and(|v| v >> 4 == 6)
        && (b.get(8..12) == Some(&TEREDO_PREFIX[..]) || b.get(24..28) == Some(&TEREDO_PREFIX[..]))
}

/// Where the walk is: the bytes from the current layer on, and what the layers so far said.
pub(super) struct Walk<'a> {
    /// The captured bytes from the current layer to the end of the capture.
    pub data: &'a [u8],
    /// Their length on the wire (at least `data.len()`).
    pub wire: usize,
    pub vlan: u32,
    pub dest: LinkDest,
    pub tunnel: Tunnel,
    depth: usize,
    /// Walking the packet an ICMP error quotes: IP lengths are not trusted (routers and NATs
    /// leave them wrong, and the quote is cut short anyway).
    quote: bool,
    /// The bytes from the IP header the walk reached last (the inner packet, once it ends).
    pub ip_at: &'a [u8],
}

/// Where the walk ended.
pub(super) enum Reached<'a> {
    /// An IP packet that carries no other (its transport is the caller's to decode).
    Ip(Net<'a>),
    /// An ARP packet.
    Arp(&'a [u8]),
}

impl<'a> Walk<'a> {
    pub(super) fn new(data: &'a [u8], wire: usize, vlan: u32, dest: LinkDest) -> Self {
        Walk {
            data,
            wire: wire.max(data.len()),
            vlan,
            dest,
            tunnel: Tunnel::NONE,
            depth: 0,
            quote: false,
            ip_at: &[],
        }
    }

    /// Moves past `n` bytes of header.
    fn skip(&mut self, n: usize) -> Result<(), Skip> {
        self.data = self.data.get(n..).ok_or(Skip::Truncated)?;
        self.wire = self.wire.saturating_sub(n).max(self.data.len());
        Ok(())
    }

    /// Enters an encapsulation of `kind`. One with outer endpoints names the conversation
    /// from here on (and its VLAN tags are the underlay's, not the conversation's); MPLS and
    /// PPPoE name it only when nothing outside them did.
    fn enter(
        &mut self,
        kind: Encap,
        id: Option<u32>,
        outer: Option<(IpAddr, IpAddr)>,
    ) -> Result<(), Skip> {
        self.depth += 1;
        if self.depth > MAX_ENCAP_DEPTH {
            return Err(Skip::TunnelTooDeep);
        }
        let layers = self.tunnel.layers | 1 << kind.index();
        if outer.is_some() || !self.tunnel.is_some() {
            self.tunnel = Tunnel::new(kind, id, outer);
            if outer.is_some() {
                self.vlan = 0;
                self.dest = LinkDest::Unknown;
            }
        }
        self.tunnel.layers = layers;
        Ok(())
    }

    /// Walks from `next` (at the start of `data`) to a packet that carries no other.
    pub(super) fn run(&mut self, mut next: Next) -> Result<Reached<'a>, Skip> {
        for _ in 0..MAX_STEPS {
            next = match next {
                Next::Ip(v) => match self.ip(v)? {
                    Ok(reached) => return Ok(reached),
                    Err(n) => n,
                },
                Next::Arp => return Ok(Reached::Arp(self.data)),
                Next::Ether => {
                    let info = link::ethernet(self.data)?;
                    self.vlan = info.vlan;
                    self.dest = info.dest;
                    self.skip(info.ip_offset())?;
                    info.next
                }
                Next::Ethertype(et) => self.ethertype(et)?,
                Next::Ppp => self.ppp()?,
                Next::Mpls => self.mpls()?,
            };
        }
        Err(Skip::TunnelTooDeep)
    }

    /// An IP packet: the end of the walk, or the tunnel it carries (`Err(next)`).
    fn ip(&mut self, v: IpVersion) -> Result<Result<Reached<'a>, Next>, Skip> {
        self.ip_at = self.data;
        let net = ip::parse(self.data, v, (!self.quote).then_some(self.wire))?;
        let outer = Some((net.src(), net.dst()));
        let l4_wire = net.l4_wire.unwrap_or(net.l4.len());
        let inner = |s: &mut Self| {
            s.data = net.l4;
            s.wire = l4_wire.max(net.l4.len());
        };
        let next = match net.proto {
            PROTO_IPV4 | PROTO_IPV6 => {
                let (kind, inner_v) = match (net.v6, net.proto == PROTO_IPV6) {
                    (false, false) => (Encap::IpIp, IpVersion::V4),
                    (false, true) => (Encap::SixIn4, IpVersion::V6),
                    (true, false) => (Encap::FourIn6, IpVersion::V4),
                    (true, true) => (Encap::SixIn6, IpVersion::V6),
                };
                self.enter(kind, None, outer)?;
                inner(self);
                Next::Ip(inner_v)
            }
            PROTO_GRE => {
                inner(self);
                self.gre(net.src(), net.dst())?
            }
            PROTO_MPLS => {
                inner(self);
                Next::Mpls
            }
            ip::PROTO_UDP => {
                let head = ip::udp(net.l4, l4_wire)?;
                let payload = net.l4.get(8..net.l4.len().min(head.len())).unwrap_or(&[]);
                let wire = head.len() - 8;
                match udp_tunnel(head.src_port(), head.dst_port(), payload, wire)? {
                    Some((kind, id, hdr, next)) => {
                        self.enter(kind, id, outer)?;
                        self.data = payload;
                        self.wire = wire.max(payload.len());
                        self.skip(hdr)?;
                        next
                    }
                    None => return Ok(Ok(Reached::Ip(net))),
                }
            }
            _ => return Ok(Ok(Reached::Ip(net))),
        };
        Ok(Err(next))
    }

    /// A GRE header (RFC 2784, RFC 2890 key and sequence number, RFC 1701 routing; version 1
    /// is PPTP's, RFC 2637) between `src` and `dst`, and the ERSPAN header it may carry.
    fn gre(&mut self, src: IpAddr, dst: IpAddr) -> Result<Next, Skip> {
        let b = self.data;
        let h: [u8; 4] = b.get(..4).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
        let (checksum, routing, key_present, seq) =
            (h[0] & 0x80 != 0, h[0] & 0x40 != 0, h[0] & 0x20 != 0, h[0] & 0x10 != 0);
        let proto = u16::from_be_bytes([h[2], h[3]]);
        let mut off = 4;
        let key = match h[1] & 7 {
            0 => {
                if checksum || routing {
                    off += 4;
                }
                let key = if key_present {
                    let k = be32(b, off).ok_or(Skip::Truncated)?;
                    off += 4;
                    Some(k)
                } else {
                    None
                };
                if seq {
                    off += 4;
                }
                if routing {
                    // Source route entries: address family, offset, length; the last has
                    // family and length 0.
                    let mut done = false;
                    for _ in 0..MAX_SRES {
                        let af = be16(b, off).ok_or(Skip::Truncated)?;
                        let len = usize::from(*b.get(off + 3).ok_or(Skip::Truncated)?);
                        off += 4 + len;
                        if af == 0 && len == 0 {
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        return Err(Skip::Malformed);
                    }
                }
                key
            }
            1 => {
                // PPTP: the key field is payload length and the peer's call ID (one per
                // direction: shown nowhere, keyed by the outer endpoints only); an optional
                // sequence number and acknowledgment number.
                if !key_present {
                    return Err(Skip::Malformed);
                }
                off = 8 + if seq { 4 } else { 0 } + if h[1] & 0x80 != 0 { 4 } else { 0 };
                None
            }
            _ => return Err(Skip::Malformed),
        };
        self.enter(Encap::Gre, key, Some((src, dst)))?;
        self.skip(off)?;
        let outer = Some((src, dst));
        match proto {
            // ERSPAN type II has a sequence number and an 8-byte header; type I neither.
            0x88be if seq => {
                let e: [u8; 4] =
                    self.data.get(..4).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
                if e[0] >> 4 != 1 {
                    return Err(Skip::Malformed);
                }
                let session = u32::from(u16::from_be_bytes([e[2], e[3]]) & 0x03ff);
                self.enter(Encap::ErspanII, Some(session), outer)?;
                self.skip(8)?;
                Ok(Next::Ether)
            }
            0x88be => {
                self.enter(Encap::ErspanI, None, outer)?;
                Ok(Next::Ether)
            }
            0x22eb => {
                // ERSPAN type III: version 2, session in the first word; the third word's
                // frame type (0 Ethernet, 2 IP) and O bit (an 8-byte platform subheader).
                let e: [u8; 12] =
                    self.data.get(..12).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
                if e[0] >> 4 != 2 {
                    return Err(Skip::Malformed);
                }
                let session = u32::from(u16::from_be_bytes([e[2], e[3]]) & 0x03ff);
                let frame_type = (e[10] >> 2) & 0x1f;
                let platform = e[11] & 1 != 0;
                self.enter(Encap::ErspanIII, Some(session), outer)?;
                self.skip(12 + if platform { 8 } else { 0 })?;
                match frame_type {
                    0 => Ok(Next::Ether),
                    2 => Ok(Next::Ip(link::first_nibble(self.data, 0)?)),
                    _ => Err(Skip::NotIp),
                }
            }
            0x6558 => Ok(Next::Ether),
            0x880b => Ok(Next::Ppp),
            _ => ethertype_next(proto).ok_or(Skip::UnknownGreProtocol),
        }
    }

    /// The payload of Ethertype `et` (after an Ethernet or cooked header, GRE).
    fn ethertype(&mut self, et: u16) -> Result<Next, Skip> {
        match et {
            ETHERTYPE_PPPOE_SESSION => {
                // Version and type 1, code 0 (session data), session ID, payload length.
                let h: [u8; 6] =
                    self.data.get(..6).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
                if h[0] != 0x11 || h[1] != 0 {
                    return Err(Skip::Malformed);
                }
                let session = u32::from(u16::from_be_bytes([h[2], h[3]]));
                let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
                self.enter(Encap::Pppoe, Some(session), None)?;
                self.skip(6)?;
                // The PPPoE length bounds the payload (Ethernet pads short frames).
                let cut = self.data.len().min(len);
                self.data = self.data.get(..cut).unwrap_or(&[]);
                self.wire = len;
                Ok(Next::Ppp)
            }
            ETHERTYPE_PPPOE_DISCOVERY => Err(Skip::TunnelControl),
            _ => ethertype_next(et).ok_or(Skip::NotIp),
        }
    }

    /// A PPP protocol field (RFC 1661; one byte when compressed: the first byte is odd).
    fn ppp(&mut self) -> Result<Next, Skip> {
        let first = *self.data.first().ok_or(Skip::Truncated)?;
        let (proto, len) = if first & 1 == 1 {
            (u16::from(first), 1)
        } else {
            (be16(self.data, 0).ok_or(Skip::Truncated)?, 2)
        };
        self.skip(len)?;
        match proto {
            0x0021 => Ok(Next::Ip(IpVersion::V4)),
            0x0057 => Ok(Next::Ip(IpVersion::V6)),
            0x0281 | 0x0283 => Ok(Next::Mpls),
            // Link, network and authentication control protocols (LCP, IPCP, IPV6CP, PAP, …).
            0x8000.. => Err(Skip::TunnelControl),
            _ => Err(Skip::NotIp),
        }
    }

    /// An MPLS label stack (RFC 3032) and what its bottom carries: IPv4 or IPv6 by the first
    /// nibble, or a pseudowire control word (first nibble 0, RFC 4385) and an Ethernet frame.
    fn mpls(&mut self) -> Result<Next, Skip> {
        let mut bottom = None;
        for _ in 0..MAX_LABELS {
            let e = be32(self.data, 0).ok_or(Skip::Truncated)?;
            self.skip(4)?;
            if e & 0x100 != 0 {
                bottom = Some(e >> 12);
                break;
            }
        }
        let label = bottom.ok_or(Skip::Malformed)?;
        self.enter(Encap::Mpls, Some(label), None)?;
        match self.data.first().ok_or(Skip::Truncated)? >> 4 {
            4 => Ok(Next::Ip(IpVersion::V4)),
            6 => Ok(Next::Ip(IpVersion::V6)),
            0 => {
                self.skip(4)?;
                Ok(Next::Ether)
            }
            _ => Err(Skip::UnknownMplsPayload),
        }
    }
}

/// The kind of tunnel an outer packet is by its IP header alone (protocol, UDP destination
/// port), for a quote too short to show the tunnel's own header. Teredo (its outer endpoints
/// name no conversation) and MPLS in IP (no outer endpoints either) are none.
fn carrier_kind(net: &Net<'_>) -> Option<Encap> {
    Some(match (net.proto, net.v6) {
        (PROTO_IPV4, false) => Encap::IpIp,
        (PROTO_IPV6, false) => Encap::SixIn4,
        (PROTO_IPV4, true) => Encap::FourIn6,
        (PROTO_IPV6, true) => Encap::SixIn6,
        (PROTO_GRE, _) => Encap::Gre,
        (ip::PROTO_UDP, _) => match be16(net.l4, 2)? {
            PORT_VXLAN | PORT_VXLAN_LINUX => Encap::Vxlan,
            PORT_GENEVE => Encap::Geneve,
            PORT_GTP_U => Encap::GtpU,
            _ => return None,
        },
        _ => return None,
    })
}

/// What an ICMP error's quote `q` (an IP packet, cut short) says when the packet is a tunnel's
/// outer packet: `None` when it is not (an ordinary quote); `Some(None)` when it carried
/// something that is no conversation (a ping, ARP); else the quoted conversation in its
/// tunnel — or, when the quote was cut before the inner ports, the tunnel alone
/// (`tunnel_only`, with the outer packet's addresses). The same walk as a frame's, lengths
/// not trusted, nothing allocated.
pub(super) fn quoted(q: &[u8], v: IpVersion) -> Option<Option<QuotedPacket>> {
    let outer = ip::parse(q, v, None).ok()?;
    if !may_carry(&outer) {
        return None;
    }
    let by_header = carrier_kind(&outer)?;
    let mut walk = Walk::new(q, q.len(), 0, LinkDest::Unknown);
    walk.quote = true;
    let tunnel_only = |t: Tunnel| QuotedPacket {
        proto: Proto::Udp,
        src: outer.src(),
        dst: outer.dst(),
        src_port: be16(outer.l4, 0).filter(|_| outer.proto == ip::PROTO_UDP).unwrap_or(0),
        dst_port: be16(outer.l4, 2).filter(|_| outer.proto == ip::PROTO_UDP).unwrap_or(0),
        tcp_seq: None,
        echo: None,
        sctp_vtag: None,
        tcp_flags: None,
        ttl: outer.ttl,
        tunnel: t,
        tunnel_only: true,
    };
    let by_header = Tunnel::new(by_header, None, Some((outer.src(), outer.dst())));
    let reached = walk.run(Next::Ip(v));
    // An ERSPAN session carries copies: its failing says nothing of the mirrored conversations.
    let mirror = [Encap::ErspanI, Encap::ErspanII, Encap::ErspanIII]
        .iter()
        .any(|e| walk.tunnel.layers & 1 << e.index() != 0);
    if mirror {
        return Some(None);
    }
    Some(match reached {
        Ok(Reached::Ip(inner)) if walk.tunnel.is_some() => {
            let proto = inner.proto;
            match super::icmp::quoted_conversation(&inner) {
                Some(q) => Some(QuotedPacket { tunnel: walk.tunnel, ..q }),
                // Cut before the inner ports: the tunnel alone. Anything else that is no
                // conversation (ARP, an ICMP message other than an echo) is no one's.
                None if ip::quoted_ports(inner.l4).is_none()
                    && matches!(
                        proto,
                        ip::PROTO_TCP
                            | ip::PROTO_UDP
                            | ip::PROTO_SCTP
                            | ip::PROTO_ICMP
                            | ip::PROTO_ICMPV6
                    ) =>
                {
                    Some(tunnel_only(walk.tunnel))
                }
                None => return Some(None),
            }
        }
        // A datagram to a tunnel's port: a tunnel when the quote ends before its header
        // could say otherwise; plain UDP when its header is there and is no tunnel's.
        Ok(Reached::Ip(_)) => {
            let payload = outer.l4.get(8..).unwrap_or(&[]);
            if outer.proto == ip::PROTO_UDP && payload.len() < 8 {
                Some(tunnel_only(by_header))
            } else {
                return None;
            }
        }
        Ok(Reached::Arp(_)) => None,
        // Cut inside the tunnel: what the walk saw of it, else what the outer header says.
        Err(_) if walk.tunnel.is_some() => Some(tunnel_only(walk.tunnel)),
        Err(_) => Some(tunnel_only(by_header)),
    })
}

/// What an Ethertype carries, for those the walk follows.
fn ethertype_next(et: u16) -> Option<Next> {
    match et {
        0x0800 => Some(Next::Ip(IpVersion::V4)),
        0x86dd => Some(Next::Ip(IpVersion::V6)),
        0x0806 => Some(Next::Arp),
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => Some(Next::Mpls),
        ETHERTYPE_PPPOE_SESSION | ETHERTYPE_PPPOE_DISCOVERY => Some(Next::Ethertype(et)),
        _ => None,
    }
}

/// The tunnel a UDP datagram between these ports carries, if its header checks out: the
/// kind, its number, the header's length and what follows. `Ok(None)`: plain UDP.
#[allow(clippy::type_complexity)]
fn udp_tunnel(
    src_port: u16,
    dst_port: u16,
    b: &[u8],
    wire: usize,
) -> Result<Option<(Encap, Option<u32>, usize, Next)>, Skip> {
    let vni = |b: &[u8]| be32(b, 4).map(|w| w >> 8);
    Ok(match dst_port {
        PORT_VXLAN | PORT_VXLAN_LINUX => {
            // Flags with the I bit (a valid VNI), then the VNI and a reserved byte.
            match (b.first(), vni(b)) {
                (Some(f), Some(id)) if f & 0x08 != 0 => {
                    Some((Encap::Vxlan, Some(id), 8, Next::Ether))
                }
                _ => None,
            }
        }
        PORT_GENEVE => {
            // Version 0, options length in 4-byte words, protocol type, VNI.
            let (Some(&v), Some(proto), Some(id)) = (b.first(), be16(b, 2), vni(b)) else {
                return Ok(None);
            };
            let next = match proto {
                0x6558 => Next::Ether,
                0x0800 => Next::Ip(IpVersion::V4),
                0x86dd => Next::Ip(IpVersion::V6),
                _ => return Ok(None),
            };
            if v >> 6 != 0 {
                return Ok(None);
            }
            Some((Encap::Geneve, Some(id), 8 + usize::from(v & 0x3f) * 4, next))
        }
        PORT_GTP_U => {
            // Version 1, protocol type GTP; message type 255 is user data (G-PDU).
            let (Some(&f), Some(&msg), Some(teid)) = (b.first(), b.get(1), be32(b, 4)) else {
                return Ok(None);
            };
            if f >> 5 != 1 || f & 0x10 == 0 {
                return Ok(None);
            }
            if msg != 255 {
                return Err(Skip::TunnelControl);
            }
            let mut off = 8;
            if f & 0x07 != 0 {
                // Sequence number, N-PDU number, next extension header type.
                let mut ext = *b.get(11).ok_or(Skip::Truncated)?;
                off = 12;
                let mut n = 0;
                while ext != 0 {
                    // Length in 4-byte units, the last byte the next type.
                    let len = usize::from(*b.get(off).ok_or(Skip::Truncated)?) * 4;
                    n += 1;
                    if len == 0 || n > MAX_STEPS {
                        return Err(Skip::Malformed);
                    }
                    ext = *b.get(off + len - 1).ok_or(Skip::Truncated)?;
                    off += len;
                }
            }
            let v = link::first_nibble(b, off).map_err(|_| Skip::NotIp)?;
            Some((Encap::GtpU, Some(teid), off, Next::Ip(v)))
        }
        _ if src_port == PORT_TEREDO || dst_port == PORT_TEREDO || teredo_by_content(b) => {
            // Optional authentication (00 01) and origin indication (00 00) headers, then an
            // IPv6 packet (RFC 4380 5.1.1) whose length fills the datagram exactly.
            let mut off = 0;
            if be16(b, 0) == Some(1) {
                let (Some(&id_len), Some(&auth_len)) = (b.get(2), b.get(3)) else {
                    return Ok(None);
                };
                off = 4 + usize::from(id_len) + usize::from(auth_len) + 8 + 1;
            }
            if be16(b, off) == Some(0) {
                off += 8;
            }
            let fills = be16(b, off + 4).is_some_and(|plen| off + 40 + usize::from(plen) == wire);
            match b.get(off) {
                Some(v) if v >> 4 == 6 && fills => {
                    Some((Encap::Teredo, None, off, Next::Ip(IpVersion::V6)))
                }
                _ => None,
            }
        }
        _ => None,
    })
}
