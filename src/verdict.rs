//! Verdicts: what happened to one connection attempt, the most likely cause, the evidence
//! (facts a person can check in Wireshark) and a one-line hint.

use std::fmt;
use std::net::IpAddr;

use serde_json::Value;

use crate::capture::Origin;
use crate::decode::Proto;
use crate::flow::Endpoint;
use crate::json;
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
    pub hint: Hint,
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
    Hint::new(kind, cause, client, server).to_string()
}

/// The parts of a verdict's hint: text, and the endpoints to fill in. No text holds a
/// character JSON would escape (a unit test checks).
fn hint_template(kind: VerdictKind, cause: &str) -> &'static [HintPart] {
    use HintPart::{Client as C, Host as H, Port as P, Server as S, Text as T};
    match (kind, cause) {
        (VerdictKind::Refused, "host-reset") => &[
            T("nothing listens on "),
            S,
            T(", or a firewall on "),
            H,
            T(" rejects with tcp-reset: check `ss -ltn` and the firewall rules on "),
            H,
        ],
        (VerdictKind::Refused, "path-reset") => &[
            T("the RST did not come from "),
            H,
            T(
                " itself (TTL differs from its own packets): check firewalls, load balancers or IPS between ",
            ),
            C,
            T(" and "),
            H,
        ],
        (VerdictKind::Refused, _) => &[
            H,
            T(
                " (or something on the path) reset the attempt: check that a service listens on port ",
            ),
            P,
            T(" (`ss -ltn` on "),
            H,
            T(") and the firewall rules"),
        ],
        (VerdictKind::Unreachable, "port-unreachable") => &[
            T("nothing listens on UDP/TCP port "),
            P,
            T(" on "),
            H,
            T(", or a firewall rejects it: check `ss -lun`/`ss -ltn` and the firewall on "),
            H,
        ],
        (VerdictKind::Unreachable, "admin-prohibited" | "net-prohibited" | "host-prohibited") => &[
            T("a firewall rule rejects traffic to "),
            S,
            T(": check the firewall of the host that sent the ICMP error"),
        ],
        (VerdictKind::Unreachable, "host-unreachable" | "address-unreachable") => &[
            H,
            T(
                " did not answer ARP/neighbour discovery on the last router's network: check that it is up and its address",
            ),
        ],
        (VerdictKind::Unreachable, "net-unreachable" | "no-route" | "reject-route") => &[
            T("a router has no route to "),
            H,
            T(": check routing tables on the path (`ip route get "),
            H,
            T("`)"),
        ],
        (VerdictKind::Unreachable, _) => &[
            T("an ICMP error reported "),
            S,
            T(" unreachable: check the reporting router or host"),
        ],
        (VerdictKind::TimeExceeded, _) => &[
            T("the packet's TTL ran out on the way to "),
            H,
            T(": look for a routing loop (`traceroute "),
            H,
            T("`) or a too-small initial TTL"),
        ],
        (VerdictKind::Unanswered, "capture-ended") => &[
            T(
                "the capture ended before the timeout: re-capture longer to tell a drop from a slow answer from ",
            ),
            S,
        ],
        (VerdictKind::Unanswered, "filtered") => &[
            H,
            T(" answers other traffic but not port "),
            P,
            T(": a firewall drops it (check DROP rules on the path and on "),
            H,
            T(")"),
        ],
        (VerdictKind::Unanswered, "host-down") => &[
            T("nobody answered ARP for "),
            H,
            T(" on its LAN: the host is down, absent, or has another address"),
        ],
        (VerdictKind::Unanswered, _) => &[
            T("no answer from "),
            S,
            T(": check for a filtering firewall (DROP) on the path or on "),
            H,
            T(", and that "),
            H,
            T(" is up"),
        ],
        (VerdictKind::Rejected, "tls-alert") => &[
            T("the TLS server "),
            S,
            T(
                " refused the handshake (see tls_alert): check protocol versions, ciphers, SNI and certificates (`openssl s_client -connect ",
            ),
            S,
            T("`)"),
        ],
        (VerdictKind::Rejected, "http-auth-required") => {
            &[S, T(" asks for authentication: check the client's credentials")]
        }
        (VerdictKind::Rejected, "http-forbidden") => {
            &[S, T(" forbids this request: check access rules for "), C, T(" on the server")]
        }
        (VerdictKind::Rejected, "http-overloaded") => &[
            S,
            T(" is overloaded or rate-limiting (429/503): check the service's capacity and logs"),
        ],
        (VerdictKind::Rejected, "http-client-error" | "http-server-error") => &[
            S,
            T(" answered with an HTTP error (see http_status): check the service's log on "),
            H,
        ],
        (VerdictKind::Rejected, _) => &[
            S,
            T(
                " accepted the connection, then closed it without answering: check the service's log and access rules (tcpwrappers, allow-lists, connection limits) on ",
            ),
            H,
        ],
        (VerdictKind::Mismatch, "tls-to-plaintext") => &[
            T("the client spoke TLS but "),
            S,
            T(
                " answered in plaintext: use http:// (or the plaintext protocol), or the service's TLS port",
            ),
        ],
        (VerdictKind::Mismatch, "plaintext-to-tls") => &[
            T("the client spoke plaintext but "),
            S,
            T(" expects TLS: use https:// (or enable TLS in the client)"),
        ],
        (VerdictKind::Mismatch, _) => &[
            S,
            T(
                " closed the connection on the client's TLS hello without a TLS answer: it likely speaks plaintext on port ",
            ),
            P,
            T(", or it refused the hello"),
        ],
        (VerdictKind::DnsFailure, "nxdomain") => &[
            T("the name does not exist according to "),
            H,
            T(": check the spelling and the zone (`dig @"),
            H,
            T(" NAME`)"),
        ],
        (VerdictKind::DnsFailure, "servfail") => &[
            H,
            T(
                " could not resolve the name (SERVFAIL): check its upstream servers and DNSSEC (`dig @",
            ),
            H,
            T(" NAME +dnssec`)"),
        ],
        (VerdictKind::DnsFailure, "refused") => {
            &[H, T(" refuses to answer "), C, T(": check its allow-recursion / ACL settings")]
        }
        (VerdictKind::DnsFailure, "no-response" | "capture-ended") => &[
            T("the DNS server "),
            S,
            T(" did not answer: check that it runs and that port "),
            P,
            T(" is reachable (`dig @"),
            H,
            T(" NAME`)"),
        ],
        (VerdictKind::DnsFailure, _) => {
            &[T("the DNS server "), H, T(" answered with an error (see dns_rcode): check its log")]
        }
        (VerdictKind::Established, "reset-by-server") => {
            &[T("the server reset the connection: check the service's log on "), H]
        }
        (VerdictKind::Established, "reset-by-client") => {
            &[T("the client "), C, T(" reset the connection: check the client application")]
        }
        (VerdictKind::Established, "slow-accept") => &[
            S,
            T(
                " answered only after SYN retransmissions: its SYN backlog or accept queue may be full (`ss -ltn` Recv-Q on ",
            ),
            H,
            T(", `nstat -az TcpExtListenOverflows`)"),
        ],
        (VerdictKind::Established, "syn-ack-retransmitted") => &[
            S,
            T(
                " resent its SYN-ACK after the client's ACK: its accept queue is likely full (`nstat -az TcpExtListenOverflows` on ",
            ),
            H,
            T(")"),
        ],
        (VerdictKind::Established, "zero-window") => &[
            S,
            T(" advertised a zero window: the application on "),
            H,
            T(" is not reading fast enough"),
        ],
        (VerdictKind::Established, _) => &[T("connection established")],
        (VerdictKind::Answered, _) => &[T("the server answered")],
        (VerdictKind::Partial, "midstream") => {
            &[T("the capture began after the handshake: capture from before the connection starts")]
        }
        (VerdictKind::Partial, _) => &[T(
            "packets of the handshake are missing from the capture: check for capture drops or asymmetric routing",
        )],
    }
}

