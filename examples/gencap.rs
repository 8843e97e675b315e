//! Benchmark capture generator: writes a pcap of synthetic traffic and, optionally, the
//! verdict connlens should give each connection attempt in it (one JSON line per attempt, with
//! the field names of connlens' JSON contract), so a benchmark run can also check correctness.
//!
//! ```text
//! gencap --kind mix      --size 1G --out FILE.pcap [--expected FILE.jsonl] [--seed N]
//! gencap --kind flood    --size 1G --out FILE.pcap [--expected FILE.jsonl] [--seed N]
//! gencap --kind synflood --flows N --out FILE.pcap [--expected FILE.jsonl] [--seed N]
//! ```
//!
//! - `mix`: what a busy edge link looks like — thousands of interleaved conversations at once,
//!   mostly established TCP carrying MTU-size data and ACKs, plus every failure verdict in
//!   realistic proportions, IPv4 and IPv6, some on 802.1Q VLANs.
//! - `flood`: small frames only (60–100 bytes): a SYN flood from many sources answered by RST/ACK,
//!   some SYNs rejected by a firewall's ICMP error instead. Measures per-packet cost.
//! - `synflood`: N distinct unanswered SYNs. Measures the flow table's memory.
//!
//! Frames are written as they are generated, through one reused buffer: memory is bounded by the
//! conversations open at once, never by the size of the capture. The output depends only on the
//! arguments (own PRNG, no clock), so a seed names a capture.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use connlens::capture::{LinkType, PcapWriter, TsResolution};
use connlens::decode::TcpFlags;
use connlens::synth::frame::{self, Icmp, Ip, Link, Tcp, VlanTag};
use connlens::time::Timestamp;

const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;
/// Capture start: a fixed date, so the same seed gives the same bytes.
const START: i64 = 1_700_000_000 * SEC;
/// connlens' default `--syn-timeout`: an attempt with nothing back for this long after its
/// last SYN (or UDP request) is `unanswered` / `no-response`; less → `capture-ended`.
const SYN_TIMEOUT: i64 = 5 * SEC;
/// A 5-tuple is not used again for this long after its conversation ends, so no attempt is
/// mistaken for a late packet of an earlier one (connlens lingers 30 s after a verdict).
const REUSE_AFTER: i64 = 60 * SEC;

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const FIN: u8 = TcpFlags::FIN;
const PSH: u8 = TcpFlags::PSH;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// Realistic mix of conversations and verdicts.
    Mix,
    /// Small-frame SYN flood answered by RST/ACK (some by ICMP).
    Flood,
    /// N unanswered SYNs from distinct sources (`--flows`).
    Synflood,
}

/// Writes a synthetic benchmark capture and the verdicts expected for it.
#[derive(Parser, Debug)]
struct Args {
    /// What traffic to generate.
    #[arg(long, value_enum, default_value = "mix")]
    kind: Kind,
    /// Approximate capture size (mix, flood): a number with an optional K, M or G suffix
    /// (powers of 1024). Generation stops starting conversations once the file reaches it.
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    size: u64,
    /// Number of SYNs (synflood).
    #[arg(long, default_value_t = 1_000_000)]
    flows: u64,
    /// The pcap to write.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the expected verdicts (JSON lines).
    #[arg(long)]
    expected: Option<PathBuf>,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("not a size: {s:?} (e.g. 200M, 1G)"))?;
    if n.is_nan() || n < 0.0 {
        return Err(format!("not a size: {s:?}"));
    }
    Ok((n * mult as f64) as u64)
}

/// splitmix64: tiny, fast, and good enough to make traffic look irregular.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (hi > lo).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in `lo..hi`: delays and rates spread over orders of magnitude.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp()
    }

    /// Exponential with this mean (Poisson arrivals, think times).
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// The pcap being written, the expected-verdicts file, and counters.
struct Sink {
    pcap: PcapWriter<BufWriter<File>>,
    buf: Vec<u8>,
    expected: Option<BufWriter<File>>,
    packets: u64,
    bytes: u64,
    last_ts: i64,
    attempts: u64,
    verdicts: BTreeMap<(&'static str, &'static str), u64>,
    /// Unanswered attempts whose cause depends on whether the capture runs on for
    /// `SYN_TIMEOUT` after their last try; in order of that last try.
    pending: VecDeque<Expect>,
}

/// One expected verdict.
#[derive(Clone, Copy, Debug)]
struct Expect {
    udp: bool,
    client: IpAddr,
    client_port: u16,
    server: IpAddr,
    server_port: u16,
    verdict: &'static str,
    cause: &'static str,
    /// For unanswered attempts: the last SYN / request.
    last_try: i64,
}

impl Sink {
    fn create(out: &PathBuf, expected: Option<&PathBuf>) -> io::Result<Sink> {
        let w = BufWriter::with_capacity(1 << 20, File::create(out)?);
        let pcap = PcapWriter::new(w, LinkType::ETHERNET, 65535, TsResolution::Micro, false)?;
        let expected = match expected {
            Some(p) => Some(BufWriter::with_capacity(1 << 20, File::create(p)?)),
            None => None,
        };
        Ok(Sink {
            pcap,
            buf: Vec::with_capacity(2048),
            expected,
            packets: 0,
            bytes: 24,
            last_ts: START,
            attempts: 0,
            verdicts: BTreeMap::new(),
            pending: VecDeque::new(),
        })
    }

    /// Writes one frame at `ts` (never earlier than the previous one).
    fn emit(
        &mut self,
        ts: i64,
        link: Link,
        v6: bool,
        build: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        let ts = ts.max(self.last_ts);
        self.last_ts = ts;
        self.buf.clear();
        link.write(&mut self.buf, v6, build);
        self.pcap.write_frame(Timestamp(ts), &self.buf, self.buf.len() as u32)?;
        self.packets += 1;
        self.bytes += 16 + self.buf.len() as u64;
        // Capture time has now run past these attempts' timeout: they are `no-response`.
        while self.pending.front().is_some_and(|e| e.last_try + SYN_TIMEOUT <= ts) {
            let mut e = self.pending.pop_front().expect("checked");
            e.cause = "no-response";
            self.write_expect(&e)?;
        }
        Ok(())
    }

    fn tcp(&mut self, ts: i64, link: Link, ip: &Ip, tcp: &Tcp, payload: &[u8]) -> io::Result<()> {
        self.emit(ts, link, ip.is_v6(), |b| frame::write_tcp(b, ip, tcp, payload))
    }

    fn udp(&mut self, ts: i64, link: Link, ip: &Ip, sp: u16, dp: u16, p: &[u8]) -> io::Result<()> {
        self.emit(ts, link, ip.is_v6(), |b| frame::write_udp(b, ip, sp, dp, p))
    }

