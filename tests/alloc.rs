//! No heap allocation per packet in the hot path: once a conversation is established, decoding
//! its packets and tracking them allocates nothing — on plain Ethernet and inside tunnels
//! (decoding a tunnel allocates nothing either). Counted with a global allocator that tallies
//! every allocation (this test binary only; one test, so no other test's allocations are
//! counted with it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use connlens::capture::{Frame, LinkType, Origin};
use connlens::decode::{TcpFlags, decode};
use connlens::synth::frame::{self, Encap, Ip, Link, Tcp, Tunnel};
use connlens::time::Timestamp;
use connlens::track::{Tracker, TrackerConfig};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn established_traffic_allocates_nothing_per_packet() {
    let outer = ("203.0.113.1".parse().unwrap(), "203.0.113.2".parse().unwrap());
    let tunnel = |encap| Link::Tunnel(Tunnel { encap, outer, inner_vlan: None });
    let links = [
        Link::Ethernet,
        tunnel(Encap::Vxlan { vni: 42 }),
        tunnel(Encap::Geneve { vni: 7, options: 2 }),
        tunnel(Encap::Gre { checksum: true, key: Some(9), seq: Some(1), ethernet: false }),
        tunnel(Encap::Mpls { labels: [16, 17], back: [18, 19], pseudowire: true }),
        tunnel(Encap::GtpU { teid: 5, back: 6, extension: true }),
    ];
    for link in links {
        established_allocates_nothing(link);
    }
}

/// A conversation's handshake and 20 000 packets over `link` (the client's way; the server's
/// packets come the other way).
fn established_allocates_nothing(link: Link) {
    let c = Ip::new([192, 0, 2, 1], [198, 51, 100, 7]);
    let s = Ip::new([198, 51, 100, 7], [192, 0, 2, 1]).ttl(61);
    let payload = vec![0x5a; 1400];
    let mut frames = vec![
        frame::tcp(&c, &Tcp::new(40000, 443).seq(1000).flags(TcpFlags::SYN), b""),
        frame::tcp(
            &s,
            &Tcp::new(443, 40000).seq(5000).ack(1001).flags(TcpFlags::SYN | TcpFlags::ACK),
            b"",
        ),
        frame::tcp(&c, &Tcp::new(40000, 443).seq(1001).ack(5001).flags(TcpFlags::ACK), b""),
    ];
    for i in 0..10_000u32 {
        let seq = 5001 + i * 1400;
        frames.push(frame::tcp(
            &s,
            &Tcp::new(443, 40000).seq(seq).ack(1001).flags(TcpFlags::ACK),
            &payload,
        ));
        frames.push(frame::tcp(
            &c,
            &Tcp::new(40000, 443).seq(1001).ack(seq + 1400).flags(TcpFlags::ACK),
            b"",
        ));
    }
    // The client's packets (source 192.0.2.1) one way, the server's the other.
    let frames: Vec<Vec<u8>> = frames
        .iter()
        .map(|ip| {
            let from_client = ip.get(12..16) == Some(&[192, 0, 2, 1][..]);
            frame::frame(if from_client { link } else { link.reversed() }, ip)
        })
        .collect();

    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut out = Vec::with_capacity(16);
    let mut feed = |range: std::ops::Range<usize>, tracker: &mut Tracker| {
        for (i, f) in frames[range.clone()].iter().enumerate() {
            let n = (range.start + i) as u64;
            let frame = Frame {
                ts: Timestamp::from_secs_nanos(1_790_000_000, (n * 1000) as u32),
                link: LinkType::ETHERNET,
                orig_len: f.len() as u32,
                data: f,
                origin: Origin { file: 0, number: n + 1, offset: 0 },
            };
            let p = decode(&frame).expect("a valid frame");
            assert_eq!(p.tunnel.is_some(), link != Link::Ethernet, "{link:?}");
            tracker.packet(&p, &mut out);
        }
    };
    // The handshake and the first exchanges may allocate (the conversation's state, its first
    // payload, the table's first growth).
    feed(0..103, &mut tracker);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    feed(103..frames.len(), &mut tracker);
    let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(during, 0, "{link:?}: {during} allocations for {} packets", frames.len() - 103);
    assert!(out.is_empty());
}