/// A verdict's one-line hint: what to check next. Kept as its template and the endpoints, and
/// written out only when an output needs the text (the JSON-lines writer renders it straight
/// into its line; [`Display`](fmt::Display) and `to_string` give the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint {
    parts: &'static [HintPart],
    client: IpAddr,
    server: Endpoint,
}

/// A part of a hint: literal text or an endpoint to fill in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HintPart {
    Text(&'static str),
    /// The server's address and port (`192.0.2.1:80`, `[2001:db8::1]:443`).
    Server,
    /// The server's address.
    Host,
    /// The server's port.
    Port,
    /// The client's address.
    Client,
}

impl Hint {
    /// The hint for a verdict's kind and cause, naming the hosts involved.
    pub fn new(kind: VerdictKind, cause: &str, client: Endpoint, server: Endpoint) -> Self {
        Hint { parts: hint_template(kind, cause), client: client.ip, server }
    }

    /// Appends the hint's text (no quotes; it needs no JSON escapes: the texts hold none, and
    /// addresses and ports are digits, hex, dots, colons and brackets).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for p in self.parts {
            match *p {
                HintPart::Text(t) => out.extend_from_slice(t.as_bytes()),
                HintPart::Server => match self.server.ip {
                    IpAddr::V4(a) => {
                        json::write_ipv4(out, a);
                        out.push(b':');
                        json::write_u64(out, u64::from(self.server.port));
                    }
                    IpAddr::V6(a) => {
                        out.push(b'[');
                        json::write_ipv6(out, a);
                        out.extend_from_slice(b"]:");
                        json::write_u64(out, u64::from(self.server.port));
                    }
                },
                HintPart::Host => json::write_ip(out, self.server.ip),
                HintPart::Port => json::write_u64(out, u64::from(self.server.port)),
                HintPart::Client => json::write_ip(out, self.client),
            }
        }
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.parts {
            match *p {
                HintPart::Text(t) => f.write_str(t)?,
                HintPart::Server => write!(f, "{}", self.server)?,
                HintPart::Host => write!(f, "{}", self.server.ip)?,
                HintPart::Port => write!(f, "{}", self.server.port)?,
                HintPart::Client => write!(f, "{}", self.client)?,
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Hint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One fact of the evidence: a JSON value, in the few shapes evidence takes. Written by
/// [`Fact::write_json`] with exactly the bytes serde_json gives the equivalent
/// [`serde_json::Value`] ([`Fact::to_value`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer (non-negative ones are [`Fact::U64`], as serde_json keeps them).
    I64(i64),
    /// A finite float (conversions turn non-finite ones into [`Fact::Null`], as serde_json does).
    F64(f64),
    /// A fixed word.
    Str(&'static str),
    /// A string read from the capture or built for the evidence.
    String(Box<str>),
    /// An address, written as a string in `std`'s form.
    Ip(IpAddr),
    /// A list.
    List(Box<[Fact]>),
    /// A list of at most two unsigned integers (the count, then the values, unused ones 0),
    /// held inline: SYN packet numbers, usually one (see [`Fact::u64_list`]).
    U64List(u8, [u64; 2]),
    /// A list of at most two floats, held inline like [`Fact::U64List`] (see
    /// [`Fact::f64_list`]).
    F64List(u8, [f64; 2]),
    /// Nested facts, written as serde_json writes a `Value::Object`: keys in sorted order.
    Object(Box<Evidence>),
    /// Any other JSON value.
    Json(Box<Value>),
}

impl Fact {
    /// A list of integers: held inline when there are at most two (no allocation).
    pub fn u64_list(items: &[u64]) -> Fact {
        match *items {
            [] => Fact::U64List(0, [0; 2]),
            [a] => Fact::U64List(1, [a, 0]),
            [a, b] => Fact::U64List(2, [a, b]),
            _ => Fact::from(items),
        }
    }

    /// A list of floats (non-finite ones become `null`): held inline when there are at most
    /// two and all are finite. Does not rely on the iterator's reported length.
    pub fn f64_list(items: impl IntoIterator<Item = f64>) -> Fact {
        let mut items = items.into_iter();
        let mut v = [0.0; 2];
        let mut n = 0;
        loop {
            match items.next() {
                None => return Fact::F64List(n as u8, v),
                Some(f) if f.is_finite() && n < v.len() => {
                    v[n] = f;
                    n += 1;
                }
                // Rare: a non-finite value (null) or a third one: the general list of all of
                // them, those held so far first.
                Some(f) => {
                    let held = v[..n].iter().copied();
                    return Fact::List(
                        held.chain(std::iter::once(f)).chain(items).map(Fact::from).collect(),
                    );
                }
            }
        }
    }

    /// Appends the fact as JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Fact::Null => out.extend_from_slice(b"null"),
            Fact::Bool(true) => out.extend_from_slice(b"true"),
            Fact::Bool(false) => out.extend_from_slice(b"false"),
            Fact::U64(n) => json::write_u64(out, *n),
            Fact::I64(n) => json::write_i64(out, *n),
            Fact::F64(f) => json::write_f64(out, *f),
            Fact::Str(s) => json::write_str(out, s),
            Fact::String(s) => json::write_str(out, s),
            Fact::Ip(ip) => {
                out.push(b'"');
                json::write_ip(out, *ip);
                out.push(b'"');
            }
            Fact::List(items) => {
                out.push(b'[');
                for (i, f) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    f.write_json(out);
                }
                out.push(b']');
            }
            Fact::U64List(n, v) => {
                out.push(b'[');
                for (i, x) in v.iter().take(usize::from(*n)).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_u64(out, *x);
                }
                out.push(b']');
            }
            Fact::F64List(n, v) => {
                out.push(b'[');
                for (i, x) in v.iter().take(usize::from(*n)).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_f64(out, *x);
                }
                out.push(b']');
            }
            Fact::Object(e) => e.write_json_sorted(out),
            // Writing into a Vec cannot fail, nor can serializing a Value.
            Fact::Json(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }

    /// The fact as a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        match self {
            Fact::Null => Value::Null,
            Fact::Bool(b) => Value::Bool(*b),
            Fact::U64(n) => Value::from(*n),
            Fact::I64(n) => Value::from(*n),
            Fact::F64(f) => Value::from(*f),
            Fact::Str(s) => Value::from(*s),
            Fact::String(s) => Value::from(&**s),
            Fact::Ip(ip) => Value::String(ip.to_string()),
            Fact::List(items) => Value::Array(items.iter().map(Fact::to_value).collect()),
            Fact::U64List(n, v) => v.iter().take(usize::from(*n)).copied().collect(),
            Fact::F64List(n, v) => v.iter().take(usize::from(*n)).copied().collect(),
            Fact::Object(e) => {
                Value::Object(e.iter().map(|(k, f)| (k.to_string(), f.to_value())).collect())
            }
            Fact::Json(v) => (**v).clone(),
        }
    }

    /// The fact as compact JSON text.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The string, when the fact is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Fact::Str(s) => Some(s),
            Fact::String(s) => Some(s),
            Fact::Json(v) => v.as_str(),
            _ => None,
        }
    }

    /// Whether the fact is `null`.
    pub fn is_null(&self) -> bool {
        match self {
            Fact::Null => true,
            Fact::Json(v) => v.is_null(),
            _ => false,
        }
    }
}

