//! Bytes → a sequence of packet summaries over a few hosts and ports (so that conversations
//! collide, restart and get pushed out) → a tracker with a tiny table → finish. Checks:
//!
//! - the table never holds more than `max_flows` conversations;
//! - every attempt gets exactly one verdict: ids are 1..=attempts, each once;
//! - no TCP attempt is called `unanswered` when a SYN-ACK from its server reached its client
//!   between its first packet and its verdict.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use connlens::capture::Origin;
use connlens::decode::{
    EchoMessage, IcmpError, IcmpErrorKind, LinkDest, NeighborMessage, Packet, PayloadPrefix, Proto,
    QuotedPacket, SctpPacket, TcpFlags, TcpSegment, Transport, UdpDatagram,
};
use connlens::time::{Duration, Timestamp};
use connlens::track::{Tracker, TrackerConfig};
use connlens::verdict::{Verdict, VerdictKind};
use libfuzzer_sys::fuzz_target;

const HOSTS: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 255)),
];
const PORTS: [u16; 4] = [80, 53, 40000, 40001];
const SEQS: [u32; 4] = [1000, 1001, 5000, 5001];
const ICMP: [(IcmpErrorKind, u8); 4] = [
    (IcmpErrorKind::DestinationUnreachable, 3),
    (IcmpErrorKind::TimeExceeded, 11),
    (IcmpErrorKind::Redirect, 5),
    (IcmpErrorKind::SourceQuench, 4),
];

fn packet(n: u64, ts: Timestamp, c: &[u8; 8]) -> Packet {
    let src = HOSTS[(c[0] >> 2) as usize % 4];
    let dst = HOSTS[(c[0] >> 4) as usize % 4];
    let sport = PORTS[(c[5] & 3) as usize];
    let dport = PORTS[((c[5] >> 2) & 3) as usize];
    let payload_len = u32::from(c[5] >> 4) * 7;
    let payload = PayloadPrefix::new(&[c[6], c[7], c[1], c[2], 0, 1, 0, 0, 0, 0, 0, 0][..]);
    let transport = match c[0] & 3 {
        0 | 1 => Transport::Tcp(TcpSegment {
            src_port: sport,
            dst_port: dport,
            seq: SEQS[(c[2] & 3) as usize],
            ack: SEQS[((c[2] >> 2) & 3) as usize],
            flags: TcpFlags(c[1]),
            window: u16::from(c[2] >> 4),
            payload_len,
            payload,
        }),
        // Pings (a few identifiers, sequence numbers, both directions) and SCTP chunks.
        2 if c[7] & 12 == 12 => Transport::Echo(EchoMessage {
            v6: false,
            request: c[1] & 1 == 0,
            id: sport,
            seq: u16::from(c[2] & 7),
            payload_len,
        }),
        2 if c[7] & 4 != 0 => Transport::Sctp(SctpPacket {
            src_port: sport,
            dst_port: dport,
            vtag: SEQS[(c[2] & 3) as usize],
            chunks: u16::from(c[1]) << (c[6] & 7),
            abort_t: c[2] & 4 != 0,
            error_cause: u16::from(c[2] >> 4),
            initiate_tag: SEQS[((c[2] >> 2) & 3) as usize],
            data_len: payload_len,
        }),
        2 => Transport::Udp(UdpDatagram { src_port: sport, dst_port: dport, payload_len, payload }),
        _ if c[7] & 1 == 0 => {
            let (kind, icmp_type) = ICMP[(c[2] & 3) as usize];
            Transport::IcmpError(IcmpError {
                v6: false,
                kind,
                icmp_type,
                code: c[1] & 15,
                mtu: None,
                quoted: QuotedPacket {
                    proto: [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Sctp]
                        [usize::from((c[2] >> 2) & 1) + usize::from((c[7] >> 2) & 2)],
                    src: dst,
                    dst: HOSTS[(c[6] & 3) as usize],
                    src_port: dport,
                    dst_port: PORTS[((c[6] >> 2) & 3) as usize],
                    tcp_seq: (c[2] & 8 != 0).then_some(SEQS[((c[6] >> 4) & 3) as usize]),
                    // Some quotes name the flags (a SYN or a SYN-ACK), most do not.
                    tcp_flags: match c[6] & 3 {
                        1 => Some(TcpFlags(TcpFlags::SYN)),
                        2 => Some(TcpFlags(TcpFlags::SYN | TcpFlags::ACK)),
                        _ => None,
                    },
                    echo: (c[7] & 4 != 0).then_some((u16::from(c[6] >> 4), c[6] & 8 != 0)),
                    sctp_vtag: (c[7] & 8 != 0).then_some(SEQS[(c[6] & 3) as usize]),
                    ttl: c[3],
                    tunnel: Default::default(),
                    tunnel_only: false,
                },
            })
        }
        _ => Transport::Neighbor(NeighborMessage { solicit: c[7] & 2 == 0, target: dst }),
    };
    Packet {
        ts,
        origin: Origin { file: 0, number: n, offset: n * 100 },
        vlan: 0,
        src,
        dst,
        ttl: c[3],
        ip_id: 0,
        dont_fragment: false,
        link_dst: match c[7] >> 6 {
            1 => LinkDest::Unicast,
            2 => LinkDest::Group,
            _ => LinkDest::Unknown,
        },
        tunnel: Default::default(),
        transport,
    }
}