    fn icmp(&mut self, ts: i64, link: Link, ip: &Ip, icmp: Icmp, quote: &[u8]) -> io::Result<()> {
        self.emit(ts, link, ip.is_v6(), |b| frame::write_icmp_error(b, ip, icmp, quote))
    }

    /// Records an expected verdict; unanswered ones wait until their cause is known.
    fn expect(&mut self, e: Expect) -> io::Result<()> {
        if e.verdict == "unanswered" && e.cause.is_empty() {
            if e.last_try + SYN_TIMEOUT <= self.last_ts {
                return self.write_expect(&Expect { cause: "no-response", ..e });
            }
            self.pending.push_back(e);
            return Ok(());
        }
        self.write_expect(&e)
    }

    fn write_expect(&mut self, e: &Expect) -> io::Result<()> {
        // A DNS query nobody answered is a name-resolution failure.
        let dns = e.udp && e.server_port == 53 && e.verdict == "unanswered";
        let e = &Expect { verdict: if dns { "dns-failure" } else { e.verdict }, ..*e };
        self.attempts += 1;
        *self.verdicts.entry((e.verdict, e.cause)).or_default() += 1;
        if let Some(w) = &mut self.expected {
            writeln!(
                w,
                r#"{{"proto":"{}","client":"{}","client_port":{},"server":"{}","server_port":{},"verdict":"{}","cause":"{}"}}"#,
                if e.udp { "udp" } else { "tcp" },
                e.client,
                e.client_port,
                e.server,
                e.server_port,
                e.verdict,
                e.cause
            )?;
        }
        Ok(())
    }

    /// The end of the capture: the unanswered attempts still waiting get their cause from how
    /// long the capture ran on after their last try.
    fn finish(mut self, started: Instant) -> io::Result<()> {
        let end = self.last_ts;
        while let Some(mut e) = self.pending.pop_front() {
            e.cause = if end - e.last_try >= SYN_TIMEOUT { "no-response" } else { "capture-ended" };
            self.write_expect(&e)?;
        }
        self.pcap.into_inner().into_inner().map_err(|e| e.into_error())?;
        if let Some(w) = self.expected.take() {
            w.into_inner().map_err(|e| e.into_error())?;
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "gencap: {} packets, {} bytes ({:.1} MB), {} flows, {:.1} s of capture time, \
             written in {:.2} s ({:.0} MB/s, {:.0} packets/s)",
            self.packets,
            self.bytes,
            self.bytes as f64 / 1e6,
            self.attempts,
            (end - START) as f64 / 1e9,
            secs,
            self.bytes as f64 / 1e6 / secs,
            self.packets as f64 / secs
        );
        for ((v, c), n) in &self.verdicts {
            eprintln!(
                "  {v:>14} {c:<18} {n:>10} ({:.2}%)",
                100.0 * *n as f64 / self.attempts as f64
            );
        }
        Ok(())
    }
}

/// Expected verdict of an unanswered attempt; its cause is filled in later.
fn unanswered(udp: bool, c: IpAddr, cp: u16, s: IpAddr, sp: u16, last_try: i64) -> Expect {
    Expect {
        udp,
        client: c,
        client_port: cp,
        server: s,
        server_port: sp,
        verdict: "unanswered",
        cause: "",
        last_try,
    }
}

fn main() {
    let args = Args::parse();
    let result = match args.kind {
        Kind::Mix => Mix::new(&args).and_then(|m| m.run(args.size)),
        Kind::Flood => flood(&args),
        Kind::Synflood => synflood(&args),
    };
    if let Err(e) = result {
        eprintln!("gencap: {}: {e}", args.out.display());
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// mix

/// What a conversation will do (decided when it starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Handshake, request/response rounds, FIN from both sides.
    Closed,
    /// Established, then the client resets (a browser giving up, a killed client).
    ResetByClient,
    /// Established, then the server resets after some of its answer.
    ResetByServer,
    /// SYN answered by the host's RST/ACK.
    Refused,
    /// SYN answered by an ICMP destination unreachable.
    Unreachable(Unreach),
    /// SYN answered by a router's ICMP time exceeded.
    TimeExceeded,
    /// SYN, retransmissions at +1 s and +3 s, nothing back.
    Unanswered,
    /// UDP request(s) and reply(ies).
    UdpAnswered,
    /// UDP request and retries, nothing back.
    UdpUnanswered,
    /// UDP request answered by ICMP port unreachable.
    UdpUnreachable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unreach {
    /// From the host itself (a REJECT rule with icmp-port-unreachable).
    Port,
    /// IPv4 3/1 from the last router after ARP gave up (~3 s, one SYN retransmission).
    Host,
    /// 3/13 or ICMPv6 1/1 from a firewall.
    Admin,
    /// ICMPv6 1/0 from the local router, at once.
    NoRoute,
}

impl Unreach {
    fn icmp(self) -> Icmp {
        match self {
            Unreach::Port => Icmp::PORT_UNREACHABLE,
            Unreach::Host => Icmp::HOST_UNREACHABLE,
            Unreach::Admin => Icmp::ADMIN_PROHIBITED,
            Unreach::NoRoute => Icmp { v4: (3, 0), v6: (1, 0), mtu: 0 },
        }
    }

    fn cause(self) -> &'static str {
        match self {
            Unreach::Port => "port-unreachable",
            Unreach::Host => "host-unreachable",
            Unreach::Admin => "admin-prohibited",
            Unreach::NoRoute => "no-route",
        }
    }
}

/// The next thing a conversation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Syn,
    SynAck,
    HandshakeAck,
    Request,
    Segment,
    ClientAck,
    ClientFin,
    ServerFin,
    LastAck,
    ClientRst,
    ServerRst,
    RefuseRst,
    SynRetry,
    Icmp,
    Settle,
    UdpRequest,
    UdpReply,
}

struct Server {
    ip: IpAddr,
    ttl: u8,
    rtt: i64,
    port: u16,
    /// Has sent a non-RST packet, so connlens knows its TTL and can call its RST its own.
    spoken: bool,
}

struct Client {
    ip: IpAddr,
    ttl: u8,
    link: Link,
    next_port: u16,
}

