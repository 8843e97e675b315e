//! Capture sources: where frames come from.
//!
//! A source yields [`Frame`]s — a borrowed view of one captured record with its timestamp,
//! link type and its place in the input (file index, packet number, byte offset) — so the
//! decoder never copies a whole frame. Offline files are read by connlens' own streaming
//! pcap/pcapng reader ([`file`](mod@file)), which knows the byte offset of every record and so can name
//! the place where a damaged file stops being readable. Live interfaces are opened through libpcap
//! ([`live`]), which yields the same frames.

pub mod bpf;
pub mod file;
pub mod inputs;
pub mod live;
pub mod writer;

pub use bpf::{FilterError, ReadFilter, link_type_name};
pub use file::{CaptureReader, ReadError, ReadErrorKind};
pub use inputs::{
    FrameSink, InputError, InputSpec, MergedSource, NamedInput, SourceError, SourceErrorKind,
    expand_inputs,
};
pub use live::{KernelStats, LiveCapture, LiveConfig, LiveError};
pub use writer::{PcapWriter, PcapngWriter, TsResolution};

use crate::time::Timestamp;

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry (pcap and pcapng
/// both use these numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (and 802.3), possibly VLAN-tagged.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP (RFC 1661), with or without the HDLC-like address and control bytes (ff 03).
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP, as some BSDs number it (DLT_RAW = 12).
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP, as OpenBSD numbers it (DLT_RAW = 14).
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// PPP in HDLC-like framing (RFC 1662), or Cisco HDLC (first byte 0x0f or 0x8f).
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// PPPoE: the frame starts with the PPPoE header (RFC 2516).
    pub const PPP_ETHER: LinkType = LinkType(51);
    /// Raw IPv4 or IPv6, version from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// Cisco HDLC: address, control, then an Ethertype.
    pub const C_HDLC: LinkType = LinkType(104);
    /// 802.11 frames without a radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// 802.11 behind a Prism monitor-mode header (or an AVS one, which says so itself).
    pub const IEEE802_11_PRISM: LinkType = LinkType(119);
    /// 802.11 behind a radiotap header (monitor mode on Linux, macOS, the BSDs).
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// 802.11 behind an AVS monitor-mode header.
    pub const IEEE802_11_AVS: LinkType = LinkType(163);
    /// Per-Packet Information header (PPI), then the link type it names (802.11, Ethernet).
    pub const PPI: LinkType = LinkType(192);
    /// OpenBSD loopback: like NULL but the family is big-endian.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`-i any` through libpcap).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter log (`tcpdump -i nflog:N`): a family byte, then TLVs, one the packet.
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux cooked capture v2 (`tcpdump -i any`).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Every link type the decoder reads (property tests and fuzz targets go through each).
    pub const DECODED: [LinkType; 20] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType::PPP,
        LinkType::RAW_BSD12,
        LinkType::RAW_BSD14,
        LinkType::PPP_HDLC,
        LinkType::PPP_ETHER,
        LinkType::RAW,
        LinkType::C_HDLC,
        LinkType::IEEE802_11,
        LinkType::IEEE802_11_PRISM,
        LinkType::IEEE802_11_RADIOTAP,
        LinkType::IEEE802_11_AVS,
        LinkType::PPI,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::NFLOG,
        LinkType::LINUX_SLL2,
    ];

    /// A short name for summaries: `ethernet`, `802.11-radiotap`, … (`linktype-N` for the
    /// numbers connlens does not decode).
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        let n = match self {
            LinkType::NULL => "null",
            LinkType::ETHERNET => "ethernet",
            LinkType::PPP => "ppp",
            LinkType::RAW_BSD12 | LinkType::RAW_BSD14 | LinkType::RAW => "raw-ip",
            LinkType::PPP_HDLC => "ppp-hdlc",
            LinkType::PPP_ETHER => "pppoe",
            LinkType::C_HDLC => "cisco-hdlc",
            LinkType::IEEE802_11 => "802.11",
            LinkType::IEEE802_11_PRISM => "802.11-prism",
            LinkType::IEEE802_11_RADIOTAP => "802.11-radiotap",
            LinkType::IEEE802_11_AVS => "802.11-avs",
            LinkType::PPI => "802.11-ppi",
            LinkType::LOOP => "loop",
            LinkType::LINUX_SLL => "linux-sll",
            LinkType::IPV4 => "raw-ipv4",
            LinkType::IPV6 => "raw-ipv6",
            LinkType::NFLOG => "nflog",
            LinkType::LINUX_SLL2 => "linux-sll2",
            LinkType(n) => return format!("linktype-{n}").into(),
        };
        n.into()
    }
}

/// One captured record, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// When the frame was captured.
    pub ts: Timestamp,
    /// The frame's link-layer header type.
    pub link: LinkType,
    /// The length of the frame on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Where the frame came from and where it sits in its input.
    pub origin: Origin,
}

/// Where a frame sits in the input: what a person needs to find it in Wireshark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// Index of the input file in the run's list of inputs (0-based).
    pub file: u16,
    /// Packet number within that file, 1-based, as Wireshark's "No." column counts.
    pub number: u64,
    /// Byte offset of the record's header within the file.
    pub offset: u64,
}
