//! The decoder's output: one fixed-size, heap-free summary per packet.

use std::net::{IpAddr, Ipv4Addr};

use crate::capture::Origin;
use crate::time::Timestamp;

/// How many payload bytes a packet summary keeps: enough for a TLS record header and alert, an
/// HTTP status line, an SSH banner's start, or a DNS header with a question name of up to about
/// 110 characters. Fixed so that a summary never allocates; captures need a snap length of at
/// least the headers plus this much for the application-level causes.
pub const PAYLOAD_PREFIX: usize = 128;

/// Transport protocols the tracker follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
}

impl Proto {
    /// The lower-case name used in output (`tcp`, `udp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// TCP flag bits, as in the header's flags byte (CWR ECE URG ACK PSH RST SYN FIN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// The first bytes of a payload, inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadPrefix {
    len: u8,
    bytes: [u8; PAYLOAD_PREFIX],
}

impl Default for PayloadPrefix {
    fn default() -> Self {
        PayloadPrefix { len: 0, bytes: [0; PAYLOAD_PREFIX] }
    }
}

impl PayloadPrefix {
    /// Keeps up to [`PAYLOAD_PREFIX`] bytes of `payload`.
    #[inline]
    pub fn new(payload: &[u8]) -> Self {
        // Most payloads fill it: a fixed-size copy, without the zeroing and the call a copy
        // of variable length costs.
        if let Some(full) = payload.first_chunk::<PAYLOAD_PREFIX>() {
            return PayloadPrefix { len: PAYLOAD_PREFIX as u8, bytes: *full };
        }
        let n = payload.len().min(PAYLOAD_PREFIX);
        let mut bytes = [0; PAYLOAD_PREFIX];
        bytes[..n].copy_from_slice(&payload[..n]);
        PayloadPrefix { len: n as u8, bytes }
    }

    /// The kept bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// A TCP segment's header facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: u32,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Advertised window (unscaled, as on the wire).
    pub window: u16,
    /// Payload length on the wire, from the IP length (not cut by the snap length).
    pub payload_len: u32,
    /// The first payload bytes that were captured.
    pub payload: PayloadPrefix,
}

/// A UDP datagram's header facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpDatagram {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length on the wire, from the UDP length field.
    pub payload_len: u32,
    /// The first payload bytes that were captured.
    pub payload: PayloadPrefix,
}

/// What kind of ICMP/ICMPv6 error it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IcmpErrorKind {
    /// ICMPv4 type 3 / ICMPv6 type 1.
    DestinationUnreachable,
    /// ICMPv4 type 11 / ICMPv6 type 3.
    TimeExceeded,
    /// ICMPv6 type 2 (the v6 form of "fragmentation needed").
    PacketTooBig,
    /// ICMPv4 type 12 / ICMPv6 type 4.
    ParameterProblem,
    /// ICMPv4 type 4 (deprecated, still seen).
    SourceQuench,
    /// ICMPv4 type 5.
    Redirect,
}

/// The connection an ICMP error quotes, as the original sender wrote it (src = the host that
/// sent the packet the error is about).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedPacket {
    /// Transport protocol of the quoted packet.
    pub proto: Proto,
    /// Source address of the quoted packet.
    pub src: IpAddr,
    /// Destination address of the quoted packet.
    pub dst: IpAddr,
    /// Source port of the quoted packet.
    pub src_port: u16,
    /// Destination port of the quoted packet.
    pub dst_port: u16,
    /// TCP sequence number, when the quote is TCP (the first 8 bytes hold it).
    pub tcp_seq: Option<u32>,
    /// TCP flags, when the quote holds more than 8 bytes of the TCP header.
    pub tcp_flags: Option<TcpFlags>,
    /// TTL/hop limit left in the quoted header when the reporter saw it.
    pub ttl: u8,
}

/// An ICMP or ICMPv6 error message and the packet it quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    /// ICMPv6 (true) or ICMPv4.
    pub v6: bool,
    /// The error's kind.
    pub kind: IcmpErrorKind,
    /// The raw ICMP type.
    pub icmp_type: u8,
    /// The raw ICMP code.
    pub code: u8,
    /// Next-hop MTU for "fragmentation needed" / "packet too big".
    pub mtu: Option<u32>,
    /// The quoted packet.
    pub quoted: QuotedPacket,
}

