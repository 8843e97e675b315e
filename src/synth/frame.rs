//! Frame builders: IPv4/IPv6 packets carrying TCP, UDP or ICMP errors, wrapped in any link
//! layer the decoder reads.
//!
//! Every builder has two forms: `write_*` appends to a caller's buffer (so a capture generator
//! can reuse one buffer for millions of frames) and a plain form that returns a new `Vec`.
//! Checksums (IPv4 header, TCP, UDP, ICMP, ICMPv6) are always correct, so fixtures open cleanly
//! in Wireshark.
//!
//! ```
//! use connlens::synth::frame::{self, Icmp, Ip, Link, Tcp};
//! use connlens::decode::TcpFlags;
//!
//! let ip = Ip::new([10, 0, 0, 1], [10, 0, 0, 2]);
//! let syn = frame::tcp(&ip, &Tcp::new(40000, 443).seq(1000).flags(TcpFlags::SYN), b"");
//! let eth_syn = frame::frame(Link::Ethernet, &syn);
//! // The server's host answers "port unreachable", quoting the SYN's header and 8 bytes.
//! let back = Ip::new([10, 0, 0, 2], [10, 0, 0, 1]);
//! let unreach = frame::icmp_error(&back, Icmp::PORT_UNREACHABLE, frame::quote_8(&syn));
//! let eth_unreach = frame::frame(Link::Ethernet, &unreach);
//! # assert!(eth_syn.len() >= 60 && eth_unreach.len() > eth_syn.len());
//! ```

use std::net::IpAddr;

use crate::capture::LinkType;

/// IP protocol numbers the builders write.
const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_SCTP: u8 = 132;

/// The IP layer of a packet: endpoints and the header fields the decoder reports.
///
/// IPv4 or IPv6 follows the addresses (both must be of the same family; a mixed pair is
/// written as IPv6 with the IPv4 address mapped, so the builder never panics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ip {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// IPv4 identification; also the IPv6 fragment header's identification.
    pub id: u16,
    /// IPv4 don't-fragment bit.
    pub dont_fragment: bool,
    /// Fragment offset in 8-byte units (IPv6: written in a fragment header).
    pub frag_offset: u16,
    /// More-fragments bit (IPv6: a fragment header is written when this or the offset is set).
    pub more_fragments: bool,
    /// IPv6 only: put an (empty, padded) hop-by-hop options header first.
    pub hop_by_hop: bool,
    /// IPv6 only: put an (empty, padded) destination options header after hop-by-hop.
    pub dest_opts: bool,
}

impl Ip {
    /// A packet from `src` to `dst`: TTL 64, id 0, DF set (what Linux sends for TCP), no
    /// fragmentation or extension headers.
    pub fn new(src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> Ip {
        Ip {
            src: src.into(),
            dst: dst.into(),
            ttl: 64,
            id: 0,
            dont_fragment: true,
            frag_offset: 0,
            more_fragments: false,
            hop_by_hop: false,
            dest_opts: false,
        }
    }

    /// With this TTL / hop limit.
    pub fn ttl(mut self, ttl: u8) -> Ip {
        self.ttl = ttl;
        self
    }

    /// With this IPv4 identification.
    pub fn id(mut self, id: u16) -> Ip {
        self.id = id;
        self
    }

    /// With or without the don't-fragment bit.
    pub fn df(mut self, df: bool) -> Ip {
        self.dont_fragment = df;
        self
    }

    /// As a fragment at `offset` (8-byte units) with the more-fragments bit `more`.
    pub fn fragment(mut self, offset: u16, more: bool) -> Ip {
        self.frag_offset = offset;
        self.more_fragments = more;
        self
    }

    /// Source and destination swapped (the other direction of the same conversation).
    pub fn reversed(mut self) -> Ip {
        std::mem::swap(&mut self.src, &mut self.dst);
        self
    }

    /// Whether this is written as IPv6.
    pub fn is_v6(&self) -> bool {
        !(self.src.is_ipv4() && self.dst.is_ipv4())
    }
}

/// A TCP header's fields (no options are written: data offset is always 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags byte (see [`crate::decode::TcpFlags`] for the bits).
    pub flags: u8,
    /// Window.
    pub window: u16,
}

impl Tcp {
    /// A segment between these ports: seq 0, ack 0, no flags, window 65535.
    pub fn new(src_port: u16, dst_port: u16) -> Tcp {
        Tcp { src_port, dst_port, seq: 0, ack: 0, flags: 0, window: 65535 }
    }

    /// With this sequence number.
    pub fn seq(mut self, seq: u32) -> Tcp {
        self.seq = seq;
        self
    }

    /// With this acknowledgment number.
    pub fn ack(mut self, ack: u32) -> Tcp {
        self.ack = ack;
        self
    }

    /// With these flag bits.
    pub fn flags(mut self, flags: u8) -> Tcp {
        self.flags = flags;
        self
    }

    /// With this window.
    pub fn window(mut self, window: u16) -> Tcp {
        self.window = window;
        self
    }
}

/// An ICMP error's type, code and MTU. Which ICMP it is written as (v4 or v6) follows the
/// outer [`Ip`]; the constants pick the right numbers for each family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// Type and code when written as ICMPv4.
    pub v4: (u8, u8),
    /// Type and code when written as ICMPv6.
    pub v6: (u8, u8),
    /// MTU for "fragmentation needed" (v4 bytes 6..8) / "packet too big" (v6 bytes 4..8).
    pub mtu: u32,
}