impl serde::Serialize for Fact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Fact::Null => s.serialize_unit(),
            Fact::Bool(b) => s.serialize_bool(*b),
            Fact::U64(n) => s.serialize_u64(*n),
            Fact::I64(n) => s.serialize_i64(*n),
            Fact::F64(f) => s.serialize_f64(*f),
            Fact::Str(t) => s.serialize_str(t),
            Fact::String(t) => s.serialize_str(t),
            Fact::Ip(ip) => s.collect_str(ip),
            Fact::List(items) => s.collect_seq(items.iter()),
            Fact::U64List(n, v) => s.collect_seq(v.iter().take(usize::from(*n))),
            Fact::F64List(n, v) => s.collect_seq(v.iter().take(usize::from(*n))),
            Fact::Object(e) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(e.facts.len()))?;
                for (k, v) in e.sorted() {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Fact::Json(v) => v.serialize(s),
        }
    }
}

macro_rules! fact_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Fact {
            fn from(n: $t) -> Fact {
                Fact::U64(n as u64)
            }
        }
    )*};
}
fact_from_unsigned!(u8, u16, u32, u64, usize);

macro_rules! fact_from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Fact {
            fn from(n: $t) -> Fact {
                if n >= 0 { Fact::U64(n as u64) } else { Fact::I64(n as i64) }
            }
        }
    )*};
}
fact_from_signed!(i8, i16, i32, i64, isize);

