//! Which tracker shard a packet belongs to, when `analyze --threads N` splits the tracking over
//! N independent [`Tracker`](super::Tracker)s.
//!
//! Three rules make a shard's verdicts the same as one tracker's:
//!
//! - **A conversation stays together, and an ICMP error goes where its flow is.** The shard is
//!   a hash of the conversation's two endpoints (address and port), symmetric in them, and an
//!   ICMP error is routed by the packet it quotes — the same two endpoints, so the same shard as
//!   the flow's own packets. The VLAN is not part of it: with `--split-vlans` off the two
//!   directions may carry different tags, and with it on, keeping the VLAN variants of one
//!   5-tuple together is harmless. Conversations to one server spread over every shard, so a
//!   SYN flood on one address uses them all.
//! - **Every shard knows every host's facts.** Verdicts consult what the capture showed of the
//!   *server* (the TTL of its own packets, to tell its RST from a path RST; whether it answered
//!   anything, to call a silent port `filtered`), and its conversations are tracked in every
//!   shard. So a packet showing a fact of its sender that is new for that host
//!   (`sender_fact` in `track`) also goes to every other shard, for that fact only;
//!   one tracker records facts the same way, so every shard keeps the facts one tracker
//!   would, and a long conversation is not copied packet by packet. Every shard has room for
//!   as many hosts as one tracker. Address resolution (ARP, neighbour discovery) is per
//!   address and cheap: every shard gets all of it. So does a packet showing what a TCP
//!   service speaks (`service_fact`: a TLS ServerHello, a plaintext HTTP answer), whose other
//!   conversations are judged by it, when that fact is new for the service.
//! - **Every shard runs on the whole capture's clock.** It is told the time of every packet of
//!   the batch, its own or not, so its timers run out at the same packet as one tracker's,
//!   and it counts every packet, so where an attempt began means the same in every shard.

use std::net::IpAddr;

use crate::decode::{Packet, Transport};

/// Where a packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// To this shard only.
    Shard(usize),
    /// To every shard (address resolution, which every shard's verdicts may consult).
    Every,
}

/// The shard (of `shards`) that tracks `p`.
pub fn route(p: &Packet, shards: usize) -> Route {
    if shards <= 1 {
        return Route::Shard(0);
    }
    let (a, b) = match &p.transport {
        Transport::Tcp(t) => ((p.src, t.src_port), (p.dst, t.dst_port)),
        Transport::Udp(u) => ((p.src, u.src_port), (p.dst, u.dst_port)),
        Transport::Sctp(c) => ((p.src, c.src_port), (p.dst, c.dst_port)),
        // A ping is keyed by its identifier (as its quotes are).
        Transport::Echo(e) => ((p.src, e.id), (p.dst, e.id)),
        // The endpoints of the flow it quotes, so it meets that flow's own packets.
        // An error about a tunnel itself, its quote cut before any conversation: about every
        // conversation of that tunnel, which are spread over the shards.
        Transport::IcmpError(e) if e.quoted.tunnel_only => return Route::Every,
        Transport::IcmpError(e) => {
            let q = &e.quoted;
            ((q.src, q.src_port), (q.dst, q.dst_port))
        }
        Transport::Neighbor(_) => return Route::Every,
    };
    Route::Shard(conversation_shard(a, b, shards))
}

/// The shard of the conversation between endpoints `a` and `b` (address, port): a hash of
/// both, symmetric in `a` and `b`.
pub fn conversation_shard(a: (IpAddr, u16), b: (IpAddr, u16), shards: usize) -> usize {
    let (x, y) = (endpoint_key(a), endpoint_key(b));
    scale(mix((u128::from(x.min(y)) << 64) | u128::from(x.max(y))), shards)
}

/// An endpoint as one well-mixed number.
fn endpoint_key((ip, port): (IpAddr, u16)) -> u64 {
    mix(addr_bits(ip) ^ (u128::from(port) << 96))
}

/// `key` scaled to `0..shards`: the high bits are the best mixed, and `shards` is small.
fn scale(key: u64, shards: usize) -> usize {
    ((u128::from(key) * shards as u128) >> 64) as usize
}

