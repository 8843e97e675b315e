//! Tracker tests on hand-made packet summaries: each checks a whole verdict's kind and cause,
//! and the evidence a person would look for.

use std::net::IpAddr;

use super::*;
use crate::capture::Origin;
use crate::decode::{
    EchoMessage, IcmpError, IcmpErrorKind, LinkDest, Packet, PayloadPrefix, QuotedPacket,
    SctpPacket, TcpFlags, TcpSegment, Transport, UdpDatagram, sctp_chunk,
};
use crate::verdict::{Verdict, VerdictKind};
use serde_json::json;

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const FIN: u8 = TcpFlags::FIN;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

struct Run {
    tracker: Tracker,
    out: Vec<Verdict>,
    number: u64,
    /// The IP ID of the packets pushed next.
    ip_id: u16,
}

impl Run {
    fn new() -> Self {
        Self::with(TrackerConfig::default())
    }
    fn with(config: TrackerConfig) -> Self {
        Run { tracker: Tracker::new(config), out: Vec::new(), number: 0, ip_id: 0 }
    }
    fn push(&mut self, ts: f64, src: &str, dst: &str, ttl: u8, transport: Transport) {
        self.push_to(LinkDest::Unknown, ts, src, dst, ttl, transport);
    }
    /// A packet whose frame the link layer addressed to `link_dst`.
    fn push_to(
        &mut self,
        link_dst: LinkDest,
        ts: f64,
        src: &str,
        dst: &str,
        ttl: u8,
        transport: Transport,
    ) {
        self.number += 1;
        let p = Packet {
            ts: Timestamp::from_secs_f64(1000.0 + ts),
            origin: Origin { file: 0, number: self.number, offset: 0 },
            vlan: 0,
            src: ip(src),
            dst: ip(dst),
            ttl,
            ip_id: self.ip_id,
            dont_fragment: true,
            link_dst,
            tunnel: Default::default(),
            transport,
        };
        self.tracker.packet(&p, &mut self.out);
    }
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        ts: f64,
        src: &str,
        sport: u16,
        dst: &str,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        ttl: u8,
    ) {
        let t = TcpSegment {
            src_port: sport,
            dst_port: dport,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 1000,
            payload_len: 0,
            payload: PayloadPrefix::default(),
        };
        self.push(ts, src, dst, ttl, Transport::Tcp(t));
    }
    #[allow(clippy::too_many_arguments)]
    fn tcp_data(
        &mut self,
        ts: f64,
        src: &str,
        sport: u16,
        dst: &str,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        window: u16,
        data: &[u8],
    ) {
        let t = TcpSegment {
            src_port: sport,
            dst_port: dport,
            seq,
            ack,
            flags: TcpFlags(flags),
            window,
            payload_len: data.len() as u32,
            payload: PayloadPrefix::new(data),
        };
        self.push(ts, src, dst, 64, Transport::Tcp(t));
    }
    /// A segment with payload `data` and the given TTL.
    #[allow(clippy::too_many_arguments)]
    fn seg(
        &mut self,
        ts: f64,
        (src, sport): (&str, u16),
        (dst, dport): (&str, u16),
        flags: u8,
        seq: u32,
        ack: u32,
        ttl: u8,
        data: &[u8],
    ) {
        let t = TcpSegment {
            src_port: sport,
            dst_port: dport,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 500,
            payload_len: data.len() as u32,
            payload: PayloadPrefix::new(data),
        };
        self.push(ts, src, dst, ttl, Transport::Tcp(t));
    }
    fn udp_data(&mut self, ts: f64, src: &str, sport: u16, dst: &str, dport: u16, data: &[u8]) {
        let u = UdpDatagram {
            src_port: sport,
            dst_port: dport,
            payload_len: data.len() as u32,
            payload: PayloadPrefix::new(data),
        };
        self.push(ts, src, dst, 64, Transport::Udp(u));
    }
    fn udp(&mut self, ts: f64, src: &str, sport: u16, dst: &str, dport: u16) {
        self.udp_to(LinkDest::Unknown, ts, (src, sport), (dst, dport));
    }
    /// A datagram in a frame the link layer addressed to `link_dst`.
    fn udp_to(&mut self, link_dst: LinkDest, ts: f64, src: (&str, u16), dst: (&str, u16)) {
        let u = UdpDatagram {
            src_port: src.1,
            dst_port: dst.1,
            payload_len: 10,
            payload: PayloadPrefix::default(),
        };
        self.push_to(link_dst, ts, src.0, dst.0, 64, Transport::Udp(u));
    }
    #[allow(clippy::too_many_arguments)]
    fn icmp(
        &mut self,
        ts: f64,
        reporter: &str,
        to: &str,
        ttl: u8,
        kind: IcmpErrorKind,
        code: u8,
        q: QuotedPacket,
    ) {
        let v6 = q.src.is_ipv6();
        let e = IcmpError { v6, kind, icmp_type: 3, code, mtu: None, quoted: q };
        self.push(ts, reporter, to, ttl, Transport::IcmpError(e));
    }
    fn finish(mut self) -> Vec<Verdict> {
        self.tracker.finish(&mut self.out);
        self.out
    }
    /// An ICMP/ICMPv6 echo request (from the client) or reply (from the server).
    #[allow(clippy::too_many_arguments)]
    fn echo(&mut self, ts: f64, src: &str, dst: &str, ttl: u8, request: bool, id: u16, seq: u16) {
        let v6 = ip(src).is_ipv6();
        let e = EchoMessage { v6, request, id, seq, payload_len: 56 };
        self.push(ts, src, dst, ttl, Transport::Echo(e));
    }
    /// An SCTP packet with these chunks ([`sctp_chunk`] bits).
    #[allow(clippy::too_many_arguments)]
    fn sctp(
        &mut self,
        ts: f64,
        (src, sport): (&str, u16),
        (dst, dport): (&str, u16),
        ttl: u8,
        chunks: u16,
        vtag: u32,
        initiate_tag: u32,
    ) {
        let c = SctpPacket {
            src_port: sport,
            dst_port: dport,
            vtag,
            chunks,
            abort_t: false,
            error_cause: 0,
            initiate_tag,
            data_len: if chunks & sctp_chunk::DATA != 0 { 100 } else { 0 },
        };
        self.push(ts, src, dst, ttl, Transport::Sctp(c));
    }
    /// An SCTP ABORT: its T bit and first error cause (0: none).
    fn sctp_abort(
        &mut self,
        ts: f64,
        (src, sport): (&str, u16),
        (dst, dport): (&str, u16),
        ttl: u8,
        (vtag, t_bit, cause): (u32, bool, u16),
    ) {
        let c = SctpPacket {
            src_port: sport,
            dst_port: dport,
            vtag,
            chunks: sctp_chunk::ABORT,
            abort_t: t_bit,
            error_cause: cause,
            initiate_tag: 0,
            data_len: 0,
        };
        self.push(ts, src, dst, ttl, Transport::Sctp(c));
    }
    /// A frame that is no conversation's: capture time moves on (timers run out).
    fn tick(&mut self, ts: f64) {
        self.tracker.other_packet(Timestamp::from_secs_f64(1000.0 + ts), &mut self.out);
    }
}

fn quote_tcp(src: &str, sport: u16, dst: &str, dport: u16, seq: u32) -> QuotedPacket {
    QuotedPacket {
        proto: Proto::Tcp,
        src: ip(src),
        dst: ip(dst),
        src_port: sport,
        dst_port: dport,
        tcp_seq: Some(seq),
        tcp_flags: None,
        echo: None,
        sctp_vtag: None,
        ttl: 63,
        tunnel: Default::default(),
        tunnel_only: false,
    }
}

fn kinds(v: &[Verdict]) -> Vec<(VerdictKind, &'static str)> {
    v.iter().map(|v| (v.kind(), v.cause.word())).collect()
}

const C: &str = "192.0.2.1";
const S: &str = "198.51.100.7";

#[test]
fn syn_answered_by_acknowledging_rst_is_refused_by_the_host() {
    let mut r = Run::new();
    // The server answered another port earlier: its own TTL is 61.
    r.tcp(0.0, C, 40000, S, 22, SYN, 10, 0, 64);
    r.tcp(0.01, S, 22, C, 40000, SYN | ACK, 500, 11, 61);
    r.tcp(1.0, C, 40001, S, 80, SYN, 100, 0, 64);
    r.tcp(1.01, S, 80, C, 40001, RST | ACK, 0, 101, 61);
    let v = r.finish();
    let refused = v.iter().find(|v| v.server.port == 80).unwrap();
    assert_eq!((refused.kind(), refused.cause.word()), (VerdictKind::Refused, "host-reset"));
    assert_eq!(refused.evidence["rst_packet"], 4);
    assert_eq!(refused.evidence["rst_ttl"], 61);
    assert_eq!(refused.evidence["host_ttl"], 61);
    assert_eq!(refused.client.to_string(), "192.0.2.1:40001");
}

#[test]
fn rst_with_other_hop_count_than_the_host_is_a_path_reset() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40000, S, 22, SYN, 10, 0, 64);
    r.tcp(0.01, S, 22, C, 40000, SYN | ACK, 500, 11, 56);
    r.tcp(1.0, C, 40001, S, 443, SYN, 100, 0, 64);
    r.tcp(1.01, S, 443, C, 40001, RST | ACK, 0, 101, 62);
    let v = r.finish();
    let refused = v.iter().find(|v| v.server.port == 443).unwrap();
    assert_eq!((refused.kind(), refused.cause.word()), (VerdictKind::Refused, "path-reset"));
    assert_eq!(refused.evidence["rst_hops"], 2);
    assert_eq!(refused.evidence["host_hops"], 8);
}

#[test]
fn rst_that_does_not_acknowledge_the_syn_is_ignored() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40001, S, 80, SYN, 100, 0, 64);
    r.tcp(0.01, S, 80, C, 40001, RST | ACK, 0, 5555, 61);
    r.tcp(10.0, C, 9, S, 9, SYN, 1, 0, 64); // moves time past the timeout
    let v = r.finish();
    assert_eq!(v[0].kind(), VerdictKind::Unanswered);
    // The server is up (it sent something), so the silence on this port is a filter.
    assert_eq!(v[0].cause, "filtered");
    assert_eq!(v[0].evidence["ignored_rsts"], 1);
}

#[test]
fn retransmitted_syns_are_one_attempt_and_time_out_after_the_next_expected_retransmission() {
    let mut r = Run::new();
    for (i, t) in [0.0, 1.0, 3.0, 7.0].iter().enumerate() {
        r.tcp(*t, C, 40002, S, 443, SYN, 777, 0, 64);
        assert!(r.out.is_empty(), "decided too early at SYN {i}");
    }
    // 4 s between the last two SYNs: the next would come 8 s after the last, so the attempt
    // waits 8 s + 1 s, not the 5 s floor.
    r.tcp(15.9, C, 1, S, 1, SYN, 1, 0, 64);
    assert!(r.out.is_empty(), "the next retransmission's time has not passed yet");
    // (Written once the 1 s look-ahead after the deadline is over.)
    r.tcp(17.1, C, 2, S, 1, SYN, 1, 0, 64);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "no-response")]);
    let v = &r.out[0];
    assert_eq!(v.evidence["syn_count"], 4);
    assert_eq!(v.evidence["syn_packets"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(v.evidence["syn_times"], serde_json::json!([0.0, 1.0, 3.0, 7.0]));
    assert_eq!(v.evidence["waited_after_last_syn"], 9.0);
    assert_eq!(v.evidence["timeout"], 9.0);
    assert_eq!(v.evidence["timeout_basis"], "retransmission-schedule");
    assert_eq!(v.evidence["last_retry_gap"], 4.0);
}

#[test]
fn the_classic_back_off_answered_at_the_fifth_syn_is_a_slow_accept() {
    // SYNs 1, 2, 4, 8 s apart; the fifth (15 s) is answered and carries on with data: a fixed
    // 5 s wait would have called it unanswered 12 s in.
    let mut r = Run::new();
    for t in [0.0, 1.0, 3.0, 7.0, 15.0] {
        r.tcp(t, C, 40012, S, 80, SYN, 900, 0, 64);
    }
    r.tcp(15.05, S, 80, C, 40012, SYN | ACK, 5000, 901, 60);
    r.tcp(15.1, C, 40012, S, 80, ACK, 901, 5001, 64);
    r.tcp_data(15.1, C, 40012, S, 80, ACK, 901, 5001, 1000, b"GET / HTTP/1.1\r\n\r\n");
    r.tcp_data(15.2, S, 80, C, 40012, ACK, 5001, 919, 1000, b"HTTP/1.1 200 OK\r\n\r\n");
    r.tcp(15.3, C, 40012, S, 80, FIN | ACK, 919, 5020, 64);
    r.tcp(15.4, S, 80, C, 40012, FIN | ACK, 5020, 920, 60);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Established, "slow-accept")]);
    assert_eq!(v[0].evidence["syn_count"], 5);
    assert_eq!(v[0].evidence["syn_times"], serde_json::json!([0.0, 1.0, 3.0, 7.0, 15.0]));
}

#[test]
fn a_retry_wait_is_capped_at_the_largest_retransmission_timeout() {
    let mut r = Run::new();
    // Each SYN comes just before the wait the gap before it set runs out.
    for t in [0.0, 4.0, 13.0, 32.0, 71.0, 150.0] {
        r.tcp(t, C, 40013, S, 80, SYN, 5, 0, 64);
    }
    assert!(r.out.is_empty());
    r.tcp(270.9, C, 1, S, 1, SYN, 1, 0, 64);
    assert!(r.out.is_empty());
    r.tcp(272.5, C, 2, S, 1, SYN, 1, 0, 64);
    // 2 × 79 s would be 158 s: capped at 120 s (+ 1 s).
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "no-response")]);
    assert_eq!(r.out[0].evidence["syn_count"], 6);
    assert_eq!(r.out[0].evidence["timeout"], 121.0);
    assert_eq!(r.out[0].evidence["last_retry_gap"], 79.0);
}

#[test]
fn udp_retries_set_the_wait_too() {
    let mut r = Run::new();
    r.udp(0.0, C, 5000, S, 9999);
    r.udp(3.0, C, 5000, S, 9999);
    r.udp(9.5, C, 1, S, 1);
    assert!(r.out.is_empty(), "3 s between tries: it waits 7 s after the last");
    // Decided at 10 s, written after the 1 s look-ahead.
    r.udp(11.5, C, 1, S, 1);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "no-response")]);
    assert_eq!(r.out[0].evidence["waited_after_last_request"], 7.0);
    assert_eq!(r.out[0].evidence["last_retry_gap"], 3.0);
}

#[test]
fn capture_ending_before_the_timeout_is_marked() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40003, S, 443, SYN, 1, 0, 64);
    r.tcp(1.0, C, 40003, S, 443, SYN, 1, 0, 64);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Unanswered, "capture-ended")]);
    assert_eq!(v[0].evidence["capture_ended_before_timeout"], true);
}

#[test]
fn handshake_then_fins_is_established_and_closed_and_late_ack_is_absorbed() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40004, S, 80, SYN, 1000, 0, 64);
    r.tcp(0.1, S, 80, C, 40004, SYN | ACK, 5000, 1001, 60);
    r.tcp(0.2, C, 40004, S, 80, ACK, 1001, 5001, 64);
    r.tcp(0.3, C, 40004, S, 80, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.4, S, 80, C, 40004, FIN | ACK, 5001, 1002, 60);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Established, "closed")]);
    r.tcp(0.5, C, 40004, S, 80, ACK, 1002, 5002, 64);
    let v = r.finish();
    assert_eq!(v.len(), 1, "the last ACK must not open a new attempt");
    assert_eq!(v[0].evidence["established_packet"], 3);
    assert_eq!(r_stats_late(&v), ());
}

fn r_stats_late(_: &[Verdict]) {}

#[test]
fn reset_after_handshake_names_the_side() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40005, S, 80, SYN, 1000, 0, 64);
    r.tcp(0.1, S, 80, C, 40005, SYN | ACK, 5000, 1001, 60);
    r.tcp(0.2, C, 40005, S, 80, ACK, 1001, 5001, 64);
    r.tcp(0.3, S, 80, C, 40005, RST | ACK, 5001, 1001, 60);
    r.tcp(1.0, C, 40006, S, 80, SYN, 2000, 0, 64);
    r.tcp(1.1, S, 80, C, 40006, SYN | ACK, 6000, 2001, 60);
    r.tcp(1.2, C, 40006, S, 80, ACK, 2001, 6001, 64);
    r.tcp(1.3, C, 40006, S, 80, RST, 2001, 0, 64);
    r.tcp(2.0, C, 40007, S, 80, SYN, 3000, 0, 64);
    r.tcp(2.1, S, 80, C, 40007, SYN | ACK, 7000, 3001, 60);
    r.tcp(2.2, C, 40007, S, 80, ACK, 3001, 7001, 64);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![
            // The server reset right after the handshake, before any byte: turned away.
            (VerdictKind::Rejected, "reset-before-request"),
            (VerdictKind::Established, "reset-by-client"),
            (VerdictKind::Established, "still-open"),
        ]
    );
}

#[test]
fn new_syn_after_rst_is_a_new_attempt_but_a_crossing_retransmission_is_not() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40008, S, 80, SYN, 100, 0, 64);
    r.tcp(0.01, S, 80, C, 40008, RST | ACK, 0, 101, 64);
    r.tcp(0.02, C, 40008, S, 80, SYN, 100, 0, 64); // same ISN: crossed the RST
    r.tcp(2.0, C, 40008, S, 80, SYN, 900, 0, 64); // new ISN: new attempt
    r.tcp(2.01, S, 80, C, 40008, RST | ACK, 0, 901, 64);
    let v = r.finish();
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|v| v.kind() == VerdictKind::Refused));
    assert_eq!(v[0].evidence["syn_count"], 1);
    assert_eq!(v[1].evidence["attempt"], 2);
}

#[test]
fn icmp_port_unreachable_quoting_the_syn_decides_at_once() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40009, S, 8082, SYN, 4242, 0, 64);
    r.icmp(
        0.01,
        S,
        C,
        64,
        IcmpErrorKind::DestinationUnreachable,
        3,
        quote_tcp(C, 40009, S, 8082, 4242),
    );
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unreachable, "port-unreachable")]);
    let v = &r.out[0];
    assert_eq!(v.evidence["icmp_code"], 3);
    assert_eq!(v.evidence["reporter"], S);
    assert_eq!(v.evidence["reporter_is_server"], true);
    assert_eq!(v.evidence["icmp_packet"], 2);
}

#[test]
fn icmp_quoting_another_sequence_number_does_not_decide() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40010, S, 80, SYN, 4242, 0, 64);
    r.icmp(
        0.01,
        "203.0.113.1",
        C,
        250,
        IcmpErrorKind::DestinationUnreachable,
        1,
        quote_tcp(C, 40010, S, 80, 1),
    );
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Unanswered, "capture-ended")]);
    assert_eq!(v[0].evidence["other_icmp_errors"], 1);
}

#[test]
fn icmp_about_an_uncaptured_attempt_still_gives_its_verdict() {
    let mut r = Run::new();
    r.icmp(
        0.0,
        "203.0.113.1",
        C,
        250,
        IcmpErrorKind::DestinationUnreachable,
        13,
        quote_tcp(C, 40011, S, 25, 9),
    );
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Unreachable, "admin-prohibited")]);
    assert_eq!(v[0].evidence["attempt_packets_captured"], false);
    assert_eq!(v[0].evidence["reporter_is_server"], false);
    assert_eq!(v[0].client.to_string(), "192.0.2.1:40011");
}

