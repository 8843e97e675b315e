//! Decoding: from a captured frame to a small owned [`Packet`] summary.
//!
//! The decoder runs in the capture thread. It walks the link layer (Ethernet, 802.1Q/QinQ,
//! Linux cooked SLL/SLL2, raw IP, BSD loopback), IPv4/IPv6 with extension headers, and
//! TCP/UDP/ICMP/ICMPv6, and for ICMP errors the datagram they quote. What it keeps is what the
//! tracker needs and a person can check in Wireshark — never the whole frame. A frame that is
//! not a connection-level packet is a counted [`Skip`], never an error.

mod packet;

pub use packet::*;
