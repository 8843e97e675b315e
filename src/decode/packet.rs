//! The decoder's output: one fixed-size, heap-free summary per packet.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
    /// ICMP or ICMPv6 echo (ping): `icmp` for both families, as Zeek's conn.log writes it
    /// (the addresses say which).
    Icmp,
    /// SCTP (IP protocol 132).
    Sctp,
}

impl Proto {
    /// The lower-case name used in output (`tcp`, `udp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Sctp => "sctp",
        }
    }

    /// Whether the protocol has ports (TCP, UDP, SCTP); a ping's `client_port` and
    /// `server_port` are the echo request's and the echo reply's ICMP types, as in Zeek.
    pub fn has_ports(self) -> bool {
        !matches!(self, Proto::Icmp)
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

/// An ICMP or ICMPv6 echo request or reply (ping; RFC 792, RFC 4443 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoMessage {
    /// ICMPv6 (true) or ICMPv4.
    pub v6: bool,
    /// An echo request (ICMP type 8 / ICMPv6 128), else a reply (0 / 129).
    pub request: bool,
    /// The identifier: one ping process's requests share it.
    pub id: u16,
    /// The sequence number.
    pub seq: u16,
    /// The data's length on the wire (after the 8-byte header).
    pub payload_len: u32,
}

impl EchoMessage {
    /// The ICMP type of an echo request of this family (8, ICMPv6 128), as a ping's
    /// `client_port` holds it.
    pub fn request_type(v6: bool) -> u16 {
        if v6 { 128 } else { 8 }
    }

    /// The ICMP type of an echo reply of this family (0, ICMPv6 129), as a ping's
    /// `server_port` holds it.
    pub fn reply_type(v6: bool) -> u16 {
        if v6 { 129 } else { 0 }
    }
}

/// SCTP chunk types the tracker reads (RFC 9260 §3.2), as bits of [`SctpPacket::chunks`].
pub mod sctp_chunk {
    /// Payload data.
    pub const DATA: u16 = 1 << 0;
    /// Initiation.
    pub const INIT: u16 = 1 << 1;
    /// Initiation acknowledgement.
    pub const INIT_ACK: u16 = 1 << 2;
    /// Selective acknowledgement.
    pub const SACK: u16 = 1 << 3;
    /// Heartbeat request.
    pub const HEARTBEAT: u16 = 1 << 4;
    /// Heartbeat acknowledgement.
    pub const HEARTBEAT_ACK: u16 = 1 << 5;
    /// Abort.
    pub const ABORT: u16 = 1 << 6;
    /// Shutdown.
    pub const SHUTDOWN: u16 = 1 << 7;
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: u16 = 1 << 8;
    /// Operation error.
    pub const ERROR: u16 = 1 << 9;
    /// State cookie.
    pub const COOKIE_ECHO: u16 = 1 << 10;
    /// Cookie acknowledgement.
    pub const COOKIE_ACK: u16 = 1 << 11;
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: u16 = 1 << 14;
    /// Any other chunk type (I-DATA, FORWARD-TSN, AUTH, ASCONF, …; types 12, 13 and 15 on).
    pub const OTHER: u16 = 1 << 15;

    /// The bit of chunk type `t` (types 0–14 have their own; the rest share [`OTHER`]).
    pub fn bit(t: u8) -> u16 {
        if t < 15 { 1 << t } else { OTHER }
    }
}

/// An SCTP packet's common header and what its chunks say (RFC 9260 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SctpPacket {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The verification tag (0 on an INIT).
    pub vtag: u32,
    /// The chunk types the packet carries ([`sctp_chunk`] bits), of the chunks captured.
    pub chunks: u16,
    /// An ABORT's flags: the T bit (the tag is the sender's own, RFC 9260 §8.5.1: it had
    /// no association for the packet it answers).
    pub abort_t: bool,
    /// An ABORT's (or ERROR's) first error cause code (RFC 9260 §3.3.10), 0 when it has none.
    pub error_cause: u16,
    /// An INIT's or INIT-ACK's initiate tag (0 otherwise).
    pub initiate_tag: u32,
    /// User data bytes in the DATA chunks (their lengths on the wire, headers excluded).
    pub data_len: u32,
}

