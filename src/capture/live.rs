//! Live capture from a network interface through libpcap (the `pcap` crate).
//!
//! This is the only module that names `pcap`: it opens the interface, compiles the user's
//! filter widened so that the packets that explain a flow are not filtered away, and hands out
//! [`Frame`]s like the file reader does, so the same decoder and tracker serve both paths.
//!
//! Settings and why:
//! - **immediate mode**: every packet is handed over as it arrives, not when a kernel buffer
//!   block fills; without it a lone SYN could wait seconds (and tcpdump lost the last packets
//!   on SIGINT without it).
//! - **non-blocking reads and our own `poll(2)`** with [`READ_TIMEOUT_MS`]: the capture thread
//!   wakes at least this often to see a stop request and to hand over a half-full batch.
//!   libpcap's own read timeout cannot do this on Linux: with TPACKET_V3 the kernel's block
//!   timer does not run while no packet arrives, so a blocking read on a quiet interface never
//!   returns (seen with libpcap 1.10.3: SIGTERM went unnoticed until the next packet).
//! - **snap length** [`DEFAULT_SNAPLEN`]: enough for the deepest header stack connlens decodes
//!   (Linux cooked v2 or Ethernet with QinQ, IPv6 with extension headers, TCP with options) plus
//!   the payload prefix the application checks look at, and for an ICMP error the packet it
//!   quotes; copying less per packet leaves more room in the kernel buffer.
//! - **no promiscuous mode**: connlens explains the connections of the host it runs on (and of
//!   what the interface sees anyway); it does not change the interface's state.

use std::fmt;

use pcap::{Active, Capture, Device};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::{Frame, LinkType, Origin};
use crate::time::Timestamp;

/// Default snap length: 14 (Ethernet) + 8 (two VLAN tags) or 20 (SLL2), 40 + up to ~200 bytes
/// of IPv6 extension headers, 60 (TCP with options), 64 (payload prefix kept for application
/// checks), rounded up generously. ICMP errors quote at most ~the same stack again, which
/// 512 bytes still covers for any ordinary packet.
pub const DEFAULT_SNAPLEN: u32 = 512;
/// Default kernel buffer: 8 MiB, four times tcpdump's default, so bursts of a few thousand
/// packets survive while the capture thread is busy.
pub const DEFAULT_BUFFER_SIZE: u32 = 8 << 20;
/// How long one read waits for a packet before the capture thread checks for a stop request
/// and flushes its half-full batch.
pub const READ_TIMEOUT_MS: i32 = 100;

/// Settings of a live capture.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Interface name (`any` for all); `None` picks the default one as tcpdump does.
    pub interface: Option<String>,
    /// The user's BPF filter in tcpdump syntax; `None` or empty captures everything.
    pub filter: Option<String>,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// Kernel capture buffer in bytes.
    pub buffer_size: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interface: None,
            filter: None,
            snaplen: DEFAULT_SNAPLEN,
            buffer_size: DEFAULT_BUFFER_SIZE,
        }
    }
}

/// Why a live capture could not start. Each displays as one line that says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveError {
    /// The process may not open a capture socket.
    NotPermitted {
        /// The interface.
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// The interface does not exist.
    NoSuchInterface {
        /// The name asked for.
        interface: String,
        /// The interfaces there are.
        available: Vec<String>,
    },
    /// The interface exists but is down.
    InterfaceDown {
        /// The interface.
        interface: String,
    },
    /// The filter does not compile.
    BadFilter {
        /// The user's filter.
        filter: String,
        /// libpcap's message.
        message: String,
    },
    /// No interface to capture on was found.
    NoInterface,
    /// Anything else libpcap reported.
    Other {
        /// The interface.
        interface: String,
        /// libpcap's message.
        message: String,
    },
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NotPermitted { interface, message } => write!(
                f,
                "{interface}: not permitted to capture ({message}): run as root, or give the \
                 binary the capabilities once with `setcap cap_net_raw,cap_net_admin=eip PATH-TO-connlens`"
            ),
            LiveError::NoSuchInterface { interface, available } => write!(
                f,
                "{interface}: no such interface; there are: {}",
                if available.is_empty() {
                    "(none found)".to_string()
                } else {
                    available.join(", ")
                }
            ),
            LiveError::InterfaceDown { interface } => write!(
                f,
                "{interface}: the interface is down: bring it up with `ip link set {interface} up`, \
                 or pick another with -i"
            ),
            LiveError::BadFilter { filter, message } => {
                write!(f, "the filter `{filter}` does not compile: {message}")
            }
            LiveError::NoInterface => write!(
                f,
                "no interface to capture on was found: name one with -i (`ip link` lists them)"
            ),
            LiveError::Other { interface, message } => {
                write!(f, "{interface}: cannot capture: {message}")
            }
        }
    }
}

