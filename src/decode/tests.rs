//! Round trips from the synth builders through the decoder, and robustness on damaged input.

use std::net::{IpAddr, Ipv6Addr};

use super::*;
use crate::capture::{Frame, LinkType, Origin};
use crate::synth::frame::{self, Icmp, Ip, Link, Tcp, VlanTag};
use crate::time::Timestamp;

fn v4() -> Ip {
    Ip::new([192, 0, 2, 1], [198, 51, 100, 7]).ttl(61).id(0x1234)
}

fn v6() -> Ip {
    let a: IpAddr = "2001:db8::1".parse().unwrap();
    let b: IpAddr = "2001:db8:ffff::2".parse().unwrap();
    Ip::new(a, b).ttl(57)
}

/// Decodes `data` as a frame of `link` that was not cut by the snap length.
fn dec_raw(link: LinkType, data: &[u8]) -> Result<Packet, Skip> {
    dec_cut(link, data, data.len())
}

/// Decodes `data` as a frame of `link` whose wire length was `orig_len`.
fn dec_cut(link: LinkType, data: &[u8], orig_len: usize) -> Result<Packet, Skip> {
    let frame = Frame {
        ts: Timestamp(42),
        link,
        orig_len: orig_len as u32,
        data,
        origin: Origin { file: 0, number: 7, offset: 100 },
    };
    decode(&frame)
}

fn dec(link: Link, ip_packet: &[u8]) -> Result<Packet, Skip> {
    dec_raw(link.link_type(), &frame::frame(link, ip_packet))
}

fn tcp_of(p: &Packet) -> TcpSegment {
    match p.transport {
        Transport::Tcp(t) => t,
        other => panic!("not TCP: {other:?}"),
    }
}

fn udp_of(p: &Packet) -> UdpDatagram {
    match p.transport {
        Transport::Udp(u) => u,
        other => panic!("not UDP: {other:?}"),
    }
}

fn icmp_of(p: &Packet) -> IcmpError {
    match p.transport {
        Transport::IcmpError(e) => e,
        other => panic!("not an ICMP error: {other:?}"),
    }
}

/// Every link the builders write, with the VLAN number the decoder should report.
fn links(v6: bool) -> Vec<(Link, u32)> {
    vec![
        (Link::Ethernet, 0),
        (Link::Vlan(VlanTag::q(100)), 100),
        (Link::Vlan(VlanTag { tpid: 0x9100, vid: 7 }), 7),
        (Link::QinQ(VlanTag::ad(10), VlanTag::q(20)), 10 << 12 | 20),
        (Link::QinQ(VlanTag { tpid: 0x9100, vid: 4095 }, VlanTag::q(1)), 4095 << 12 | 1),
        (Link::Sll, 0),
        (Link::Sll2, 0),
        (Link::Raw(LinkType::RAW), 0),
        (Link::Raw(LinkType::RAW_BSD12), 0),
        (Link::Raw(LinkType::RAW_BSD14), 0),
        (Link::Raw(if v6 { LinkType::IPV6 } else { LinkType::IPV4 }), 0),
        (Link::Null { big_endian: false }, 0),
        (Link::Null { big_endian: true }, 0),
        (Link::Loop, 0),
    ]
}

#[test]
fn tcp_round_trips_on_every_link_v4_and_v6() {
    let seg = Tcp::new(40000, 443).seq(0xdead_beef).ack(17).flags(0x12).window(29200);
    for ip in [v4(), v6()] {
        let pkt = frame::tcp(&ip, &seg, b"hi");
        for (link, vlan) in links(ip.is_v6()) {
            let p = dec(link, &pkt).unwrap_or_else(|e| panic!("{link:?}: {e:?}"));
            assert_eq!(p.vlan, vlan, "{link:?}");
            assert_eq!((p.src, p.dst), (ip.src, ip.dst));
            assert_eq!(p.ttl, ip.ttl);
            assert_eq!(p.ts, Timestamp(42));
            assert_eq!(p.origin.number, 7);
            if ip.is_v6() {
                assert_eq!((p.ip_id, p.dont_fragment), (0, false));
            } else {
                assert_eq!((p.ip_id, p.dont_fragment), (0x1234, true));
            }
            let t = tcp_of(&p);
            assert_eq!((t.src_port, t.dst_port, t.seq, t.ack), (40000, 443, 0xdead_beef, 17));
            assert!(t.flags.has(TcpFlags::SYN | TcpFlags::ACK));
            assert_eq!(t.window, 29200);
            assert_eq!(t.payload_len, 2);
            assert_eq!(t.payload.as_slice(), b"hi");
        }
    }
}

#[test]
fn udp_round_trips_on_every_link_v4_and_v6() {
    for ip in [v4().df(false), v6()] {
        let pkt = frame::udp(&ip, 5353, 53, b"\x12\x34query");
        for (link, vlan) in links(ip.is_v6()) {
            let p = dec(link, &pkt).unwrap_or_else(|e| panic!("{link:?}: {e:?}"));
            assert_eq!(p.vlan, vlan);
            assert!(!p.dont_fragment);
            let u = udp_of(&p);
            assert_eq!((u.src_port, u.dst_port, u.payload_len), (5353, 53, 7));
            assert_eq!(u.payload.as_slice(), b"\x12\x34query");
        }
    }
}

#[test]
fn long_payload_keeps_a_prefix_and_the_full_length() {
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let p = dec(Link::Ethernet, &frame::tcp(&v4(), &Tcp::new(1, 2).flags(0x18), &payload));
    let t = tcp_of(&p.unwrap());
    assert_eq!(t.payload_len, 1000);
    assert_eq!(t.payload.as_slice(), &payload[..PAYLOAD_PREFIX]);
}

#[test]
fn ethernet_padding_is_not_payload() {
    let f = frame::frame(Link::Ethernet, &frame::udp(&v4(), 1, 2, b"ab"));
    assert_eq!(f.len(), 60);
    let u = udp_of(&dec_raw(LinkType::ETHERNET, &f).unwrap());
    assert_eq!((u.payload_len, u.payload.as_slice()), (2, &b"ab"[..]));
    let f = frame::frame(Link::Vlan(VlanTag::q(3)), &frame::tcp(&v4(), &Tcp::new(1, 2), b""));
    let t = tcp_of(&dec_raw(LinkType::ETHERNET, &f).unwrap());
    assert_eq!((t.payload_len, t.payload.as_slice()), (0, &b""[..]));
}

#[test]
fn snap_length_cut_uses_ip_length() {
    let pkt = frame::tcp(&v4(), &Tcp::new(80, 5000).seq(9).flags(0x10), &[7u8; 500]);
    let f = frame::frame(Link::Ethernet, &pkt);
    // Cut in the payload.
    let t = tcp_of(&dec_cut(LinkType::ETHERNET, &f[..14 + 40 + 10], f.len()).unwrap());
    assert_eq!((t.payload_len, t.payload.as_slice()), (500, &[7u8; 10][..]));
    // Cut inside the TCP header, after the flags: still a segment, window unknown.
    let t = tcp_of(&dec_cut(LinkType::ETHERNET, &f[..14 + 20 + 14], f.len()).unwrap());
    assert_eq!((t.seq, t.flags, t.window, t.payload_len), (9, TcpFlags(0x10), 0, 500));
    // Cut before the flags.
    assert_eq!(dec_cut(LinkType::ETHERNET, &f[..14 + 20 + 13], f.len()), Err(Skip::Truncated));
}

#[test]
fn zero_ip_total_length_falls_back_to_frame_length() {
    // What TCP segmentation offload leaves in locally captured packets.
    let mut f = frame::frame(Link::Ethernet, &frame::tcp(&v4(), &Tcp::new(1, 2), &[0u8; 100]));
    f[16] = 0;
    f[17] = 0;
    assert_eq!(tcp_of(&dec_raw(LinkType::ETHERNET, &f).unwrap()).payload_len, 100);
}