struct Conv {
    sc: Scenario,
    step: Step,
    client: u32,
    link: Link,
    c: IpAddr,
    s: IpAddr,
    cport: u16,
    sport: u16,
    c_ttl: u8,
    s_ttl: u8,
    reporter: IpAddr,
    r_ttl: u8,
    full_quote: bool,
    rtt: i64,
    /// Time between the server's segments (its bandwidth).
    gap: i64,
    c_id: u16,
    s_id: u16,
    isn_c: u32,
    isn_s: u32,
    snd_c: u32,
    snd_s: u32,
    mss: u32,
    tls: bool,
    rounds_left: u8,
    resp_left: u32,
    resp_first: bool,
    since_ack: u8,
    next_seg_at: i64,
    /// ResetByServer: reset when this many response bytes remain (or fewer).
    rst_at_left: u32,
    tries: u8,
    first_try: i64,
    last_try: i64,
    req_off: u32,
    req_len: u16,
    syn_id: u16,
    // What has been put on the wire, from which the expected verdict follows.
    established: bool,
    fin_c: bool,
    fin_s: bool,
    last_ack_by_client: bool,
    rst_by_client: bool,
    rst_by_server: bool,
    refused: bool,
    icmp_sent: bool,
    replied: bool,
}

impl Conv {
    fn udp(&self) -> bool {
        matches!(
            self.sc,
            Scenario::UdpAnswered | Scenario::UdpUnanswered | Scenario::UdpUnreachable
        )
    }

    fn c2s(&mut self) -> Ip {
        self.c_id = self.c_id.wrapping_add(1);
        Ip::new(self.c, self.s).ttl(self.c_ttl).id(self.c_id)
    }

    fn s2c(&mut self) -> Ip {
        self.s_id = self.s_id.wrapping_add(1);
        Ip::new(self.s, self.c).ttl(self.s_ttl).id(self.s_id)
    }

    /// What connlens should say, given what was put on the wire; unanswered attempts get
    /// their cause later (it depends on when the capture ends).
    fn expect(&self) -> Expect {
        let (verdict, cause) = if self.icmp_sent {
            match self.sc {
                Scenario::TimeExceeded => ("time-exceeded", "ttl-exceeded"),
                Scenario::Unreachable(u) => ("unreachable", u.cause()),
                _ => ("unreachable", "port-unreachable"),
            }
        } else if self.established {
            let cause = if self.rst_by_client {
                "reset-by-client"
            } else if self.rst_by_server {
                "reset-by-server"
            } else if self.fin_c && self.fin_s {
                "closed"
            } else {
                "still-open"
            };
            ("established", cause)
        } else if self.refused {
            ("refused", "host-reset")
        } else if self.replied {
            ("answered", "reply-seen")
        } else {
            ("unanswered", "")
        };
        Expect {
            udp: self.udp(),
            client: self.c,
            client_port: self.cport,
            server: self.s,
            server_port: self.sport,
            verdict,
            cause,
            last_try: self.last_try,
        }
    }
}

/// Mix parameters. Arrivals at ~1900 conversations/s of capture time with ~26 packets each
/// give ~50 k packets/s and, with lifetimes of a few seconds, 2000–5000 conversations open at
/// once; ~20 KB per conversation gives ~50 k conversations per GB.
const ARRIVALS_PER_SEC: f64 = 1900.0;
const V4_CLIENTS: usize = 3000;
const V6_CLIENTS: usize = 1000;
const V4_SERVERS: usize = 600;
const V6_SERVERS: usize = 200;

struct Mix {
    rng: Rng,
    sink: Sink,
    pool: Vec<u8>,
    pay: Vec<u8>,
    quote: Vec<u8>,
    clients: Vec<Client>,
    v4_servers: Vec<Server>,
    v6_servers: Vec<Server>,
    resolvers: [IpAddr; 3],
    convs: Vec<Option<Conv>>,
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<(i64, u64, u32)>>,
    seq: u64,
    /// (client, port) → when it may be used again (i64::MAX while its conversation lives).
    busy: HashMap<(u32, u16), i64>,
    live: usize,
    peak_live: usize,
    started: Instant,
}

const ARRIVAL: u32 = u32::MAX;

