//! Property tests: hostile or odd input never panics the decoder, and the tracker's promises
//! (one verdict per attempt, verdicts that do not depend on unrelated traffic, no
//! `unanswered` after a SYN-ACK) hold on generated packet sequences.
//!
//! 256 cases per property by default (`PROPTEST_CASES` overrides), so `cargo test` stays fast.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use connlens::capture::{Frame, LinkType, Origin};
use connlens::decode::{Packet, Proto, TcpFlags, Transport, decode};
use connlens::flow::Endpoint;
use connlens::synth::frame::{self, Encap, Icmp, Ip, Link, Radio, Tcp, Tunnel, VlanTag, Wifi};
use connlens::time::{Duration, Timestamp};
use connlens::track::{Tracker, TrackerConfig};
use connlens::verdict::{Verdict, VerdictKind};
use proptest::prelude::*;

/// Every link type the decoder reads, and one it must skip (a user link type).
fn links() -> Vec<LinkType> {
    let mut links = LinkType::DECODED.to_vec();
    links.push(LinkType(147));
    links
}

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const FIN: u8 = TcpFlags::FIN;

/// proptest's defaults: 256 cases, or `PROPTEST_CASES`.
fn config() -> ProptestConfig {
    ProptestConfig::default()
}

fn frame_of(link: LinkType, data: &[u8], orig_len: u32) -> Frame<'_> {
    Frame { ts: Timestamp(0), link, orig_len, data, origin: Origin::default() }
}

/// Valid IP packets of every kind the decoder handles, v4 and v6.
fn ip_packets() -> Vec<Vec<u8>> {
    let v4 = Ip::new(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 2));
    let v6 = Ip::new(
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
    );
    let mut out = Vec::new();
    for ip in [v4, v6] {
        let syn = frame::tcp(&ip, &Tcp::new(40000, 443).seq(7).flags(SYN), b"");
        out.push(frame::tcp(&ip, &Tcp::new(40000, 80).seq(8).ack(9).flags(ACK), b"GET / HTTP/1.1"));
        out.push(frame::udp(&ip, 40000, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00"));
        out.push(frame::icmp_error(&ip.reversed(), Icmp::PORT_UNREACHABLE, frame::quote_8(&syn)));
        out.push(frame::icmp_error(&ip.reversed(), Icmp::too_big(1280), &syn));
        let ping = frame::echo(&ip, true, (0x4c43, 1), b"abcdefgh");
        out.push(frame::icmp_error(&ip.reversed(), Icmp::PORT_UNREACHABLE, &ping));
        out.push(ping);
        // SCTP INIT (type 1) with its fixed fields, then an ABORT (6) with the T bit.
        let init = [0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 7];
        let sctp = frame::sctp(&ip, (40000, 5060), 0, &[(1, 0, &init)]);
        out.push(frame::icmp_error(&ip.reversed(), Icmp::PORT_UNREACHABLE, frame::quote_8(&sctp)));
        out.push(sctp);
        out.push(frame::sctp(&ip.reversed(), (5060, 40000), 9, &[(6, 1, &[])]));
        out.push(syn);
    }
    out
}

/// Every link and encapsulation the builders write: the damaged-frame and truncation properties
/// below run through each decoder, tunnels nested in Ethernet included.
fn link_builders() -> Vec<Link> {
    let outer4 =
        (IpAddr::from(Ipv4Addr::new(203, 0, 113, 1)), IpAddr::from(Ipv4Addr::new(203, 0, 113, 2)));
    let outer6 = (
        IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1)),
        IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 2)),
    );
    let tunnel = |encap, outer, inner_vlan| Link::Tunnel(Tunnel { encap, outer, inner_vlan });
    let mut links = vec![
        Link::Ethernet,
        Link::Vlan(VlanTag { tpid: 0x8100, vid: 7 }),
        Link::QinQ(VlanTag { tpid: 0x88a8, vid: 1 }, VlanTag { tpid: 0x8100, vid: 2 }),
        Link::Sll,
        Link::Sll2,
        Link::Raw(LinkType::RAW),
        Link::Null { big_endian: true },
        Link::Loop,
        Link::Nflog,
        tunnel(Encap::Vxlan { vni: 42 }, outer4, Some(5)),
        tunnel(Encap::Geneve { vni: 7, options: 2 }, outer6, None),
        tunnel(
            Encap::Gre { checksum: true, key: Some(9), seq: Some(1), ethernet: false },
            outer4,
            None,
        ),
        tunnel(
            Encap::Gre { checksum: false, key: None, seq: None, ethernet: true },
            outer6,
            Some(3),
        ),
        tunnel(Encap::ErspanII { session: 12 }, outer4, None),
        tunnel(Encap::ErspanIII { session: 13, platform: true }, outer4, None),
        tunnel(Encap::IpIp, outer4, None),
        tunnel(Encap::IpIp, outer6, None),
        tunnel(Encap::Mpls { labels: [16, 17], back: [18, 19], pseudowire: false }, outer4, None),
        tunnel(Encap::Mpls { labels: [20, 21], back: [22, 23], pseudowire: true }, outer4, None),
        tunnel(Encap::Pppoe { session: 0x11 }, outer4, None),
        tunnel(Encap::GtpU { teid: 1, back: 2, extension: true }, outer4, None),
    ];
    for radio in [Radio::None, Radio::Radiotap, Radio::Ppi, Radio::Prism, Radio::Avs] {
        links.push(Link::Wifi(Wifi { radio, from_ds: false, qos: true }));
        links.push(Link::Wifi(Wifi { radio, from_ds: true, qos: false }));
    }
    links
}

