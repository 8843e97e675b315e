//! Link layers: find where the IP packet starts, which IP version it is, and the VLAN tags.

use super::{LinkDest, Skip, be16, be32};
use crate::capture::LinkType;

/// The IP version a link layer announces (raw links: the packet's first nibble).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IpVersion {
    V4,
    V6,
}

/// What follows a link (or tunnel) header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// An IP packet of this version.
    Ip(IpVersion),
    /// An ARP packet.
    Arp,
    /// A whole Ethernet frame (inside VXLAN, Geneve, GRE 0x6558, ERSPAN, a pseudowire, PPI).
    Ether,
    /// The payload of this Ethertype (MPLS, PPPoE, …): the tunnel walk takes it from there.
    Ethertype(u16),
    /// A PPP protocol field, then its payload.
    Ppp,
    /// An MPLS label stack.
    Mpls,
}

/// What the link layer says about the frame.
#[derive(Clone, Copy, Debug)]
pub(super) struct LinkInfo {
    /// VLAN tags folded into one number (see [`super::Packet::vlan`]).
    pub vlan: u32,
    /// Offset of the next layer (normally the IP header) in the frame. A `u32`, so that
    /// a `Result<LinkInfo, Skip>` fits in two registers: handed back through memory it was
    /// stored in pieces and loaded whole (a store-forwarding stall on every frame).
    offset: u32,
    /// What is there.
    pub next: Next,
    /// Whom the link layer addressed the frame to.
    pub dest: LinkDest,
}

impl LinkInfo {
    fn at(ip_offset: usize, next: Next) -> LinkInfo {
        LinkInfo::new(0, ip_offset, next, LinkDest::Unknown)
    }

    fn new(vlan: u32, ip_offset: usize, next: Next, dest: LinkDest) -> LinkInfo {
        // An offset past 4 GiB is past any frame: the slice there is found missing.
        LinkInfo { vlan, offset: u32::try_from(ip_offset).unwrap_or(u32::MAX), next, dest }
    }

    /// Offset of the next layer (normally the IP header) in the frame.
    #[inline(always)]
    pub fn ip_offset(&self) -> usize {
        self.offset as usize
    }
}

/// Deeper tag stacks than this are treated as malformed rather than walked forever.
const MAX_TAGS: usize = 4;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
pub(super) const ETHERTYPE_MPLS: u16 = 0x8847;
pub(super) const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
pub(super) const ETHERTYPE_PPPOE_DISCOVERY: u16 = 0x8863;
pub(super) const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

/// ARPHRD_NETLINK: in cooked captures of netlink sockets the protocol field is a netlink
/// family, not an Ethertype.
const ARPHRD_NETLINK: u16 = 824;

/// Strips the link layer of `data` as captured with link type `link`.
#[inline(always)]
pub(super) fn strip(link: LinkType, data: &[u8]) -> Result<LinkInfo, Skip> {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::LINUX_SLL => {
            if data.len() < 16 {
                return Err(Skip::Truncated);
            }
            if be16(data, 2) == Some(ARPHRD_NETLINK) {
                return Err(Skip::NotIp);
            }
            let proto = be16(data, 14).ok_or(Skip::Truncated)?;
            let dest = sll_packet_type(u32::from(be16(data, 0).unwrap_or(4)));
            Ok(LinkInfo { dest, ..ethertype_chain(data, 16, proto)? })
        }
        LinkType::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(Skip::Truncated);
            }
            if be16(data, 8) == Some(ARPHRD_NETLINK) {
                return Err(Skip::NotIp);
            }
            let proto = be16(data, 0).ok_or(Skip::Truncated)?;
            let dest = sll_packet_type(u32::from(data.get(10).copied().unwrap_or(4)));
            Ok(LinkInfo { dest, ..ethertype_chain(data, 20, proto)? })
        }
        LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 => {
            Ok(LinkInfo::at(0, Next::Ip(first_nibble(data, 0)?)))
        }
        LinkType::IPV4 => Ok(LinkInfo::at(0, Next::Ip(IpVersion::V4))),
        LinkType::IPV6 => Ok(LinkInfo::at(0, Next::Ip(IpVersion::V6))),
        LinkType::NULL | LinkType::LOOP => {
            let b: [u8; 4] =
                data.get(..4).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
            let be = u32::from_be_bytes(b);
            // NULL is in the capturing host's order, which the file does not say: try both.
            let le = if link == LinkType::NULL { u32::from_le_bytes(b) } else { be };
            let version = if be == AF_INET || le == AF_INET {
                IpVersion::V4
            } else if is_af_inet6(be) || is_af_inet6(le) {
                IpVersion::V6
            } else {
                return Err(Skip::NotIp);
            };
            Ok(LinkInfo::at(4, Next::Ip(version)))
        }
        _ => other_link(link, data),
    }
}

