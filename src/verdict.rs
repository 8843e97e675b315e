//! Verdicts: what happened to one connection attempt, the most likely cause, the evidence
//! (facts a person can check in Wireshark) and a one-line hint.

use std::fmt;

use serde_json::Value;

use crate::capture::Origin;
use crate::decode::Proto;
use crate::flow::Endpoint;
use crate::time::Timestamp;

/// What happened to an attempt. The words are the output contract (`verdict` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VerdictKind {
    /// TCP: the three-way handshake completed.
    Established,
    /// TCP: the SYN was answered by an RST that acknowledges it.
    Refused,
    /// An ICMP/ICMPv6 destination-unreachable error quoted the attempt.
    Unreachable,
    /// An ICMP/ICMPv6 time-exceeded error quoted the attempt.
    TimeExceeded,
    /// Nothing came back within the timeout.
    Unanswered,
    /// UDP: the server sent something back.
    Answered,
    /// TCP: the handshake completed, then the application turned the client away (closed or
    /// reset before answering, a TLS fatal alert, an HTTP 4xx/5xx).
    Rejected,
    /// Client and server speak different protocols (TLS to a plaintext port, or the reverse).
    Mismatch,
    /// A DNS query answered with an error, or not at all.
    DnsFailure,
    /// The capture holds only part of the attempt (began mid-flow, or packets are missing).
    Partial,
}

impl VerdictKind {
    /// Every kind, in a fixed order for summaries.
    pub const ALL: [VerdictKind; 10] = [
        VerdictKind::Established,
        VerdictKind::Answered,
        VerdictKind::Rejected,
        VerdictKind::Mismatch,
        VerdictKind::DnsFailure,
        VerdictKind::Refused,
        VerdictKind::Unreachable,
        VerdictKind::TimeExceeded,
        VerdictKind::Unanswered,
        VerdictKind::Partial,
    ];

    /// The contract word.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Established => "established",
            VerdictKind::Refused => "refused",
            VerdictKind::Unreachable => "unreachable",
            VerdictKind::TimeExceeded => "time-exceeded",
            VerdictKind::Unanswered => "unanswered",
            VerdictKind::Answered => "answered",
            VerdictKind::Rejected => "rejected",
            VerdictKind::Mismatch => "mismatch",
            VerdictKind::DnsFailure => "dns-failure",
            VerdictKind::Partial => "partial",
        }
    }

    /// Whether this outcome is a failure to connect (what summaries rank).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            VerdictKind::Refused
                | VerdictKind::Unreachable
                | VerdictKind::TimeExceeded
                | VerdictKind::Unanswered
                | VerdictKind::Rejected
                | VerdictKind::Mismatch
                | VerdictKind::DnsFailure
        )
    }
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on one connection attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Attempt number, in the order attempts were first seen (1-based).
    pub id: u64,
    /// First packet of the attempt.
    pub ts: Timestamp,
    /// Last packet of the attempt seen before the verdict.
    pub last_ts: Timestamp,
    /// Where the attempt's first packet is in the input.
    pub first_packet: Origin,
    /// Transport protocol.
    pub proto: Proto,
    /// VLAN tags (0 when untagged).
    pub vlan: u32,
    /// The side that opened the attempt.
    pub client: Endpoint,
    /// The side it tried to reach.
    pub server: Endpoint,
    /// What happened.
    pub kind: VerdictKind,
    /// The most likely reason, a kebab-case word documented in the README.
    pub cause: &'static str,
    /// The facts that led there.
    pub evidence: Evidence,
    /// What to check next.
    pub hint: String,
    /// The state Zeek's conn.log would give this conversation (`S0`, `REJ`, `SF`, …), for
    /// users who cross-check with Zeek.
    pub conn_state: &'static str,
}