impl std::error::Error for LiveError {}

/// libpcap's message without the `pcap` crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The filter actually compiled for the user's `filter`.
///
/// The user names the traffic they care about (`host 10.1.2.3`, `tcp port 443`); the packets
/// that explain those flows would not match it: an ICMP error comes from a router and matches
/// no `port`, `icmp` does not include `icmp6`, and on VLAN-tagged frames an untagged filter
/// matches nothing (`vlan and (…)` is needed). So every ICMP and ICMPv6 packet, and tagged
/// frames matching the same, are kept as well; the tracker ignores errors that quote no
/// tracked flow. `vlan: false` leaves out the tagged part (cooked `-i any` captures cannot
/// express it).
pub fn widen_filter(filter: &str, vlan: bool) -> String {
    let inner = format!("({filter}) or icmp or icmp6");
    if vlan { format!("{inner} or (vlan and ({inner}))") } else { inner }
}

/// The outer packets of the tunnels connlens decodes, by what a BPF filter can see of them:
/// UDP to VXLAN's ports (4789, Linux's 8472), Geneve's (6081), GTP-U's (2152), Teredo's
/// (3544 either way); IP protocols 4 and 41 (IP in IP, 6in4, 4in6, 6in6) and 47 (GRE, which
/// carries ERSPAN too), over IPv4 and IPv6.
pub const TUNNEL_CARRIERS: &str = "udp dst port 4789 or udp dst port 8472 or udp dst port 6081 \
     or udp dst port 2152 or udp port 3544 or ip proto 4 or ip proto 41 or ip proto 47 \
     or ip6 proto 4 or ip6 proto 41 or ip6 proto 47";

/// The link-level carriers: MPLS (unicast and multicast) and PPPoE sessions, by Ethertype.
/// Not libpcap's `mpls` and `pppoes` keywords: each moves the offsets of everything after it
/// in the expression, so `mpls or tcp port 80` would look for port 80 behind a label.
pub const LINK_CARRIERS: &str = "ether proto 0x8847 or ether proto 0x8848 or ether proto 0x8864";

/// The carriers' part of a filter: IP-level always, link-level when `link_level`, inside
/// VLAN tags too when `vlan`.
pub fn carriers_filter(vlan: bool, link_level: bool) -> String {
    let inner = if link_level {
        format!("{TUNNEL_CARRIERS} or {LINK_CARRIERS}")
    } else {
        TUNNEL_CARRIERS.to_string()
    };
    if vlan { format!("{inner} or (vlan and ({inner}))") } else { inner }
}

/// The filter compiled into the kernel for the user's `filter`: [`widen_filter`]'s, and every
/// tunnel's outer packets ([`carriers_filter`]) whatever they carry. A kernel filter cannot
/// look inside a tunnel (`host 10.0.0.5` or `tcp port 80` never match a VXLAN datagram), so
/// connlens lets the tunnels through and applies the user's expression to the packet inside
/// itself (see `bpf::ReadFilter`).
///
/// The VLAN part comes last, once: libpcap's `vlan` keyword moves the offsets of everything
/// after it in the expression, so `… or (vlan and (…)) or udp dst port 4789` would look for
/// the VXLAN port behind a tag that untagged frames do not have.
pub fn kernel_filter(filter: &str, vlan: bool, link_level: bool) -> String {
    let untagged =
        format!("{} or {}", widen_filter(filter, false), carriers_filter(false, link_level));
    if vlan { format!("{untagged} or (vlan and ({untagged}))") } else { untagged }
}

/// Names of the interfaces libpcap can capture on.
pub fn interface_names() -> Vec<String> {
    Device::list().map(|l| l.into_iter().map(|d| d.name).collect()).unwrap_or_default()
}

/// The interface tcpdump would pick: the first up, non-loopback one libpcap lists (libpcap
/// lists running interfaces first), never the `any` pseudo-interface.
pub fn default_interface() -> Result<String, LiveError> {
    let list = Device::list().map_err(|e| LiveError::Other {
        interface: "(listing interfaces)".into(),
        message: pcap_message(&e),
    })?;
    list.iter()
        .find(|d| d.flags.is_up() && !d.flags.is_loopback() && d.name != "any")
        .map(|d| d.name.clone())
        .ok_or(LiveError::NoInterface)
}

/// Counters libpcap keeps for the capture (`pcap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel passed the filter (Linux: received by the socket).
    pub received: u64,
    /// Packets dropped because the kernel buffer was full (the capture thread did not keep up).
    pub dropped: u64,
    /// Packets dropped by the interface or its driver, where the OS reports it.
    pub if_dropped: u64,
}