#[test]
fn icmpv4_port_unreachable_quoting_tcp_full_and_8_bytes() {
    let syn = frame::tcp(&v4(), &Tcp::new(40000, 25).seq(777).flags(TcpFlags::SYN), b"");
    for quote in [&syn[..], frame::quote_8(&syn)] {
        let err = frame::icmp_error(&v4().reversed().ttl(250), Icmp::PORT_UNREACHABLE, quote);
        let p = dec(Link::Ethernet, &err).unwrap();
        assert_eq!(p.src, v4().dst);
        let e = icmp_of(&p);
        assert!(!e.v6);
        assert_eq!(
            (e.kind, e.icmp_type, e.code, e.mtu),
            (IcmpErrorKind::DestinationUnreachable, 3, 3, None)
        );
        let q = e.quoted;
        assert_eq!((q.proto, q.src, q.dst), (Proto::Tcp, v4().src, v4().dst));
        assert_eq!((q.src_port, q.dst_port, q.tcp_seq, q.ttl), (40000, 25, Some(777), 61));
    }
}

#[test]
fn icmpv6_unreachable_quoting_udp() {
    let dgram = frame::udp(&v6(), 5000, 53, b"query");
    let err = frame::icmp_error(&v6().reversed(), Icmp::PORT_UNREACHABLE, &dgram);
    let e = icmp_of(&dec(Link::Sll2, &err).unwrap());
    assert!(e.v6);
    assert_eq!((e.kind, e.icmp_type, e.code), (IcmpErrorKind::DestinationUnreachable, 1, 4));
    let q = e.quoted;
    assert_eq!((q.proto, q.src, q.dst), (Proto::Udp, v6().src, v6().dst));
    assert_eq!((q.src_port, q.dst_port, q.tcp_seq, q.ttl), (5000, 53, None, 57));
}

#[test]
fn frag_needed_and_packet_too_big_carry_the_mtu() {
    let big = frame::tcp(&v4(), &Tcp::new(1, 443).flags(0x18), &[0u8; 1400]);
    let err = frame::icmp_error(
        &Ip::new([203, 0, 113, 1], [192, 0, 2, 1]),
        Icmp::too_big(1400),
        frame::quote_8(&big),
    );
    let e = icmp_of(&dec(Link::Vlan(VlanTag::q(5)), &err).unwrap());
    assert_eq!((e.icmp_type, e.code, e.mtu), (3, 4, Some(1400)));
    assert_eq!(e.quoted.dst_port, 443);

    let big = frame::tcp(&v6(), &Tcp::new(1, 443).flags(0x18), &[0u8; 1400]);
    let err = frame::icmp_error(&v6().reversed(), Icmp::too_big(1280), &big[..1232]);
    let e = icmp_of(&dec(Link::Ethernet, &err).unwrap());
    assert_eq!((e.kind, e.icmp_type, e.mtu), (IcmpErrorKind::PacketTooBig, 2, Some(1280)));
    assert_eq!(e.quoted.proto, Proto::Tcp);
}

#[test]
fn time_exceeded_and_other_error_kinds() {
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    for (ty, code, kind) in [
        (11, 0, IcmpErrorKind::TimeExceeded),
        (12, 0, IcmpErrorKind::ParameterProblem),
        (4, 0, IcmpErrorKind::SourceQuench),
        (5, 1, IcmpErrorKind::Redirect),
    ] {
        let err = frame::icmp_error(&v4().reversed(), Icmp::raw(ty, code), &syn);
        assert_eq!(icmp_of(&dec(Link::Ethernet, &err).unwrap()).kind, kind);
    }
    let syn6 = frame::tcp(&v6(), &Tcp::new(1, 2).flags(2), b"");
    let err = frame::icmp_error(&v6().reversed(), Icmp::TTL_EXCEEDED, &syn6);
    assert_eq!(icmp_of(&dec(Link::Ethernet, &err).unwrap()).kind, IcmpErrorKind::TimeExceeded);
}

#[test]
fn quote_lengths_are_not_trusted() {
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).seq(5).flags(2), b"");
    let mut q = frame::quote_8(&syn).to_vec();
    q[2] = 0xff; // total length claims far more than quoted, checksum now wrong too
    let err = frame::icmp_error(&v4().reversed(), Icmp::HOST_UNREACHABLE, &q);
    let e = icmp_of(&dec(Link::Ethernet, &err).unwrap());
    assert_eq!(e.quoted.tcp_seq, Some(5));
}

#[test]
fn unusable_quotes() {
    let back = v4().reversed();
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    // Only the IP header and the source port.
    let err = frame::icmp_error(&back, Icmp::PORT_UNREACHABLE, &syn[..22]);
    assert_eq!(dec(Link::Ethernet, &err), Err(Skip::IcmpUnusableQuote));
    // Ports but no sequence number: still a TCP quote.
    let err = frame::icmp_error(&back, Icmp::PORT_UNREACHABLE, &syn[..24]);
    assert_eq!(icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted.tcp_seq, None);
    // A quoted ICMP timestamp request (not an echo: it names no ping).
    let stamp = frame::icmp_error(&v4(), Icmp::raw(13, 0), b"0123456789ab");
    let err = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, &stamp);
    assert_eq!(dec(Link::Ethernet, &err), Err(Skip::IcmpUnusableQuote));
    // A quoted GRE packet names its tunnel (not a conversation: an error about the tunnel).
    let gre = frame::ip_packet(&v4(), 47, &[0; 8]);
    let err = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, &gre);
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert!(q.tunnel_only && q.tunnel.kind == Encap::Gre, "{q:?}");
    // An empty quote, a garbage quote.
    for q in [b"" as &[u8], b"\x00garbage-garbage-garbage-garbage"] {
        let err = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, q);
        assert_eq!(dec(Link::Ethernet, &err), Err(Skip::IcmpUnusableQuote));
    }
}

#[test]
fn ipv6_extension_headers_and_first_fragment() {
    let mut ip = v6().fragment(0, true);
    ip.hop_by_hop = true;
    ip.dest_opts = true;
    let pkt = frame::udp(&ip, 4500, 4500, b"ike");
    let u = udp_of(&dec(Link::Ethernet, &pkt).unwrap());
    assert_eq!((u.src_port, u.payload_len, u.payload.as_slice()), (4500, 3, &b"ike"[..]));
    // And inside a quote.
    let err = frame::icmp_error(&v6().reversed(), Icmp::PORT_UNREACHABLE, frame::quote_8(&pkt));
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert_eq!((q.proto, q.src_port, q.dst_port), (Proto::Udp, 4500, 4500));
}

#[test]
fn ipv4_first_fragment_is_decoded() {
    let pkt = frame::tcp(&v4().df(false).fragment(0, true), &Tcp::new(1, 2).flags(0x18), &[1; 100]);
    assert_eq!(tcp_of(&dec(Link::Ethernet, &pkt).unwrap()).payload_len, 100);
}

#[test]
fn non_first_fragments_are_skipped() {
    let frag4 = frame::ip_packet(&v4().df(false).fragment(185, false), 17, &[0; 40]);
    assert_eq!(dec(Link::Ethernet, &frag4), Err(Skip::Fragment));
    let mut ip = v6().fragment(185, true);
    ip.hop_by_hop = true;
    let frag6 = frame::ip_packet(&ip, 17, &[0; 40]);
    assert_eq!(dec(Link::Raw(LinkType::RAW), &frag6), Err(Skip::Fragment));
}

