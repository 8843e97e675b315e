//! What the capture shows of the hosts apart from any one conversation: the TTLs each host's
//! own packets arrive with (to tell a host's RST from one forged on the path) and address
//! resolution answered or not (to tell a filtered port from a host that is down). Every table
//! is bounded.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use super::is_group_datagram;
use crate::decode::{NeighborMessage, Packet, Transport};

/// Hops a packet has travelled, guessing the sender's initial TTL as the next of the common
/// defaults (32, 64, 128, 255) at or above what arrived.
pub(crate) fn hops(ttl: u8) -> u8 {
    let initial = [32u8, 64, 128, 255].into_iter().find(|&i| ttl <= i).unwrap_or(255);
    initial - ttl
}

/// A host: its address, and with `--split-vlans` its VLAN tags (0 otherwise), folded with its
/// tunnel's digest. With the VLANs apart, one address on two VLANs is two hosts, as it is two
/// conversations: a host that answers on VLAN 100 says nothing of the same address on VLAN
/// 200; and one private address in two tenants' tunnels is two hosts.
pub(super) type HostKey = (u32, IpAddr);

/// The tables of hosts. Keyed by address (and VLAN/tunnel word): Fx's multiply alone left
/// their hashes clustered — the mix's hosts differ in a few low address bits — and a lookup
/// probed a dozen groups; [`HostHasher`] mixes the result.
pub(super) type HostMap<K, V> = HashMap<K, V, BuildHasherDefault<HostHasher>>;

/// Fx's word-at-a-time combining, finished with a fold and a multiply, so that the table's
/// bucket (low bits) and tag (top bits) both depend on every bit of the key.
#[derive(Clone, Copy, Default)]
pub(super) struct HostHasher(u64);

impl HostHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

impl Hasher for HostHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        let z = (self.0 ^ (self.0 >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z ^ (z >> 32)
    }
}

/// Everything the tracker knows of the hosts: their own TTLs and their address resolution.
pub(super) struct HostFacts {
    pub(super) ttls: HostTtls,
    pub(super) neighbors: Neighbors,
    pub(super) services: Services,
    /// Hosts are told apart by VLAN (`--split-vlans`).
    split_vlans: bool,
}

impl HostFacts {
    /// Tables of at most `cap` hosts each.
    pub(super) fn new(cap: usize, split_vlans: bool) -> Self {
        HostFacts {
            ttls: HostTtls { map: HostMap::default(), cap, recent: RecentFacts::default() },
            neighbors: Neighbors { map: HostMap::default(), cap },
            services: Services { map: HostMap::default(), cap },
            split_vlans,
        }
    }

    /// The host `ip` seen with VLAN tags `vlan` in the tunnel of digest `tunnel`.
    pub(super) fn key(&self, vlan: u32, tunnel: u32, ip: IpAddr) -> HostKey {
        ((if self.split_vlans { vlan } else { 0 }) ^ tunnel, ip)
    }

    /// Records what `p` shows of its sender (see [`sender_fact`]).
    pub(super) fn record_sender(&mut self, p: &Packet) {
        let tunnel = p.tunnel.digest();
        // The host's key only when there is something to record: most packets repeat the
        // fact their sender's last one showed.
        if let Some(fact) = sender_fact(p)
            && self.ttls.recent.is_new(p.vlan ^ tunnel, p.src, fact)
        {
            let key = self.key(p.vlan, tunnel, p.src);
            self.ttls.record(key, fact);
        }
        if let Some((port, speech)) = service_fact(p) {
            let key = self.key(p.vlan, tunnel, p.src);
            self.services.record((key, port), speech);
        }
    }

    /// What the service at `host` (see [`key`](Self::key)):`port` was seen to speak in the
    /// capture so far.
    pub(super) fn service(&self, host: HostKey, port: u16) -> Speech {
        self.services.map.get(&(host, port)).copied().unwrap_or_default()
    }

    /// Records an address resolution message.
    pub(super) fn record_neighbor(&mut self, vlan: u32, tunnel: u32, n: &NeighborMessage) {
        let key = self.key(vlan, tunnel, n.target);
        self.neighbors.record(key, n);
    }

    /// Caps both tables at `cap` hosts.
    pub(super) fn set_cap(&mut self, cap: usize) {
        self.ttls.cap = cap.max(1);
        self.neighbors.cap = cap.max(1);
        self.services.cap = cap.max(1);
    }

    /// Whether the host sent anything at all.
    pub(super) fn has_sent(&self, host: HostKey) -> bool {
        self.ttls.map.contains_key(&host)
    }

    /// The TTLs the host's own packets came with.
    pub(super) fn own_ttls(&self, host: HostKey) -> Option<&OwnTtls> {
        self.ttls.map.get(&host)
    }