impl From<f64> for Fact {
    fn from(f: f64) -> Fact {
        if f.is_finite() { Fact::F64(f) } else { Fact::Null }
    }
}

impl From<bool> for Fact {
    fn from(b: bool) -> Fact {
        Fact::Bool(b)
    }
}

impl From<&'static str> for Fact {
    fn from(s: &'static str) -> Fact {
        Fact::Str(s)
    }
}

impl From<String> for Fact {
    fn from(s: String) -> Fact {
        Fact::String(s.into_boxed_str())
    }
}

impl From<IpAddr> for Fact {
    fn from(ip: IpAddr) -> Fact {
        Fact::Ip(ip)
    }
}

impl From<Evidence> for Fact {
    fn from(e: Evidence) -> Fact {
        Fact::Object(Box::new(e))
    }
}

impl<T: Into<Fact>> From<Option<T>> for Fact {
    fn from(o: Option<T>) -> Fact {
        o.map_or(Fact::Null, Into::into)
    }
}

impl<T: Into<Fact> + Copy> From<&[T]> for Fact {
    fn from(items: &[T]) -> Fact {
        Fact::List(items.iter().map(|&x| x.into()).collect())
    }
}

impl From<Vec<Fact>> for Fact {
    fn from(items: Vec<Fact>) -> Fact {
        Fact::List(items.into_boxed_slice())
    }
}

