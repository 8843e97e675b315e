//! Protocols that never answer on the same 5-tuple: their datagrams are not requests, so no
//! reply is no failure. The built-in list is [`BUILT_IN`], one row per port with the
//! protocol's name and why it is one-way; `--one-way PORTS` edits it ([`OneWayPorts::apply`]).
//!
//! A UDP conversation is one-way when the destination port of its first datagram is in the
//! set (syslog to 514; VXLAN from a hashed source port to 4789; BFD from 49152–65535 to 3784),
//! or else its source port is (an SSDP or LLMNR answer to a multicast search, sent from 1900 or
//! 5355 to the searcher's port; a syslog relay sending from 514 to a collector's own port).

use std::fmt;

/// One protocol of the built-in list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneWayProtocol {
    /// Its UDP port.
    pub port: u16,
    /// Its name, as the evidence's `protocol` gives it.
    pub name: &'static str,
    /// Why it never answers on the same 5-tuple.
    pub why: &'static str,
}

const fn p(port: u16, name: &'static str, why: &'static str) -> OneWayProtocol {
    OneWayProtocol { port, name, why }
}

/// The built-in one-way protocols, by port.
pub const BUILT_IN: &[OneWayProtocol] = &[
    p(
        9,
        "discard",
        "RFC 863: the discard service throws every datagram away and sends nothing back.",
    ),
    p(
        69,
        "tftp",
        "RFC 1350 §4: the server answers a read or write request from a new port, so the request's own 5-tuple stays silent (the transfer is a conversation of its own).",
    ),
    p(138, "netbios-dgm", "RFC 1002 §4.4: NetBIOS datagrams are unacknowledged."),
    p(
        162,
        "snmp-trap",
        "RFC 3416 §4.2.6: a trap is unconfirmed (an inform's Response is still an answer).",
    ),
    p(514, "syslog", "RFC 5426: syslog over UDP has no acknowledgement."),
    p(
        1900,
        "ssdp",
        "UPnP Device Architecture: a device answers a search only when it matches it, from its own port; NOTIFYs are unsolicited.",
    ),
    p(
        2055,
        "netflow",
        "RFC 3954: NetFlow export is never acknowledged (2055: Cisco's default collector port).",
    ),
    p(
        2152,
        "gtp-u",
        "3GPP TS 29.281: GTP-U carries tunnelled user packets; each direction is its own stream.",
    ),
    p(
        3784,
        "bfd",
        "RFC 5881 §4: each system sends control packets from its own port in 49152-65535 to 3784, so each direction is its own 5-tuple.",
    ),
    p(
        3785,
        "bfd-echo",
        "RFC 5881 §4: the remote system forwards echo packets back to their sender; nothing comes from port 3785.",
    ),
    p(
        4341,
        "lisp-data",
        "RFC 9300 §5.3: LISP data-plane encapsulation; the source port is a hash of the inner flow.",
    ),
    p(4739, "ipfix", "RFC 7011 §10.3: IPFIX export over UDP is never acknowledged."),
    p(
        4754,
        "gre-in-udp",
        "RFC 8086 §3.2: tunnel encapsulation; the source port is a hash of the inner flow.",
    ),
    p(
        4784,
        "bfd-multihop",
        "RFC 5883 §5: multihop BFD control, one 5-tuple per direction as in RFC 5881.",
    ),
    p(
        4789,
        "vxlan",
        "RFC 7348 §5: tunnel encapsulation; the source port is a hash of the inner flow, so the way back is another 5-tuple.",
    ),
    p(
        4790,
        "vxlan-gpe",
        "IANA port of VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): encapsulated like VXLAN.",
    ),
    p(
        5353,
        "mdns",
        "RFC 6762 §6: a responder stays silent for names it does not own, and answers usually go to the multicast group.",
    ),
    p(
        5355,
        "llmnr",
        "RFC 4795 §2.1: only a name's owner answers, so silence is the usual 'not here'.",
    ),
    p(
        6081,
        "geneve",
        "RFC 8926 §3.3: tunnel encapsulation; the source port is a hash of the inner flow.",
    ),
    p(
        6343,
        "sflow",
        "sFlow version 5 (sflow.org): sampled datagrams to a collector, never acknowledged.",
    ),
    p(
        6635,
        "mpls-in-udp",
        "RFC 7510 §3: tunnel encapsulation; the source port is a hash of the inner flow.",
    ),
    p(
        6784,
        "bfd-lag",
        "RFC 7130 §2.2: BFD on each LAG member link, one 5-tuple per direction as in RFC 5881.",
    ),
    p(8472, "vxlan", "Linux's VXLAN default port (before IANA assigned 4789): as VXLAN."),
    p(9995, "netflow", "NetFlow export to a common collector port: never acknowledged (RFC 3954)."),
    p(9996, "netflow", "NetFlow export to a common collector port: never acknowledged (RFC 3954)."),
];

/// The name a port given with `--one-way` gets when the built-in list does not know it.
pub const LISTED: &str = "listed";

/// The name of the one-way protocol on `port`: the built-in one's, else [`LISTED`].
pub fn protocol_name(port: u16) -> &'static str {
    BUILT_IN.iter().find(|p| p.port == port).map_or(LISTED, |p| p.name)
}