    /// Address resolution for `host`: (solicitations, answered).
    pub(super) fn resolution(&self, host: HostKey) -> Option<(u32, bool)> {
        self.neighbors.map.get(&host).copied()
    }
}

/// Hosts seen sending anything, with the TTLs their own (non-RST) packets arrive with: to
/// tell a host's RST from one injected on the path, and a filtered port from a silent host.
/// Bounded: past `cap` hosts, new ones are not recorded.
pub(super) struct HostTtls {
    pub(super) map: HostMap<HostKey, OwnTtls>,
    pub(super) cap: usize,
    /// Facts recorded last, so that a long conversation does not look its hosts up with
    /// every packet.
    pub(super) recent: RecentFacts,
}

/// The distinct TTLs (by hop count) a host's own packets arrived with, in the order first
/// seen, up to four. An address is often more than one machine — a load-balanced service, a
/// NAT — whose backends sit at different distances: an RST is the host's when any of them
/// matches. A set, so that (up to four hop counts) what it holds does not depend on the
/// order packets come in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OwnTtls {
    pub(super) ttls: [u8; 4],
    pub(super) len: u8,
}

impl OwnTtls {
    #[inline]
    pub(super) fn add(&mut self, ttl: u8) {
        let len = usize::from(self.len);
        // Nearly every packet comes with a TTL already held (the same TTL is the same hop
        // count): a compare, without the hop counts.
        if self.ttls[..len.min(4)].contains(&ttl) {
            return;
        }
        let want = hops(ttl);
        if len < self.ttls.len() && !self.ttls[..len].iter().any(|&t| hops(t) == want) {
            self.ttls[len] = ttl;
            self.len += 1;
        }
    }

    /// The TTL seen with the same hop count as `ttl`, else the first seen, if any.
    pub(crate) fn closest(&self, ttl: u8) -> Option<u8> {
        let seen = &self.ttls[..usize::from(self.len)];
        let want = hops(ttl);
        seen.iter().copied().find(|&t| hops(t) == want).or(seen.first().copied())
    }
}

/// What a packet shows of its sender, if anything: `Some(Some(ttl))` it is up, with the TTL
/// its own packets arrive with; `Some(None)` it is up (an RST, which may be forged on the
/// path, or an ICMP error, sent by a router's other stack: their TTL says nothing of the
/// host). `None` for broadcast and multicast datagrams and address resolution.
///
/// One tracker records it from every packet; with several shards, the capture thread sends
/// a packet whose fact is new to every other shard, so every shard keeps the same facts.
pub(crate) fn sender_fact(p: &Packet) -> Option<Option<u8>> {
    match &p.transport {
        Transport::Tcp(t) if t.flags.has(crate::decode::TcpFlags::RST) => Some(None),
        Transport::Tcp(_) => Some(Some(p.ttl)),
        Transport::Udp(_) if is_group_datagram(p) => None,
        Transport::Udp(_) => Some(Some(p.ttl)),
        Transport::IcmpError(_) => Some(None),
        Transport::Echo(_) if is_group_datagram(p) => None,
        // An ABORT may come from a middlebox, as an RST does: the host is up, its TTL unsure.
        Transport::Sctp(c) if c.has(crate::decode::sctp_chunk::ABORT) => Some(None),
        Transport::Echo(_) | Transport::Sctp(_) => Some(Some(p.ttl)),
        Transport::Neighbor(_) => None,
    }
}

/// The fact last recorded for each of a few thousand hosts, in a direct-mapped memory: a
/// fact already recorded for its host need not be recorded again. (A slot another host took
/// over only costs a repeated record.)
pub(crate) struct RecentFacts {
    slots: Vec<Option<(u32, IpAddr, Option<u8>)>>,
}

/// Slots of a [`RecentFacts`] memory.
pub(super) const RECENT_FACTS: usize = 4096;

impl Default for RecentFacts {
    fn default() -> Self {
        RecentFacts { slots: vec![None; RECENT_FACTS] }
    }
}

impl RecentFacts {
    /// Whether `fact` is not the fact last remembered for `ip` on VLAN tags `vlan` (folded
    /// with the tunnel's digest) (and remembers it). The VLAN is always part of it: with `--split-vlans` one address on two
    /// VLANs is two hosts, and without, a fact seen again on another VLAN is only recorded
    /// (or copied to the other shards) once more, which changes nothing.
    pub(crate) fn is_new(&mut self, vlan: u32, ip: IpAddr, fact: Option<u8>) -> bool {
        let bits = u64::from(vlan).rotate_left(40)
            ^ match ip {
                IpAddr::V4(a) => u64::from(u32::from(a)),
                IpAddr::V6(a) => {
                    let x = u128::from(a);
                    (x as u64) ^ ((x >> 64) as u64)
                }
            };
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % RECENT_FACTS;
        match self.slots.get_mut(slot) {
            Some(s) if *s == Some((vlan, ip, fact)) => false,
            Some(s) => {
                *s = Some((vlan, ip, fact));
                true
            }
            None => true,
        }
    }
}

