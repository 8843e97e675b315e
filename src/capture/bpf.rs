//! The read filter (`analyze --filter EXPR`, `report --filter EXPR`, and `live`'s filter once
//! the kernel's has passed a frame): a BPF filter in tcpdump's syntax, compiled by libpcap for
//! each link type the inputs have and run on every frame read, as `tcpdump -r FILE EXPR` does.
//! It is widened as `live` widens its filter ([`widen_filter`]), so the ICMP errors and tagged
//! frames that explain the chosen flows stay.
//!
//! BPF sees a tunnel's outer headers only: `tcp port 80` never matches a VXLAN datagram that
//! carries port 80. So a frame the expression does not match is given a second chance when it
//! is a tunnel's outer packet ([`carriers_filter`]): the expression, compiled a second time for
//! raw IP, is run on the packet inside (found by the decoder's own walk, nothing allocated),
//! and the frame is kept when that matches. A frame is kept when its outer packet or the
//! packet its tunnel carries matches.
//!
//! Also the names libpcap gives link types (`link-type PPP (PPP)`, as tcpdump prints them).

use std::fmt;

use pcap::{BpfProgram, Capture, Linktype};

use super::LinkType;
use super::live::{carriers_filter, widen_filter};

/// The DLT_ value libpcap's compiler and name tables take for a LINKTYPE_ number: the two
/// registries differ only for raw IP (LINKTYPE_RAW 101 is DLT_RAW 12 on most systems).
fn dlt(link: LinkType) -> i32 {
    match link {
        LinkType::RAW | LinkType::RAW_BSD14 => 12,
        LinkType(n) => i32::try_from(n).unwrap_or(-1),
    }
}

/// The link type as tcpdump names it when it reads a file: `PPP (PPP)`, `EN10MB (Ethernet)`,
/// or the number when libpcap knows no name (`147`).
pub fn link_type_name(link: LinkType) -> String {
    let l = Linktype(dlt(link));
    match (l.get_name(), l.get_description()) {
        (Ok(name), Ok(description)) => format!("{name} ({description})"),
        (Ok(name), Err(_)) => name,
        _ => link.0.to_string(),
    }
}

/// A filter expression that libpcap does not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// What the user typed.
    pub filter: String,
    /// The link type it was compiled for.
    pub link: LinkType,
    /// libpcap's message.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the filter `{}` does not compile for link-type {}: {}",
            self.filter,
            link_type_name(self.link),
            self.message
        )
    }
}

impl std::error::Error for FilterError {}

fn compile(link: LinkType, expr: &str) -> Result<BpfProgram, String> {
    let dead = Capture::dead(Linktype(dlt(link))).map_err(|e| e.to_string())?;
    dead.compile(expr, true).map_err(|e| match e {
        pcap::Error::PcapError(m) => m,
        other => other.to_string(),
    })
}

/// The compiled program for one link type: `None` when the filter cannot be compiled for it
/// (reported once, and its frames are then all left out); and the program that recognises
/// tunnels' outer packets on it.
struct Compiled {
    link: LinkType,
    program: Option<BpfProgram>,
    /// The user's expression alone (with its VLAN part): a frame the widened program kept
    /// but this one does not is an ICMP error, kept only if it quotes what the user named.
    own: Option<BpfProgram>,
    carriers: Option<BpfProgram>,
}

/// A read filter: the user's expression, and its program for each link type met so far.
pub struct ReadFilter {
    expr: String,
    programs: Vec<Compiled>,
    /// The expression (widened) for raw IP, run on what a tunnel carries; `None` when it does
    /// not compile for raw IP (`ether host …`: then only the outer frame is matched).
    inner: Option<BpfProgram>,
    /// The expression alone for raw IP, run on what a tunnel carries and on what an ICMP
    /// error quotes.
    inner_own: Option<BpfProgram>,
    /// Tunnels' outer packets, for raw IP: an error quoting one is about a tunnel.
    raw_carriers: Option<BpfProgram>,
    /// Link types the filter could not be compiled for, each reported once.
    pub errors: Vec<FilterError>,
}

impl fmt::Debug for ReadFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFilter").field("expr", &self.expr).finish_non_exhaustive()
    }
}

impl ReadFilter {
    /// Checks `expr` by compiling it for Ethernet (a mistake is reported against what was
    /// typed, before anything is read). Link types are compiled for as their frames come.
    pub fn new(expr: &str) -> Result<ReadFilter, FilterError> {
        compile(LinkType::ETHERNET, expr).map_err(|message| FilterError {
            filter: expr.to_string(),
            link: LinkType::ETHERNET,
            message,
        })?;
        let inner = compile(LinkType::RAW, &widen_filter(expr, false)).ok();
        let inner_own = compile(LinkType::RAW, expr).ok();
        let raw_carriers = compile(LinkType::RAW, &carriers_filter(false, false)).ok();
        Ok(ReadFilter {
            expr: expr.to_string(),
            programs: Vec::new(),
            inner,
            inner_own,
            raw_carriers,
            errors: Vec::new(),
        })
    }