/// A late DNS reply that draws a port unreachable from the client (which had given up): the
/// port-53 side is the server, and the error says the client went away, not that the server
/// failed. The same rule decides the direction as for a first datagram.
#[test]
fn icmp_quoting_a_reply_blames_no_service() {
    let mut r = Run::new();
    let reply = QuotedPacket {
        proto: Proto::Udp,
        src: ip(S),
        dst: ip(C),
        src_port: 53,
        dst_port: 59207,
        tcp_seq: None,
        tcp_flags: None,
        echo: None,
        sctp_vtag: None,
        ttl: 60,
        tunnel: Default::default(),
        tunnel_only: false,
    };
    r.icmp(0.0, C, S, 64, IcmpErrorKind::DestinationUnreachable, 3, reply);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Partial, "reply-undeliverable")]);
    assert_eq!(
        (v[0].client.to_string(), v[0].server.to_string()),
        (format!("{C}:59207"), format!("{S}:53"))
    );
    assert_eq!(v[0].evidence["attempt_packets_captured"], false);
    assert!(!v[0].cause.is_failure());
    assert!(v[0].hint.to_string().contains("could not be delivered"), "{}", v[0].hint);
    // A quoted SYN-ACK is the server's too.
    let mut r = Run::new();
    let mut syn_ack = quote_tcp(S, 443, C, 40100, 7);
    syn_ack.tcp_flags = Some(TcpFlags(TcpFlags::SYN | TcpFlags::ACK));
    r.icmp(0.0, "203.0.113.1", S, 250, IcmpErrorKind::DestinationUnreachable, 1, syn_ack);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Partial, "reply-undeliverable")]);
    assert_eq!(v[0].server.to_string(), format!("{S}:443"));
}

#[test]
fn fragmentation_needed_on_an_established_flow_is_not_a_failure() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40012, S, 25, SYN, 1000, 0, 64);
    r.tcp(0.1, S, 25, C, 40012, SYN | ACK, 5000, 1001, 60);
    r.tcp(0.2, C, 40012, S, 25, ACK, 1001, 5001, 64);
    r.icmp(
        0.3,
        "203.0.113.1",
        C,
        250,
        IcmpErrorKind::DestinationUnreachable,
        4,
        quote_tcp(C, 40012, S, 25, 1001),
    );
    r.tcp(0.4, C, 40012, S, 25, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.5, S, 25, C, 40012, FIN | ACK, 5001, 1002, 60);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Established, "closed")]);
    assert_eq!(v[0].evidence["other_icmp_errors"], 1);
}

#[test]
fn time_exceeded_quoting_the_syn() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40013, S, 80, SYN, 7, 0, 64);
    r.icmp(
        0.01,
        "203.0.113.9",
        C,
        253,
        IcmpErrorKind::TimeExceeded,
        0,
        quote_tcp(C, 40013, S, 80, 7),
    );
    assert_eq!(kinds(&r.out), vec![(VerdictKind::TimeExceeded, "ttl-exceeded")]);
}

#[test]
fn udp_answered_unreachable_and_unanswered() {
    let mut r = Run::new();
    r.udp(0.0, C, 5000, S, 53);
    r.udp(0.01, S, 53, C, 5000);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "reply-seen")]);
    r.udp(1.0, C, 5001, S, 9999);
    let q = QuotedPacket {
        proto: Proto::Udp,
        src: ip(C),
        dst: ip(S),
        src_port: 5001,
        dst_port: 9999,
        tcp_seq: None,
        tcp_flags: None,
        echo: None,
        sctp_vtag: None,
        ttl: 64,
        tunnel: Default::default(),
        tunnel_only: false,
    };
    r.icmp(1.01, S, C, 64, IcmpErrorKind::DestinationUnreachable, 3, q);
    r.udp(2.0, C, 5002, S, 123);
    r.udp(2.5, C, 5002, S, 123);
    r.udp(9.0, C, 5003, S, 7);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![
            (VerdictKind::Answered, "reply-seen"),
            (VerdictKind::Unreachable, "port-unreachable"),
            // S answered the first request: silence on port 123 is a filter.
            (VerdictKind::Unanswered, "filtered"),
            (VerdictKind::Unanswered, "capture-ended"),
        ]
    );
    assert_eq!(v[2].evidence["client_packets"], 2);
}

#[test]
fn icmp_about_a_late_reply_does_not_make_an_answered_flow_unreachable() {
    let mut r = Run::new();
    r.udp(0.0, C, 5000, S, 53);
    r.udp(0.01, S, 53, C, 5000);
    let q = QuotedPacket {
        proto: Proto::Udp,
        src: ip(S),
        dst: ip(C),
        src_port: 53,
        dst_port: 5000,
        tcp_seq: None,
        tcp_flags: None,
        echo: None,
        sctp_vtag: None,
        ttl: 64,
        tunnel: Default::default(),
        tunnel_only: false,
    };
    r.icmp(0.02, C, S, 64, IcmpErrorKind::DestinationUnreachable, 3, q);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Answered, "reply-seen")]);
}

#[test]
fn midstream_tcp_is_partial_with_the_service_as_server() {
    let mut r = Run::new();
    r.tcp(0.0, S, 443, C, 51000, ACK, 1, 1, 60);
    r.tcp(0.1, C, 51000, S, 443, ACK, 1, 1, 64);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Partial, "midstream")]);
    assert_eq!(v[0].server.port, 443);
}

/// Found by the property test `one_verdict_per_attempt_and_no_unanswered_after_syn_ack` (and
/// the `track_packets` fuzz target): a SYN-ACK acknowledging the wrong sequence number, then
/// the client's RST, was called `unanswered` / `client-aborted` — "no answer from the server".
#[test]
fn rst_after_a_syn_ack_with_a_wrong_ack_is_not_unanswered() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40015, S, 80, SYN, 100, 0, 64);
    r.tcp(0.0, S, 80, C, 40015, SYN | ACK, 100, 102, 64);
    r.tcp(0.0, C, 40015, S, 80, RST, 100, 0, 64);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Established, "client-aborted-handshake")]);
}

/// A span port shows each frame twice: the SYN's copy 1 µs later is not a retransmission (it
/// made an accepted connection `slow-accept` and inflated `syn_count`), nor the SYN-ACK's
/// (`syn-ack-retransmitted`); a real one a second later still is.
#[test]
fn a_duplicate_syn_is_not_a_retransmission() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40016, S, 80, SYN, 1, 0, 64);
    r.tcp(0.000_001, C, 40016, S, 80, SYN, 1, 0, 64);
    r.tcp(0.1, S, 80, C, 40016, SYN | ACK, 9, 2, 60);
    r.tcp(0.100_001, C, 40016, S, 80, ACK, 2, 10, 64);
    // The SYN-ACK's copy, after the client's ACK: no retransmitted SYN-ACK either.
    r.tcp(0.100_002, S, 80, C, 40016, SYN | ACK, 9, 2, 60);
    r.tcp(0.3, C, 40017, S, 81, SYN, 5, 0, 64);
    r.tcp(0.300_002, C, 40017, S, 81, SYN, 5, 0, 64);
    r.tcp(1.3, C, 40017, S, 81, SYN, 5, 0, 64);
    let v = r.finish();
    assert_eq!(v[0].kind(), VerdictKind::Established);
    assert!(
        !["slow-accept", "syn-ack-retransmitted"].contains(&v[0].cause.word()),
        "{}",
        v[0].cause
    );
    let ev = |v: &Verdict, k: &str| v.evidence.get(k).map(|f| f.to_value());
    assert_eq!(ev(&v[0], "syn_count"), Some(json!(1)));
    assert_eq!(ev(&v[0], "syn_ack_count"), Some(json!(1)));
    assert_eq!(ev(&v[0], "syn_duplicates"), Some(json!(2)));
    assert_eq!(ev(&v[1], "syn_count"), Some(json!(2)));
    assert_eq!(ev(&v[1], "syn_duplicates"), Some(json!(1)));
}

#[test]
fn syn_ack_without_final_ack_is_partial_not_unanswered() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40014, S, 80, SYN, 1, 0, 64);
    r.tcp(0.1, S, 80, C, 40014, SYN | ACK, 9, 2, 60);
    r.tcp(0.2, C, 40014, S, 80, RST, 2, 0, 64);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Established, "client-aborted-handshake")]);
}

#[test]
fn full_table_pushes_out_the_earliest_with_a_verdict() {
    let mut r = Run::with(TrackerConfig { max_flows: 2, ..TrackerConfig::default() });
    r.tcp(0.0, C, 1, S, 80, SYN, 1, 0, 64);
    r.tcp(0.1, C, 2, S, 80, SYN, 1, 0, 64);
    r.tcp(0.2, C, 3, S, 80, SYN, 1, 0, 64);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "evicted-before-timeout")]);
    assert_eq!(r.out[0].client.port, 1);
    assert!(r.tracker.flows() <= 2);
    assert_eq!(r.tracker.stats().evicted, 1);
    let v = r.finish();
    assert_eq!(v.len(), 3);
}

#[test]
fn a_syn_flood_stays_within_the_cap_and_every_attempt_gets_one_verdict() {
    let mut r = Run::with(TrackerConfig { max_flows: 1000, ..TrackerConfig::default() });
    for i in 0..50_000u32 {
        let src = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        r.tcp(i as f64 * 1e-5, &src, 1234, S, 80, SYN, i, 0, 64);
        assert!(r.tracker.flows() <= 1000);
    }
    let v = r.finish();
    assert_eq!(v.len(), 50_000);
    let mut ids: Vec<u64> = v.iter().map(|v| v.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50_000);
}

#[test]
fn time_running_backwards_does_not_break_timers() {
    let mut r = Run::new();
    r.tcp(10.0, C, 1, S, 80, SYN, 1, 0, 64);
    r.tcp(2.0, C, 2, S, 80, SYN, 1, 0, 64);
    r.tcp(20.0, C, 3, S, 80, SYN, 1, 0, 64);
    let v = r.finish();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].kind(), VerdictKind::Unanswered);
}

/// A TCP segment (`seq_ack` = (seq, ack)) from `src` to `dst` with VLAN tags `vlan`.
#[allow(clippy::too_many_arguments)]
fn tcp_on_vlan(
    r: &mut Run,
    vlan: u32,
    ts: f64,
    src: (&str, u16),
    dst: (&str, u16),
    flags: u8,
    (seq, ack): (u32, u32),
    ttl: u8,
) {
    r.number += 1;
    let t = TcpSegment {
        src_port: src.1,
        dst_port: dst.1,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 1,
        payload_len: 0,
        payload: PayloadPrefix::default(),
    };
    let p = Packet {
        ts: Timestamp::from_secs_f64(ts),
        origin: Origin { file: 0, number: r.number, offset: 0 },
        vlan,
        src: ip(src.0),
        dst: ip(dst.0),
        ttl,
        ip_id: 0,
        dont_fragment: false,
        link_dst: Default::default(),
        tunnel: Default::default(),
        transport: Transport::Tcp(t),
    };
    r.tracker.packet(&p, &mut r.out);
}

/// With `--split-vlans` an address on two VLANs is two hosts: the server answering on VLAN 100
/// says nothing of its silence or its resets on VLAN 200 (without the split, it does).
#[test]
fn host_facts_are_per_vlan_when_vlans_are_split() {
    for split in [false, true] {
        let mut r = Run::with(TrackerConfig { split_vlans: split, ..TrackerConfig::default() });
        tcp_on_vlan(&mut r, 100, 0.0, (C, 40000), (S, 80), SYN, (1, 0), 64);
        tcp_on_vlan(&mut r, 100, 0.1, (S, 80), (C, 40000), SYN | ACK, (9, 2), 61);
        tcp_on_vlan(&mut r, 100, 0.2, (C, 40000), (S, 80), ACK, (2, 10), 64);
        // VLAN 200: an attempt never answered; VLAN 300: one refused by an RST of another
        // hop count than the server's packets on VLAN 100 (an RST shows its sender is up, so
        // the two are on VLANs of their own).
        tcp_on_vlan(&mut r, 200, 1.0, (C, 40001), (S, 81), SYN, (100, 0), 64);
        tcp_on_vlan(&mut r, 300, 1.0, (C, 40002), (S, 82), SYN, (200, 0), 64);
        tcp_on_vlan(&mut r, 300, 1.1, (S, 82), (C, 40002), RST | ACK, (0, 201), 50);
        tcp_on_vlan(&mut r, 100, 30.0, (C, 40000), (S, 80), ACK, (2, 10), 64);
        let v = r.finish();
        let by_port = |port: u16| {
            let v = v.iter().find(|v| v.server.port == port).unwrap();
            (v.kind(), v.cause.word())
        };
        if split {
            assert_eq!(by_port(81), (VerdictKind::Unanswered, "no-response"));
            assert_eq!(by_port(82), (VerdictKind::Refused, "reset"));
        } else {
            assert_eq!(by_port(81), (VerdictKind::Unanswered, "filtered"));
            assert_eq!(by_port(82), (VerdictKind::Refused, "path-reset"));
        }
    }
}

#[test]
fn directions_on_different_vlans_are_one_conversation_unless_split() {
    for split in [false, true] {
        let mut r = Run::with(TrackerConfig { split_vlans: split, ..TrackerConfig::default() });
        tcp_on_vlan(&mut r, 3136, 0.0, (C, 40000), (S, 80), SYN, (1, 0), 64);
        tcp_on_vlan(&mut r, 0, 0.1, (S, 80), (C, 40000), SYN | ACK, (9, 2), 64);
        tcp_on_vlan(&mut r, 3136, 0.2, (C, 40000), (S, 80), ACK, (2, 10), 64);
        let v = r.finish();
        if split {
            assert_eq!(v.len(), 2);
        } else {
            assert_eq!(kinds(&v), vec![(VerdictKind::Established, "still-open")]);
            assert_eq!(v[0].vlan, 3136);
        }
    }
}

#[test]
fn broadcast_and_multicast_datagrams_are_not_attempts() {
    let mut r = Run::new();
    // NetBIOS to a /24's broadcast, and BACnet to a /25's: the Ethernet destination
    // ff:ff:ff:ff:ff:ff says so, whatever the last octet.
    r.udp_to(LinkDest::Group, 0.0, (C, 138), ("192.0.2.255", 138));
    r.udp_to(LinkDest::Group, 0.05, (C, 47808), ("192.0.2.127", 47808));
    r.udp(0.1, C, 5353, "224.0.0.251", 5353);
    r.udp(0.2, "fe80::1", 546, "ff02::1:2", 547);
    r.udp(0.3, "0.0.0.0", 68, "255.255.255.255", 67);
    assert_eq!(r.tracker.stats().group_datagrams, 5);
    assert!(r.finish().is_empty());
}

/// An address ending in .255 is an ordinary host in a network wider than /24: a datagram to it
/// in a unicast frame, and its answer, are a conversation like any other.
#[test]
fn an_address_ending_in_255_is_a_host_unless_the_link_says_broadcast() {
    let mut r = Run::new();
    r.udp_to(LinkDest::Unicast, 0.0, (C, 40000), ("198.18.1.255", 7000));
    r.udp_to(LinkDest::Unicast, 0.01, ("198.18.1.255", 7000), (C, 40000));
    // A raw IP capture (or a cooked capture's outgoing frame) does not name the link's
    // destination: there .255 is still taken for a subnet broadcast, as a host's own
    // broadcasts are common there.
    r.udp_to(LinkDest::Unknown, 1.0, (C, 138), ("198.18.2.255", 138));
    assert_eq!(r.tracker.stats().group_datagrams, 1);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Answered, "reply-seen")]);
}

#[test]
fn rpc_client_on_a_reserved_port_is_still_the_client() {
    let mut r = Run::new();
    r.udp(0.0, C, 706, S, 2049);
    r.udp(0.01, S, 2049, C, 706);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Answered, "reply-seen")]);
    assert_eq!(v[0].client.port, 706);
}

#[test]
fn a_dns_reply_without_its_query_is_partial_with_the_resolver_as_server() {
    let mut r = Run::new();
    r.udp(0.0, S, 53, C, 40000);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Partial, "midstream")]);
    assert_eq!(v[0].server.port, 53);
}

#[test]
fn a_client_that_goes_on_after_its_syn_was_answered_even_if_the_capture_missed_it() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40015, S, 80, SYN, 1, 0, 64);
    r.tcp(0.1, C, 40015, S, 80, ACK, 2, 77, 64);
    r.tcp(0.2, C, 40015, S, 80, ACK | FIN, 2, 77, 64);
    r.tcp(30.0, C, 1, S, 1, SYN, 1, 0, 64); // far past the SYN timeout
    let v = r.finish();
    assert_eq!(v[0].kind(), VerdictKind::Partial);
    assert_eq!(v[0].cause, "server-side-not-captured");
}

#[test]
fn a_syn_on_a_midstream_conversation_starts_a_fresh_attempt_whoever_sends_it() {
    let mut r = Run::new();
    // Mid-stream, the lower port (1000) is guessed to be the server, wrongly.
    r.tcp(0.0, C, 50000, S, 1000, ACK, 1, 1, 64);
    r.tcp(1.0, S, 1000, C, 50000, SYN, 42, 0, 61);
    r.tcp(1.01, C, 50000, S, 1000, RST | ACK, 0, 43, 64);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Partial, "midstream"), (VerdictKind::Refused, "host-reset")]
    );
    assert_eq!(v[1].client.to_string(), "198.51.100.7:1000");
}

/// A handshake on `port` from client port `cport`: ISNs 1000 (client) and 5000 (server).
fn handshake(r: &mut Run, t: f64, cport: u16, port: u16) {
    r.tcp(t, C, cport, S, port, SYN, 1000, 0, 64);
    r.tcp(t + 0.01, S, port, C, cport, SYN | ACK, 5000, 1001, 61);
    r.tcp(t + 0.02, C, cport, S, port, ACK, 1001, 5001, 64);
}

fn one(r: Run) -> Verdict {
    let v = r.finish();
    assert_eq!(v.len(), 1, "{v:?}");
    v.into_iter().next().unwrap()
}

#[test]
fn http_errors_as_first_answer_are_rejections_with_the_status() {
    for (status, cause) in [
        (401, "http-auth-required"),
        (403, "http-forbidden"),
        (429, "http-overloaded"),
        (503, "http-overloaded"),
        (400, "http-client-error"),
        (405, "http-client-error"),
        (500, "http-server-error"),
    ] {
        let mut r = Run::new();
        handshake(&mut r, 0.0, 40100, 80);
        r.tcp_data(0.03, C, 40100, S, 80, ACK | PSH_, 1001, 5001, 500, b"GET / HTTP/1.1\r\n\r\n");
        let line = format!("HTTP/1.1 {status} Something\r\n\r\n");
        r.tcp_data(0.04, S, 80, C, 40100, ACK | PSH_, 5001, 1019, 500, line.as_bytes());
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, cause), "status {status}");
        assert_eq!(v.evidence["http_status"], status);
        assert_eq!(v.evidence["server_first_bytes"], format!("HTTP/1.1 {status} Something"));
        assert_eq!(v.conn_state, "S1");
    }
}

const PSH_: u8 = TcpFlags::PSH;

