//! The one-line hint of a verdict: what to check next, naming the hosts involved. One template
//! per [`Cause`], by an exhaustive `match`: a new cause does not compile without its hint.

use std::fmt;
use std::net::IpAddr;

use super::Cause;
use crate::decode::Proto;
use crate::flow::Endpoint;

/// A cause's hint where a protocol needs its own words (a ping has no port; an SCTP
/// handshake has no SYN-ACK), else None.
fn proto_template(cause: Cause, proto: Proto) -> Option<&'static [HintPart]> {
    use HintPart::{Client as C, Host as H, Server as S, Text as T};
    Some(match (proto, cause) {
        (Proto::Icmp, Cause::Filtered) => &[
            H,
            T(
                " answers other traffic but not ping (ICMP echo): a firewall drops it (check the ICMP rules on the path and on ",
            ),
            H,
            T(")"),
        ],
        (Proto::Icmp, Cause::Midstream) => &[T(
            "the capture holds echo replies without their requests: capture from before the ping starts",
        )],
        (Proto::Icmp, Cause::ReplySeen) => &[H, T(" answered the ping")],
        (Proto::Sctp, Cause::ClientAbortedHandshake) => &[
            T("the client "),
            C,
            T(" aborted the association after the INIT-ACK of "),
            S,
            T(": the port is open; the client chose not to go on (see abort_cause)"),
        ],
        (Proto::Sctp, Cause::ClientAborted) => &[
            T("the client "),
            C,
            T(" aborted its attempt to "),
            S,
            T(" with nothing of the server in the capture: capture both directions"),
        ],
        (Proto::Sctp, Cause::ClientGaveUp) => &[
            T("the client "),
            C,
            T(" aborted its INIT to "),
            S,
            T(
                " before any answer reached it (no INIT-ACK: its ABORT lacks the server's verification tag) and before a retry: check the client's connect timeout",
            ),
        ],
        (Proto::Sctp, Cause::HandshakeIncomplete) => &[T(
            "packets of the SCTP handshake (COOKIE-ECHO, COOKIE-ACK) are missing from the capture: check for capture drops or asymmetric routing",
        )],
        _ => return None,
    })
}

