//! Flow identity: the bidirectional 5-tuple (plus VLAN and tunnel) that names a conversation.

use std::fmt;
use std::net::IpAddr;

use crate::decode::Proto;

/// One side of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub ip: IpAddr,
    /// TCP/UDP port.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from address and port.
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port }
    }
}

/// `10.0.0.1:80`, `[2001:db8::1]:443`.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{}:{}", a, self.port),
            IpAddr::V6(a) => write!(f, "[{}]:{}", a, self.port),
        }
    }
}

/// The direction-free key of a conversation: both packets of an exchange map to the same key,
/// so one table lookup finds the flow whichever side sent the packet.
///
/// Compact on purpose: it is built and hashed for every packet, so addresses are held as
/// 128-bit numbers (IPv4 mapped into IPv6) and compared and hashed as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    low: u128,
    high: u128,
    /// `low`'s port in the upper half, `high`'s in the lower.
    ports: u32,
    vlan: u32,
    /// The tunnel's identity ([`crate::decode::Tunnel::digest`]; 0 when not tunnelled): it
    /// fits where the padding was, so the key is no larger for it.
    tunnel: u32,
    proto: Proto,
}

/// An address as a 128-bit number; IPv4 is mapped (::ffff:a.b.c.d) so the families never mix.
fn addr_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => 0xffff_0000_0000 | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl FlowKey {
    /// The key for a packet from `src` to `dst`, with VLAN tags `vlan`, in the tunnel whose
    /// digest is `tunnel`.
    pub fn new(proto: Proto, vlan: u32, tunnel: u32, src: Endpoint, dst: Endpoint) -> Self {
        let (s, d) = (addr_bits(src.ip), addr_bits(dst.ip));
        if (s, src.port) <= (d, dst.port) {
            FlowKey {
                low: s,
                high: d,
                ports: u32::from(src.port) << 16 | u32::from(dst.port),
                vlan,
                tunnel,
                proto,
            }
        } else {
            FlowKey {
                low: d,
                high: s,
                ports: u32::from(dst.port) << 16 | u32::from(src.port),
                vlan,
                tunnel,
                proto,
            }
        }
    }

    /// The transport protocol.
    pub fn proto(&self) -> Proto {
        self.proto
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_give_one_key() {
        let a = Endpoint::new("10.0.0.1".parse().unwrap(), 40000);
        let b = Endpoint::new("10.0.0.2".parse().unwrap(), 80);
        assert_eq!(FlowKey::new(Proto::Tcp, 0, 0, a, b), FlowKey::new(Proto::Tcp, 0, 0, b, a));
        assert_ne!(FlowKey::new(Proto::Tcp, 0, 0, a, b), FlowKey::new(Proto::Udp, 0, 0, a, b));
        assert_ne!(FlowKey::new(Proto::Tcp, 0, 0, a, b), FlowKey::new(Proto::Tcp, 7, 0, a, b));
        assert_ne!(FlowKey::new(Proto::Tcp, 0, 0, a, b), FlowKey::new(Proto::Tcp, 0, 9, a, b));
        assert_eq!(std::mem::size_of::<FlowKey>(), 48);
    }

    #[test]
    fn displays_v6_in_brackets() {
        let e = Endpoint::new("2001:db8::1".parse().unwrap(), 443);
        assert_eq!(e.to_string(), "[2001:db8::1]:443");
    }
}