impl From<Value> for Fact {
    fn from(v: Value) -> Fact {
        match v {
            Value::Null => Fact::Null,
            Value::Bool(b) => Fact::Bool(b),
            Value::Number(ref n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Fact::U64(u),
                (None, Some(i), _) => Fact::I64(i),
                (None, None, Some(f)) => Fact::from(f),
                _ => Fact::Json(Box::new(v)),
            },
            Value::String(s) => Fact::from(s),
            Value::Array(a) => Fact::List(a.into_iter().map(Fact::from).collect()),
            Value::Object(_) => Fact::Json(Box::new(v)),
        }
    }
}

/// Comparisons with plain values, as with a [`serde_json::Value`] (`evidence["rst_ttl"] == 61`).
macro_rules! fact_eq {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Fact {
            fn eq(&self, other: &$t) -> bool {
                self.to_value() == *other
            }
        }
    )*};
}
fact_eq!(
    Value, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool, &str, str, String
);

/// The facts behind a verdict: named values in the order they were added (the JSON output
/// keeps that order). Keys are static words, so building it costs no key allocations — it is
/// built once per attempt, which in a flood is often.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    facts: Vec<(&'static str, Fact)>,
    /// One bit per key hash of the keys present: most inserts are of new keys, and the bit
    /// tells so without comparing the key with every other.
    keys: u64,
}

/// A key's bit in [`Evidence::keys`].
#[inline]
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, last) = (b.first().copied().unwrap_or(0), b.last().copied().unwrap_or(0));
    let h = (b.len() as u32).wrapping_mul(7) ^ u32::from(first).wrapping_mul(13) ^ u32::from(last);
    1 << (h % 64)
}

impl PartialEq for Evidence {
    fn eq(&self, other: &Evidence) -> bool {
        self.facts == other.facts
    }
}

impl Evidence {
    /// An empty set of facts.
    pub fn new() -> Self {
        Evidence { facts: Vec::with_capacity(24), keys: 0 }
    }