/// 404 Not Found and 410 Gone answer the request: the connection worked, the status is a fact.
#[test]
fn http_not_found_and_gone_are_answers_not_rejections() {
    for status in [404, 410] {
        let mut r = Run::new();
        handshake(&mut r, 0.0, 40100, 80);
        r.tcp_data(0.03, C, 40100, S, 80, ACK | PSH_, 1001, 5001, 500, b"GET /x HTTP/1.1\r\n\r\n");
        let line = format!("HTTP/1.1 {status} Not Here\r\n\r\n");
        r.tcp_data(0.04, S, 80, C, 40100, ACK | PSH_, 5001, 1020, 500, line.as_bytes());
        r.tcp(0.05, S, 80, C, 40100, FIN | ACK, 5001 + line.len() as u32, 1020, 61);
        r.tcp(0.06, C, 40100, S, 80, FIN | ACK, 1020, 5002 + line.len() as u32, 64);
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"), "{status}");
        assert_eq!(v.evidence["http_status"], status);
        assert!(!v.cause.is_failure());
    }
}

/// The server closes (FIN) and the client answers with RST instead of its own FIN, as browsers
/// do; or the client closes and resets when more data arrives. Both are a close. An RST with
/// no FIN before it is a reset by that side.
#[test]
fn an_rst_after_a_fin_is_a_close() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40120, 80);
    r.tcp_data(0.03, C, 40120, S, 80, ACK | PSH_, 1001, 5001, 500, b"GET / HTTP/1.1\r\n\r\n");
    r.tcp_data(0.04, S, 80, C, 40120, ACK | PSH_, 5001, 1019, 500, b"HTTP/1.1 200 OK\r\n\r\n");
    r.tcp(5.0, S, 80, C, 40120, FIN | ACK, 5020, 1019, 61);
    r.tcp(5.01, C, 40120, S, 80, RST | ACK, 1019, 5021, 64);
    handshake(&mut r, 10.0, 40121, 80);
    r.tcp_data(10.03, C, 40121, S, 80, ACK | PSH_, 1001, 5001, 500, b"GET / HTTP/1.1\r\n\r\n");
    r.tcp(10.04, C, 40121, S, 80, FIN | ACK, 1019, 5001, 64);
    r.tcp_data(10.05, S, 80, C, 40121, ACK | PSH_, 5001, 1020, 500, b"HTTP/1.1 200 OK\r\n\r\n");
    r.tcp(10.06, C, 40121, S, 80, RST, 1020, 0, 64);
    handshake(&mut r, 20.0, 40122, 80);
    r.tcp_data(20.03, C, 40122, S, 80, ACK | PSH_, 1001, 5001, 500, b"GET / HTTP/1.1\r\n\r\n");
    r.tcp_data(20.04, S, 80, C, 40122, ACK | PSH_, 5001, 1019, 500, b"HTTP/1.1 200 OK\r\n\r\n");
    r.tcp(20.05, C, 40122, S, 80, RST | ACK, 1019, 5020, 64);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![
            (VerdictKind::Established, "closed-with-reset"),
            (VerdictKind::Established, "closed-with-reset"),
            (VerdictKind::Established, "reset-by-client"),
        ]
    );
    assert_eq!(v[0].evidence["server_fin_packet"], 6);
    assert_eq!(
        (&v[0].evidence["rst_packet"], &v[0].evidence["rst_from"]),
        (&7u64.into(), &"client".into())
    );
    assert_eq!(v[1].evidence["client_fin_packet"], 12);
    assert!(v[2].evidence.get("client_fin_packet").is_none());
}

#[test]
fn a_tls_fatal_alert_is_a_rejection_naming_the_alert() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40101, 443);
    r.tcp_data(
        0.03,
        C,
        40101,
        S,
        443,
        ACK | PSH_,
        1001,
        5001,
        500,
        &[22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3],
    );
    r.tcp_data(0.04, S, 443, C, 40101, ACK | PSH_, 5001, 1012, 500, &[21, 3, 3, 0, 2, 2, 70]);
    r.tcp(0.05, S, 443, C, 40101, FIN | ACK, 5008, 1012, 61);
    let v = one(r);
    // protocol_version: no version both accept (the handshake is followed: see `tls`).
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Mismatch, "tls-version-mismatch"));
    assert_eq!(v.evidence["tls_alert"], "protocol_version");
    assert_eq!(v.evidence["tls_alert_from"], "server");
    assert_eq!(v.evidence["tls_alert_packet"], 5);
    assert_eq!(v.evidence["tls_client_hello_packet"], 4);
    assert_eq!(v.evidence["client_first_bytes"], "tls-client-hello");
    assert_eq!(v.conn_state, "S3");
    // Another fatal alert of the server's (internal_error) stays `tls-alert`.
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40101, 443);
    let hello = [22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3];
    r.tcp_data(0.03, C, 40101, S, 443, ACK | PSH_, 1001, 5001, 500, &hello);
    r.tcp_data(0.04, S, 443, C, 40101, ACK | PSH_, 5001, 1012, 500, &[21, 3, 3, 0, 2, 2, 80]);
    r.tcp(0.05, S, 443, C, 40101, FIN | ACK, 5008, 1012, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "tls-alert"));
    assert_eq!(v.evidence["tls_alert"], "internal_error");
}

/// The client's hello, ACKed and never answered, until the client gave up with a FIN.
#[test]
fn a_tls_hello_nobody_answers_blames_the_server() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40103, 443);
    let hello = [22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3];
    r.tcp_data(0.03, C, 40103, S, 443, ACK | PSH_, 1001, 5001, 500, &hello);
    r.tcp(0.031, S, 443, C, 40103, ACK, 5001, 1012, 61);
    r.tcp(2.03, C, 40103, S, 443, FIN | ACK, 1012, 5001, 61);
    r.tcp(2.031, S, 443, C, 40103, FIN | ACK, 5001, 1013, 61);
    r.tcp(2.032, C, 40103, S, 443, ACK, 1013, 5002, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "tls-hello-unanswered"));
    assert_eq!(v.cause.blames(), crate::verdict::Party::Server);
}

#[test]
fn closing_without_a_byte_after_the_request_is_a_rejection() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40102, 25);
    r.tcp_data(0.03, C, 40102, S, 25, ACK | PSH_, 1001, 5001, 500, b"EHLO x\r\n");
    r.tcp(0.04, S, 25, C, 40102, FIN | ACK, 5001, 1009, 61);
    r.tcp(0.05, C, 40102, S, 25, FIN | ACK, 1009, 5002, 64);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "closed-after-request"));
    assert_eq!(v.evidence["ended"], "closed");
    assert_eq!(v.conn_state, "SF");
}

#[test]
fn a_client_that_connects_and_leaves_is_not_a_rejection() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40103, 22);
    r.tcp(0.03, C, 40103, S, 22, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.04, S, 22, C, 40103, FIN | ACK, 5001, 1002, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"));
}

#[test]
fn tls_to_a_plaintext_port_and_plaintext_to_a_tls_port_are_mismatches() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40104, 80);
    r.tcp_data(
        0.03,
        C,
        40104,
        S,
        80,
        ACK | PSH_,
        1001,
        5001,
        500,
        &[22, 3, 1, 0, 100, 1, 0, 0, 96],
    );
    r.tcp_data(0.04, S, 80, C, 40104, ACK | PSH_, 5001, 1010, 500, b"HTTP/1.1 400 Bad Request\r\n");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Mismatch, "tls-to-plaintext"));
    assert_eq!(v.evidence["server_first_bytes"], "HTTP/1.1 400 Bad Request");

    let mut r = Run::new();
    handshake(&mut r, 0.0, 40105, 443);
    r.tcp_data(0.03, C, 40105, S, 443, ACK | PSH_, 1001, 5001, 500, b"GET / HTTP/1.1\r\n");
    r.tcp_data(0.04, S, 443, C, 40105, ACK | PSH_, 5001, 1017, 500, &[21, 3, 3, 0, 2, 2, 10]);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Mismatch, "plaintext-to-tls"));

    let mut r = Run::new();
    handshake(&mut r, 0.0, 40106, 8080);
    r.tcp_data(
        0.03,
        C,
        40106,
        S,
        8080,
        ACK | PSH_,
        1001,
        5001,
        500,
        &[22, 3, 1, 0, 100, 1, 0, 0, 96],
    );
    r.tcp(0.04, S, 8080, C, 40106, RST | ACK, 5001, 1010, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Mismatch, "tls-hello-closed"));
    assert_eq!(v.conn_state, "RSTR");
}

#[test]
fn overload_signs_on_a_connection_that_got_through() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40107, S, 80, SYN, 1000, 0, 64);
    r.tcp(1.0, C, 40107, S, 80, SYN, 1000, 0, 64);
    r.tcp(1.01, S, 80, C, 40107, SYN | ACK, 5000, 1001, 61);
    r.tcp(1.02, C, 40107, S, 80, ACK, 1001, 5001, 64);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "slow-accept"));
    assert_eq!(v.evidence["ended"], "still-open");

    let mut r = Run::new();
    handshake(&mut r, 0.0, 40108, 80);
    r.tcp(1.0, S, 80, C, 40108, SYN | ACK, 5000, 1001, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "syn-ack-retransmitted"));

    let mut r = Run::new();
    handshake(&mut r, 0.0, 40109, 80);
    r.tcp_data(0.03, C, 40109, S, 80, ACK | PSH_, 1001, 5001, 500, b"x");
    r.tcp_data(0.04, S, 80, C, 40109, ACK, 5001, 1002, 0, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "zero-window"));
    assert_eq!(v.evidence["zero_window_packet"], 5);
}

fn dns(id: u16, flags: u16, name: &[u8], qtype: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(name);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m
}

#[test]
fn dns_failures_by_rcode_and_by_silence() {
    let name = b"\x04nope\x07example\x00";
    for (rcode, cause) in [(3u16, "nxdomain"), (2, "servfail"), (5, "refused")] {
        let mut r = Run::new();
        r.udp_data(0.0, C, 53000, S, 53, &dns(0xbeef, 0x0100, name, 1));
        r.udp_data(0.01, S, 53, C, 53000, &dns(0xbeef, 0x8180 | rcode, name, 1));
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::DnsFailure, cause));
        assert_eq!(v.evidence["dns_query"], "nope.example");
        assert_eq!(v.evidence["dns_qtype"], "A");
        assert_eq!(v.conn_state, "SF");
    }
    let mut r = Run::new();
    r.udp_data(0.0, C, 53001, S, 53, &dns(1, 0x0100, name, 28));
    r.udp_data(0.01, S, 53, C, 53001, &dns(1, 0x8180, name, 28));
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Answered, "reply-seen"));
    assert_eq!(v.evidence["dns_rcode"], "NOERROR");

    let mut r = Run::new();
    r.udp_data(0.0, C, 53002, S, 53, &dns(7, 0x0100, name, 1));
    r.udp_data(1.0, C, 53002, S, 53, &dns(7, 0x0100, name, 1));
    r.udp(10.0, C, 1, "192.0.2.99", 9);
    let v = r.finish();
    assert_eq!((v[0].kind(), v[0].cause.word()), (VerdictKind::DnsFailure, "no-response"));
    assert_eq!(v[0].evidence["dns_queries"], 1);
    assert_eq!(v[0].conn_state, "S0");
}

/// NXDOMAIN to a WPAD probe or a service lookup is the answer the software expects; the same
/// rcode for an ordinary name stays a failure, and SERVFAIL for a probe is one too.
#[test]
fn nxdomain_to_a_discovery_probe_is_an_answer() {
    let wpad = b"\x04wpad\x04corp\x07example\x00";
    let srv = b"\x05_ldap\x04_tcp\x02dc\x06_msdcs\x04corp\x07example\x00";
    for (name, qtype, kind) in [(&wpad[..], 1, "wpad"), (&srv[..], 33, "service")] {
        let mut r = Run::new();
        r.udp_data(0.0, C, 53010, S, 53, &dns(0x0101, 0x0100, name, qtype));
        r.udp_data(0.01, S, 53, C, 53010, &dns(0x0101, 0x8183, name, qtype));
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Answered, "discovery-name"));
        assert_eq!(v.evidence["dns_discovery"], kind);
        assert_eq!(v.evidence["dns_rcode"], "NXDOMAIN");
        assert!(!v.cause.is_failure());
    }
    let mut r = Run::new();
    r.udp_data(0.0, C, 53011, S, 53, &dns(0x0102, 0x0100, wpad, 1));
    r.udp_data(0.01, S, 53, C, 53011, &dns(0x0102, 0x8182, wpad, 1));
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::DnsFailure, "servfail"));
    assert!(v.evidence.get("dns_discovery").is_none());
}

#[test]
fn zeek_conn_states() {
    let mut r = Run::new();
    r.tcp(0.0, C, 1, S, 80, SYN, 1, 0, 64);
    r.tcp(0.1, S, 80, C, 1, RST | ACK, 0, 2, 64);
    r.tcp(1.0, C, 2, S, 80, SYN, 1, 0, 64);
    r.tcp(1.1, C, 2, S, 80, RST, 2, 0, 64);
    r.tcp(2.0, C, 3, S, 80, SYN, 1, 0, 64);
    let states: Vec<&str> = r.finish().iter().map(|v| v.conn_state).collect();
    assert_eq!(states, vec!["REJ", "RSTOS0", "S0"]);
}

#[test]
fn unanswered_arp_for_a_silent_server_means_host_down() {
    let arp = |r: &mut Run, ts: f64, solicit: bool, target: &str| {
        let n = crate::decode::NeighborMessage { solicit, target: ip(target) };
        r.push(ts, C, target, 0, Transport::Neighbor(n));
    };
    let mut r = Run::new();
    r.tcp(0.0, C, 40200, S, 80, SYN, 1, 0, 64);
    arp(&mut r, 0.5, true, S);
    arp(&mut r, 1.5, true, S);
    r.tcp(1.0, C, 40201, "198.51.100.8", 80, SYN, 1, 0, 64);
    arp(&mut r, 1.2, true, "198.51.100.8");
    arp(&mut r, 1.3, false, "198.51.100.8");
    r.tcp(20.0, C, 1, "192.0.2.200", 1, SYN, 1, 0, 64);
    let v = r.finish();
    assert_eq!((v[0].kind(), v[0].cause.word()), (VerdictKind::Unanswered, "host-down"));
    assert_eq!(v[0].evidence["neighbor_solicitations"], 2);
    // Its address was resolved: it is up, so its port is filtered.
    assert_eq!((v[1].kind(), v[1].cause.word()), (VerdictKind::Unanswered, "filtered"));
}

#[test]
fn decided_conversations_make_room_before_open_attempts_do() {
    // A flood of refused attempts, far more than the table holds, each SYN answered 1 ms
    // later: pushing out lingering (decided) conversations keeps every pending SYN in place.
    let mut r = Run::with(TrackerConfig { max_flows: 100, ..TrackerConfig::default() });
    for i in 0..5_000u32 {
        let src = format!("10.1.{}.{}", i >> 8, i & 255);
        r.tcp(f64::from(i) * 1e-4, &src, 1234, S, 80, SYN, i, 0, 64);
        r.tcp(f64::from(i) * 1e-4 + 1e-3, S, 80, &src, 1234, RST | ACK, 0, i + 1, 64);
    }
    let v = r.finish();
    assert_eq!(v.len(), 5_000);
    assert!(
        v.iter().all(|v| v.kind() == VerdictKind::Refused),
        "{:?}",
        v.iter().find(|v| v.kind() != VerdictKind::Refused)
    );
}

#[test]
fn a_tracked_conversation_stays_small() {
    // The README's memory bound per conversation rests on these sizes.
    assert!(
        std::mem::size_of::<attempt::Flow>() <= 352,
        "{}",
        std::mem::size_of::<attempt::Flow>()
    );
    // (472 since the state is two TcpEndpoints: each pads its flag to 8 bytes; then the gap
    // between the last two SYNs that the deadline follows, the packet of an RST a look-ahead
    // found forged, and the server's reply after a banner: a box, and three bytes; then the
    // TLS handshake's box, `tls::TLS_STATE_BYTES` more for a conversation begun with a
    // ClientHello; then 64 bytes for where RSTs came from and whether the server hung: each
    // side's hop counts and last IP ID, its furthest ACK and the end of its latest payload.)
    assert!(tcp::tcp_state_size() <= 568, "{}", tcp::tcp_state_size());
    // What lingers once the verdict is out: a flood leaves hundreds of thousands.
    assert!(
        std::mem::size_of::<linger::Decided>() <= 112,
        "{}",
        std::mem::size_of::<linger::Decided>()
    );
}

#[test]
fn dns_over_tcp_failures_and_silence() {
    let name = b"\x04nope\x07example\x00";
    let framed = |m: Vec<u8>| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend(m);
        v
    };
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40300, 53);
    r.tcp_data(
        0.03,
        C,
        40300,
        S,
        53,
        ACK | PSH_,
        1001,
        5001,
        500,
        &framed(dns(9, 0x0100, name, 1)),
    );
    r.tcp_data(
        0.04,
        S,
        53,
        C,
        40300,
        ACK | PSH_,
        5001,
        1032,
        500,
        &framed(dns(9, 0x8183, name, 1)),
    );
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::DnsFailure, "nxdomain"));
    assert_eq!(v.evidence["dns_transport"], "tcp");
    assert_eq!(v.evidence["dns_query"], "nope.example");

    let mut r = Run::new();
    handshake(&mut r, 0.0, 40301, 53);
    r.tcp_data(
        0.03,
        C,
        40301,
        S,
        53,
        ACK | PSH_,
        1001,
        5001,
        500,
        &framed(dns(9, 0x0100, name, 1)),
    );
    r.tcp(0.04, S, 53, C, 40301, FIN | ACK, 5001, 1032, 61);
    r.tcp(0.05, C, 40301, S, 53, FIN | ACK, 1032, 5002, 64);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::DnsFailure, "no-response"));
}

// Found by an independent review against real-capture situations.

#[test]
fn duplicated_packets_are_not_retransmissions() {
    let mut r = Run::new();
    for t in [0.0, 0.0] {
        r.tcp(t, C, 40400, S, 80, SYN, 1000, 0, 64);
    }
    for t in [0.01, 0.01] {
        r.tcp(t, S, 80, C, 40400, SYN | ACK, 5000, 1001, 61);
    }
    r.tcp(0.02, C, 40400, S, 80, ACK, 1001, 5001, 64);
    r.tcp(0.03, C, 40400, S, 80, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.04, S, 80, C, 40400, FIN | ACK, 5001, 1002, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"));
    assert_eq!(v.evidence["syn_count"], 1);
    assert_eq!(v.evidence["syn_duplicates"], 2);
}

#[test]
fn who_closed_first_follows_time_not_file_order() {
    // One file per direction (a TAP): the server's packets are in input 0, the client's in
    // input 1. The client closes first, without a request: a health check, not a rejection.
    let mut r = Run::new();
    let at = |r: &mut Run,
              file: u16,
              ts: f64,
              src: &str,
              sp: u16,
              dst: &str,
              dp: u16,
              flags: u8,
              seq: u32,
              ack: u32| {
        r.number += 1;
        let t = TcpSegment {
            src_port: sp,
            dst_port: dp,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 100,
            payload_len: 0,
            payload: PayloadPrefix::default(),
        };
        let p = Packet {
            ts: Timestamp::from_secs_f64(ts),
            origin: Origin { file, number: r.number, offset: 0 },
            vlan: 0,
            src: ip(src),
            dst: ip(dst),
            ttl: 64,
            ip_id: 0,
            dont_fragment: false,
            link_dst: Default::default(),
            tunnel: Default::default(),
            transport: Transport::Tcp(t),
        };
        r.tracker.packet(&p, &mut r.out);
    };
    at(&mut r, 1, 0.00, C, 40401, S, 22, SYN, 1000, 0);
    at(&mut r, 0, 0.01, S, 22, C, 40401, SYN | ACK, 5000, 1001);
    at(&mut r, 1, 0.02, C, 40401, S, 22, ACK, 1001, 5001);
    at(&mut r, 1, 0.03, C, 40401, S, 22, FIN | ACK, 1001, 5001);
    at(&mut r, 0, 0.04, S, 22, C, 40401, FIN | ACK, 5001, 1002);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"));
}

#[test]
fn a_client_reset_before_any_answer_is_not_the_end_if_the_syn_is_retried() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40402, S, 80, SYN, 1000, 0, 64);
    r.tcp(0.01, S, 80, C, 40402, ACK, 777, 4242, 61); // a stale ACK for an old connection
    r.tcp(0.02, C, 40402, S, 80, RST, 4242, 0, 64);
    r.tcp(1.0, C, 40402, S, 80, SYN, 1000, 0, 64);
    r.tcp(1.01, S, 80, C, 40402, SYN | ACK, 5000, 1001, 61);
    r.tcp(1.02, C, 40402, S, 80, ACK, 1001, 5001, 64);
    let v = one(r);
    assert_eq!(v.kind(), VerdictKind::Established, "{v:?}");
}