/// The parts of a cause's hint: text, and the endpoints to fill in. No text holds a character
/// JSON would escape (a unit test checks).
fn template(cause: Cause) -> &'static [HintPart] {
    use HintPart::{Client as C, Host as H, Port as P, Server as S, Text as T};
    match cause {
        Cause::Abort => &[
            T("nothing listens on SCTP port "),
            P,
            T(" of "),
            H,
            T(", or it refused the association: check `ss -lS` and the firewall rules on "),
            H,
        ],
        Cause::Shutdown => &[T("SCTP association established and shut down")],
        Cause::AbortedByClient => &[
            T("the client "),
            C,
            T(" aborted the SCTP association: check the client application (see abort_cause)"),
        ],
        Cause::AbortedByServer => &[
            T("the server aborted the SCTP association: check the service's log on "),
            H,
            T(" (see abort_cause)"),
        ],
        Cause::EchoLoss => &[
            H,
            T(
                " answered the ping but not every request (see echo_lost): loss on the path (`mtr` to it) or ICMP rate limiting on ",
            ),
            H,
            T(" or a router"),
        ],
        Cause::HostReset => &[
            T("nothing listens on "),
            S,
            T(", or a firewall on "),
            H,
            T(" rejects with tcp-reset: check `ss -ltn` and the firewall rules on "),
            H,
        ],
        Cause::PathReset => &[
            T("the RST did not come from "),
            H,
            T(
                " itself (TTL differs from its own packets): check firewalls, load balancers or IPS between ",
            ),
            C,
            T(" and "),
            H,
        ],
        Cause::Reset => &[
            H,
            T(
                " (or something on the path) reset the attempt: check that a service listens on port ",
            ),
            P,
            T(" (`ss -ltn` on "),
            H,
            T(") and the firewall rules"),
        ],
        Cause::PortUnreachable => &[
            T("nothing listens on UDP/TCP port "),
            P,
            T(" on "),
            H,
            T(", or a firewall rejects it: check `ss -lun`/`ss -ltn` and the firewall on "),
            H,
        ],
        Cause::AdminProhibited | Cause::NetProhibited | Cause::HostProhibited => &[
            T("a firewall rule rejects traffic to "),
            S,
            T(": check the firewall of the host that sent the ICMP error"),
        ],
        Cause::HostUnreachable | Cause::AddressUnreachable => &[
            H,
            T(
                " did not answer ARP/neighbour discovery on the last router's network: check that it is up and its address",
            ),
        ],
        Cause::NetUnreachable | Cause::NoRoute | Cause::RejectRoute => &[
            T("a router has no route to "),
            H,
            T(": check routing tables on the path (`ip route get "),
            H,
            T("`)"),
        ],
        Cause::ProtocolUnreachable
        | Cause::FragmentationNeeded
        | Cause::SourceRouteFailed
        | Cause::NetUnknown
        | Cause::HostUnknown
        | Cause::SourceHostIsolated
        | Cause::NetUnreachableForTos
        | Cause::HostUnreachableForTos
        | Cause::HostPrecedenceViolation
        | Cause::PrecedenceCutoff
        | Cause::BeyondScope
        | Cause::SourcePolicyFailed
        | Cause::SourceRoutingHeaderError
        | Cause::UnreachableUnknownCode => &[
            T("an ICMP error reported "),
            S,
            T(" unreachable: check the reporting router or host"),
        ],
        Cause::TtlExceeded => &[
            T("the packet's TTL ran out on the way to "),
            H,
            T(": look for a routing loop (`traceroute "),
            H,
            T("`) or a too-small initial TTL"),
        ],
        Cause::TunnelEndpointUnreachable => &[
            T("the tunnel carrying this conversation to "),
            S,
            T(
                " failed: its far end (`tunnel_error.outer` in the evidence) is unreachable or does not take the tunnel; check that endpoint and the path to it (the underlay's routing)",
            ),
        ],
        Cause::TunnelProhibited => &[
            T("a firewall on the underlay rejects the tunnel carrying this conversation to "),
            S,
            T(": let the tunnel's outer packets through at the reporter of the ICMP error"),
        ],
        Cause::TunnelMtu => &[
            T("a packet to "),
            S,
            T(
                " was too big for a link on the path once in the tunnel (`icmp_mtu`): lower the MTU inside the tunnel or clamp the MSS",
            ),
        ],
        Cause::TunnelTtlExceeded => &[
            T("the tunnel's outer packet to "),
            S,
            T(
                " ran out of TTL on the underlay: look for a routing loop between the tunnel endpoints (`tunnel_error.outer`)",
            ),
        ],
        Cause::CaptureEnded => &[
            T(
                "the capture ended before the timeout: re-capture longer to tell a drop from a slow answer from ",
            ),
            S,
        ],
        Cause::Filtered => &[
            H,
            T(" answers other traffic but not port "),
            P,
            T(": a firewall drops it (check DROP rules on the path and on "),
            H,
            T(")"),
        ],
        Cause::HostDown => &[
            T("nobody answered ARP for "),
            H,
            T(" on its LAN: the host is down, absent, or has another address"),
        ],
        Cause::NoResponse => &[
            T("no answer from "),
            S,
            T(": check for a filtering firewall (DROP) on the path or on "),
            H,
            T(", and that "),
            H,
            T(" is up"),
        ],
        Cause::ClientAborted => &[
            T("the client "),
            C,
            T(" reset its attempt to "),
            S,
            T(
                " with nothing of the server in the capture: usually its answer to a SYN-ACK the capture missed; capture both directions",
            ),
        ],
        Cause::ClientGaveUp => &[
            T("the client "),
            C,
            T(" gave up on "),
            S,
            T(" before any answer and before a retry: check the client's connect timeout"),
        ],
        Cause::EvictedBeforeTimeout => &[
            T("the flow table was full and this attempt to "),
            S,
            T(" was pushed out before its timeout: raise --max-flows to see how it ends"),
        ],
        Cause::Superseded => &[
            T("a new SYN on the same ports replaced this attempt to "),
            S,
            T(" before its timeout: see the next attempt's verdict"),
        ],
        Cause::TlsAlert => &[
            T("the TLS server "),
            S,
            T(
                " refused the handshake (see tls_alert): check protocol versions, ciphers, SNI and certificates (`openssl s_client -connect ",
            ),
            S,
            T("`)"),
        ],
        Cause::TlsCertificateRejected => &[
            T("the client "),
            C,
            T(" refused the certificate of "),
            S,
            T(
                " (see tls_alert): check the certificate the server presents (chain, expiry, names; `openssl s_client -connect ",
            ),
            S,
            T(" -servername NAME`) against the client's trusted CAs and the name it asks for"),
        ],
        Cause::TlsClientAbortedHandshake => &[
            T("the client "),
            C,
            T(" ended the TLS 1.3 handshake with "),
            S,
            T(
                " after the server's certificate (an encrypted alert): the client's error says why, most often an untrusted, expired or wrong-name certificate",
            ),
        ],
        Cause::TlsClientCertificateRequired => &[
            S,
            T(" requires a client certificate and the client "),
            C,
            T(" sent none: configure the client's certificate and key"),
        ],
        Cause::TlsServerAbortedHandshake => &[
            S,
            T(
                " ended the TLS 1.3 handshake after the client's Finished (an encrypted alert): check its log, most often it refused the client's certificate",
            ),
        ],
        Cause::TlsClientClosedAfterHandshake => &[
            T("the client "),
            C,
            T(" completed the TLS handshake with "),
            S,
            T(
                " and closed without sending anything: the client's error says why (curl checks the certificate's name after the handshake: a certificate for another name)",
            ),
        ],
        Cause::TlsClientAlert => &[
            T("the client "),
            C,
            T(" refused the TLS handshake of "),
            S,
            T(" (see tls_alert): check the client's TLS settings and its error"),
        ],
        Cause::TlsServerClosedHandshake => &[
            S,
            T(" closed during the TLS handshake without an alert: check the TLS server's log on "),
            H,
        ],
        Cause::TlsHelloUnanswered => &[
            S,
            T(
                " accepted the connection but never answered the client's TLS hello: check that the service on port ",
            ),
            P,
            T(" speaks TLS and is not hung (`openssl s_client -connect "),
            S,
            T("`)"),
        ],
        Cause::TlsVersionMismatch => &[
            T("the client and "),
            S,
            T(
                " share no TLS version (see tls_alert and the tls_*version facts): align the client's offered versions with the server's",
            ),
        ],
        Cause::TlsNoCommonCipher => &[
            T("the client and "),
            S,
            T(
                " share no cipher suite (see tls_alert): align the client's ciphers, groups and signature algorithms with the server's",
            ),
        ],
        Cause::HttpAuthRequired => {
            &[S, T(" asks for authentication: check the client's credentials")]
        }
        Cause::HttpProxyAuthRequired => &[
            T("the proxy "),
            S,
            T(" asks the client "),
            C,
            T(" to authenticate (407): check the client's proxy credentials"),
        ],
        Cause::HttpBadGateway => &[
            T("the gateway "),
            S,
            T(
                " got no valid answer from its upstream (502): check the upstream service behind it and the gateway's error log on ",
            ),
            H,
        ],
        Cause::HttpGatewayTimeout => &[
            T("the gateway "),
            S,
            T(
                " timed out waiting for its upstream (504): check the upstream service behind it and the gateway's timeouts on ",
            ),
            H,
        ],
        Cause::MysqlTooManyConnections => &[
            T("MySQL/MariaDB on "),
            S,
            T(
                " has too many connections (error 1040): check max_connections and the connections held open (`SHOW PROCESSLIST`) on ",
            ),
            H,
        ],
        Cause::MysqlAccessDenied => &[
            T("MySQL/MariaDB on "),
            S,
            T(" denied the login of "),
            C,
            T(
                " (error 1045): check the client's user name and password, and the account's host part",
            ),
        ],
        Cause::MysqlHostBlocked => &[
            T("MySQL/MariaDB on "),
            S,
            T(" blocks "),
            C,
            T(
                " after too many connection errors (error 1129): run `FLUSH HOSTS` on the server and find why its connections failed",
            ),
        ],
        Cause::MysqlHostNotAllowed => &[
            T("MySQL/MariaDB on "),
            S,
            T(" has no account that may connect from "),
            C,
            T(" (error 1130): check the accounts' host parts (`CREATE USER 'name'@'host'`) on "),
            H,
        ],
        Cause::PgHbaRejected => &[
            T("PostgreSQL on "),
            S,
            T(" has no pg_hba.conf entry allowing "),
            C,
            T(" (SQLSTATE 28000): check pg_hba.conf on "),
            H,
            T(" and reload it"),
        ],
        Cause::PgAuthFailed => &[
            T("PostgreSQL on "),
            S,
            T(" refused the login of "),
            C,
            T(" (see sqlstate): check the client's user name and password"),
        ],
        Cause::PgTooManyConnections => &[
            T("PostgreSQL on "),
            S,
            T(
                " has too many connections (SQLSTATE 53300): check max_connections, connection limits and pooling on ",
            ),
            H,
        ],
        Cause::PgStartingUp => &[
            T("PostgreSQL on "),
            S,
            T(
                " does not accept connections now (SQLSTATE 57P03: starting up, shutting down or recovering): check its state and log on ",
            ),
            H,
        ],
        Cause::RedisProtectedMode => &[
            T("Redis on "),
            S,
            T(" is in protected mode and refuses "),
            C,
            T(": set a password (requirepass) or bind and protected-mode on "),
            H,
        ],
        Cause::RedisAuthRequired => &[
            T("Redis on "),
            S,
            T(" refused the command of "),
            C,
            T(" (see redis_error): check the client's password and ACL user"),
        ],
        Cause::RedisMaxClients => &[
            T("Redis on "),
            S,
            T(
                " has reached maxclients: check maxclients and the connections held open (`CLIENT LIST`) on ",
            ),
            H,
        ],
        Cause::SmtpServiceUnavailable => &[
            T("the mail server "),
            S,
            T(" answered 421, service not available: check its connection limits and log on "),
            H,
        ],
        Cause::SmtpRejected => &[
            T("the mail server "),
            S,
            T(" refuses "),
            C,
            T(" (554): check its client restrictions and blocklists for that address on "),
            H,
        ],
        Cause::FtpServiceUnavailable => &[
            T("the FTP server "),
            S,
            T(" answered 421, service not available: check its connection limits and log on "),
            H,
        ],
        Cause::FtpLoginDenied => &[
            T("the FTP server "),
            S,
            T(" did not log in "),
            C,
            T(" (530): check the client's user name and password, and the server's user lists"),
        ],
        Cause::SshMaxStartups => &[
            T("the SSH server "),
            S,
            T(
                " has too many unauthenticated connections (Exceeded MaxStartups): check MaxStartups and the connections in progress on ",
            ),
            H,
        ],
        Cause::SshNotAllowed => &[
            T("the SSH server "),
            S,
            T(" penalizes "),
            C,
            T(" (Not allowed at this time): check sshd's PerSourcePenalties and its log on "),
            H,
        ],
        Cause::SshClosedAfterBanner => &[
            T("the SSH server "),
            S,
            T(
                " closed right after its banner: check sshd's log and access rules (MaxStartups, PerSourcePenalties, tcpwrappers) on ",
            ),
            H,
        ],
        Cause::HttpForbidden => {
            &[S, T(" forbids this request: check access rules for "), C, T(" on the server")]
        }
        Cause::HttpOverloaded => &[
            S,
            T(" is overloaded or rate-limiting (429/503): check the service's capacity and logs"),
        ],
        Cause::HttpClientError => &[
            S,
            T(
                " turned the request down with an HTTP 4xx error (see http_status): check the request ",
            ),
            C,
            T(" sends (URL, headers, body) and the service's log on "),
            H,
        ],
        Cause::HttpServerError => &[
            S,
            T(" answered with an HTTP error (see http_status): check the service's log on "),
            H,
        ],
        Cause::ClosedBeforeRequest
        | Cause::ResetBeforeRequest
        | Cause::ClosedAfterRequest
        | Cause::ResetAfterRequest => &[
            S,
            T(
                " accepted the connection, then closed it without answering: check the service's log and access rules (tcpwrappers, allow-lists, connection limits) on ",
            ),
            H,
        ],
        Cause::ServerHung => &[
            S,
            T(
                " acknowledged the request and never answered until the client gave up (see waited_for_answer): the application hung; check the service and what it waits on (its log, stuck threads, its backends) on ",
            ),
            H,
        ],
        Cause::PathResetAfterRequest => &[
            T("the RST after the request did not come from "),
            H,
            T(
                " (its TTL differs from the server's other packets; see rst_hops, rst_sender_hops): a firewall or IPS on the path between ",
            ),
            C,
            T(" and "),
            H,
            T(
                " let the handshake through and reset the connection when it saw the request: check its rules",
            ),
        ],
        Cause::PathResetTowardClient => &[
            T("the RST the client got did not come from "),
            H,
            T(
                " (its TTL differs from the server's other packets; see rst_hops, rst_sender_hops): check firewalls, IPSes and load balancers between ",
            ),
            C,
            T(" and "),
            H,
        ],
        Cause::PathResetTowardServer => &[
            T("the RST "),
            H,
            T(" got did not come from the client "),
            C,
            T(
                " (its TTL differs from the client's other packets; see rst_hops, rst_sender_hops): check firewalls, IPSes and load balancers on the path",
            ),
        ],
        Cause::TlsToPlaintext => &[
            T("the client spoke TLS but "),
            S,
            T(
                " answered in plaintext: use http:// (or the plaintext protocol), or the service's TLS port",
            ),
        ],
        Cause::PlaintextToTls => &[
            T("the client spoke plaintext but "),
            S,
            T(" expects TLS: use https:// (or enable TLS in the client)"),
        ],
        Cause::ProtocolMismatch => &[
            T("the client "),
            C,
            T(" and "),
            S,
            T(
                " speak different protocols (see the first bytes of each side): the client has the wrong port for the service it wants",
            ),
        ],
        Cause::TlsHelloClosed => &[
            S,
            T(
                " closed the connection on the client's TLS hello without a TLS answer: it likely speaks plaintext on port ",
            ),
            P,
            T(", or it refused the hello"),
        ],
        Cause::Nxdomain => &[
            T("the name does not exist according to "),
            H,
            T(": check the spelling and the zone (`dig @"),
            H,
            T(" NAME`)"),
        ],
        Cause::Servfail => &[
            H,
            T(
                " could not resolve the name (SERVFAIL): check its upstream servers and DNSSEC (`dig @",
            ),
            H,
            T(" NAME +dnssec`)"),
        ],
        Cause::DnsRefused => {
            &[H, T(" refuses to answer "), C, T(": check its allow-recursion / ACL settings")]
        }
        Cause::DnsCaptureEnded => &[
            T("the capture ended before the DNS server "),
            S,
            T(" answered: re-capture longer to tell a lost query from a slow answer"),
        ],
        Cause::DnsNoResponse => &[
            T("the DNS server "),
            S,
            T(" did not answer: check that it runs and that port "),
            P,
            T(" is reachable (`dig @"),
            H,
            T(" NAME`)"),
        ],
        Cause::Formerr | Cause::Notimp => {
            &[T("the DNS server "), H, T(" answered with an error (see dns_rcode): check its log")]
        }
        Cause::ResetByServer => {
            &[T("the server reset the connection: check the service's log on "), H]
        }
        Cause::ResetByClient => &[
            T("the client "),
            C,
            T(
                " ended the connection with an RST after data flowed, as many clients close (Windows, browsers); only if a transfer was cut short, check the client application",
            ),
        ],
        Cause::InjectedReset => &[
            T("an RST forged on the path answered the SYN before "),
            S,
            T(
                "'s real SYN-ACK (the connection went on): check firewalls and IPSes on the path that inject resets",
            ),
        ],
        Cause::SlowAccept => &[
            S,
            T(
                " answered only after SYN retransmissions: its SYN backlog or accept queue may be full (`ss -ltn` Recv-Q on ",
            ),
            H,
            T(", `nstat -az TcpExtListenOverflows`)"),
        ],
        Cause::SynAckRetransmitted => &[
            S,
            T(
                " resent its SYN-ACK after the client's ACK: its accept queue is likely full (`nstat -az TcpExtListenOverflows` on ",
            ),
            H,
            T(")"),
        ],
        Cause::ZeroWindow => &[
            S,
            T(" advertised a zero window: the application on "),
            H,
            T(" is not reading fast enough"),
        ],
        Cause::Closed
        | Cause::ClosedWithReset
        | Cause::StillOpen
        | Cause::Idle
        | Cause::PortReused
        | Cause::Evicted => &[T("connection established")],
        Cause::ReplySeen => &[T("the server answered")],
        Cause::SearchList => &[T(
            "the server answered: NXDOMAIN for one step of the resolver's search list, the lookup's outcome is the other name's verdict",
        )],
        Cause::DiscoveryName => {
            &[T("the server answered: NXDOMAIN to a discovery lookup is the expected answer")]
        }
        Cause::ReplyUndeliverable => &[
            T("the reply of "),
            S,
            T(" could not be delivered to "),
            C,
            T(
                " (an ICMP error quoted it back): the client had given up waiting (compare its timeout with how long the server takes to answer), or the way back to it is broken (see the reporter)",
            ),
        ],
        Cause::OneWayProtocol => &[
            T("datagrams of a one-way protocol (see protocol) to "),
            S,
            T(": no answer is expected on the same ports"),
        ],
        Cause::Midstream => {
            &[T("the capture began after the handshake: capture from before the connection starts")]
        }
        Cause::ClientSideNotCaptured => &[
            T("the capture holds only the side of "),
            S,
            T(": capture both directions (asymmetric routing, or a filter that leaves out "),
            C,
            T(")"),
        ],
        Cause::HandshakeIncomplete
        | Cause::SynAckNotCaptured
        | Cause::ServerSideNotCaptured
        | Cause::ServerResetHandshake => &[T(
            "packets of the handshake are missing from the capture: check for capture drops or asymmetric routing",
        )],
        Cause::ClientAbortedHandshake => &[
            T("the client "),
            C,
            T(" reset the handshake after a SYN-ACK from "),
            S,
            T(
                ": the port is open; a half-open probe (SYN scan, health check) does this, as does a client that gave up (see syn_times)",
            ),
        ],
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
    /// The server has no port (a ping): [`HintPart::Server`] is its address alone.
    portless: bool,
}