    /// Sets `key` (replacing an earlier value).
    #[inline]
    pub fn insert(&mut self, key: &'static str, value: impl Into<Fact>) {
        let value = value.into();
        let bit = key_bit(key);
        if self.keys & bit != 0
            && let Some(slot) =
                self.facts.iter_mut().find(|(k, _)| std::ptr::eq(*k, key) || *k == key)
        {
            slot.1 = value;
            return;
        }
        self.keys |= bit;
        self.facts.push((key, value));
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Fact> {
        self.facts.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The facts in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Fact)> {
        self.facts.iter().map(|(k, v)| (*k, v))
    }

    /// How many facts there are.
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Appends the facts as one JSON object, in order (the bytes serde_json would write).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.facts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_str(out, k);
            out.push(b':');
            v.write_json(out);
        }
        out.push(b'}');
    }

    /// Appends the facts as one JSON object with the keys in sorted order (as a
    /// `serde_json::Value` object holds them).
    pub fn write_json_sorted(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.sorted().into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_str(out, k);
            out.push(b':');
            v.write_json(out);
        }
        out.push(b'}');
    }

    fn sorted(&self) -> Vec<(&'static str, &Fact)> {
        let mut facts: Vec<_> = self.iter().collect();
        facts.sort_by_key(|f| f.0);
        facts
    }

    /// The facts as a JSON object (keys sorted, as a `serde_json::Value` object holds them).
    pub fn to_value(&self) -> Value {
        Fact::Object(Box::new(self.clone())).to_value()
    }
}