impl Mix {
    fn new(args: &Args) -> io::Result<Mix> {
        let mut rng = Rng(args.seed ^ 0x6d69_785f_6765_6e00);
        let mut pool = vec![0u8; 64 * 1024 + 4096];
        for b in pool.iter_mut() {
            *b = rng.next() as u8;
        }
        let mut clients = Vec::with_capacity(V4_CLIENTS + V6_CLIENTS);
        for i in 0..V4_CLIENTS + V6_CLIENTS {
            let ip = if i < V4_CLIENTS {
                IpAddr::V4(Ipv4Addr::new(10, 1 + (i / 250) as u8, 0, 1 + (i % 250) as u8))
            } else {
                let n = (i - V4_CLIENTS) as u16;
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0xc1, 0, 0, 0, 0, 0x10, n + 1))
            };
            let link = match rng.below(10) {
                0..=6 => Link::Ethernet,
                7 => Link::Vlan(VlanTag::q(10)),
                8 => Link::Vlan(VlanTag::q(20)),
                _ => Link::Vlan(VlanTag::q(100)),
            };
            let ttl = if rng.chance(0.7) { 64 } else { 128 };
            clients.push(Client { ip, ttl, link, next_port: rng.range(32768, 61000) as u16 });
        }
        fn servers(n: usize, v6: bool, rng: &mut Rng) -> Vec<Server> {
            (0..n)
                .map(|i| {
                    let ip = if v6 {
                        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x5, i as u16, 0, 0, 0, 0x443))
                    } else {
                        IpAddr::V4(Ipv4Addr::new(198, 18, (i / 250) as u8, 1 + (i % 250) as u8))
                    };
                    let hops = rng.range(2, 22) as u8;
                    let initial = if rng.chance(0.8) { 64 } else { 128 };
                    let port = match rng.below(10) {
                        0..=6 => 443,
                        7 | 8 => 80,
                        _ => 8443,
                    };
                    let rtt = (rng.log_uniform(0.3, 150.0) * MS as f64) as i64;
                    Server { ip, ttl: initial - hops, rtt, port, spoken: false }
                })
                .collect()
        }
        let v4_servers = servers(V4_SERVERS, false, &mut rng);
        let v6_servers = servers(V6_SERVERS, true, &mut rng);
        Ok(Mix {
            rng,
            sink: Sink::create(&args.out, args.expected.as_ref())?,
            pool,
            pay: Vec::with_capacity(2048),
            quote: Vec::with_capacity(2048),
            clients,
            v4_servers,
            v6_servers,
            resolvers: [
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 1, 53)),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x53)),
            ],
            convs: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            busy: HashMap::new(),
            live: 0,
            peak_live: 0,
            started: Instant::now(),
        })
    }

    fn schedule(&mut self, at: i64, slot: u32) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, slot)));
    }

    fn run(mut self, size: u64) -> io::Result<()> {
        self.schedule(START, ARRIVAL);
        let mut draining = false;
        let mut ended = Vec::new();
        while let Some(Reverse((now, _, slot))) = self.heap.pop() {
            if !draining && self.sink.bytes >= size {
                draining = true;
            }
            if slot == ARRIVAL {
                if !draining {
                    self.arrive(now)?;
                    let next = now + (self.rng.exp(1.0 / ARRIVALS_PER_SEC) * SEC as f64) as i64;
                    self.schedule(next.max(now + 1), ARRIVAL);
                }
                continue;
            }
            if draining {
                // The size is reached: stop, but never between SYN-ACK and the handshake's ACK
                // (that would be a half-open handshake, a verdict of its own).
                let mut conv = self.convs[slot as usize].take().expect("live conversation");
                if conv.step == Step::HandshakeAck {
                    let ip = conv.c2s();
                    let tcp = Tcp::new(conv.cport, conv.sport)
                        .seq(conv.isn_c.wrapping_add(1))
                        .ack(conv.isn_s.wrapping_add(1))
                        .flags(ACK)
                        .window(502);
                    self.sink.tcp(now, conv.link, &ip, &tcp, b"")?;
                    conv.established = true;
                }
                ended.push(conv.expect());
                continue;
            }
            match self.step(slot, now)? {
                Some(at) => self.schedule(at, slot),
                None => self.end(slot, now)?,
            }
        }
        for e in ended {
            self.sink.expect(e)?;
        }
        eprintln!(
            "gencap: mix: peak {} conversations open at once, {} 5-tuples remembered",
            self.peak_live,
            self.busy.len()
        );
        let started = self.started;
        self.sink.finish(started)
    }

    /// A conversation is over: record its verdict, free its slot and (later) its 5-tuple.
    fn end(&mut self, slot: u32, now: i64) -> io::Result<()> {
        let conv = self.convs[slot as usize].take().expect("live conversation");
        self.free.push(slot);
        self.live -= 1;
        self.busy.insert((conv.client, conv.cport), now + REUSE_AFTER);
        self.sink.expect(conv.expect())
    }

    fn pick_scenario(&mut self, v6: bool) -> Scenario {
        // Weights per 1000 conversations.
        let x = self.rng.below(1000);
        match x {
            0..=599 => Scenario::Closed,
            600..=669 => Scenario::ResetByClient,
            670..=699 => Scenario::ResetByServer,
            700..=749 => Scenario::Refused,
            750..=759 => Scenario::Unreachable(Unreach::Port),
            760..=769 => Scenario::Unreachable(if v6 { Unreach::NoRoute } else { Unreach::Host }),
            770..=784 => Scenario::Unreachable(Unreach::Admin),
            785..=789 => Scenario::TimeExceeded,
            790..=819 => Scenario::Unanswered,
            820..=969 => Scenario::UdpAnswered,
            970..=989 => Scenario::UdpUnanswered,
            _ => Scenario::UdpUnreachable,
        }
    }

    /// A free client port: not used by a live conversation of this client, nor by one that
    /// ended less than `REUSE_AFTER` ago.
    fn client_port(&mut self, client: u32, now: i64) -> u16 {
        loop {
            let c = &mut self.clients[client as usize];
            let step = 1 + self.rng.below(7) as u16;
            c.next_port = if c.next_port + step >= 61000 { 32768 } else { c.next_port + step };
            let port = c.next_port;
            let free = self.busy.get(&(client, port)).is_none_or(|&t| t <= now);
            if free {
                self.busy.insert((client, port), i64::MAX);
                return port;
            }
        }
    }

    fn arrive(&mut self, now: i64) -> io::Result<()> {
        let client = self.rng.below(self.clients.len() as u64) as u32;
        let v6 = self.clients[client as usize].ip.is_ipv6();
        let mut sc = self.pick_scenario(v6);
        let servers = if v6 { &self.v6_servers } else { &self.v4_servers };
        // Popular servers get most conversations.
        let u = self.rng.unit();
        let mut si = ((u * u * u) * servers.len() as f64) as usize;
        if sc == Scenario::Refused {
            // Refusals go to a closed port of a server that has already answered elsewhere, so
            // its own TTL is known and the RST can be told to be its own.
            let n = servers.len() as u64;
            match (0..8).map(|_| self.rng.below(n) as usize).find(|&i| servers[i].spoken) {
                Some(i) => si = i,
                None => sc = Scenario::Closed,
            }
        }
        let server = &servers[si];
        let (s, s_ttl, srv_port, srv_rtt) = (server.ip, server.ttl, server.port, server.rtt);
        let cl = &self.clients[client as usize];
        let (c, c_ttl, link) = (cl.ip, cl.ttl, cl.link);
        let cport = self.client_port(client, now);
        let rng = &mut self.rng;
        let (s, sport, s_ttl) = match sc {
            Scenario::Refused => {
                let closed = [8080, 3306, 6379, 25, 5432, 9200, 8000, 22, 3389, 27017];
                let p = closed[rng.below(closed.len() as u64) as usize];
                (s, if p == srv_port { 8081 } else { p }, s_ttl)
            }
            Scenario::Unreachable(Unreach::Port) => (s, 9000 + rng.below(1000) as u16, s_ttl),
            Scenario::Unreachable(_) | Scenario::TimeExceeded | Scenario::Unanswered => {
                // Hosts that are down, filtered or behind a broken route.
                let n = rng.below(4000) as u16;
                let ip = if v6 {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xdead, 0, 0, 0, 0, n + 1))
                } else {
                    IpAddr::V4(Ipv4Addr::new(198, 19, (n / 250) as u8, 1 + (n % 250) as u8))
                };
                let ports = [443, 80, 22, 3389, 445, 8443];
                (ip, ports[rng.below(ports.len() as u64) as usize], 64)
            }
            Scenario::UdpAnswered => {
                if rng.chance(0.8) {
                    let r = self.resolvers[if v6 { 2 } else { rng.below(2) as usize }];
                    (r, 53, 64)
                } else {
                    (s, if rng.chance(0.5) { 123 } else { 443 }, s_ttl)
                }
            }
            Scenario::UdpUnanswered => {
                // A host that is down or filtered, never seen sending (a host seen alive would
                // make the silence a firewall's). Not DNS: an unanswered query is a DNS failure.
                let n = rng.below(4000) as u16;
                let ip = if v6 {
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xdead, 0, 0, 0, 1, n + 1))
                } else {
                    IpAddr::V4(Ipv4Addr::new(198, 19, 100 + (n / 250) as u8, 1 + (n % 250) as u8))
                };
                let ports = [161, 123, 1194, 51820, 5060];
                (ip, ports[rng.below(ports.len() as u64) as usize], 64)
            }
            Scenario::UdpUnreachable => (s, 1024 + rng.below(30000) as u16, s_ttl),
            _ => (s, srv_port, s_ttl),
        };
        // Who reports ICMP errors: the host itself, a firewall in front of it, the local router.
        let (reporter, r_ttl) = match sc {
            Scenario::Unreachable(Unreach::Port) | Scenario::UdpUnreachable => (s, s_ttl),
            _ if v6 => (IpAddr::V6(Ipv6Addr::new(0xfd00, 0xff, 0, 0, 0, 0, 0, 1)), 64),
            _ => (IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)), 255),
        };
        let rtt = match sc {
            Scenario::UdpAnswered if sport == 53 => rng.range(200 * US, 30 * MS),
            _ => srv_rtt,
        };
        let mbps = rng.log_uniform(5.0, 1000.0);
        let mss: u32 = if v6 { 1440 } else { 1460 };
        let gap = ((mss as f64 * 8.0 / (mbps * 1e6)) * SEC as f64) as i64;
        let rounds = match rng.below(10) {
            0..=4 => 1,
            5..=7 => 2,
            8 => 3,
            _ => 3 + rng.below(6) as u8,
        };
        let req_len = match sc {
            Scenario::UdpAnswered if sport == 53 => rng.range(30, 80),
            Scenario::UdpAnswered | Scenario::UdpUnanswered if sport == 123 => 48,
            Scenario::UdpUnanswered | Scenario::UdpUnreachable => rng.range(30, 120),
            _ => rng.range(80, 1200),
        } as u16;
        let conv = Conv {
            sc,
            step: if matches!(
                sc,
                Scenario::UdpAnswered | Scenario::UdpUnanswered | Scenario::UdpUnreachable
            ) {
                Step::UdpRequest
            } else {
                Step::Syn
            },
            client,
            link,
            c,
            s,
            cport,
            sport,
            c_ttl,
            s_ttl,
            reporter,
            r_ttl,
            full_quote: rng.chance(0.5),
            rtt,
            gap,
            c_id: rng.next() as u16,
            s_id: rng.next() as u16,
            isn_c: rng.next() as u32,
            isn_s: rng.next() as u32,
            snd_c: 0,
            snd_s: 0,
            mss,
            tls: sport != 80,
            rounds_left: rounds,
            resp_left: 0,
            resp_first: true,
            since_ack: 0,
            next_seg_at: 0,
            rst_at_left: 0,
            tries: 0,
            first_try: now,
            last_try: now,
            req_off: rng.below(64 * 1024) as u32,
            req_len,
            syn_id: 0,
            established: false,
            fin_c: false,
            fin_s: false,
            last_ack_by_client: true,
            rst_by_client: false,
            rst_by_server: false,
            refused: false,
            icmp_sent: false,
            replied: false,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.convs[s as usize] = Some(conv);
                s
            }
            None => {
                self.convs.push(Some(conv));
                (self.convs.len() - 1) as u32
            }
        };
        self.live += 1;
        self.peak_live = self.peak_live.max(self.live);
        match self.step(slot, now)? {
            Some(at) => self.schedule(at, slot),
            None => self.end(slot, now)?,
        }
        Ok(())
    }

    /// Bytes of a response, heavy-tailed: mostly a few segments, sometimes many.
    fn response_len(&mut self, mss: u32) -> u32 {
        let segs = match self.rng.below(100) {
            0..=54 => 1 + self.rng.below(3),
            55..=89 => 4 + self.rng.below(13),
            _ => 20 + self.rng.below(61),
        } as u32;
        // At least a TLS record header or a status line: real servers' first answers are.
        (segs - 1) * mss + 16 + self.rng.below(u64::from(mss - 16)) as u32
    }

    /// Fills `pay` with `len` bytes that look like the protocol in use.
    fn payload(&mut self, prefix: &[u8], off: u32, len: usize) {
        self.pay.clear();
        let p = prefix.len().min(len);
        self.pay.extend_from_slice(&prefix[..p]);
        let off = off as usize % (64 * 1024);
        self.pay.extend_from_slice(&self.pool[off..off + (len - p)]);
    }

    /// Builds the attempt's first packet (SYN or UDP request) into `quote`, as an ICMP error
    /// quotes it: whole, or its IP header and first 8 bytes.
    fn quoted(&mut self, conv: &Conv, ttl: u8) -> usize {
        self.quote.clear();
        let ip = Ip::new(conv.c, conv.s).ttl(ttl).id(conv.syn_id);
        if conv.udp() {
            let off = conv.req_off as usize;
            let body = &self.pool[off..off + conv.req_len as usize];
            frame::write_udp(&mut self.quote, &ip, conv.cport, conv.sport, body);
        } else {
            let tcp = Tcp::new(conv.cport, conv.sport).seq(conv.isn_c).flags(SYN).window(64240);
            frame::write_tcp(&mut self.quote, &ip, &tcp, b"");
        }
        if conv.full_quote { self.quote.len() } else { frame::quote_8(&self.quote).len() }
    }

    /// Puts the conversation's next packet on the wire; returns when it acts again, or None
    /// when it is over.
    fn step(&mut self, slot: u32, now: i64) -> io::Result<Option<i64>> {
        let mut conv = self.convs[slot as usize].take().expect("live conversation");
        let next = self.act(&mut conv, now);
        self.convs[slot as usize] = Some(conv);
        next
    }

    fn act(&mut self, cv: &mut Conv, now: i64) -> io::Result<Option<i64>> {
        let link = cv.link;
        let small = |rng: &mut Rng| rng.range(20 * US, 400 * US);
        let next = match cv.step {
            Step::Syn | Step::SynRetry => {
                let ip = cv.c2s();
                if cv.tries == 0 {
                    cv.syn_id = ip.id;
                }
                let tcp = Tcp::new(cv.cport, cv.sport).seq(cv.isn_c).flags(SYN).window(64240);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.tries += 1;
                cv.last_try = now;
                self.after_try(cv, now)
            }
            Step::SynAck => {
                let ip = cv.s2c();
                let tcp = Tcp::new(cv.sport, cv.cport)
                    .seq(cv.isn_s)
                    .ack(cv.isn_c.wrapping_add(1))
                    .flags(SYN | ACK)
                    .window(65160);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                self.mark_spoken(cv.s);
                cv.step = Step::HandshakeAck;
                Some(now + small(&mut self.rng))
            }
            Step::HandshakeAck => {
                cv.snd_c = cv.isn_c.wrapping_add(1);
                cv.snd_s = cv.isn_s.wrapping_add(1);
                let ip = cv.c2s();
                let tcp =
                    Tcp::new(cv.cport, cv.sport).seq(cv.snd_c).ack(cv.snd_s).flags(ACK).window(502);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.established = true;
                cv.step = Step::Request;
                Some(now + self.rng.range(10 * US, 2 * MS))
            }
            Step::Request => {
                let prefix: &[u8] = if cv.tls {
                    if cv.resp_first {
                        &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]
                    } else {
                        &[0x17, 3, 3]
                    }
                } else {
                    b"GET /index.html HTTP/1.1\r\nHost: example.test\r\n"
                };
                let len = cv.req_len as usize;
                self.payload(prefix, cv.req_off, len);
                let ip = cv.c2s();
                let tcp = Tcp::new(cv.cport, cv.sport)
                    .seq(cv.snd_c)
                    .ack(cv.snd_s)
                    .flags(PSH | ACK)
                    .window(502);
                self.sink.tcp(now, link, &ip, &tcp, &self.pay)?;
                cv.snd_c = cv.snd_c.wrapping_add(len as u32);
                cv.req_off = cv.req_off.wrapping_add(7919);
                cv.resp_left = self.response_len(cv.mss);
                if cv.sc == Scenario::ResetByServer {
                    cv.rst_at_left = self.rng.below(u64::from(cv.resp_left)) as u32;
                }
                cv.step = Step::Segment;
                let server_time = self.rng.log_uniform(0.05, 20.0);
                Some(now + cv.rtt + (server_time * MS as f64) as i64)
            }
            Step::Segment => {
                if cv.sc == Scenario::ResetByServer
                    && !cv.resp_first
                    && cv.resp_left <= cv.rst_at_left
                {
                    cv.step = Step::ServerRst;
                    return self.act(cv, now);
                }
                let len = cv.resp_left.min(cv.mss);
                let prefix: &[u8] = match (cv.tls, cv.resp_first) {
                    (true, true) => &[0x16, 0x03, 0x03, 0x00, 0x7a, 0x02],
                    (true, false) => &[0x17, 0x03, 0x03],
                    (false, true) => b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n",
                    (false, false) => b"",
                };
                let off = cv.req_off.wrapping_add(cv.snd_s);
                self.payload(prefix, off, len as usize);
                let last = len == cv.resp_left;
                let ip = cv.s2c();
                let flags = if last { PSH | ACK } else { ACK };
                let tcp = Tcp::new(cv.sport, cv.cport)
                    .seq(cv.snd_s)
                    .ack(cv.snd_c)
                    .flags(flags)
                    .window(501);
                self.sink.tcp(now, link, &ip, &tcp, &self.pay)?;
                cv.resp_first = false;
                cv.snd_s = cv.snd_s.wrapping_add(len);
                cv.resp_left -= len;
                cv.since_ack += 1;
                cv.next_seg_at = now + cv.gap.max(US);
                if last || cv.since_ack >= 2 {
                    cv.step = Step::ClientAck;
                    Some(now + self.rng.range(5 * US, 60 * US))
                } else {
                    Some(cv.next_seg_at)
                }
            }
            Step::ClientAck => {
                let ip = cv.c2s();
                let tcp =
                    Tcp::new(cv.cport, cv.sport).seq(cv.snd_c).ack(cv.snd_s).flags(ACK).window(502);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.since_ack = 0;
                if cv.resp_left > 0 {
                    cv.step = Step::Segment;
                    return Ok(Some(cv.next_seg_at.max(now + 1)));
                }
                cv.rounds_left = cv.rounds_left.saturating_sub(1);
                let think = (self.rng.exp(0.8).min(8.0) * SEC as f64) as i64;
                if cv.rounds_left > 0 {
                    cv.step = Step::Request;
                    Some(now + think)
                } else {
                    cv.step = match cv.sc {
                        Scenario::ResetByClient => Step::ClientRst,
                        // ResetByServer resets inside a response; a short one may end first.
                        Scenario::ResetByServer => Step::ServerRst,
                        _ if self.rng.chance(0.3) => Step::ServerFin,
                        _ => Step::ClientFin,
                    };
                    Some(now + think / 2)
                }
            }
            Step::ClientFin => {
                let ip = cv.c2s();
                let tcp = Tcp::new(cv.cport, cv.sport)
                    .seq(cv.snd_c)
                    .ack(cv.snd_s)
                    .flags(FIN | ACK)
                    .window(502);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.snd_c = cv.snd_c.wrapping_add(1);
                cv.fin_c = true;
                if cv.fin_s {
                    cv.last_ack_by_client = false;
                    cv.step = Step::LastAck;
                    Some(now + cv.rtt)
                } else {
                    cv.step = Step::ServerFin;
                    Some(now + cv.rtt)
                }
            }
            Step::ServerFin => {
                let ip = cv.s2c();
                let tcp = Tcp::new(cv.sport, cv.cport)
                    .seq(cv.snd_s)
                    .ack(cv.snd_c)
                    .flags(FIN | ACK)
                    .window(501);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.snd_s = cv.snd_s.wrapping_add(1);
                cv.fin_s = true;
                if cv.fin_c {
                    cv.last_ack_by_client = true;
                    cv.step = Step::LastAck;
                    Some(now + small(&mut self.rng))
                } else {
                    cv.step = Step::ClientFin;
                    Some(now + small(&mut self.rng))
                }
            }
            Step::LastAck => {
                // The ACK of the second FIN, from the side that closed first.
                let (ip, tcp) = if cv.last_ack_by_client {
                    let ip = cv.c2s();
                    (ip, Tcp::new(cv.cport, cv.sport).seq(cv.snd_c).ack(cv.snd_s))
                } else {
                    let ip = cv.s2c();
                    (ip, Tcp::new(cv.sport, cv.cport).seq(cv.snd_s).ack(cv.snd_c))
                };
                self.sink.tcp(now, link, &ip, &tcp.flags(ACK).window(501), b"")?;
                None
            }
            Step::ClientRst => {
                let ip = cv.c2s();
                let tcp = Tcp::new(cv.cport, cv.sport)
                    .seq(cv.snd_c)
                    .ack(cv.snd_s)
                    .flags(RST | ACK)
                    .window(0);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.rst_by_client = true;
                None
            }
            Step::ServerRst => {
                let ip = cv.s2c();
                let tcp = Tcp::new(cv.sport, cv.cport)
                    .seq(cv.snd_s)
                    .ack(cv.snd_c)
                    .flags(RST | ACK)
                    .window(0);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.rst_by_server = true;
                None
            }
            Step::RefuseRst => {
                let ip = cv.s2c();
                let tcp = Tcp::new(cv.sport, cv.cport)
                    .seq(0)
                    .ack(cv.isn_c.wrapping_add(1))
                    .flags(RST | ACK)
                    .window(0);
                self.sink.tcp(now, link, &ip, &tcp, b"")?;
                cv.refused = true;
                None
            }
            Step::Icmp => {
                // A router quotes the packet as it reached it: TTL 1 when it ran out, else
                // lowered by the hops so far.
                let qttl = if cv.sc == Scenario::TimeExceeded { 1 } else { cv.c_ttl - 3 };
                let n = self.quoted(cv, qttl);
                let icmp = match cv.sc {
                    Scenario::TimeExceeded => Icmp::TTL_EXCEEDED,
                    Scenario::Unreachable(u) => u.icmp(),
                    _ => Icmp::PORT_UNREACHABLE,
                };
                let ip = Ip::new(cv.reporter, cv.c).ttl(cv.r_ttl).df(false);
                self.sink.icmp(now, link, &ip, icmp, &self.quote[..n])?;
                cv.icmp_sent = true;
                None
            }
            Step::Settle => None,
            Step::UdpRequest => {
                let off = cv.req_off as usize;
                let ip = cv.c2s();
                if cv.tries == 0 {
                    cv.syn_id = ip.id;
                }
                let body = if cv.sport == 53 {
                    dns_message(&mut self.pay, cv.req_off, v6_query(cv), false);
                    &self.pay[..]
                } else {
                    &self.pool[off..off + cv.req_len as usize]
                };
                self.sink.udp(now, link, &ip, cv.cport, cv.sport, body)?;
                cv.tries += 1;
                cv.last_try = now;
                self.after_try(cv, now)
            }
            Step::UdpReply => {
                let ip = cv.s2c();
                let len = match cv.sport {
                    53 => 0, // built by dns_message
                    123 => 48,
                    _ => self.rng.range(40, 1200) as usize,
                };
                let off = cv.req_off as usize + 1000;
                let body = if cv.sport == 53 {
                    dns_message(&mut self.pay, cv.req_off, v6_query(cv), true);
                    &self.pay[..]
                } else {
                    &self.pool[off..off + len]
                };
                self.sink.udp(now, link, &ip, cv.sport, cv.cport, body)?;
                if !cv.replied {
                    self.mark_spoken(cv.s);
                }
                cv.replied = true;
                cv.rounds_left = cv.rounds_left.saturating_sub(1);
                if cv.sport == 443 && cv.rounds_left > 0 {
                    // A QUIC-like exchange: a few more datagrams each way.
                    cv.step = Step::UdpRequest;
                    cv.tries = 0;
                    Some(now + self.rng.range(100 * US, 50 * MS))
                } else {
                    None
                }
            }
        };
        Ok(next)
    }

    /// After a SYN or UDP request: what comes back, and when.
    fn after_try(&mut self, cv: &mut Conv, now: i64) -> Option<i64> {
        let retry = |cv: &mut Conv, step: Step| -> Option<i64> {
            // Retransmissions at +1 s and +3 s after the first try, then silence.
            match cv.tries {
                1 => {
                    cv.step = step;
                    Some(cv.first_try + SEC)
                }
                2 => {
                    cv.step = step;
                    Some(cv.first_try + 3 * SEC)
                }
                _ => {
                    cv.step = Step::Settle;
                    Some(now + SYN_TIMEOUT + MS)
                }
            }
        };
        match cv.sc {
            Scenario::Closed | Scenario::ResetByClient | Scenario::ResetByServer => {
                cv.step = Step::SynAck;
                Some(now + cv.rtt)
            }
            Scenario::Refused => {
                cv.step = Step::RefuseRst;
                Some(now + cv.rtt)
            }
            Scenario::Unreachable(Unreach::Host) => {
                if cv.tries == 1 {
                    cv.step = Step::SynRetry;
                    Some(now + SEC)
                } else {
                    cv.step = Step::Icmp;
                    Some(cv.first_try + 3 * SEC + self.rng.range(0, 20 * MS))
                }
            }
            Scenario::Unreachable(Unreach::NoRoute) => {
                cv.step = Step::Icmp;
                Some(now + self.rng.range(50 * US, 2 * MS))
            }
            Scenario::Unreachable(_) | Scenario::UdpUnreachable => {
                cv.step = Step::Icmp;
                Some(now + cv.rtt)
            }
            Scenario::TimeExceeded => {
                cv.step = Step::Icmp;
                Some(now + cv.rtt / 2 + self.rng.range(100 * US, 5 * MS))
            }
            Scenario::Unanswered => retry(cv, Step::SynRetry),
            Scenario::UdpUnanswered => retry(cv, Step::UdpRequest),
            Scenario::UdpAnswered => {
                cv.step = Step::UdpReply;
                Some(now + cv.rtt)
            }
        }
    }

    fn mark_spoken(&mut self, ip: IpAddr) {
        let servers = if ip.is_ipv6() { &mut self.v6_servers } else { &mut self.v4_servers };
        if let Some(s) = servers.iter_mut().find(|s| s.ip == ip) {
            s.spoken = true;
        }
    }
}