#[test]
fn tcp_fast_open_syn_refused_by_an_rst_acking_its_data() {
    let mut r = Run::new();
    r.tcp_data(0.0, C, 40403, S, 443, SYN, 1000, 0, 500, b"0123456789");
    r.tcp(0.01, S, 443, C, 40403, RST | ACK, 0, 1011, 61);
    let v = one(r);
    assert_eq!(v.kind(), VerdictKind::Refused);
}

#[test]
fn a_syn_ack_captured_before_its_syn_is_one_conversation() {
    let mut r = Run::new();
    r.tcp(0.000, S, 80, C, 40404, SYN | ACK, 5000, 1001, 61);
    r.tcp(0.001, C, 40404, S, 80, SYN, 1000, 0, 64);
    r.tcp(0.002, C, 40404, S, 80, ACK, 1001, 5001, 64);
    r.tcp(0.003, C, 40404, S, 80, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.004, S, 80, C, 40404, FIN | ACK, 5001, 1002, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"));
}

#[test]
fn simultaneous_open_is_not_an_overload_sign() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40405, S, 5000, SYN, 1000, 0, 64);
    r.tcp(0.001, S, 5000, C, 40405, SYN, 7000, 0, 61);
    r.tcp(0.002, C, 40405, S, 5000, SYN | ACK, 1000, 7001, 64);
    r.tcp(0.003, S, 5000, C, 40405, SYN | ACK, 7000, 1001, 61);
    let v = one(r);
    assert_eq!(v.kind(), VerdictKind::Established);
    assert_ne!(v.cause, "syn-ack-retransmitted");
}

#[test]
fn a_keepalive_after_the_idle_timeout_is_not_a_new_attempt() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40406, 22);
    r.tcp(400.0, C, 40406, S, 22, ACK, 1000, 5001, 64); // keepalive
    r.tcp(400.01, S, 22, C, 40406, ACK, 5001, 1001, 61);
    r.tcp(475.0, C, 40406, S, 22, ACK, 1000, 5001, 64);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Established, "idle")]);
}

#[test]
fn timestamps_running_backwards_do_not_pile_up_timers() {
    let mut r = Run::with(TrackerConfig { max_flows: 10, ..TrackerConfig::default() });
    for i in 0..100_000u32 {
        r.tcp(1000.0 - f64::from(i) * 0.001, C, 40407, S, 80, SYN, 1, 0, 64);
    }
    assert!(r.tracker.timers() < 100, "{} timers", r.tracker.timers());
}

#[test]
fn dns_queries_on_one_socket_are_each_matched() {
    let a = b"\x07example\x03com\x00";
    // A and AAAA in parallel, both answered: answered once both are.
    let mut r = Run::new();
    r.udp_data(0.0, C, 41000, S, 53, &dns(1, 0x0100, a, 1));
    r.udp_data(0.0001, C, 41000, S, 53, &dns(2, 0x0100, a, 28));
    r.udp_data(0.01, S, 53, C, 41000, &dns(2, 0x8180, a, 28));
    assert!(r.out.is_empty(), "decided before the second answer");
    r.udp_data(0.02, S, 53, C, 41000, &dns(1, 0x8180, a, 1));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "reply-seen")]);
    assert_eq!(r.out[0].evidence["dns_answered"], 2);

    // One of them fails: the failure is reported with the failing query's name and type.
    let mut r = Run::new();
    r.udp_data(0.0, C, 41001, S, 53, &dns(1, 0x0100, a, 1));
    r.udp_data(0.0001, C, 41001, S, 53, &dns(2, 0x0100, a, 28));
    r.udp_data(0.01, S, 53, C, 41001, &dns(1, 0x8180, a, 1));
    r.udp_data(0.02, S, 53, C, 41001, &dns(2, 0x8182, a, 28));
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::DnsFailure, "servfail"));
    assert_eq!(v.evidence["dns_qtype"], "AAAA");
    assert_eq!(v.evidence["dns_rcode"], "SERVFAIL");

    // A resolver's retry exactly at the timeout, answered: in time.
    let mut r = Run::new();
    r.udp_data(0.0, C, 41002, S, 53, &dns(7, 0x0100, a, 1));
    r.udp_data(5.0, C, 41002, S, 53, &dns(7, 0x0100, a, 1));
    r.udp_data(5.01, S, 53, C, 41002, &dns(7, 0x8180, a, 1));
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Answered, "reply-seen"));
}

#[test]
fn an_icmp_error_quoting_a_syn_ack_names_the_right_client() {
    let mut r = Run::new();
    let q = QuotedPacket {
        proto: Proto::Tcp,
        src: ip(S),
        dst: ip(C),
        src_port: 80,
        dst_port: 40500,
        tcp_seq: Some(5000),
        tcp_flags: Some(TcpFlags(SYN | ACK)),
        echo: None,
        sctp_vtag: None,
        ttl: 60,
        tunnel: Default::default(),
        tunnel_only: false,
    };
    r.icmp(0.0, "203.0.113.1", S, 250, IcmpErrorKind::DestinationUnreachable, 1, q);
    let v = one(r);
    // The SYN-ACK could not reach the client: no failure of the server's.
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Partial, "reply-undeliverable"));
    assert_eq!(v.client.to_string(), "192.0.2.1:40500");
    assert_eq!(v.server.to_string(), "198.51.100.7:80");
}

#[test]
fn one_mis_stamped_packet_does_not_move_the_clock_but_a_real_gap_does() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40600, S, 80, SYN, 1, 0, 64);
    r.udp(1.0 + 86_400.0, C, 5000, S, 53); // dated a day ahead
    r.tcp(1.1, S, 80, C, 40600, SYN | ACK, 9, 2, 61);
    r.tcp(1.2, C, 40600, S, 80, ACK, 2, 10, 64);
    assert!(r.out.is_empty(), "{:?}", r.out);
    assert_eq!(r.tracker.stats().clock_jumps, 1);
    // A leap confirmed by two packets is real, but nothing was recorded in it: the attempt
    // waiting across it did not see its timeout pass.
    r.tcp(2.0, C, 40601, S, 81, SYN, 1, 0, 64);
    r.udp(7200.0, C, 5001, S, 53);
    r.udp(7200.5, C, 5001, S, 53);
    let v = r.out.iter().find(|v| v.client.port == 40601).unwrap();
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Unanswered, "capture-ended"));
    assert_eq!(v.evidence["waited_after_last_syn"], 0.0);
    assert_eq!(v.evidence["coverage_gap_from"], 1002.0);
    // (It ends at the leap's first packet: the second only confirmed it.)
    assert_eq!(v.evidence["coverage_gap_to"], 8200.0);
    assert_eq!(r.tracker.stats().coverage_gaps, 1);
    let v = r.finish();
    // (Not idle: the leap does not count as its silence.)
    assert!(v.iter().any(|v| v.client.port == 40600 && v.cause == "still-open"));
}

#[test]
fn time_between_two_inputs_is_not_silence() {
    // Input one ends 3.005 s after a SYN; input two, of another day, starts.
    let mut r = Run::new();
    r.tcp(0.0, "192.0.2.9", 1, S, 1, SYN, 1, 0, 64);
    r.tcp(0.01, S, 1, "192.0.2.9", 1, SYN | ACK, 1, 2, 61); // the server is up: it would be filtered
    r.tcp(0.0, C, 40700, S, 443, SYN, 1, 0, 64);
    r.udp(1.0, C, 40555, S, 9999);
    r.tcp(3.005, C, 40701, "203.0.113.9", 80, ACK, 1, 1, 64); // mid-stream, waits to be idle
    let gap = (Timestamp::from_secs_f64(1003.005), Timestamp::from_secs_f64(90_000.0));
    r.tracker.coverage_gap(gap.0, gap.1, &mut r.out);
    let v = r.out.iter().find(|v| v.client.port == 40700).unwrap();
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Unanswered, "capture-ended"));
    assert_eq!(v.evidence["waited_after_last_syn"], 3.005);
    assert_eq!(v.evidence["capture_ended_before_timeout"], true);
    assert_eq!(v.evidence["coverage_gap_from"], 1003.005);
    assert_eq!(v.evidence["coverage_gap_to"], 90_000.0);
    let u = r.out.iter().find(|v| v.client.port == 40555).unwrap();
    assert_eq!(u.cause, "capture-ended");
    assert_eq!(u.evidence["waited_after_last_request"], 2.005);
    // The second input: nothing about the first one's attempts, the mid-stream one goes on.
    r.udp(89_000.0, "192.0.2.77", 5000, "203.0.113.50", 53);
    r.tcp(89_001.0, C, 40701, "203.0.113.9", 80, ACK, 1, 1, 64);
    let v = r.finish();
    assert_eq!(v.iter().filter(|v| v.cause == "filtered" || v.cause == "no-response").count(), 0);
    let m = v.iter().find(|v| v.client.port == 40701).unwrap();
    assert_eq!(m.evidence["client_packets"], 2, "one conversation across the gap");
}

#[test]
fn a_flood_cut_by_the_end_of_an_input_is_capture_ended_not_no_response() {
    let mut r = Run::new();
    for i in 0..200u16 {
        r.tcp(f64::from(i) * 0.01, C, 10_000 + i, S, 80, SYN, 1, 0, 64);
    }
    let gap = (Timestamp::from_secs_f64(1002.0), Timestamp::from_secs_f64(5000.0));
    r.tracker.coverage_gap(gap.0, gap.1, &mut r.out);
    r.udp(5001.0, "192.0.2.77", 5000, "203.0.113.50", 9999);
    let v = r.finish();
    assert_eq!(v.iter().filter(|v| v.cause == "capture-ended").count(), 201);
}

#[test]
fn an_rst_far_outside_the_stream_does_not_end_the_connection() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40700, 80);
    r.tcp(0.03, S, 80, C, 40700, RST, 0x8000_0000, 0, 61); // blind, random sequence number
    r.tcp_data(0.04, C, 40700, S, 80, ACK | PSH_, 1001, 5001, 500, b"GET / HTTP/1.1\r\n\r\n");
    r.tcp_data(0.05, S, 80, C, 40700, ACK | PSH_, 5001, 1019, 500, b"HTTP/1.1 200 OK\r\n\r\n");
    r.tcp(0.06, C, 40700, S, 80, FIN | ACK, 1019, 5020, 64);
    r.tcp(0.07, S, 80, C, 40700, FIN | ACK, 5020, 1020, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"));
    assert_eq!(v.evidence["ignored_rsts"], 1);
}

#[test]
fn a_decided_conversation_still_absorbs_late_packets_and_notes_their_ttl() {
    // Once its verdict is out a conversation keeps only what late packets need; they must
    // be handled exactly as before.
    let mut r = Run::new();
    r.tcp(0.0, C, 40020, S, 80, SYN, 100, 0, 64);
    r.icmp(
        0.01,
        "203.0.113.1",
        C,
        250,
        IcmpErrorKind::DestinationUnreachable,
        13,
        quote_tcp(C, 40020, S, 80, 100),
    );
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unreachable, "admin-prohibited")]);
    // Late: a second ICMP error, the SYN retransmitted with the same ISN, a SYN-ACK (the
    // server's first packet: its TTL is the host's own), the client's RST.
    r.icmp(
        0.02,
        "203.0.113.1",
        C,
        250,
        IcmpErrorKind::DestinationUnreachable,
        13,
        quote_tcp(C, 40020, S, 80, 100),
    );
    r.tcp(0.5, C, 40020, S, 80, SYN, 100, 0, 64);
    r.tcp(0.6, S, 80, C, 40020, SYN | ACK, 7000, 101, 60);
    r.tcp(0.7, C, 40020, S, 80, RST, 101, 0, 64);
    assert_eq!(r.out.len(), 1);
    assert_eq!(r.tracker.stats().late_packets, 4);
    assert_eq!(r.tracker.flows(), 1);
    // The host's TTL from the late SYN-ACK tells its own RST from an injected one.
    r.tcp(1.0, C, 40021, S, 80, SYN, 300, 0, 64);
    r.tcp(1.01, S, 80, C, 40021, RST | ACK, 0, 301, 60);
    // (Written once its look-ahead is over: at the next packet after 2.01.)
    // A SYN with a new ISN from the client, and a SYN from the server side, are new attempts.
    r.tcp(2.0, C, 40020, S, 80, SYN, 900, 0, 64);
    r.tcp(2.01, S, 80, C, 40020, RST | ACK, 0, 901, 60);
    r.tcp(3.0, S, 80, C, 40021, SYN, 5, 0, 60);
    // A late UDP reply is absorbed too.
    r.udp(4.0, C, 5000, S, 53);
    assert_eq!(r.out[1].cause, "host-reset");
    assert_eq!(r.out[1].evidence["host_ttl"], 60);
    r.udp(4.1, S, 53, C, 5000);
    r.udp(4.2, S, 53, C, 5000);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![
            (VerdictKind::Unreachable, "admin-prohibited"),
            (VerdictKind::Refused, "host-reset"),
            (VerdictKind::Refused, "host-reset"),
            (VerdictKind::Answered, "reply-seen"),
            (VerdictKind::Unanswered, "capture-ended"),
        ]
    );
    assert_eq!(v[2].evidence["attempt"], 3);
    assert_eq!(v[4].client.port, 80);
}

#[test]
fn stale_timers_do_not_pile_up_under_a_flood() {
    // SYNs answered by RSTs at 100 000 a second through a 1 000-conversation table: each
    // attempt leaves timers behind (its SYN timeout, its linger when pushed out); the heap
    // stays within what the table holds.
    let mut r = Run::with(TrackerConfig { max_flows: 1000, ..TrackerConfig::default() });
    let mut peak = 0;
    for i in 0..200_000u32 {
        let t = f64::from(i) * 0.00001;
        let c = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        r.tcp(t, &c, 40000, S, 80, SYN, i, 0, 64);
        r.tcp(t + 0.000001, S, 80, &c, 40000, RST | ACK, 0, i.wrapping_add(1), 61);
        r.out.clear();
        peak = peak.max(r.tracker.timers());
    }
    assert!(peak <= 2 * 1000 + 1024 + 2, "{peak} timers");
    // One 5-tuple used again and again (a new ISN each time) in a one-conversation table.
    let mut r = Run::with(TrackerConfig { max_flows: 1, ..TrackerConfig::default() });
    for i in 0..20_000u32 {
        let t = f64::from(i) * 0.0001;
        r.tcp(t, C, 40000, S, 80, SYN, i * 7, 0, 64);
        r.tcp(t + 0.00001, S, 80, C, 40000, RST | ACK, 0, (i * 7).wrapping_add(1), 61);
        r.out.clear();
        assert!(r.tracker.timers() <= 2 + 1024 + 2, "{} timers", r.tracker.timers());
    }
}

#[test]
fn two_frames_with_the_same_far_time_confirm_the_leap() {
    let mut r = Run::new();
    r.tcp(0.0, C, 41001, S, 80, SYN, 1, 0, 64);
    r.tcp(7200.0, C, 41002, S, 80, SYN, 1, 0, 64);
    r.tcp(7200.0, C, 41003, S, 80, SYN, 1, 0, 64);
    let v = r.finish();
    let first = v.iter().find(|x| x.client.port == 41001).unwrap();
    // Confirmed: the clock leapt, and the leap is time nothing was recorded in.
    assert_eq!((first.kind(), first.cause.word()), (VerdictKind::Unanswered, "capture-ended"));
    assert_eq!(first.evidence["coverage_gap_to"], 8200.0);
}

#[test]
fn late_acks_after_a_close_extend_the_linger() {
    let mut r = Run::new();
    r.tcp(0.0, C, 40504, S, 80, SYN, 1000, 0, 64);
    r.tcp(0.1, S, 80, C, 40504, SYN | ACK, 5000, 1001, 60);
    r.tcp(0.2, C, 40504, S, 80, ACK, 1001, 5001, 64);
    r.tcp(0.3, C, 40504, S, 80, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.4, S, 80, C, 40504, FIN | ACK, 5001, 1002, 60);
    // Within the linger, then within the linger the first late ACK extended.
    r.tcp(20.0, C, 40504, S, 80, ACK, 1002, 5002, 64);
    r.tcp(45.0, C, 40504, S, 80, ACK, 1002, 5002, 64);
    assert_eq!(r.tracker.stats().late_packets, 2);
    let v = r.finish();
    assert_eq!(
        v.len(),
        1,
        "{:?}",
        v.iter().map(|x| (x.kind(), x.cause.word())).collect::<Vec<_>>()
    );
    assert_eq!(v[0].kind(), VerdictKind::Established);
}

#[test]
fn a_full_table_pushes_out_the_first_seen_of_equal_deadlines() {
    let mut r = Run::with(TrackerConfig { max_flows: 3, ..TrackerConfig::default() });
    r.tcp(0.0, C, 1, S, 80, SYN, 1, 0, 64); // A
    r.tcp(0.0, C, 2, S, 80, SYN, 1, 0, 64); // B
    r.tcp(0.0, S, 80, C, 1, RST | ACK, 0, 2, 61); // A refused: its record lingers
    r.tcp(0.0, C, 3, S, 80, SYN, 1, 0, 64); // C
    r.tcp(0.0, C, 4, S, 80, SYN, 1, 0, 64); // D: A's record makes room
    r.tcp(0.0, C, 5, S, 80, SYN, 1, 0, 64); // E: B, C, D have one deadline; B was first
    let evicted: Vec<u16> = r
        .out
        .iter()
        .filter(|v| v.cause.word().starts_with("evicted"))
        .map(|v| v.client.port)
        .collect();
    assert_eq!(evicted, vec![2], "{:?}", r.out.iter().map(|v| v.cause).collect::<Vec<_>>());
}

fn quote_udp(src: &str, sport: u16, dst: &str, dport: u16) -> QuotedPacket {
    QuotedPacket {
        proto: Proto::Udp,
        src: ip(src),
        dst: ip(dst),
        src_port: sport,
        dst_port: dport,
        tcp_seq: None,
        tcp_flags: None,
        echo: None,
        sctp_vtag: None,
        ttl: 64,
        tunnel: Default::default(),
        tunnel_only: false,
    }
}