#[test]
fn non_ip_and_other_protocols() {
    // ARP request.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.resize(60, 0);
    // An ARP probe (sender 0.0.0.0) asks for the target.
    let probe = dec_raw(LinkType::ETHERNET, &arp).unwrap();
    assert_eq!(
        probe.transport,
        Transport::Neighbor(NeighborMessage { solicit: true, target: "0.0.0.0".parse().unwrap() })
    );
    // RARP and other hardware types are not IP resolution.
    let mut rarp = arp.clone();
    rarp[14..16].copy_from_slice(&[0, 6]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &rarp), Err(Skip::NotIp));
    // 802.3 length field with LLC (spanning tree), LLDP.
    let mut stp = arp.clone();
    stp[12..14].copy_from_slice(&[0, 38]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &stp), Err(Skip::NotIp));
    let mut lldp = arp.clone();
    lldp[12..14].copy_from_slice(&[0x88, 0xcc]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &lldp), Err(Skip::NotIp));
    // GRE of protocol type 0 (a keepalive's shape), ESP, IPv6 "no next header".
    assert_eq!(
        dec(Link::Ethernet, &frame::ip_packet(&v4(), 47, &[0; 8])),
        Err(Skip::UnknownGreProtocol)
    );
    assert_eq!(
        dec(Link::Ethernet, &frame::ip_packet(&v6(), 50, &[0; 8])),
        Err(Skip::OtherIpProtocol)
    );
    assert_eq!(dec(Link::Ethernet, &frame::ip_packet(&v6(), 59, &[])), Err(Skip::OtherIpProtocol));
    // ICMPv6 inside IPv4 is not ICMP.
    assert_eq!(
        dec(Link::Ethernet, &frame::ip_packet(&v4(), 58, &[1; 8])),
        Err(Skip::OtherIpProtocol)
    );
    // Unknown link type, unknown NULL family.
    assert_eq!(dec_raw(LinkType(147), &arp), Err(Skip::UnsupportedLinkType));
    assert_eq!(dec_raw(LinkType::NULL, &[7, 0, 0, 0, 0x45]), Err(Skip::NotIp));
}

#[test]
fn icmp_that_is_not_an_error() {
    for (ip, ty) in [(v4(), 13), (v4(), 9), (v6(), 133), (v6(), 135), (v6(), 134), (v6(), 143)] {
        let m = frame::icmp_error(&ip, Icmp::raw(ty, 0), b"data");
        assert_eq!(dec(Link::Ethernet, &m), Err(Skip::IcmpNotError), "type {ty}");
    }
}

/// The link layer's destination: Ethernet's group bit, a cooked capture's packet type; links
/// without one say nothing.
#[test]
fn the_link_layer_says_broadcast_or_multicast() {
    let pkt = frame::udp(&v4(), 47808, 47808, b"bacnet");
    for (link, want) in links(false).into_iter().map(|(l, _)| {
        let want = match l {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) | Link::Sll | Link::Sll2 => {
                LinkDest::Unicast
            }
            _ => LinkDest::Unknown,
        };
        (l, want)
    }) {
        assert_eq!(dec(link, &pkt).unwrap().link_dst, want, "{link:?}");
    }
    let unicast = frame::frame(Link::Vlan(VlanTag::q(5)), &pkt);
    for (first, want) in [(0xff, LinkDest::Group), (0x01, LinkDest::Group), (0x33, LinkDest::Group)]
    {
        let mut f = unicast.clone();
        f[0] = first;
        assert_eq!(dec_raw(LinkType::ETHERNET, &f).unwrap().link_dst, want);
    }
    let sll = frame::frame(Link::Sll, &pkt);
    let sll2 = frame::frame(Link::Sll2, &pkt);
    for (t, want) in [
        (0u8, LinkDest::Unicast),
        (1, LinkDest::Group),
        (2, LinkDest::Group),
        (3, LinkDest::Unicast),
        (4, LinkDest::Unknown),
    ] {
        let mut f = sll.clone();
        f[1] = t;
        assert_eq!(dec_raw(LinkType::LINUX_SLL, &f).unwrap().link_dst, want, "sll {t}");
        let mut f = sll2.clone();
        f[10] = t;
        assert_eq!(dec_raw(LinkType::LINUX_SLL2, &f).unwrap().link_dst, want, "sll2 {t}");
    }
}

#[test]
fn deep_vlan_stacks_and_vlan_in_sll() {
    let pkt = frame::udp(&v4(), 1, 2, b"x");
    let two = frame::frame(Link::QinQ(VlanTag::ad(1), VlanTag::q(2)), &pkt);
    // Insert a third tag (vid 3) after the two: the outer two are kept.
    let mut three = two[..20].to_vec();
    three.extend_from_slice(&[0x81, 0x00, 0x00, 0x03]);
    three.extend_from_slice(&two[20..]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &three).unwrap().vlan, 1 << 12 | 2);
    let mut five = three[..24].to_vec();
    five.extend_from_slice(&[0x81, 0x00, 0x00, 0x04, 0x81, 0x00, 0x00, 0x05]);
    five.extend_from_slice(&three[24..]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &five), Err(Skip::Malformed));

    let sll = frame::frame(Link::Sll, &pkt);
    let mut tagged = sll[..14].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a, 0x08, 0x00]);
    tagged.extend_from_slice(&sll[16..]);
    let p = dec_raw(LinkType::LINUX_SLL, &tagged).unwrap();
    assert_eq!((p.vlan, udp_of(&p).payload.as_slice()), (42, &b"x"[..]));
}

#[test]
fn null_accepts_every_bsd_inet6_number_in_both_orders() {
    let pkt = frame::udp(&v6(), 1, 2, b"");
    for fam in [24u32, 28, 30] {
        for hdr in [fam.to_le_bytes(), fam.to_be_bytes()] {
            let mut f = hdr.to_vec();
            f.extend_from_slice(&pkt);
            assert!(dec_raw(LinkType::NULL, &f).is_ok());
        }
    }
    // LOOP is big-endian only.
    let mut f = 2u32.to_le_bytes().to_vec();
    f.extend_from_slice(&frame::udp(&v4(), 1, 2, b""));
    assert_eq!(dec_raw(LinkType::LOOP, &f), Err(Skip::NotIp));
}

#[test]
fn malformed_headers() {
    let mut pkt = frame::tcp(&v4(), &Tcp::new(1, 2), b"");
    pkt[32] = 0x40; // TCP data offset 4
    assert_eq!(dec(Link::Raw(LinkType::RAW), &pkt), Err(Skip::Malformed));
    let mut pkt = frame::tcp(&v4(), &Tcp::new(1, 2), b"");
    pkt[0] = 0x44; // IHL 4
    assert_eq!(dec(Link::Raw(LinkType::RAW), &pkt), Err(Skip::Malformed));
    assert_eq!(dec_raw(LinkType::RAW, &[0x50; 40]), Err(Skip::Malformed));
    let pkt = frame::tcp(&v6(), &Tcp::new(1, 2), b"");
    assert_eq!(dec(Link::Raw(LinkType::IPV4), &pkt), Err(Skip::Malformed));
}

/// Frames of every kind the tests build, for the robustness tests.
fn corpus() -> Vec<(LinkType, Vec<u8>)> {
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"payload");
    let mut ip6 = v6().fragment(0, true);
    ip6.hop_by_hop = true;
    ip6.dest_opts = true;
    let udp6 = frame::udp(&ip6, 3, 4, b"datagram");
    let packets = [
        syn.clone(),
        udp6.clone(),
        frame::icmp_error(&v4().reversed(), Icmp::too_big(1200), frame::quote_8(&syn)),
        frame::icmp_error(&v6().reversed(), Icmp::PORT_UNREACHABLE, &udp6),
        frame::tcp(&v6(), &Tcp::new(5, 6).flags(0x18), &[9; 80]),
    ];
    let mut out = Vec::new();
    for p in &packets {
        let v6 = p[0] >> 4 == 6;
        for (link, _) in links(v6) {
            out.push((link.link_type(), frame::frame(link, p)));
        }
    }
    out
}

#[test]
fn every_truncation_decodes_without_panic() {
    for (lt, f) in corpus() {
        assert!(decode_ok(lt, &f), "{lt:?} full frame");
        for n in 0..f.len() {
            // As a snap-length cut (orig_len intact) and as a frame that really is that short.
            let _ = dec_cut(lt, &f[..n], f.len());
            let _ = dec_raw(lt, &f[..n]);
        }
    }
}

