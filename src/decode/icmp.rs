//! ICMP and ICMPv6 errors and the packet they quote.

use super::ip::{self, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP};
use super::link::IpVersion;
use std::net::{IpAddr, Ipv6Addr};

use super::{
    EchoMessage, IcmpError, IcmpErrorKind, NeighborMessage, Proto, QuotedPacket, Skip, TcpFlags,
    Tunnel,
};

/// Whether `icmp_type` is an echo request (`Some(true)`) or reply (`Some(false)`) of this
/// family.
fn echo_kind(v6: bool, icmp_type: u8) -> Option<bool> {
    match (v6, icmp_type) {
        (false, 8) | (true, 128) => Some(true),
        (false, 0) | (true, 129) => Some(false),
        _ => None,
    }
}

/// An ICMP (`v6` false) or ICMPv6 echo request or reply (RFC 792, RFC 4443 §4.1–4.2): type,
/// code, checksum, identifier, sequence number, data. `wire` is the message's length on the
/// wire. None when it is not an echo; a truncated echo is an error.
pub(super) fn echo(l4: &[u8], v6: bool, wire: usize) -> Option<Result<EchoMessage, Skip>> {
    let request = echo_kind(v6, *l4.first()?)?;
    let Some(h) = l4.get(..8) else { return Some(Err(Skip::Truncated)) };
    if wire < 8 {
        return Some(Err(Skip::Malformed));
    }
    let id = u16::from_be_bytes([h[4], h[5]]);
    let seq = u16::from_be_bytes([h[6], h[7]]);
    let payload_len = u32::try_from(wire - 8).unwrap_or(u32::MAX);
    Some(Ok(EchoMessage { v6, request, id, seq, payload_len }))
}

/// The kind of error an ICMP (`v6` false) or ICMPv6 message of this type is, if it is one.
pub(super) fn error_kind(v6: bool, icmp_type: u8) -> Option<IcmpErrorKind> {
    Some(match (v6, icmp_type) {
        (false, 3) | (true, 1) => IcmpErrorKind::DestinationUnreachable,
        (false, 11) | (true, 3) => IcmpErrorKind::TimeExceeded,
        (false, 12) | (true, 4) => IcmpErrorKind::ParameterProblem,
        (false, 4) => IcmpErrorKind::SourceQuench,
        (false, 5) => IcmpErrorKind::Redirect,
        (true, 2) => IcmpErrorKind::PacketTooBig,
        _ => return None,
    })
}

/// Decodes an ICMP (`v6` false) or ICMPv6 error; only errors that quote a TCP, UDP, SCTP or
/// ICMP echo packet give a result.
pub(super) fn error(l4: &[u8], v6: bool) -> Result<IcmpError, Skip> {
    let icmp_type = *l4.first().ok_or(Skip::Truncated)?;
    let kind = error_kind(v6, icmp_type).ok_or(Skip::IcmpNotError)?;
    let h: &[u8; 8] = l4.get(..8).and_then(|s| s.try_into().ok()).ok_or(Skip::Truncated)?;
    let code = h[1];
    // Zero means "not given" (RFC 1191: routers older than path MTU discovery send zero).
    let mtu = match (v6, icmp_type, code) {
        (false, 3, 4) => Some(u32::from(u16::from_be_bytes([h[6], h[7]]))),
        (true, 2, _) => Some(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
        _ => None,
    }
    .filter(|&m| m != 0);
    let quoted = quote(l4.get(8..).unwrap_or(&[])).ok_or(Skip::IcmpUnusableQuote)?;
    Ok(IcmpError { v6, kind, icmp_type, code, mtu, quoted })
}

/// An ICMPv6 neighbour solicitation (135) or advertisement (136), RFC 4861 §4.3–4.4.
pub(super) fn neighbor(l4: &[u8]) -> Option<NeighborMessage> {
    let solicit = match *l4.first()? {
        135 => true,
        136 => false,
        _ => return None,
    };
    let t: [u8; 16] = l4.get(8..24)?.try_into().ok()?;
    Some(NeighborMessage { solicit, target: IpAddr::V6(Ipv6Addr::from(t)) })
}

/// The connection named by a quoted packet: its IP header (lengths and checksums ignored —
/// NATs and offload get them wrong) and at least the ports of its TCP/UDP header.
fn quote(q: &[u8]) -> Option<QuotedPacket> {
    let version = match q.first()? >> 4 {
        4 => IpVersion::V4,
        6 => IpVersion::V6,
        _ => return None,
    };
    // The outer packet of a tunnel: the conversation inside it, or the tunnel alone.
    if let Some(tunnelled) = super::tunnel::quoted(q, version) {
        return tunnelled;
    }
    let net = ip::parse(q, version, None).ok()?;
    quoted_conversation(&net)
}

/// The conversation a quoted (outer or inner) IP packet belongs to: TCP, UDP, SCTP ports, or
/// an echo's identifier; `None` for anything that is no conversation.
pub(super) fn quoted_conversation(net: &ip::Net<'_>) -> Option<QuotedPacket> {
    let proto = match net.proto {
        PROTO_TCP => Proto::Tcp,
        PROTO_UDP => Proto::Udp,
        PROTO_SCTP => Proto::Sctp,
        PROTO_ICMP if !net.v6 => Proto::Icmp,
        PROTO_ICMPV6 if net.v6 => Proto::Icmp,
        _ => return None,
    };
    let (mut src_port, mut dst_port, seq) = ip::quoted_ports(net.l4)?;
    let mut echo = None;
    if proto == Proto::Icmp {
        // Only an echo names a ping (its identifier, in place of ports); the first 8 bytes
        // of the ICMP header are always quoted (RFC 792, RFC 4443 §2.4).
        let request = echo_kind(net.v6, *net.l4.first()?)?;
        let id = u16::from_be_bytes([*net.l4.get(4)?, *net.l4.get(5)?]);
        (src_port, dst_port) = (id, id);
        echo = Some((u16::from_be_bytes([*net.l4.get(6)?, *net.l4.get(7)?]), !request));
    }
    Some(QuotedPacket {
        proto,
        src: net.src(),
        dst: net.dst(),
        src_port,
        dst_port,
        tcp_seq: if proto == Proto::Tcp { seq } else { None },
        echo,
        sctp_vtag: if proto == Proto::Sctp { seq } else { None },
        // The flags byte is the 14th of the TCP header: present when more than the minimum
        // 8 bytes were quoted.
        tcp_flags: if proto == Proto::Tcp { net.l4.get(13).map(|&b| TcpFlags(b)) } else { None },
        ttl: net.ttl,
        tunnel: Tunnel::NONE,
        tunnel_only: false,
    })
}