impl HostTtls {
    fn record(&mut self, host: HostKey, ttl: Option<u8>) {
        // One lookup either way: while there is room, the entry; once full, only a host
        // already known is updated.
        let seen = if self.map.len() < self.cap {
            self.map.entry(host).or_default()
        } else {
            match self.map.get_mut(&host) {
                Some(seen) => seen,
                None => return,
            }
        };
        if let Some(ttl) = ttl {
            seen.add(ttl);
        }
    }
}

/// Address resolution seen per address: solicitations, and whether anything answered for it.
/// Bounded like [`HostTtls`].
pub(crate) struct Neighbors {
    pub(super) map: HostMap<HostKey, (u32, bool)>,
    pub(super) cap: usize,
}

impl Neighbors {
    fn record(&mut self, host: HostKey, n: &NeighborMessage) {
        let e = if self.map.len() < self.cap {
            self.map.entry(host).or_insert((0, false))
        } else {
            match self.map.get_mut(&host) {
                Some(e) => e,
                None => return,
            }
        };
        if n.solicit {
            e.0 = e.0.saturating_add(1);
        } else {
            e.1 = true;
        }
    }
}

/// What a TCP service (address and port) was seen to speak: a TLS ServerHello, or a
/// plaintext HTTP answer that was not an error. Both may be true (a port that answers
/// plaintext with a redirect to TLS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Speech {
    pub(crate) tls: bool,
    pub(crate) plaintext: bool,
}

/// What a packet shows of the service that sent it, from its first payload bytes alone (so
/// every tracker shard can record it): `(source port, speech)` for a TLS ServerHello (only a
/// server sends one) or an HTTP/1.x response below 400 (an error answer may be a TLS
/// server's to plaintext: nginx's 400).
pub(crate) fn service_fact(p: &Packet) -> Option<(u16, Speech)> {
    let Transport::Tcp(t) = &p.transport else { return None };
    let b = t.payload.as_slice();
    // (Most segments carry neither: one byte tells.)
    if !matches!(b.first(), Some(22 | b'H')) {
        return None;
    }
    let speech = match super::payload::classify(b) {
        super::payload::FirstBytes::TlsRecord if b[0] == 22 && b.get(5) == Some(&2) => {
            Speech { tls: true, plaintext: false }
        }
        super::payload::FirstBytes::HttpResponse { status } if status < 400 => {
            Speech { tls: false, plaintext: true }
        }
        _ => return None,
    };
    Some((t.src_port, speech))
}

/// The service facts last sent to every tracker shard, in a direct-mapped memory like
/// [`RecentFacts`]: an HTTP server's every answer need not be copied to every shard. (A slot
/// another service took over only costs a repeated copy; recording a fact twice changes
/// nothing.)
pub(crate) struct RecentServices {
    slots: Vec<Option<(u32, IpAddr, u16, Speech)>>,
}

impl Default for RecentServices {
    fn default() -> Self {
        RecentServices { slots: vec![None; RECENT_FACTS] }
    }
}

impl RecentServices {
    /// Whether `p` shows a service fact not the last remembered for its service (and
    /// remembers it).
    pub(crate) fn is_new(&mut self, p: &Packet) -> bool {
        let Some((port, speech)) = service_fact(p) else { return false };
        let bits = match p.src {
            IpAddr::V4(a) => u64::from(u32::from(a)),
            IpAddr::V6(a) => {
                let x = u128::from(a);
                (x as u64) ^ ((x >> 64) as u64)
            }
        } ^ u64::from(p.vlan).rotate_left(40)
            ^ u64::from(port).rotate_left(20);
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % RECENT_FACTS;
        let fact = Some((p.vlan, p.src, port, speech));
        match self.slots.get_mut(slot) {
            Some(s) if *s == fact => false,
            Some(s) => {
                *s = fact;
                true
            }
            None => true,
        }
    }
}

/// What each TCP service spoke (see [`service_fact`]). Bounded like [`HostTtls`]: past `cap`
/// services, new ones are not recorded.
pub(crate) struct Services {
    pub(super) map: HostMap<(HostKey, u16), Speech>,
    pub(super) cap: usize,
}

impl Services {
    fn record(&mut self, key: (HostKey, u16), speech: Speech) {
        let e = if self.map.len() < self.cap {
            self.map.entry(key).or_default()
        } else {
            match self.map.get_mut(&key) {
                Some(e) => e,
                None => return,
            }
        };
        e.tls |= speech.tls;
        e.plaintext |= speech.plaintext;
    }
}