fn decode_ok(lt: LinkType, f: &[u8]) -> bool {
    dec_raw(lt, f).is_ok()
}

/// xorshift64: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_bytes_decode_without_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let link_types = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];
    let mut buf = Vec::new();
    for &lt in &link_types {
        for _ in 0..3000 {
            let len = (rng.next() % 160) as usize;
            buf.clear();
            buf.extend((0..len).map(|_| rng.next() as u8));
            // Bias towards reaching the deeper layers: a plausible link header and IP version.
            if rng.next().is_multiple_of(2) {
                match (lt, buf.len()) {
                    (1, 14..) => buf[12..14].copy_from_slice(&[0x08, 0x00]),
                    (113, 16..) => buf[14..16].copy_from_slice(&[0x86, 0xdd]),
                    (276, 20..) => buf[0..2].copy_from_slice(&[0x08, 0x00]),
                    (0 | 108, 4..) => buf[..4].copy_from_slice(&2u32.to_be_bytes()),
                    _ => {}
                }
            }
            let _ = dec_cut(LinkType(lt), &buf, (rng.next() % 2000) as usize);
        }
    }
    // Mutations of valid frames reach far deeper than random bytes.
    for (lt, f) in corpus() {
        for _ in 0..200 {
            let mut m = f.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % m.len();
                m[i] = rng.next() as u8;
            }
            let cut = (rng.next() as usize) % (m.len() + 1);
            let _ = dec_cut(lt, &m[..cut], m.len());
        }
    }
}

#[test]
fn arp_and_neighbour_discovery_resolve_addresses() {
    let mut req = vec![0xff; 6];
    req.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    req.extend_from_slice(&[2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 7]);
    req.resize(60, 0);
    let p = dec_raw(LinkType::ETHERNET, &req).unwrap();
    assert_eq!(
        p.transport,
        Transport::Neighbor(NeighborMessage {
            solicit: true,
            target: "192.0.2.7".parse().unwrap()
        })
    );
    assert_eq!(p.src.to_string(), "192.0.2.1");
    let mut reply = req.clone();
    reply[21] = 2;
    reply[28..32].copy_from_slice(&[192, 0, 2, 7]);
    reply[38..42].copy_from_slice(&[192, 0, 2, 1]);
    let p = dec_raw(LinkType::ETHERNET, &reply).unwrap();
    assert_eq!(
        p.transport,
        Transport::Neighbor(NeighborMessage {
            solicit: false,
            target: "192.0.2.7".parse().unwrap()
        })
    );
    // Truncated ARP.
    assert_eq!(dec_raw(LinkType::ETHERNET, &req[..30]), Err(Skip::Truncated));

    // IPv6 neighbour solicitation for 2001:db8::7.
    let target: std::net::Ipv6Addr = "2001:db8::7".parse().unwrap();
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&target.octets());
    let ip = frame::ip_packet(
        &Ip::new(
            "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap(),
            "ff02::1:ff00:7".parse::<std::net::Ipv6Addr>().unwrap(),
        ),
        58,
        &ns,
    );
    let f = frame::frame(Link::Ethernet, &ip);
    let p = dec_raw(LinkType::ETHERNET, &f).unwrap();
    assert_eq!(
        p.transport,
        Transport::Neighbor(NeighborMessage { solicit: true, target: target.into() })
    );
}

// ---- Tunnels and the link types of wireless, serial and netfilter captures ----

use crate::synth::frame::{Encap as E, Radio, Tunnel as T, Wifi};

fn outer4() -> (IpAddr, IpAddr) {
    ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
}

fn outer6() -> (IpAddr, IpAddr) {
    ("2001:db8:aa::1".parse().unwrap(), "2001:db8:aa::2".parse().unwrap())
}

fn tun(encap: E) -> Link {
    Link::Tunnel(T { encap, outer: outer4(), inner_vlan: None })
}

fn gre(key: Option<u32>) -> E {
    E::Gre { checksum: false, key, seq: None, ethernet: false }
}

/// Every encapsulation the builders write, with the kind, number and outer endpoints the
/// decoder should report, and every encapsulation it should count.
fn tunnels() -> Vec<(Link, Encap, Option<u32>, bool, u16)> {
    let bit = |e: Encap| 1u16 << e.index();
    let mut v = vec![
        (tun(E::Vxlan { vni: 42 }), Encap::Vxlan, Some(42), true, bit(Encap::Vxlan)),
        (tun(E::Geneve { vni: 7, options: 0 }), Encap::Geneve, Some(7), true, bit(Encap::Geneve)),
        (tun(E::Geneve { vni: 8, options: 3 }), Encap::Geneve, Some(8), true, bit(Encap::Geneve)),
        (tun(gre(None)), Encap::Gre, None, true, bit(Encap::Gre)),
        (tun(gre(Some(0xdead))), Encap::Gre, Some(0xdead), true, bit(Encap::Gre)),
        (
            tun(E::Gre { checksum: true, key: Some(5), seq: Some(99), ethernet: true }),
            Encap::Gre,
            Some(5),
            true,
            bit(Encap::Gre),
        ),
        (
            tun(E::ErspanII { session: 0x3ff }),
            Encap::ErspanII,
            Some(0x3ff),
            true,
            bit(Encap::Gre) | bit(Encap::ErspanII),
        ),
        (
            tun(E::ErspanIII { session: 9, platform: false }),
            Encap::ErspanIII,
            Some(9),
            true,
            bit(Encap::Gre) | bit(Encap::ErspanIII),
        ),
        (
            tun(E::ErspanIII { session: 10, platform: true }),
            Encap::ErspanIII,
            Some(10),
            true,
            bit(Encap::Gre) | bit(Encap::ErspanIII),
        ),
        (
            tun(E::Mpls { labels: [16001, 24001], back: [1, 2], pseudowire: false }),
            Encap::Mpls,
            Some(24001),
            false,
            bit(Encap::Mpls),
        ),
        (
            tun(E::Mpls { labels: [16001, 24002], back: [1, 2], pseudowire: true }),
            Encap::Mpls,
            Some(24002),
            false,
            bit(Encap::Mpls),
        ),
        (tun(E::Pppoe { session: 0x1234 }), Encap::Pppoe, Some(0x1234), false, bit(Encap::Pppoe)),
        (
            tun(E::GtpU { teid: 0x1001, back: 0x2001, extension: false }),
            Encap::GtpU,
            Some(0x1001),
            true,
            bit(Encap::GtpU),
        ),
        (
            tun(E::GtpU { teid: 0x1002, back: 0x2002, extension: true }),
            Encap::GtpU,
            Some(0x1002),
            true,
            bit(Encap::GtpU),
        ),
    ];
    // With an inner VLAN tag.
    v.push((
        Link::Tunnel(T { encap: E::Vxlan { vni: 43 }, outer: outer4(), inner_vlan: Some(100) }),
        Encap::Vxlan,
        Some(43),
        true,
        bit(Encap::Vxlan),
    ));
    v
}

#[test]
fn every_tunnel_round_trips_to_its_inner_conversation() {
    let seg = Tcp::new(40000, 443).seq(77).flags(TcpFlags::SYN);
    for ip in [v4(), v6()] {
        let pkt = frame::tcp(&ip, &seg, b"");
        for (link, kind, id, has_outer, layers) in tunnels() {
            let p = dec(link, &pkt).unwrap_or_else(|e| panic!("{link:?}: {e:?}"));
            assert_eq!((p.src, p.dst), (ip.src, ip.dst), "{link:?}");
            assert_eq!(tcp_of(&p).seq, 77);
            assert_eq!(p.tunnel.kind, kind, "{link:?}");
            assert_eq!(p.tunnel.id(), id, "{link:?}");
            assert_eq!(p.tunnel.outer(), has_outer.then(outer4), "{link:?}");
            assert_eq!(p.tunnel.layers, layers, "{link:?}");
            let inner_vlan = matches!(link, Link::Tunnel(T { inner_vlan: Some(_), .. }));
            assert_eq!(p.vlan, if inner_vlan { 100 } else { 0 });
        }
    }
}