impl Icmp {
    /// Port unreachable (v4 3/3, v6 1/4).
    pub const PORT_UNREACHABLE: Icmp = Icmp { v4: (3, 3), v6: (1, 4), mtu: 0 };
    /// Host unreachable (v4 3/1, v6 1/3 "address unreachable").
    pub const HOST_UNREACHABLE: Icmp = Icmp { v4: (3, 1), v6: (1, 3), mtu: 0 };
    /// Administratively prohibited (v4 3/13, v6 1/1).
    pub const ADMIN_PROHIBITED: Icmp = Icmp { v4: (3, 13), v6: (1, 1), mtu: 0 };
    /// TTL / hop limit exceeded in transit (v4 11/0, v6 3/0).
    pub const TTL_EXCEEDED: Icmp = Icmp { v4: (11, 0), v6: (3, 0), mtu: 0 };

    /// Fragmentation needed and DF set (v4 3/4) / packet too big (v6 2/0), with next-hop MTU.
    pub fn too_big(mtu: u32) -> Icmp {
        Icmp { v4: (3, 4), v6: (2, 0), mtu }
    }

    /// Any type and code, the same numbers for both families (for non-error messages in tests,
    /// such as echo requests).
    pub fn raw(icmp_type: u8, code: u8) -> Icmp {
        Icmp { v4: (icmp_type, code), v6: (icmp_type, code), mtu: 0 }
    }
}

/// An 802.1Q-style tag: its TPID (0x8100, 0x88a8 or 0x9100) and VLAN ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanTag {
    /// Tag protocol identifier.
    pub tpid: u16,
    /// VLAN ID (12 bits; higher bits are dropped).
    pub vid: u16,
}

impl VlanTag {
    /// A customer tag (802.1Q, TPID 0x8100).
    pub fn q(vid: u16) -> VlanTag {
        VlanTag { tpid: 0x8100, vid }
    }

    /// A service tag (802.1ad, TPID 0x88a8).
    pub fn ad(vid: u16) -> VlanTag {
        VlanTag { tpid: 0x88a8, vid }
    }
}

/// A link layer to wrap an IP packet in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II, untagged. Padded to the 60-byte minimum, as received frames are.
    Ethernet,
    /// Ethernet II with one VLAN tag.
    Vlan(VlanTag),
    /// Ethernet II with two tags, outer first.
    QinQ(VlanTag, VlanTag),
    /// Linux cooked capture v1 (packet type "to us", ARPHRD_ETHER).
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// No link header; the given link type must be one of the raw-IP ones (101, 12, 14, 228,
    /// 229) — the bytes are the same for all of them.
    Raw(LinkType),
    /// BSD NULL loopback, family in little-endian (`false`) or big-endian (`true`) order.
    Null {
        /// Write the family big-endian (as a big-endian capturing host would).
        big_endian: bool,
    },
    /// OpenBSD LOOP: big-endian family.
    Loop,
    /// An encapsulation on untagged Ethernet (see [`Tunnel`]).
    Tunnel(Tunnel),
    /// An 802.11 data frame behind a radio header.
    Wifi(Wifi),
    /// A Linux NFLOG record (family, resource 5, a packet header and prefix TLV, the payload
    /// TLV), TLVs in little-endian order.
    Nflog,
}

/// An encapsulation the builders write, with its outer endpoints (for the client's
/// direction; [`Link::reversed`] gives the other).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunnel {
    /// The kind and its numbers.
    pub encap: Encap,
    /// Outer source and destination (unused by MPLS and PPPoE, which have none).
    pub outer: (IpAddr, IpAddr),
    /// An 802.1Q tag on the inner Ethernet frame, for encapsulations that carry one.
    pub inner_vlan: Option<u16>,
}

/// What [`Tunnel`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// VXLAN to 4789 from source port 54321: flags with the I bit, the VNI; inner Ethernet.
    Vxlan {
        /// The VNI.
        vni: u32,
    },
    /// Geneve to 6081 with `options` 4-byte words of options; inner Ethernet.
    Geneve {
        /// The VNI.
        vni: u32,
        /// Option length in 4-byte words (one option of that size is written).
        options: u8,
    },
    /// GRE with the checksum, key and sequence number fields as given; the inner IP packet,
    /// or an Ethernet frame (0x6558) when `ethernet`.
    Gre {
        /// Write the checksum (and reserved) field.
        checksum: bool,
        /// The key, if any.
        key: Option<u32>,
        /// The sequence number, if any.
        seq: Option<u32>,
        /// Carry an Ethernet frame (transparent Ethernet bridging).
        ethernet: bool,
    },
    /// ERSPAN type II (GRE 0x88be with a sequence number) of `session`: a mirrored Ethernet
    /// frame. A mirror goes one way: [`Link::reversed`] keeps the outer endpoints.
    ErspanII {
        /// The session ID (10 bits).
        session: u16,
    },
    /// ERSPAN type III (GRE 0x22eb) of `session`, with the platform subheader if `platform`.
    ErspanIII {
        /// The session ID (10 bits).
        session: u16,
        /// Write the 8-byte platform-specific subheader (O bit).
        platform: bool,
    },
    /// IP in IP: protocol 4 or 41 after the inner version, in an outer header of the outer
    /// endpoints' version.
    IpIp,
    /// An MPLS stack on Ethernet (0x8847): `labels` this way, `back` the other (labels are
    /// chosen per direction); the inner IP packet, or a control word and an Ethernet frame
    /// when `pseudowire`.
    Mpls {
        /// Labels, top first, of this direction.
        labels: [u32; 2],
        /// Labels of the other direction.
        back: [u32; 2],
        /// An Ethernet pseudowire with a control word.
        pseudowire: bool,
    },
    /// A PPPoE session on Ethernet (0x8864), PPP protocol 0x0021 / 0x0057.
    Pppoe {
        /// The session ID.
        session: u16,
    },
    /// GTP-U G-PDU between ports 2152: `teid` this way, `back` the other; with a PDU
    /// session container extension header when `extension`.
    GtpU {
        /// TEID of this direction.
        teid: u32,
        /// TEID of the other direction.
        back: u32,
        /// Write a sequence number and one extension header.
        extension: bool,
    },
    /// Teredo: IPv6 in UDP between a client port and 3544, with an origin indication.
    Teredo,
}

