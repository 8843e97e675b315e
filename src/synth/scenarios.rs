//! Scenario captures: small, deterministic conversations written as pcap/pcapng by the
//! project's own frame builders and writers, checked in under `fixtures/generated/` by
//! `cargo run --example gen_fixtures`.
//!
//! A scenario is written as a timeline. A [`Script`] collects frames at times relative to a fixed
//! start (2026-11-20T14:00:00Z) and renders them in time order, so conversations can be written
//! one after another and still interleave. [`TcpConv`] and [`UdpConv`] keep the sequence numbers,
//! TTLs and directions of one conversation right, so each scenario reads like the exchange it
//! describes. Everything is fixed (timestamps, ISNs, documentation addresses from RFC 5737 and
//! RFC 3849), so the same code always gives the same bytes and a test can compare them with the
//! checked-in files.
//!
//! The capture point is the client's side: the client's packets carry TTL 64, the server's
//! arrive with TTL 61 (a Linux host three routers away), and routers' ICMP errors arrive with
//! 255 minus the routers in between.
//!
//! ```
//! use connlens::synth::scenarios;
//!
//! let all = scenarios::all();
//! let refused = all.iter().find(|s| s.name == "refused-v4").unwrap();
//! assert_eq!(&refused.bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]); // pcap, µs, little-endian
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::capture::{LinkType, PcapWriter, PcapngWriter, TsResolution};
use crate::decode::TcpFlags;
use crate::synth::frame::{self, Encap, Icmp, Ip, Link, Radio, Tcp, Tunnel, VlanTag, Wifi};
use crate::time::{Duration, Timestamp};

/// 2026-11-20T14:00:00Z: the start of every scenario's timeline.
pub const START: Timestamp = Timestamp(1_795_183_200_000_000_000);

/// Snap length written in every file header: larger than any frame here, as tcpdump's default.
const SNAPLEN: u32 = 262_144;

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const FIN: u8 = TcpFlags::FIN;
const PSH: u8 = TcpFlags::PSH;

/// The capturing client.
const CLIENT4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
/// A Linux server three routers away.
const SERVER4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20));
/// A host behind a router that has no route to it.
const GONE4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 99));
/// A DNS resolver.
const RESOLVER4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 53));
/// A DNS resolver that never answers.
const DEAD_RESOLVER4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 54));
/// The second router on the path (TTL 254 on arrival).
const ROUTER2_4: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 2));
/// A filtering firewall, third router on the path (TTL 253 on arrival).
const FIREWALL4: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 3));

const CLIENT6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10));
const SERVER6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x20));
const GONE6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 0x99));
const RESOLVER6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x53));
const ROUTER1_6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1));
const ROUTER2_6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 2));

/// TTL of the client's own packets, as captured on the client.
const CLIENT_TTL: u8 = 64;
/// TTL of the server's packets on arrival: a Linux host (initial 64) three routers away.
const SERVER_TTL: u8 = 61;

/// One capture file and what it holds.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Directory name under `fixtures/generated/`.
    pub name: &'static str,
    /// What the scenario shows, in a sentence or two.
    pub description: &'static str,
    /// The arguments `connlens analyze` gets for this capture (written to the fixture's `args`
    /// file), e.g. `--split-vlans`.
    pub args: &'static [&'static str],
    /// `input.pcap` or `input.pcapng`.
    pub file_name: &'static str,
    /// File format and link layer, for the README (e.g. "pcap, Ethernet, µs, little-endian").
    pub format: &'static str,
    /// Every connection attempt in the capture and the verdict it should get.
    pub attempts: Vec<Attempt>,
    /// The capture file's bytes.
    pub bytes: Vec<u8>,
}

/// One attempt in a scenario and what a reader of the capture should conclude about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// `client ip:port → server ip:port proto`, built from the same values as the packets.
    pub flow: String,
    /// The verdict word (`refused`, `unreachable`, …).
    pub verdict: &'static str,
    /// The cause word (`host-reset`, `port-unreachable`, …).
    pub cause: &'static str,
    /// Why, in terms of the packets.
    pub note: &'static str,
    /// Set when connlens is known to get this attempt wrong: what it says instead, and why.
    /// `verdict` and `cause` above stay what the capture proves; the checks then expect
    /// connlens' known output, and fail once it gives the declared one (so the mark goes).
    pub known_wrong: Option<KnownWrong>,
}

/// What connlens says, wrongly, of an attempt (see [`Attempt::known_wrong`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownWrong {
    /// The verdict connlens gives.
    pub verdict: &'static str,
    /// The cause connlens gives.
    pub cause: &'static str,
    /// Why that is wrong, and where the fix belongs.
    pub why: &'static str,
}

impl Attempt {
    /// Marks the attempt as one connlens gets wrong: it says `verdict` / `cause`, for the reason
    /// `why` explains.
    pub fn but_connlens_says(
        mut self,
        verdict: &'static str,
        cause: &'static str,
        why: &'static str,
    ) -> Attempt {
        self.known_wrong = Some(KnownWrong { verdict, cause, why });
        self
    }

    /// The verdict and cause connlens' output must show now: the declared ones, or the known
    /// wrong ones.
    pub fn expected_output(&self) -> (&'static str, &'static str) {
        match self.known_wrong {
            Some(k) => (k.verdict, k.cause),
            None => (self.verdict, self.cause),
        }
    }
}

/// Which way a frame goes, seen from the client: sets the Ethernet addresses and the Linux
/// cooked header's packet type, so `tcpdump -e` shows each direction as a real capture would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Sent by the capturing host.
    Out,
    /// Received by the capturing host.
    In,
}

/// A timeline of frames (and, for pcapng, other blocks) to render into a capture file.
#[derive(Clone, Debug)]
pub struct Script {
    start: Timestamp,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    ts: Timestamp,
    body: Body,
}

#[derive(Clone, Debug)]
enum Body {
    Frame { link: LinkType, bytes: Vec<u8> },
    Block { block_type: u32, body: Vec<u8> },
}

impl Script {
    /// An empty timeline starting at `start`.
    pub fn new(start: Timestamp) -> Script {
        Script { start, entries: Vec::new() }
    }

    /// The timestamp `at` seconds after the start (rounded to the nanosecond).
    pub fn time(&self, at: f64) -> Timestamp {
        self.start.add(Duration::from_secs_f64(at))
    }

    /// Adds `ip_packet` wrapped in `link`, going in direction `dir`, `at` seconds after the
    /// start. Frames are rendered in time order; frames at the same time keep the order they
    /// were added in.
    pub fn packet(&mut self, at: f64, link: Link, dir: Dir, ip_packet: &[u8]) {
        // A tunnel's outer endpoints (and an 802.11 frame's direction) follow the packet's.
        let link = if dir == Dir::In { link.reversed() } else { link };
        let mut bytes = frame::frame(link, ip_packet);
        if dir == Dir::In {
            turn_inbound(link, &mut bytes);
        } else {
            turn_outbound(link, &mut bytes);
        }
        let ts = self.time(at);
        self.entries.push(Entry { ts, body: Body::Frame { link: link.link_type(), bytes } });
    }

    /// Adds `ip_packet` sent by the client in an Ethernet frame to the group address `mac`
    /// (ff:ff:ff:ff:ff:ff, or a multicast address), whatever its IP destination.
    pub fn to_group(&mut self, at: f64, mac: [u8; 6], ip_packet: &[u8]) {
        let mut bytes = frame::frame(Link::Ethernet, ip_packet);
        bytes[..6].copy_from_slice(&mac);
        let ts = self.time(at);
        self.entries.push(Entry { ts, body: Body::Frame { link: LinkType::ETHERNET, bytes } });
    }

    /// Adds a pcapng block of any type (rendered only by [`Script::to_pcapng`]), for blocks a
    /// reader must skip.
    pub fn block(&mut self, at: f64, block_type: u32, body: &[u8]) {
        let ts = self.time(at);
        self.entries.push(Entry { ts, body: Body::Block { block_type, body: body.to_vec() } });
    }

    fn sorted(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().collect();
        v.sort_by_key(|e| e.ts); // stable: ties keep insertion order
        v
    }

    /// Renders a classic pcap file.
    ///
    /// # Panics
    ///
    /// If the frames have more than one link type or the script holds pcapng blocks: a pcap
    /// file has one link type and no blocks, and a scenario that asks otherwise is a bug.
    pub fn to_pcap(&self, resolution: TsResolution, big_endian: bool) -> Vec<u8> {
        let entries = self.sorted();
        let link = match entries.first().map(|e| &e.body) {
            Some(Body::Frame { link, .. }) => *link,
            _ => LinkType::ETHERNET,
        };
        let mut w = PcapWriter::new(Vec::new(), link, SNAPLEN, resolution, big_endian)
            .expect("writing to a Vec cannot fail");
        for e in entries {
            match &e.body {
                Body::Frame { link: l, bytes } => {
                    assert_eq!(*l, link, "a pcap file has a single link type");
                    w.write_frame(e.ts, bytes, bytes.len() as u32).expect("frame fits pcap");
                }
                Body::Block { .. } => panic!("pcap files cannot hold pcapng blocks"),
            }
        }
        w.into_inner()
    }

    /// Renders a little-endian pcapng file with one interface per `(link type, resolution)`;
    /// each frame goes to the first interface of its link type.
    ///
    /// # Panics
    ///
    /// If a frame's link type has no interface.
    pub fn to_pcapng(&self, interfaces: &[(LinkType, TsResolution)]) -> Vec<u8> {
        let mut w = PcapngWriter::new(Vec::new(), false).expect("writing to a Vec cannot fail");
        for &(link, res) in interfaces {
            w.add_interface(link, SNAPLEN, res).expect("valid interface");
        }
        for e in self.sorted() {
            match &e.body {
                Body::Frame { link, bytes } => {
                    let iface = interfaces
                        .iter()
                        .position(|(l, _)| l == link)
                        .expect("an interface for every link type");
                    w.write_frame(iface as u32, e.ts, bytes, bytes.len() as u32)
                        .expect("frame fits pcapng");
                }
                Body::Block { block_type, body } => {
                    w.write_raw_block(*block_type, body).expect("block fits pcapng");
                }
            }
        }
        w.into_inner()
    }
}

/// Ethernet address of the capturing client (what the frame builder writes as source).
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Ethernet address of the client's gateway.
const GATEWAY_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Linux cooked capture packet types (`PACKET_HOST`, `PACKET_OUTGOING`).
const SLL_HOST: u8 = 0;
const SLL_OUTGOING: u8 = 4;

/// The builder writes every frame as client → gateway; a received frame comes from the
/// gateway to the client, and Linux cooked headers name the sender's address and "to us".
fn turn_inbound(link: Link, f: &mut [u8]) {
    match link {
        Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) | Link::Tunnel(_) => {
            f[..6].copy_from_slice(&CLIENT_MAC);
            f[6..12].copy_from_slice(&GATEWAY_MAC);
        }
        Link::Sll => {
            f[..2].copy_from_slice(&u16::from(SLL_HOST).to_be_bytes());
            f[6..12].copy_from_slice(&GATEWAY_MAC);
        }
        Link::Sll2 => {
            f[10] = SLL_HOST;
            f[12..18].copy_from_slice(&GATEWAY_MAC);
        }
        _ => {}
    }
}

/// A sent frame: Linux cooked headers mark it "outgoing" (the builder writes "to us").
fn turn_outbound(link: Link, f: &mut [u8]) {
    match link {
        Link::Sll => f[..2].copy_from_slice(&u16::from(SLL_OUTGOING).to_be_bytes()),
        Link::Sll2 => f[10] = SLL_OUTGOING,
        _ => {}
    }
}

/// One TCP conversation between the capturing client and a server, keeping each side's next
/// sequence number so every segment acknowledges what the other side has sent.
#[derive(Clone, Debug)]
pub struct TcpConv {
    link: Link,
    client: IpAddr,
    server: IpAddr,
    client_port: u16,
    server_port: u16,
    client_ttl: u8,
    server_ttl: u8,
    client_isn: u32,
    server_isn: u32,
    client_next: u32,
    server_next: u32,
}

/// Window of a Linux SYN and SYN-ACK without window scaling on the wire.
const SYN_WINDOW: u16 = 64240;
/// Window after the handshake (scaled, as Linux shows it).
const WINDOW: u16 = 502;

impl TcpConv {
    /// A conversation from `client:client_port` to `server:server_port` on `link`, with
    /// initial sequence numbers `isns` (client, server). TTLs: 64 from the client, 61 from the
    /// server.
    pub fn new(
        link: Link,
        (client, client_port): (IpAddr, u16),
        (server, server_port): (IpAddr, u16),
        isns: (u32, u32),
    ) -> TcpConv {
        TcpConv {
            link,
            client,
            server,
            client_port,
            server_port,
            client_ttl: CLIENT_TTL,
            server_ttl: SERVER_TTL,
            client_isn: isns.0,
            server_isn: isns.1,
            client_next: isns.0.wrapping_add(1),
            server_next: isns.1.wrapping_add(1),
        }
    }

    /// With this TTL on the server's packets.
    pub fn server_ttl(mut self, ttl: u8) -> TcpConv {
        self.server_ttl = ttl;
        self
    }

    /// `client:port → server:port tcp`, as the scenario READMEs list attempts.
    pub fn describe(&self) -> String {
        describe(self.client, self.client_port, self.server, self.server_port, "tcp")
    }

    /// Starts over with a new client ISN (a new attempt on the same 5-tuple).
    pub fn new_client_isn(&mut self, isn: u32) {
        self.client_isn = isn;
        self.client_next = isn.wrapping_add(1);
    }

    fn client_ip(&self, ttl: u8) -> Ip {
        Ip::new(self.client, self.server).ttl(ttl)
    }

    fn server_ip(&self) -> Ip {
        Ip::new(self.server, self.client).ttl(self.server_ttl)
    }

    fn client_segment(
        &self,
        flags: u8,
        seq: u32,
        ack: u32,
        window: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let tcp = Tcp::new(self.client_port, self.server_port)
            .seq(seq)
            .ack(ack)
            .flags(flags)
            .window(window);
        frame::tcp(&self.client_ip(self.client_ttl), &tcp, payload)
    }

    fn server_segment(
        &self,
        flags: u8,
        seq: u32,
        ack: u32,
        window: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let tcp = Tcp::new(self.server_port, self.client_port)
            .seq(seq)
            .ack(ack)
            .flags(flags)
            .window(window);
        frame::tcp(&self.server_ip(), &tcp, payload)
    }

    /// The client's SYN as it left the client but with TTL `ttl`: what a router or the server
    /// quotes in an ICMP error (the TTL it had when it reached them).
    pub fn syn_packet(&self, ttl: u8) -> Vec<u8> {
        let tcp = Tcp::new(self.client_port, self.server_port)
            .seq(self.client_isn)
            .flags(SYN)
            .window(SYN_WINDOW);
        frame::tcp(&self.client_ip(ttl), &tcp, b"")
    }

    /// The client's SYN (also a retransmission: same ISN).
    pub fn syn(&self, s: &mut Script, at: f64) {
        s.packet(at, self.link, Dir::Out, &self.syn_packet(self.client_ttl));
    }

    /// The server's SYN-ACK.
    pub fn syn_ack(&self, s: &mut Script, at: f64) {
        let p = self.server_segment(SYN | ACK, self.server_isn, self.client_next, SYN_WINDOW, b"");
        s.packet(at, self.link, Dir::In, &p);
    }

    /// A pure ACK from the client of everything the server sent.
    pub fn ack(&self, s: &mut Script, at: f64) {
        let p = self.client_segment(ACK, self.client_next, self.server_next, WINDOW, b"");
        s.packet(at, self.link, Dir::Out, &p);
    }

    /// A pure ACK from the server of everything the client sent.
    pub fn server_ack(&self, s: &mut Script, at: f64) {
        let p = self.server_segment(ACK, self.server_next, self.client_next, WINDOW, b"");
        s.packet(at, self.link, Dir::In, &p);
    }

    /// Data from the client (PSH/ACK).
    pub fn client_data(&mut self, s: &mut Script, at: f64, payload: &[u8]) {
        let p = self.client_segment(PSH | ACK, self.client_next, self.server_next, WINDOW, payload);
        s.packet(at, self.link, Dir::Out, &p);
        self.client_next = self.client_next.wrapping_add(payload.len() as u32);
    }

    /// Data from the server (PSH/ACK).
    pub fn server_data(&mut self, s: &mut Script, at: f64, payload: &[u8]) {
        let p = self.server_segment(PSH | ACK, self.server_next, self.client_next, WINDOW, payload);
        s.packet(at, self.link, Dir::In, &p);
        self.server_next = self.server_next.wrapping_add(payload.len() as u32);
    }

    /// The client's FIN/ACK.
    pub fn client_fin(&mut self, s: &mut Script, at: f64) {
        let p = self.client_segment(FIN | ACK, self.client_next, self.server_next, WINDOW, b"");
        s.packet(at, self.link, Dir::Out, &p);
        self.client_next = self.client_next.wrapping_add(1);
    }