impl SctpPacket {
    /// Whether the packet carries a chunk of these ([`sctp_chunk`] bits).
    pub fn has(&self, bits: u16) -> bool {
        self.chunks & bits != 0
    }
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
    /// The quote is an ICMP echo: its sequence number, and whether it is a reply (an error
    /// about a reply names the ping's server as the quote's source). `src_port` and
    /// `dst_port` hold the echo identifier.
    pub echo: Option<(u16, bool)>,
    /// The quote is SCTP: its verification tag (0: an INIT, the client's first packet).
    pub sctp_vtag: Option<u32>,
    /// TCP flags, when the quote holds more than 8 bytes of the TCP header.
    pub tcp_flags: Option<TcpFlags>,
    /// TTL/hop limit left in the quoted header when the reporter saw it.
    pub ttl: u8,
    /// When the quoted packet is a tunnel's outer packet (an error about the tunnel itself:
    /// its far end unreachable, the path's MTU too small for it): the tunnel, its outer
    /// endpoints as the quoted packet carried them (source first). [`Tunnel::NONE`] for an
    /// ordinary quote.
    pub tunnel: Tunnel,
    /// The quote was cut before the tunnelled conversation's ports (RFC 792 asks for the IP
    /// header and 8 bytes only): it names the tunnel, not a conversation in it. `proto`,
    /// `src`, `dst` and the ports are then the outer packet's (ports 0 when it has none), and
    /// the error is about every conversation of that tunnel.
    pub tunnel_only: bool,
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
    /// An ICMP/ICMPv6 error quoting a TCP, UDP, SCTP or ICMP echo packet.
    IcmpError(IcmpError),
    /// An ICMP/ICMPv6 echo request or reply.
    Echo(EchoMessage),
    /// An SCTP packet.
    Sctp(SctpPacket),
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
    /// The tunnel the packet was carried in ([`Encap::None`] for a plain packet), and every
    /// encapsulation it was found in. Part of the flow key: one private 5-tuple in two
    /// tenants' tunnels is two conversations.
    pub tunnel: Tunnel,
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
            tunnel: Tunnel::NONE,
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
    /// An IP protocol other than TCP, UDP, SCTP, ICMP, ICMPv6 (ESP, OSPF, VRRP, …).
    OtherIpProtocol,
    /// ICMP that is neither an error nor an echo (neighbour discovery, router advertisements,
    /// timestamps, …).
    IcmpNotError,
    /// An ICMP error whose quote is not a TCP, UDP, SCTP or echo packet, or too short to name
    /// one.
    IcmpUnusableQuote,
    /// An 802.11 frame with the Protected bit: its payload cannot be read without the keys.
    EncryptedWifi,
    /// An 802.11 management or control frame, or a data frame without data (null function).
    WifiNotData,
    /// A GRE packet whose protocol type is none connlens decodes (GRE keepalives, WCCP, …).
    UnknownGreProtocol,
    /// An MPLS payload whose first nibble is neither IPv4, IPv6 nor a pseudowire control word.
    UnknownMplsPayload,
    /// A tunnel's own signalling: GTP-U echo and error messages, PPPoE discovery, PPP link
    /// and network control protocols (LCP, IPCP, …).
    TunnelControl,
    /// Encapsulations nested deeper than connlens follows ([`MAX_ENCAP_DEPTH`]).
    TunnelTooDeep,
}

/// How many encapsulations the decoder strips from one frame before it gives up on it
/// ([`Skip::TunnelTooDeep`]): real captures nest two or three (ERSPAN of VXLAN of VLANs).
pub const MAX_ENCAP_DEPTH: usize = 8;