/// Teredo carries IPv6 only.
fn teredo() -> Link {
    Link::Tunnel(Tunnel {
        encap: Encap::Teredo,
        outer: (Ipv4Addr::new(203, 0, 113, 1).into(), Ipv4Addr::new(203, 0, 113, 2).into()),
        inner_vlan: None,
    })
}

/// (link, packet) pairs: every packet on every link, and the IPv6 ones in Teredo.
fn framed() -> Vec<(Link, Vec<u8>)> {
    let mut out = Vec::new();
    for ip in ip_packets() {
        for l in link_builders() {
            out.push((l, frame::frame(l, &ip)));
        }
        if ip.first().is_some_and(|b| b >> 4 == 6) {
            out.push((teredo(), frame::frame(teredo(), &ip)));
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        link in any::<prop::sample::Index>(),
        data in proptest::collection::vec(any::<u8>(), 0..200),
        orig_len in any::<u32>(),
    ) {
        let links = links();
        let _ = decode(&frame_of(links[link.index(links.len())], &data, orig_len));
    }

    /// Flipping bytes of a valid frame: the decoder reads every header field as hostile, in
    /// every link layer and tunnel header.
    #[test]
    fn decode_never_panics_on_damaged_frames(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let all = framed();
        let (l, f) = &all[which.index(all.len())];
        let mut f = f.clone();
        for (at, b) in flips {
            let i = at.index(f.len());
            f[i] = b;
        }
        let _ = decode(&frame_of(l.link_type(), &f, f.len() as u32));
    }
}

/// Every truncation of every valid frame, on every link and in every tunnel: decodes or is
/// skipped, never panics; and the full frame decodes to the same conversation as the bare IP
/// packet it carries.
#[test]
fn decode_never_panics_on_any_truncation() {
    let mut checked = 0;
    for ip in ip_packets() {
        let bare = packet(&ip, Timestamp(0));
        let mut links = link_builders();
        if ip.first().is_some_and(|b| b >> 4 == 6) {
            links.push(teredo());
        }
        for l in links {
            let f = frame::frame(l, &ip);
            let whole = decode(&frame_of(l.link_type(), &f, f.len() as u32));
            let whole = whole.unwrap_or_else(|e| panic!("{l:?}: {e:?}"));
            assert_eq!(
                (whole.src, whole.dst, whole.transport),
                (bare.src, bare.dst, bare.transport),
                "{l:?} carries another packet than it was given"
            );
            for cut in 0..f.len() {
                let _ = decode(&frame_of(l.link_type(), &f[..cut], f.len() as u32));
                // A record whose wire length is a lie (shorter than what was captured).
                let _ = decode(&frame_of(l.link_type(), &f[..cut], cut as u32 / 2));
            }
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked} frames");
}

/// Decodes an IP packet as a raw-IP frame at `ts`.
fn packet(ip_packet: &[u8], ts: Timestamp) -> Packet {
    let f = Frame {
        ts,
        link: LinkType::RAW,
        orig_len: ip_packet.len() as u32,
        data: ip_packet,
        origin: Origin::default(),
    };
    decode(&f).expect("builders make decodable packets")
}

/// One self-contained conversation: a client port and a server host of its own.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Refused,
    EstablishedClosed,
    UnansweredSyns,
    PortUnreachable,
    UdpAnswered,
    UdpUnanswered,
    SynAckThenClientRst,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Refused),
        Just(Kind::EstablishedClosed),
        Just(Kind::UnansweredSyns),
        Just(Kind::PortUnreachable),
        Just(Kind::UdpAnswered),
        Just(Kind::UdpUnanswered),
        Just(Kind::SynAckThenClientRst),
    ]
}