/// Whether a DNS conversation asks for AAAA (rather than A).
fn v6_query(cv: &Conv) -> bool {
    cv.req_off.is_multiple_of(3)
}

/// A well-formed DNS query (or its NOERROR answer) for a name derived from `n`: an answered
/// query must not look like a failed lookup, nor random bytes like DNS.
fn dns_message(out: &mut Vec<u8>, n: u32, aaaa: bool, response: bool) {
    out.clear();
    let id = (n as u16) ^ 0x5a5a;
    let flags: u16 = if response { 0x8180 } else { 0x0100 };
    let qtype: u16 = if aaaa { 28 } else { 1 };
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    let host = format!("h{}", n % 5000);
    for label in [host.as_str(), "example", "test"] {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    if response {
        out.extend_from_slice(&[0xc0, 0x0c]); // the question's name
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&300u32.to_be_bytes());
        if aaaa {
            out.extend_from_slice(&16u16.to_be_bytes());
            out.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0x5, 0, 0, 0, 0, 1).octets());
        } else {
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&[198, 18, (n % 250) as u8, 1]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// flood and synflood

/// The `i`-th flooding source: distinct (address, port) for every `i` below 2^22 × 60000,
/// addresses scattered over 100.64.0.0/10 (IPv4) or a /106 of 2001:db8:f::/48 (every eighth).
fn flood_source(i: u64) -> (IpAddr, u16) {
    let low = i & ((1 << 22) - 1);
    // Multiplying by an odd number permutes 0..2^22: neighbours in time get distant addresses.
    let a = (low.wrapping_mul(0x9E37_79B1) & ((1 << 22) - 1)) as u32;
    let port = 1024 + (i >> 22) as u16;
    if i % 8 == 7 {
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0xf, 0, 0, 0, (a >> 16) as u16, a as u16);
        (IpAddr::V6(v6), port)
    } else {
        (IpAddr::V4(Ipv4Addr::from(0x6440_0000 | a)), port)
    }
}