impl Skip {
    /// Every reason, in a fixed order (for stable summaries).
    pub const ALL: [Skip; 14] = [
        Skip::UnsupportedLinkType,
        Skip::NotIp,
        Skip::Truncated,
        Skip::Malformed,
        Skip::Fragment,
        Skip::OtherIpProtocol,
        Skip::IcmpNotError,
        Skip::IcmpUnusableQuote,
        Skip::EncryptedWifi,
        Skip::WifiNotData,
        Skip::UnknownGreProtocol,
        Skip::UnknownMplsPayload,
        Skip::TunnelControl,
        Skip::TunnelTooDeep,
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
            Skip::EncryptedWifi => "encrypted-802.11",
            Skip::WifiNotData => "802.11-not-data",
            Skip::UnknownGreProtocol => "unknown-gre-protocol",
            Skip::UnknownMplsPayload => "unknown-mpls-payload",
            Skip::TunnelControl => "tunnel-control",
            Skip::TunnelTooDeep => "tunnel-too-deep",
        }
    }

    /// Position in [`Skip::ALL`], for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An encapsulation the decoder strips: the kind of a packet's [`Tunnel`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Encap {
    /// Not tunnelled.
    #[default]
    None,
    /// VXLAN (RFC 7348), UDP 4789 or Linux's 8472: Ethernet inside.
    Vxlan,
    /// Geneve (RFC 8926), UDP 6081: Ethernet or IP inside.
    Geneve,
    /// GRE (RFC 2784, 2890; PPTP's enhanced GRE, RFC 2637): IP, Ethernet, MPLS or PPP inside.
    Gre,
    /// ERSPAN type I (GRE 0x88be without a sequence number): a mirrored Ethernet frame.
    ErspanI,
    /// ERSPAN type II (GRE 0x88be): a mirrored Ethernet frame.
    ErspanII,
    /// ERSPAN type III (GRE 0x22eb): a mirrored Ethernet frame (or IP).
    ErspanIII,
    /// IPv4 in IPv4 (IP protocol 4).
    IpIp,
    /// IPv6 in IPv4 (IP protocol 41: 6in4, 6to4, ISATAP).
    SixIn4,
    /// IPv4 in IPv6 (IP protocol 4 in IPv6).
    FourIn6,
    /// IPv6 in IPv6 (IP protocol 41 in IPv6).
    SixIn6,
    /// An MPLS label stack (RFC 3032), from Ethernet, GRE, PPP or IP protocol 137.
    Mpls,
    /// A PPPoE session (RFC 2516).
    Pppoe,
    /// GTP-U (3GPP TS 29.281), UDP 2152: a mobile subscriber's IP packet.
    GtpU,
    /// Teredo (RFC 4380), UDP 3544: IPv6 in UDP over IPv4.
    Teredo,
}

impl Encap {
    /// Every kind but `None`, in a fixed order (for stable summaries).
    pub const ALL: [Encap; 14] = [
        Encap::Vxlan,
        Encap::Geneve,
        Encap::Gre,
        Encap::ErspanI,
        Encap::ErspanII,
        Encap::ErspanIII,
        Encap::IpIp,
        Encap::SixIn4,
        Encap::FourIn6,
        Encap::SixIn6,
        Encap::Mpls,
        Encap::Pppoe,
        Encap::GtpU,
        Encap::Teredo,
    ];

    /// A stable kebab-case name for output (the `tunnel.type` field).
    pub fn as_str(self) -> &'static str {
        match self {
            Encap::None => "none",
            Encap::Vxlan => "vxlan",
            Encap::Geneve => "geneve",
            Encap::Gre => "gre",
            Encap::ErspanI => "erspan-i",
            Encap::ErspanII => "erspan-ii",
            Encap::ErspanIII => "erspan-iii",
            Encap::IpIp => "ipip",
            Encap::SixIn4 => "6in4",
            Encap::FourIn6 => "4in6",
            Encap::SixIn6 => "6in6",
            Encap::Mpls => "mpls",
            Encap::Pppoe => "pppoe",
            Encap::GtpU => "gtp-u",
            Encap::Teredo => "teredo",
        }
    }

    /// Position in a counter array (`None` is 0, [`Encap::ALL`] follow from 1).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name of the number a tunnel of this kind carries (`vni`, `key`, …).
    pub fn id_name(self) -> &'static str {
        match self {
            Encap::Vxlan | Encap::Geneve => "vni",
            Encap::Gre => "key",
            Encap::ErspanI | Encap::ErspanII | Encap::ErspanIII | Encap::Pppoe => "session",
            Encap::Mpls => "label",
            Encap::GtpU => "teid",
            _ => "id",
        }
    }

    /// Whether the number is the same both ways and so names the tunnel in the flow key.
    /// MPLS labels and GTP-U TEIDs are chosen per direction (a reply carries another), and
    /// PPTP's call IDs too: they are shown, not keyed.
    pub fn id_is_identity(self) -> bool {
        matches!(
            self,
            Encap::Vxlan
                | Encap::Geneve
                | Encap::Gre
                | Encap::ErspanI
                | Encap::ErspanII
                | Encap::ErspanIII
                | Encap::Pppoe
        )
    }

    /// Whether the outer endpoints name the tunnel in the flow key. Teredo's relay may
    /// differ per direction, and its inner addresses are global (they embed the server's):
    /// its outer endpoints are shown, not keyed.
    fn outer_is_identity(self) -> bool {
        !matches!(self, Encap::Teredo)
    }
}