#[test]
fn ip_in_ip_of_every_family_and_teredo() {
    let seg = Tcp::new(1, 2).flags(TcpFlags::SYN);
    for (outer, ip, kind) in [
        (outer4(), v4(), Encap::IpIp),
        (outer4(), v6(), Encap::SixIn4),
        (outer6(), v4(), Encap::FourIn6),
        (outer6(), v6(), Encap::SixIn6),
    ] {
        let link = Link::Tunnel(T { encap: E::IpIp, outer, inner_vlan: None });
        let p = dec(link, &frame::tcp(&ip, &seg, b"")).unwrap();
        assert_eq!((p.tunnel.kind, p.tunnel.outer(), p.src), (kind, Some(outer), ip.src));
    }
    let p = dec(tun(E::Teredo), &frame::udp(&v6(), 5, 53, b"q")).unwrap();
    assert_eq!((p.tunnel.kind, p.tunnel.outer(), p.src), (Encap::Teredo, Some(outer4()), v6().src));
    // The other way (from the server's port 3544) too.
    let p = dec(tun(E::Teredo).reversed(), &frame::udp(&v6(), 5, 53, b"q")).unwrap();
    assert_eq!(p.tunnel.kind, Encap::Teredo);
}

/// A qualified Teredo client talks to a relay on the relay's own port: an IPv6 packet to or
/// from a Teredo address (2001:0::/32) filling a datagram between other ports is Teredo too,
/// and the conversation is the same as through the server (Teredo's outer endpoints are no
/// part of its identity). Other IPv6-looking payloads stay UDP.
#[test]
fn teredo_through_a_relay_on_any_port() {
    let client = Ipv6Addr::new(0x2001, 0, 0x4137, 0x9e50, 0x8000, 0xf12a, 0xb9c8, 0x2815);
    let peer = Ipv6Addr::new(0x2001, 0x4860, 0, 0x2001, 0, 0, 0, 0x68);
    let reply = frame::echo(&Ip::new(peer, client), false, (0xd373, 1), &[]);
    let relay = Ip::new([83, 170, 1, 38], [192, 168, 2, 16]);
    let p = dec(Link::Ethernet, &frame::udp(&relay, 32900, 3797, &reply)).unwrap();
    assert_eq!((p.tunnel.kind, p.src, p.dst), (Encap::Teredo, peer.into(), client.into()));
    let via_server = dec(tun(E::Teredo), &reply).unwrap();
    assert_eq!(p.tunnel.digest(), via_server.tunnel.digest());
    // An IPv6 packet between addresses of other prefixes, and a payload that only begins
    // like one, are the datagram's own content.
    let other = frame::echo(&v6(), false, (1, 1), &[]);
    let p = dec(Link::Ethernet, &frame::udp(&relay, 32900, 3797, &other)).unwrap();
    assert!(!p.tunnel.is_some() && matches!(p.transport, Transport::Udp(_)));
    let mut cut = reply.clone();
    cut.truncate(30);
    let p = dec(Link::Ethernet, &frame::udp(&relay, 32900, 3797, &cut)).unwrap();
    assert!(!p.tunnel.is_some() && matches!(p.transport, Transport::Udp(_)));
}

#[test]
fn tunnel_identity_is_the_same_both_ways_and_apart_per_tenant() {
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    let back = frame::tcp(&v4().reversed(), &Tcp::new(2, 1).flags(0x12), b"");
    let d = |link: Link, p: &[u8]| dec(link, p).unwrap().tunnel.digest();
    for (link, ..) in tunnels() {
        assert_ne!(d(link, &syn), 0);
        assert_eq!(d(link, &syn), d(link.reversed(), &back), "{link:?}");
    }
    // Another VNI, key or session: another tenant. Other TEIDs or labels: the same tunnel
    // (they are chosen per direction).
    let a = d(tun(E::Vxlan { vni: 42 }), &syn);
    assert_ne!(a, d(tun(E::Vxlan { vni: 43 }), &syn));
    assert_ne!(d(tun(gre(Some(1))), &syn), d(tun(gre(Some(2))), &syn));
    let gtp = |teid| tun(E::GtpU { teid, back: 0, extension: false });
    assert_eq!(d(gtp(1), &syn), d(gtp(2), &syn));
    // Other outer endpoints: another tunnel.
    let other = Link::Tunnel(T {
        encap: E::Vxlan { vni: 42 },
        outer: ("192.0.2.1".parse().unwrap(), "192.0.2.3".parse().unwrap()),
        inner_vlan: None,
    });
    assert_ne!(a, d(other, &syn));
    // Not tunnelled: 0.
    assert_eq!(d(Link::Ethernet, &syn), 0);
}

#[test]
fn an_icmp_error_inside_a_tunnel_keeps_the_tunnel() {
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    let err = frame::icmp_error(&v4().reversed(), Icmp::HOST_UNREACHABLE, &syn);
    let link = tun(E::Vxlan { vni: 42 });
    let p = dec(link.reversed(), &err).unwrap();
    assert_eq!(icmp_of(&p).quoted.src, v4().src);
    assert_eq!(p.tunnel.digest(), dec(link, &syn).unwrap().tunnel.digest());
}

#[test]
fn a_tunnel_port_without_the_tunnel_header_is_plain_udp() {
    // UDP to 4789 whose flags lack the I bit, to 6081 with version 1, to 2152 not GTPv1-U, to
    // 3544 without IPv6: the outer datagram is the conversation.
    for (port, payload) in [
        (4789u16, &[0u8, 0, 0, 0, 0, 0, 42, 0][..]),
        (6081, &[0x40, 0, 0x65, 0x58, 0, 0, 1, 0]),
        (2152, &[0x50, 255, 0, 0, 0, 0, 0, 1]),
        (3544, b"not teredo at all"),
    ] {
        let p = dec(Link::Ethernet, &frame::udp(&v4(), 50000, port, payload)).unwrap();
        assert!(!p.tunnel.is_some(), "{port}");
        assert_eq!(udp_of(&p).dst_port, port);
    }
    // GTP-U echo request: the tunnel's own signalling.
    let echo = [0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
    assert_eq!(
        dec(Link::Ethernet, &frame::udp(&v4(), 2152, 2152, &echo)),
        Err(Skip::TunnelControl)
    );
}

#[test]
fn gre_header_variants() {
    let inner = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    let wrap = |gre: &[u8]| {
        let mut b = gre.to_vec();
        b.extend_from_slice(&inner);
        dec(Link::Ethernet, &frame::ip_packet(&Ip::new(outer4().0, outer4().1), 47, &b))
    };
    // RFC 1701 routing: checksum/offset word, then SREs ending with family 0, length 0.
    let routed = [0x40, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0];
    assert_eq!(wrap(&routed).unwrap().tunnel.kind, Encap::Gre);
    // An SRE list that never ends.
    let mut endless = vec![0x40, 0, 8, 0, 0, 0, 0, 0];
    for _ in 0..20 {
        endless.extend_from_slice(&[0, 1, 0, 0]);
    }
    assert_eq!(wrap(&endless), Err(Skip::Malformed));
    // PPTP (version 1): key = payload length and call ID, sequence and ack, PPP inside.
    let mut pptp = vec![0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0x00, 0x21];
    pptp[4..6].copy_from_slice(&((inner.len() + 2) as u16).to_be_bytes());
    let p = wrap(&pptp).unwrap();
    assert_eq!((p.tunnel.kind, p.tunnel.id()), (Encap::Gre, None));
    // PPP compressed protocol field, PPP control protocol (LCP).
    let short = [0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1, 0x21];
    assert!(wrap(&short).is_ok());
    let lcp = [0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1, 0xc0, 0x21];
    assert_eq!(wrap(&lcp), Err(Skip::TunnelControl));
    // Version 1 without a key, version 2, an unknown protocol, ERSPAN type I, a bad ERSPAN II.
    assert_eq!(wrap(&[0x10, 0x01, 0x88, 0x0b, 0, 0, 0, 0]), Err(Skip::Malformed));
    assert_eq!(wrap(&[0, 2, 8, 0]), Err(Skip::Malformed));
    assert_eq!(wrap(&[0, 0, 0x88, 0x3e]), Err(Skip::UnknownGreProtocol));
    let mut erspan1 = vec![0, 0, 0x88, 0xbe];
    erspan1.extend_from_slice(&frame::frame(Link::Ethernet, &[])[..14]);
    erspan1[16..18].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(wrap(&erspan1).unwrap().tunnel.kind, Encap::ErspanI);
    assert_eq!(
        wrap(&[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x20, 0, 0, 1, 0, 0, 0, 0]),
        Err(Skip::Malformed)
    );
}

#[test]
fn mpls_payloads_and_stacks() {
    let inner = frame::udp(&v4(), 1, 2, b"x");
    let mpls = |stack: &[u8]| {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x47];
        f.extend_from_slice(stack);
        f.extend_from_slice(&inner);
        dec_raw(LinkType::ETHERNET, &f)
    };
    // Bottom of stack at once (label 16, S, TTL 64).
    assert_eq!(mpls(&[0, 1, 1, 64]).unwrap().tunnel.id(), Some(16));
    // A stack that never ends, and a payload of another nibble (an Ethernet pseudowire
    // without a control word).
    assert_eq!(mpls(&[0, 1, 0, 64].repeat(9)), Err(Skip::Malformed));
    assert_eq!(mpls(&[0, 1, 1, 64, 0x52]), Err(Skip::UnknownMplsPayload));
    // MPLS in IP (protocol 137) and in GRE.
    let mut b = vec![0, 1, 1, 64];
    b.extend_from_slice(&inner);
    let p = dec(Link::Ethernet, &frame::ip_packet(&v6(), 137, &b)).unwrap();
    assert_eq!(p.tunnel.kind, Encap::Mpls);
    let mut g = vec![0, 0, 0x88, 0x47];
    g.extend_from_slice(&b);
    let p = dec(Link::Ethernet, &frame::ip_packet(&v6(), 47, &g)).unwrap();
    assert_eq!(p.tunnel.kind, Encap::Gre);
    assert_eq!(p.tunnel.layers, 1 << Encap::Gre.index() | 1 << Encap::Mpls.index());
}