/// The radio header in front of an 802.11 frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Radio {
    /// None (link type 105).
    None,
    /// Radiotap with TSFT, Flags and Rate (link type 127).
    Radiotap,
    /// PPI with no fields (link type 192).
    Ppi,
    /// A 144-byte Prism header (link type 119).
    Prism,
    /// A 64-byte AVS header (link type 163).
    Avs,
}

/// An 802.11 data frame: to the access point (`from_ds` false) or from it; a QoS data frame
/// when `qos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wifi {
    /// The radio header.
    pub radio: Radio,
    /// From the distribution system (the AP to the station) rather than to it.
    pub from_ds: bool,
    /// QoS data (subtype 8) rather than data.
    pub qos: bool,
}

/// Ethernet addresses the builder writes: locally administered, fixed so output is stable.
const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// The shortest Ethernet frame without FCS: shorter ones are padded, and the decoder must
/// not count the padding as payload.
const ETH_MIN: usize = 60;

impl Link {
    /// The pcap link type of frames this link produces.
    pub fn link_type(self) -> LinkType {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => LinkType::ETHERNET,
            Link::Sll => LinkType::LINUX_SLL,
            Link::Sll2 => LinkType::LINUX_SLL2,
            Link::Raw(lt) => lt,
            Link::Null { .. } => LinkType::NULL,
            Link::Loop => LinkType::LOOP,
            Link::Tunnel(_) => LinkType::ETHERNET,
            Link::Wifi(w) => match w.radio {
                Radio::None => LinkType::IEEE802_11,
                Radio::Radiotap => LinkType::IEEE802_11_RADIOTAP,
                Radio::Ppi => LinkType::PPI,
                Radio::Prism => LinkType::IEEE802_11_PRISM,
                Radio::Avs => LinkType::IEEE802_11_AVS,
            },
            Link::Nflog => LinkType::NFLOG,
        }
    }

    /// The same link for a frame going the other way: outer endpoints, MPLS labels and TEIDs
    /// swapped, an 802.11 frame from the AP instead of to it. (An ERSPAN mirror goes from the
    /// switch to the collector either way.)
    pub fn reversed(self) -> Link {
        match self {
            Link::Tunnel(mut t) => {
                match &mut t.encap {
                    Encap::ErspanII { .. } | Encap::ErspanIII { .. } => return self,
                    Encap::Mpls { labels, back, .. } => std::mem::swap(labels, back),
                    Encap::GtpU { teid, back, .. } => std::mem::swap(teid, back),
                    _ => {}
                }
                t.outer = (t.outer.1, t.outer.0);
                Link::Tunnel(t)
            }
            Link::Wifi(w) => Link::Wifi(Wifi { from_ds: !w.from_ds, ..w }),
            other => other,
        }
    }

    /// Appends one frame to `out`: the link header for an IPv4 (`v6` false) or IPv6 packet,
    /// then whatever `ip` appends, then Ethernet padding if needed. Lets a generator build a
    /// frame in a reused buffer without an intermediate IP packet.
    pub fn write(self, out: &mut Vec<u8>, v6: bool, ip: impl FnOnce(&mut Vec<u8>)) {
        match self {
            Link::Tunnel(t) => return write_tunnel(out, t, v6, ip),
            Link::Wifi(w) => return write_wifi(out, w, v6, ip),
            Link::Nflog => return write_nflog(out, v6, ip),
            _ => {}
        }
        let start = out.len();
        let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => {
                out.extend_from_slice(&DST_MAC);
                out.extend_from_slice(&SRC_MAC);
                let tags = match self {
                    Link::Vlan(t) => [Some(t), None],
                    Link::QinQ(o, i) => [Some(o), Some(i)],
                    _ => [None, None],
                };
                for t in tags.into_iter().flatten() {
                    out.extend_from_slice(&t.tpid.to_be_bytes());
                    out.extend_from_slice(&(t.vid & 0x0fff).to_be_bytes());
                }
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Sll => {
                out.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend_from_slice(&6u16.to_be_bytes()); // address length
                out.extend_from_slice(&SRC_MAC);
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Sll2 => {
                out.extend_from_slice(&ethertype.to_be_bytes());
                out.extend_from_slice(&[0, 0]); // reserved
                out.extend_from_slice(&2u32.to_be_bytes()); // interface index
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.push(0); // packet type: to us
                out.push(6); // address length
                out.extend_from_slice(&SRC_MAC);
                out.extend_from_slice(&[0, 0]);
            }
            Link::Raw(_) => {}
            Link::Null { big_endian } => {
                // Linux/FreeBSD number AF_INET6 differently; 24 is NetBSD/OpenBSD's, 30 macOS's.
                let family: u32 = if v6 { 30 } else { 2 };
                let b = if big_endian { family.to_be_bytes() } else { family.to_le_bytes() };
                out.extend_from_slice(&b);
            }
            Link::Loop => {
                let family: u32 = if v6 { 24 } else { 2 };
                out.extend_from_slice(&family.to_be_bytes());
            }
            Link::Tunnel(_) | Link::Wifi(_) | Link::Nflog => {}
        }
        ip(out);
        if matches!(self, Link::Ethernet | Link::Vlan(_) | Link::QinQ(..)) {
            let len = out.len() - start;
            if len < ETH_MIN {
                out.resize(start + ETH_MIN, 0);
            }
        }
    }
}