/// An address as a number; IPv4 mapped into IPv6 (::ffff:a.b.c.d) so the families never mix.
fn addr_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => 0xffff_0000_0000 | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A fixed (unseeded: the output must not depend on the run) mix of 128 bits into 64, so
/// that neighbouring addresses spread over the shards (SplitMix64's finalizer).
fn mix(x: u128) -> u64 {
    let mut z = (x as u64) ^ ((x >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Origin;
    use crate::decode::{
        IcmpError, IcmpErrorKind, NeighborMessage, PayloadPrefix, Proto, QuotedPacket, TcpFlags,
        TcpSegment, UdpDatagram,
    };
    use crate::time::Timestamp;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn packet(src: &str, dst: &str, transport: Transport) -> Packet {
        Packet {
            ts: Timestamp(0),
            origin: Origin::default(),
            vlan: 0,
            src: ip(src),
            dst: ip(dst),
            ttl: 64,
            ip_id: 0,
            dont_fragment: false,
            link_dst: Default::default(),
            tunnel: Default::default(),
            transport,
        }
    }

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
        let seg = TcpSegment {
            src_port: sport,
            dst_port: dport,
            seq: 1,
            ack: 0,
            flags: TcpFlags(TcpFlags::SYN),
            window: 1024,
            payload_len: 0,
            payload: PayloadPrefix::default(),
        };
        packet(src, dst, Transport::Tcp(seg))
    }

    fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
        let d = UdpDatagram {
            src_port: sport,
            dst_port: dport,
            payload_len: 0,
            payload: PayloadPrefix::default(),
        };
        packet(src, dst, Transport::Udp(d))
    }

    /// An ICMP error from `reporter` about a packet `qsrc:qsport -> qdst:qdport`.
    fn icmp(reporter: &str, qsrc: &str, qsport: u16, qdst: &str, qdport: u16) -> Packet {
        let quoted = QuotedPacket {
            proto: Proto::Tcp,
            src: ip(qsrc),
            dst: ip(qdst),
            src_port: qsport,
            dst_port: qdport,
            tcp_seq: Some(1),
            tcp_flags: None,
            echo: None,
            sctp_vtag: None,
            ttl: 1,
            tunnel: Default::default(),
            tunnel_only: false,
        };
        let e = IcmpError {
            v6: ip(qsrc).is_ipv6(),
            kind: IcmpErrorKind::DestinationUnreachable,
            icmp_type: 3,
            code: 13,
            mtu: None,
            quoted,
        };
        packet(reporter, qsrc, Transport::IcmpError(e))
    }

    /// An error about a tunnel alone concerns conversations on every shard; one that reaches a
    /// conversation in the tunnel goes where that conversation is.
    #[test]
    fn an_error_about_a_tunnel_alone_goes_to_every_shard() {
        let mut p = icmp("203.0.113.2", "192.0.2.1", 0, "192.0.2.2", 0);
        if let Transport::IcmpError(e) = &mut p.transport {
            e.quoted.tunnel_only = true;
        }
        assert_eq!(route(&p, 4), Route::Every);
        assert_eq!(route(&p, 1), Route::Shard(0));
    }

    /// Client addresses spread over v4 and v6.
    fn clients() -> Vec<String> {
        let mut v: Vec<String> = (0..200).map(|i| format!("10.{}.{}.7", i / 16, i % 16)).collect();
        v.extend((0..200).map(|i| format!("2001:db8::{i:x}")));
        v
    }

    #[test]
    fn both_directions_of_a_conversation_go_to_one_shard() {
        for n in 2..=5 {
            for c in clients() {
                for (cp, sp) in [(40000, 443), (53000, 53), (123, 123), (80, 8080)] {
                    for server in ["198.51.100.7", "2001:db8:5::1"] {
                        let there = route(&tcp(&c, cp, server, sp), n);
                        assert_eq!(there, route(&tcp(server, sp, &c, cp), n), "{c} {server}");
                        assert_eq!(there, route(&udp(&c, cp, server, sp), n));
                        assert_eq!(there, route(&udp(server, sp, &c, cp), n));
                        let Route::Shard(s) = there else { panic!("not one shard") };
                        assert!(s < n);
                    }
                }
            }
        }
    }

    #[test]
    fn an_icmp_error_goes_to_the_shard_of_the_flow_it_quotes() {
        for n in 2..=4 {
            for c in clients() {
                let server = if c.contains(':') { "2001:db8:5::1" } else { "198.51.100.7" };
                let router = if c.contains(':') { "2001:db8:ff::1" } else { "203.0.113.1" };
                for (cp, sp) in [(40000, 443), (123, 123), (80, 8080)] {
                    let flow = route(&tcp(&c, cp, server, sp), n);
                    // Quoting the client's packet, sent by a router or by the server itself.
                    assert_eq!(flow, route(&icmp(router, &c, cp, server, sp), n), "{c}");
                    assert_eq!(flow, route(&icmp(server, &c, cp, server, sp), n), "{c}");
                    // Quoting the server's reply (an error on the way back).
                    assert_eq!(flow, route(&icmp(router, server, sp, &c, cp), n), "{c}");
                }
            }
        }
    }

    #[test]
    fn conversations_to_one_server_spread_over_every_shard() {
        // A flood on one address and port from many clients, and from one client's many ports.
        for n in 2..=4 {
            let mut used = vec![0usize; n];
            for c in clients() {
                let Route::Shard(s) = route(&tcp(&c, 40000, "198.51.100.7", 443), n) else {
                    panic!("not one shard")
                };
                used[s] += 1;
            }
            assert!(used.iter().all(|&k| k > 400 / n / 2), "{used:?}");
            let mut used = vec![0usize; n];
            for cp in 1024..2024 {
                let Route::Shard(s) = route(&tcp("10.0.0.1", cp, "198.51.100.7", 443), n) else {
                    panic!("not one shard")
                };
                used[s] += 1;
            }
            assert!(used.iter().all(|&k| k > 1000 / n / 2), "{used:?}");
        }
    }

    #[test]
    fn equal_ports_and_many_servers_spread() {
        let n = 4;
        let mut used = [0usize; 4];
        for c in clients() {
            let Route::Shard(s) = route(&udp(&c, 123, "198.51.100.7", 123), n) else {
                panic!("not one shard")
            };
            used[s] += 1;
        }
        // 400 peers of one NTP server spread over every shard.
        assert!(used.iter().all(|&k| k > 50), "{used:?}");
        // So do 400 servers (of one client).
        let mut used = [0usize; 4];
        for s in clients() {
            let Route::Shard(k) = route(&tcp("10.0.0.1", 40000, &s, 443), n) else {
                panic!("not one shard")
            };
            used[k] += 1;
        }
        assert!(used.iter().all(|&k| k > 50), "{used:?}");
    }

    #[test]
    fn address_resolution_goes_everywhere_and_one_shard_takes_all() {
        let arp = packet(
            "10.0.0.1",
            "10.0.0.2",
            Transport::Neighbor(NeighborMessage { solicit: true, target: ip("10.0.0.2") }),
        );
        assert_eq!(route(&arp, 3), Route::Every);
        assert_eq!(route(&arp, 1), Route::Shard(0));
        assert_eq!(route(&tcp("10.0.0.1", 1, "10.0.0.2", 2), 1), Route::Shard(0));
    }
}