#[test]
fn pppoe_discovery_and_control_protocols_are_tunnel_control() {
    let mut padi = vec![0xff; 6];
    padi.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x88, 0x63, 0x11, 0x09, 0, 0, 0, 0]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &padi), Err(Skip::TunnelControl));
    let mut lcp = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x64, 0x11, 0, 0, 1, 0, 6];
    lcp.extend_from_slice(&[0xc0, 0x21, 9, 1, 0, 4]);
    assert_eq!(dec_raw(LinkType::ETHERNET, &lcp), Err(Skip::TunnelControl));
    // PPPoE link type (51): the PPPoE header first.
    let pkt = frame::udp(&v4(), 1, 2, b"x");
    let mut f = vec![0x11, 0, 0, 9];
    f.extend_from_slice(&((pkt.len() + 2) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0x21]);
    f.extend_from_slice(&pkt);
    let p = dec_raw(LinkType::PPP_ETHER, &f).unwrap();
    assert_eq!((p.tunnel.kind, p.tunnel.id()), (Encap::Pppoe, Some(9)));
}

#[test]
fn ppp_and_hdlc_link_types() {
    for ip in [v4(), v6()] {
        let pkt = frame::tcp(&ip, &Tcp::new(1, 2).flags(2), b"");
        let proto: &[u8] = if ip.is_v6() { &[0, 0x57] } else { &[0, 0x21] };
        let et: &[u8] = if ip.is_v6() { &[0x86, 0xdd] } else { &[8, 0] };
        for (lt, head) in [
            (LinkType::PPP, [&[0xff, 0x03][..], proto].concat()),
            (LinkType::PPP, proto.to_vec()),
            (LinkType::PPP_HDLC, [&[0xff, 0x03][..], proto].concat()),
            (LinkType::PPP_HDLC, [&[0x0f, 0][..], et].concat()),
            (LinkType::C_HDLC, [&[0x0f, 0][..], et].concat()),
            (LinkType::C_HDLC, [&[0x8f, 0][..], et].concat()),
        ] {
            let mut f = head.clone();
            f.extend_from_slice(&pkt);
            let p = dec_raw(lt, &f).unwrap_or_else(|e| panic!("{lt:?} {head:?}: {e:?}"));
            assert_eq!((p.src, tcp_of(&p).dst_port), (ip.src, 2));
            assert!(!p.tunnel.is_some());
        }
    }
    // Cisco SLARP, a bad HDLC address.
    assert_eq!(dec_raw(LinkType::C_HDLC, &[0x8f, 0, 0x80, 0x35, 0, 0, 0, 0]), Err(Skip::NotIp));
    assert_eq!(dec_raw(LinkType::C_HDLC, &[0x11, 0, 8, 0]), Err(Skip::Malformed));
}

fn wifi(radio: Radio, from_ds: bool, qos: bool) -> Link {
    Link::Wifi(Wifi { radio, from_ds, qos })
}

#[test]
fn wifi_data_frames_behind_every_radio_header() {
    let pkt = frame::tcp(&v6(), &Tcp::new(1, 2).flags(2), b"hello");
    for radio in [Radio::None, Radio::Radiotap, Radio::Ppi, Radio::Prism, Radio::Avs] {
        for from_ds in [false, true] {
            for qos in [false, true] {
                let link = wifi(radio, from_ds, qos);
                let p = dec(link, &pkt).unwrap_or_else(|e| panic!("{link:?}: {e:?}"));
                assert_eq!((p.src, tcp_of(&p).payload.as_slice()), (v6().src, &b"hello"[..]));
                assert_eq!(p.link_dst, LinkDest::Unicast);
            }
        }
    }
}

#[test]
fn wifi_frames_that_carry_no_connection_are_named() {
    let pkt = frame::udp(&v4(), 1, 2, b"x");
    let f = frame::frame(wifi(Radio::Radiotap, false, true), &pkt);
    let fc = 18; // the radiotap header's length
    let mut protected = f.clone();
    protected[fc + 1] |= 0x40;
    assert_eq!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &protected), Err(Skip::EncryptedWifi));
    let mut beacon = f.clone();
    beacon[fc] = 0x80;
    assert_eq!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &beacon), Err(Skip::WifiNotData));
    let mut null = f.clone();
    null[fc] = 0xc8;
    assert_eq!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &null), Err(Skip::WifiNotData));
    let mut bad_fcs = f.clone();
    bad_fcs[16] = 0x40;
    assert_eq!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &bad_fcs), Err(Skip::Malformed));
    let mut not_snap = f.clone();
    not_snap[fc + 26] = 0x42;
    assert_eq!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &not_snap), Err(Skip::NotIp));
    // A group destination (address 3 when going to the AP).
    let mut group = f.clone();
    group[fc + 16] = 0xff;
    assert_eq!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &group).unwrap().link_dst, LinkDest::Group);
    // Four addresses (WDS) and an A-MSDU, by hand: FC, duration, 4 addresses, sequence, QoS
    // with the A-MSDU bit, a subframe header, LLC/SNAP.
    let mut wds = vec![0x88, 0x03, 0, 0];
    wds.extend_from_slice(&[2; 24]);
    wds.extend_from_slice(&[0, 0, 0x80, 0]);
    wds.extend_from_slice(&[2; 12]);
    wds.extend_from_slice(&((pkt.len() + 8) as u16).to_be_bytes());
    wds.extend_from_slice(&[0xaa, 0xaa, 3, 0, 0, 0, 8, 0]);
    wds.extend_from_slice(&pkt);
    assert_eq!(udp_of(&dec_raw(LinkType::IEEE802_11, &wds).unwrap()).payload.as_slice(), b"x");
    // Radiotap with an extended presence bitmap and TSFT alignment.
    let mut rt = vec![0, 0, 0, 0, 0x03, 0, 0, 0x80, 0, 0, 0, 0];
    rt.extend_from_slice(&[0; 4]); // pad to 8
    rt.extend_from_slice(&[0; 8]); // TSFT
    rt.push(0x10); // Flags: FCS at the end
    rt.push(0);
    let len = rt.len() as u16;
    rt[2..4].copy_from_slice(&len.to_le_bytes());
    rt.extend_from_slice(&frame::frame(wifi(Radio::None, true, false), &pkt));
    rt.extend_from_slice(&[1, 2, 3, 4]);
    assert!(dec_raw(LinkType::IEEE802_11_RADIOTAP, &rt).is_ok());
}