/// Inner Ethernet addresses of the tunnels' frames.
const INNER_SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 0x01];
const INNER_DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 0x02];

/// An Ethernet header (with `vlan` tagged) for a packet of IP version `v6`.
fn write_inner_ethernet(out: &mut Vec<u8>, vlan: Option<u16>, v6: bool) {
    out.extend_from_slice(&INNER_DST_MAC);
    out.extend_from_slice(&INNER_SRC_MAC);
    if let Some(vid) = vlan {
        out.extend_from_slice(&[0x81, 0x00]);
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    out.extend_from_slice(&(if v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
}

/// Appends an Ethernet frame carrying `t`'s encapsulation of the packet `ip` writes.
fn write_tunnel(out: &mut Vec<u8>, t: Tunnel, v6: bool, ip: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::with_capacity(256);
    ip(&mut inner);
    let start = out.len();
    out.extend_from_slice(&DST_MAC);
    out.extend_from_slice(&SRC_MAC);
    let outer_ip = Ip::new(t.outer.0, t.outer.1).df(false);
    let outer_et: u16 = if outer_ip.is_v6() { 0x86dd } else { 0x0800 };
    let mut body = Vec::with_capacity(inner.len() + 64);
    let eth = |body: &mut Vec<u8>| {
        write_inner_ethernet(body, t.inner_vlan, v6);
        body.extend_from_slice(&inner);
    };
    match t.encap {
        Encap::Vxlan { vni } => {
            body.extend_from_slice(&[0x08, 0, 0, 0]);
            body.extend_from_slice(&(vni << 8).to_be_bytes());
            eth(&mut body);
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_udp(out, &outer_ip, 54321, 4789, &body);
        }
        Encap::Geneve { vni, options } => {
            body.extend_from_slice(&[options & 0x3f, 0, 0x65, 0x58]);
            body.extend_from_slice(&(vni << 8).to_be_bytes());
            if options > 0 {
                // One option: class 0x0102, type 0x80, length in words after its header.
                body.extend_from_slice(&[0x01, 0x02, 0x80, (options - 1) & 0x1f]);
                body.resize(body.len() + usize::from(options - 1) * 4, 0xab);
            }
            eth(&mut body);
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_udp(out, &outer_ip, 54321, 6081, &body);
        }
        Encap::Gre { checksum, key, seq, ethernet } => {
            let mut flags = 0u8;
            if checksum {
                flags |= 0x80;
            }
            if key.is_some() {
                flags |= 0x20;
            }
            if seq.is_some() {
                flags |= 0x10;
            }
            let proto: u16 = if ethernet {
                0x6558
            } else if v6 {
                0x86dd
            } else {
                0x0800
            };
            body.extend_from_slice(&[flags, 0]);
            body.extend_from_slice(&proto.to_be_bytes());
            let sum_at = body.len();
            if checksum {
                body.extend_from_slice(&[0, 0, 0, 0]);
            }
            if let Some(k) = key {
                body.extend_from_slice(&k.to_be_bytes());
            }
            if let Some(n) = seq {
                body.extend_from_slice(&n.to_be_bytes());
            }
            if ethernet {
                eth(&mut body);
            } else {
                body.extend_from_slice(&inner);
            }
            if checksum {
                let sum = fold(sum_words(0, &body));
                body[sum_at..sum_at + 2].copy_from_slice(&sum.to_be_bytes());
            }
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_ip_packet(out, &outer_ip, 47, &body);
        }
        Encap::ErspanII { session } => {
            body.extend_from_slice(&[0x10, 0, 0x88, 0xbe]);
            body.extend_from_slice(&1u32.to_be_bytes()); // GRE sequence number
            body.extend_from_slice(&0x1000u16.to_be_bytes()); // version 1, VLAN 0
            body.extend_from_slice(&(session & 0x03ff).to_be_bytes()); // COS, En, T 0
            body.extend_from_slice(&[0, 0, 0, 0]); // reserved, index
            eth(&mut body);
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_ip_packet(out, &outer_ip, 47, &body);
        }
        Encap::ErspanIII { session, platform } => {
            body.extend_from_slice(&[0x10, 0, 0x22, 0xeb]);
            body.extend_from_slice(&1u32.to_be_bytes()); // GRE sequence number
            body.extend_from_slice(&0x2000u16.to_be_bytes()); // version 2, VLAN 0
            body.extend_from_slice(&(session & 0x03ff).to_be_bytes());
            body.extend_from_slice(&0x0102_0304u32.to_be_bytes()); // timestamp
            body.extend_from_slice(&[0, 0]); // SGT
            // P 0, frame type 0 (Ethernet), hardware ID 1, D 0, granularity 3, O.
            body.extend_from_slice(&[0x00, 0x10 | 0x06 | u8::from(platform)]);
            if platform {
                body.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 0, 0]); // platform ID 1
            }
            eth(&mut body);
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_ip_packet(out, &outer_ip, 47, &body);
        }
        Encap::IpIp => {
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_ip_packet(out, &outer_ip, if v6 { 41 } else { 4 }, &inner);
        }
        Encap::Mpls { labels, pseudowire, .. } => {
            out.extend_from_slice(&0x8847u16.to_be_bytes());
            for (i, l) in labels.iter().enumerate() {
                let bottom = u32::from(i == labels.len() - 1);
                out.extend_from_slice(&((l & 0xfffff) << 12 | bottom << 8 | 64).to_be_bytes());
            }
            if pseudowire {
                out.extend_from_slice(&[0, 0, 0, 1]); // control word, sequence number 1
                write_inner_ethernet(out, t.inner_vlan, v6);
            }
            out.extend_from_slice(&inner);
        }
        Encap::Pppoe { session } => {
            out.extend_from_slice(&0x8864u16.to_be_bytes());
            out.extend_from_slice(&[0x11, 0]);
            out.extend_from_slice(&session.to_be_bytes());
            out.extend_from_slice(&((inner.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(&(if v6 { 0x0057u16 } else { 0x0021 }).to_be_bytes());
            out.extend_from_slice(&inner);
        }
        Encap::GtpU { teid, extension, .. } => {
            let ext_len = if extension { 4 + 4 } else { 0 };
            // Version 1, PT 1, E and S set with an extension; message type 255 (G-PDU).
            body.push(if extension { 0x36 } else { 0x30 });
            body.push(255);
            body.extend_from_slice(&((inner.len() + ext_len) as u16).to_be_bytes());
            body.extend_from_slice(&teid.to_be_bytes());
            if extension {
                // Sequence number, N-PDU number, next: PDU session container (0x85) of one
                // word (length, PDU type 1 = uplink, QFI 9, next type 0).
                body.extend_from_slice(&[0, 1, 0, 0x85]);
                body.extend_from_slice(&[1, 0x10, 0x09, 0]);
            }
            body.extend_from_slice(&inner);
            out.extend_from_slice(&outer_et.to_be_bytes());
            write_udp(out, &outer_ip, 2152, 2152, &body);
        }
        Encap::Teredo => {
            // Origin indication: port and address of the client's mapping, obfuscated.
            body.extend_from_slice(&[0, 0, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xfe]);
            body.extend_from_slice(&inner);
            out.extend_from_slice(&outer_et.to_be_bytes());
            // The Teredo server's port is 3544; the client's is its own.
            let ports = if t.outer.0 < t.outer.1 { (40000, 3544) } else { (3544, 40000) };
            write_udp(out, &outer_ip, ports.0, ports.1, &body);
        }
    }
    let len = out.len() - start;
    if len < ETH_MIN {
        out.resize(start + ETH_MIN, 0);
    }
}

/// The station and access point of the 802.11 frames.
const STA_MAC: [u8; 6] = [0x02, 0, 0, 0, 2, 0x01];
const AP_MAC: [u8; 6] = [0x02, 0, 0, 0, 2, 0xaa];
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 2, 0xfe];

/// Appends an 802.11 data frame (behind `w`'s radio header) carrying the packet `ip` writes.
fn write_wifi(out: &mut Vec<u8>, w: Wifi, v6: bool, ip: impl FnOnce(&mut Vec<u8>)) {
    match w.radio {
        Radio::None => {}
        Radio::Radiotap => {
            // Version 0, length 18, present: TSFT, Flags, Rate; TSFT at 8, Flags 16, Rate 17.
            out.extend_from_slice(&[0, 0, 18, 0, 0x07, 0, 0, 0]);
            out.extend_from_slice(&0x0001_0203_0405_0607u64.to_le_bytes());
            out.extend_from_slice(&[0x00, 0x6c]); // no flags; 54 Mb/s
        }
        Radio::Ppi => {
            out.extend_from_slice(&[0, 0, 8, 0, 105, 0, 0, 0]);
        }
        Radio::Prism => {
            let start = out.len();
            out.extend_from_slice(&0x44u32.to_le_bytes()); // message code
            out.extend_from_slice(&144u32.to_le_bytes());
            out.extend_from_slice(b"wlan0\0\0\0\0\0\0\0\0\0\0\0");
            out.resize(start + 144, 0);
        }
        Radio::Avs => {
            let start = out.len();
            out.extend_from_slice(&0x8021_1001u32.to_be_bytes());
            out.extend_from_slice(&64u32.to_be_bytes());
            out.resize(start + 64, 0);
        }
    }
    let subtype: u8 = if w.qos { 0x88 } else { 0x08 };
    out.push(subtype);
    out.push(if w.from_ds { 0x02 } else { 0x01 });
    out.extend_from_slice(&[0x2c, 0]); // duration
    // To the AP: BSSID, source, destination; from it: destination, BSSID, source.
    let addrs =
        if w.from_ds { [STA_MAC, AP_MAC, ROUTER_MAC] } else { [AP_MAC, STA_MAC, ROUTER_MAC] };
    for a in addrs {
        out.extend_from_slice(&a);
    }
    out.extend_from_slice(&[0x10, 0]); // sequence control
    if w.qos {
        out.extend_from_slice(&[0, 0]);
    }
    out.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
    out.extend_from_slice(&(if v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
    ip(out);
}

/// Appends an NFLOG record carrying the packet `ip` writes.
fn write_nflog(out: &mut Vec<u8>, v6: bool, ip: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(&[if v6 { 10 } else { 2 }, 0, 0, 5]);
    // NFULA_PACKET_HDR: hardware protocol (Ethertype, big-endian), hook 1, padding.
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&(if v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
    out.extend_from_slice(&[1, 0]);
    // NFULA_PREFIX: the log rule's prefix, NUL-terminated, padded to 4 bytes.
    out.extend_from_slice(&13u16.to_le_bytes());
    out.extend_from_slice(&10u16.to_le_bytes());
    out.extend_from_slice(b"connlens\0\0\0\0");
    // NFULA_PAYLOAD.
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&9u16.to_le_bytes());
    ip(out);
    let len = out.len() - at;
    out[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
    out.resize(at + len.next_multiple_of(4), 0);
}

/// Appends `ip_packet` wrapped in `link` to `out`. The IP version is read from the packet.
pub fn write_frame(out: &mut Vec<u8>, link: Link, ip_packet: &[u8]) {
    let v6 = ip_packet.first().is_some_and(|b| b >> 4 == 6);
    link.write(out, v6, |o| o.extend_from_slice(ip_packet));
}

/// `ip_packet` wrapped in `link`.
pub fn frame(link: Link, ip_packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ip_packet.len() + 24);
    write_frame(&mut out, link, ip_packet);
    out
}

/// Appends an IPv4/IPv6 packet of IP protocol `proto` carrying `l4` verbatim (no transport
/// checksum is computed: for other protocols and hand-made fragments).
pub fn write_ip_packet(out: &mut Vec<u8>, ip: &Ip, proto: u8, l4: &[u8]) {
    write_ip_header(out, ip, proto, l4.len());
    out.extend_from_slice(l4);
}

/// An IP packet of protocol `proto` carrying `l4` verbatim.
pub fn ip_packet(ip: &Ip, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(l4.len() + 60);
    write_ip_packet(&mut out, ip, proto, l4);
    out
}

/// Appends an IP packet carrying a TCP segment.
pub fn write_tcp(out: &mut Vec<u8>, ip: &Ip, tcp: &Tcp, payload: &[u8]) {
    let l4_len = 20 + payload.len();
    let l4 = write_ip_header(out, ip, PROTO_TCP, l4_len);
    out.extend_from_slice(&tcp.src_port.to_be_bytes());
    out.extend_from_slice(&tcp.dst_port.to_be_bytes());
    out.extend_from_slice(&tcp.seq.to_be_bytes());
    out.extend_from_slice(&tcp.ack.to_be_bytes());
    out.push(5 << 4);
    out.push(tcp.flags);
    out.extend_from_slice(&tcp.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    out.extend_from_slice(payload);
    let sum = l4_checksum(ip, PROTO_TCP, &out[l4..]);
    out[l4 + 16..l4 + 18].copy_from_slice(&sum.to_be_bytes());
}

/// An IP packet carrying a TCP segment.
pub fn tcp(ip: &Ip, tcp: &Tcp, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 80);
    write_tcp(&mut out, ip, tcp, payload);
    out
}

/// Appends an IP packet carrying a UDP datagram.
pub fn write_udp(out: &mut Vec<u8>, ip: &Ip, src_port: u16, dst_port: u16, payload: &[u8]) {
    let l4_len = 8 + payload.len();
    let l4 = write_ip_header(out, ip, PROTO_UDP, l4_len);
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&(l4_len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let sum = match l4_checksum(ip, PROTO_UDP, &out[l4..]) {
        0 => 0xffff, // 0 means "no checksum" in UDP
        s => s,
    };
    out[l4 + 6..l4 + 8].copy_from_slice(&sum.to_be_bytes());
}

/// An IP packet carrying a UDP datagram.
pub fn udp(ip: &Ip, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 70);
    write_udp(&mut out, ip, src_port, dst_port, payload);
    out
}

/// Appends an IP packet carrying an ICMP (IPv4) or ICMPv6 (IPv6) message of `icmp`'s type and
/// code whose body is `quote` (normally a previously built IP packet, whole or cut with
/// [`quote_8`]).
pub fn write_icmp_error(out: &mut Vec<u8>, ip: &Ip, icmp: Icmp, quote: &[u8]) {
    let v6 = ip.is_v6();
    let proto = if v6 { PROTO_ICMPV6 } else { PROTO_ICMP };
    let (ty, code) = if v6 { icmp.v6 } else { icmp.v4 };
    let l4 = write_ip_header(out, ip, proto, 8 + quote.len());
    out.push(ty);
    out.push(code);
    out.extend_from_slice(&[0, 0]);
    if v6 {
        out.extend_from_slice(&icmp.mtu.to_be_bytes());
    } else {
        // Bytes 4..6 unused; 6..8 the next-hop MTU (zero for other errors).
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(icmp.mtu as u16).to_be_bytes());
    }
    out.extend_from_slice(quote);
    let sum =
        if v6 { l4_checksum(ip, PROTO_ICMPV6, &out[l4..]) } else { fold(sum_words(0, &out[l4..])) };
    out[l4 + 2..l4 + 4].copy_from_slice(&sum.to_be_bytes());
}

/// An IP packet carrying an ICMP/ICMPv6 message that quotes `quote`.
pub fn icmp_error(ip: &Ip, icmp: Icmp, quote: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(quote.len() + 70);
    write_icmp_error(&mut out, ip, icmp, quote);
    out
}

/// Appends an IP packet carrying an ICMP (IPv4) or ICMPv6 (IPv6) echo request (`request`)
/// or reply with identifier `id`, sequence number `seq` and `data`, checksum computed.
pub fn write_echo(out: &mut Vec<u8>, ip: &Ip, request: bool, (id, seq): (u16, u16), data: &[u8]) {
    let v6 = ip.is_v6();
    let proto = if v6 { PROTO_ICMPV6 } else { PROTO_ICMP };
    let ty = match (v6, request) {
        (false, true) => 8,
        (false, false) => 0,
        (true, true) => 128,
        (true, false) => 129,
    };
    let l4 = write_ip_header(out, ip, proto, 8 + data.len());
    out.extend_from_slice(&[ty, 0, 0, 0]);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(data);
    let sum =
        if v6 { l4_checksum(ip, PROTO_ICMPV6, &out[l4..]) } else { fold(sum_words(0, &out[l4..])) };
    out[l4 + 2..l4 + 4].copy_from_slice(&sum.to_be_bytes());
}

/// An IP packet carrying an ICMP/ICMPv6 echo request or reply (see [`write_echo`]).
pub fn echo(ip: &Ip, request: bool, id_seq: (u16, u16), data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 70);
    write_echo(&mut out, ip, request, id_seq, data);
    out
}

/// One SCTP chunk: type, flags and value (the length and padding are written for it).
pub type SctpChunk<'a> = (u8, u8, &'a [u8]);

/// An IP packet carrying an SCTP packet (RFC 9260) between `ports` with verification tag
/// `vtag` and these chunks, each padded to 4 bytes, with its CRC32c checksum.
pub fn sctp(ip: &Ip, ports: (u16, u16), vtag: u32, chunks: &[SctpChunk<'_>]) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&ports.0.to_be_bytes());
    l4.extend_from_slice(&ports.1.to_be_bytes());
    l4.extend_from_slice(&vtag.to_be_bytes());
    l4.extend_from_slice(&[0; 4]);
    for &(kind, flags, value) in chunks {
        l4.extend_from_slice(&[kind, flags]);
        l4.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
        l4.extend_from_slice(value);
        l4.resize(l4.len().next_multiple_of(4), 0);
    }
    // RFC 9260 appendix A: CRC32c, written as Linux writes it (least significant byte first).
    let crc = crc32c(&l4);
    l4[8..12].copy_from_slice(&crc.to_le_bytes());
    ip_packet(ip, PROTO_SCTP, &l4)
}

/// CRC32c (Castagnoli), bit by bit: the generator's captures are small.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

/// The part of `ip_packet` that RFC 792 requires an ICMP error to quote: the IP header
/// (IPv6: with its extension headers) and the first 8 bytes after it. Returns the whole
/// packet when it is shorter.
pub fn quote_8(ip_packet: &[u8]) -> &[u8] {
    let hdr = match ip_packet.first().map(|b| b >> 4) {
        Some(4) => usize::from(ip_packet[0] & 0x0f) * 4,
        Some(6) => v6_headers_len(ip_packet),
        _ => 0,
    };
    &ip_packet[..(hdr + 8).min(ip_packet.len())]
}

/// Length of an IPv6 header plus the extension headers this module writes.
fn v6_headers_len(p: &[u8]) -> usize {
    let mut off = 40;
    let mut nh = p.get(6).copied().unwrap_or(0);
    while let (0 | 60 | 43 | 44, Some(&next), Some(&len)) = (nh, p.get(off), p.get(off + 1)) {
        off += if nh == 44 { 8 } else { (usize::from(len) + 1) * 8 };
        nh = next;
    }
    off
}

/// Appends the IP header (and IPv6 extension headers) for an upper-layer payload of `l4_len`
/// bytes; returns the offset in `out` where that payload starts.
fn write_ip_header(out: &mut Vec<u8>, ip: &Ip, proto: u8, l4_len: usize) -> usize {
    if !ip.is_v6() {
        let start = out.len();
        let total = (20 + l4_len) as u16;
        let mut flags = ip.frag_offset & 0x1fff;
        if ip.dont_fragment {
            flags |= 0x4000;
        }
        if ip.more_fragments {
            flags |= 0x2000;
        }
        out.extend_from_slice(&[0x45, 0]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&ip.id.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[ip.ttl, proto, 0, 0]);
        out.extend_from_slice(&v4_octets(ip.src));
        out.extend_from_slice(&v4_octets(ip.dst));
        let sum = fold(sum_words(0, &out[start..start + 20]));
        out[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
        return out.len();
    }
    let frag = ip.frag_offset != 0 || ip.more_fragments;
    // Chain: [hop-by-hop] [destination options] [fragment] upper layer.
    let chain = [(ip.hop_by_hop, 0u8), (ip.dest_opts, 60), (frag, 44)];
    let ext_len = chain.iter().filter(|c| c.0).count() * 8;
    let mut next = chain.iter().filter(|c| c.0).map(|c| c.1);
    let first = next.next().unwrap_or(proto);
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    out.extend_from_slice(&((ext_len + l4_len) as u16).to_be_bytes());
    out.extend_from_slice(&[first, ip.ttl]);
    out.extend_from_slice(&v6_octets(ip.src));
    out.extend_from_slice(&v6_octets(ip.dst));
    for &(present, kind) in &chain {
        if !present {
            continue;
        }
        let nh = next.next().unwrap_or(proto);
        if kind == 44 {
            let off = (ip.frag_offset << 3) | u16::from(ip.more_fragments);
            out.extend_from_slice(&[nh, 0]);
            out.extend_from_slice(&off.to_be_bytes());
            out.extend_from_slice(&u32::from(ip.id).to_be_bytes());
        } else {
            // Length 0 (8 bytes) filled with one PadN option of 4 bytes.
            out.extend_from_slice(&[nh, 0, 1, 4, 0, 0, 0, 0]);
        }
    }
    out.len()
}

fn v4_octets(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

fn v6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

/// The transport checksum of `l4` with the pseudo-header of `ip`.
fn l4_checksum(ip: &Ip, proto: u8, l4: &[u8]) -> u16 {
    let mut sum = if ip.is_v6() {
        let s = sum_words(0, &v6_octets(ip.src));
        let s = sum_words(s, &v6_octets(ip.dst));
        sum_words(s, &(l4.len() as u32).to_be_bytes())
    } else {
        let s = sum_words(0, &v4_octets(ip.src));
        let s = sum_words(s, &v4_octets(ip.dst));
        sum_words(s, &(l4.len() as u16).to_be_bytes())
    };
    sum += u64::from(proto);
    fold(sum_words(sum, l4))
}

/// Adds `data` as big-endian 16-bit words (odd tail padded with zero) to `sum`.
fn sum_words(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a word sum into the one's-complement checksum.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Ipv4HeaderSlice, TcpSlice, UdpSlice};

    fn v4() -> Ip {
        Ip::new([192, 0, 2, 1], [198, 51, 100, 7])
    }

    fn v6() -> Ip {
        Ip::new("2001:db8::1".parse::<IpAddr>().unwrap(), "2001:db8::2".parse::<IpAddr>().unwrap())
    }

    #[test]
    fn ipv4_tcp_checksums_match_etherparse() {
        let p = tcp(&v4(), &Tcp::new(1234, 80).seq(7).flags(0x18), b"GET / HTTP/1.1\r\n\r");
        let h = Ipv4HeaderSlice::from_slice(&p).unwrap();
        assert_eq!(h.header_checksum(), h.to_header().calc_header_checksum());
        let t = TcpSlice::from_slice(&p[20..]).unwrap();
        assert_eq!(t.checksum(), t.calc_checksum_ipv4([192, 0, 2, 1], [198, 51, 100, 7]).unwrap());
    }

    #[test]
    fn ipv6_udp_and_tcp_checksums_match_etherparse() {
        let (s, d) = (v6_octets(v6().src), v6_octets(v6().dst));
        let p = udp(&v6(), 5353, 53, b"abc");
        let u = UdpSlice::from_slice(&p[40..]).unwrap();
        assert_eq!(u.checksum(), u.to_header().calc_checksum_ipv6_raw(s, d, u.payload()).unwrap());
        let p = tcp(&v6(), &Tcp::new(1, 2).flags(2), b"x");
        let t = TcpSlice::from_slice(&p[40..]).unwrap();
        assert_eq!(t.checksum(), t.calc_checksum_ipv6(s, d).unwrap());
    }

    #[test]
    fn icmp_checksums_verify() {
        let q = tcp(&v4(), &Tcp::new(1, 2), b"");
        let p = icmp_error(&v4().reversed(), Icmp::PORT_UNREACHABLE, quote_8(&q));
        assert_eq!(fold(sum_words(0, &p[20..])), 0);
        let q = udp(&v6(), 1, 2, b"hello");
        let p = icmp_error(&v6().reversed(), Icmp::too_big(1280), &q);
        let s = etherparse::Icmpv6Slice::from_slice(&p[40..]).unwrap();
        assert!(s.is_checksum_valid(v6_octets(v6().dst), v6_octets(v6().src)));
    }

    #[test]
    fn quote_8_cuts_after_eight_transport_bytes() {
        let q = tcp(&v4(), &Tcp::new(1, 2), b"payload");
        assert_eq!(quote_8(&q).len(), 28);
        let mut ip = v6();
        ip.hop_by_hop = true;
        ip.dest_opts = true;
        let q = tcp(&ip, &Tcp::new(1, 2), b"payload");
        assert_eq!(quote_8(&q).len(), 40 + 16 + 8);
    }

    #[test]
    fn ethernet_frames_are_padded_and_tagged() {
        let p = udp(&v4(), 1, 2, b"");
        let f = frame(Link::QinQ(VlanTag::ad(10), VlanTag::q(20)), &p);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..14], &[0x88, 0xa8]);
        assert_eq!(&f[20..22], &[0x08, 0x00]);
    }
}