    /// The server's FIN/ACK.
    pub fn server_fin(&mut self, s: &mut Script, at: f64) {
        let p = self.server_segment(FIN | ACK, self.server_next, self.client_next, WINDOW, b"");
        s.packet(at, self.link, Dir::In, &p);
        self.server_next = self.server_next.wrapping_add(1);
    }

    /// The client aborts: RST/ACK at its next sequence number (what Linux sends for a close
    /// with `SO_LINGER` 0 or unread data).
    pub fn client_rst(&self, s: &mut Script, at: f64) {
        let p = self.client_segment(RST | ACK, self.client_next, self.server_next, 0, b"");
        s.packet(at, self.link, Dir::Out, &p);
    }

    /// The server aborts an established connection: RST/ACK at its next sequence number.
    pub fn server_rst(&self, s: &mut Script, at: f64) {
        let p = self.server_segment(RST | ACK, self.server_next, self.client_next, 0, b"");
        s.packet(at, self.link, Dir::In, &p);
    }

    /// The answer of a closed port (RFC 9293 3.10.7.1): RST/ACK with sequence 0 acknowledging
    /// the SYN, arriving with TTL `ttl` (the server's own, or a middlebox's).
    pub fn refuse(&self, s: &mut Script, at: f64, ttl: u8) {
        let tcp = Tcp::new(self.server_port, self.client_port)
            .seq(0)
            .ack(self.client_isn.wrapping_add(1))
            .flags(RST | ACK)
            .window(0);
        let p = frame::tcp(&self.server_ip().ttl(ttl), &tcp, b"");
        s.packet(at, self.link, Dir::In, &p);
    }

    /// SYN, SYN-ACK, ACK starting at `at`, with a round trip of `rtt` seconds.
    pub fn handshake(&self, s: &mut Script, at: f64, rtt: f64) {
        self.syn(s, at);
        self.syn_ack(s, at + rtt);
        self.ack(s, at + rtt + 0.000_1);
    }

    /// The client sends `request`, the server acknowledges it and answers `response`, and the
    /// client acknowledges that; starting at `at` with round trip `rtt`.
    pub fn exchange(&mut self, s: &mut Script, at: f64, rtt: f64, request: &[u8], response: &[u8]) {
        self.client_data(s, at, request);
        self.server_ack(s, at + rtt);
        self.server_data(s, at + rtt + 0.000_3, response);
        self.ack(s, at + rtt + 0.000_4);
    }

    /// The client closes first: FIN/ACK, the server's FIN/ACK, the client's last ACK.
    pub fn client_close(&mut self, s: &mut Script, at: f64, rtt: f64) {
        self.client_fin(s, at);
        self.server_fin(s, at + rtt);
        self.ack(s, at + rtt + 0.000_1);
    }

    /// The server closes first: its FIN/ACK, the client's FIN/ACK, the server's last ACK.
    pub fn server_close(&mut self, s: &mut Script, at: f64, rtt: f64) {
        self.server_fin(s, at);
        self.client_fin(s, at + 0.000_2);
        self.server_ack(s, at + 0.000_2 + rtt);
    }
}

/// One UDP conversation (request and reply) between the capturing client and a server.
#[derive(Clone, Debug)]
pub struct UdpConv {
    link: Link,
    client: IpAddr,
    server: IpAddr,
    client_port: u16,
    server_port: u16,
}

impl UdpConv {
    /// Datagrams between `client:client_port` and `server:server_port` on `link`.
    pub fn new(
        link: Link,
        (client, client_port): (IpAddr, u16),
        (server, server_port): (IpAddr, u16),
    ) -> Self {
        UdpConv { link, client, server, client_port, server_port }
    }

    /// `client:port → server:port udp`.
    pub fn describe(&self) -> String {
        describe(self.client, self.client_port, self.server, self.server_port, "udp")
    }

    /// The client's datagram with TTL `ttl` (for ICMP quotes: the TTL it reached them with).
    pub fn request_packet(&self, ttl: u8, payload: &[u8]) -> Vec<u8> {
        let ip = Ip::new(self.client, self.server).ttl(ttl).df(false);
        frame::udp(&ip, self.client_port, self.server_port, payload)
    }

    /// A datagram from the client.
    pub fn request(&self, s: &mut Script, at: f64, payload: &[u8]) {
        s.packet(at, self.link, Dir::Out, &self.request_packet(CLIENT_TTL, payload));
    }

    /// A datagram from the server.
    pub fn reply(&self, s: &mut Script, at: f64, payload: &[u8]) {
        let ip = Ip::new(self.server, self.client).ttl(SERVER_TTL).df(false);
        let p = frame::udp(&ip, self.server_port, self.client_port, payload);
        s.packet(at, self.link, Dir::In, &p);
    }
}

/// An ICMP or ICMPv6 error from `reporter` to the client, arriving with TTL `ttl`, quoting
/// `quote`.
fn icmp_to(
    s: &mut Script,
    at: f64,
    link: Link,
    (reporter, ttl): (IpAddr, u8),
    client: IpAddr,
    icmp: Icmp,
    quote: &[u8],
) {
    let ip = Ip::new(reporter, client).ttl(ttl).df(false);
    s.packet(at, link, Dir::In, &frame::icmp_error(&ip, icmp, quote));
}

fn describe(client: IpAddr, cport: u16, server: IpAddr, sport: u16, proto: &str) -> String {
    fn ep(ip: IpAddr, port: u16) -> String {
        match ip {
            IpAddr::V4(a) => format!("{a}:{port}"),
            IpAddr::V6(a) => format!("[{a}]:{port}"),
        }
    }
    format!("{} → {} {proto}", ep(client, cport), ep(server, sport))
}

fn attempt(
    flow: String,
    verdict: &'static str,
    cause: &'static str,
    note: &'static str,
) -> Attempt {
    Attempt { flow, verdict, cause, note, known_wrong: None }
}

/// ICMPv6 destination unreachable, no route to destination (1/0); ICMPv4 net unreachable (3/0).
const NO_ROUTE: Icmp = Icmp { v4: (3, 0), v6: (1, 0), mtu: 0 };

/// A DNS query (RFC 1035) for `name` of type `qtype` with recursion desired.
fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes()); // class IN
    m
}

/// The answer to [`dns_query`]: the question again and one record with `rdata`, TTL 300.
fn dns_answer(id: u16, name: &str, qtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut m = dns_query(id, name, qtype);
    m[2..4].copy_from_slice(&[0x81, 0x80]); // QR, RD, RA; NOERROR
    m[6..8].copy_from_slice(&1u16.to_be_bytes()); // 1 answer
    m.extend_from_slice(&[0xc0, 12]); // name: pointer to the question's
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&300u32.to_be_bytes());
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(rdata);
    m
}

const DNS_A: u16 = 1;
const DNS_AAAA: u16 = 28;

const HTTP_GET: &[u8] =
    b"GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
const HTTP_OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n";
const SSH_SERVER: &[u8] = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n";
const SSH_CLIENT: &[u8] = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
const SMTP_BANNER: &[u8] = b"220 mail.example.com ESMTP Postfix\r\n";
const SMTP_EHLO: &[u8] = b"EHLO client.example.com\r\n";

/// TLS application data records (content type 23, TLS 1.2 on the wire) of `len` bytes.
fn tls_record(len: u16, fill: u8) -> Vec<u8> {
    let mut r = vec![23, 3, 3];
    r.extend_from_slice(&len.to_be_bytes());
    r.extend(std::iter::repeat_n(fill, usize::from(len)));
    r
}

/// Every scenario, in the order of the index.
pub fn all() -> Vec<Scenario> {
    vec![
        refused_v4(),
        refused_v6(),
        unreachable_icmp(),
        time_exceeded(),
        icmp_without_attempt(),
        unanswered_syns(),
        capture_gap(),
        broadcast(),
        path_resets(),
        established(),
        syn_after_rst(),
        udp(),
        one_way_udp(),
        midstream(),
        vlan(),
        qinq(),
        linux_sll(),
        linux_sll2(),
        null_loopback(),
        raw_ip(),
        pcapng_two_interfaces(),
        snaplen_cut(),
        time_backwards(),
        span_duplicates(),
        fragments_and_extension_headers(),
        odd_records(),
        pcapng_sections(),
        syn_backoff_answered(),
        injected_rst(),
        vxlan(),
        gre(),
        erspan(),
        mpls(),
        pppoe(),
        gtp_u(),
        wifi_radiotap(),
        nflog(),
        ping(),
        sctp(),
        tunnel_errors(),
    ]
}

fn syn_backoff_answered() -> Scenario {
    let mut s = Script::new(START);
    let rtt = 0.0121;
    let mut a = TcpConv::new(ETH, (CLIENT4, 42300), (SERVER4, 80), (1_700_000_000, 3_700_000_000));
    for at in [0.0, 1.0, 3.0, 7.0] {
        a.syn(&mut s, at); // exponential back-off, same ISN: 1, 2, 4, 8 s apart
    }
    a.handshake(&mut s, 15.0, rtt); // the fifth SYN, answered
    a.exchange(&mut s, 15.0124, rtt, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 15.0300, rtt);
    Scenario {
        name: "syn-backoff-answered",
        description: "The classic SYN back-off: SYNs with one ISN at 0, 1, 3, 7 and 15 s (gaps of \
                      1, 2, 4 and 8 s); the fifth is answered and an HTTP exchange follows. The \
                      wait after the fourth SYN follows the back-off (twice 4 s, plus 1 s: 9 s), \
                      so the fifth is still part of the attempt.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![attempt(
            a.describe(),
            "established",
            "slow-accept",
            "5 SYNs at 0, 1, 3, 7, 15 s; SYN-ACK to the fifth, HTTP request and response, FINs",
        )],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn injected_rst() -> Scenario {
    let mut s = Script::new(START);
    let rtt = 0.0121;
    let mut a = TcpConv::new(ETH, (CLIENT4, 42400), (SERVER4, 80), (1_700_000_100, 3_700_000_100));
    a.syn(&mut s, 0.0);
    // Forged on the path, 2 hops from the client: it beats the server's SYN-ACK.
    a.refuse(&mut s, 0.0031, 62);
    a.syn_ack(&mut s, rtt);
    a.ack(&mut s, rtt + 0.000_1);
    a.exchange(&mut s, 0.0124, rtt, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 0.0300, rtt);
    Scenario {
        name: "injected-rst",
        description: "An RST acknowledging the SYN arrives 3.1 ms after it, with another TTL \
                      than the server's packets (forged on the path); the server's real SYN-ACK \
                      follows at 12.1 ms and a full HTTP exchange and close: the client never \
                      took the RST.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![attempt(
            a.describe(),
            "established",
            "injected-reset",
            "SYN, RST (ACK = ISN + 1, TTL 62), SYN-ACK (TTL 61), ACK, HTTP exchange, FINs",
        )],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

const ETH: Link = Link::Ethernet;
const PCAP_ETH_US_LE: &str = "pcap, Ethernet (1), µs timestamps, little-endian";