/// Names an ICMPv4 destination-unreachable code (RFC 792, RFC 1122, RFC 1812).
pub fn icmp4_unreachable_cause(code: u8) -> &'static str {
    match code {
        0 => "net-unreachable",
        1 => "host-unreachable",
        2 => "protocol-unreachable",
        3 => "port-unreachable",
        4 => "fragmentation-needed",
        5 => "source-route-failed",
        6 => "net-unknown",
        7 => "host-unknown",
        8 => "source-host-isolated",
        9 => "net-prohibited",
        10 => "host-prohibited",
        11 => "net-unreachable-for-tos",
        12 => "host-unreachable-for-tos",
        13 => "admin-prohibited",
        14 => "host-precedence-violation",
        15 => "precedence-cutoff",
        _ => "unreachable-unknown-code",
    }
}

/// Names an ICMPv6 destination-unreachable code (RFC 4443).
pub fn icmp6_unreachable_cause(code: u8) -> &'static str {
    match code {
        0 => "no-route",
        1 => "admin-prohibited",
        2 => "beyond-scope",
        3 => "address-unreachable",
        4 => "port-unreachable",
        5 => "source-policy-failed",
        6 => "reject-route",
        7 => "source-routing-header-error",
        _ => "unreachable-unknown-code",
    }
}