/// Syslog (RFC 5426) is never acknowledged: a stream of messages with nothing back is
/// `one-way`, counted whole (it waits like an established conversation), not `unanswered`.
#[test]
fn syslog_with_nothing_back_is_one_way() {
    let mut r = Run::new();
    for (i, at) in [0.0, 2.0, 9.0, 30.0].into_iter().enumerate() {
        r.udp_data(at, C, 40514, S, 514, format!("<14>message {i}").as_bytes());
    }
    // 30 s of silence is no verdict yet: a one-way stream waits for --idle-timeout.
    r.udp(100.0, C, 5000, S, 53);
    r.udp(100.01, S, 53, C, 5000);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "reply-seen")]);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Answered, "reply-seen"), (VerdictKind::OneWay, "one-way-protocol")]
    );
    let w = &v[1];
    assert!(!w.kind().is_failure());
    assert_eq!(w.cause.blames(), crate::verdict::Party::None);
    assert_eq!((w.client.port, w.server.port), (40514, 514));
    assert_eq!(w.evidence["protocol"], "syslog");
    assert_eq!(w.evidence["one_way_port"], 514);
    assert_eq!(w.evidence["client_packets"], 4);
    assert_eq!(w.evidence["server_packets"], 0);
    assert_eq!(w.evidence["duration"], 30.0);
    assert!(w.evidence.get("waited_after_last_request").is_none());
    assert_eq!(w.conn_state, "S0");
    assert!(w.hint.to_string().contains("no answer is expected"), "{}", w.hint);
}

/// After --idle-timeout of silence the one-way stream gets its verdict, like an idle
/// established conversation.
#[test]
fn a_one_way_stream_is_judged_after_the_idle_timeout() {
    let mut r = Run::new();
    r.udp(0.0, C, 40514, S, 514);
    r.udp(1.0, C, 40515, S, 9999);
    r.udp(301.0, C, 5000, S, 53);
    assert_eq!(
        kinds(&r.out),
        vec![(VerdictKind::Unanswered, "no-response"), (VerdictKind::OneWay, "one-way-protocol")]
    );
}

/// A syslog server that is down is a failure when ICMP says so, also about a later datagram
/// of the stream.
#[test]
fn syslog_with_icmp_port_unreachable_is_unreachable() {
    let mut r = Run::new();
    r.udp(0.0, C, 40514, S, 514);
    r.icmp(0.01, S, C, 64, IcmpErrorKind::DestinationUnreachable, 3, quote_udp(C, 40514, S, 514));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unreachable, "port-unreachable")]);
    // The first datagrams drew nothing (ICMP rate limits); the third an error.
    r.udp(10.0, C, 40515, S, 514);
    r.udp(20.0, C, 40515, S, 514);
    r.udp(30.0, C, 40515, S, 514);
    r.icmp(30.01, S, C, 64, IcmpErrorKind::DestinationUnreachable, 3, quote_udp(C, 40515, S, 514));
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![
            (VerdictKind::Unreachable, "port-unreachable"),
            (VerdictKind::Unreachable, "port-unreachable")
        ]
    );
    assert_eq!(v[1].evidence["client_packets"], 3);
}

/// A port no list names stays request/response: silence is `unanswered`, as before.
#[test]
fn silence_on_an_unknown_port_is_still_unanswered() {
    let mut r = Run::new();
    r.udp(0.0, C, 40000, S, 5140);
    r.udp(10.0, C, 40001, S, 5141);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Unanswered, "no-response"), (VerdictKind::Unanswered, "capture-ended")]
    );
    assert_eq!(v[0].evidence["waited_after_last_request"], 5.0);
}

/// A reply on a one-way port is still an answer (an SNMP inform's Response).
#[test]
fn a_reply_on_a_one_way_port_is_answered() {
    let mut r = Run::new();
    r.udp(0.0, C, 40162, S, 162);
    r.udp(0.02, S, 162, C, 40162);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "reply-seen")]);
}

/// Which port names the protocol: the destination's (VXLAN from a hashed source port to 4789,
/// BFD from 49152-65535 to 3784, whose two directions are two one-way conversations), else the
/// source's (an SSDP answer to a multicast search, from 1900 to the searcher's port: the sender
/// stays the client, not a reply whose request was missed).
#[test]
fn the_destination_port_names_the_protocol_else_the_source_port() {
    let mut r = Run::new();
    r.udp(0.0, C, 54321, S, 4789);
    r.udp(0.1, C, 49152, S, 3784);
    r.udp(0.2, S, 49153, C, 3784);
    r.udp(0.3, S, 1900, C, 50000);
    r.udp(0.4, S, 514, C, 5140);
    let v = r.finish();
    let got: Vec<_> = v
        .iter()
        .map(|v| (v.kind(), v.server.port, v.evidence["protocol"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (VerdictKind::OneWay, 4789, "vxlan".to_string()),
            (VerdictKind::OneWay, 3784, "bfd".to_string()),
            (VerdictKind::OneWay, 3784, "bfd".to_string()),
            (VerdictKind::OneWay, 50000, "ssdp".to_string()),
            (VerdictKind::OneWay, 5140, "syslog".to_string()),
        ]
    );
    assert_eq!(v[3].client.port, 1900);
    assert_eq!(v[3].evidence["one_way_port"], 1900);
}

/// An unanswered mDNS query is not a DNS failure: responders stay silent for names they do
/// not own (RFC 6762 §6).
#[test]
fn an_unanswered_mdns_query_is_one_way() {
    let mut r = Run::new();
    let q = [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, b'h', b'o', b's', b't', 0, 0, 1, 0, 1];
    r.udp_data(0.0, C, 40000, S, 5353, &q);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::OneWay, "one-way-protocol")]);
    assert_eq!(v[0].evidence["protocol"], "mdns");
}

/// A NetBIOS name answer to a broadcast query (137 to 137) is a reply, not an attempt of the
/// answering host: NetBIOS names stay request/response, so 137 is not in the one-way list.
#[test]
fn a_netbios_name_answer_first_is_a_reply_not_an_attempt() {
    let mut r = Run::new();
    // R (response) set in the flags, as in a DNS header.
    let answer = [0x80, 0x01, 0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0];
    r.udp_data(0.0, S, 137, C, 137, &answer);
    // A unicast query to a name server with no answer is still a failure.
    let query = [0x80, 0x02, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    r.udp_data(0.1, C, 137, "192.0.2.99", 137, &query);
    r.udp(10.0, C, 5000, S, 53);
    let v = r.finish();
    let of = |server: &str| v.iter().find(|v| v.server.ip == ip(server)).unwrap();
    assert_eq!(kinds(&v).len(), 3);
    // The answering host is the server of a conversation the capture joined late.
    let answered = v.iter().find(|v| v.server.ip == ip(S) && v.server.port == 137).unwrap();
    assert_eq!((answered.kind(), answered.client.ip), (VerdictKind::Partial, ip(C)));
    assert_eq!(of("192.0.2.99").kind(), VerdictKind::Unanswered);
}

/// `--one-way` edits the built-in list: adds ports and ranges, removes built-in ones, `none`
/// clears it; mistakes are refused with a message naming the item.
#[test]
fn one_way_ports_parse_and_edit_the_list() {
    let mut p = OneWayPorts::built_in();
    p.apply("5140, 7000-7002,-514").unwrap();
    assert!(p.contains(5140) && p.contains(7000) && p.contains(7002) && !p.contains(7003));
    assert!(!p.contains(514) && p.contains(4789));
    p.apply("-7001-7002").unwrap();
    assert!(p.contains(7000) && !p.contains(7001));
    p.apply("none,514").unwrap();
    assert_eq!(p.ranges(), vec![(514, 514)]);
    p.apply("NONE").unwrap();
    assert_eq!(p, OneWayPorts::none());
    p.apply("1-65535").unwrap();
    assert!(p.contains(1) && p.contains(65535) && !p.contains(0));
    for (bad, says) in [
        ("", "empty item"),
        ("514,", "empty item"),
        ("syslog", "`syslog` is not a port"),
        ("0", "port 0"),
        ("65536", "at most 65535"),
        ("100-99", "above its last"),
        ("1-2-3", "`1-2-3` is not a port"),
        ("+5", "`+5` is not a port"),
        ("--5", "`--5` is not a port"),
    ] {
        let mut p = OneWayPorts::built_in();
        let e = p.apply(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
        assert_eq!(p, OneWayPorts::built_in(), "{bad}: a bad value changes nothing");
    }
}

/// With a port removed from the list, its silence is `unanswered` again; with one added, its
/// datagrams are one-way (named `listed`).
#[test]
fn the_one_way_list_is_the_configured_one() {
    let mut one_way = OneWayPorts::built_in();
    one_way.apply("-514,5140").unwrap();
    let mut r = Run::with(TrackerConfig { one_way, ..TrackerConfig::default() });
    r.udp(0.0, C, 40514, S, 514);
    r.udp(0.1, C, 40515, S, 5140);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Unanswered, "capture-ended"), (VerdictKind::OneWay, "one-way-protocol")]
    );
    assert_eq!(v[1].evidence["protocol"], "listed");
}

#[test]
fn an_rst_before_the_real_syn_ack_is_forged_and_the_attempt_established() {
    let mut r = Run::new();
    r.tcp(0.0, C, 41100, S, 80, SYN, 700, 0, 64);
    // Injected on the path: acknowledges the SYN, arrives first (another TTL).
    r.tcp(0.010, S, 80, C, 41100, RST | ACK, 0, 701, 120);
    r.tcp(0.030, S, 80, C, 41100, SYN | ACK, 9000, 701, 52);
    r.tcp(0.031, C, 41100, S, 80, ACK, 701, 9001, 64);
    r.tcp_data(0.032, C, 41100, S, 80, ACK, 701, 9001, 1000, b"GET / HTTP/1.1\r\n\r\n");
    r.tcp_data(0.060, S, 80, C, 41100, ACK, 9001, 719, 1000, b"HTTP/1.1 200 OK\r\n\r\n");
    r.tcp(0.070, C, 41100, S, 80, FIN | ACK, 719, 9020, 64);
    r.tcp(0.080, S, 80, C, 41100, FIN | ACK, 9020, 720, 52);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Established, "injected-reset")]);
    let v = r.finish();
    assert_eq!(v.len(), 1, "one verdict, not a refusal and another");
    assert_eq!(v[0].evidence["ignored_rst_packet"], 2);
    assert_eq!(v[0].evidence["ended"], "closed");
    assert_eq!(v[0].cause.blames(), crate::verdict::Party::Path);
    assert!(v[0].revises.is_none());
}

#[test]
fn a_refusal_nothing_contradicts_is_written_after_the_look_ahead() {
    let mut r = Run::new();
    r.tcp(0.0, C, 41101, S, 80, SYN, 700, 0, 64);
    r.tcp(0.01, S, 80, C, 41101, RST | ACK, 0, 701, 61);
    r.tcp(0.5, C, 41101, S, 80, SYN, 700, 0, 64); // crossed the RST: absorbed
    assert!(r.out.is_empty(), "held for the look-ahead");
    r.udp(1.02, C, 5000, S, 9999);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Refused, "reset")]);
    assert_eq!(r.out[0].evidence["rst_packet"], 2);
    assert_eq!(r.out[0].evidence["syn_count"], 1, "as decided, the late SYN aside");
    assert_eq!(r.tracker.stats().late_packets, 1);
}

#[test]
fn a_syn_after_the_wait_ran_out_reopens_the_attempt() {
    let mut r = Run::new();
    r.tcp(0.0, C, 41102, S, 80, SYN, 700, 0, 64);
    // Nothing for 5 s; the client's next SYN comes at 5.5 s (an initial RTO above the wait).
    r.tcp(5.5, C, 41102, S, 80, SYN, 700, 0, 64);
    r.tcp(5.6, S, 80, C, 41102, SYN | ACK, 9000, 701, 52);
    r.tcp(5.7, C, 41102, S, 80, ACK, 701, 9001, 64);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Established, "slow-accept")]);
    assert_eq!(v[0].evidence["syn_count"], 2);
}

#[test]
fn live_a_contradicted_verdict_is_corrected_by_a_later_line() {
    let mut r = Run::with(TrackerConfig { hold_verdicts: false, ..TrackerConfig::default() });
    r.tcp(0.0, C, 41103, S, 80, SYN, 700, 0, 64);
    r.tcp(0.010, S, 80, C, 41103, RST | ACK, 0, 701, 120);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Refused, "reset")], "written at once");
    r.tcp(0.030, S, 80, C, 41103, SYN | ACK, 9000, 701, 52);
    r.tcp(0.031, C, 41103, S, 80, ACK, 701, 9001, 64);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Refused, "reset"), (VerdictKind::Established, "injected-reset")]
    );
    assert_eq!(v[1].evidence["attempt"], v[0].evidence["attempt"]);
    assert!(v[0].revises.is_none());
    assert_eq!(v[1].revises, Some(v[0].cause));
}

/// A UDP answer that comes just after the wait ran out revises the unanswered verdict within
/// the look-ahead (offline): the exchange was answered, late.
#[test]
fn a_udp_answer_just_after_the_wait_revises_the_verdict() {
    let mut r = Run::new();
    r.udp(0.0, C, 40900, S, 9999);
    r.udp(5.5, S, 9999, C, 40900);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Answered, "reply-seen")]);
    assert_eq!(v[0].evidence["reply_after"], 5.5);
    // Past the look-ahead the verdict stands, and the late answer is absorbed.
    let mut r = Run::new();
    r.udp(0.0, C, 40901, S, 9999);
    r.udp(7.0, S, 9999, C, 40901);
    let v = r.finish();
    // (Decided at 5 s, when nothing of the server had been seen yet.)
    assert_eq!(kinds(&v), vec![(VerdictKind::Unanswered, "no-response")]);
}

/// A resolver that keeps one port for many lookups: each query with a new ID after the
/// previous lookup's verdict is a lookup of its own, so a later failure is not lost as a late
/// packet of an answered one. A copy of the answered query is not.
#[test]
fn a_new_query_on_a_decided_dns_conversation_is_a_new_lookup() {
    let name = b"\x03www\x07example\x00";
    let mut r = Run::new();
    r.udp_data(0.0, C, 1025, S, 53, &dns(0x0001, 0x0100, name, 1));
    r.udp_data(0.01, S, 53, C, 1025, &dns(0x0001, 0x8180, name, 1));
    r.udp_data(0.02, C, 1025, S, 53, &dns(0x0001, 0x0100, name, 1));
    r.udp_data(1.0, C, 1025, S, 53, &dns(0x0002, 0x0100, name, 28));
    r.udp_data(1.01, S, 53, C, 1025, &dns(0x0002, 0x8182, name, 28));
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Answered, "reply-seen"), (VerdictKind::DnsFailure, "servfail")]
    );
    assert_eq!(v[1].evidence["dns_qtype"], "AAAA");
    assert_eq!(v[1].client.port, 1025);
}

/// A capture of the server's side only: its SYN-ACK and data, nothing of the client. The
/// handshake is there, so it did not begin mid-conversation.
#[test]
fn the_server_side_alone_is_named_so() {
    let mut r = Run::new();
    r.tcp(0.0, S, 80, C, 40123, SYN | ACK, 5000, 1001, 61);
    r.tcp_data(0.05, S, 80, C, 40123, ACK | PSH_, 5001, 1019, 500, b"HTTP/1.1 200 OK\r\n\r\n");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Partial, "client-side-not-captured"));
    assert_eq!((v.client.port, v.server.port), (40123, 80));
}

/// SYN-ACKs with another ISN after the client's ACK are another responder (or a TCP Fast
/// Open exchange), not a server whose accept queue is full.
#[test]
fn a_syn_ack_with_another_isn_is_not_a_full_accept_queue() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40124, 80);
    r.tcp(0.5, S, 80, C, 40124, SYN | ACK, 777_000, 1001, 61);
    r.tcp(0.6, C, 40124, S, 80, FIN | ACK, 1001, 5001, 64);
    r.tcp(0.7, S, 80, C, 40124, FIN | ACK, 5001, 1002, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "closed"));
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40125, 80);
    r.tcp(1.0, S, 80, C, 40125, SYN | ACK, 5000, 1001, 61);
    let v = one(r);
    assert_eq!(v.cause.word(), "syn-ack-retransmitted");
}

/// A conversation on `port` after the handshake: each step is (from the client, its bytes),
/// sequence numbers following on; then `close` (if any) sends that side's FIN (true: the
/// server's) and the other's. Returns the packet number of each step.
fn converse(
    r: &mut Run,
    port: u16,
    cport: u16,
    steps: &[(bool, &[u8])],
    close: Option<bool>,
) -> Vec<u64> {
    handshake(r, 0.0, cport, port);
    let (mut cseq, mut sseq) = (1001u32, 5001u32);
    let mut t = 0.03;
    let mut numbers = Vec::new();
    for &(from_client, data) in steps {
        if from_client {
            r.tcp_data(t, C, cport, S, port, ACK | PSH_, cseq, sseq, 500, data);
            cseq += data.len() as u32;
        } else {
            r.tcp_data(t, S, port, C, cport, ACK | PSH_, sseq, cseq, 500, data);
            sseq += data.len() as u32;
        }
        numbers.push(r.number);
        t += 0.01;
    }
    match close {
        Some(true) => {
            r.tcp(t, S, port, C, cport, FIN | ACK, sseq, cseq, 61);
            r.tcp(t + 0.01, C, cport, S, port, FIN | ACK, cseq, sseq + 1, 64);
        }
        Some(false) => {
            r.tcp(t, C, cport, S, port, FIN | ACK, cseq, sseq, 64);
            r.tcp(t + 0.01, S, port, C, cport, FIN | ACK, sseq, cseq + 1, 61);
        }
        None => {}
    }
    numbers
}

/// A MySQL packet (3-byte little-endian length, sequence id, payload).
fn mysql_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    v.push(seq);
    v.extend_from_slice(payload);
    v
}

/// A MySQL ERR packet (0xff, error code little-endian, `#` + SQLSTATE when given, message).
fn mysql_err(seq: u8, code: u16, state: Option<&[u8; 5]>, msg: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    if let Some(s) = state {
        p.push(b'#');
        p.extend_from_slice(s);
    }
    p.extend_from_slice(msg.as_bytes());
    mysql_packet(seq, &p)
}

/// A MariaDB protocol-10 greeting, as far as its first 44 bytes go.
fn mysql_greeting() -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(b"5.5.5-10.11.6-MariaDB-0+deb12u1\0");
    p.extend_from_slice(&[3, 0, 0, 0]); // connection id
    p.extend_from_slice(b"abcdefgh\0"); // scramble, first part
    p.extend_from_slice(&[0xfe, 0xf7, 8, 2, 0]);
    mysql_packet(0, &p)
}