/// Address resolution on the local link: ARP (IPv4) or neighbour discovery (IPv6). Unanswered
/// solicitations for a server that never answers tell "host down" from "port filtered".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborMessage {
    /// A request (ARP who-has, neighbour solicitation) rather than an answer.
    pub solicit: bool,
    /// The address being resolved (the one asked for, or the one answering).
    pub target: IpAddr,
}

/// The transport-level content of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A TCP segment.
    Tcp(TcpSegment),
    /// A UDP datagram.
    Udp(UdpDatagram),
    /// An ICMP/ICMPv6 error quoting a TCP or UDP packet.
    IcmpError(IcmpError),
    /// ARP or IPv6 neighbour discovery (`src`/`dst` are the sender's and target's addresses).
    Neighbor(NeighborMessage),
}

/// One decoded packet: small, owned, `Copy`, no heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Where the frame is in the input.
    pub origin: Origin,
    /// VLAN tags as one number: 0 untagged; the VLAN ID for one tag; `outer << 12 | inner` for
    /// QinQ. Part of the flow key: the same 5-tuple on two VLANs is two conversations.
    pub vlan: u32,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (0 for IPv6).
    pub ip_id: u16,
    /// IPv4 don't-fragment bit (false for IPv6).
    pub dont_fragment: bool,
    /// Whom the link layer addressed the frame to: a broadcast or multicast datagram expects
    /// no answer, whatever its IP destination looks like.
    pub link_dst: LinkDest,
    /// The transport content.
    pub transport: Transport,
}

/// The link-layer destination of a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkDest {
    /// The link layer does not say (raw IP, BSD loopback, a cooked capture's outgoing frame).
    #[default]
    Unknown,
    /// One station (an Ethernet address with the group bit clear; a cooked capture's frame to
    /// this host or another host).
    Unicast,
    /// Broadcast or multicast (the group bit set; a cooked capture's broadcast or multicast).
    Group,
}

impl Default for Packet {
    fn default() -> Self {
        Packet {
            ts: Timestamp::default(),
            origin: Origin::default(),
            vlan: 0,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ttl: 0,
            ip_id: 0,
            dont_fragment: false,
            link_dst: LinkDest::Unknown,
            transport: Transport::Udp(UdpDatagram {
                src_port: 0,
                dst_port: 0,
                payload_len: 0,
                payload: PayloadPrefix::default(),
            }),
        }
    }
}

/// Why a frame produced no [`Packet`]. Counted per reason in the run's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// A link type connlens does not decode.
    UnsupportedLinkType,
    /// A link-layer payload that is not IP (ARP, LLDP, STP, …).
    NotIp,
    /// The frame ended inside a header connlens needs.
    Truncated,
    /// A header with impossible values (bad version, header length, …).
    Malformed,
    /// An IP fragment other than the first (no transport header to read).
    Fragment,
    /// An IP protocol other than TCP, UDP, ICMP, ICMPv6 (GRE, ESP, OSPF, …).
    OtherIpProtocol,
    /// ICMP that is not an error (echo, neighbour discovery, router advertisements, …).
    IcmpNotError,
    /// An ICMP error whose quote is not a TCP/UDP packet, or too short to name one.
    IcmpUnusableQuote,
}

impl Skip {
    /// Every reason, in a fixed order (for stable summaries).
    pub const ALL: [Skip; 8] = [
        Skip::UnsupportedLinkType,
        Skip::NotIp,
        Skip::Truncated,
        Skip::Malformed,
        Skip::Fragment,
        Skip::OtherIpProtocol,
        Skip::IcmpNotError,
        Skip::IcmpUnusableQuote,
    ];

    /// A stable kebab-case name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::UnsupportedLinkType => "unsupported-link-type",
            Skip::NotIp => "not-ip",
            Skip::Truncated => "truncated",
            Skip::Malformed => "malformed",
            Skip::Fragment => "non-first-fragment",
            Skip::OtherIpProtocol => "other-ip-protocol",
            Skip::IcmpNotError => "icmp-not-error",
            Skip::IcmpUnusableQuote => "icmp-unusable-quote",
        }
    }

    /// Position in [`Skip::ALL`], for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}