/// The one-line hint for a verdict's cause, naming the hosts involved.
pub fn hint_for(kind: VerdictKind, cause: &str, client: Endpoint, server: Endpoint) -> String {
    let host = server.ip;
    let port = server.port;
    match (kind, cause) {
        (VerdictKind::Refused, "host-reset") => format!(
            "nothing listens on {server}, or a firewall on {host} rejects with tcp-reset: check `ss -ltn` and the firewall rules on {host}"
        ),
        (VerdictKind::Refused, "path-reset") => format!(
            "the RST did not come from {host} itself (TTL differs from its own packets): check firewalls, load balancers or IPS between {} and {host}",
            client.ip
        ),
        (VerdictKind::Refused, _) => format!(
            "{host} (or something on the path) reset the attempt: check that a service listens on port {port} (`ss -ltn` on {host}) and the firewall rules"
        ),
        (VerdictKind::Unreachable, "port-unreachable") => format!(
            "nothing listens on UDP/TCP port {port} on {host}, or a firewall rejects it: check `ss -lun`/`ss -ltn` and the firewall on {host}"
        ),
        (VerdictKind::Unreachable, "admin-prohibited" | "net-prohibited" | "host-prohibited") => {
            format!("a firewall rule rejects traffic to {server}: check the firewall of the host that sent the ICMP error")
        }
        (VerdictKind::Unreachable, "host-unreachable" | "address-unreachable") => format!(
            "{host} did not answer ARP/neighbour discovery on the last router's network: check that it is up and its address"
        ),
        (VerdictKind::Unreachable, "net-unreachable" | "no-route" | "reject-route") => {
            format!("a router has no route to {host}: check routing tables on the path (`ip route get {host}`)")
        }
        (VerdictKind::Unreachable, _) => {
            format!("an ICMP error reported {server} unreachable: check the reporting router or host")
        }
        (VerdictKind::TimeExceeded, _) => format!(
            "the packet's TTL ran out on the way to {host}: look for a routing loop (`traceroute {host}`) or a too-small initial TTL"
        ),
        (VerdictKind::Unanswered, "capture-ended") => format!(
            "the capture ended before the timeout: re-capture longer to tell a drop from a slow answer from {server}"
        ),
        (VerdictKind::Unanswered, "filtered") => format!(
            "{host} answers other traffic but not port {port}: a firewall drops it (check DROP rules on the path and on {host})"
        ),
        (VerdictKind::Unanswered, "host-down") => format!(
            "nobody answered ARP for {host} on its LAN: the host is down, absent, or has another address"
        ),
        (VerdictKind::Unanswered, _) => format!(
            "no answer from {server}: check for a filtering firewall (DROP) on the path or on {host}, and that {host} is up"
        ),
        (VerdictKind::Rejected, "tls-alert") => format!(
            "the TLS server {server} refused the handshake (see tls_alert): check protocol versions, ciphers, SNI and certificates (`openssl s_client -connect {server}`)"
        ),
        (VerdictKind::Rejected, "http-auth-required") => {
            format!("{server} asks for authentication: check the client's credentials")
        }
        (VerdictKind::Rejected, "http-forbidden") => {
            format!("{server} forbids this request: check access rules for {} on the server", client.ip)
        }
        (VerdictKind::Rejected, "http-overloaded") => {
            format!("{server} is overloaded or rate-limiting (429/503): check the service's capacity and logs")
        }
        (VerdictKind::Rejected, "http-client-error" | "http-server-error") => {
            format!("{server} answered with an HTTP error (see http_status): check the service's log on {host}")
        }
        (VerdictKind::Rejected, _) => format!(
            "{server} accepted the connection, then closed it without answering: check the service's log and access rules (tcpwrappers, allow-lists, connection limits) on {host}"
        ),
        (VerdictKind::Mismatch, "tls-to-plaintext") => format!(
            "the client spoke TLS but {server} answered in plaintext: use http:// (or the plaintext protocol), or the service's TLS port"
        ),
        (VerdictKind::Mismatch, "plaintext-to-tls") => format!(
            "the client spoke plaintext but {server} expects TLS: use https:// (or enable TLS in the client)"
        ),
        (VerdictKind::Mismatch, _) => format!(
            "{server} closed the connection on the client's TLS hello without a TLS answer: it likely speaks plaintext on port {port}, or it refused the hello"
        ),
        (VerdictKind::DnsFailure, "nxdomain") => {
            format!("the name does not exist according to {host}: check the spelling and the zone (`dig @{host} NAME`)")
        }
        (VerdictKind::DnsFailure, "servfail") => format!(
            "{host} could not resolve the name (SERVFAIL): check its upstream servers and DNSSEC (`dig @{host} NAME +dnssec`)"
        ),
        (VerdictKind::DnsFailure, "refused") => format!(
            "{host} refuses to answer {}: check its allow-recursion / ACL settings",
            client.ip
        ),
        (VerdictKind::DnsFailure, "no-response" | "capture-ended") => format!(
            "the DNS server {server} did not answer: check that it runs and that port {port} is reachable (`dig @{host} NAME`)"
        ),
        (VerdictKind::DnsFailure, _) => {
            format!("the DNS server {host} answered with an error (see dns_rcode): check its log")
        }
        (VerdictKind::Established, "reset-by-server") => {
            format!("the server reset the connection: check the service's log on {host}")
        }
        (VerdictKind::Established, "reset-by-client") => {
            format!("the client {} reset the connection: check the client application", client.ip)
        }
        (VerdictKind::Established, "slow-accept") => format!(
            "{server} answered only after SYN retransmissions: its SYN backlog or accept queue may be full (`ss -ltn` Recv-Q on {host}, `nstat -az TcpExtListenOverflows`)"
        ),
        (VerdictKind::Established, "syn-ack-retransmitted") => format!(
            "{server} resent its SYN-ACK after the client's ACK: its accept queue is likely full (`nstat -az TcpExtListenOverflows` on {host})"
        ),
        (VerdictKind::Established, "zero-window") => {
            format!("{server} advertised a zero window: the application on {host} is not reading fast enough")
        }
        (VerdictKind::Established, _) => "connection established".to_string(),
        (VerdictKind::Answered, _) => "the server answered".to_string(),
        (VerdictKind::Partial, "midstream") => {
            "the capture began after the handshake: capture from before the connection starts".to_string()
        }
        (VerdictKind::Partial, _) => {
            "packets of the handshake are missing from the capture: check for capture drops or asymmetric routing".to_string()
        }
    }
}

/// The facts behind a verdict: named values in the order they were added (the JSON output
/// keeps that order). Keys are static words, so building it costs no key allocations — it is
/// built once per attempt, which in a flood is often.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence(Vec<(&'static str, Value)>);

impl Evidence {
    /// An empty set of facts.
    pub fn new() -> Self {
        Evidence(Vec::with_capacity(24))
    }

    /// Sets `key` (replacing an earlier value).
    pub fn insert(&mut self, key: &'static str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The facts in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// `evidence["key"]`, `Value::Null` when absent (as `serde_json::Value` indexing does).
impl std::ops::Index<&str> for Evidence {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