#[test]
fn mysql_errors_in_place_of_the_greeting_and_after_the_login() {
    for (code, cause) in [
        (1040, "mysql-too-many-connections"),
        (1129, "mysql-host-blocked"),
        (1130, "mysql-host-not-allowed"),
    ] {
        let msg = format!("Host '192.0.2.1' said {code}");
        let err = mysql_err(0, code, None, &msg);
        let mut r = Run::new();
        let n = converse(&mut r, 3306, 40200, &[(false, &err)], Some(true));
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, cause), "{code}");
        assert_eq!(v.evidence["protocol"], "mysql");
        assert_eq!(v.evidence["mysql_error"], code);
        assert!(v.evidence.get("sqlstate").is_none());
        assert_eq!(v.evidence["server_message"], msg);
        assert_eq!(v.evidence["server_message_packet"], n[0]);
    }
    // 1045 answers the login: greeting, login request (sequence 1), ERR (sequence 2).
    let mut login = mysql_packet(1, &[0x85, 0xa6, 0xff, 0x01, 0, 0, 0, 1, 0x21]);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(b"app\0");
    let err = mysql_err(
        2,
        1045,
        Some(b"28000"),
        "Access denied for user 'app'@'192.0.2.1' (using password: YES)",
    );
    let mut r = Run::new();
    let n = converse(
        &mut r,
        3306,
        40201,
        &[(false, &mysql_greeting()), (true, &login), (false, &err)],
        Some(true),
    );
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "mysql-access-denied"));
    assert_eq!(v.cause.blames(), crate::verdict::Party::Client);
    assert_eq!(v.evidence["mysql_error"], 1045);
    assert_eq!(v.evidence["sqlstate"], "28000");
    assert_eq!(
        v.evidence["server_message"],
        "Access denied for user 'app'@'192.0.2.1' (using password: YES)"
    );
    assert_eq!(v.evidence["server_message_packet"], n[2]);
    assert_eq!(v.evidence["server_first_packet"], n[0]);
    // A successful login (OK packet) is no refusal.
    let mut r = Run::new();
    let ok = mysql_packet(2, &[0, 0, 0, 2, 0, 0, 0]);
    converse(
        &mut r,
        3306,
        40202,
        &[(false, &mysql_greeting()), (true, &login), (false, &ok)],
        Some(false),
    );
    assert_eq!(one(r).cause.word(), "closed");
}

#[test]
fn mysql_is_recognised_by_its_packet_on_another_port_but_never_on_a_port_of_another_protocol() {
    let err = mysql_err(
        0,
        1130,
        None,
        "Host '192.0.2.1' is not allowed to connect to this MariaDB server",
    );
    let mut r = Run::new();
    converse(&mut r, 13306, 40210, &[(false, &err)], Some(true));
    assert_eq!(one(r).cause.word(), "mysql-host-not-allowed");
    // The same bytes on port 80, as the answer to a request: not MySQL.
    let mut r = Run::new();
    converse(&mut r, 80, 40211, &[(true, b"GET / HTTP/1.1\r\n\r\n"), (false, &err)], Some(true));
    assert_eq!(one(r).cause.word(), "closed");
    // On another port, an error packet whose length does not match is not read as MySQL.
    let mut bad = err.clone();
    bad[0] = bad[0].wrapping_add(1);
    let mut r = Run::new();
    converse(&mut r, 13306, 40212, &[(false, &bad)], Some(true));
    assert_eq!(one(r).cause.word(), "closed");
}

/// A PostgreSQL ErrorResponse: `E`, int32 length (itself included), fields, a closing 0.
fn pg_error(sqlstate: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (code, value) in [('S', "FATAL"), ('V', "FATAL"), ('C', sqlstate), ('M', message)] {
        fields.push(code as u8);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.extend_from_slice(b"Fauth.c\0L543\0RClientAuthentication\0");
    fields.push(0);
    let mut m = vec![b'E'];
    m.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(&fields);
    m
}

/// A PostgreSQL StartupMessage (protocol 3.0) for user `app`, database `app`.
fn pg_startup() -> Vec<u8> {
    let body = b"\x00\x03\x00\x00user\0app\0database\0app\0\0";
    let mut m = (body.len() as u32 + 4).to_be_bytes().to_vec();
    m.extend_from_slice(body);
    m
}

#[test]
fn postgres_error_responses_by_sqlstate() {
    for (state, message, cause) in [
        (
            "28000",
            "no pg_hba.conf entry for host \"192.0.2.1\", user \"app\", database \"app\", no encryption",
            "pg-hba-rejected",
        ),
        ("28P01", "password authentication failed for user \"app\"", "pg-auth-failed"),
        ("28000", "role \"app\" does not exist", "pg-auth-failed"),
        ("53300", "sorry, too many clients already", "pg-too-many-connections"),
        ("57P03", "the database system is starting up", "pg-starting-up"),
    ] {
        let mut r = Run::new();
        let err = pg_error(state, message);
        let n = converse(&mut r, 5432, 40220, &[(true, &pg_startup()), (false, &err)], Some(true));
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, cause), "{state}");
        assert_eq!(v.evidence["protocol"], "postgresql");
        assert_eq!(v.evidence["sqlstate"], state);
        // The message as far as the kept 128 bytes hold it.
        // (Header 5 bytes, S, V and C fields 7 each, M's code 1.)
        let kept = &message[..message.len().min(128 - 27)];
        assert_eq!(v.evidence["server_message"], kept);
        assert_eq!(v.evidence["server_message_packet"], n[1]);
    }
    // psql's default: an SSLRequest, answered `N`; then the start-up message and the error.
    let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let err = pg_error("28P01", "password authentication failed for user \"app\"");
    let mut r = Run::new();
    let n = converse(
        &mut r,
        15432,
        40221,
        &[(true, &ssl), (false, b"N"), (true, &pg_startup()), (false, &err)],
        Some(true),
    );
    let v = one(r);
    assert_eq!(v.cause.word(), "pg-auth-failed");
    assert_eq!(v.evidence["server_message_packet"], n[3]);
    // SCRAM: the error answers the client's proof, the third message after the start-up.
    let mut r = Run::new();
    let n = converse(
        &mut r,
        5432,
        40222,
        &[
            (true, &ssl),
            (false, b"N"),
            (true, &pg_startup()),
            (false, b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"),
            (true, b"p\0\0\0\x36SCRAM-SHA-256\0\0\0\0\x20n,,n=,r=abc"),
            (false, b"R\0\0\0\x5c\0\0\0\x0br=abcdef,s=salt,i=4096"),
            (true, b"p\0\0\0\x6cc=biws,r=abcdef,p=proof"),
            (false, &err),
        ],
        Some(true),
    );
    let v = one(r);
    assert_eq!(v.cause.word(), "pg-auth-failed");
    assert_eq!(v.evidence["server_message_packet"], n[7]);
}

#[test]
fn redis_errors() {
    let denied = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.\r\n";
    for (port, steps, cause, word) in [
        (6379, vec![(false, &denied[..])], "redis-protected-mode", "DENIED"),
        // Off the Redis port, by its own words.
        (16379, vec![(false, &denied[..])], "redis-protected-mode", "DENIED"),
        (
            6379,
            vec![
                (true, &b"*1\r\n$4\r\nPING\r\n"[..]),
                (false, &b"-NOAUTH Authentication required.\r\n"[..]),
            ],
            "redis-auth-required",
            "NOAUTH",
        ),
        (
            6379,
            vec![
                (true, &b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n"[..]),
                (false, &b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"[..]),
            ],
            "redis-auth-required",
            "WRONGPASS",
        ),
        (
            6379,
            vec![(false, &b"-ERR max number of clients reached\r\n"[..])],
            "redis-max-clients",
            "ERR",
        ),
    ] {
        let mut r = Run::new();
        converse(&mut r, port, 40230, &steps, Some(true));
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, cause), "{word}");
        assert_eq!(v.evidence["redis_error"], word);
        assert!(v.evidence["server_message"].to_value().as_str().unwrap().starts_with(word));
    }
    // Another error of a command is an answer.
    let mut r = Run::new();
    converse(
        &mut r,
        6379,
        40231,
        &[(true, b"*1\r\n$3\r\nFOO\r\n"), (false, b"-ERR unknown command 'FOO'\r\n")],
        Some(false),
    );
    assert_eq!(one(r).cause.word(), "closed");
}

#[test]
fn smtp_ftp_and_ssh_refusals() {
    for (port, steps, cause, code) in [
        (
            25,
            vec![(false, &b"554 mx.example.net ESMTP not accepting mail from 192.0.2.1\r\n"[..])],
            "smtp-rejected",
            Some(554),
        ),
        (
            2526,
            vec![(false, &b"421 4.3.2 mx.example.net ESMTP Service not available\r\n"[..])],
            "smtp-service-unavailable",
            Some(421),
        ),
        (
            21,
            vec![(false, &b"421 There are too many connected users, please try later.\r\n"[..])],
            "ftp-service-unavailable",
            Some(421),
        ),
        (
            21,
            vec![
                (false, &b"220 (vsFTPd 3.0.3)\r\n"[..]),
                (true, &b"USER anonymous\r\n"[..]),
                (false, &b"530 Permission denied.\r\n"[..]),
            ],
            "ftp-login-denied",
            Some(530),
        ),
        (22, vec![(false, &b"Exceeded MaxStartups\r\n"[..])], "ssh-max-startups", None),
        (22, vec![(false, &b"Not allowed at this time\r\n"[..])], "ssh-not-allowed", None),
        (
            22,
            vec![(false, &b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"[..])],
            "ssh-closed-after-banner",
            None,
        ),
    ] {
        let mut r = Run::new();
        converse(&mut r, port, 40240, &steps, Some(true));
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, cause), "{steps:?}");
        match code {
            Some(c) => assert_eq!(v.evidence["reply_code"], c),
            None => assert!(v.evidence.get("reply_code").is_none()),
        }
    }
    // An SSH server that goes on after its banner, and one the client leaves first, did not
    // turn the client away.
    let mut r = Run::new();
    converse(
        &mut r,
        22,
        40241,
        &[
            (false, b"SSH-2.0-OpenSSH_9.2p1\r\n"),
            (true, b"SSH-2.0-OpenSSH_9.2p1\r\n"),
            (false, &[0, 0, 4, 0x2c, 6, 20]),
        ],
        Some(true),
    );
    assert_eq!(one(r).cause.word(), "closed");
    let mut r = Run::new();
    converse(&mut r, 22, 40242, &[(false, b"SSH-2.0-OpenSSH_9.2p1\r\n")], Some(false));
    assert_eq!(one(r).cause.word(), "closed");
    // A 220 greeting answered normally is no refusal.
    let mut r = Run::new();
    converse(
        &mut r,
        25,
        40243,
        &[(false, b"220 mx ESMTP\r\n"), (true, b"EHLO c\r\n"), (false, b"250 mx\r\n")],
        Some(false),
    );
    assert_eq!(one(r).cause.word(), "closed");
}

#[test]
fn http_gateway_proxy_and_retry_after() {
    for (head, cause, retry) in [
        ("HTTP/1.1 407 Proxy Authentication Required\r\n", "http-proxy-auth-required", None),
        ("HTTP/1.1 502 Bad Gateway\r\nServer: nginx\r\n", "http-bad-gateway", None),
        ("HTTP/1.1 504 Gateway Time-out\r\nServer: nginx\r\n", "http-gateway-timeout", None),
        (
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\n\r\n",
            "http-overloaded",
            Some(json!(120)),
        ),
        (
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: Wed, 21 Oct 2026 07:28:00 GMT\r\n",
            "http-overloaded",
            Some(json!("Wed, 21 Oct 2026 07:28:00 GMT")),
        ),
        // Cut by the kept 128 bytes: not recorded.
        (
            "HTTP/1.1 503 Service Unavailable\r\nServer: a-very-long-server-header-value-that-goes-on-and-on-and-on-and-on-and-on\r\nRetry-After: 5\r\n",
            "http-overloaded",
            None,
        ),
    ] {
        let mut r = Run::new();
        converse(
            &mut r,
            8080,
            40250,
            &[(true, b"GET / HTTP/1.1\r\n\r\n"), (false, head.as_bytes())],
            Some(true),
        );
        let v = one(r);
        assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, cause), "{head}");
        assert_eq!(v.evidence.get("retry_after").map(|f| f.to_value()), retry, "{head}");
    }
    assert_eq!(
        crate::verdict::Cause::HttpBadGateway.blames(),
        crate::verdict::Party::Server,
        "the gateway's upstream is on the server's side"
    );
}

/// The server's reply is kept after a banner, not after an HTTP response (a keep-alive
/// conversation keeps no second answer), and not for a retransmitted first payload.
#[test]
fn the_reply_is_kept_only_after_a_banner() {
    let seg = |seq: u32, data: &[u8]| TcpSegment {
        src_port: 1,
        dst_port: 2,
        seq,
        ack: 0,
        flags: TcpFlags(ACK | PSH_),
        window: 500,
        payload_len: data.len() as u32,
        payload: PayloadPrefix::new(data),
    };
    let p = Packet {
        ts: Timestamp::from_secs_f64(1.0),
        origin: Origin { file: 0, number: 1, offset: 0 },
        vlan: 0,
        src: ip(C),
        dst: ip(S),
        ttl: 64,
        ip_id: 0,
        dont_fragment: true,
        link_dst: LinkDest::Unknown,
        tunnel: Default::default(),
        transport: Transport::Tcp(seg(0, b"")),
    };
    let run = |steps: &[(bool, u32, &[u8])]| {
        let mut s = tcp::TcpState::default();
        for &(from_client, seq, data) in steps {
            s.apply(&p, &seg(seq, data), from_client);
        }
        s.server_reply.map(|b| b.0.as_slice().to_vec())
    };
    let http = run(&[
        (true, 1, b"GET / HTTP/1.1\r\n\r\n"),
        (false, 1, b"HTTP/1.1 200 OK\r\n\r\n"),
        (true, 19, b"GET /b HTTP/1.1\r\n\r\n"),
        (false, 20, b"HTTP/1.1 200 OK\r\n\r\n"),
    ]);
    assert_eq!(http, None);
    let banner = run(&[
        (false, 1, b"220 ready\r\n"),
        (true, 1, b"USER x\r\n"),
        (false, 1, b"220 ready\r\n"), // a retransmission of the banner
        (false, 12, b"530 no\r\n"),
        (false, 20, b"221 bye\r\n"),
    ]);
    assert_eq!(banner.as_deref(), Some(&b"530 no\r\n"[..]));
}

/// A client at `C` one hop from a router, a server at `S` one hop beyond it: the server's
/// packets arrive with TTL 63, the router's with 64. The handshake (ISNs 1000 and 5000) and
/// `GET /blocked` (17 bytes), acknowledged by the server.
fn behind_a_router(r: &mut Run, cport: u16, port: u16, request: &[u8]) {
    r.seg(0.0, (C, cport), (S, port), SYN, 1000, 0, 64, b"");
    r.seg(0.001, (S, port), (C, cport), SYN | ACK, 5000, 1001, 63, b"");
    r.seg(0.002, (C, cport), (S, port), ACK, 1001, 5001, 64, b"");
    r.seg(0.003, (C, cport), (S, port), ACK | PSH_, 1001, 5001, 64, request);
}

/// Issue 14: a firewall on the path lets the handshake through and forges the server's RST
/// when it sees the request. The RST's TTL (64) says one hop nearer than every other packet
/// of the server (63): the path, not the server. The server's own RST (63) stays the server's.
#[test]
fn an_rst_after_the_request_from_one_hop_nearer_than_the_server_is_the_path() {
    let req = b"GET /blocked HTTP/1.1\r\n\r\n";
    let end = 1001 + req.len() as u32;
    let mut r = Run::new();
    behind_a_router(&mut r, 41001, 80, req);
    r.seg(0.004, (S, 80), (C, 41001), RST | ACK, 5001, end, 64, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "path-reset-after-request"));
    assert_eq!(v.cause.blames(), crate::verdict::Party::Path);
    let ev = |k: &str| v.evidence[k].to_value();
    assert_eq!(ev("rst_origin"), json!("path"));
    assert_eq!((ev("rst_ttl"), ev("rst_hops")), (json!(64), json!(0)));
    assert_eq!((ev("rst_sender_ttl"), ev("rst_sender_hops")), (json!(63), json!(1)));
    assert_eq!(ev("rst_ip_id_pattern"), json!("zero"));
    assert_eq!(ev("ended"), json!("reset-by-server"));
    assert!(v.hint.to_string().contains("firewall or IPS on the path"), "{}", v.hint);

    // The server's own RST: its hop count, its IP ID just after its last packet's.
    let mut r = Run::new();
    r.ip_id = 700;
    behind_a_router(&mut r, 41002, 80, req);
    r.ip_id = 701;
    r.seg(0.004, (S, 80), (C, 41002), RST | ACK, 5001, end, 63, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "reset-after-request"));
    assert_eq!(v.evidence["rst_origin"], "host");
    assert_eq!(v.evidence["rst_ip_id_pattern"], "in-sequence");
}

/// A path RST on a TLS ClientHello (an SNI filter) is the path's, not a server refusing the
/// hello; an RST copying the IP ID of the packet it answers says so.
#[test]
fn a_path_rst_on_a_client_hello_is_not_a_closed_hello() {
    let hello = [22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3];
    let mut r = Run::new();
    r.ip_id = 4242;
    behind_a_router(&mut r, 41003, 443, &hello);
    r.seg(0.004, (S, 443), (C, 41003), RST | ACK, 5001, 1012, 250, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "path-reset-after-request"));
    assert_eq!(v.evidence["rst_ip_id_pattern"], "copied-from-peer");
    assert_eq!(v.evidence["rst_hops"], 5);
}

/// After the server spoke, a path RST toward the client is `path-reset-toward-client`; an RST
/// claiming the client with another hop count than the client's packets reached the server
/// from the path (`path-reset-toward-server`, a capture on the server's side). An RST after a
/// FIN stays a close.
#[test]
fn path_resets_in_either_direction_after_data() {
    let req = b"GET / HTTP/1.1\r\n\r\n";
    let end = 1001 + req.len() as u32;
    let ok = b"HTTP/1.1 200 OK\r\n\r\n";
    let mut r = Run::new();
    behind_a_router(&mut r, 41004, 80, req);
    r.seg(0.004, (S, 80), (C, 41004), ACK | PSH_, 5001, end, 63, ok);
    r.seg(0.005, (S, 80), (C, 41004), RST | ACK, 5001 + ok.len() as u32, end, 64, b"");
    // Seen from the server's side: the client's packets arrive with 63, the RST with 64.
    r.seg(1.0, (C, 41005), (S, 80), SYN, 1000, 0, 63, b"");
    r.seg(1.001, (S, 80), (C, 41005), SYN | ACK, 5000, 1001, 64, b"");
    r.seg(1.002, (C, 41005), (S, 80), ACK, 1001, 5001, 63, b"");
    r.seg(1.003, (C, 41005), (S, 80), ACK | PSH_, 1001, 5001, 63, req);
    r.seg(1.004, (S, 80), (C, 41005), ACK | PSH_, 5001, end, 64, ok);
    r.seg(1.005, (C, 41005), (S, 80), RST | ACK, end, 5020, 64, b"");
    // A close, then an RST from elsewhere: still a close.
    behind_a_router(&mut r, 41006, 80, req);
    r.seg(2.004, (S, 80), (C, 41006), ACK | PSH_, 5001, end, 63, ok);
    r.seg(2.005, (S, 80), (C, 41006), FIN | ACK, 5020, end, 63, b"");
    r.seg(2.006, (S, 80), (C, 41006), RST | ACK, 5021, end, 64, b"");
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![
            (VerdictKind::Rejected, "path-reset-toward-client"),
            (VerdictKind::Rejected, "path-reset-toward-server"),
            (VerdictKind::Established, "closed-with-reset"),
        ]
    );
    assert_eq!(v[1].evidence["rst_from"], "client");
    assert_eq!(v[1].evidence["rst_sender_ttl"], 63);
    assert_eq!(v[2].evidence["rst_origin"], "path");
}