/// The link types of tunnels, wireless and serial links: off the hot path.
#[inline(never)]
fn other_link(link: LinkType, data: &[u8]) -> Result<LinkInfo, Skip> {
    match link {
        LinkType::PPP => {
            // RFC 1662's address and control bytes may be there or not.
            let off = if data.get(..2) == Some(&[0xff, 0x03]) { 2 } else { 0 };
            Ok(LinkInfo::at(off, Next::Ppp))
        }
        LinkType::PPP_HDLC | LinkType::C_HDLC => match *data.first().ok_or(Skip::Truncated)? {
            0xff if link == LinkType::PPP_HDLC => Ok(LinkInfo::at(2, Next::Ppp)),
            // Cisco HDLC: address 0x0f (unicast) or 0x8f (broadcast), control 0, Ethertype.
            a @ (0x0f | 0x8f) => {
                let et = be16(data, 2).ok_or(Skip::Truncated)?;
                let dest = if a == 0x8f { LinkDest::Group } else { LinkDest::Unicast };
                Ok(LinkInfo { dest, ..ethertype_chain(data, 4, et)? })
            }
            _ => Err(Skip::Malformed),
        },
        LinkType::PPP_ETHER => Ok(LinkInfo::at(0, Next::Ethertype(ETHERTYPE_PPPOE_SESSION))),
        LinkType::IEEE802_11 => wifi(data, 0),
        LinkType::IEEE802_11_RADIOTAP => {
            let (len, flags) = radiotap(data)?;
            // Flags bit 0x40: the frame failed its FCS check (monitor mode keeps such frames).
            if flags & 0x40 != 0 {
                return Err(Skip::Malformed);
            }
            wifi(data, len)
        }
        LinkType::IEEE802_11_PRISM | LinkType::IEEE802_11_AVS => {
            let len = if link == LinkType::IEEE802_11_AVS
                || be32(data, 0).is_some_and(|m| m & 0xffff_fff0 == 0x8021_1000)
            {
                // AVS: magic and version, then the header length, big-endian.
                be32(data, 4).ok_or(Skip::Truncated)?
            } else {
                // Prism: message code, then the message length in host (little-endian) order.
                let b: [u8; 4] =
                    data.get(4..8).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
                u32::from_le_bytes(b)
            };
            let len = usize::try_from(len).map_err(|_| Skip::Malformed)?;
            if len < 8 {
                return Err(Skip::Malformed);
            }
            wifi(data, len)
        }
        LinkType::PPI => {
            // Version 0, flags, header length and the inner link type, little-endian.
            if data.len() < 8 {
                return Err(Skip::Truncated);
            }
            let len = usize::from(u16::from_le_bytes([data[2], data[3]]));
            let dlt = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
            if data[0] != 0 || len < 8 {
                return Err(Skip::Malformed);
            }
            match LinkType(dlt) {
                LinkType::IEEE802_11 => wifi(data, len),
                LinkType::ETHERNET => {
                    let info = ethernet(data.get(len..).ok_or(Skip::Truncated)?)?;
                    Ok(LinkInfo::new(info.vlan, info.ip_offset() + len, info.next, info.dest))
                }
                _ => Err(Skip::UnsupportedLinkType),
            }
        }
        LinkType::NFLOG => nflog(data),
        _ => Err(Skip::UnsupportedLinkType),
    }
}

/// An Ethernet frame at the start of `data`.
#[inline(always)]
pub(super) fn ethernet(data: &[u8]) -> Result<LinkInfo, Skip> {
    let et = be16(data, 12).ok_or(Skip::Truncated)?;
    // The group bit: the least significant bit of the destination's first octet.
    let dest = match data.first() {
        Some(b) if b & 1 == 1 => LinkDest::Group,
        _ => LinkDest::Unicast,
    };
    // Untagged IP, the common case, without the walk over tags.
    let version = match et {
        ETHERTYPE_IPV4 => IpVersion::V4,
        ETHERTYPE_IPV6 => IpVersion::V6,
        _ => return Ok(LinkInfo { dest, ..ethertype_chain(data, 14, et)? }),
    };
    Ok(LinkInfo::new(0, 14, Next::Ip(version), dest))
}

