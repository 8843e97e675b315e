//! Link layers: find where the IP packet starts, which IP version it is, and the VLAN tags.

use super::{LinkDest, Skip, be16};
use crate::capture::LinkType;

/// The IP version a link layer announces (raw links: the packet's first nibble).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IpVersion {
    V4,
    V6,
}

/// What the link layer says about the frame.
#[derive(Clone, Copy, Debug)]
pub(super) struct LinkInfo {
    /// VLAN tags folded into one number (see [`super::Packet::vlan`]).
    pub vlan: u32,
    /// Offset of the IP header in the frame.
    pub ip_offset: usize,
    /// The IP version announced.
    pub version: IpVersion,
    /// The payload is ARP, not IP.
    pub arp: bool,
    /// Whom the link layer addressed the frame to.
    pub dest: LinkDest,
}

/// Deeper tag stacks than this are treated as malformed rather than walked forever.
const MAX_TAGS: usize = 4;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;

/// ARPHRD_NETLINK: in cooked captures of netlink sockets the protocol field is a netlink
/// family, not an Ethertype.
const ARPHRD_NETLINK: u16 = 824;

/// Strips the link layer of `data` as captured with link type `link`.
pub(super) fn strip(link: LinkType, data: &[u8]) -> Result<LinkInfo, Skip> {
    match link {
        LinkType::ETHERNET => {
            let et = be16(data, 12).ok_or(Skip::Truncated)?;
            // The group bit: the least significant bit of the destination's first octet.
            let dest = match data.first() {
                Some(b) if b & 1 == 1 => LinkDest::Group,
                _ => LinkDest::Unicast,
            };
            Ok(LinkInfo { dest, ..ethertype_chain(data, 14, et)? })
        }
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
            let version = match data.first().ok_or(Skip::Truncated)? >> 4 {
                4 => IpVersion::V4,
                6 => IpVersion::V6,
                _ => return Err(Skip::Malformed),
            };
            Ok(LinkInfo { vlan: 0, ip_offset: 0, version, arp: false, dest: LinkDest::Unknown })
        }
        LinkType::IPV4 => Ok(LinkInfo {
            vlan: 0,
            ip_offset: 0,
            version: IpVersion::V4,
            arp: false,
            dest: LinkDest::Unknown,
        }),
        LinkType::IPV6 => Ok(LinkInfo {
            vlan: 0,
            ip_offset: 0,
            version: IpVersion::V6,
            arp: false,
            dest: LinkDest::Unknown,
        }),
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
            Ok(LinkInfo { vlan: 0, ip_offset: 4, version, arp: false, dest: LinkDest::Unknown })
        }
        _ => Err(Skip::UnsupportedLinkType),
    }
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
/// Ethertype.
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
    let version = match et {
        ETHERTYPE_IPV4 => IpVersion::V4,
        ETHERTYPE_IPV6 => IpVersion::V6,
        ETHERTYPE_ARP => {
            return Ok(LinkInfo {
                vlan,
                ip_offset: off,
                version: IpVersion::V4,
                arp: true,
                dest: LinkDest::Unknown,
            });
        }
        // 802.3 length fields (< 0x0600, LLC/SNAP, STP), ARP, LLDP, MPLS, PPPoE, …
        _ => return Err(Skip::NotIp),
    };
    Ok(LinkInfo { vlan, ip_offset: off, version, arp: false, dest: LinkDest::Unknown })
}