/// A set of UDP ports: a bitset, so a lookup is one load and no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OneWayPorts {
    bits: [u64; 1024],
}

impl Default for OneWayPorts {
    /// The built-in list.
    fn default() -> Self {
        OneWayPorts::built_in()
    }
}

impl OneWayPorts {
    /// No port.
    pub const fn none() -> Self {
        OneWayPorts { bits: [0; 1024] }
    }

    /// The ports of [`BUILT_IN`].
    pub const fn built_in() -> Self {
        let mut s = OneWayPorts::none();
        let mut i = 0;
        while i < BUILT_IN.len() {
            let port = BUILT_IN[i].port as usize;
            s.bits[port / 64] |= 1 << (port % 64);
            i += 1;
        }
        s
    }

    /// Whether `port` is in the set.
    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        let port = usize::from(port);
        self.bits[port / 64] & (1 << (port % 64)) != 0
    }

    fn set(&mut self, lo: u16, hi: u16, on: bool) {
        for port in usize::from(lo)..=usize::from(hi) {
            if on {
                self.bits[port / 64] |= 1 << (port % 64);
            } else {
                self.bits[port / 64] &= !(1 << (port % 64));
            }
        }
    }

    /// Applies a `--one-way` value, item by item, left to right: `PORT` or `LO-HI` adds,
    /// `-PORT` or `-LO-HI` removes, `none` empties the set (so `none,514` is syslog alone).
    /// Items are separated by commas. Nothing changes when an item is wrong.
    pub fn apply(&mut self, spec: &str) -> Result<(), String> {
        let edits = parse(spec)?;
        for e in edits {
            match e {
                Edit::Clear => *self = OneWayPorts::none(),
                Edit::Add(lo, hi) => self.set(lo, hi, true),
                Edit::Remove(lo, hi) => self.set(lo, hi, false),
            }
        }
        Ok(())
    }

    /// The ports in the set, as inclusive ranges in ascending order.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for port in 0..=u16::MAX {
            if !self.contains(port) {
                continue;
            }
            match out.last_mut() {
                Some((_, hi)) if u32::from(*hi) + 1 == u32::from(port) => *hi = port,
                _ => out.push((port, port)),
            }
        }
        out
    }
}

impl fmt::Debug for OneWayPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .ranges()
            .into_iter()
            .map(|(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
            .collect();
        write!(f, "OneWayPorts[{}]", items.join(","))
    }
}

/// One item of a `--one-way` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edit {
    Clear,
    Add(u16, u16),
    Remove(u16, u16),
}

fn parse(spec: &str) -> Result<Vec<Edit>, String> {
    let what = "give ports (514), ranges (6000-6010), removals of built-in ports (-514) or \
                `none`, separated by commas";
    let port = |s: &str, item: &str| -> Result<u16, String> {
        match s.parse::<u16>() {
            Ok(0) => Err(format!("`{item}`: port 0 is not a port")),
            Ok(p) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                Err(format!("`{item}`: a port is at most 65535"))
            }
            _ => Err(format!("`{item}` is not a port: {what}")),
        }
    };
    let mut edits = Vec::new();
    for raw in spec.split(',') {
        let item = raw.trim();
        if item.is_empty() {
            return Err(format!("an empty item in `{spec}`: {what}"));
        }
        if item.eq_ignore_ascii_case("none") {
            edits.push(Edit::Clear);
            continue;
        }
        let (remove, rest) = match item.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, item),
        };
        let (lo, hi) = match rest.split_once('-') {
            Some((a, b)) => (port(a, item)?, port(b, item)?),
            None => {
                let p = port(rest, item)?;
                (p, p)
            }
        };
        if lo > hi {
            return Err(format!("`{item}`: the range's first port is above its last"));
        }
        edits.push(if remove { Edit::Remove(lo, hi) } else { Edit::Add(lo, hi) });
    }
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_list_is_sorted_unique_and_documented() {
        for w in BUILT_IN.windows(2) {
            assert!(w[0].port < w[1].port, "{w:?}");
        }
        for p in BUILT_IN {
            assert!(OneWayPorts::built_in().contains(p.port));
            assert!(p.why.ends_with('.') && !p.name.is_empty(), "{p:?}");
            assert!(
                p.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
        }
        assert_eq!(
            OneWayPorts::built_in().ranges().iter().map(|r| r.1 - r.0 + 1).sum::<u16>() as usize,
            BUILT_IN.len()
        );
        assert!(!OneWayPorts::built_in().contains(53));
        assert!(!OneWayPorts::built_in().contains(137), "NetBIOS names are request/response");
        assert_eq!(protocol_name(514), "syslog");
        // The README's table lists exactly these ports and names.
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let section = readme.split("\n### One-way protocols").nth(1).expect("README section");
        let rows: Vec<(u16, &str)> = section
            .lines()
            .skip_while(|l| !l.starts_with("| port |"))
            .skip(2)
            .take_while(|l| l.starts_with("| "))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split(" | ").collect();
                Some((cells[0].trim_start_matches("| ").parse().ok()?, cells[1].trim_matches('`')))
            })
            .collect();
        let want: Vec<(u16, &str)> = BUILT_IN.iter().map(|p| (p.port, p.name)).collect();
        assert_eq!(rows, want);
        assert_eq!(protocol_name(5140), LISTED);
    }
}