/// The tunnel a packet came in: its kind, its number (VNI, GRE key, TEID, …) and the outer
/// endpoints as this packet carried them. Small and `Copy`: the decoder allocates nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tunnel {
    id: u32,
    /// Every encapsulation the packet was found in (bit [`Encap::index`]), for the summary.
    pub layers: u16,
    /// The kind of the tunnel that names the conversation (the innermost one that has outer
    /// endpoints, or an MPLS / PPPoE layer when there is none).
    pub kind: Encap,
    has_id: bool,
    /// 0: no outer endpoints; 4 or 6: their family.
    outer_family: u8,
    outer_src: [u8; 16],
    outer_dst: [u8; 16],
}

impl Tunnel {
    /// Not tunnelled.
    pub const NONE: Tunnel = Tunnel {
        id: 0,
        layers: 0,
        kind: Encap::None,
        has_id: false,
        outer_family: 0,
        outer_src: [0; 16],
        outer_dst: [0; 16],
    };

    /// A tunnel of `kind` with the number `id` (if it has one) and outer endpoints `outer`
    /// (source, destination of this packet), found in the encapsulations `layers`.
    pub fn new(kind: Encap, id: Option<u32>, outer: Option<(IpAddr, IpAddr)>) -> Tunnel {
        let mut t = Tunnel { kind, layers: 1 << kind.index(), ..Tunnel::NONE };
        if let Some(id) = id {
            t.id = id;
            t.has_id = true;
        }
        if let Some((s, d)) = outer {
            t.set_outer(s, d);
        }
        t
    }

    pub(super) fn set_outer(&mut self, src: IpAddr, dst: IpAddr) {
        let (f, s, d) = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                (4, s.to_ipv6_mapped().octets(), d.to_ipv6_mapped().octets())
            }
            (s, d) => (6, v6_octets(s), v6_octets(d)),
        };
        self.outer_family = f;
        self.outer_src = s;
        self.outer_dst = d;
    }

    /// Whether the packet came in a tunnel.
    #[inline]
    pub fn is_some(&self) -> bool {
        self.kind != Encap::None
    }

    /// The tunnel's number (VNI, GRE key, ERSPAN or PPPoE session, TEID, MPLS label), when
    /// it has one.
    pub fn id(&self) -> Option<u32> {
        self.has_id.then_some(self.id)
    }

    /// The outer source and destination of the packet, when the tunnel has them.
    pub fn outer(&self) -> Option<(IpAddr, IpAddr)> {
        let ip = |b: [u8; 16]| match self.outer_family {
            4 => IpAddr::V4(Ipv6Addr::from(b).to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED)),
            _ => IpAddr::V6(Ipv6Addr::from(b)),
        };
        (self.outer_family != 0).then(|| (ip(self.outer_src), ip(self.outer_dst)))
    }

    /// The same tunnel seen from the other end (outer endpoints swapped).
    pub fn reversed(mut self) -> Tunnel {
        std::mem::swap(&mut self.outer_src, &mut self.outer_dst);
        self
    }

    /// The tunnel's identity as a number for the flow key, the same in both directions:
    /// 0 when not tunnelled, else a digest of the kind, the number when it names the tunnel
    /// both ways, and the outer endpoints (in either order). 32 bits: two tunnels' digests
    /// are alike once in four billion, and then only one inner 5-tuple in both at once would
    /// be taken for one conversation.
    #[inline]
    pub fn digest(&self) -> u32 {
        if !self.is_some() {
            return 0;
        }
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ self.kind as u64;
        let mut eat = |x: u64| {
            h = (h ^ x).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(23);
        };
        if self.has_id && self.kind.id_is_identity() {
            eat(1 << 32 | u64::from(self.id));
        }
        if self.outer_family != 0 && self.kind.outer_is_identity() {
            let (a, b) = (u128::from_be_bytes(self.outer_src), u128::from_be_bytes(self.outer_dst));
            let (lo, hi) = (a.min(b), a.max(b));
            for x in [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64] {
                eat(x);
            }
        }
        // SplitMix64's finalizer, folded to 32 bits; never 0 (that is "no tunnel").
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z ^ (z >> 32)) as u32).max(1)
    }
}

fn v6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

/// The short form for CSV and the table: `vxlan:42 192.0.2.1>192.0.2.2`, `mpls:16`, `ipip
/// 192.0.2.1>192.0.2.2`; empty when not tunnelled.
impl fmt::Display for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_some() {
            return Ok(());
        }
        f.write_str(self.kind.as_str())?;
        if let Some(id) = self.id() {
            write!(f, ":{id}")?;
        }
        if let Some((s, d)) = self.outer() {
            write!(f, " {s}>{d}")?;
        }
        Ok(())
    }
}