/// Untagged IP over Ethernet, the common case, told apart without a `Result`: moving a
/// `Result<LinkInfo, _>` through the decoder cost store-forwarding stalls on every frame.
#[inline(always)]
pub(super) fn plain_ethernet(link: LinkType, data: &[u8]) -> Option<LinkInfo> {
    if link != LinkType::ETHERNET {
        return None;
    }
    let h: &[u8; 14] = data.first_chunk()?;
    let version = match u16::from_be_bytes([h[12], h[13]]) {
        ETHERTYPE_IPV4 => IpVersion::V4,
        ETHERTYPE_IPV6 => IpVersion::V6,
        _ => return None,
    };
    let dest = if h[0] & 1 == 1 { LinkDest::Group } else { LinkDest::Unicast };
    Some(LinkInfo::new(0, 14, Next::Ip(version), dest))
}

/// The IP version a packet's first nibble says.
pub(super) fn first_nibble(data: &[u8], at: usize) -> Result<IpVersion, Skip> {
    match data.get(at).ok_or(Skip::Truncated)? >> 4 {
        4 => Ok(IpVersion::V4),
        6 => Ok(IpVersion::V6),
        _ => Err(Skip::Malformed),
    }
}

/// A radiotap header (radiotap.org): its length, and its Flags field (0 when absent).
fn radiotap(data: &[u8]) -> Result<(usize, u8), Skip> {
    if data.len() < 8 {
        return Err(Skip::Truncated);
    }
    let len = usize::from(u16::from_le_bytes([data[2], data[3]]));
    if data[0] != 0 || len < 8 {
        return Err(Skip::Malformed);
    }
    let present = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
    // Fields start after the last presence word (bit 31: another word follows).
    let mut off = 8;
    let mut word = present;
    let mut words = 1;
    while word & 0x8000_0000 != 0 {
        let w: [u8; 4] =
            data.get(off..off + 4).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
        word = u32::from_le_bytes(w);
        off += 4;
        words += 1;
        if words > 16 || off > len {
            return Err(Skip::Malformed);
        }
    }
    // TSFT (bit 0): 8 bytes aligned to 8 from the header's start; then Flags (bit 1).
    if present & 1 != 0 {
        off = off.next_multiple_of(8) + 8;
    }
    let flags = if present & 2 != 0 && off < len { data.get(off).copied().unwrap_or(0) } else { 0 };
    Ok((len, flags))
}

/// An 802.11 frame at `off`: data frames with LLC/SNAP to the Ethertype's payload; the rest
/// are counted by why they carry no connection.
fn wifi(data: &[u8], off: usize) -> Result<LinkInfo, Skip> {
    let fc: [u8; 2] =
        data.get(off..off + 2).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    if fc[0] & 3 != 0 {
        return Err(Skip::Malformed);
    }
    let kind = (fc[0] >> 2) & 3;
    let subtype = fc[0] >> 4;
    // Type 2 is data; subtypes with bit 2 set (null, QoS null, CF-ack/poll only) carry none.
    if kind != 2 || subtype & 4 != 0 {
        return Err(Skip::WifiNotData);
    }
    if fc[1] & 0x40 != 0 {
        return Err(Skip::EncryptedWifi);
    }
    let (to_ds, from_ds) = (fc[1] & 1 != 0, fc[1] & 2 != 0);
    // FC, duration, addresses 1-3, sequence control; address 4 between two APs (WDS/mesh).
    let mut hdr = 24 + if to_ds && from_ds { 6 } else { 0 };
    // The destination: address 1 unless the frame goes to the distribution system (then 3).
    let mut da = off + if to_ds { 16 } else { 4 };
    let mut amsdu = false;
    if subtype & 8 != 0 {
        // QoS control (bit 7 of its first byte: an A-MSDU), then HT control with +HTC/Order.
        let qos = *data.get(off + hdr).ok_or(Skip::Truncated)?;
        amsdu = qos & 0x80 != 0;
        hdr += 2 + if fc[1] & 0x80 != 0 { 4 } else { 0 };
    }
    let mut llc = off + hdr;
    if amsdu {
        // The first A-MSDU subframe: destination, source, length, then its LLC/SNAP. The
        // others follow it in the frame; connlens reads the first.
        da = llc;
        llc += 14;
    }
    let dest = match data.get(da) {
        Some(b) if b & 1 == 1 => LinkDest::Group,
        Some(_) => LinkDest::Unicast,
        None => return Err(Skip::Truncated),
    };
    let snap = data.get(llc..llc + 6).ok_or(Skip::Truncated)?;
    // LLC/SNAP: AA AA 03 and an OUI of 00 00 00 (RFC 1042) or 00 00 F8 (802.1H).
    if snap[..3] != [0xaa, 0xaa, 0x03] || snap[3..5] != [0, 0] || !matches!(snap[5], 0 | 0xf8) {
        return Err(Skip::NotIp);
    }
    let et = be16(data, llc + 6).ok_or(Skip::Truncated)?;
    Ok(LinkInfo { dest, ..ethertype_chain(data, llc + 8, et)? })
}