#[test]
fn nflog_records() {
    for ip in [v4(), v6()] {
        let p = dec(Link::Nflog, &frame::tcp(&ip, &Tcp::new(1, 2).flags(2), b"")).unwrap();
        assert_eq!(p.src, ip.src);
    }
    // Big-endian TLVs (a big-endian host), family 0 (the version from the packet).
    let pkt = frame::udp(&v4(), 1, 2, b"x");
    let mut f = vec![0, 0, 0, 1];
    f.extend_from_slice(&((pkt.len() + 4) as u16).to_be_bytes());
    f.extend_from_slice(&9u16.to_be_bytes());
    f.extend_from_slice(&pkt);
    assert!(dec_raw(LinkType::NFLOG, &f).is_ok());
    // No payload TLV; a zero-length TLV; version 1.
    assert_eq!(
        dec_raw(LinkType::NFLOG, &[2, 0, 0, 1, 8, 0, 1, 0, 0, 0, 0, 0]),
        Err(Skip::Truncated)
    );
    assert_eq!(dec_raw(LinkType::NFLOG, &[2, 0, 0, 1, 0, 0, 1, 0]), Err(Skip::Malformed));
    assert_eq!(dec_raw(LinkType::NFLOG, &[2, 1, 0, 1]), Err(Skip::Malformed));
}

/// Wraps `pkt` in `n` layers of IP in IP.
fn nested(n: usize, pkt: &[u8]) -> Vec<u8> {
    let mut p = pkt.to_vec();
    for _ in 0..n {
        p = frame::ip_packet(&Ip::new(outer4().0, outer4().1), 4, &p);
    }
    p
}

#[test]
fn nesting_is_followed_to_the_depth_limit() {
    let pkt = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    let p = dec(Link::Ethernet, &nested(MAX_ENCAP_DEPTH, &pkt)).unwrap();
    assert_eq!(p.tunnel.kind, Encap::IpIp);
    assert_eq!(dec(Link::Ethernet, &nested(MAX_ENCAP_DEPTH + 1, &pkt)), Err(Skip::TunnelTooDeep));
    // VXLAN in GRE in MPLS-free Ethernet: the innermost tunnel names the conversation, both
    // are counted.
    let vx = frame::frame(tun(E::Vxlan { vni: 42 }), &pkt);
    let mut g = vec![0, 0, 0x65, 0x58];
    g.extend_from_slice(&vx);
    let outer = Ip::new([203, 0, 113, 1], [203, 0, 113, 2]);
    let p = dec(Link::Ethernet, &frame::ip_packet(&outer, 47, &g)).unwrap();
    assert_eq!((p.tunnel.kind, p.tunnel.outer()), (Encap::Vxlan, Some(outer4())));
    assert_eq!(p.tunnel.layers, 1 << Encap::Vxlan.index() | 1 << Encap::Gre.index());
}

/// Frames of every tunnel and link the builders write, for the robustness tests.
fn tunnel_corpus() -> Vec<(LinkType, Vec<u8>)> {
    let syn = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"payload");
    let syn6 = frame::tcp(&v6(), &Tcp::new(1, 2).flags(2), b"payload");
    let err = frame::icmp_error(&v4().reversed(), Icmp::PORT_UNREACHABLE, frame::quote_8(&syn));
    let mut links: Vec<Link> = tunnels().into_iter().map(|t| t.0).collect();
    links.push(tun(E::IpIp));
    links.push(tun(E::Teredo));
    links.push(Link::Nflog);
    for radio in [Radio::None, Radio::Radiotap, Radio::Ppi, Radio::Prism, Radio::Avs] {
        links.push(wifi(radio, false, true));
    }
    let mut out = Vec::new();
    for link in links {
        for p in [&syn, &syn6, &err] {
            if link == tun(E::Teredo) && p[0] >> 4 != 6 {
                continue;
            }
            out.push((link.link_type(), frame::frame(link, p)));
        }
    }
    out
}

#[test]
fn every_truncation_and_mutation_of_a_tunnel_decodes_without_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for (lt, f) in tunnel_corpus() {
        assert!(decode_ok(lt, &f), "{lt:?} full frame");
        for n in 0..f.len() {
            let _ = dec_cut(lt, &f[..n], f.len());
            let _ = dec_raw(lt, &f[..n]);
        }
        for _ in 0..300 {
            let mut m = f.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % m.len();
                m[i] = rng.next() as u8;
            }
            let cut = (rng.next() as usize) % (m.len() + 1);
            let _ = dec_cut(lt, &m[..cut], m.len());
        }
    }
}

#[test]
fn random_nesting_decodes_without_panic_and_within_the_depth_limit() {
    let mut rng = Rng(0xfeed_f00d_dead_beef);
    let pkt = frame::tcp(&v4(), &Tcp::new(1, 2).flags(2), b"");
    let kinds: Vec<Link> = tunnels().into_iter().map(|t| t.0).collect();
    for _ in 0..2000 {
        // Random chains of encapsulations (each wraps the frame before as its inner packet,
        // taken as IP or Ethernet as it comes), with random bytes flipped.
        let depth = 1 + (rng.next() % 12) as usize;
        let mut f = pkt.clone();
        for _ in 0..depth {
            let link = kinds[(rng.next() as usize) % kinds.len()];
            f = if rng.next().is_multiple_of(2) {
                frame::frame(link, &f)
            } else {
                frame::ip_packet(
                    &Ip::new(outer4().0, outer4().1),
                    [4, 41, 47, 137][(rng.next() % 4) as usize],
                    &f,
                )
            };
        }
        if rng.next().is_multiple_of(3) {
            let i = (rng.next() as usize) % f.len();
            f[i] = rng.next() as u8;
        }
        if let Ok(p) = dec_raw(LinkType::ETHERNET, &f) {
            assert!(p.tunnel.layers.count_ones() as usize <= MAX_ENCAP_DEPTH);
        }
    }
    // Random bytes behind each new link type.
    for lt in [9u32, 50, 51, 104, 105, 119, 127, 163, 192, 239] {
        for _ in 0..3000 {
            let len = (rng.next() % 200) as usize;
            let buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = dec_cut(LinkType(lt), &buf, (rng.next() % 2000) as usize);
        }
    }
}

/// Echo requests and replies of both families, with identifier and sequence number; a
/// truncated one is skipped as such.
#[test]
fn echo_requests_and_replies() {
    for (ip, v6) in [(v4(), false), (v6(), true)] {
        for request in [true, false] {
            let p = frame::echo(&ip, request, (0x1234, 7), &[0; 56]);
            let got = dec(Link::Ethernet, &p).unwrap();
            assert_eq!(
                got.transport,
                Transport::Echo(EchoMessage { v6, request, id: 0x1234, seq: 7, payload_len: 56 })
            );
        }
        let p = frame::frame(Link::Ethernet, &frame::echo(&ip, true, (1, 1), &[]));
        let cut = 14 + if v6 { 40 } else { 20 } + 6;
        assert_eq!(dec_raw(LinkType::ETHERNET, &p[..cut]), Err(Skip::Truncated));
    }
    // ICMPv6's echo types inside ICMPv4 are other messages (128 is no ICMPv4 echo).
    let odd = frame::icmp_error(&v4(), Icmp::raw(128, 0), b"12345678");
    assert_eq!(dec(Link::Ethernet, &odd), Err(Skip::IcmpNotError));
}