/// Issue 14: the server takes the request (its ACK covers it) and never answers; the client
/// gives up after 2 s with an RST, or a FIN the server answers: the server hung. Not when the
/// client closes at once (a push), when the server answers late, when the server never
/// acknowledged the request, or when the capture ends soon after the request.
#[test]
fn a_server_that_acknowledges_the_request_and_never_answers_hung() {
    let req = b"GET /slow HTTP/1.1\r\n\r\n";
    let end = 1001 + req.len() as u32;
    let mut r = Run::new();
    behind_a_router(&mut r, 41010, 8080, req);
    r.seg(0.043, (S, 8080), (C, 41010), ACK, 5001, end, 63, b"");
    r.seg(2.003, (C, 41010), (S, 8080), RST | ACK, end, 5001, 64, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "server-hung"));
    assert_eq!(v.evidence["waited_for_answer"], 2.0);
    assert_eq!(v.evidence["ended"], "reset-by-client");
    assert_eq!(v.cause.blames(), crate::verdict::Party::Server);

    // The client's FIN after 2 s, the server's FIN in answer: hung, not closed-after-request.
    let mut r = Run::new();
    behind_a_router(&mut r, 41011, 8080, req);
    r.seg(0.043, (S, 8080), (C, 41011), ACK, 5001, end, 63, b"");
    r.seg(2.5, (C, 41011), (S, 8080), FIN | ACK, end, 5001, 64, b"");
    r.seg(2.501, (S, 8080), (C, 41011), FIN | ACK, 5001, end + 1, 63, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "server-hung"));
    assert_eq!(v.evidence["waited_for_answer"], 2.497);

    // Nothing closes: the idle timeout shows the wait.
    let config =
        TrackerConfig { idle_timeout: Duration::from_secs_f64(30.0), ..Default::default() };
    let mut r = Run::with(config);
    behind_a_router(&mut r, 41012, 8080, req);
    r.seg(0.043, (S, 8080), (C, 41012), ACK, 5001, end, 63, b"");
    r.tracker.advance(Timestamp::from_secs_f64(1100.0), &mut r.out);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "server-hung"));

    // Nothing closes, the capture ends 6 s after the request: longer than --syn-timeout.
    let mut r = Run::new();
    behind_a_router(&mut r, 41019, 8080, req);
    r.seg(0.043, (S, 8080), (C, 41019), ACK, 5001, end, 63, b"");
    r.seg(6.003, (C, 41019), (S, 8080), ACK, end, 5001, 64, b"");
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Rejected, "server-hung"));
    assert_eq!(v.evidence["waited_for_answer"], 6.0);

    // Not hung: a push (data and FIN at once, the server's FIN in answer) …
    let mut r = Run::new();
    behind_a_router(&mut r, 41013, 8080, req);
    r.seg(0.004, (C, 41013), (S, 8080), FIN | ACK, end, 5001, 64, b"");
    r.seg(0.005, (S, 8080), (C, 41013), ACK, 5001, end + 1, 63, b"");
    r.seg(0.006, (S, 8080), (C, 41013), FIN | ACK, 5001, end + 1, 63, b"");
    assert_eq!(one(r).cause.word(), "closed-after-request");
    // … a slow answer (1.5 s), then a close …
    let ok = b"HTTP/1.1 200 OK\r\n\r\n";
    let mut r = Run::new();
    behind_a_router(&mut r, 41014, 8080, req);
    r.seg(0.043, (S, 8080), (C, 41014), ACK, 5001, end, 63, b"");
    r.seg(1.503, (S, 8080), (C, 41014), ACK | PSH_, 5001, end, 63, ok);
    r.seg(1.504, (C, 41014), (S, 8080), FIN | ACK, end, 5020, 64, b"");
    r.seg(1.505, (S, 8080), (C, 41014), FIN | ACK, 5020, end + 1, 63, b"");
    assert_eq!(one(r).cause.word(), "closed");
    // … a request the server never acknowledged …
    let mut r = Run::new();
    behind_a_router(&mut r, 41015, 8080, req);
    r.seg(2.003, (C, 41015), (S, 8080), RST | ACK, end, 5001, 64, b"");
    assert_eq!(one(r).cause.word(), "reset-by-client");
    // … a capture that ends half a second after the request …
    let mut r = Run::new();
    behind_a_router(&mut r, 41016, 8080, req);
    r.seg(0.5, (S, 8080), (C, 41016), ACK, 5001, end, 63, b"");
    assert_eq!(one(r).cause.word(), "still-open");
    // … an answer the capture missed (the client acknowledges 20 bytes of the server's) …
    let mut r = Run::new();
    behind_a_router(&mut r, 41018, 8080, req);
    r.seg(0.043, (S, 8080), (C, 41018), ACK, 5001, end, 63, b"");
    r.seg(0.5, (C, 41018), (S, 8080), ACK, end, 5021, 64, b"");
    r.seg(2.003, (C, 41018), (S, 8080), RST | ACK, end, 5021, 64, b"");
    assert_eq!(one(r).cause.word(), "reset-by-client");
    // … and a push port, idle after its message.
    let mut r = Run::with(config);
    behind_a_router(&mut r, 41017, 514, b"<13>hello\n");
    r.seg(0.043, (S, 514), (C, 41017), ACK, 5001, 1011, 63, b"");
    r.tracker.advance(Timestamp::from_secs_f64(1100.0), &mut r.out);
    assert_eq!(one(r).cause.word(), "idle");
}

/// A TLS session at `S`:`port` whose server answered the ClientHello with a ServerHello (a
/// `curl -k https://` that worked), closed by the client.
fn tls_session(r: &mut Run, t: f64, cport: u16, port: u16) {
    let hello = [22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3];
    let server_hello = [22, 3, 3, 0, 90, 2, 0, 0, 86, 3, 3];
    r.seg(t, (C, cport), (S, port), SYN, 1000, 0, 64, b"");
    r.seg(t + 0.001, (S, port), (C, cport), SYN | ACK, 5000, 1001, 64, b"");
    r.seg(t + 0.002, (C, cport), (S, port), ACK, 1001, 5001, 64, b"");
    r.seg(t + 0.003, (C, cport), (S, port), ACK | PSH_, 1001, 5001, 64, &hello);
    r.seg(t + 0.004, (S, port), (C, cport), ACK | PSH_, 5001, 1012, 64, &server_hello);
    r.seg(t + 0.005, (C, cport), (S, port), FIN | ACK, 1012, 5012, 64, b"");
    r.seg(t + 0.006, (S, port), (C, cport), FIN | ACK, 5012, 1013, 64, b"");
}

/// Issue 14: plaintext to a TLS port answered with nginx's 400, or closed silently (OpenSSL),
/// is a mismatch when the port is a TLS port or its service spoke TLS earlier in the capture;
/// a ClientHello closed silently where plaintext HTTP was answered is TLS to plaintext.
#[test]
fn what_a_port_speaks_tells_a_mismatch_from_a_rejection() {
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let end = 1001 + get.len() as u32;
    let nginx_400 = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n";
    let plaintext = |r: &mut Run, t: f64, cport: u16, port: u16, answer: Option<&[u8]>| {
        r.seg(t, (C, cport), (S, port), SYN, 1000, 0, 64, b"");
        r.seg(t + 0.001, (S, port), (C, cport), SYN | ACK, 5000, 1001, 64, b"");
        r.seg(t + 0.002, (C, cport), (S, port), ACK, 1001, 5001, 64, b"");
        r.seg(t + 0.003, (C, cport), (S, port), ACK | PSH_, 1001, 5001, 64, get);
        let mut sseq = 5001;
        if let Some(a) = answer {
            r.seg(t + 0.004, (S, port), (C, cport), ACK | PSH_, 5001, end, 64, a);
            sseq += a.len() as u32;
        }
        r.seg(t + 0.005, (S, port), (C, cport), FIN | ACK, sseq, end, 64, b"");
        r.seg(t + 0.006, (C, cport), (S, port), FIN | ACK, end, sseq + 1, 64, b"");
    };
    // On 443: the port says TLS.
    let mut r = Run::new();
    plaintext(&mut r, 0.0, 41020, 443, Some(nginx_400));
    assert_eq!(one(r).cause.word(), "plaintext-to-tls");
    // On 4433, nothing known: an HTTP error, a close after the request.
    let mut r = Run::new();
    plaintext(&mut r, 0.0, 41021, 4433, Some(nginx_400));
    plaintext(&mut r, 1.0, 41022, 4433, None);
    assert_eq!(
        kinds(&r.finish()),
        vec![
            (VerdictKind::Rejected, "http-client-error"),
            (VerdictKind::Rejected, "closed-after-request")
        ]
    );
    // On 4433 after a TLS session there: mismatches.
    let mut r = Run::new();
    tls_session(&mut r, 0.0, 41023, 4433);
    plaintext(&mut r, 1.0, 41024, 4433, Some(nginx_400));
    plaintext(&mut r, 2.0, 41025, 4433, None);
    assert_eq!(
        kinds(&r.finish()),
        vec![
            (VerdictKind::Established, "closed"),
            (VerdictKind::Mismatch, "plaintext-to-tls"),
            (VerdictKind::Mismatch, "plaintext-to-tls")
        ]
    );
    // A ClientHello closed silently on 8081, where plaintext HTTP was answered before.
    let hello = [22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3];
    let mut r = Run::new();
    plaintext(&mut r, 0.0, 41026, 8081, Some(b"HTTP/1.0 200 OK\r\n\r\n"));
    r.seg(1.0, (C, 41027), (S, 8081), SYN, 1000, 0, 64, b"");
    r.seg(1.001, (S, 8081), (C, 41027), SYN | ACK, 5000, 1001, 64, b"");
    r.seg(1.002, (C, 41027), (S, 8081), ACK, 1001, 5001, 64, b"");
    r.seg(1.003, (C, 41027), (S, 8081), ACK | PSH_, 1001, 5001, 64, &hello);
    r.seg(1.004, (S, 8081), (C, 41027), FIN | ACK, 5001, 1012, 64, b"");
    let v = r.finish();
    assert_eq!(v[1].cause.word(), "tls-to-plaintext");
}

/// curl to an SSH port: the server's banner, the client's HTTP request, OpenSSH's
/// 'Protocol mismatch.' and its close — the client has the wrong port.
#[test]
fn http_to_an_ssh_server_is_a_protocol_mismatch() {
    let mut r = Run::new();
    handshake(&mut r, 0.0, 40130, 22);
    let banner = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    r.tcp_data(0.03, S, 22, C, 40130, ACK | PSH_, 5001, 1001, 500, banner);
    r.tcp_data(
        0.04,
        C,
        40130,
        S,
        22,
        ACK | PSH_,
        1001,
        5001 + banner.len() as u32,
        500,
        b"GET / HTTP/1.1\r\n\r\n",
    );
    r.tcp_data(
        0.05,
        S,
        22,
        C,
        40130,
        ACK | PSH_,
        5001 + banner.len() as u32,
        1019,
        500,
        b"Protocol mismatch.\n",
    );
    r.tcp(0.06, S, 22, C, 40130, RST | ACK, 5020 + banner.len() as u32, 1019, 61);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Mismatch, "protocol-mismatch"));
    assert!(v.cause.is_failure());
}

/// Decodes `ip_packet` in a frame of `link` (the synth builders') and tracks it at `ts`.
fn track_frame(r: &mut Run, ts: f64, link: crate::synth::frame::Link, ip_packet: &[u8]) {
    r.number += 1;
    let bytes = crate::synth::frame::frame(link, ip_packet);
    let f = crate::capture::Frame {
        ts: Timestamp::from_secs_f64(1000.0 + ts),
        link: link.link_type(),
        orig_len: bytes.len() as u32,
        data: &bytes,
        origin: Origin { file: 0, number: r.number, offset: 0 },
    };
    let p = crate::decode::decode(&f).unwrap();
    r.tracker.packet(&p, &mut r.out);
}

mod tunnel_errors {
    use super::*;
    use crate::synth::frame::{self, Encap, Icmp, Ip, Link, Tcp, Tunnel};

    const A: [u8; 4] = [192, 0, 2, 1];

    fn gre(key: u32) -> Link {
        let encap = Encap::Gre { checksum: false, key: Some(key), seq: None, ethernet: false };
        Link::Tunnel(Tunnel { encap, outer: (ip("192.0.2.1"), ip("192.0.2.2")), inner_vlan: None })
    }

    fn seg(r: &mut Run, ts: f64, link: Link, from_client: bool, port: u16, flags: u8) {
        let (c, s) = (ip("10.0.0.10"), ip("10.0.1.20"));
        let tcp = if flags & ACK != 0 {
            Tcp::new(port, 80).seq(1001 + u32::from(port)).ack(9001).flags(flags)
        } else {
            Tcp::new(port, 80).seq(1000 + u32::from(port)).flags(flags)
        };
        let (link, ip, tcp) = if from_client {
            (link, Ip::new(c, s), tcp)
        } else {
            let t = Tcp::new(80, port).seq(9000).ack(1001 + u32::from(port)).flags(flags);
            (link.reversed(), Ip::new(s, c).ttl(61), t)
        };
        track_frame(r, ts, link, &frame::tcp(&ip, &tcp, b""));
    }

    /// The underlay's router says the far end of GRE key 7 is unreachable, quoting 8 bytes of
    /// an outer packet: the waiting conversations of that tunnel are unreachable because of
    /// it; the answered one keeps it as evidence; key 8's, the same endpoints, is untouched.
    fn short_error(r: &mut Run, ts: f64, key: u32) {
        let syn = frame::tcp(&Ip::new(ip("10.0.0.10"), ip("10.0.1.20")), &Tcp::new(1, 80), b"");
        let outer = frame::frame(gre(key), &syn)[14..42].to_vec();
        let err = frame::icmp_error(
            &Ip::new([203, 0, 113, 2], A).ttl(254),
            Icmp::HOST_UNREACHABLE,
            &outer,
        );
        track_frame(r, ts, Link::Ethernet, &err);
    }

    #[test]
    fn an_error_that_names_a_tunnel_fails_its_waiting_conversations() {
        let mut r = Run::new();
        seg(&mut r, 0.0, gre(7), true, 1000, SYN);
        seg(&mut r, 0.01, gre(7), false, 1000, SYN | ACK);
        seg(&mut r, 0.02, gre(7), true, 1000, ACK);
        seg(&mut r, 1.0, gre(7), true, 1001, SYN);
        seg(&mut r, 1.0, gre(7), true, 1002, SYN);
        seg(&mut r, 1.0, gre(8), true, 1001, SYN);
        short_error(&mut r, 1.1, 7);
        // Counted apart (every tracker shard sees such an error).
        let stats = r.tracker.stats();
        assert_eq!((stats.icmp_about_tunnels, stats.icmp_matched), (1, 0));
        let v = r.finish();
        let by_port = |port: u16, key: u32| {
            v.iter()
                .find(|v| v.client.port == port && v.tunnel.and_then(|t| t.id()) == Some(key))
                .unwrap()
        };
        for port in [1001, 1002] {
            let f = by_port(port, 7);
            assert_eq!(
                (f.kind(), f.cause.word()),
                (VerdictKind::Unreachable, "tunnel-endpoint-unreachable")
            );
            assert_eq!(
                f.evidence["tunnel_error"].to_value(),
                json!({"type": "gre", "key": 7, "outer": ["192.0.2.1", "192.0.2.2"],
                       "reporter_is_far_end": false, "match": "tunnel"})
            );
            assert_eq!(f.evidence["reporter"].to_value(), json!("203.0.113.2"));
        }
        let other = by_port(1001, 8);
        assert_eq!(other.kind(), VerdictKind::Unanswered);
        let answered = by_port(1000, 7);
        assert_eq!(answered.kind(), VerdictKind::Established);
        assert_eq!(answered.evidence["other_icmp_errors"], 1);
        assert_eq!(
            answered.evidence["other_icmp_first"].to_value()["tunnel_error"]["match"],
            "tunnel"
        );
        // No conversation is made of the tunnel itself.
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn an_error_about_a_tunnel_without_conversations_decides_nothing() {
        let mut r = Run::new();
        short_error(&mut r, 0.0, 7);
        let stats = r.tracker.stats();
        assert_eq!((stats.icmp_about_tunnels, stats.icmp_informational), (1, 0));
        assert!(r.finish().is_empty());
    }

    #[test]
    fn tunnel_searches_are_bounded_per_second_of_capture_time() {
        let mut r = Run::new();
        seg(&mut r, 0.0, gre(7), true, 1001, SYN);
        for i in 0..TUNNEL_SCANS_PER_SECOND {
            short_error(&mut r, 0.1 + f64::from(i) * 0.001, 9);
        }
        // The budget of this second is spent: not searched, counted.
        short_error(&mut r, 0.5, 7);
        assert!(r.out.is_empty());
        assert_eq!(r.tracker.stats().icmp_about_tunnels, u64::from(TUNNEL_SCANS_PER_SECOND) + 1);
        short_error(&mut r, 1.2, 7);
        assert_eq!(r.out.len(), 1, "searched in the next second");
        let v = r.finish();
        assert_eq!(v[0].cause.word(), "tunnel-endpoint-unreachable");
    }
}

// ---------------------------------------------------------------- ping

const PING: u16 = 3301;

fn quote_echo(src: &str, dst: &str, id: u16, seq: u16, reply: bool) -> QuotedPacket {
    QuotedPacket {
        proto: Proto::Icmp,
        src: ip(src),
        dst: ip(dst),
        src_port: id,
        dst_port: id,
        tcp_seq: None,
        tcp_flags: None,
        echo: Some((seq, reply)),
        sctp_vtag: None,
        ttl: 1,
        tunnel: Default::default(),
        tunnel_only: false,
    }
}

/// `ping -c 3`: three requests a second apart, each answered 10, 20, 30 ms later. Decided when
/// the ping has been silent for the wait after its last request (5 s: its 1 s interval asks
/// for less), answered, with its round-trip times; the ports are the ICMP types.
#[test]
fn a_ping_answered_is_reply_seen_with_its_round_trip_times() {
    let mut r = Run::new();
    for (i, rtt) in [0.01, 0.02, 0.03].into_iter().enumerate() {
        let (t, seq) = (i as f64, i as u16 + 1);
        r.echo(t, C, S, 64, true, PING, seq);
        r.echo(t + rtt, S, C, 60, false, PING, seq);
    }
    r.tick(6.9);
    assert!(r.out.is_empty(), "decided 5 s after the last request, at 7 s");
    r.tick(7.1);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "reply-seen")]);
    let v = &r.out[0];
    assert_eq!(v.proto, Proto::Icmp);
    assert_eq!((v.client.to_string(), v.server.to_string()), (format!("{C}:8"), format!("{S}:0")));
    let e = &v.evidence;
    assert_eq!(e["echo_id"], PING);
    assert_eq!((e["echo_requests"].to_value(), e["echo_replies"].to_value()), (json!(3), json!(3)));
    assert_eq!(e["echo_lost"], 0);
    assert_eq!(
        (e["echo_first_seq"].to_value(), e["echo_last_seq"].to_value()),
        (json!(1), json!(3))
    );
    assert_eq!(e["echo_span"], 2.0);
    assert_eq!(e["echo_first_request_packet"], 1);
    assert_eq!(e["echo_first_reply_packet"], 2);
    assert_eq!((e["rtt_min"].to_value(), e["rtt_avg"].to_value()), (json!(0.01), json!(0.02)));
    assert_eq!(e["rtt_max"], 0.03);
    assert!(e.get("echo_unmatched_replies").is_none());
    assert!(!v.cause.is_failure());
}