/// `evidence["key"]`, [`Fact::Null`] when absent (as `serde_json::Value` indexing does).
impl std::ops::Index<&str> for Evidence {
    type Output = Fact;
    fn index(&self, key: &str) -> &Fact {
        static NULL: Fact = Fact::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.facts.len()))?;
        for (k, v) in &self.facts {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hint as it was written before [`Hint`] (format! per verdict): the reference.
    fn old_hint_for(kind: VerdictKind, cause: &str, client: Endpoint, server: Endpoint) -> String {
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

    fn endpoints() -> Vec<(Endpoint, Endpoint)> {
        let ep = |s: &str, p| Endpoint::new(s.parse().unwrap(), p);
        vec![
            (ep("10.0.0.1", 40000), ep("192.0.2.7", 80)),
            (ep("fd00::1", 1), ep("2001:db8::53", 53)),
            (ep("::ffff:10.1.2.3", 65535), ep("::", 0)),
        ]
    }

    #[test]
    fn hints_read_as_before_and_need_no_json_escapes() {
        let mut causes: Vec<&str> = vec![
            "host-reset",
            "path-reset",
            "reset",
            "port-unreachable",
            "admin-prohibited",
            "net-prohibited",
            "host-prohibited",
            "host-unreachable",
            "address-unreachable",
            "net-unreachable",
            "no-route",
            "reject-route",
            "ttl-exceeded",
            "capture-ended",
            "filtered",
            "host-down",
            "no-response",
            "tls-alert",
            "http-auth-required",
            "http-forbidden",
            "http-overloaded",
            "http-client-error",
            "http-server-error",
            "closed-after-request",
            "tls-to-plaintext",
            "plaintext-to-tls",
            "tls-hello-closed",
            "nxdomain",
            "servfail",
            "refused",
            "reset-by-server",
            "reset-by-client",
            "slow-accept",
            "syn-ack-retransmitted",
            "zero-window",
            "closed",
            "midstream",
            "handshake-incomplete",
            "other",
        ];
        causes.extend((0..=16).map(icmp4_unreachable_cause));
        causes.extend((0..=8).map(icmp6_unreachable_cause));
        for kind in VerdictKind::ALL {
            for cause in &causes {
                for (c, s) in endpoints() {
                    let want = old_hint_for(kind, cause, c, s);
                    let hint = Hint::new(kind, cause, c, s);
                    assert_eq!(hint.to_string(), want);
                    assert_eq!(hint_for(kind, cause, c, s), want);
                    let mut out = Vec::new();
                    hint.write_to(&mut out);
                    assert_eq!(String::from_utf8(out).unwrap(), want);
                    assert_eq!(serde_json::to_string(&want).unwrap(), format!("\"{want}\""));
                    assert_eq!(serde_json::to_string(&hint).unwrap(), format!("\"{want}\""));
                }
            }
        }
    }

    #[test]
    fn evidence_writes_what_serde_json_writes() {
        let mut inner = Evidence::new();
        inner.insert("packet", 7u64);
        inner.insert("version", "icmp");
        let mut e = Evidence::new();
        e.insert("attempt", 1u64);
        e.insert("negative", -3i64);
        e.insert("duration", 0.00105);
        e.insert("zero", 0.0);
        e.insert("nan", f64::NAN);
        e.insert("flag", true);
        e.insert("word", "closed");
        e.insert("text", String::from("GET / \"x\"\n\u{1}"));
        e.insert("reporter", "2001:db8::1".parse::<IpAddr>().unwrap());
        e.insert("packets", &[1u64, 2, 3][..]);
        e.insert("times", vec![Fact::from(0.0), Fact::from(1.5)]);
        e.insert("few", Fact::u64_list(&[4, 5]));
        e.insert("one", Fact::u64_list(&[u64::MAX]));
        e.insert("no", Fact::u64_list(&[]));
        e.insert("many", Fact::u64_list(&[1, 2, 3]));
        e.insert("few_times", Fact::f64_list([0.0, 0.000_5]));
        e.insert("odd_times", Fact::f64_list([1.0, f64::NAN]));
        e.insert("many_times", Fact::f64_list([0.0, 1.0, 3.0]));
        e.insert("none", Option::<u8>::None);
        e.insert("inner", inner);
        e.insert("value", serde_json::json!({"a": [1, "b", null]}));
        e.insert("attempt", 2u64);
        let mut out = Vec::new();
        e.write_json(&mut out);
        let via_serde = serde_json::to_string(&e).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), via_serde);
        assert!(via_serde.starts_with(r#"{"attempt":2,"negative":-3,"duration":0.00105,"#));
        // Nested facts are written as the serde_json::Value they used to be converted into.
        assert!(via_serde.contains(r#""inner":{"packet":7,"version":"icmp"}"#));
        let nested = Fact::from(e.clone());
        let mut out = Vec::new();
        nested.write_json(&mut out);
        let as_value = serde_json::to_string(&serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), as_value);
        assert_eq!(serde_json::to_string(&nested).unwrap(), as_value);
        assert_eq!(serde_json::to_string(&e.to_value()).unwrap(), as_value);
        assert_eq!(e["attempt"], 2);
        assert_eq!(e.len(), 21);
        assert!(via_serde.contains(r#""few":[4,5],"one":[18446744073709551615],"no":[],"many":[1,2,3],"few_times":[0.0,0.0005],"odd_times":[1.0,null],"many_times":[0.0,1.0,3.0]"#));
        assert_eq!(e["few"], serde_json::json!([4, 5]));
        assert_eq!(e["few_times"], serde_json::json!([0.0, 0.0005]));
        assert_eq!(e["nan"], Value::Null);
        assert_eq!(e["reporter"], "2001:db8::1");
        assert_eq!(e["packets"], serde_json::json!([1, 2, 3]));
        assert!(e["absent"].is_null());
    }

    #[test]
    fn a_short_float_list_keeps_every_item_after_a_non_finite_one() {
        for items in [
            vec![f64::NAN, 1.0],
            vec![f64::INFINITY, f64::NAN],
            vec![1.0, f64::NEG_INFINITY],
            vec![0.5, 1.5],
            vec![f64::NAN],
            vec![],
            vec![1.0, f64::NAN, 2.0],
        ] {
            let want = serde_json::to_string(&serde_json::json!(items)).unwrap();
            let fact = Fact::f64_list(items.iter().copied());
            assert_eq!(fact.to_json_string(), want, "{items:?}");
            assert_eq!(serde_json::to_string(&fact).unwrap(), want, "{items:?}");
        }
    }

    #[test]
    fn replacing_a_key_keeps_its_place() {
        // Many keys, so that their bits collide and the replacement path is taken.
        const KEYS: [&str; 40] = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
            "r", "s", "t", "u", "v", "w", "x", "y", "z", "aa", "ab", "ac", "ad", "ae", "af", "ag",
            "ah", "ai", "aj", "ak", "al", "am", "an",
        ];
        let mut e = Evidence::new();
        for (i, k) in KEYS.iter().enumerate() {
            e.insert(k, i);
        }
        for (i, k) in KEYS.iter().enumerate().rev() {
            e.insert(k, i * 10);
        }
        let keys: Vec<&str> = e.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, KEYS);
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(e[*k], i * 10);
        }
    }
}