/// An ICMP error quoting an echo request names the ping (its identifier as both ports);
/// one quoting an SCTP INIT names the association (ports, tag 0).
#[test]
fn quoted_echo_and_sctp() {
    let back = v4().reversed();
    let req = frame::echo(&v4(), true, (0x4c43, 9), &[0; 56]);
    let err = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, frame::quote_8(&req));
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert_eq!(
        (q.proto, q.src_port, q.dst_port, q.echo),
        (Proto::Icmp, 0x4c43, 0x4c43, Some((9, false)))
    );
    let reply = frame::echo(&v6(), false, (3, 4), &[]);
    let err = frame::icmp_error(&v6().reversed(), Icmp::HOST_UNREACHABLE, &reply);
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert_eq!((q.proto, q.echo), (Proto::Icmp, Some((4, true))));
    let init = frame::sctp(&v4(), (40000, 3868), 0, &[(1, 0, &[0; 16])]);
    let err = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, frame::quote_8(&init));
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert_eq!((q.proto, q.src_port, q.dst_port, q.sctp_vtag), (Proto::Sctp, 40000, 3868, Some(0)));
}

/// SCTP over IPv4 and IPv6 (after extension headers), and a malformed chunk length.
#[test]
fn sctp_packets() {
    for ip in [v4(), v6()] {
        let p =
            frame::sctp(&ip, (40000, 3868), 0, &[(1, 0, &7u32.to_be_bytes()), (0, 3, &[0; 12])]);
        // (An INIT shorter than its fixed fields is malformed.)
        assert_eq!(dec(Link::Ethernet, &p), Err(Skip::Malformed));
        let mut init = 7u32.to_be_bytes().to_vec();
        init.extend_from_slice(&[0; 12]);
        let p = frame::sctp(&ip, (40000, 3868), 0, &[(1, 0, &init)]);
        let Transport::Sctp(s) = dec(Link::Ethernet, &p).unwrap().transport else {
            panic!("not SCTP")
        };
        assert_eq!((s.src_port, s.dst_port, s.initiate_tag), (40000, 3868, 7));
        assert!(s.has(sctp_chunk::INIT));
    }
}

/// The packet summary stays the size it was: the new transports fit in the largest variant.
#[test]
fn packet_size() {
    assert!(std::mem::size_of::<EchoMessage>() <= 16);
    assert!(std::mem::size_of::<SctpPacket>() <= 24);
    assert!(std::mem::size_of::<IcmpError>() < std::mem::size_of::<TcpSegment>());
    assert!(std::mem::size_of::<Transport>() <= std::mem::size_of::<TcpSegment>() + 8);
    eprintln!(
        "Packet {} Transport {} TcpSegment {} IcmpError {}",
        std::mem::size_of::<Packet>(),
        std::mem::size_of::<Transport>(),
        std::mem::size_of::<TcpSegment>(),
        std::mem::size_of::<IcmpError>()
    );
}

/// An ICMP error about a tunnel's outer packet: a quote that reaches the inner ports names the
/// conversation in its tunnel (the digest its own packets have); one cut after 8 bytes names
/// the tunnel only (with its key when the 8 bytes hold it); an ERSPAN mirror's is no one's.
#[test]
fn errors_about_a_tunnel_name_the_conversation_or_the_tunnel() {
    let seg = Tcp::new(40000, 443).seq(77).flags(TcpFlags::SYN);
    let pkt = frame::tcp(&v4(), &seg, b"");
    let reporter = Ip::new([203, 0, 113, 2], outer4().0).ttl(254);
    for (link, kind, _, has_outer, _) in tunnels() {
        if !has_outer {
            continue;
        }
        let syn = dec(link, &pkt).unwrap();
        let outer = frame::frame(link, &pkt)[14..].to_vec();
        let mirror = matches!(kind, Encap::ErspanI | Encap::ErspanII | Encap::ErspanIII);
        let long =
            dec(Link::Ethernet, &frame::icmp_error(&reporter, Icmp::HOST_UNREACHABLE, &outer));
        if mirror {
            assert_eq!(long, Err(Skip::IcmpUnusableQuote), "{link:?}");
        } else {
            let q = icmp_of(&long.unwrap()).quoted;
            assert!(!q.tunnel_only, "{link:?}");
            assert_eq!(q.tunnel.digest(), syn.tunnel.digest(), "{link:?}");
            assert_eq!(q.tunnel.outer(), Some(outer4()), "{link:?}");
            let got = (q.proto, q.src, q.dst, q.src_port, q.dst_port, q.tcp_seq);
            assert_eq!(got, (Proto::Tcp, v4().src, v4().dst, 40000, 443, Some(77)), "{link:?}");
        }
        let short = frame::icmp_error(&reporter, Icmp::HOST_UNREACHABLE, &outer[..28]);
        let q = icmp_of(&dec(Link::Ethernet, &short).unwrap()).quoted;
        assert!(q.tunnel_only, "{link:?}");
        assert_eq!((q.src, q.dst), outer4(), "{link:?}");
        assert_eq!(q.tunnel.outer(), Some(outer4()), "{link:?}");
        let (want_kind, want_id) = match link {
            Link::Tunnel(T { encap: E::Gre { checksum: false, key, .. }, .. }) => (Encap::Gre, key),
            Link::Tunnel(T {
                encap: E::Gre { .. } | E::ErspanII { .. } | E::ErspanIII { .. },
                ..
            }) => (Encap::Gre, None),
            _ => (kind, None),
        };
        assert_eq!((q.tunnel.kind, q.tunnel.id()), (want_kind, want_id), "{link:?}");
    }
    // IP in IP, the inner IP header cut after 8 bytes.
    let outer = frame::ip_packet(&Ip::new(outer4().0, outer4().1), 4, &pkt);
    let err = frame::icmp_error(&reporter, Icmp::too_big(1400), &outer[..28]);
    let e = icmp_of(&dec(Link::Ethernet, &err).unwrap());
    assert!(e.quoted.tunnel_only && e.quoted.tunnel.kind == Encap::IpIp);
    assert_eq!(e.mtu, Some(1400));
    // A datagram to 4789 that is no VXLAN (the I flag clear) is plain UDP, quoted as such.
    let plain = frame::udp(&v4(), 40000, 4789, &[0; 16]);
    let err = frame::icmp_error(&v4().reversed(), Icmp::PORT_UNREACHABLE, &plain);
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert!(!q.tunnel_only && !q.tunnel.is_some() && q.dst_port == 4789);
    // A ping inside a tunnel is a conversation of that tunnel (its identifier as both ports);
    // another ICMP message inside one is no one's.
    let echo = frame::echo(&v4(), true, (0x4c43, 2), &[0; 56]);
    let outer = frame::frame(tun(E::Vxlan { vni: 1 }), &echo)[14..].to_vec();
    let err = frame::icmp_error(&reporter, Icmp::PORT_UNREACHABLE, &outer);
    let q = icmp_of(&dec(Link::Ethernet, &err).unwrap()).quoted;
    assert_eq!(
        (q.proto, q.src_port, q.dst_port, q.echo),
        (Proto::Icmp, 0x4c43, 0x4c43, Some((2, false)))
    );
    assert!(q.tunnel.is_some() && !q.tunnel_only);
    let other = frame::icmp_error(&v4(), Icmp::raw(13, 0), b"timestmp");
    let outer = frame::frame(tun(E::Vxlan { vni: 1 }), &other)[14..].to_vec();
    let err = frame::icmp_error(&reporter, Icmp::PORT_UNREACHABLE, &outer);
    assert_eq!(dec(Link::Ethernet, &err), Err(Skip::IcmpUnusableQuote));
}