/// A part of a hint: literal text or an endpoint to fill in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintPart {
    /// Literal text.
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
    /// The hint for a cause, naming the hosts involved.
    pub fn new(cause: Cause, client: Endpoint, server: Endpoint) -> Self {
        Hint { parts: template(cause), client: client.ip, server, portless: false }
    }

    /// The hint for a cause of an attempt of `proto`: a ping's names its server without a
    /// port, and some causes read otherwise for a ping or SCTP.
    pub fn for_proto(cause: Cause, proto: Proto, client: Endpoint, server: Endpoint) -> Self {
        Hint {
            parts: proto_template(cause, proto).unwrap_or_else(|| template(cause)),
            client: client.ip,
            server,
            portless: !proto.has_ports(),
        }
    }

    /// Whether the server has no port (a ping): [`HintPart::Server`] is its address alone.
    pub fn is_portless(&self) -> bool {
        self.portless
    }

    /// The parts of the hint, for a writer.
    pub fn parts(&self) -> impl Iterator<Item = HintPart> + '_ {
        self.parts.iter().copied()
    }

    /// The client's address the hint names.
    pub fn client(&self) -> IpAddr {
        self.client
    }

    /// The server the hint names.
    pub fn server(&self) -> Endpoint {
        self.server
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.parts {
            match *p {
                HintPart::Text(t) => f.write_str(t)?,
                HintPart::Server if self.portless => write!(f, "{}", self.server.ip)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Party, VerdictKind};

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
            (VerdictKind::OneWay, _) => format!(
                "datagrams of a one-way protocol (see protocol) to {server}: no answer is expected on the same ports"
            ),
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

    /// Causes whose hint was deliberately changed when causes became typed: under the string
    /// matching they fell into a catch-all that blamed the wrong party (a half-open probe told
    /// to look for capture drops, a pushed-out attempt told to look for a firewall, a 4xx
    /// answer to a wrong request sent to the server's log only); and causes added since, whose
    /// hint the catch-alls never had.
    const NEW_HINTS: &[Cause] = &[
        Cause::Abort,
        Cause::Shutdown,
        Cause::AbortedByClient,
        Cause::AbortedByServer,
        Cause::EchoLoss,
        Cause::ReplyUndeliverable,
        Cause::ResetByClient,
        Cause::ClientSideNotCaptured,
        Cause::ProtocolMismatch,
        Cause::DiscoveryName,
        Cause::SearchList,
        Cause::ClientAborted,
        Cause::ClientGaveUp,
        Cause::EvictedBeforeTimeout,
        Cause::Superseded,
        Cause::ClientAbortedHandshake,
        Cause::HttpClientError,
        Cause::DnsCaptureEnded,
        Cause::InjectedReset,
        Cause::HttpProxyAuthRequired,
        Cause::HttpBadGateway,
        Cause::HttpGatewayTimeout,
        Cause::MysqlTooManyConnections,
        Cause::MysqlAccessDenied,
        Cause::MysqlHostBlocked,
        Cause::MysqlHostNotAllowed,
        Cause::PgHbaRejected,
        Cause::PgAuthFailed,
        Cause::PgTooManyConnections,
        Cause::PgStartingUp,
        Cause::RedisProtectedMode,
        Cause::RedisAuthRequired,
        Cause::RedisMaxClients,
        Cause::SmtpServiceUnavailable,
        Cause::SmtpRejected,
        Cause::FtpServiceUnavailable,
        Cause::FtpLoginDenied,
        Cause::SshMaxStartups,
        Cause::SshNotAllowed,
        Cause::SshClosedAfterBanner,
        Cause::TlsCertificateRejected,
        Cause::TlsClientAbortedHandshake,
        Cause::TlsClientCertificateRequired,
        Cause::TlsServerAbortedHandshake,
        Cause::TlsClientAlert,
        Cause::TlsClientClosedAfterHandshake,
        Cause::TlsServerClosedHandshake,
        Cause::TlsHelloUnanswered,
        Cause::TlsVersionMismatch,
        Cause::TlsNoCommonCipher,
        Cause::ServerHung,
        Cause::PathResetAfterRequest,
        Cause::PathResetTowardClient,
        Cause::PathResetTowardServer,
        Cause::TunnelEndpointUnreachable,
        Cause::TunnelProhibited,
        Cause::TunnelMtu,
        Cause::TunnelTtlExceeded,
    ];

    #[test]
    fn hints_read_as_before_and_need_no_json_escapes() {
        for &cause in Cause::ALL {
            for (c, s) in endpoints() {
                let old = old_hint_for(cause.kind(), cause.word(), c, s);
                let hint = Hint::new(cause, c, s);
                let text = hint.to_string();
                if NEW_HINTS.contains(&cause) {
                    assert_ne!(text, old, "{cause:?}");
                } else {
                    assert_eq!(text, old, "{cause:?}");
                }
                let mut out = Vec::new();
                crate::output::json::write_hint(&mut out, &hint);
                assert_eq!(String::from_utf8(out).unwrap(), text);
                assert_eq!(serde_json::to_string(&text).unwrap(), format!("\"{text}\""));
                assert_eq!(serde_json::to_string(&hint).unwrap(), format!("\"{text}\""));
            }
        }
    }

    /// A hint points where its cause's party is: at the client (its address, or "the
    /// client"), at the server (its address), at the path (a firewall, router, route or the
    /// path), at the capture (capture drops, the capture, the table); a cause that blames
    /// nobody is no failure, but for a replaced attempt (its successor has the verdict).
    #[test]
    fn a_hint_names_the_party_it_blames() {
        let (c, s) = endpoints()[0];
        for &cause in Cause::ALL {
            let text = Hint::new(cause, c, s).to_string();
            let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
            let named = match cause.blames() {
                Party::Client => has(&[&c.ip.to_string(), "the client", "client's"]),
                Party::Server => has(&[&s.ip.to_string()]),
                Party::Path => has(&["firewall", "router", "route", "path", "TTL"]),
                Party::Capture => has(&["capture", "--max-flows"]),
                Party::None => !cause.kind().is_failure() || cause == Cause::Superseded,
            };
            assert!(named, "{cause:?} blames {:?}: {text}", cause.blames());
        }
    }
}