fn flood_target(v6: bool, i: u64) -> (IpAddr, u16) {
    let port = [80, 443][(i % 2) as usize];
    if v6 {
        (IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x5, 0xff, 0, 0, 0, 1)), port)
    } else {
        (IpAddr::V4(Ipv4Addr::new(198, 18, 255, 1)), port)
    }
}

const FLOOD_SERVER_TTL: u8 = 64 - 9;

/// A SYN flood at 200 k SYN/s: every SYN answered after a short RTT by the server's RST/ACK
/// (its backlog is full), or — for one IPv4 SYN in ten — by a firewall's admin-prohibited
/// ICMP error quoting it. A few real handshakes first teach connlens the server's own TTL.
fn flood(args: &Args) -> io::Result<()> {
    let started = Instant::now();
    let mut sink = Sink::create(&args.out, args.expected.as_ref())?;
    let mut rng = Rng(args.seed ^ 0x666c_6f6f_6400);
    let link = Link::Ethernet;
    let mut t = START;
    // Legitimate handshakes to both addresses and ports first.
    for (k, v6) in [false, true, false, true].into_iter().enumerate() {
        let c: IpAddr = if v6 {
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0xc1, 0, 0, 0, 0, 0x20, 1))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1))
        };
        let (s, sp) = flood_target(v6, k as u64);
        let cp = 40000 + k as u16;
        let (ci, si) = (rng.next() as u32, rng.next() as u32);
        let cip = Ip::new(c, s).ttl(64);
        let sip = Ip::new(s, c).ttl(FLOOD_SERVER_TTL);
        let ct = |f| Tcp::new(cp, sp).flags(f).window(502);
        let st = |f| Tcp::new(sp, cp).flags(f).window(501);
        sink.tcp(t, link, &cip, &ct(SYN).seq(ci).window(64240), b"")?;
        sink.tcp(t + MS, link, &sip, &st(SYN | ACK).seq(si).ack(ci.wrapping_add(1)), b"")?;
        sink.tcp(
            t + MS + 50 * US,
            link,
            &cip,
            &ct(ACK).seq(ci.wrapping_add(1)).ack(si.wrapping_add(1)),
            b"",
        )?;
        sink.tcp(
            t + 2 * MS,
            link,
            &cip,
            &ct(FIN | ACK).seq(ci.wrapping_add(1)).ack(si.wrapping_add(1)),
            b"",
        )?;
        sink.tcp(
            t + 3 * MS,
            link,
            &sip,
            &st(FIN | ACK).seq(si.wrapping_add(1)).ack(ci.wrapping_add(2)),
            b"",
        )?;
        sink.tcp(
            t + 3 * MS + 50 * US,
            link,
            &cip,
            &ct(ACK).seq(ci.wrapping_add(2)).ack(si.wrapping_add(2)),
            b"",
        )?;
        sink.expect(Expect {
            udp: false,
            client: c,
            client_port: cp,
            server: s,
            server_port: sp,
            verdict: "established",
            cause: "closed",
            last_try: t,
        })?;
        t += 4 * MS;
    }
    // (answer time, flow index, ISN) of SYNs not answered yet.
    let mut answers: BinaryHeap<Reverse<(i64, u64, u32)>> = BinaryHeap::new();
    let mut quote = Vec::with_capacity(128);
    let mut i = 0u64;
    loop {
        let more = sink.bytes < args.size;
        let syn_at = t + 5 * US;
        while answers.peek().is_some_and(|Reverse((at, _, _))| !more || *at <= syn_at) {
            let Reverse((at, j, isn)) = answers.pop().expect("peeked");
            let (c, cp) = flood_source(j);
            let (s, sp) = flood_target(c.is_ipv6(), j);
            let by_firewall = !c.is_ipv6() && j % 10 == 3;
            let (verdict, cause) = if by_firewall {
                quote.clear();
                let tcp = Tcp::new(cp, sp).seq(isn).flags(SYN).window(64240);
                frame::write_tcp(&mut quote, &Ip::new(c, s).ttl(52), &tcp, b"");
                let ip = Ip::new(IpAddr::V4(Ipv4Addr::new(198, 18, 254, 1)), c).ttl(250);
                sink.icmp(at, link, &ip, Icmp::ADMIN_PROHIBITED, frame::quote_8(&quote))?;
                ("unreachable", "admin-prohibited")
            } else {
                let ip = Ip::new(s, c).ttl(FLOOD_SERVER_TTL);
                let tcp = Tcp::new(sp, cp).ack(isn.wrapping_add(1)).flags(RST | ACK).window(0);
                sink.tcp(at, link, &ip, &tcp, b"")?;
                ("refused", "host-reset")
            };
            sink.expect(Expect {
                udp: false,
                client: c,
                client_port: cp,
                server: s,
                server_port: sp,
                verdict,
                cause,
                last_try: at,
            })?;
        }
        if !more {
            break;
        }
        t = syn_at;
        let (c, cp) = flood_source(i);
        let (s, sp) = flood_target(c.is_ipv6(), i);
        let isn = rng.next() as u32;
        let ip = Ip::new(c, s).ttl(40 + rng.below(20) as u8).id(rng.next() as u16);
        sink.tcp(t, link, &ip, &Tcp::new(cp, sp).seq(isn).flags(SYN).window(1024), b"")?;
        answers.push(Reverse((t + rng.range(100 * US, 3 * MS), i, isn)));
        i += 1;
    }
    sink.finish(started)
}