/// What one read gave.
pub enum LiveRead<'a> {
    /// A frame.
    Frame(Frame<'a>),
    /// The read timeout passed without a packet.
    Timeout,
    /// The capture failed (e.g. the interface went away); the message is libpcap's.
    Error(String),
}

/// An open live capture.
pub struct LiveCapture {
    cap: Capture<Active>,
    interface: String,
    link: LinkType,
    filter: Option<String>,
    /// The user's filter expression, which connlens applies itself to what tunnels carry.
    user_filter: Option<String>,
    snaplen: u32,
    number: u64,
}

impl LiveCapture {
    /// Opens the interface and applies the widened filter. Checks, in order, what a user is most
    /// likely to have wrong: the interface's name, its state, the permission, the filter.
    pub fn open(config: &LiveConfig) -> Result<LiveCapture, LiveError> {
        let interface = match &config.interface {
            Some(name) => name.clone(),
            None => default_interface()?,
        };
        if let Ok(list) = Device::list() {
            match list.iter().find(|d| d.name == interface) {
                None if interface != "any" => {
                    return Err(LiveError::NoSuchInterface {
                        interface,
                        available: list.into_iter().map(|d| d.name).collect(),
                    });
                }
                Some(d) if !d.flags.is_up() => return Err(LiveError::InterfaceDown { interface }),
                _ => {}
            }
        }
        let snaplen = i32::try_from(config.snaplen).unwrap_or(i32::MAX);
        let buffer = i32::try_from(config.buffer_size).unwrap_or(i32::MAX);
        let other = |e: pcap::Error| classify(&interface, &e);
        let cap = Capture::from_device(interface.as_str())
            .map_err(other)?
            .immediate_mode(true)
            .snaplen(snaplen)
            .buffer_size(buffer)
            .timeout(READ_TIMEOUT_MS)
            .open()
            .map_err(other)?
            .setnonblock()
            .map_err(other)?;
        let link = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
        let mut live = LiveCapture {
            cap,
            interface,
            link,
            filter: None,
            user_filter: None,
            snaplen: config.snaplen,
            number: 0,
        };
        if let Some(f) = config.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            live.apply_filter(f)?;
        }
        Ok(live)
    }

    /// Compiles the user's filter alone first, so that a mistake is reported against what the
    /// user typed; then the widened one, with the VLAN part when the link type supports it.
    fn apply_filter(&mut self, user: &str) -> Result<(), LiveError> {
        let bad = |e: pcap::Error| LiveError::BadFilter {
            filter: user.to_string(),
            message: pcap_message(&e),
        };
        self.cap.compile(user, true).map_err(bad)?;
        // The widest the link type can express: VLAN tags (not on cooked `any` captures),
        // MPLS and PPPoE by Ethertype (not on raw IP).
        let chosen = [(true, true), (false, true), (true, false), (false, false)]
            .into_iter()
            .map(|(vlan, link_level)| kernel_filter(user, vlan, link_level))
            .find(|f| self.cap.compile(f, true).is_ok())
            .unwrap_or_else(|| widen_filter(user, false));
        self.cap.filter(&chosen, true).map_err(bad)?;
        self.filter = Some(chosen);
        self.user_filter = Some(user.to_string());
        Ok(())
    }

    /// The interface captured on.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The link type of the frames.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// The user's filter as typed, if any: the capture thread applies it to the frames the
    /// kernel's passed (`bpf::ReadFilter`), to the packet inside a tunnel's.
    pub fn user_filter(&self) -> Option<&str> {
        self.user_filter.as_deref()
    }

    /// The filter compiled into the kernel (the widened one), if any.
    pub fn applied_filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The snap length asked for.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The next frame, or a timeout after at most [`READ_TIMEOUT_MS`]. Frames are numbered
    /// from 1 in capture order, as a file written from this capture numbers them.
    pub fn next_frame(&mut self) -> LiveRead<'_> {
        if !self.ready() {
            return LiveRead::Timeout;
        }
        match self.cap.next_packet() {
            Ok(p) => {
                self.number += 1;
                let ts = Timestamp::from_secs_nanos(
                    p.header.ts.tv_sec,
                    u32::try_from(p.header.ts.tv_usec).unwrap_or(0).min(999_999) * 1000,
                );
                LiveRead::Frame(Frame {
                    ts,
                    link: self.link,
                    orig_len: p.header.len,
                    data: p.data,
                    origin: Origin { file: 0, number: self.number, offset: 0 },
                })
            }
            Err(pcap::Error::TimeoutExpired) => LiveRead::Timeout,
            Err(e) => LiveRead::Error(format!("{}: {}", self.interface, pcap_message(&e))),
        }
    }

    /// Whether a packet can be read now, waiting up to [`READ_TIMEOUT_MS`] for one. The ring
    /// buffer libpcap reads from shows as readable while it holds anything not yet read, so
    /// nothing already captured waits here. Errors count as ready: the read then reports them.
    fn ready(&mut self) -> bool {
        let mut fds = [PollFd::new(&self.cap, PollFlags::IN)];
        let timeout = Timespec { tv_sec: 0, tv_nsec: i64::from(READ_TIMEOUT_MS) * 1_000_000 };
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e == rustix::io::Errno::INTR,
        }
    }

    /// libpcap's counters so far (`None` when the platform gives none).
    pub fn stats(&mut self) -> Option<KernelStats> {
        self.cap.stats().ok().map(|s| KernelStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }
}

