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
    InputError, InputSpec, MergedSource, NamedInput, SourceError, SourceErrorKind, expand_inputs,
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
    /// Raw IP, as some BSDs number it (DLT_RAW = 12).
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP, as OpenBSD numbers it (DLT_RAW = 14).
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, version from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like NULL but the family is big-endian.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`-i any` through libpcap).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (`tcpdump -i any`).
    pub const LINUX_SLL2: LinkType = LinkType(276);
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