    /// The expression as typed.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The program for `link`, compiled the first time: the user's expression widened with the
    /// VLAN part where the link type can express it, else without it.
    fn programs(&mut self, link: LinkType) -> &Compiled {
        let at = match self.programs.iter().position(|c| c.link == link) {
            Some(at) => at,
            None => {
                let program = match compile(link, &self.expr) {
                    Err(message) => {
                        self.errors.push(FilterError { filter: self.expr.clone(), link, message });
                        None
                    }
                    Ok(_) => compile(link, &widen_filter(&self.expr, true))
                        .or_else(|_| compile(link, &widen_filter(&self.expr, false)))
                        .ok(),
                };
                let own = compile(link, &format!("({0}) or (vlan and ({0}))", self.expr))
                    .or_else(|_| compile(link, &self.expr))
                    .ok();
                let carriers = [(true, true), (false, true), (true, false), (false, false)]
                    .into_iter()
                    .find_map(|(vlan, link_level)| {
                        compile(link, &carriers_filter(vlan, link_level)).ok()
                    });
                self.programs.push(Compiled { link, program, own, carriers });
                self.programs.len() - 1
            }
        };
        &self.programs[at]
    }

    /// Whether a frame of `link` with these bytes passes the filter: its own packet matches
    /// the expression, or it is a tunnel's outer packet and the packet inside does, or it is
    /// an ICMP error (plain or in a tunnel) quoting a packet the expression matches — the
    /// widening lets ICMP errors through to explain the chosen conversations, not others.
    pub fn keep(&mut self, link: LinkType, data: &[u8]) -> bool {
        let compiled = self.programs(link);
        let Some(program) = &compiled.program else { return false };
        if program.filter(data) {
            if compiled.own.as_ref().is_none_or(|own| own.filter(data)) {
                return true;
            }
            return self.quote_matches(link, data);
        }
        if !compiled.carriers.as_ref().is_some_and(|c| c.filter(data)) {
            return false;
        }
        let Some(inner) = &self.inner else { return false };
        let Some(ip) = crate::decode::inner_ip_packet(link, data) else { return false };
        if !inner.filter(ip) {
            return false;
        }
        self.inner_own.as_ref().is_none_or(|own| own.filter(ip)) || self.quote_matches(link, data)
    }