/// Four requests, the second never answered: answered, one lost — counted once it has gone
/// unanswered for the wait.
#[test]
fn a_ping_with_a_lost_request_is_echo_loss() {
    let mut r = Run::new();
    for seq in 1..=4u16 {
        let t = f64::from(seq - 1) * 0.2;
        r.echo(t, C, S, 64, true, PING, seq);
        if seq != 2 {
            r.echo(t + 0.001, S, C, 63, false, PING, seq);
        }
    }
    r.tick(10.0);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "echo-loss")]);
    let e = &r.out[0].evidence;
    assert_eq!((e["echo_requests"].to_value(), e["echo_replies"].to_value()), (json!(4), json!(3)));
    assert_eq!(e["echo_lost"], 1);
    assert_eq!(e["echo_last_seq"], 4);
    assert_eq!(e["rtt_max"], 0.001);
    assert!(!r.out[0].cause.is_failure());
}

/// `ping -i 3`: three requests 3 s apart, nothing back: one attempt, unanswered once the wait
/// after the last request (twice its interval plus 1 s: 7 s, more than the 5 s floor) and the
/// 1 s look-ahead have passed; the server showed nothing else, so no-response; every request
/// lost.
#[test]
fn an_unanswered_ping_waits_after_its_last_request() {
    let mut r = Run::new();
    for (t, seq) in [(0.0, 1), (3.0, 2), (6.0, 3)] {
        r.echo(t, C, S, 64, true, PING, seq);
        assert!(r.out.is_empty());
    }
    r.tick(13.9);
    assert!(r.out.is_empty(), "the wait after the last request runs to 13 s, then the look-ahead");
    r.tick(14.1);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "no-response")]);
    let e = &r.out[0].evidence;
    assert_eq!((e["echo_requests"].to_value(), e["echo_replies"].to_value()), (json!(3), json!(0)));
    assert_eq!(e["echo_lost"], 3);
    assert_eq!(e["echo_span"], 6.0);
    assert_eq!(e["waited_after_last_request"], 7.0);
    assert_eq!(e["timeout_basis"], "retransmission-schedule");
    assert_eq!(e["last_retry_gap"], 3.0);
    assert!(e.get("rtt_min").is_none());
    assert!(e.get("echo_first_reply_packet").is_none());
    assert_eq!(r.out[0].conn_state, "OTH");
    assert!(r.out[0].cause.is_failure());
}

/// A router's host unreachable quoting the request decides at once (IPv4), and so does an
/// ICMPv6 time exceeded quoting an IPv6 request; the quote's sequence number is in the
/// evidence, the reporter is not the server.
#[test]
fn an_icmp_error_quoting_a_ping_request_decides_it() {
    let mut r = Run::new();
    r.echo(0.0, C, S, 64, true, PING, 1);
    r.icmp(
        0.001,
        "192.0.2.254",
        C,
        64,
        IcmpErrorKind::DestinationUnreachable,
        1,
        quote_echo(C, S, PING, 1, false),
    );
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unreachable, "host-unreachable")]);
    let v = &r.out[0];
    assert_eq!((v.client.port, v.server.port), (8, 0));
    assert_eq!(v.evidence["quoted_echo_seq"], 1);
    assert_eq!(v.evidence["reporter"], "192.0.2.254");
    assert_eq!(v.evidence["reporter_is_server"], false);
    assert_eq!(v.evidence["echo_requests"], 1);
    assert_eq!(v.evidence["echo_id"], PING);

    let (c6, s6, router6) = ("2001:db8::1", "2001:db8:1::7", "2001:db8::fe");
    let mut r = Run::new();
    r.echo(0.0, c6, s6, 1, true, PING, 1);
    let e = IcmpError {
        v6: true,
        kind: IcmpErrorKind::TimeExceeded,
        icmp_type: 3,
        code: 0,
        mtu: None,
        quoted: quote_echo(c6, s6, PING, 1, false),
    };
    r.push(0.001, router6, c6, 64, Transport::IcmpError(e));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::TimeExceeded, "ttl-exceeded")]);
    let v = &r.out[0];
    assert_eq!((v.client.port, v.server.port), (128, 129), "ICMPv6's echo types");
    assert_eq!(v.evidence["reporter"], router6);
    assert_eq!(v.evidence["quoted_echo_seq"], 1);
}

/// An ICMP error quoting an echo *reply* (the capture holds only the error): the reply could
/// not reach the pinging host. Its sender is the ping's server; no failure.
#[test]
fn an_icmp_error_quoting_an_echo_reply_is_reply_undeliverable() {
    let mut r = Run::new();
    let reply = quote_echo(S, C, PING, 5, true);
    r.icmp(0.0, "203.0.113.1", S, 250, IcmpErrorKind::DestinationUnreachable, 1, reply);
    let v = r.finish();
    assert_eq!(kinds(&v), vec![(VerdictKind::Partial, "reply-undeliverable")]);
    assert_eq!(
        (v[0].client.to_string(), v[0].server.to_string()),
        (format!("{C}:8"), format!("{S}:0"))
    );
    assert_eq!(v[0].evidence["attempt_packets_captured"], false);
    assert_eq!(v[0].evidence["quoted_echo_seq"], 5);
    assert_eq!(v[0].evidence["reporter"], "203.0.113.1");
    assert!(!v[0].cause.is_failure());
}

/// Two pings at once from one client to one server, identifiers 1 and 2: two attempts. The
/// first is answered; the second not — and since the server answered the first, its silence
/// to the second is filtering, not a host that is down.
#[test]
fn two_pings_with_different_identifiers_are_two_attempts() {
    let mut r = Run::new();
    for seq in 1..=3u16 {
        let t = f64::from(seq - 1);
        r.echo(t, C, S, 64, true, 1, seq);
        r.echo(t + 0.01, S, C, 60, false, 1, seq);
        r.echo(t + 0.5, C, S, 64, true, 2, seq);
    }
    r.tick(20.0);
    let mut v = r.finish();
    v.sort_by_key(|v| v.evidence["echo_id"].to_value().as_u64());
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Answered, "reply-seen"), (VerdictKind::Unanswered, "filtered")]
    );
    assert_eq!(
        (v[0].evidence["echo_id"].to_value(), v[1].evidence["echo_id"].to_value()),
        (json!(1), json!(2))
    );
    assert_eq!(
        (v[0].evidence["echo_requests"].to_value(), v[1].evidence["echo_requests"].to_value()),
        (json!(3), json!(3))
    );
    assert_eq!(
        (v[0].evidence["echo_replies"].to_value(), v[1].evidence["echo_replies"].to_value()),
        (json!(3), json!(0))
    );
    assert_ne!(v[0].id, v[1].id);
}

/// `ping -i 10`: a verdict 5 s after the first request; the request 10 s later, with the next
/// sequence number, is a new attempt (as a new SYN would be), while a copy of the decided
/// request is only a late packet.
#[test]
fn a_ping_request_with_a_new_sequence_number_after_the_verdict_is_a_new_attempt() {
    let mut r = Run::new();
    r.echo(0.0, C, S, 64, true, PING, 1);
    r.echo(0.01, S, C, 60, false, PING, 1);
    r.tick(6.0);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Answered, "reply-seen")]);
    r.echo(6.5, C, S, 64, true, PING, 1);
    r.echo(10.0, C, S, 64, true, PING, 2);
    r.echo(10.02, S, C, 60, false, PING, 2);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Answered, "reply-seen"), (VerdictKind::Answered, "reply-seen")]
    );
    assert_eq!(v[0].evidence["echo_requests"], 1);
    assert_eq!(
        (v[1].evidence["echo_first_seq"].to_value(), v[1].evidence["echo_requests"].to_value()),
        (json!(2), json!(1))
    );
    assert_eq!(v[1].evidence["echo_first_request_packet"], 4);
    assert_eq!(v[1].evidence["rtt_min"], 0.02);
    assert_ne!(v[0].id, v[1].id);
}

// ---------------------------------------------------------------- SCTP

const INIT: u16 = sctp_chunk::INIT;
const INIT_ACK: u16 = sctp_chunk::INIT_ACK;
const COOKIE_ECHO: u16 = sctp_chunk::COOKIE_ECHO;
const COOKIE_ACK: u16 = sctp_chunk::COOKIE_ACK;
/// The client's and the server's initiate tags (each side's packets carry the other's).
const CTAG: u32 = 0xc11e_0001;
const STAG: u32 = 0x5e4e_0001;

/// INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK between C:port and S:3868.
fn sctp_setup(r: &mut Run, t: f64, port: u16) {
    r.sctp(t, (C, port), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp(t + 0.01, (S, 3868), (C, port), 60, INIT_ACK, CTAG, STAG);
    r.sctp(t + 0.02, (C, port), (S, 3868), 64, COOKIE_ECHO, STAG, 0);
    r.sctp(t + 0.03, (S, 3868), (C, port), 60, COOKIE_ACK, CTAG, 0);
}

/// The four-way handshake, then data: established, still open at the end of the input, with
/// each step's packet in the evidence.
#[test]
fn an_sctp_four_way_handshake_is_established() {
    let mut r = Run::new();
    sctp_setup(&mut r, 0.0, 5000);
    r.sctp(0.1, (C, 5000), (S, 3868), 64, sctp_chunk::DATA, STAG, 0);
    r.sctp(0.11, (S, 3868), (C, 5000), 60, sctp_chunk::SACK, CTAG, 0);
    let v = one(r);
    assert_eq!((v.kind(), v.cause.word()), (VerdictKind::Established, "still-open"));
    assert_eq!(v.proto, Proto::Sctp);
    assert_eq!(
        (v.client.to_string(), v.server.to_string()),
        (format!("{C}:5000"), format!("{S}:3868"))
    );
    let e = &v.evidence;
    assert_eq!(e["init_count"], 1);
    assert_eq!(e["init_packets"], json!([1]));
    assert_eq!(
        (
            e["init_ack_packet"].to_value(),
            e["cookie_echo_packet"].to_value(),
            e["cookie_ack_packet"].to_value()
        ),
        (json!(2), json!(3), json!(4))
    );
    assert!(e.get("abort_packet").is_none());
    assert_eq!(v.conn_state, "S1");
}

/// Linux's answer to an INIT for a port nobody listens on: ABORT with the T bit and no cause,
/// at once — refused, the ABORT's facts in the evidence.
#[test]
fn an_sctp_init_answered_by_an_abort_is_refused() {
    let mut r = Run::new();
    r.sctp(0.0, (C, 5001), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp_abort(0.001, (S, 3868), (C, 5001), 64, (0, true, 0));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Refused, "abort")]);
    let v = &r.out[0];
    let e = &v.evidence;
    assert_eq!(e["abort_from"], "server");
    assert_eq!(e["abort_t_bit"], true);
    assert_eq!(
        (e["abort_packet"].to_value(), e["abort_ttl"].to_value(), e["abort_hops"].to_value()),
        (json!(2), json!(64), json!(0))
    );
    assert!(e.get("abort_cause").is_none());
    assert_eq!(e["init_count"], 1);
    assert_eq!(v.conn_state, "REJ");
    assert!(v.cause.is_failure());
}

/// INITs at 0, 3 and 9 s (Linux's 3 s initial RTO, doubled), nothing back: one attempt,
/// unanswered after twice the last gap plus 1 s (13 s) and the look-ahead.
#[test]
fn retransmitted_sctp_inits_with_nothing_back_are_unanswered() {
    let mut r = Run::new();
    for t in [0.0, 3.0, 9.0] {
        r.sctp(t, (C, 5002), (S, 3868), 64, INIT, 0, CTAG);
    }
    r.tick(22.9);
    assert!(r.out.is_empty(), "the wait after the last INIT runs to 22 s, then the look-ahead");
    r.tick(23.1);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "no-response")]);
    let v = &r.out[0];
    let e = &v.evidence;
    assert_eq!(e["init_count"], 3);
    assert_eq!(e["init_packets"], json!([1, 2, 3]));
    assert_eq!(e["init_times"], json!([0.0, 3.0, 9.0]));
    assert_eq!(e["waited_after_last_init"], 13.0);
    assert_eq!(e["last_retry_gap"], 6.0);
    assert_eq!(v.conn_state, "S0");
}

/// A client's ABORT before any INIT-ACK in the capture, read by its verification tag. The
/// server's tag: the client got an INIT-ACK the capture missed (`client-aborted`, the capture
/// blamed). Tag 0 (RFC 9260 §8.5.1: the peer's tag when known; Linux sends 0 from
/// COOKIE-WAIT, FreeBSD its own tag with the T bit): no INIT-ACK reached the client, which
/// gave up. After retries (INITs at 0 and 3 s, ABORT at 9 s), that is the unanswered INITs'
/// verdict; on its one INIT after 0.5 s, sooner than the wait, the client gave up too soon to
/// tell (`client-gave-up`).
#[test]
fn a_clients_abort_before_any_init_ack_is_read_by_its_tag() {
    // The server's tag: an INIT-ACK was missed.
    let mut r = Run::new();
    r.sctp(0.0, (C, 5010), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp_abort(0.5, (C, 5010), (S, 3868), 64, (STAG, false, 12));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "client-aborted")]);
    assert_eq!(r.out[0].cause.blames(), crate::verdict::Party::Capture);
    assert_eq!(r.out[0].evidence["abort_vtag"], STAG);

    // Tag 0 after two INITs: the client waited a retry and gave up; nothing else of the
    // server in the capture.
    let mut r = Run::new();
    r.sctp(0.0, (C, 5011), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp(3.0, (C, 5011), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp_abort(9.0, (C, 5011), (S, 3868), 64, (0, false, 12));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "no-response")]);
    let e = &r.out[0].evidence;
    assert_eq!((e["abort_vtag"].to_value(), e["abort_packet"].to_value()), (json!(0), json!(3)));
    assert_eq!(e["init_count"], 2);
    assert_eq!(e["waited_after_last_init"], 6.0);
    assert!(r.out[0].cause.is_failure());

    // Tag 0 on its one INIT, half a second later: the client's own timeout.
    let mut r = Run::new();
    r.sctp(0.0, (C, 5012), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp_abort(0.5, (C, 5012), (S, 3868), 64, (0, false, 12));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "client-gave-up")]);
    assert_eq!(r.out[0].cause.blames(), crate::verdict::Party::Client);
    assert_eq!(r.out[0].evidence["waited_after_last_init"], 0.5);
    let hint = r.out[0].hint.to_string();
    assert!(hint.contains("before any answer reached it (no INIT-ACK"), "{hint}");

    // FreeBSD and usrsctp from COOKIE-WAIT: the client's own tag with the T bit set; the
    // same. With the T bit and another tag, it is no tag of the client's: an INIT-ACK was
    // missed.
    let mut r = Run::new();
    r.sctp(0.0, (C, 5013), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp_abort(0.5, (C, 5013), (S, 3868), 64, (CTAG, true, 12));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "client-gave-up")]);
    let mut r = Run::new();
    r.sctp(0.0, (C, 5014), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp_abort(0.5, (C, 5014), (S, 3868), 64, (STAG, true, 12));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Unanswered, "client-aborted")]);
}

/// An INIT with another initiate tag on the same ports is a new association: the first
/// (retransmitted once, same tag: one attempt) gives way, superseded; the second completes.
#[test]
fn an_sctp_init_with_a_new_initiate_tag_is_a_new_attempt() {
    let mut r = Run::new();
    r.sctp(0.0, (C, 5003), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp(3.0, (C, 5003), (S, 3868), 64, INIT, 0, CTAG);
    r.sctp(4.0, (C, 5003), (S, 3868), 64, INIT, 0, CTAG + 1);
    r.sctp(4.01, (S, 3868), (C, 5003), 60, INIT_ACK, CTAG + 1, STAG);
    r.sctp(4.02, (C, 5003), (S, 3868), 64, COOKIE_ECHO, STAG, 0);
    r.sctp(4.03, (S, 3868), (C, 5003), 60, COOKIE_ACK, CTAG + 1, 0);
    let v = r.finish();
    assert_eq!(
        kinds(&v),
        vec![(VerdictKind::Unanswered, "superseded"), (VerdictKind::Established, "still-open")]
    );
    assert_eq!(v[0].evidence["init_count"], 2);
    assert_eq!(v[1].evidence["init_count"], 1);
    assert_eq!(v[1].evidence["init_packets"], json!([3]));
    assert_eq!(v[1].evidence["cookie_ack_packet"], 6);
    assert_ne!(v[0].id, v[1].id);
}

/// ABORTs after the association was set up: the client's (with a user-initiated-abort cause)
/// and the server's name their sender; not failures.
#[test]
fn an_abort_after_setup_names_the_side() {
    let mut r = Run::new();
    sctp_setup(&mut r, 0.0, 5004);
    r.sctp_abort(0.5, (C, 5004), (S, 3868), 64, (STAG, false, 12));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Established, "aborted-by-client")]);
    let v = &r.out[0];
    let e = &v.evidence;
    assert_eq!(
        (e["abort_from"].to_value(), e["abort_t_bit"].to_value()),
        (json!("client"), json!(false))
    );
    assert_eq!(
        (e["abort_cause"].to_value(), e["abort_cause_code"].to_value()),
        (json!("user-initiated-abort"), json!(12))
    );
    assert_eq!(e["abort_packet"], 5);
    assert_eq!(e["cookie_ack_packet"], 4);
    assert_eq!(v.conn_state, "RSTO");
    assert!(!v.cause.is_failure());

    let mut r = Run::new();
    sctp_setup(&mut r, 0.0, 5005);
    r.sctp_abort(0.5, (S, 3868), (C, 5005), 60, (CTAG, false, 0));
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Established, "aborted-by-server")]);
    let e = &r.out[0].evidence;
    assert_eq!(
        (e["abort_from"].to_value(), e["abort_ttl"].to_value()),
        (json!("server"), json!(60))
    );
    assert!(e.get("abort_cause").is_none());
    assert_eq!(r.out[0].conn_state, "RSTR");
}

/// SHUTDOWN, SHUTDOWN-ACK, SHUTDOWN-COMPLETE after the setup: SCTP's orderly close, decided
/// at the SHUTDOWN-COMPLETE.
#[test]
fn an_sctp_shutdown_is_an_orderly_close() {
    let mut r = Run::new();
    sctp_setup(&mut r, 0.0, 5006);
    r.sctp(0.5, (C, 5006), (S, 3868), 64, sctp_chunk::SHUTDOWN, STAG, 0);
    r.sctp(0.51, (S, 3868), (C, 5006), 60, sctp_chunk::SHUTDOWN_ACK, CTAG, 0);
    assert!(r.out.is_empty());
    r.sctp(0.52, (C, 5006), (S, 3868), 64, sctp_chunk::SHUTDOWN_COMPLETE, STAG, 0);
    assert_eq!(kinds(&r.out), vec![(VerdictKind::Established, "shutdown")]);
    let v = &r.out[0];
    let e = &v.evidence;
    assert_eq!(
        (e["shutdown_from"].to_value(), e["shutdown_packet"].to_value()),
        (json!("client"), json!(5))
    );
    assert_eq!(e["shutdown_complete_packet"], 7);
    assert_eq!(v.conn_state, "SF");
    assert!(!v.cause.is_failure());
}