/// `--flows` SYNs from distinct sources at 100 k SYN/s, none answered. The expected cause
/// follows from the schedule: SYNs sent 5 s or more before the last one are `no-response`,
/// the rest `capture-ended`.
fn synflood(args: &Args) -> io::Result<()> {
    let started = Instant::now();
    let mut sink = Sink::create(&args.out, args.expected.as_ref())?;
    let mut rng = Rng(args.seed ^ 0x7379_6e00);
    let step = 10 * US;
    let end = START + (args.flows.saturating_sub(1) as i64) * step;
    for i in 0..args.flows {
        let t = START + i as i64 * step;
        let (c, cp) = flood_source(i);
        let (s, sp) = flood_target(c.is_ipv6(), i);
        let ip = Ip::new(c, s).ttl(40 + rng.below(20) as u8).id(rng.next() as u16);
        let tcp = Tcp::new(cp, sp).seq(rng.next() as u32).flags(SYN).window(1024);
        sink.tcp(t, Link::Ethernet, &ip, &tcp, b"")?;
        let cause = if end - t >= SYN_TIMEOUT { "no-response" } else { "capture-ended" };
        sink.write_expect(&Expect { cause, ..unanswered(false, c, cp, s, sp, t) })?;
    }
    sink.finish(started)
}
