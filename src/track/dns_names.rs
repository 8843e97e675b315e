//! DNS names whose NXDOMAIN is how the protocol works, not a failed lookup: discovery probes
//! that software sends whether or not the thing they look for exists.

/// Why an NXDOMAIN for `name` (of query type `qtype`) is expected, if it is: the kind of
/// discovery lookup. Compared without regard to case (resolvers randomise it, RFC 5452 §9.2,
/// "0x20").
///
/// - `wpad`: Web Proxy Auto-Discovery; browsers and Windows ask `wpad.<domain>` for every
///   parent of their domain (draft-ietf-wrec-wpad-01) where most networks publish none.
/// - `isatap`: ISATAP router discovery (RFC 5214 §8.3.2), asked by Windows on every network.
/// - `dns-sd`: DNS-SD browsing-domain enumeration (`b`, `db`, `r`, `dr`, `lb` under
///   `_dns-sd._udp`, RFC 6763 §11), asked by every Apple and Avahi host.
/// - `service`: a service lookup (SRV, or any name whose first label is `_service`: RFC 2782,
///   RFC 6763 §7, `_ldap._tcp.dc._msdcs`, `_kerberos._udp`): NXDOMAIN answers "none here".
/// - `reverse`: an address-to-name lookup (`in-addr.arpa`, `ip6.arpa`); most addresses have
///   no PTR record, and the software asking (logging, sshd's UseDNS) goes on without one.
/// - `mdns-name`: a `.local` name asked of unicast DNS (RFC 6762 §3 reserves it for
///   multicast DNS; resolvers that try unicast first get NXDOMAIN by design).
/// - `canary`: names whose NXDOMAIN is the answer a client probes for: Firefox's DoH canary
///   `use-application-dns.net`, iCloud Private Relay's `mask.icloud.com` and
///   `mask-h2.icloud.com`.
pub(crate) fn discovery_lookup(name: &str, qtype: u16) -> Option<&'static str> {
    const SRV: u16 = 33;
    const PTR: u16 = 12;
    let name = name.trim_end_matches('.');
    let lower = name.to_ascii_lowercase();
    let first = lower.split('.').next().unwrap_or("");
    let under = |suffix: &str| {
        lower.strip_suffix(suffix).is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
    };
    if first == "wpad" {
        Some("wpad")
    } else if first == "isatap" {
        Some("isatap")
    } else if matches!(first, "b" | "db" | "r" | "dr" | "lb")
        && lower.split('.').nth(1) == Some("_dns-sd")
    {
        Some("dns-sd")
    } else if qtype == SRV || first.starts_with('_') {
        Some("service")
    } else if qtype == PTR || under("in-addr.arpa") || under("ip6.arpa") {
        Some("reverse")
    } else if under("local") {
        Some("mdns-name")
    } else if matches!(
        lower.as_str(),
        "use-application-dns.net" | "mask.icloud.com" | "mask-h2.icloud.com"
    ) {
        Some("canary")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_probes_are_named_and_ordinary_names_are_not() {
        for (name, qtype, kind) in [
            ("wpad.corp.example.com", 1, Some("wpad")),
            ("WPAD.example.com", 28, Some("wpad")),
            ("isatap.corp.example.com", 1, Some("isatap")),
            ("lb._dns-sd._udp.example.com", 12, Some("dns-sd")),
            ("b._dns-sd._udp.0.2.0.192.in-addr.arpa", 12, Some("dns-sd")),
            ("_ldap._tcp.dc._msdcs.corp.example.com", 33, Some("service")),
            ("_kerberos._udp.example.com", 33, Some("service")),
            ("ldap.example.com", 33, Some("service")),
            ("10.2.0.192.in-addr.arpa", 12, Some("reverse")),
            ("1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", 12, Some("reverse")),
            ("printer.local", 1, Some("mdns-name")),
            ("use-application-dns.net", 1, Some("canary")),
            ("mask.icloud.com", 65, Some("canary")),
            ("www.example.com", 1, None),
            ("wpadserver.example.com", 1, None),
            ("local.example.com", 1, None),
            ("example.local.com", 1, None),
            ("in-addr.arpa.example.com", 1, None),
            ("upload.wikimedia.org.ncsa.uiuc.edu", 28, None),
        ] {
            assert_eq!(discovery_lookup(name, qtype), kind, "{name}");
        }
    }
}