/// Sorts libpcap's open errors into the ones a user can act on. libpcap reports them as text
/// only (the crate drops `pcap_activate`'s status code), so this matches its wording.
fn classify(interface: &str, e: &pcap::Error) -> LiveError {
    let message = pcap_message(e);
    let lower = message.to_ascii_lowercase();
    let interface = interface.to_string();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::NotPermitted { interface, message }
    } else if lower.contains("no such device") {
        LiveError::NoSuchInterface { interface, available: interface_names() }
    } else if lower.contains("not up") {
        LiveError::InterfaceDown { interface }
    } else {
        LiveError::Other { interface, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widened_filter_keeps_icmp_and_tagged_frames() {
        assert_eq!(
            widen_filter("tcp port 80", true),
            "(tcp port 80) or icmp or icmp6 or (vlan and ((tcp port 80) or icmp or icmp6))"
        );
        assert_eq!(widen_filter("host 10.1.2.3", false), "(host 10.1.2.3) or icmp or icmp6");
    }

    /// libpcap must accept the widened filter for Ethernet, and for cooked captures without the
    /// VLAN part (a dead capture compiles without privileges).
    #[test]
    fn libpcap_compiles_the_widened_filters() {
        let eth = Capture::dead(pcap::Linktype(1)).unwrap();
        assert!(eth.compile(&widen_filter("host 10.1.2.3 and tcp port 443", true), true).is_ok());
        let sll = Capture::dead(pcap::Linktype(113)).unwrap();
        assert!(sll.compile(&widen_filter("tcp port 443", false), true).is_ok());
        assert!(sll.compile(&widen_filter("tcp port 443", true), true).is_err());
        assert!(eth.compile(&widen_filter("tcp port", true), true).is_err());
    }

    /// The kernel filter lets every tunnel's outer packets through, as far as each link type
    /// can say it: MPLS and PPPoE by Ethertype where there is one, VLAN tags where they can be.
    #[test]
    fn the_kernel_filter_lets_tunnels_through_on_every_link_type() {
        let f = kernel_filter("tcp port 80", true, true);
        assert!(f.starts_with("(tcp port 80) or icmp or icmp6 or udp dst port 4789"), "{f}");
        // One VLAN part, last: `vlan` moves the offsets of whatever follows it.
        assert_eq!(f.matches("vlan and").count(), 1, "{f}");
        assert!(f.ends_with("0x8864))"), "{f}");
        assert!(f.contains("udp dst port 4789") && f.contains("ip proto 47"), "{f}");
        assert!(f.contains("ether proto 0x8847") && !f.contains("mpls or"), "{f}");
        let eth = Capture::dead(pcap::Linktype(1)).unwrap();
        assert!(eth.compile(&kernel_filter("host 10.0.0.5", true, true), true).is_ok());
        let sll = Capture::dead(pcap::Linktype(113)).unwrap();
        assert!(sll.compile(&kernel_filter("tcp port 80", true, true), true).is_err());
        assert!(sll.compile(&kernel_filter("tcp port 80", false, true), true).is_ok());
        let raw = Capture::dead(pcap::Linktype(12)).unwrap();
        assert!(raw.compile(&kernel_filter("tcp port 80", false, false), true).is_ok());
    }

    #[test]
    fn error_lines_say_what_to_do() {
        let e = LiveError::NoSuchInterface {
            interface: "eht0".into(),
            available: vec!["eth0".into(), "lo".into()],
        };
        assert_eq!(e.to_string(), "eht0: no such interface; there are: eth0, lo");
        let e = LiveError::NotPermitted { interface: "eth0".into(), message: "x".into() };
        assert!(e.to_string().contains("setcap cap_net_raw,cap_net_admin=eip"));
        let e = LiveError::InterfaceDown { interface: "veth1".into() };
        assert!(e.to_string().contains("ip link set veth1 up"));
    }
}