fn refused_v4() -> Scenario {
    let mut s = Script::new(START);
    let mut ssh =
        TcpConv::new(ETH, (CLIENT4, 40022), (SERVER4, 22), (1_000_000_022, 3_000_000_022));
    ssh.handshake(&mut s, 0.0, 0.0121);
    ssh.server_data(&mut s, 0.0405, SSH_SERVER);
    ssh.ack(&mut s, 0.0406);
    ssh.client_data(&mut s, 0.0412, SSH_CLIENT);
    ssh.server_ack(&mut s, 0.0533);
    ssh.client_close(&mut s, 0.0601, 0.0121);
    let http = TcpConv::new(ETH, (CLIENT4, 40080), (SERVER4, 80), (1_000_000_080, 0));
    http.syn(&mut s, 1.0);
    http.refuse(&mut s, 1.0119, SERVER_TTL);
    let https = TcpConv::new(ETH, (CLIENT4, 40443), (SERVER4, 443), (1_000_000_443, 0));
    https.syn(&mut s, 2.0);
    // A firewall two routers nearer than the server resets in its name (initial TTL 255).
    https.refuse(&mut s, 2.0043, 254);
    Scenario {
        name: "refused-v4",
        description: "A server that answers SSH, refuses port 80 itself (RST with the TTL of its \
                      own packets) and has port 443 refused by a firewall on the path (RST with \
                      another hop count).",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                ssh.describe(),
                "established",
                "closed",
                "handshake, SSH banners both ways, FIN from the client then the server",
            ),
            attempt(
                http.describe(),
                "refused",
                "host-reset",
                "RST/ACK (seq 0, ack ISN+1) with TTL 61, as the server's own SSH packets (3 hops)",
            ),
            attempt(
                https.describe(),
                "refused",
                "path-reset",
                "RST/ACK with TTL 254 (1 hop from an initial 255), while the server is 3 hops away",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn refused_v6() -> Scenario {
    let mut s = Script::new(START);
    let http = TcpConv::new(ETH, (CLIENT6, 40080), (SERVER6, 80), (1_100_000_080, 0));
    http.syn(&mut s, 0.0);
    http.refuse(&mut s, 0.0118, SERVER_TTL);
    Scenario {
        name: "refused-v6",
        description: "An IPv6 SYN answered by RST/ACK, and nothing else from the server: whether \
                      the host itself or something on the path reset cannot be told.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![attempt(
            http.describe(),
            "refused",
            "reset",
            "RST/ACK acknowledging the SYN, hop limit 61; no other packet of the server to compare",
        )],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn unreachable_icmp() -> Scenario {
    let mut s = Script::new(START);
    // The server itself rejects (iptables REJECT, the default port-unreachable), quoting the
    // whole SYN as it arrived there.
    let a = TcpConv::new(ETH, (CLIENT4, 41001), (SERVER4, 8443), (1_200_000_001, 0));
    a.syn(&mut s, 0.000_000_123);
    let q = a.syn_packet(SERVER_TTL);
    icmp_to(&mut s, 0.011_842_517, ETH, (SERVER4, SERVER_TTL), CLIENT4, Icmp::PORT_UNREACHABLE, &q);
    // The second router has no route to the host; it quotes only the IP header and 8 bytes
    // (RFC 792's minimum), as many routers do.
    let b = TcpConv::new(ETH, (CLIENT4, 41002), (GONE4, 22), (1_200_000_002, 0));
    b.syn(&mut s, 1.000_000_456);
    let q = b.syn_packet(63);
    let q8 = frame::quote_8(&q);
    icmp_to(&mut s, 1.004_210_789, ETH, (ROUTER2_4, 254), CLIENT4, Icmp::HOST_UNREACHABLE, q8);
    // A firewall on the path says the destination is administratively prohibited.
    let c = TcpConv::new(ETH, (CLIENT4, 41003), (SERVER4, 25), (1_200_000_003, 0));
    c.syn(&mut s, 2.000_000_789);
    let q = c.syn_packet(62);
    icmp_to(&mut s, 2.006_300_012, ETH, (FIREWALL4, 253), CLIENT4, Icmp::ADMIN_PROHIBITED, &q);
    // UDP to a port with no listener: the server's kernel answers port unreachable.
    let d = UdpConv::new(ETH, (CLIENT4, 41004), (SERVER4, 514));
    let msg = b"<14>Nov 20 14:00:03 client app: hello";
    d.request(&mut s, 3.000_001_001, msg);
    let q = d.request_packet(SERVER_TTL, msg);
    icmp_to(&mut s, 3.011_907_333, ETH, (SERVER4, SERVER_TTL), CLIENT4, Icmp::PORT_UNREACHABLE, &q);
    // IPv6: the server's ip6tables rejects with adm-prohibited (1/1) ...
    let e = TcpConv::new(ETH, (CLIENT6, 41005), (SERVER6, 8443), (1_200_000_005, 0));
    e.syn(&mut s, 4.000_000_222);
    let q = e.syn_packet(SERVER_TTL);
    icmp_to(&mut s, 4.011_700_444, ETH, (SERVER6, SERVER_TTL), CLIENT6, Icmp::ADMIN_PROHIBITED, &q);
    // ... and the first router has no route to another prefix (1/0).
    let f = TcpConv::new(ETH, (CLIENT6, 41006), (GONE6, 443), (1_200_000_006, 0));
    f.syn(&mut s, 5.000_000_555);
    let q = f.syn_packet(CLIENT_TTL);
    icmp_to(&mut s, 5.000_912_666, ETH, (ROUTER1_6, 255), CLIENT6, NO_ROUTE, &q);
    Scenario {
        name: "unreachable-icmp",
        description: "Attempts answered by ICMP and ICMPv6 destination unreachable, from the \
                      server itself and from routers and a firewall on the path, for TCP and UDP; \
                      one router quotes only the IP header and 8 bytes.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), ns timestamps, big-endian",
        attempts: vec![
            attempt(
                a.describe(),
                "unreachable",
                "port-unreachable",
                "ICMP 3/3 from the server itself (TTL 61) quoting the whole SYN",
            ),
            attempt(
                b.describe(),
                "unreachable",
                "host-unreachable",
                "ICMP 3/1 from router 203.0.113.2 (TTL 254) quoting IP header + 8 bytes",
            ),
            attempt(
                c.describe(),
                "unreachable",
                "admin-prohibited",
                "ICMP 3/13 from firewall 203.0.113.3 (TTL 253)",
            ),
            attempt(
                d.describe(),
                "unreachable",
                "port-unreachable",
                "ICMP 3/3 from the server quoting the syslog datagram",
            ),
            attempt(
                e.describe(),
                "unreachable",
                "admin-prohibited",
                "ICMPv6 1/1 from the server itself (hop limit 61)",
            ),
            attempt(
                f.describe(),
                "unreachable",
                "no-route",
                "ICMPv6 1/0 from the first router 2001:db8:ff::1 (hop limit 255)",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Nano, true),
    }
}

fn time_exceeded() -> Scenario {
    let mut s = Script::new(START);
    // A routing loop: the SYN circles until its TTL runs out at the second router, which
    // quotes the header as it got it (TTL 1) and 8 bytes.
    let a = TcpConv::new(ETH, (CLIENT4, 41100), (SERVER4, 80), (1_300_000_000, 0));
    a.syn(&mut s, 0.0);
    let q = a.syn_packet(1);
    let q8 = frame::quote_8(&q);
    icmp_to(&mut s, 0.062_113, ETH, (ROUTER2_4, 254), CLIENT4, Icmp::TTL_EXCEEDED, q8);
    let b = TcpConv::new(ETH, (CLIENT6, 41101), (SERVER6, 80), (1_300_000_001, 0));
    b.syn(&mut s, 1.0);
    let q = b.syn_packet(1);
    icmp_to(&mut s, 1.063_402, ETH, (ROUTER2_6, 254), CLIENT6, Icmp::TTL_EXCEEDED, &q);
    Scenario {
        name: "time-exceeded",
        description: "SYNs caught in a routing loop: ICMP time exceeded (11/0) and ICMPv6 hop \
                      limit exceeded (3/0) from the second router, quoting the SYN with TTL 1.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "time-exceeded",
                "ttl-exceeded",
                "ICMP 11/0 from 203.0.113.2 (TTL 254) quoting IP header + 8 bytes",
            ),
            attempt(
                b.describe(),
                "time-exceeded",
                "ttl-exceeded",
                "ICMPv6 3/0 from 2001:db8:ff::2 (hop limit 254) quoting the whole SYN",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn icmp_without_attempt() -> Scenario {
    let mut s = Script::new(START);
    // As if captured with a filter such as `icmp or icmp6`: the attempts themselves are not in
    // the file, only the errors that quote them.
    let a = TcpConv::new(ETH, (CLIENT4, 41200), (GONE4, 22), (1_400_000_000, 0));
    let q = a.syn_packet(63);
    icmp_to(
        &mut s,
        0.0,
        ETH,
        (ROUTER2_4, 254),
        CLIENT4,
        Icmp::HOST_UNREACHABLE,
        frame::quote_8(&q),
    );
    let b = UdpConv::new(ETH, (CLIENT6, 41201), (SERVER6, 53));
    let q = b.request_packet(SERVER_TTL, &dns_query(0x4201, "www.example.com", DNS_AAAA));
    icmp_to(&mut s, 1.0, ETH, (SERVER6, SERVER_TTL), CLIENT6, Icmp::PORT_UNREACHABLE, &q);
    Scenario {
        name: "icmp-without-attempt",
        description: "ICMP errors whose attempts are not in the capture (as with a filter like \
                      `icmp or icmp6`): each quoted attempt still gets its verdict.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "unreachable",
                "host-unreachable",
                "ICMP 3/1 from router 203.0.113.2 quoting a SYN (8 bytes) that is not captured",
            ),
            attempt(
                b.describe(),
                "unreachable",
                "port-unreachable",
                "ICMPv6 1/4 from the server quoting a DNS query that is not captured",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn unanswered_syns() -> Scenario {
    let mut s = Script::new(START);
    let a = TcpConv::new(ETH, (CLIENT4, 41300), (SERVER4, 8080), (1_500_000_000, 0));
    for at in [0.0, 1.0, 3.0, 7.0] {
        a.syn(&mut s, at); // Linux's exponential backoff: same ISN each time
    }
    let dns = UdpConv::new(ETH, (CLIENT4, 41301), (RESOLVER4, 53));
    dns.request(&mut s, 27.0, &dns_query(0x4301, "www.example.com", DNS_A));
    dns.reply(&mut s, 27.0118, &dns_answer(0x4301, "www.example.com", DNS_A, &[203, 0, 113, 80]));
    let b = TcpConv::new(ETH, (CLIENT4, 41302), (SERVER4, 8081), (1_500_000_002, 0));
    b.syn(&mut s, 30.0);
    b.syn(&mut s, 31.0);
    Scenario {
        name: "unanswered-syns",
        description: "SYNs that get nothing back: one attempt retried at 0, 1, 3 and 7 s whose \
                      timeout passes inside the capture (unrelated DNS 20 s later), and one whose \
                      two SYNs end the capture before its timeout.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "unanswered",
                "no-response",
                "4 SYNs with the same ISN at 0, 1, 3, 7 s; the capture goes on 20 s after the last",
            ),
            attempt(
                dns.describe(),
                "answered",
                "reply-seen",
                "the unrelated traffic that moves capture time on: a DNS query and its answer",
            ),
            attempt(
                b.describe(),
                "unanswered",
                "capture-ended",
                "2 SYNs at 30 and 31 s, the last packets of the capture",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn capture_gap() -> Scenario {
    let mut s = Script::new(START);
    let a = TcpConv::new(ETH, (CLIENT4, 41310), (SERVER4, 8080), (1_510_000_000, 0));
    a.syn(&mut s, 0.0);
    a.syn(&mut s, 1.0);
    let dns = UdpConv::new(ETH, (CLIENT4, 41311), (RESOLVER4, 53));
    dns.request(&mut s, 2.0, &dns_query(0x4311, "www.example.com", DNS_A));
    dns.reply(&mut s, 2.0118, &dns_answer(0x4311, "www.example.com", DNS_A, &[203, 0, 113, 80]));
    let b = TcpConv::new(ETH, (CLIENT4, 41312), (SERVER4, 8081), (1_510_000_002, 0));
    b.syn(&mut s, 3.0);
    // Two hours later (a second capture appended to the first: two packets confirm the leap).
    let later = UdpConv::new(ETH, (CLIENT4, 41313), (RESOLVER4, 53));
    later.request(&mut s, 7203.0, &dns_query(0x4313, "www.example.org", DNS_A));
    later.reply(
        &mut s,
        7203.0119,
        &dns_answer(0x4313, "www.example.org", DNS_A, &[203, 0, 113, 81]),
    );
    let mut d = TcpConv::new(ETH, (CLIENT4, 41314), (SERVER4, 80), (1_510_000_004, 3_510_000_004));
    d.handshake(&mut s, 7204.0, 0.0121);
    d.exchange(&mut s, 7204.0124, 0.0121, HTTP_GET, HTTP_OK);
    d.client_close(&mut s, 7204.0300, 0.0121);
    Scenario {
        name: "capture-gap",
        description: "Two stretches of capture in one file, two hours apart (a second capture \
                      appended to the first): attempts still waiting when the first stretch \
                      ends are not judged on the two hours nobody recorded.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "unanswered",
                "capture-ended",
                "SYNs at 0 and 1 s; the first stretch ends at 3 s, before its 5 s wait: the gap \
                 that follows was not captured, so it decides nothing (coverage_gap_from/_to)",
            ),
            attempt(dns.describe(), "answered", "reply-seen", "a DNS query answered at 2 s"),
            attempt(
                b.describe(),
                "unanswered",
                "capture-ended",
                "one SYN at 3 s, the last packet of the first stretch",
            ),
            attempt(
                later.describe(),
                "answered",
                "reply-seen",
                "the second stretch begins two hours later: a DNS query answered",
            ),
            attempt(
                d.describe(),
                "established",
                "closed",
                "handshake, HTTP exchange and FINs in the second stretch",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn path_resets() -> Scenario {
    let mut s = Script::new(START);
    let rtt = 0.0121;
    // The service works: a client's connection, with the server's own TTL (61).
    let ok = (CLIENT4, 41330);
    let mut a = TcpConv::new(ETH, ok, (SERVER4, 443), (1_800_000_000, 3_800_000_000));
    a.handshake(&mut s, 0.0, rtt);
    a.exchange(&mut s, 0.0124, rtt, &tls_record(40, 0xa1), &tls_record(90, 0xb2));
    a.client_close(&mut s, 0.1, rtt);
    // Five other clients' SYNs to it are answered by RSTs a device on the path sends (TTL
    // 250: not the server's 61).
    let mut attempts = vec![attempt(
        a.describe(),
        "established",
        "closed",
        "TLS records both ways, FINs: the service accepts connections",
    )];
    for i in 0..5u8 {
        let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20 + i));
        let c = TcpConv::new(
            ETH,
            (client, 41331 + u16::from(i)),
            (SERVER4, 443),
            (1_800_000_010 + u32::from(i), 0),
        );
        let at = 1.0 + f64::from(i) * 0.5;
        c.syn(&mut s, at);
        c.refuse(&mut s, at + 0.002, 250);
        attempts.push(attempt(
            c.describe(),
            "refused",
            "path-reset",
            "SYN answered 2 ms later by an RST with TTL 250, where the server's own packets \
             arrive with 61: sent by a device on the path",
        ));
    }
    Scenario {
        name: "path-resets",
        description: "A service that accepts one client while a device on the path resets five \
                      others (RSTs with a TTL unlike the server's): the service-down incident \
                      those refusals raise points at the path and says the service accepted \
                      another client, instead of calling it stopped or crashed.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn broadcast() -> Scenario {
    let mut s = Script::new(START);
    let lan = |last: u8| IpAddr::V4(Ipv4Addr::new(192, 0, 2, last));
    // BACnet/IP Who-Is to the broadcast address of a /25 (192.0.2.0/25): the IP address does
    // not end in .255, the Ethernet destination says broadcast.
    let who_is = [0x81, 0x0b, 0x00, 0x0c, 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08];
    for at in [0.0, 1.0] {
        s.to_group(at, [0xff; 6], &frame::udp(&Ip::new(CLIENT4, lan(127)), 47808, 47808, &who_is));
    }
    // A NetBIOS name query broadcast on the subnet.
    let nbns = [0x12, 0x34, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0];
    s.to_group(2.0, [0xff; 6], &frame::udp(&Ip::new(CLIENT4, lan(255)), 137, 137, &nbns));
    // SSDP M-SEARCH to its IP multicast group (Ethernet 01:00:5e:7f:ff:fa, RFC 1112 §6.4).
    let ssdp = Ip::new(CLIENT4, IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)));
    let search = frame::udp(&ssdp, 41320, 1900, b"M-SEARCH * HTTP/1.1\r\n");
    s.to_group(3.0, [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa], &search);
    // An ordinary host whose address ends in .255 (198.18.0.0/15, a /15): a unicast frame,
    // a DNS query and its answer.
    let dns = UdpConv::new(ETH, (CLIENT4, 41321), (IpAddr::V4(Ipv4Addr::new(198, 18, 1, 255)), 53));
    dns.request(&mut s, 4.0, &dns_query(0x4321, "www.example.com", DNS_A));
    dns.reply(&mut s, 4.0121, &dns_answer(0x4321, "www.example.com", DNS_A, &[203, 0, 113, 80]));
    Scenario {
        name: "broadcast",
        description: "Broadcast and multicast datagrams, which expect no answer from one host and \
                      are counted, not judged: BACnet Who-Is to a /25's broadcast address \
                      (192.0.2.127, Ethernet destination ff:ff:ff:ff:ff:ff), a NetBIOS name \
                      query broadcast, an SSDP search to 239.255.255.250; and a DNS server at \
                      198.18.1.255, an ordinary host of a /15 reached by a unicast frame.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![attempt(
            dns.describe(),
            "answered",
            "reply-seen",
            "a unicast frame to a host at .255 of a /15: a DNS query and its answer 12.1 ms later",
        )],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn established() -> Scenario {
    let mut s = Script::new(START);
    let rtt = 0.0121;
    let mut a = TcpConv::new(ETH, (CLIENT4, 41400), (SERVER4, 80), (1_600_000_000, 3_600_000_000));
    a.handshake(&mut s, 0.0, rtt);
    a.exchange(&mut s, 0.0124, rtt, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 0.0300, rtt);
    let mut b = TcpConv::new(ETH, (CLIENT6, 41401), (SERVER6, 443), (1_600_000_001, 3_600_000_001));
    b.handshake(&mut s, 1.0, rtt);
    b.exchange(&mut s, 1.0124, rtt, &tls_record(40, 0xa1), &tls_record(90, 0xb2));
    b.server_close(&mut s, 1.2000, rtt);
    let mut c =
        TcpConv::new(ETH, (CLIENT4, 41402), (SERVER4, 8080), (1_600_000_002, 3_600_000_002));
    c.handshake(&mut s, 2.0, rtt);
    c.exchange(&mut s, 2.0124, rtt, HTTP_GET, HTTP_OK);
    c.client_rst(&mut s, 2.5000);
    let d = TcpConv::new(ETH, (CLIENT6, 41403), (SERVER6, 25), (1_600_000_003, 3_600_000_003));
    d.handshake(&mut s, 3.0, rtt);
    d.server_rst(&mut s, 3.0250);
    let mut e = TcpConv::new(ETH, (CLIENT4, 41404), (SERVER4, 25), (1_600_000_004, 3_600_000_004));
    e.handshake(&mut s, 4.0, rtt);
    e.server_data(&mut s, 4.0500, SMTP_BANNER);
    e.ack(&mut s, 4.0501);
    e.client_data(&mut s, 4.0600, SMTP_EHLO);
    e.server_ack(&mut s, 4.0721);
    Scenario {
        name: "established",
        description: "Completed handshakes over IPv4 and IPv6, ended every way a connection \
                      ends: FIN from both sides (client first, server first), reset by the \
                      client after data, and still open when the capture stops; and one the \
                      server resets right after the handshake, before its SMTP banner: accepted, \
                      then turned away by the service (rejected, not established).",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "established",
                "closed",
                "HTTP request and response, client FIN first",
            ),
            attempt(
                b.describe(),
                "established",
                "closed",
                "TLS records both ways, server FIN first",
            ),
            attempt(
                c.describe(),
                "established",
                "reset-by-client",
                "HTTP exchange, then RST/ACK from the client",
            ),
            attempt(
                d.describe(),
                "rejected",
                "reset-before-request",
                "handshake, then 12.8 ms later RST/ACK from the server (hop limit 61, as its \
                 SYN-ACK: the host itself) with no byte either way; SMTP's server speaks first, so \
                 the client was waiting for the banner: the service turned the connection away",
            ),
            attempt(
                e.describe(),
                "established",
                "still-open",
                "SMTP banner and EHLO, then the capture ends with the connection open",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn syn_after_rst() -> Scenario {
    let mut s = Script::new(START);
    let mut a = TcpConv::new(ETH, (CLIENT4, 41500), (SERVER4, 80), (1_700_000_000, 3_700_000_000));
    a.syn(&mut s, 0.0);
    // The server was slow to answer; the client's retransmission (same ISN) was already on
    // its way and is captured just after the RST: it is not a new attempt.
    a.refuse(&mut s, 0.9996, SERVER_TTL);
    a.syn(&mut s, 1.0003);
    let first = a.describe();
    // A second try on the same 5-tuple with a new ISN finds the service up.
    a.new_client_isn(1_700_500_000);
    a.handshake(&mut s, 2.0, 0.0121);
    a.exchange(&mut s, 2.0124, 0.0121, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 2.0300, 0.0121);
    Scenario {
        name: "syn-after-rst",
        description: "A refused SYN, a retransmission of it that crosses the RST, and a new \
                      attempt on the same 5-tuple (new ISN) a second later that succeeds: two \
                      attempts, not three.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                first,
                "refused",
                "reset",
                "ISN 1700000000 answered by RST/ACK (ack ISN+1); the same-ISN SYN after it is \
                 absorbed; no earlier packet of the server to compare TTLs with",
            ),
            attempt(
                a.describe(),
                "established",
                "closed",
                "new ISN 1700500000 at 2 s: handshake, HTTP exchange, FIN both ways",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn udp() -> Scenario {
    let mut s = Script::new(START);
    let a = UdpConv::new(ETH, (CLIENT4, 41600), (RESOLVER4, 53));
    a.request(&mut s, 0.0, &dns_query(0x4600, "www.example.com", DNS_A));
    a.reply(&mut s, 0.0118, &dns_answer(0x4600, "www.example.com", DNS_A, &[203, 0, 113, 80]));
    let b = UdpConv::new(ETH, (CLIENT6, 41601), (RESOLVER6, 53));
    let v6_answer = Ipv6Addr::new(0x2001, 0xdb8, 0x80, 0, 0, 0, 0, 0x80).octets();
    b.request(&mut s, 1.0, &dns_query(0x4601, "www.example.com", DNS_AAAA));
    b.reply(&mut s, 1.0121, &dns_answer(0x4601, "www.example.com", DNS_AAAA, &v6_answer));
    let c = UdpConv::new(ETH, (CLIENT4, 41602), (DEAD_RESOLVER4, 53));
    for at in [2.0, 4.0, 6.0, 8.0] {
        c.request(&mut s, at, &dns_query(0x4602, "www.example.org", DNS_A));
    }
    let d = UdpConv::new(ETH, (CLIENT4, 41603), (RESOLVER4, 53));
    d.request(&mut s, 20.0, &dns_query(0x4603, "www.example.org", DNS_A));
    d.reply(&mut s, 20.0119, &dns_answer(0x4603, "www.example.org", DNS_A, &[203, 0, 113, 81]));
    Scenario {
        name: "udp",
        description: "DNS over UDP: queries answered over IPv4 and IPv6, and a query to a dead \
                      resolver sent four times (three retries) with no answer, a DNS failure, \
                      followed by later traffic so that its timeout passes inside the capture.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(a.describe(), "answered", "reply-seen", "A query and its answer 11.8 ms later"),
            attempt(b.describe(), "answered", "reply-seen", "AAAA query over IPv6 and its answer"),
            attempt(
                c.describe(),
                "dns-failure",
                "no-response",
                "a DNS query (ID 0x4602, A www.example.org) sent at 2, 4, 6 and 8 s, nothing \
                 back from 198.51.100.54; the capture goes on to 20 s, where another resolver \
                 answers: the name was not resolved because this server did not answer",
            ),
            attempt(d.describe(), "answered", "reply-seen", "the later traffic: a query answered"),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

/// A datagram from `from` to `to` received by the capturing host with TTL `ttl`.
fn inbound_udp(
    s: &mut Script,
    at: f64,
    (from, ttl): (IpAddr, u8),
    to: (IpAddr, u16),
    sport: u16,
    payload: &[u8],
) {
    let ip = Ip::new(from, to.0).ttl(ttl).df(false);
    s.packet(at, ETH, Dir::In, &frame::udp(&ip, sport, to.1, payload));
}

/// A BFD control packet (RFC 5880 §4.1): version 1, state Up, detect multiplier 3, the two
/// discriminators, 300 ms intervals.
fn bfd_control(my: u32, your: u32) -> Vec<u8> {
    let mut m = vec![0x20, 0xc0, 3, 24];
    m.extend_from_slice(&my.to_be_bytes());
    m.extend_from_slice(&your.to_be_bytes());
    for _ in 0..2 {
        m.extend_from_slice(&300_000u32.to_be_bytes());
    }
    m.extend_from_slice(&0u32.to_be_bytes());
    m
}

fn one_way_udp() -> Scenario {
    let mut s = Script::new(START);
    // Syslog (RFC 5426): three messages to a collector, never acknowledged.
    let syslog = UdpConv::new(ETH, (CLIENT4, 41514), (SERVER4, 514));
    for (at, msg) in [
        (0.0, &b"<14>Nov 20 14:00:00 client app: started"[..]),
        (1.0, b"<14>Nov 20 14:00:01 client app: listening"),
        (2.5, b"<11>Nov 20 14:00:02 client app: disk full"),
    ] {
        syslog.request(&mut s, at, msg);
    }
    // sFlow v5 datagrams from the agent to its collector, ten seconds apart.
    let sflow = UdpConv::new(ETH, (CLIENT4, 41343), (SERVER4, 6343));
    let sample = [0, 0, 0, 5, 0, 0, 0, 1, 192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 1];
    sflow.request(&mut s, 0.5, &sample);
    sflow.request(&mut s, 10.5, &sample);
    // VXLAN (RFC 7348): two encapsulated frames from a hashed source port to 4789 (VNI 42),
    // carrying an overlay host's syslog messages: the inner datagrams are the conversation
    // (one-way, as syslog is), the outer VXLAN datagrams none.
    let vxlan =
        UdpConv::new(tunnel(Encap::Vxlan { vni: 42 }), (INNER_CLIENT, 41515), (INNER_SERVER, 514));
    vxlan.request(&mut s, 1.5, b"<14>Nov 20 14:00:01 pod app: in the overlay");
    vxlan.request(&mut s, 1.6, b"<14>Nov 20 14:00:01 pod app: still here");
    // BFD (RFC 5881 §4): each side sends its control packets from its own source port to
    // 3784, so the session is two one-way conversations.
    let bfd = UdpConv::new(ETH, (CLIENT4, 49152), (SERVER4, 3784));
    for at in [2.0, 2.3, 2.6] {
        bfd.request(&mut s, at, &bfd_control(0x0a0b_0c0d, 0x0102_0304));
    }
    for at in [2.1, 2.4] {
        inbound_udp(
            &mut s,
            at,
            (SERVER4, SERVER_TTL),
            (CLIENT4, 3784),
            49153,
            &bfd_control(0x0102_0304, 0x0a0b_0c0d),
        );
    }
    // A DNS query, answered: request/response as ever.
    let dns = UdpConv::new(ETH, (CLIENT4, 41353), (RESOLVER4, 53));
    dns.request(&mut s, 3.0, &dns_query(0x4353, "www.example.com", DNS_A));
    dns.reply(&mut s, 3.0118, &dns_answer(0x4353, "www.example.com", DNS_A, &[203, 0, 113, 80]));
    // A request to a port no list names, with nothing back: a failure, as ever.
    let unknown = UdpConv::new(ETH, (CLIENT4, 41999), (SERVER4, 7001));
    unknown.request(&mut s, 4.0, b"ping");
    // An SSDP answer to a multicast search (whose M-SEARCH went to the group): from the
    // device's port 1900 to the searcher's port, a one-way datagram of the device.
    const DEVICE4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30));
    let ssdp = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n\r\n";
    inbound_udp(&mut s, 5.0, (DEVICE4, CLIENT_TTL), (CLIENT4, 50000), 1900, ssdp);
    Scenario {
        name: "one-way-udp",
        description: "UDP of protocols that never answer on the same 5-tuple — syslog, sFlow, \
                      syslog inside VXLAN, BFD in both directions, an SSDP answer to a multicast search — \
                      beside an answered DNS query and an unanswered datagram to an unlisted \
                      port.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                dns.describe(),
                "answered",
                "reply-seen",
                "a DNS query and its answer 11.8 ms later",
            ),
            attempt(
                unknown.describe(),
                "unanswered",
                "filtered",
                "one datagram to port 7001, which no list names, nothing back within 5 s while \
                 198.51.100.20 sends BFD packets: request/response, so a failure",
            ),
            attempt(
                syslog.describe(),
                "one-way",
                "one-way-protocol",
                "three syslog messages to 514 (RFC 5426: never acknowledged), nothing back, no \
                 ICMP error",
            ),
            attempt(
                sflow.describe(),
                "one-way",
                "one-way-protocol",
                "two sFlow datagrams to the collector's 6343, ten seconds apart, nothing back",
            ),
            attempt(
                format!("{} (in vxlan:42 192.0.2.1>192.0.2.2)", vxlan.describe()),
                "one-way",
                "one-way-protocol",
                "two syslog messages inside VXLAN (VNI 42, outer 192.0.2.1 → 192.0.2.2:4789): the \
                 inner datagrams, not the outer ones, are the conversation",
            ),
            attempt(
                bfd.describe(),
                "one-way",
                "one-way-protocol",
                "BFD control packets from 49152 to 3784: this side's half of the session",
            ),
            attempt(
                describe(SERVER4, 49153, CLIENT4, 3784, "udp"),
                "one-way",
                "one-way-protocol",
                "the peer's half: its own source port to this host's 3784",
            ),
            attempt(
                describe(DEVICE4, 1900, CLIENT4, 50000, "udp"),
                "one-way",
                "one-way-protocol",
                "an SSDP answer from port 1900 to the searcher's port 50000, its search sent \
                 to the multicast group (not in the capture): the source port names the \
                 protocol",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn midstream() -> Scenario {
    let mut s = Script::new(START);
    // The capture starts long after the handshake: sequence numbers far from any ISN.
    let mut a = TcpConv::new(ETH, (CLIENT4, 51000), (SERVER4, 443), (1_800_123_456, 3_800_654_320));
    a.server_data(&mut s, 0.0, &tls_record(600, 0xc3));
    a.ack(&mut s, 0.0002);
    a.client_data(&mut s, 0.5, &tls_record(120, 0xd4));
    a.server_ack(&mut s, 0.5121);
    a.server_data(&mut s, 0.5130, &tls_record(300, 0xe5));
    a.ack(&mut s, 0.5132);
    a.client_close(&mut s, 1.0, 0.0121);
    Scenario {
        name: "midstream",
        description: "A capture that begins after the handshake of an HTTPS connection: only \
                      data and ACKs, then a FIN close.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![attempt(
            a.describe(),
            "partial",
            "midstream",
            "no SYN in the capture; the client is the side on the ephemeral port",
        )],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn vlan() -> Scenario {
    let mut s = Script::new(START);
    let v100 = Link::Vlan(VlanTag::q(100));
    let v200 = Link::Vlan(VlanTag::q(200));
    let mut a = TcpConv::new(v100, (CLIENT4, 41700), (SERVER4, 80), (1_900_000_000, 3_900_000_000));
    a.handshake(&mut s, 0.0, 0.0121);
    a.exchange(&mut s, 0.0124, 0.0121, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 0.2, 0.0121);
    // Another host with the same addresses on VLAN 200 tries the same 5-tuple (another ISN)
    // while the VLAN 100 connection is open; nothing answers it.
    let b = TcpConv::new(v200, (CLIENT4, 41700), (SERVER4, 80), (1_900_200_000, 0));
    for at in [0.05, 1.05, 3.05] {
        b.syn(&mut s, at);
    }
    let c = TcpConv::new(v100, (CLIENT4, 41701), (SERVER4, 8080), (1_900_000_001, 0));
    c.syn(&mut s, 10.0);
    c.refuse(&mut s, 10.0119, SERVER_TTL);
    Scenario {
        name: "vlan",
        description: "802.1Q-tagged traffic: on VLAN 100 an established connection and a refused \
                      one; on VLAN 200 the same 5-tuple as the established one, unanswered, which \
                      must stay a separate conversation.",
        // The same 5-tuple on two VLANs is two conversations only when VLANs are split.
        args: &["--split-vlans"],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1) with 802.1Q tags (VLAN 100, 200), µs timestamps, little-endian",
        attempts: vec![
            attempt(
                format!("{} (VLAN 100)", a.describe()),
                "established",
                "closed",
                "handshake, HTTP exchange, FIN both ways",
            ),
            attempt(
                format!("{} (VLAN 200)", b.describe()),
                "unanswered",
                "no-response",
                "3 SYNs (0.05, 1.05, 3.05 s), new ISN, during the VLAN 100 connection; nothing \
                 at all from 198.51.100.20 on VLAN 200, so nothing shows that host is up",
            ),
            attempt(
                format!("{} (VLAN 100)", c.describe()),
                "refused",
                "host-reset",
                "RST/ACK with TTL 61, as the server's SYN-ACK on VLAN 100",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn qinq() -> Scenario {
    let mut s = Script::new(START);
    let link = Link::QinQ(VlanTag::ad(10), VlanTag::q(20));
    let a = TcpConv::new(link, (CLIENT4, 41800), (SERVER4, 80), (2_000_000_000, 0));
    a.syn(&mut s, 0.0);
    a.refuse(&mut s, 0.0119, SERVER_TTL);
    let b = TcpConv::new(link, (CLIENT4, 41801), (GONE4, 443), (2_000_000_001, 0));
    b.syn(&mut s, 1.0);
    let q = b.syn_packet(63);
    icmp_to(&mut s, 1.0042, link, (ROUTER2_4, 254), CLIENT4, Icmp::HOST_UNREACHABLE, &q);
    Scenario {
        name: "qinq",
        description: "Double-tagged frames (802.1ad outer VLAN 10, 802.1Q inner VLAN 20): a \
                      refused attempt and one reported unreachable by a router.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1) with 0x88a8 VID 10 + 0x8100 VID 20, µs timestamps, \
                 little-endian",
        attempts: vec![
            attempt(
                a.describe(),
                "refused",
                "reset",
                "RST/ACK acknowledging the SYN; no other packet of the server to compare",
            ),
            attempt(
                b.describe(),
                "unreachable",
                "host-unreachable",
                "ICMP 3/1 from router 203.0.113.2 quoting the whole SYN",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

/// Established (HTTP, FIN close), refused (host reset) and answered UDP on one link.
fn three_kinds(
    name: &'static str,
    description: &'static str,
    format: &'static str,
    link: Link,
    base_port: u16,
) -> Scenario {
    let mut s = Script::new(START);
    let isn = 2_100_000_000 + u32::from(base_port);
    let mut a = TcpConv::new(link, (CLIENT4, base_port), (SERVER4, 80), (isn, 4_000_000_000));
    a.handshake(&mut s, 0.0, 0.0121);
    a.exchange(&mut s, 0.0124, 0.0121, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 0.0300, 0.0121);
    let b = TcpConv::new(link, (CLIENT4, base_port + 1), (SERVER4, 8080), (isn + 1, 0));
    b.syn(&mut s, 1.0);
    b.refuse(&mut s, 1.0119, SERVER_TTL);
    let c = UdpConv::new(link, (CLIENT4, base_port + 2), (RESOLVER4, 53));
    c.request(&mut s, 2.0, &dns_query(base_port, "www.example.com", DNS_A));
    c.reply(&mut s, 2.0118, &dns_answer(base_port, "www.example.com", DNS_A, &[203, 0, 113, 80]));
    Scenario {
        name,
        description,
        args: &[],
        file_name: "input.pcap",
        format,
        attempts: vec![
            attempt(
                a.describe(),
                "established",
                "closed",
                "handshake, HTTP exchange, FIN both ways",
            ),
            attempt(
                b.describe(),
                "refused",
                "host-reset",
                "RST/ACK with TTL 61, as the server's packets on port 80",
            ),
            attempt(c.describe(), "answered", "reply-seen", "DNS query and answer"),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn linux_sll() -> Scenario {
    three_kinds(
        "linux-sll",
        "Linux cooked capture v1 (as `tcpdump -i any` wrote it before libpcap 1.10): an \
         established connection, a refused one and an answered DNS query; sent frames are \
         marked outgoing.",
        "pcap, LINUX_SLL (113), µs timestamps, little-endian",
        Link::Sll,
        41900,
    )
}

fn linux_sll2() -> Scenario {
    three_kinds(
        "linux-sll2",
        "Linux cooked capture v2 (`tcpdump -i any` with libpcap 1.10 or later): an established \
         connection, a refused one and an answered DNS query; sent frames are marked outgoing.",
        "pcap, LINUX_SLL2 (276), µs timestamps, little-endian",
        Link::Sll2,
        42000,
    )
}

/// Established over IPv4, refused over IPv4 (with `refuse_ttl`) and established over IPv6.
fn two_families(
    name: &'static str,
    description: &'static str,
    format: &'static str,
    link: Link,
    base_port: u16,
    (refuse_ttl, cause, note): (u8, &'static str, &'static str),
) -> Scenario {
    let mut s = Script::new(START);
    let isn = 2_200_000_000 + u32::from(base_port);
    let mut a = TcpConv::new(link, (CLIENT4, base_port), (SERVER4, 80), (isn, 4_100_000_000));
    a.handshake(&mut s, 0.0, 0.0121);
    a.exchange(&mut s, 0.0124, 0.0121, HTTP_GET, HTTP_OK);
    a.client_close(&mut s, 0.0300, 0.0121);
    let b = TcpConv::new(link, (CLIENT4, base_port + 1), (SERVER4, 8080), (isn + 1, 0));
    b.syn(&mut s, 1.0);
    b.refuse(&mut s, 1.0119, refuse_ttl);
    let mut c =
        TcpConv::new(link, (CLIENT6, base_port + 2), (SERVER6, 443), (isn + 2, 4_100_000_002));
    c.handshake(&mut s, 2.0, 0.0121);
    c.exchange(&mut s, 2.0124, 0.0121, &tls_record(40, 0xa1), &tls_record(90, 0xb2));
    c.client_close(&mut s, 2.0300, 0.0121);
    Scenario {
        name,
        description,
        args: &[],
        file_name: "input.pcap",
        format,
        attempts: vec![
            attempt(
                a.describe(),
                "established",
                "closed",
                "handshake, HTTP exchange, FIN both ways",
            ),
            attempt(b.describe(), "refused", cause, note),
            attempt(
                c.describe(),
                "established",
                "closed",
                "IPv6: handshake, TLS records, FIN both ways",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn null_loopback() -> Scenario {
    two_families(
        "null-loopback",
        "BSD NULL link layer (a 4-byte address family in host order, little-endian here; \
         AF_INET6 = 30 as macOS numbers it), as on macOS utun/VPN interfaces: established over \
         IPv4 and IPv6, and a refused attempt.",
        "pcap, NULL (0), µs timestamps, little-endian",
        Link::Null { big_endian: false },
        42100,
        (SERVER_TTL, "host-reset", "RST/ACK with TTL 61, as the server's packets on port 80"),
    )
}

fn raw_ip() -> Scenario {
    two_families(
        "raw-ip",
        "Raw IP link layer (no link header; the version nibble tells IPv4 from IPv6), as on \
         tun interfaces: established over IPv4 and IPv6, and an attempt reset by a firewall on \
         the path.",
        "pcap, RAW (101), µs timestamps, little-endian",
        Link::Raw(LinkType::RAW),
        42200,
        (254, "path-reset", "RST/ACK with TTL 254 while the server's own packets arrive with 61"),
    )
}

/// A block type from the range pcapng reserves for local use: no reader knows it, every
/// reader must skip it by its length.
const UNKNOWN_BLOCK: u32 = 0x8000_0C1E;

fn pcapng_two_interfaces() -> Scenario {
    let mut s = Script::new(START);
    let eth = ETH;
    let sll2 = Link::Sll2;
    // Interface 0 (Ethernet, µs): a refused attempt. Interface 1 (SLL2, ns): an unreachable
    // one. Their packets interleave in time.
    let a = TcpConv::new(eth, (CLIENT4, 42300), (SERVER4, 80), (2_300_000_000, 0));
    let b = TcpConv::new(sll2, (CLIENT4, 42301), (GONE4, 443), (2_300_000_001, 0));
    b.syn(&mut s, 0.000_050_123);
    a.syn(&mut s, 0.000_100);
    s.block(0.001, UNKNOWN_BLOCK, b"connlens test: a block of unknown type, to be skipped");
    let q = b.syn_packet(63);
    icmp_to(&mut s, 0.003_000_456, sll2, (ROUTER2_4, 254), CLIENT4, Icmp::HOST_UNREACHABLE, &q);
    a.refuse(&mut s, 0.012_000, SERVER_TTL);
    Scenario {
        name: "pcapng-two-interfaces",
        description: "One pcapng section with two interfaces of different link types and \
                      timestamp resolutions (0: Ethernet, µs; 1: LINUX_SLL2, ns), packets of two \
                      attempts interleaved in time, and a block of unknown type in the middle \
                      that readers must skip. Wireshark reads it; tcpdump (libpcap 1.10) refuses \
                      pcapng files whose interfaces have different link types.",
        args: &[],
        file_name: "input.pcapng",
        format: "pcapng, little-endian; interface 0 Ethernet (1) µs, interface 1 LINUX_SLL2 (276) \
                 ns; one block of type 0x80000c1e",
        attempts: vec![
            attempt(
                format!("{} (interface 0)", a.describe()),
                "refused",
                "reset",
                "RST/ACK acknowledging the SYN; no other packet of the server to compare",
            ),
            attempt(
                format!("{} (interface 1)", b.describe()),
                "unreachable",
                "host-unreachable",
                "ICMP 3/1 from router 203.0.113.2 quoting the whole SYN",
            ),
        ],
        bytes: s.to_pcapng(&[
            (LinkType::ETHERNET, TsResolution::Micro),
            (LinkType::LINUX_SLL2, TsResolution::Nano),
        ]),
    }
}

// ---------------------------------------------------------------------------------------------
// Odd captures: what real files hold besides clean, well-ordered, whole packets.

impl Script {
    /// The frames in time order (or, `sorted` false, in the order they were added), without
    /// pcapng blocks, for scenarios that write records by hand.
    fn frames(&self, sorted: bool) -> Vec<(Timestamp, Vec<u8>)> {
        let entries: Vec<&Entry> =
            if sorted { self.sorted() } else { self.entries.iter().collect() };
        entries
            .into_iter()
            .filter_map(|e| match &e.body {
                Body::Frame { bytes, .. } => Some((e.ts, bytes.clone())),
                Body::Block { .. } => None,
            })
            .collect()
    }
}

/// A little-endian µs Ethernet pcap with header snap length `snaplen` and the given records
/// `(time, captured bytes, length on the wire)`, in the given order.
fn pcap_records(snaplen: u32, records: &[(Timestamp, &[u8], u32)]) -> Vec<u8> {
    let mut w =
        PcapWriter::new(Vec::new(), LinkType::ETHERNET, snaplen, TsResolution::Micro, false)
            .expect("writing to a Vec cannot fail");
    for &(ts, data, orig_len) in records {
        w.write_frame(ts, data, orig_len).expect("record fits pcap");
    }
    w.into_inner()
}

/// Snap length of `snaplen-cut`: Ethernet (14) + IPv4 (20) + ICMP (8) + the quoted IPv4
/// header (20) + the quoted TCP ports (4) + half the quoted sequence number.
const SNAP_CUT: u32 = 68;

fn snaplen_cut() -> Scenario {
    let mut s = Script::new(START);
    let mut web =
        TcpConv::new(ETH, (CLIENT4, 43001), (SERVER4, 80), (3_100_000_001, 3_200_000_001));
    web.handshake(&mut s, 0.0, 0.0118);
    web.exchange(&mut s, 0.0121, 0.0118, HTTP_GET, HTTP_OK);
    web.client_close(&mut s, 0.0500, 0.0118);
    let closed = TcpConv::new(ETH, (CLIENT4, 43002), (SERVER4, 8443), (3_100_000_002, 0));
    closed.syn(&mut s, 1.0);
    let q = closed.syn_packet(SERVER_TTL);
    icmp_to(&mut s, 1.0117, ETH, (SERVER4, SERVER_TTL), CLIENT4, Icmp::PORT_UNREACHABLE, &q);
    let refused = TcpConv::new(ETH, (CLIENT4, 43003), (SERVER4, 81), (3_100_000_003, 0));
    refused.syn(&mut s, 2.0);
    refused.refuse(&mut s, 2.0118, SERVER_TTL);
    let frames = s.frames(true);
    let records: Vec<(Timestamp, &[u8], u32)> = frames
        .iter()
        .map(|(ts, f)| (*ts, &f[..f.len().min(SNAP_CUT as usize)], f.len() as u32))
        .collect();
    Scenario {
        name: "snaplen-cut",
        description: "Captured with a 68-byte snap length (`tcpdump -s 68`): every frame longer \
                      than that is cut — the HTTP request and response after their first 14 \
                      bytes, and the ICMP port-unreachable error inside the quoted TCP header \
                      (ports kept, sequence number cut in half).",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), µs timestamps, little-endian, snap length 68",
        attempts: vec![
            attempt(
                web.describe(),
                "established",
                "closed",
                "handshake, request and response (cut to 14 bytes of payload), FIN both ways",
            ),
            attempt(
                closed.describe(),
                "unreachable",
                "port-unreachable",
                "ICMP 3/3 from the server; the quote keeps both ports, the sequence number is cut",
            ),
            attempt(refused.describe(), "refused", "host-reset", "RST/ACK with the server's TTL"),
        ],
        bytes: pcap_records(SNAP_CUT, &records),
    }
}

fn time_backwards() -> Scenario {
    let mut s = Script::new(START);
    // Written in the order the capture holds them; the timestamps go backwards twice.
    let a = TcpConv::new(ETH, (CLIENT4, 43101), (SERVER4, 80), (3_300_000_001, 0));
    a.syn(&mut s, 10.0);
    // The clock steps back half a second between the SYN and the RST.
    a.refuse(&mut s, 9.5, SERVER_TTL);
    let mut b = TcpConv::new(ETH, (CLIENT4, 43102), (SERVER4, 22), (3_300_000_002, 3_400_000_002));
    b.handshake(&mut s, 12.0, 0.0121);
    // An hour back (an NTP step) in the middle of the conversation.
    b.server_data(&mut s, 12.05 - 3600.0, SSH_SERVER);
    b.ack(&mut s, 12.06 - 3600.0);
    b.client_close(&mut s, 12.07 - 3600.0, 0.0121);
    let c = TcpConv::new(ETH, (CLIENT4, 43103), (SERVER4, 443), (3_300_000_003, 0));
    for at in [20.0, 21.0, 23.0] {
        c.syn(&mut s, at - 3600.0);
    }
    let d = UdpConv::new(ETH, (CLIENT4, 43104), (RESOLVER4, 53));
    d.request(&mut s, 40.0 - 3600.0, &dns_query(0x4310, "www.example.com", DNS_A));
    d.reply(&mut s, 40.0118 - 3600.0, &dns_answer(0x4310, "www.example.com", DNS_A, &[1, 2, 3, 4]));
    let frames = s.frames(false);
    let records: Vec<(Timestamp, &[u8], u32)> =
        frames.iter().map(|(ts, f)| (*ts, &f[..], f.len() as u32)).collect();
    Scenario {
        name: "time-backwards",
        description: "Timestamps that go backwards, in file order: an RST stamped half a second \
                      before the SYN it answers, then an hour-long step back in the middle of an \
                      SSH conversation; everything after it (unanswered SYNs, a DNS query and \
                      answer) is an hour earlier than the start of the file.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "refused",
                "reset",
                "RST/ACK acknowledging the SYN, stamped 0.5 s before it (rst_after -0.5); no \
                 earlier packet of the server to compare its TTL with",
            ),
            attempt(
                b.describe(),
                "established",
                "closed",
                "handshake, then banner and FINs stamped an hour earlier",
            ),
            attempt(
                c.describe(),
                "unanswered",
                "filtered",
                "SYNs at 20, 21, 23 s (an hour back) and the capture goes on to 40 s on the \
                 same clock; the server answered SSH, so port 443's silence is a filter",
            ),
            attempt(d.describe(), "answered", "reply-seen", "a query and its answer, an hour back"),
        ],
        bytes: pcap_records(SNAPLEN, &records),
    }
}

fn span_duplicates() -> Scenario {
    let mut s = Script::new(START);
    let refused = TcpConv::new(ETH, (CLIENT4, 43201), (SERVER4, 80), (3_500_000_001, 0));
    refused.syn(&mut s, 0.0);
    refused.refuse(&mut s, 0.0118, SERVER_TTL);
    let mut web =
        TcpConv::new(ETH, (CLIENT4, 43202), (SERVER4, 8080), (3_500_000_002, 3_600_000_002));
    web.handshake(&mut s, 1.0, 0.0118);
    web.exchange(&mut s, 1.0121, 0.0118, HTTP_GET, HTTP_OK);
    web.client_close(&mut s, 1.05, 0.0118);
    let silent = TcpConv::new(ETH, (CLIENT4, 43203), (FIREWALL4, 443), (3_500_000_003, 0));
    silent.syn(&mut s, 2.0);
    silent.syn(&mut s, 3.0);
    let dns = UdpConv::new(ETH, (CLIENT4, 43204), (RESOLVER4, 53));
    dns.request(&mut s, 20.0, &dns_query(0x4320, "www.example.com", DNS_A));
    dns.reply(&mut s, 20.0118, &dns_answer(0x4320, "www.example.com", DNS_A, &[1, 2, 3, 4]));
    // A span port mirroring both directions of a link shows every frame twice, 1 µs apart.
    let frames = s.frames(true);
    let mut records: Vec<(Timestamp, &[u8], u32)> = Vec::new();
    for (ts, f) in &frames {
        records.push((*ts, f, f.len() as u32));
        records.push((ts.add(Duration(1000)), f, f.len() as u32));
    }
    Scenario {
        name: "span-duplicates",
        description: "Every frame twice, the copy 1 µs later, as a span port that mirrors both \
                      directions of a link records them: a refused attempt, an HTTP exchange, \
                      a SYN sent twice with nothing back, and a DNS query answered.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                refused.describe(),
                "refused",
                "reset",
                "SYN twice (one SYN, syn_duplicates 1), RST/ACK twice (the copy is a late \
                 packet of the decided attempt); no earlier packet of the server",
            ),
            attempt(
                web.describe(),
                "established",
                "closed",
                "every segment twice; the SYN's copy is no retransmission, so not slow-accept",
            ),
            attempt(
                silent.describe(),
                "unanswered",
                "no-response",
                "SYN at 2 s and 3 s, each captured twice (syn_count 2, syn_duplicates 2); the \
                 timeout passes inside the capture",
            ),
            attempt(dns.describe(), "answered", "reply-seen", "query and answer, each twice"),
        ],
        bytes: pcap_records(SNAPLEN, &records),
    }
}

/// `ip_packet` of `proto` split into two fragments after `first` bytes of its payload (a
/// multiple of 8), as a router or the sender's stack writes them.
fn fragments(ip: &Ip, proto: u8, l4: &[u8], first: usize) -> [Vec<u8>; 2] {
    [
        frame::ip_packet(&ip.fragment(0, true), proto, &l4[..first]),
        frame::ip_packet(&ip.fragment((first / 8) as u16, false), proto, &l4[first..]),
    ]
}

/// The transport part (header and payload) of an IP packet the builder wrote without
/// extension headers.
fn l4_of(ip_packet: &[u8]) -> &[u8] {
    if ip_packet[0] >> 4 == 4 {
        &ip_packet[usize::from(ip_packet[0] & 0x0f) * 4..]
    } else {
        &ip_packet[40..]
    }
}

fn fragments_and_extension_headers() -> Scenario {
    let mut s = Script::new(START);
    // A DNS answer too big for one packet on the path: the resolver's stack fragments it.
    let v4 = UdpConv::new(ETH, (CLIENT4, 43301), (RESOLVER4, 53));
    v4.request(&mut s, 0.0, &dns_query(0x4330, "www.example.com", DNS_A));
    let mut big = dns_answer(0x4330, "www.example.com", DNS_A, &[203, 0, 113, 80]);
    big.extend(std::iter::repeat_n(0u8, 1400)); // padding beyond the record, as EDNS would
    let whole = frame::udp(&Ip::new(RESOLVER4, CLIENT4), 53, 43301, &big);
    let ip = Ip::new(RESOLVER4, CLIENT4).ttl(SERVER_TTL).df(false).id(0x4330);
    for (i, f) in fragments(&ip, 17, l4_of(&whole), 1000).iter().enumerate() {
        s.packet(0.0118 + i as f64 * 0.000_01, ETH, Dir::In, f);
    }
    let v6 = UdpConv::new(ETH, (CLIENT6, 43302), (RESOLVER6, 53));
    v6.request(&mut s, 1.0, &dns_query(0x4331, "www.example.com", DNS_AAAA));
    let mut big6 = dns_answer(0x4331, "www.example.com", DNS_AAAA, &[0x20; 16]);
    big6.extend(std::iter::repeat_n(0u8, 1400));
    let whole6 = frame::udp(&Ip::new(RESOLVER6, CLIENT6), 53, 43302, &big6);
    let ip6 = Ip::new(RESOLVER6, CLIENT6).ttl(SERVER_TTL).id(0x4331);
    for (i, f) in fragments(&ip6, 17, l4_of(&whole6), 1000).iter().enumerate() {
        s.packet(1.0121 + i as f64 * 0.000_01, ETH, Dir::In, f);
    }
    // IPv6 with hop-by-hop and destination options before the TCP header, both ways.
    let ext =
        |src, dst, ttl| Ip { hop_by_hop: true, dest_opts: true, ..Ip::new(src, dst).ttl(ttl) };
    let syn = Tcp::new(43303, 80).seq(3_700_000_003).flags(SYN).window(SYN_WINDOW);
    s.packet(2.0, ETH, Dir::Out, &frame::tcp(&ext(CLIENT6, SERVER6, CLIENT_TTL), &syn, b""));
    let rst = Tcp::new(80, 43303).seq(0).ack(3_700_000_004).flags(RST | ACK).window(0);
    s.packet(2.0118, ETH, Dir::In, &frame::tcp(&ext(SERVER6, CLIENT6, SERVER_TTL), &rst, b""));
    Scenario {
        name: "fragments-and-extension-headers",
        description: "DNS answers too big for one packet, fragmented by the resolver (IPv4: \
                      first fragment with the UDP header, then one without; IPv6: the same with \
                      fragment headers), and an IPv6 SYN and RST carrying hop-by-hop and \
                      destination options headers before TCP.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                v4.describe(),
                "answered",
                "reply-seen",
                "the first fragment carries the UDP header of the answer; the second is not a packet of its own",
            ),
            attempt(
                v6.describe(),
                "answered",
                "reply-seen",
                "the same over IPv6 with fragment headers",
            ),
            attempt(
                describe(CLIENT6, 43303, SERVER6, 80, "tcp"),
                "refused",
                "reset",
                "RST/ACK acknowledging the SYN, both behind two extension headers",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

/// Snap length in the header of `odd-records`: smaller than a record it holds.
const ODD_SNAP: u32 = 128;

fn odd_records() -> Scenario {
    let mut s = Script::new(START);
    let mut bulk =
        TcpConv::new(ETH, (CLIENT4, 43401), (SERVER4, 873), (3_800_000_001, 3_900_000_001));
    bulk.handshake(&mut s, 0.0, 0.0118);
    // A jumbo frame: 8 948 bytes of payload in one segment (MTU 9000).
    bulk.server_data(&mut s, 0.02, &vec![0x5a; 8948]);
    bulk.ack(&mut s, 0.0201);
    bulk.client_close(&mut s, 0.03, 0.0118);
    let refused = TcpConv::new(ETH, (CLIENT4, 43402), (SERVER4, 80), (3_800_000_002, 0));
    refused.syn(&mut s, 1.0);
    refused.refuse(&mut s, 1.0118, SERVER_TTL);
    let frames = s.frames(true);
    let mut records: Vec<(Timestamp, &[u8], u32)> = Vec::new();
    for (i, (ts, f)) in frames.iter().enumerate() {
        // Whole frames although the header says 128: the file's snap length is not a limit
        // some writers keep to.
        records.push((*ts, f, f.len() as u32));
        if i == 1 {
            // Zero-length records: one that says nothing was on the wire, one that kept none
            // of a 60-byte frame.
            records.push((*ts, &[], 0));
            records.push((*ts, &[], 60));
        }
    }
    Scenario {
        name: "odd-records",
        description: "Records a reader must take as they are: a 9 014-byte jumbo frame, frames \
                      longer than the 128-byte snap length the file header declares, and two \
                      zero-length records (one with wire length 0, one with 60) in the middle \
                      of a handshake.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), µs timestamps, little-endian, header snap length 128",
        attempts: vec![
            attempt(
                bulk.describe(),
                "established",
                "closed",
                "handshake, one jumbo segment from the server, FIN both ways",
            ),
            attempt(refused.describe(), "refused", "host-reset", "RST/ACK with the server's TTL"),
        ],
        bytes: pcap_records(ODD_SNAP, &records),
    }
}

fn pcapng_sections() -> Scenario {
    let le = |v: u32| v.to_le_bytes();
    // Options: code, length, value padded to 4 bytes; opt_endofopt.
    fn opt(out: &mut Vec<u8>, code: u16, value: &[u8], be: bool) {
        let (c, l) = (code, value.len() as u16);
        out.extend_from_slice(&if be { c.to_be_bytes() } else { c.to_le_bytes() });
        out.extend_from_slice(&if be { l.to_be_bytes() } else { l.to_le_bytes() });
        out.extend_from_slice(value);
        out.extend(std::iter::repeat_n(0, (4 - value.len() % 4) % 4));
    }
    let mut s = Script::new(START);
    let a = TcpConv::new(ETH, (CLIENT4, 43501), (SERVER4, 80), (4_000_000_001, 0));
    a.syn(&mut s, 0.0);
    a.refuse(&mut s, 0.0118, SERVER_TTL);
    let b =
        TcpConv::new(Link::Raw(LinkType::RAW), (CLIENT4, 43502), (GONE4, 22), (4_000_000_002, 0));
    b.syn(&mut s, 1.0);
    let q = b.syn_packet(63);
    icmp_to(
        &mut s,
        1.0031,
        Link::Raw(LinkType::RAW),
        (ROUTER2_4, 254),
        CLIENT4,
        Icmp::HOST_UNREACHABLE,
        &q,
    );
    let frames = s.frames(true);

    let mut w = PcapngWriter::new(Vec::new(), false).expect("writing to a Vec cannot fail");
    // Section 1 (little-endian): an interface block with options written by hand, a packet
    // with options (a comment and direction flags), blocks of unknown types.
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes()); // Ethernet
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&le(SNAPLEN));
    opt(&mut idb, 2, b"eth0", false); // if_name
    opt(&mut idb, 3, b"uplink, mirrored", false); // if_description
    opt(&mut idb, 9, &[6], false); // if_tsresol: microseconds, said explicitly
    opt(&mut idb, 0, &[], false);
    w.write_raw_block(1, &idb).expect("block fits");
    let iface = w.note_raw_interface(TsResolution::Micro);
    w.write_raw_block(UNKNOWN_BLOCK, b"before the first packet").expect("block fits");
    for (i, (ts, f)) in frames[..2].iter().enumerate() {
        let us = u64::try_from(ts.0 / 1000).expect("after 1970");
        let mut epb = Vec::new();
        epb.extend_from_slice(&le(iface));
        epb.extend_from_slice(&le((us >> 32) as u32));
        epb.extend_from_slice(&le(us as u32));
        epb.extend_from_slice(&le(f.len() as u32));
        epb.extend_from_slice(&le(f.len() as u32));
        epb.extend_from_slice(f);
        epb.extend(std::iter::repeat_n(0, (4 - f.len() % 4) % 4));
        opt(&mut epb, 1, format!("frame {i}: a comment").as_bytes(), false); // opt_comment
        opt(&mut epb, 2, &le(if i == 0 { 2 } else { 1 }), false); // epb_flags: out / in
        opt(&mut epb, 0, &[], false);
        w.write_raw_block(6, &epb).expect("block fits");
    }
    // Interface statistics (type 5), a known block connlens need not read.
    let mut isb = Vec::new();
    isb.extend_from_slice(&le(iface));
    isb.extend_from_slice(&[0; 8]);
    w.write_raw_block(5, &isb).expect("block fits");
    // Section 2 (big-endian): raw IP, an attempt a router answers with host unreachable.
    w.new_section(true).expect("writing to a Vec cannot fail");
    w.write_raw_block(0x0000_0BAD, b"a reserved block type").expect("block fits");
    let raw = w.add_interface(LinkType::RAW, SNAPLEN, TsResolution::Nano).expect("interface");
    for (ts, f) in &frames[2..] {
        w.write_frame(raw, *ts, f, f.len() as u32).expect("frame fits");
    }
    // Section 3: empty (a header and nothing else), as a capture tool's last rotation leaves.
    w.new_section(false).expect("writing to a Vec cannot fail");
    Scenario {
        name: "pcapng-sections",
        description: "pcapng with three sections: little-endian with an interface whose options \
                      (name, description, explicit µs resolution) are written out, packets \
                      with options (comment, direction flags), an unknown block type and an \
                      interface statistics block; big-endian with raw IP on a nanosecond \
                      interface and a reserved block type; then an empty section.",
        args: &[],
        file_name: "input.pcapng",
        format: "pcapng; section 1 little-endian Ethernet (1) µs with options; section 2 \
                 big-endian RAW (101) ns; section 3 empty",
        attempts: vec![
            attempt(
                format!("{} (section 1)", a.describe()),
                "refused",
                "reset",
                "RST/ACK acknowledging the SYN; no other packet of the server to compare",
            ),
            attempt(
                format!("{} (section 2)", b.describe()),
                "unreachable",
                "host-unreachable",
                "ICMP 3/1 from router 203.0.113.2 quoting the SYN",
            ),
        ],
        bytes: w.into_inner(),
    }
}

impl Scenario {
    /// The scenario's `README.md`: what it holds and what each attempt should get.
    pub fn readme(&self) -> String {
        let mut r = String::new();
        let _ = writeln!(r, "# `{}`\n", self.name);
        let _ = writeln!(r, "{}\n", self.description);
        let _ = writeln!(r, "- file: `{}` ({} bytes)", self.file_name, self.bytes.len());
        let _ = writeln!(r, "- format: {}", self.format);
        if !self.args.is_empty() {
            let _ = writeln!(
                r,
                "- analyzed with: `connlens analyze {}` (the `args` file)",
                self.args.join(" ")
            );
        }
        let _ = writeln!(
            r,
            "- addresses: documentation ranges only (192.0.2.0/24 client, 198.51.100.0/24 \
             servers, 203.0.113.0/24 routers, 2001:db8::/32); timeline starts at \
             2026-11-20T14:00:00Z\n"
        );
        let _ = writeln!(r, "## Attempts and what each should get\n");
        let _ = writeln!(r, "| attempt | verdict | cause | why |");
        let _ = writeln!(r, "| --- | --- | --- | --- |");
        for a in &self.attempts {
            let _ = writeln!(r, "| {} | {} | {} | {} |", a.flow, a.verdict, a.cause, a.note);
        }
        let wrong: Vec<&Attempt> =
            self.attempts.iter().filter(|a| a.known_wrong.is_some()).collect();
        if !wrong.is_empty() {
            let _ = writeln!(r, "\n## Known wrong in connlens today\n");
            let _ = writeln!(
                r,
                "`expected.jsonl` holds what connlens says now, which the table above contradicts \
                 for these attempts; the tests fail once connlens gets them right, so that this \
                 section goes.\n"
            );
            for a in wrong {
                let k = a.known_wrong.expect("filtered");
                let _ = writeln!(
                    r,
                    "- {}: connlens says {} / {}, not {} / {}: {}.",
                    a.flow, k.verdict, k.cause, a.verdict, a.cause, k.why
                );
            }
        }
        let _ = writeln!(
            r,
            "\nGenerated by `cargo run --example gen_fixtures` from `src/synth/scenarios.rs`; \
             do not edit by hand."
        );
        r
    }
}

/// Where connlens' output for a scenario's capture departs from the scenario's declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// The scenario.
    pub scenario: &'static str,
    /// The declared attempt (1-based, in declaration order), if the disagreement is about one.
    pub attempt: Option<usize>,
    /// What is wrong, naming the declared and the actual values.
    pub what: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.attempt {
            Some(n) => write!(f, "scenario {}, attempt {n}: {}", self.scenario, self.what),
            None => write!(f, "scenario {}: {}", self.scenario, self.what),
        }
    }
}

/// A `flow` line of connlens' JSON-lines output, as the declarations name attempts.
struct FlowLine {
    /// `client → server proto`, as [`Attempt::flow`] without its qualifier.
    flow: String,
    vlan: Option<u64>,
    /// The tunnel in its short form (`vxlan:42 192.0.2.1>192.0.2.2`), as a qualifier says it.
    tunnel: Option<String>,
    verdict: String,
    cause: String,
}

/// The short form of a flow line's `tunnel` object (as `Tunnel`'s `Display` writes it).
fn tunnel_short(t: &serde_json::Value) -> Option<String> {
    let o = t.as_object()?;
    let mut s = o.get("type")?.as_str()?.to_string();
    if let Some(id) = o.iter().find(|(k, _)| !matches!(k.as_str(), "type" | "outer")) {
        s.push_str(&format!(":{}", id.1));
    }
    if let Some(outer) = o.get("outer").and_then(|v| v.as_array()) {
        let ips: Vec<&str> = outer.iter().filter_map(|v| v.as_str()).collect();
        s.push_str(&format!(" {}", ips.join(">")));
    }
    Some(s)
}

fn flow_line(line: &str) -> Result<Option<FlowLine>, String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not a JSON line ({e}): {line}"))?;
    if v["type"] != "flow" {
        return Ok(None);
    }
    let text = |key: &str| {
        v[key].as_str().map(str::to_string).ok_or_else(|| format!("no \"{key}\" in {line}"))
    };
    let port = |key: &str| {
        v[key]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("no \"{key}\" in {line}"))
    };
    let ip = |key: &str| {
        text(key)?.parse::<IpAddr>().map_err(|e| format!("\"{key}\" is no address ({e}): {line}"))
    };
    Ok(Some(FlowLine {
        flow: describe(
            ip("client")?,
            port("client_port")?,
            ip("server")?,
            port("server_port")?,
            &text("proto")?,
        ),
        vlan: v["vlan"].as_u64(),
        tunnel: tunnel_short(&v["tunnel"]),
        verdict: text("verdict")?,
        cause: text("cause")?,
    }))
}

impl Scenario {
    /// Compares connlens' JSON-lines output for this scenario's capture (analyzed with
    /// [`Scenario::args`]) with the declaration: one `flow` line per declared attempt and none
    /// other, each with the declared verdict and cause (or, for an attempt marked
    /// [`Attempt::known_wrong`], exactly the known wrong ones), on the declared VLAN when the
    /// attempt names one ("… (VLAN 200)"), in the declared tunnel when it names one ("… (in
    /// vxlan:42 192.0.2.1>192.0.2.2)", the flow line's tunnel in short form). Attempts are matched to lines by their flow, in
    /// order, so two attempts on one 5-tuple match its lines in the order they come.
    pub fn disagreements(&self, jsonl: &str) -> Vec<Disagreement> {
        let mut found = Vec::new();
        let mut say = |attempt: Option<usize>, what: String| {
            found.push(Disagreement { scenario: self.name, attempt, what });
        };
        let mut lines = Vec::new();
        for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            match flow_line(line) {
                Ok(Some(l)) => lines.push(Some(l)),
                Ok(None) => {}
                Err(e) => say(None, e),
            }
        }
        for (i, a) in self.attempts.iter().enumerate() {
            let n = Some(i + 1);
            let (flow, qualifier) = match a.flow.split_once(" (") {
                Some((flow, q)) => (flow, q.strip_suffix(')')),
                None => (a.flow.as_str(), None),
            };
            let vlan = qualifier.and_then(|q| q.strip_prefix("VLAN ")).and_then(|v| v.parse().ok());
            let tunnel = qualifier.and_then(|q| q.strip_prefix("in "));
            let Some(line) = lines.iter_mut().find(|l| {
                l.as_ref().is_some_and(|l| {
                    l.flow == flow
                        && (vlan.is_none() || l.vlan == vlan)
                        && (tunnel.is_none() || l.tunnel.as_deref() == tunnel)
                })
            }) else {
                say(
                    n,
                    format!(
                        "{}: declared {} / {}, but connlens gives no verdict for it",
                        a.flow, a.verdict, a.cause
                    ),
                );
                continue;
            };
            let l = line.take().expect("matched lines are Some");
            let actual = (l.verdict.as_str(), l.cause.as_str());
            match a.known_wrong {
                None if actual != (a.verdict, a.cause) => say(
                    n,
                    format!(
                        "{}: declared {} / {}, connlens says {} / {}",
                        a.flow, a.verdict, a.cause, actual.0, actual.1
                    ),
                ),
                Some(_) if actual == (a.verdict, a.cause) => say(
                    n,
                    format!(
                        "{}: connlens now says the declared {} / {}: the known error is fixed, so \
                         remove `but_connlens_says` from the declaration",
                        a.flow, a.verdict, a.cause
                    ),
                ),
                Some(k) if actual != (k.verdict, k.cause) => say(
                    n,
                    format!(
                        "{}: declared {} / {} (known wrong as {} / {}), connlens says {} / {}",
                        a.flow, a.verdict, a.cause, k.verdict, k.cause, actual.0, actual.1
                    ),
                ),
                _ => {}
            }
        }
        for l in lines.into_iter().flatten() {
            let vlan = match (&l.tunnel, l.vlan) {
                (Some(t), _) => format!(" (in {t})"),
                (None, Some(v)) => format!(" (VLAN {v})"),
                (None, None) => String::new(),
            };
            say(
                None,
                format!(
                    "connlens gives {} / {} for {}{vlan}, which the scenario does not declare",
                    l.verdict, l.cause, l.flow
                ),
            );
        }
        found
    }
}

/// The index `README.md` of `fixtures/generated/`.
pub fn index(scenarios: &[Scenario]) -> String {
    let mut r = String::from(
        "# Generated fixtures\n\n\
         Captures written by connlens' own frame builders and pcap/pcapng writers from the \
         scenarios in `src/synth/scenarios.rs`: fixed timestamps (from 2026-11-20T14:00:00Z), \
         fixed ISNs, documentation addresses only, correct checksums. \
         `tests/generated_fixtures.rs` fails when these files and the generator disagree.\n\n\
         Regenerate with `cargo run --example gen_fixtures`; do not edit by hand.\n\n\
         | scenario | file | attempts | what it shows |\n| --- | --- | --- | --- |\n",
    );
    for s in scenarios {
        let _ = writeln!(
            r,
            "| [`{n}`]({n}/README.md) | `{f}` | {a} | {d} |",
            n = s.name,
            f = s.file_name,
            a = s.attempts.len(),
            d = s.description
        );
    }
    r
}

/// Tunnel endpoints: the client's host (VTEP, tunnel router, base station) and the far one.
const OUTER_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const OUTER_B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// Inside an overlay: a client, a server, an address nothing answers for, and the overlay's
/// router (private addresses, as tenants use them).
const INNER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10));
const INNER_SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 20));
const INNER_GONE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 99));
const INNER_ROUTER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

/// The addresses of a scenario's conversations: client, server, an unreachable host, and
/// the router that says so.
type Hosts = (IpAddr, IpAddr, IpAddr, IpAddr);

const OVERLAY: Hosts = (INNER_CLIENT, INNER_SERVER, INNER_GONE, INNER_ROUTER);
const UNDERLAY: Hosts = (CLIENT4, SERVER4, GONE4, ROUTER2_4);

fn tunnel(encap: Encap) -> Link {
    Link::Tunnel(Tunnel { encap, outer: (OUTER_A, OUTER_B), inner_vlan: None })
}

/// An established HTTP connection (FIN both ways), a refused one (RST with the server's own
/// TTL) and one to a host the router says is unreachable (ICMP 3/1 quoting the SYN, sent
/// back through the same link), from `base_port` on. Returns the three attempts, described
/// with `qualifier` (" (in vxlan:42 …)" or empty).
fn three_in(
    s: &mut Script,
    at: f64,
    link: Link,
    (client, server, gone, router): Hosts,
    base_port: u16,
    qualifier: &str,
) -> Vec<Attempt> {
    let isn = 2_200_000_000 + u32::from(base_port);
    let mut a = TcpConv::new(link, (client, base_port), (server, 80), (isn, 4_100_000_000));
    a.handshake(s, at, 0.0121);
    a.exchange(s, at + 0.0124, 0.0121, HTTP_GET, HTTP_OK);
    a.client_close(s, at + 0.0300, 0.0121);
    let b = TcpConv::new(link, (client, base_port + 1), (server, 8080), (isn + 1, 0));
    b.syn(s, at + 1.0);
    b.refuse(s, at + 1.0119, SERVER_TTL);
    let c = TcpConv::new(link, (client, base_port + 2), (gone, 22), (isn + 2, 0));
    c.syn(s, at + 2.0);
    let q = c.syn_packet(63);
    icmp_to(s, at + 2.0042, link, (router, 254), client, Icmp::HOST_UNREACHABLE, &q);
    vec![
        attempt(
            format!("{}{qualifier}", a.describe()),
            "established",
            "closed",
            "handshake, HTTP exchange, FIN both ways",
        ),
        attempt(
            format!("{}{qualifier}", b.describe()),
            "refused",
            "host-reset",
            "RST/ACK with TTL 61, as the server's packets on port 80 in the same tunnel",
        ),
        attempt(
            format!("{}{qualifier}", c.describe()),
            "unreachable",
            "host-unreachable",
            "ICMP 3/1 from the router (TTL 254) quoting the whole SYN, carried back in the \
             same tunnel",
        ),
    ]
}

fn vxlan() -> Scenario {
    let mut s = Script::new(START);
    let vni42 = tunnel(Encap::Vxlan { vni: 42 });
    let mut attempts =
        three_in(&mut s, 0.0, vni42, OVERLAY, 42000, " (in vxlan:42 192.0.2.1>192.0.2.2)");
    // Another tenant (VNI 43) between the same VTEPs uses the same private addresses and the
    // same 5-tuple as the established connection, at the same time; its server refuses.
    let vni43 = tunnel(Encap::Vxlan { vni: 43 });
    let other = TcpConv::new(vni43, (INNER_CLIENT, 42000), (INNER_SERVER, 80), (2_300_000_000, 0));
    other.syn(&mut s, 0.005);
    other.refuse(&mut s, 0.0169, SERVER_TTL);
    attempts.push(attempt(
        format!("{} (in vxlan:43 192.0.2.1>192.0.2.2)", other.describe()),
        "refused",
        "reset",
        "VNI 43's SYN, same 5-tuple as VNI 42's connection while it is open, answered by an \
         RST/ACK: another conversation; nothing else from 10.0.1.20 in VNI 43 to compare",
    ));
    Scenario {
        name: "vxlan",
        description: "Conversations of an overlay in VXLAN (UDP 4789, VNI 42) between VTEPs \
                      192.0.2.1 and 192.0.2.2: established, refused, and unreachable by the \
                      overlay's router; and a second tenant (VNI 43) reusing the same addresses \
                      and 5-tuple, which must stay apart. The outer UDP datagrams are no \
                      attempts.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), IPv4/UDP 4789/VXLAN/Ethernet/IPv4, µs timestamps, \
                 little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn gre() -> Scenario {
    let mut s = Script::new(START);
    let link = tunnel(Encap::Gre { checksum: true, key: Some(100), seq: Some(1), ethernet: false });
    let attempts = three_in(&mut s, 0.0, link, OVERLAY, 42100, " (in gre:100 192.0.2.1>192.0.2.2)");
    Scenario {
        name: "gre",
        description: "Conversations in a GRE tunnel with checksum, key 100 and sequence numbers \
                      (RFC 2784, 2890) between 192.0.2.1 and 192.0.2.2, IPv4 inside: \
                      established, refused, and unreachable by the router inside.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), IPv4/GRE (C, K, S)/IPv4, µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn erspan() -> Scenario {
    let mut s = Script::new(START);
    let link = Link::Tunnel(Tunnel {
        encap: Encap::ErspanII { session: 7 },
        outer: (OUTER_A, OUTER_B),
        inner_vlan: Some(10),
    });
    let attempts =
        three_in(&mut s, 0.0, link, UNDERLAY, 42200, " (in erspan-ii:7 192.0.2.1>192.0.2.2)");
    Scenario {
        name: "erspan",
        description: "A remote SPAN session (ERSPAN type II, session 7) from switch 192.0.2.1 to \
                      collector 192.0.2.2: both directions of the mirrored port's traffic \
                      (tagged VLAN 10) arrive from the switch; established, refused, and \
                      unreachable by a router.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), IPv4/GRE/ERSPAN II/Ethernet 802.1Q/IPv4, µs timestamps, \
                 little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn mpls() -> Scenario {
    let mut s = Script::new(START);
    let link =
        tunnel(Encap::Mpls { labels: [16001, 24001], back: [16002, 24002], pseudowire: false });
    // Labels are chosen per direction: the flow line names the client's bottom label.
    let attempts = three_in(&mut s, 0.0, link, UNDERLAY, 42300, " (in mpls:24001)");
    Scenario {
        name: "mpls",
        description: "Conversations over an MPLS core (two labels, another pair each way) on \
                      Ethernet: established, refused, and unreachable by a router.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), MPLS (2 labels)/IPv4, µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn pppoe() -> Scenario {
    let mut s = Script::new(START);
    let link = tunnel(Encap::Pppoe { session: 0x1234 });
    let attempts = three_in(&mut s, 0.0, link, UNDERLAY, 42400, " (in pppoe:4660)");
    Scenario {
        name: "pppoe",
        description: "A DSL subscriber's PPPoE session 0x1234 (PPP protocol 0x0021): \
                      established, refused, and unreachable by a router.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), PPPoE session/PPP/IPv4, µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn gtp_u() -> Scenario {
    let mut s = Script::new(START);
    let link = tunnel(Encap::GtpU { teid: 0x0000_1001, back: 0x0000_2001, extension: true });
    // TEIDs are chosen per direction: the flow line names the uplink's.
    let attempts =
        three_in(&mut s, 0.0, link, OVERLAY, 42500, " (in gtp-u:4097 192.0.2.1>192.0.2.2)");
    Scenario {
        name: "gtp-u",
        description: "A mobile subscriber's traffic in GTP-U (UDP 2152) between base station \
                      192.0.2.1 and user plane function 192.0.2.2, uplink TEID 0x1001 and \
                      downlink 0x2001, with a PDU session container extension header: \
                      established, refused, and unreachable by the router inside.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), IPv4/UDP 2152/GTP-U/IPv4, µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn wifi_radiotap() -> Scenario {
    let mut s = Script::new(START);
    let link = Link::Wifi(Wifi { radio: Radio::Radiotap, from_ds: false, qos: true });
    let attempts = three_in(&mut s, 0.0, link, UNDERLAY, 42600, "");
    Scenario {
        name: "wifi-radiotap",
        description: "A laptop's monitor-mode capture: 802.11 QoS data frames (to the access \
                      point and from it) behind radiotap headers, LLC/SNAP: established, \
                      refused, and unreachable by a router.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, 802.11 with radiotap (127), µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

fn nflog() -> Scenario {
    let mut s = Script::new(START);
    let attempts = three_in(&mut s, 0.0, Link::Nflog, UNDERLAY, 42700, "");
    Scenario {
        name: "nflog",
        description: "Packets logged by netfilter (`tcpdump -i nflog:5`): NFLOG records with a \
                      packet header, a prefix and the payload TLV: established, refused, and \
                      unreachable by a router.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Linux NFLOG (239), µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

/// A host that never answers anything (no packet of its in the capture).
const SILENT4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77));

/// A host behind a routing loop.
const LOOPED4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 30));

/// A ping's flow as connlens writes it: the ports are the request's and the reply's ICMP
/// types (8 and 0; ICMPv6 128 and 129), as in Zeek's conn.log. `_id` is for the reader.
fn describe_ping(client: IpAddr, server: IpAddr, _id: u16) -> String {
    let (req, rep) = if client.is_ipv6() { (128, 129) } else { (8, 0) };
    describe(client, req, server, rep, "icmp")
}

/// An echo request from the client (TTL `ttl` as it reached the point that quotes it).
fn echo_request(client: IpAddr, server: IpAddr, ttl: u8, id: u16, seq: u16) -> Vec<u8> {
    // 56 bytes of data, as iputils' ping sends: a timestamp and a pattern.
    let data: Vec<u8> = (0..56u8).collect();
    frame::echo(&Ip::new(client, server).ttl(ttl), true, (id, seq), &data)
}

fn echo_reply(client: IpAddr, server: IpAddr, id: u16, seq: u16) -> Vec<u8> {
    let data: Vec<u8> = (0..56u8).collect();
    frame::echo(&Ip::new(server, client).ttl(SERVER_TTL).df(false), false, (id, seq), &data)
}

fn ping() -> Scenario {
    let mut s = Script::new(START);
    // A host that is not there: four requests, one a second, nothing back.
    for seq in 1..=4u16 {
        let at = f64::from(seq - 1);
        s.packet(at, ETH, Dir::Out, &echo_request(CLIENT4, SILENT4, CLIENT_TTL, 0x2b01, seq));
    }
    // The server answers every request but the third (lost on the way), 12.1 ms later.
    for seq in 1..=5u16 {
        let at = 10.0 + f64::from(seq - 1);
        s.packet(at, ETH, Dir::Out, &echo_request(CLIENT4, SERVER4, CLIENT_TTL, 0x2b02, seq));
        if seq != 3 {
            s.packet(at + 0.0121, ETH, Dir::In, &echo_reply(CLIENT4, SERVER4, 0x2b02, seq));
        }
    }
    // The second router has no route to the host: ICMP 3/1 quoting the request (header + 8).
    s.packet(20.0, ETH, Dir::Out, &echo_request(CLIENT4, GONE4, CLIENT_TTL, 0x2b03, 1));
    let q = echo_request(CLIENT4, GONE4, 63, 0x2b03, 1);
    icmp_to(
        &mut s,
        20.0042,
        ETH,
        (ROUTER2_4, 254),
        CLIENT4,
        Icmp::HOST_UNREACHABLE,
        frame::quote_8(&q),
    );
    // A routing loop: the request's TTL runs out at the second router (11/0, quoting TTL 1).
    s.packet(21.0, ETH, Dir::Out, &echo_request(CLIENT4, LOOPED4, CLIENT_TTL, 0x2b04, 1));
    let q = echo_request(CLIENT4, LOOPED4, 1, 0x2b04, 1);
    icmp_to(
        &mut s,
        21.0621,
        ETH,
        (ROUTER2_4, 254),
        CLIENT4,
        Icmp::TTL_EXCEEDED,
        frame::quote_8(&q),
    );
    // ICMPv6: three requests, three replies, 15.3 ms.
    for seq in 1..=3u16 {
        let at = 22.0 + f64::from(seq - 1);
        s.packet(at, ETH, Dir::Out, &echo_request(CLIENT6, SERVER6, CLIENT_TTL, 0x2b05, seq));
        s.packet(at + 0.0153, ETH, Dir::In, &echo_reply(CLIENT6, SERVER6, 0x2b05, seq));
    }
    Scenario {
        name: "ping",
        description: "Pings (ICMP and ICMPv6 echo): answered with one request lost, four \
                      requests to a silent host, host-unreachable from a router, a TTL that runs \
                      out in a loop, and an ICMPv6 ping answered in full.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                describe_ping(CLIENT4, SILENT4, 0x2b01),
                "unanswered",
                "no-response",
                "echo id 11009: 4 echo requests 1 s apart (seq 1-4), nothing from 198.51.100.77 anywhere in the \
                 capture; the wait ends 5 s after the last",
            ),
            attempt(
                describe_ping(CLIENT4, SERVER4, 0x2b02),
                "answered",
                "echo-loss",
                "echo id 11010: 5 echo requests, replies to seq 1, 2, 4, 5 after 12.1 ms: seq 3 is lost",
            ),
            attempt(
                describe_ping(CLIENT4, GONE4, 0x2b03),
                "unreachable",
                "host-unreachable",
                "echo id 11011: ICMP 3/1 from router 203.0.113.2 (TTL 254) quoting the echo \
                 request (header + 8)",
            ),
            attempt(
                describe_ping(CLIENT4, LOOPED4, 0x2b04),
                "time-exceeded",
                "ttl-exceeded",
                "echo id 11012: ICMP 11/0 from 203.0.113.2 quoting the echo request with TTL 1",
            ),
            attempt(
                describe_ping(CLIENT6, SERVER6, 0x2b05),
                "answered",
                "reply-seen",
                "echo id 11013: 3 ICMPv6 echo requests (128), 3 replies (129) after 15.3 ms; the capture ends \
                 with nothing outstanding",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

/// SCTP chunk types (RFC 9260 §3.2).
const SCTP_DATA: u8 = 0;
const SCTP_INIT: u8 = 1;
const SCTP_INIT_ACK: u8 = 2;
const SCTP_SACK: u8 = 3;
const SCTP_ABORT: u8 = 6;
const SCTP_SHUTDOWN: u8 = 7;
const SCTP_SHUTDOWN_ACK: u8 = 8;
const SCTP_COOKIE_ECHO: u8 = 10;
const SCTP_COOKIE_ACK: u8 = 11;
const SCTP_SHUTDOWN_COMPLETE: u8 = 14;

/// One SCTP association of the scenario: its ends and both initiate tags.
struct SctpConv {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    /// The client's initiate tag (the server's packets carry it) and the server's.
    tags: (u32, u32),
}

impl SctpConv {
    fn describe(&self) -> String {
        describe(self.client.0, self.client.1, self.server.0, self.server.1, "sctp")
    }

    /// The client's packet as it reached a point `ttl` away.
    fn client_packet(&self, ttl: u8, vtag: u32, chunks: &[frame::SctpChunk<'_>]) -> Vec<u8> {
        let ip = Ip::new(self.client.0, self.server.0).ttl(ttl);
        frame::sctp(&ip, (self.client.1, self.server.1), vtag, chunks)
    }

    fn client(&self, s: &mut Script, at: f64, vtag: u32, chunks: &[frame::SctpChunk<'_>]) {
        s.packet(at, ETH, Dir::Out, &self.client_packet(CLIENT_TTL, vtag, chunks));
    }

    fn server(&self, s: &mut Script, at: f64, vtag: u32, chunks: &[frame::SctpChunk<'_>]) {
        let ip = Ip::new(self.server.0, self.client.0).ttl(SERVER_TTL);
        let p = frame::sctp(&ip, (self.server.1, self.client.1), vtag, chunks);
        s.packet(at, ETH, Dir::In, &p);
    }

    /// An INIT or INIT-ACK's fixed fields: tag, a_rwnd 106496, 10 streams each way, TSN.
    fn init_value(tag: u32, tsn: u32, cookie: bool) -> Vec<u8> {
        let mut v = tag.to_be_bytes().to_vec();
        v.extend_from_slice(&106_496u32.to_be_bytes());
        v.extend_from_slice(&[0, 10, 0, 10]);
        v.extend_from_slice(&tsn.to_be_bytes());
        if cookie {
            // State cookie parameter (7) with 24 opaque bytes.
            v.extend_from_slice(&[0, 7, 0, 28]);
            v.extend_from_slice(&[0xc0; 24]);
        }
        v
    }

    fn init(&self, s: &mut Script, at: f64) {
        self.client(s, at, 0, &[(SCTP_INIT, 0, &Self::init_value(self.tags.0, 1000, false))]);
    }

    /// INIT-ACK, COOKIE-ECHO and COOKIE-ACK after the INIT sent at `at`, `rtt` apart.
    fn handshake(&self, s: &mut Script, at: f64, rtt: f64) {
        let (c, v) = self.tags;
        self.init(s, at);
        self.server(s, at + rtt, c, &[(SCTP_INIT_ACK, 0, &Self::init_value(v, 5000, true))]);
        self.client(s, at + rtt + 0.0001, v, &[(SCTP_COOKIE_ECHO, 0, &[0xc0; 24])]);
        self.server(s, at + 2.0 * rtt + 0.0001, c, &[(SCTP_COOKIE_ACK, 0, &[])]);
    }

    /// One DATA chunk from the client (TSN 1000, stream 0, PPID 0: unspecified) and the SACK.
    fn data(&self, s: &mut Script, at: f64, rtt: f64) {
        let (c, v) = self.tags;
        let mut d = 1000u32.to_be_bytes().to_vec();
        d.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(b"NGSetupRequest");
        self.client(s, at, v, &[(SCTP_DATA, 3, &d)]);
        let mut sack = 1000u32.to_be_bytes().to_vec();
        sack.extend_from_slice(&106_496u32.to_be_bytes());
        sack.extend_from_slice(&[0, 0, 0, 0]);
        self.server(s, at + rtt, c, &[(SCTP_SACK, 0, &sack)]);
    }
}

fn sctp() -> Scenario {
    let mut s = Script::new(START);
    let rtt = 0.0121;
    // A full association: handshake, one message, an orderly SHUTDOWN.
    let a = SctpConv {
        client: (CLIENT4, 40000),
        server: (SERVER4, 5001),
        tags: (0x1111_0001, 0x2222_0001),
    };
    a.handshake(&mut s, 0.0, rtt);
    a.data(&mut s, 0.05, rtt);
    a.client(&mut s, 1.0, a.tags.1, &[(SCTP_SHUTDOWN, 0, &1000u32.to_be_bytes())]);
    a.server(&mut s, 1.0 + rtt, a.tags.0, &[(SCTP_SHUTDOWN_ACK, 0, &[])]);
    a.client(&mut s, 1.0 + rtt + 0.0001, a.tags.1, &[(SCTP_SHUTDOWN_COMPLETE, 0, &[])]);
    // A closed port: Linux answers the INIT with an ABORT, T bit set (the tag is the INIT's
    // own initiate tag), no error cause.
    let b = SctpConv { client: (CLIENT4, 40001), server: (SERVER4, 9999), tags: (0x1111_0002, 0) };
    b.init(&mut s, 2.0);
    b.server(&mut s, 2.0 + rtt, b.tags.0, &[(SCTP_ABORT, 1, &[])]);
    // A firewall drops the INITs: RFC 9260's initial RTO of 1 s, doubled each time.
    let c = SctpConv { client: (CLIENT4, 40002), server: (SERVER4, 3868), tags: (0x1111_0003, 0) };
    for at in [3.0, 4.0, 6.0, 10.0] {
        c.init(&mut s, at);
    }
    // No route to the host: the second router's ICMP 3/1 quotes the INIT's first 8 bytes
    // (ports and the verification tag 0).
    let d = SctpConv { client: (CLIENT4, 40003), server: (GONE4, 3868), tags: (0x1111_0004, 0) };
    d.init(&mut s, 12.0);
    let q = d.client_packet(63, 0, &[(SCTP_INIT, 0, &SctpConv::init_value(d.tags.0, 1000, false))]);
    icmp_to(
        &mut s,
        12.0042,
        ETH,
        (ROUTER2_4, 254),
        CLIENT4,
        Icmp::HOST_UNREACHABLE,
        frame::quote_8(&q),
    );
    // IPv6: an association the server aborts after a message, with "user-initiated abort".
    let e = SctpConv {
        client: (CLIENT6, 40004),
        server: (SERVER6, 3868),
        tags: (0x1111_0005, 0x2222_0005),
    };
    e.handshake(&mut s, 20.0, rtt);
    e.data(&mut s, 20.05, rtt);
    e.server(&mut s, 21.0, e.tags.0, &[(SCTP_ABORT, 0, &[0, 12, 0, 4])]);
    Scenario {
        name: "sctp",
        description: "SCTP associations: set up (INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK) and \
                      shut down, refused by an ABORT with the T bit, INITs dropped by a firewall, \
                      host-unreachable from a router quoting the INIT, and (IPv6) aborted by the \
                      server after a message.",
        args: &[],
        file_name: "input.pcap",
        format: PCAP_ETH_US_LE,
        attempts: vec![
            attempt(
                a.describe(),
                "established",
                "shutdown",
                "INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK, DATA/SACK, then SHUTDOWN, \
                 SHUTDOWN-ACK, SHUTDOWN-COMPLETE",
            ),
            attempt(
                b.describe(),
                "refused",
                "abort",
                "the INIT answered by an ABORT from the server (TTL 61), T bit set, no cause",
            ),
            attempt(
                c.describe(),
                "unanswered",
                "filtered",
                "4 INITs (at 0, 1, 3, 7 s), nothing back; 198.51.100.20 answers other \
                 associations in the capture",
            ),
            attempt(
                d.describe(),
                "unreachable",
                "host-unreachable",
                "ICMP 3/1 from router 203.0.113.2 (TTL 254) quoting the INIT's header + 8 bytes",
            ),
            attempt(
                e.describe(),
                "established",
                "aborted-by-server",
                "the handshake and a DATA/SACK, then the server's ABORT with cause 12 \
                 (user-initiated abort)",
            ),
        ],
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

/// The far ends of the tunnels that fail in `tunnel-errors`: a GRE router and an IP-in-IP one.
const FAR_GRE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));
const FAR_IPIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4));
/// The VTEPs of the VXLAN over an IPv6 underlay in `tunnel-errors`.
const VTEP6_A: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 1));
const VTEP6_B: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 2));

/// The outer IP packet a tunnel `link` makes of the inner packet `inner` (the frame without
/// its Ethernet header), as an ICMP error about the tunnel quotes it.
fn outer_packet(link: Link, inner: &[u8]) -> Vec<u8> {
    frame::frame(link, inner)[14..].to_vec()
}

fn tunnel_errors() -> Scenario {
    let mut s = Script::new(START);
    // (a) VXLAN: the far VTEP has no VXLAN socket and answers the outer datagram with a
    // port-unreachable quoting all of it (Linux quotes up to 576 bytes): the inner SYN's
    // ports are in the quote.
    let vxlan = Link::Tunnel(Tunnel {
        encap: Encap::Vxlan { vni: 42 },
        outer: (OUTER_A, OUTER_B),
        inner_vlan: None,
    });
    let a = TcpConv::new(vxlan, (INNER_CLIENT, 43000), (INNER_SERVER, 443), (2_400_000_000, 0));
    a.syn(&mut s, 0.0);
    let q = outer_packet(vxlan, &a.syn_packet(CLIENT_TTL));
    icmp_to(&mut s, 0.0003, Link::Ethernet, (OUTER_B, 64), OUTER_A, Icmp::PORT_UNREACHABLE, &q);
    // (b) GRE key 7: two SYNs into the tunnel; a router on the underlay has no way to the far
    // end and says so about the second, quoting the outer IP header and 8 bytes only (the GRE
    // header and its key): it names the tunnel, not a conversation.
    let gre = Link::Tunnel(Tunnel {
        encap: Encap::Gre { checksum: false, key: Some(7), seq: None, ethernet: false },
        outer: (OUTER_A, FAR_GRE),
        inner_vlan: None,
    });
    let b1 = TcpConv::new(gre, (INNER_CLIENT, 43100), (INNER_SERVER, 80), (2_400_000_100, 0));
    b1.syn(&mut s, 1.0);
    let b2 = TcpConv::new(gre, (INNER_CLIENT, 43101), (INNER_SERVER, 22), (2_400_000_101, 0));
    b2.syn(&mut s, 1.2);
    let q = outer_packet(gre, &b2.syn_packet(CLIENT_TTL));
    icmp_to(
        &mut s,
        1.2041,
        Link::Ethernet,
        (ROUTER2_4, 254),
        OUTER_A,
        Icmp::HOST_UNREACHABLE,
        &q[..28],
    );
    // (c) IP in IP: a 1400-byte UDP datagram (DF) makes a 1448-byte outer packet (DF), too big
    // for a 1400-byte link of the underlay: fragmentation needed, quoting 548 bytes (576 in
    // all, as Linux does), the inner headers with them.
    let inner = Ip::new(INNER_CLIENT, INNER_SERVER).ttl(CLIENT_TTL);
    let datagram = frame::udp(&inner, 43200, 5001, &[0x5a; 1400]);
    let outer = frame::ip_packet(&Ip::new(OUTER_A, FAR_IPIP), 4, &datagram);
    s.packet(2.0, Link::Ethernet, Dir::Out, &outer);
    icmp_to(
        &mut s,
        2.0035,
        Link::Ethernet,
        (ROUTER2_4, 254),
        OUTER_A,
        Icmp::too_big(1400),
        &outer[..548],
    );
    // (d) VXLAN over an IPv6 underlay: the last router before the far VTEP gets no answer to
    // its neighbour solicitations and says address unreachable (ICMPv6 1/3), quoting the
    // whole outer packet (ICMPv6 quotes up to 1280 bytes in all): the inner SYN's ports are in
    // the quote.
    let vxlan6 = Link::Tunnel(Tunnel {
        encap: Encap::Vxlan { vni: 77 },
        outer: (VTEP6_A, VTEP6_B),
        inner_vlan: None,
    });
    let d = TcpConv::new(vxlan6, (INNER_CLIENT, 43300), (INNER_SERVER, 8443), (2_400_000_300, 0));
    d.syn(&mut s, 3.0);
    let q = outer_packet(vxlan6, &d.syn_packet(CLIENT_TTL));
    icmp_to(&mut s, 3.0031, Link::Ethernet, (ROUTER2_6, 63), VTEP6_A, Icmp::HOST_UNREACHABLE, &q);
    let attempts = vec![
        attempt(
            format!("{} (in vxlan:42 192.0.2.1>192.0.2.2)", a.describe()),
            "unreachable",
            "tunnel-endpoint-unreachable",
            "ICMP 3/3 from the far VTEP 192.0.2.2 about the outer UDP/4789 datagram; the quote \
             holds the inner SYN: matched exactly",
        ),
        attempt(
            format!("{} (in gre:7 192.0.2.1>192.0.2.3)", b1.describe()),
            "unreachable",
            "tunnel-endpoint-unreachable",
            "ICMP 3/1 from router 203.0.113.2 about GRE key 7 to 192.0.2.3, quote cut after the \
             key: every waiting conversation of that tunnel",
        ),
        attempt(
            format!("{} (in gre:7 192.0.2.1>192.0.2.3)", b2.describe()),
            "unreachable",
            "tunnel-endpoint-unreachable",
            "the same error (it quoted this SYN's outer packet, but only 8 bytes past its IP \
             header)",
        ),
        attempt(
            format!(
                "{} (in ipip 192.0.2.1>192.0.2.4)",
                describe(INNER_CLIENT, 43200, INNER_SERVER, 5001, "udp")
            ),
            "unreachable",
            "tunnel-mtu",
            "ICMP 3/4 (MTU 1400) from router 203.0.113.2 about the 1448-byte outer packet (DF); \
             the 548-byte quote holds the inner UDP header: matched exactly",
        ),
        attempt(
            format!("{} (in vxlan:77 2001:db8:a::1>2001:db8:a::2)", d.describe()),
            "unreachable",
            "tunnel-endpoint-unreachable",
            "ICMPv6 1/3 (address unreachable) from router 2001:db8:ff::2 about the outer \
             UDP/4789 datagram to the far VTEP 2001:db8:a::2; the quote holds the inner SYN: \
             matched exactly",
        ),
    ];
    Scenario {
        name: "tunnel-errors",
        description: "ICMP errors about tunnels themselves, from the underlay, quoting the outer \
                      packet: a VXLAN VTEP without a VXLAN socket (port unreachable, whole \
                      packet quoted), a GRE tunnel's far end unreachable (host unreachable, \
                      8-byte quote: matched by tunnel, two conversations), an IP-in-IP \
                      packet too big for the underlay (fragmentation needed), a VXLAN over \
                      an IPv6 underlay whose far VTEP is unreachable (ICMPv6 address \
                      unreachable from the last router). The outer conversations are no \
                      attempts.",
        args: &[],
        file_name: "input.pcap",
        format: "pcap, Ethernet (1), IPv4/UDP 4789/VXLAN, IPv4/GRE (K), IPv4/IPv4, \
                 IPv6/UDP 4789/VXLAN, ICMP and ICMPv6 quoting them, µs timestamps, little-endian",
        attempts,
        bytes: s.to_pcap(TsResolution::Micro, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;
    use crate::decode::{Skip, decode};

    #[test]
    fn every_frame_of_every_scenario_decodes() {
        // Frames the odd scenarios hold on purpose that are no packet of their own.
        let skips = |name| match name {
            "fragments-and-extension-headers" => vec![Skip::Fragment, Skip::Fragment],
            "odd-records" => vec![Skip::Truncated, Skip::Truncated],
            _ => vec![],
        };
        for sc in all() {
            let mut r = CaptureReader::new(&sc.bytes[..], 0).unwrap();
            let mut n = 0;
            let mut skipped = Vec::new();
            while let Some(f) = r.next_frame().unwrap() {
                n += 1;
                if let Err(e) = decode(&f) {
                    skipped.push(e);
                }
            }
            assert_eq!(skipped, skips(sc.name), "{}", sc.name);
            assert!(n > 0, "{} has frames", sc.name);
            // A few KB; the jumbo frame's 9 KB more.
            assert!(sc.bytes.len() < 8192 + 9014, "{} is a few KB", sc.name);
        }
    }

    #[test]
    fn names_are_unique_and_files_match_formats() {
        let all = all();
        let mut names: Vec<_> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for s in &all {
            let pcapng = s.bytes[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
            assert_eq!(s.file_name.ends_with(".pcapng"), pcapng, "{}", s.name);
        }
    }

    /// A flow line as connlens writes it, with only the fields the check reads.
    fn line(client: &str, port: u16, vlan: Option<u32>, verdict: &str, cause: &str) -> String {
        let vlan = vlan.map(|v| format!(",\"vlan\":{v}")).unwrap_or_default();
        format!(
            "{{\"type\":\"flow\",\"proto\":\"tcp\",\"client\":\"{client}\",\"client_port\":{port},\
             \"server\":\"198.51.100.20\",\"server_port\":80,\"verdict\":\"{verdict}\",\
             \"cause\":\"{cause}\"{vlan}}}\n"
        )
    }

    fn two_attempts() -> Scenario {
        let flow = |port, vlan| format!("192.0.2.10:{port} → 198.51.100.20:80 tcp (VLAN {vlan})");
        Scenario {
            name: "test",
            description: "",
            args: &[],
            file_name: "input.pcap",
            format: "",
            attempts: vec![
                attempt(flow(1, 100), "refused", "host-reset", ""),
                attempt(flow(1, 200), "unanswered", "no-response", "").but_connlens_says(
                    "unanswered",
                    "filtered",
                    "",
                ),
            ],
            bytes: Vec::new(),
        }
    }

    #[test]
    fn output_that_matches_the_declaration_passes() {
        let s = two_attempts();
        let out = line("192.0.2.10", 1, Some(200), "unanswered", "filtered")
            + &line("192.0.2.10", 1, Some(100), "refused", "host-reset")
            + "{\"type\":\"summary\",\"attempts\":2}\n";
        assert_eq!(s.disagreements(&out), vec![]);
    }

    #[test]
    fn every_kind_of_departure_is_named() {
        let s = two_attempts();
        let said = |out: &str| -> Vec<String> {
            s.disagreements(out).iter().map(ToString::to_string).collect()
        };
        // Another cause; the known wrong one fixed; on the wrong VLAN; missing and extra.
        assert_eq!(
            said(
                &(line("192.0.2.10", 1, Some(100), "refused", "path-reset")
                    + &line("192.0.2.10", 1, Some(200), "unanswered", "no-response"))
            ),
            [
                "scenario test, attempt 1: 192.0.2.10:1 → 198.51.100.20:80 tcp (VLAN 100): \
                 declared refused / host-reset, connlens says refused / path-reset",
                "scenario test, attempt 2: 192.0.2.10:1 → 198.51.100.20:80 tcp (VLAN 200): \
                 connlens now says the declared unanswered / no-response: the known error is \
                 fixed, so remove `but_connlens_says` from the declaration",
            ]
        );
        assert_eq!(
            said(
                &(line("192.0.2.10", 1, Some(100), "refused", "host-reset")
                    + &line("192.0.2.10", 1, Some(300), "unanswered", "filtered"))
            ),
            [
                "scenario test, attempt 2: 192.0.2.10:1 → 198.51.100.20:80 tcp (VLAN 200): \
                 declared unanswered / no-response, but connlens gives no verdict for it",
                "scenario test: connlens gives unanswered / filtered for 192.0.2.10:1 → \
                 198.51.100.20:80 tcp (VLAN 300), which the scenario does not declare",
            ]
        );
        assert_eq!(said("not json\n").len(), 3, "the bad line and both attempts missing");
    }

    #[test]
    fn generation_is_deterministic() {
        let a: Vec<Vec<u8>> = all().into_iter().map(|s| s.bytes).collect();
        let b: Vec<Vec<u8>> = all().into_iter().map(|s| s.bytes).collect();
        assert_eq!(a, b);
    }
}