/// NFLOG_PAYLOAD: the TLV holding the logged packet.
const NFULA_PAYLOAD: u16 = 9;
/// TLVs an NFLOG record holds are a dozen; more than this is not a real record.
const MAX_NFLOG_TLVS: usize = 64;

/// A Linux NFLOG record: family, version, resource ID, then TLVs (length and type in the
/// capturing host's byte order, each padded to 4 bytes); the payload TLV is the IP packet.
fn nflog(data: &[u8]) -> Result<LinkInfo, Skip> {
    if data.len() < 4 {
        return Err(Skip::Truncated);
    }
    if data[1] != 0 {
        return Err(Skip::Malformed);
    }
    // The file does not say the host's byte order: the first TLV's length tells.
    let le = match data.get(4..6) {
        Some(&[a, b]) => {
            let l = usize::from(u16::from_le_bytes([a, b]));
            l >= 4 && l <= data.len() - 4
        }
        _ => true,
    };
    let rd = |at: usize| -> Option<u16> {
        let b = data.get(at..at + 2)?;
        Some(if le { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) })
    };
    let mut off = 4;
    for _ in 0..MAX_NFLOG_TLVS {
        let len = usize::from(rd(off).ok_or(Skip::Truncated)?);
        let ty = rd(off + 2).ok_or(Skip::Truncated)? & 0x3fff;
        if len < 4 {
            return Err(Skip::Malformed);
        }
        if ty == NFULA_PAYLOAD {
            let version = match data[0] {
                2 => IpVersion::V4,
                10 => IpVersion::V6,
                _ => first_nibble(data, off + 4)?,
            };
            return Ok(LinkInfo::at(off + 4, Next::Ip(version)));
        }
        off += len.next_multiple_of(4);
    }
    Err(Skip::Malformed)
}

const AF_INET: u32 = 2;

/// AF_INET6 differs per OS: 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
fn is_af_inet6(family: u32) -> bool {
    matches!(family, 24 | 28 | 30)
}

/// A Linux cooked capture's packet type (`sll_pkttype`): to this host (0) or another (3) is
/// unicast, broadcast (1) and multicast (2) are group; outgoing (4) does not say.
fn sll_packet_type(t: u32) -> LinkDest {
    match t {
        0 | 3 => LinkDest::Unicast,
        1 | 2 => LinkDest::Group,
        _ => LinkDest::Unknown,
    }
}

/// Follows VLAN tags from `et` (the Ethertype/TPID read just before `off`) to the payload's
/// Ethertype. Inlined: its `Result` handed back through memory was loaded in other pieces
/// than it was stored (a store-forwarding stall on every tagged frame).
#[inline(always)]
fn ethertype_chain(data: &[u8], mut off: usize, mut et: u16) -> Result<LinkInfo, Skip> {
    let mut tags = [0u32; 2];
    let mut n = 0;
    while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
        if n == MAX_TAGS {
            return Err(Skip::Malformed);
        }
        let tci = be16(data, off).ok_or(Skip::Truncated)?;
        if let Some(slot) = tags.get_mut(n) {
            *slot = u32::from(tci & 0x0fff);
        }
        et = be16(data, off + 2).ok_or(Skip::Truncated)?;
        off += 4;
        n += 1;
    }
    let vlan = match n {
        0 => 0,
        1 => tags[0],
        _ => tags[0] << 12 | tags[1],
    };
    let next = match et {
        ETHERTYPE_IPV4 => Next::Ip(IpVersion::V4),
        ETHERTYPE_IPV6 => Next::Ip(IpVersion::V6),
        ETHERTYPE_ARP => Next::Arp,
        ETHERTYPE_MPLS
        | ETHERTYPE_MPLS_MULTICAST
        | ETHERTYPE_PPPOE_SESSION
        | ETHERTYPE_PPPOE_DISCOVERY => Next::Ethertype(et),
        // 802.3 length fields (< 0x0600, LLC/SNAP, STP), LLDP, …
        _ => return Err(Skip::NotIp),
    };
    Ok(LinkInfo::new(vlan, off, next, LinkDest::Unknown))
}