    /// Whether the frame is an ICMP error whose quote the expression matches (a quote the
    /// expression cannot be run on, as with `ether host …`, is kept: nothing says otherwise).
    /// An error about a tunnel quotes the outer packet: the conversation inside the quote is
    /// matched, and a quote cut before it (which names the tunnel only) is kept, since it may
    /// be about the chosen conversations.
    fn quote_matches(&self, link: LinkType, data: &[u8]) -> bool {
        let Some(own) = &self.inner_own else { return true };
        let Some(quote) = crate::decode::icmp_error_quote(link, data) else { return false };
        if own.filter(quote) {
            return true;
        }
        match crate::decode::inner_ip_packet(LinkType::RAW, quote) {
            Some(inner) => own.filter(inner),
            None => self.raw_carriers.as_ref().is_some_and(|c| c.filter(quote)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_types_are_named_as_tcpdump_names_them() {
        assert_eq!(link_type_name(LinkType(9)), "PPP (PPP)");
        assert_eq!(link_type_name(LinkType::ETHERNET), "EN10MB (Ethernet)");
        assert_eq!(link_type_name(LinkType::RAW), "RAW (Raw IP)");
        assert_eq!(link_type_name(LinkType(65000)), "65000");
    }

    #[test]
    fn a_mistake_is_reported_against_what_was_typed() {
        let e = ReadFilter::new("tcp port").unwrap_err();
        assert_eq!(e.filter, "tcp port");
        assert!(e.to_string().starts_with("the filter `tcp port` does not compile"), "{e}");
    }

    #[test]
    fn frames_are_kept_by_the_widened_filter() {
        // Ethernet + IPv4 header + 4 bytes of ports, protocol as given.
        let frame = |proto: u8, dport: u16| {
            let mut f = vec![0u8; 14];
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&28u16.to_be_bytes());
            ip[8] = 64;
            ip[9] = proto;
            ip[12..16].copy_from_slice(&[192, 0, 2, 1]);
            ip[16..20].copy_from_slice(&[198, 51, 100, 7]);
            f.extend_from_slice(&ip);
            f.extend_from_slice(&40000u16.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&[0; 4]);
            f
        };
        let mut filter = ReadFilter::new("tcp port 443").unwrap();
        assert!(filter.keep(LinkType::ETHERNET, &frame(6, 443)));
        assert!(!filter.keep(LinkType::ETHERNET, &frame(6, 80)));
        assert!(!filter.keep(LinkType::ETHERNET, &frame(17, 443)));
        // An ICMP error is kept when it quotes what the expression names: it explains a chosen
        // conversation. One about another conversation is not.
        let error = |dport: u16| {
            use crate::synth::frame::{self, Icmp, Ip, Link, Tcp};
            let ip = Ip::new([192, 0, 2, 1], [198, 51, 100, 7]);
            let syn = frame::tcp(&ip, &Tcp::new(40000, dport).flags(2), b"");
            let err = frame::icmp_error(&ip.reversed(), Icmp::PORT_UNREACHABLE, &syn);
            frame::frame(Link::Ethernet, &err)
        };
        assert!(filter.keep(LinkType::ETHERNET, &error(443)), "it explains a chosen flow");
        assert!(!filter.keep(LinkType::ETHERNET, &error(80)), "it is about another flow");
        assert!(!filter.keep(LinkType::ETHERNET, &frame(1, 0)), "no error: an echo reply");
        assert!(ReadFilter::new("icmp").unwrap().keep(LinkType::ETHERNET, &frame(1, 0)));
        // Raw IP: the same packet without the Ethernet header.
        assert!(filter.keep(LinkType::RAW, &frame(6, 443)[14..]));
        assert!(!filter.keep(LinkType::RAW, &frame(6, 80)[14..]));
        // A filter that cannot be compiled for a link type leaves its frames out, said once.
        let mut ether = ReadFilter::new("ether host 02:00:00:00:00:01").unwrap();
        assert!(!ether.keep(LinkType::RAW, &frame(6, 443)[14..]));
        assert!(!ether.keep(LinkType::RAW, &frame(6, 443)[14..]));
        assert_eq!(ether.errors.len(), 1);
    }

    /// A tunnel's frame is kept when the packet it carries matches (BPF alone sees only the
    /// outer headers), or when its outer packet does.
    #[test]
    fn tunnels_are_filtered_by_what_they_carry() {
        use crate::synth::frame::{self, Encap, Icmp, Ip, Link, Tcp, Tunnel};
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let inner = Ip::new([10, 0, 0, 10], [10, 0, 1, 20]);
        let syn = |port| frame::tcp(&inner, &Tcp::new(40000, port).flags(2), b"");
        let tunnels = [
            Encap::Vxlan { vni: 42 },
            Encap::Geneve { vni: 7, options: 1 },
            Encap::Gre { checksum: true, key: Some(5), seq: None, ethernet: false },
            Encap::IpIp,
            Encap::GtpU { teid: 1, back: 2, extension: true },
            Encap::Mpls { labels: [16, 17], back: [18, 19], pseudowire: false },
            Encap::Pppoe { session: 9 },
        ];
        let mut port80 = ReadFilter::new("tcp port 80").unwrap();
        let mut host = ReadFilter::new("host 10.0.1.20").unwrap();
        let mut vtep = ReadFilter::new("host 192.0.2.1").unwrap();
        for encap in tunnels {
            let link = Link::Tunnel(Tunnel { encap, outer: (a, b), inner_vlan: None });
            let f80 = frame::frame(link, &syn(80));
            let f22 = frame::frame(link, &syn(22));
            assert!(port80.keep(LinkType::ETHERNET, &f80), "{encap:?}");
            assert!(!port80.keep(LinkType::ETHERNET, &f22), "{encap:?}");
            assert!(host.keep(LinkType::ETHERNET, &f22), "{encap:?}");
            let outer_named = !matches!(encap, Encap::Mpls { .. } | Encap::Pppoe { .. });
            assert_eq!(vtep.keep(LinkType::ETHERNET, &f22), outer_named, "{encap:?}");
        }
        // ICMP errors: inside a tunnel, kept when they quote a chosen conversation; about a
        // tunnel (quoting its outer packet), kept when the conversation inside the quote is
        // chosen, or when the quote is cut before it (it names the tunnel only).
        let vxlan = Link::Tunnel(Tunnel {
            encap: Encap::Vxlan { vni: 42 },
            outer: (a, b),
            inner_vlan: None,
        });
        let back = Ip::new(b, a);
        for (port, kept) in [(80, true), (22, false)] {
            let inside = frame::icmp_error(&inner.reversed(), Icmp::PORT_UNREACHABLE, &syn(port));
            assert_eq!(port80.keep(LinkType::ETHERNET, &frame::frame(vxlan, &inside)), kept);
            let outer = frame::frame(vxlan, &syn(port))[14..].to_vec();
            let about = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, &outer);
            assert_eq!(
                port80.keep(LinkType::ETHERNET, &frame::frame(Link::Ethernet, &about)),
                kept
            );
            let cut = frame::icmp_error(&back, Icmp::HOST_UNREACHABLE, &outer[..28]);
            assert!(port80.keep(LinkType::ETHERNET, &frame::frame(Link::Ethernet, &cut)));
        }
        // A datagram to 4789 that is no VXLAN carries nothing to match.
        let junk = frame::frame(Link::Ethernet, &frame::udp(&Ip::new(a, b), 1, 4789, &[0; 40]));
        assert!(!port80.keep(LinkType::ETHERNET, &junk));
        // An expression raw IP cannot express matches outer frames only.
        let mut ether = ReadFilter::new("ether host 02:00:00:00:99:99").unwrap();
        let vxlan = Link::Tunnel(Tunnel {
            encap: Encap::Vxlan { vni: 1 },
            outer: (a, b),
            inner_vlan: None,
        });
        assert!(!ether.keep(LinkType::ETHERNET, &frame::frame(vxlan, &syn(80))));
    }
}