const T0: i64 = 1_795_183_200_000_000_000;

/// The packets of conversation `n` of `kind`, starting `start_ms` after T0 with round trip
/// `rtt_ms`, as (time, packet).
fn conversation(n: u8, kind: Kind, start_ms: u32, rtt_ms: u32) -> Vec<Packet> {
    let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    let server = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20 + n));
    let cport = 40000 + u16::from(n);
    let sport = if matches!(kind, Kind::UdpAnswered | Kind::UdpUnanswered) { 53 } else { 443 };
    let c = Ip::new(client, server).ttl(64);
    let s = Ip::new(server, client).ttl(61);
    let isn = 1000 * u32::from(n) + 1;
    let sisn = 77_000 + u32::from(n);
    let ct = |flags: u8, seq: u32, ack: u32| Tcp::new(cport, sport).seq(seq).ack(ack).flags(flags);
    let st = |flags: u8, seq: u32, ack: u32| Tcp::new(sport, cport).seq(seq).ack(ack).flags(flags);
    let syn = frame::tcp(&c, &ct(SYN, isn, 0), b"");
    let rtt = f64::from(rtt_ms) / 1000.0;
    let mut steps: Vec<(f64, Vec<u8>)> = Vec::new();
    match kind {
        Kind::Refused => {
            steps.push((0.0, syn));
            steps.push((rtt, frame::tcp(&s, &st(RST | ACK, 0, isn + 1), b"")));
        }
        Kind::EstablishedClosed => {
            steps.push((0.0, syn));
            steps.push((rtt, frame::tcp(&s, &st(SYN | ACK, sisn, isn + 1), b"")));
            steps.push((rtt, frame::tcp(&c, &ct(ACK, isn + 1, sisn + 1), b"")));
            steps.push((rtt, frame::tcp(&c, &ct(ACK | TcpFlags::PSH, isn + 1, sisn + 1), b"ping")));
            steps.push((
                2.0 * rtt,
                frame::tcp(&s, &st(ACK | TcpFlags::PSH, sisn + 1, isn + 5), b"pong"),
            ));
            steps.push((2.0 * rtt, frame::tcp(&c, &ct(FIN | ACK, isn + 5, sisn + 5), b"")));
            steps.push((3.0 * rtt, frame::tcp(&s, &st(FIN | ACK, sisn + 5, isn + 6), b"")));
            steps.push((3.0 * rtt, frame::tcp(&c, &ct(ACK, isn + 6, sisn + 6), b"")));
        }
        Kind::UnansweredSyns => {
            for at in [0.0, 1.0, 3.0] {
                steps.push((at, syn.clone()));
            }
        }
        Kind::PortUnreachable => {
            steps.push((0.0, syn.clone()));
            let q = frame::quote_8(&syn);
            steps.push((rtt, frame::icmp_error(&s, Icmp::PORT_UNREACHABLE, q)));
        }
        Kind::UdpAnswered => {
            steps.push((
                0.0,
                frame::udp(&c, cport, sport, b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
            ));
            steps.push((
                rtt,
                frame::udp(&s, sport, cport, b"\x00\x07\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"),
            ));
        }
        Kind::UdpUnanswered => {
            steps.push((
                0.0,
                frame::udp(&c, cport, sport, b"\x00\x08\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
            ));
        }
        Kind::SynAckThenClientRst => {
            steps.push((0.0, syn));
            steps.push((rtt, frame::tcp(&s, &st(SYN | ACK, sisn, isn + 1), b"")));
            steps.push((rtt, frame::tcp(&c, &ct(RST, isn + 1, 0), b"")));
        }
    }
    let start = Timestamp(T0).add(Duration::from_secs_f64(f64::from(start_ms) / 1000.0));
    steps.iter().map(|(at, p)| packet(p, start.add(Duration::from_secs_f64(*at)))).collect()
}

fn tracker() -> Tracker {
    Tracker::new(TrackerConfig::default())
}

/// Runs `packets` in order (numbered 1..), then lets every timer run out, then finishes.
fn run(packets: &[Packet]) -> Vec<Verdict> {
    let mut t = tracker();
    let mut out = Vec::new();
    let mut last = Timestamp(T0);
    for (i, p) in packets.iter().enumerate() {
        let mut p = *p;
        p.origin.number = i as u64 + 1;
        last = last.max(p.ts);
        t.packet(&p, &mut out);
    }
    t.advance(last.add(Duration::from_secs_f64(1000.0)), &mut out);
    t.finish(&mut out);
    assert_eq!(out.len() as u64, t.stats().attempts, "one verdict per attempt");
    out
}

type Key = (Proto, Endpoint, Endpoint);

fn by_flow(vs: &[Verdict]) -> BTreeMap<String, Vec<(VerdictKind, &'static str, &'static str)>> {
    let mut m: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for v in vs {
        let k: Key = (v.proto, v.client, v.server);
        m.entry(format!("{k:?}")).or_default().push((v.kind(), v.cause.word(), v.conn_state));
    }
    m
}

/// Whether a SYN-ACK from the verdict's server to its client is among `packets` numbered from
/// the attempt's first packet on.
fn syn_ack_among(packets: &[Packet], v: &Verdict) -> bool {
    packets.iter().enumerate().skip(v.first_packet.number as usize - 1).any(|(_, p)| {
        matches!(p.transport, Transport::Tcp(t)
            if t.flags.has(SYN | ACK) && !t.flags.has(RST)
                && p.src == v.server.ip && t.src_port == v.server.port
                && p.dst == v.client.ip && t.dst_port == v.client.port)
    })
}

proptest! {
    #![proptest_config(config())]

    /// A conversation's verdict does not depend on how unrelated conversations interleave
    /// with it: each alone and all merged (by time, ties broken in a random order) agree.
    #[test]
    fn verdicts_do_not_depend_on_unrelated_flows(
        convs in proptest::collection::vec((kind(), 0u32..8000, 1u32..400, any::<u8>()), 1..5),
    ) {
        let mut alone = Vec::new();
        let mut merged: Vec<(Timestamp, u8, usize, Packet)> = Vec::new();
        for (n, &(kind, start, rtt, rank)) in convs.iter().enumerate() {
            let ps = conversation(n as u8, kind, start, rtt);
            alone.extend(run(&ps));
            merged.extend(ps.into_iter().enumerate().map(|(i, p)| (p.ts, rank, i, p)));
        }
        merged.sort_by_key(|(ts, rank, i, _)| (*ts, *rank, *i));
        let packets: Vec<Packet> = merged.into_iter().map(|(.., p)| p).collect();
        let together = run(&packets);
        prop_assert_eq!(by_flow(&alone), by_flow(&together));
        prop_assert_eq!(together.len(), convs.len());
    }

    /// Arbitrary segments over two hosts, two ports and a few sequence numbers, time steps of
    /// any size: one verdict per attempt (ids 1..=attempts), the table within its bound, and
    /// no TCP attempt `unanswered` after its server's SYN-ACK.
    #[test]
    fn one_verdict_per_attempt_and_no_unanswered_after_syn_ack(
        max_flows in 1usize..5,
        segs in proptest::collection::vec(
            (any::<bool>(), any::<bool>(), any::<u8>(), 0usize..3, 0usize..3, 0u32..4000),
            1..40,
        ),
    ) {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let seqs = [100u32, 101, 900];
        let mut t = Tracker::new(TrackerConfig { max_flows, ..TrackerConfig::default() });
        let mut ts = Timestamp(T0);
        let mut packets = Vec::new();
        let mut out = Vec::new();
        for (i, &(dir, port, flags, seq, ack, step_ms)) in segs.iter().enumerate() {
            ts = ts.add(Duration::from_secs_f64(f64::from(step_ms) / 1000.0));
            let (src, dst, sp, dp) = if dir { (a, b, 40000, 80) } else { (b, a, 80, 40000) };
            let (sp, dp) = if port { (sp + 1, dp) } else { (sp, dp) };
            let seg = Tcp::new(sp, dp).seq(seqs[seq]).ack(seqs[ack] + 1).flags(flags);
            let mut p = packet(&frame::tcp(&Ip::new(src, dst), &seg, b""), ts);
            p.origin.number = i as u64 + 1;
            // Timers first: what they decide, the packets before this one decided.
            let before = out.len();
            t.advance(p.ts, &mut out);
            for v in &out[before..] {
                if v.kind() == VerdictKind::Unanswered {
                    prop_assert!(!syn_ack_among(&packets, v), "{:?}", v);
                }
            }
            packets.push(p);
            let before = out.len();
            t.packet(&p, &mut out);
            prop_assert!(t.flows() <= max_flows);
            for v in &out[before..] {
                if v.kind() == VerdictKind::Unanswered {
                    prop_assert!(!syn_ack_among(&packets, v), "{:?}", v);
                }
            }
        }
        let before = out.len();
        t.finish(&mut out);
        for v in &out[before..] {
            if v.kind() == VerdictKind::Unanswered {
                prop_assert!(!syn_ack_among(&packets, v), "{:?}", v);
            }
        }
        let attempts = t.stats().attempts;
        prop_assert_eq!(out.len() as u64, attempts);
        let mut ids: Vec<u64> = out.iter().map(|v| v.id).collect();
        ids.sort_unstable();
        prop_assert!(ids.iter().copied().eq(1..=attempts));
    }
}

proptest! {
    #![proptest_config(config())]

    /// A span port that records every frame twice (the copy a few µs later) changes no
    /// verdict or cause.
    #[test]
    fn duplicated_frames_change_no_verdict(
        convs in proptest::collection::vec((kind(), 0u32..8000, 1u32..400), 1..4),
        gap_us in 0i64..50,
    ) {
        let mut once = Vec::new();
        let mut twice = Vec::new();
        for (n, &(kind, start, rtt)) in convs.iter().enumerate() {
            for p in conversation(n as u8, kind, start, rtt) {
                once.push(p);
                twice.push(p);
                twice.push(Packet { ts: p.ts.add(Duration(gap_us * 1000)), ..p });
            }
        }
        once.sort_by_key(|p| p.ts);
        twice.sort_by_key(|p| p.ts);
        prop_assert_eq!(by_flow(&run(&once)), by_flow(&run(&twice)));
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any timestamps at all (before 1970, near the ends of i64, jumping both ways): the
    /// tracker gives one verdict per attempt and every output format writes them, no panic.
    #[test]
    fn wild_timestamps_never_panic(
        convs in proptest::collection::vec((kind(), 0u32..8000, 1u32..400), 1..4),
        times in proptest::collection::vec(
            prop_oneof![
                any::<i64>(),
                Just(i64::MIN),
                Just(i64::MAX),
                Just(0i64),
                (-2_000_000_000i64..2_000_000_000).prop_map(|s| s * 1_000_000_000),
            ],
            1..30,
        ),
    ) {
        use connlens::output::{Format, Inputs, sink_for};
        let mut packets = Vec::new();
        for (n, &(kind, start, rtt)) in convs.iter().enumerate() {
            packets.extend(conversation(n as u8, kind, start, rtt));
        }
        for (i, p) in packets.iter_mut().enumerate() {
            p.ts = Timestamp(times[i % times.len()]);
        }
        let verdicts = run(&packets);
        let inputs = Inputs { names: vec!["x".into()] };
        for format in [Format::Jsonl, Format::Csv, Format::Table] {
            let mut sink = sink_for(format, Vec::new(), false);
            for v in &verdicts {
                sink.verdict(v, &inputs).unwrap();
            }
            sink.finish(None).unwrap();
        }
    }
}

/// A pcapng whose timestamps sit at the ends of what it can hold (0 and i64::MAX ns), going
/// back and forth: the whole pipeline, summary included, in every format, without a panic.
#[test]
fn extreme_pcapng_timestamps_through_the_pipeline() {
    use connlens::capture::{MergedSource, NamedInput, PcapngWriter, TsResolution};
    use connlens::output::{Format, sink_for};
    use connlens::pipeline::{AnalyzeConfig, analyze};
    let mut w = PcapngWriter::new(Vec::new(), false).unwrap();
    w.add_interface(LinkType::RAW, 65535, TsResolution::Nano).unwrap();
    let times = [i64::MAX, 0, i64::MAX - 1, 1];
    let client = Ip::new(Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(198, 51, 100, 20));
    let syn = frame::tcp(&client, &Tcp::new(40000, 443).seq(1001).flags(SYN), b"");
    let rst = frame::tcp(&client.reversed(), &Tcp::new(443, 40000).ack(1002).flags(RST | ACK), b"");
    let udp = frame::udp(&client, 40001, 53, b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00");
    for (ts, f) in times.iter().zip([&syn, &rst, &udp, &syn]) {
        w.write_frame(0, Timestamp(*ts), f, f.len() as u32).unwrap();
    }
    let bytes = w.into_inner();
    for format in [Format::Jsonl, Format::Csv, Format::Table] {
        let input = NamedInput {
            name: "extreme".into(),
            input: Box::new(std::io::Cursor::new(bytes.clone())),
            size: None,
        };
        let (source, errors) = MergedSource::from_inputs(vec![input]);
        let config = AnalyzeConfig { summary: true, ..AnalyzeConfig::default() };
        let mut sink = sink_for(format, Vec::new(), false);
        let outcome = analyze(source, errors, config, sink.as_mut(), None).unwrap();
        assert_eq!(outcome.input_errors, 0);
        assert!(outcome.attempts >= 2, "{format:?}: {}", outcome.attempts);
    }
}