/// Whether a SYN-ACK from `v.server` to `v.client` is among `packets[from..to]` (numbers).
fn syn_ack_seen(packets: &[Packet], v: &Verdict, to: u64) -> bool {
    let from = v.first_packet.number;
    packets.iter().filter(|p| p.origin.number >= from && p.origin.number <= to).any(|p| {
        matches!(p.transport, Transport::Tcp(t)
            if t.flags.has(TcpFlags::SYN | TcpFlags::ACK) && !t.flags.has(TcpFlags::RST)
                && p.src == v.server.ip && t.src_port == v.server.port
                && p.dst == v.client.ip && t.dst_port == v.client.port)
    })
}

fn check(packets: &[Packet], new: &[Verdict], decided_by: u64) {
    for v in new {
        // A conversation of an endpoint with itself (a self-connect) has no server side to
        // tell apart: every packet looks like the client's. Left out of this check.
        if v.kind() == VerdictKind::Unanswered && v.proto == Proto::Tcp && v.client != v.server {
            assert!(
                !syn_ack_seen(packets, v, decided_by),
                "unanswered although a SYN-ACK was seen: {v:#?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let max_flows = 1 + usize::from(first % 6);
    let mut tracker = Tracker::new(TrackerConfig {
        syn_timeout: Duration::from_secs_f64(3.0),
        idle_timeout: Duration::from_secs_f64(20.0),
        linger: Duration::from_secs_f64(10.0),
        max_flows,
        split_vlans: false,
        // Both ways of giving a verdict later packets may contradict: held (offline) and
        // written at once, then corrected (live).
        hold_verdicts: first & 0x80 == 0,
        ..TrackerConfig::default()
    });
    let mut packets = Vec::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut ts = Timestamp(1_000_000_000_000);
    for (i, chunk) in rest.chunks_exact(8).enumerate() {
        let c: &[u8; 8] = chunk.try_into().unwrap();
        let n = i as u64 + 1;
        // Time steps of 0..=2.5 s, sometimes backwards.
        let step = i64::from(c[4] & 0x7f) * 20_000_000;
        ts =
            Timestamp(if c[4] & 0x80 != 0 && c[4] & 0x40 != 0 { ts.0 - step } else { ts.0 + step });
        let p = packet(n, ts, c);
        packets.push(p);
        // Timers first (decided by the packets before this one), then the packet itself.
        let mut new = Vec::new();
        tracker.advance(p.ts, &mut new);
        check(&packets, &new, n - 1);
        verdicts.append(&mut new);
        tracker.packet(&p, &mut new);
        check(&packets, &new, n);
        verdicts.append(&mut new);
        assert!(tracker.flows() <= max_flows, "{} flows > max {max_flows}", tracker.flows());
    }
    let mut new = Vec::new();
    tracker.finish(&mut new);
    check(&packets, &new, u64::MAX);
    verdicts.append(&mut new);
    assert_eq!(tracker.flows(), 0);

    let attempts = tracker.stats().attempts;
    assert_eq!(verdicts.len() as u64, attempts, "one verdict per attempt");
    let mut ids: Vec<u64> = verdicts.iter().map(|v| v.id).collect();
    ids.sort_unstable();
    assert!(ids.iter().copied().eq(1..=attempts), "verdict ids are 1..=attempts: {ids:?}");
});
