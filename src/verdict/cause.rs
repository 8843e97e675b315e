//! The vocabulary of causes: one variant per (verdict, cause word) the tracker can give, each
//! with its word, what it means, what to check and the party the evidence points at.
//!
//! Everything a cause needs is written in one row of the `causes!` table below, so a new cause
//! does not compile until it has all of it; its hint is an exhaustive `match` in
//! [`super::hint`], so it needs one there too. The words are the output contract (`cause`
//! field) and the README's verdict table lists exactly these pairs (a test checks).

use std::fmt;

use super::VerdictKind;

/// The party a cause points at: where the user should look first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// The side that opened the attempt (its application, its request, its settings).
    Client,
    /// The side it tried to reach: the host, its firewall, its service.
    Server,
    /// Something between them: a router, a firewall, a load balancer, an IPS.
    Path,
    /// The capture itself: it began late, ended early, or missed packets; or the analysis'
    /// own bound (a full flow table pushed the attempt out before it ended).
    Capture,
    /// Nobody: the attempt went as it should (or the outcome is no one's fault).
    None,
}

impl Party {
    /// The word used in outputs (`client`, `server`, `path`, `capture`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Client => "client",
            Party::Server => "server",
            Party::Path => "path",
            Party::Capture => "capture",
            Party::None => "none",
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Writes the [`Cause`] enum and its tables from one row per cause:
/// `Variant = Kind, "word", Party, "meaning", "what to check";`.
macro_rules! causes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $kind:ident, $word:literal, $party:ident, $meaning:literal, $check:literal;
    )*) => {
        /// The most likely reason for a verdict. Each variant belongs to one [`VerdictKind`];
        /// two variants may share a word under different kinds (`no-response` is both an
        /// unanswered SYN and an unanswered DNS query).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Cause {
            $($(#[$doc])* $variant,)*
        }

        impl Cause {
            /// Every cause, grouped by verdict kind in the README's order.
            pub const ALL: &'static [Cause] = &[$(Cause::$variant,)*];

            /// The verdict this cause explains.
            pub const fn kind(self) -> VerdictKind {
                match self {
                    $(Cause::$variant => VerdictKind::$kind,)*
                }
            }

            /// The contract word (`cause` field).
            pub const fn word(self) -> &'static str {
                match self {
                    $(Cause::$variant => $word,)*
                }
            }

            /// The party the evidence points at.
            pub const fn blames(self) -> Party {
                match self {
                    $(Cause::$variant => Party::$party,)*
                }
            }

            /// What the cause means, in plain words for the on-call engineer.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Cause::$variant => $meaning,)*
                }
            }

            /// What to check, in a few words (the hint says it for one attempt).
            pub const fn check(self) -> &'static str {
                match self {
                    $(Cause::$variant => $check,)*
                }
            }
        }
    };
}

causes! {
    // established
    /// Both sides sent FIN.
    Closed = Established, "closed", None,
        "The connection worked and was closed normally (FIN from both sides).",
        "Nothing.";
    /// An RST after a FIN: a close, ended by RST instead of the other FIN.
    ClosedWithReset = Established, "closed-with-reset", None,
        "The connection worked and was closing (a FIN was sent) when an RST ended it instead of the other side's FIN: how browsers answer a server's close, and what a stack sends when data reaches a socket already closed.",
        "Nothing.";
    /// The client reset an established connection.
    ResetByClient = Established, "reset-by-client", Client,
        "The connection worked, data flowed, then the client ended it with an RST instead of a FIN: how many clients close (Windows' abortive close, browsers dropping a connection), or an application cutting a transfer short.",
        "Nothing, unless a transfer was cut short: then the client application.";
    /// The server reset an established connection.
    ResetByServer = Established, "reset-by-server", Server,
        "The connection worked, data flowed, then that side reset it (RST).",
        "The application on that side: its log.";
    /// Still open when the input ended.
    StillOpen = Established, "still-open", None,
        "The connection worked; it was still open at the end, went idle, was replaced on the same ports, or pushed out of a full table.",
        "Nothing.";
    /// Silent for the idle timeout.
    Idle = Established, "idle", None,
        "The connection worked; it was still open at the end, went idle, was replaced on the same ports, or pushed out of a full table.",
        "Nothing.";
    /// A new SYN took over the 5-tuple.
    PortReused = Established, "port-reused", None,
        "The connection worked; it was still open at the end, went idle, was replaced on the same ports, or pushed out of a full table.",
        "Nothing.";
    /// Pushed out of a full flow table.
    Evicted = Established, "evicted", None,
        "The connection worked; it was still open at the end, went idle, was replaced on the same ports, or pushed out of a full table.",
        "Nothing.";
    /// SCTP: the association was closed by SHUTDOWN.
    Shutdown = Established, "shutdown", None,
        "The SCTP association was set up (INIT, INIT-ACK, COOKIE-ECHO, COOKIE-ACK) and closed in order (SHUTDOWN, SHUTDOWN-ACK, SHUTDOWN-COMPLETE): SCTP's normal close.",
        "Nothing.";
    /// SCTP: the client aborted an established association.
    AbortedByClient = Established, "aborted-by-client", Client,
        "The SCTP association was set up, then the client ended it with an ABORT (SCTP's reset) instead of a SHUTDOWN: an application closing abortively (SO_LINGER 0), or one giving up.",
        "Nothing, unless the client's work was cut short: then the client application (`abort_cause`).";
    /// SCTP: the server aborted an established association.
    AbortedByServer = Established, "aborted-by-server", Server,
        "The SCTP association was set up, then the server ended it with an ABORT (SCTP's reset) instead of a SHUTDOWN (`abort_cause` names its reason when it gave one).",
        "The application on the server: its log (`abort_cause`).";
    /// An RST answering the SYN, then the server's real SYN-ACK and the conversation went on:
    /// the RST was forged on the path.
    InjectedReset = Established, "injected-reset", Path,
        "The connection worked, but an RST that answered the SYN came first, before the server's real SYN-ACK: something on the path (an IPS, a censor, an off-path attacker) forged it and the client's stack did not take it (`ignored_rst_packet`).",
        "Firewalls and IPSes on the path that inject resets.";
    /// The client reset after the server's SYN-ACK (TCP) or aborted after its INIT-ACK (SCTP):
    /// a half-open probe. The port is open, the server's part of the handshake done: Zeek's
    /// `RSTO`, "established, originator aborted".
    ClientAbortedHandshake = Established, "client-aborted-handshake", Client,
        "The client answered the server's part of the handshake by ending it: a TCP RST instead of its ACK of the SYN-ACK, or an SCTP ABORT after the INIT-ACK before the association was up. The server is listening and accepted; the client chose not to go on. A half-open probe (SYN scanners, many health checkers) does this, and so does a client that had given up on its SYNs or INITs, or got a SYN-ACK that did not acknowledge its SYN. Nothing is missing from the capture.",
        "Nothing, unless the probe is unexpected: then the client that sent it (`syn_times`, `syn_ack_packet`; SCTP: `init_times`, `init_ack_packet`, `abort_cause`).";
    /// Answered only after SYN retransmissions.
    SlowAccept = Established, "slow-accept", Server,
        "It got through, but only after SYN retransmissions: the server's SYN backlog or accept queue was full.",
        "`ss -ltn` Recv-Q and `nstat -az TcpExtListenOverflows` on the server.";
    /// The server resent its SYN-ACK after the client's ACK.
    SynAckRetransmitted = Established, "syn-ack-retransmitted", Server,
        "The server resent its SYN-ACK after the client's ACK: its accept queue was full.",
        "`nstat -az TcpExtListenOverflows` on the server; the service's capacity.";
    /// The server advertised a zero window.
    ZeroWindow = Established, "zero-window", Server,
        "The server advertised a zero window: its application was not reading.",
        "The server application (stuck, overloaded).";

    // rejected
    /// The server closed before the client sent anything.
    ClosedBeforeRequest = Rejected, "closed-before-request", Server,
        "The server accepted the connection, then closed or reset it before the client sent anything: the application turned the client away.",
        "Access rules (allow-lists, tcpwrappers), connection limits, the service's log.";
    /// The server reset before the client sent anything.
    ResetBeforeRequest = Rejected, "reset-before-request", Server,
        "The server accepted the connection, then closed or reset it before the client sent anything: the application turned the client away.",
        "Access rules (allow-lists, tcpwrappers), connection limits, the service's log.";
    /// The server closed after the request without answering.
    ClosedAfterRequest = Rejected, "closed-after-request", Server,
        "The client sent its request; the server closed or reset without answering a byte.",
        "The service's log.";
    /// The server reset after the request without answering.
    ResetAfterRequest = Rejected, "reset-after-request", Server,
        "The client sent its request; the server closed or reset without answering a byte.",
        "The service's log.";
    /// The client's request was acknowledged, nothing came back, and the client gave up.
    ServerHung = Rejected, "server-hung", Server,
        "The server accepted the connection and acknowledged the client's request, then sent nothing back until the client gave up (closed or reset after `waited_for_answer` seconds) or the idle timeout or the end of the capture showed the wait: the application hung.",
        "The service on the server: stuck threads, a backend it waits on, its log at that time.";
    /// An RST claiming to be the server's, after the request, came from the path.
    PathResetAfterRequest = Rejected, "path-reset-after-request", Path,
        "The client sent its request and, before the server answered a byte, an RST claiming to come from the server arrived with a hop count unlike every other packet of the server in this conversation: a firewall or IPS on the path let the handshake through and forged the reset when it saw the request.",
        "Firewalls, IPSes and proxies between client and server (string or application rules matching the request).";
    /// Another RST toward the client, claiming the server, from the path.
    PathResetTowardClient = Rejected, "path-reset-toward-client", Path,
        "After the handshake, an RST claiming to come from the server reached the client with a hop count unlike every other packet of the server in this conversation: a device on the path (firewall, IPS, load balancer) cut the connection, not the server.",
        "Firewalls, IPSes and load balancers between client and server (session timeouts, application rules).";
    /// An RST toward the server, claiming the client, from the path.
    PathResetTowardServer = Rejected, "path-reset-toward-server", Path,
        "After the handshake, an RST claiming to come from the client reached the server with a hop count unlike every other packet of the client in this conversation: a device on the path cut the connection, not the client.",
        "Firewalls, IPSes and load balancers between client and server (session timeouts, application rules).";
    /// The server's first bytes are a TLS fatal alert.
    TlsAlert = Rejected, "tls-alert", Server,
        "The server ended the TLS handshake with a fatal alert (tls_alert) in the clear: it refused the handshake.",
        "TLS versions, ciphers, SNI, certificates (`openssl s_client -connect HOST:PORT`).";
    /// The client's fatal alert about the server's certificate.
    TlsCertificateRejected = Rejected, "tls-certificate-rejected", Server,
        "The client refused the server's certificate: its fatal TLS alert in the clear (tls_alert: unknown_ca, certificate_expired, bad_certificate, certificate_unknown, ...) after the server's certificate.",
        "The certificate the server presents (its chain, its expiry, its names) against the client's trusted CAs and the name the client asks for.";
    /// TLS 1.3: the client's only encrypted record was an alert's length, then it closed.
    TlsClientAbortedHandshake = Rejected, "tls-client-aborted-handshake", Client,
        "TLS 1.3: after the server's encrypted certificate, the client sent one short encrypted record (the length of an alert) in place of its Finished and closed: it ended the handshake; the alert is encrypted, most often it did not accept the server's certificate.",
        "The client's error message (it names the reason: an untrusted CA, an expired certificate, a wrong name); then the server's certificate.";
    /// The server wants a client certificate the client did not send.
    TlsClientCertificateRequired = Rejected, "tls-client-certificate-required", Client,
        "The server requires a client certificate and the client sent none: certificate_required (TLS 1.3) or handshake_failure after the client's empty Certificate, or (TLS 1.3, encrypted) a short record and a close after it.",
        "Give the client a certificate (and key) the server's CA list accepts, or the server's client-certificate setting.";
    /// TLS 1.3: the server's only record after the client's Finished was an alert's length.
    TlsServerAbortedHandshake = Rejected, "tls-server-aborted-handshake", Server,
        "TLS 1.3: the server answered the client's Finished with one short encrypted record (the length of an alert) and closed: it refused the handshake's end, most often the client's certificate.",
        "The server's log (client certificate verification, access rules).";
    /// The client's fatal alert, not about a certificate.
    TlsClientAlert = Rejected, "tls-client-alert", Client,
        "The client ended the TLS handshake with a fatal alert (tls_alert) in the clear, not about the certificate: it refused what the server chose.",
        "The client's TLS settings and error message.";
    /// The handshake completed, then the client closed without sending application data.
    TlsClientClosedAfterHandshake = Rejected, "tls-client-closed-after-handshake", Client,
        "The TLS handshake completed, then the client sent an alert (its close_notify) and closed without a byte of application data: it refused the session after the handshake. curl does this when the certificate does not name the host it asked for (it checks the name after the handshake); other clients for a pinned key or a policy.",
        "The client's error message; then the names in the server's certificate against the name the client asks for.";
    /// The server closed after its ServerHello, before the handshake ended, without an alert.
    TlsServerClosedHandshake = Rejected, "tls-server-closed-handshake", Server,
        "The server said hello (ServerHello), then closed or reset before the handshake ended, without an alert.",
        "The TLS server's log.";
    /// The client's ClientHello got nothing back until the client gave up.
    TlsHelloUnanswered = Rejected, "tls-hello-unanswered", Server,
        "The client sent its TLS ClientHello; the server sent nothing back (at most ACKs) until the client gave up (FIN or RST) or the conversation went idle: the server's TLS never answered.",
        "The service on that port: is it hung, does it speak TLS there, is its TLS layer waiting for something (a proxy protocol header, a backend).";
    /// HTTP 401.
    HttpAuthRequired = Rejected, "http-auth-required", Client,
        "The server answered HTTP 401: authentication required.",
        "The client's credentials.";
    /// HTTP 407: a proxy wants the client to authenticate.
    HttpProxyAuthRequired = Rejected, "http-proxy-auth-required", Client,
        "The server is a proxy and answered HTTP 407: the client must authenticate to the proxy.",
        "The client's proxy credentials (Proxy-Authorization, the proxy URL's user and password).";
    /// HTTP 403.
    HttpForbidden = Rejected, "http-forbidden", Server,
        "The server answered HTTP 403: the request is forbidden.",
        "The server's access rules for that client.";
    /// HTTP 429 or 503.
    HttpOverloaded = Rejected, "http-overloaded", Server,
        "The server answered HTTP 429 or 503: overloaded or rate-limiting.",
        "The service's capacity, rate limits and log.";
    /// HTTP 502: a gateway's upstream failed.
    HttpBadGateway = Rejected, "http-bad-gateway", Server,
        "The server is a gateway or proxy and answered HTTP 502: the upstream server behind it refused, reset or answered garbage.",
        "The upstream service behind the gateway (is it up, on the address the gateway uses) and the gateway's error log.";
    /// HTTP 504: a gateway's upstream did not answer in time.
    HttpGatewayTimeout = Rejected, "http-gateway-timeout", Server,
        "The server is a gateway or proxy and answered HTTP 504: the upstream server behind it did not answer in time.",
        "The upstream service behind the gateway (slow, hung, unreachable from the gateway) and the gateway's timeouts.";
    /// Another HTTP 4xx: the server judged the request wrong.
    HttpClientError = Rejected, "http-client-error", Client,
        "The server's first answer was an HTTP 4xx/5xx error.",
        "The service's log.";
    /// Another HTTP 5xx.
    HttpServerError = Rejected, "http-server-error", Server,
        "The server's first answer was an HTTP 4xx/5xx error.",
        "The service's log.";
    /// MySQL/MariaDB error 1040 in place of the greeting.
    MysqlTooManyConnections = Rejected, "mysql-too-many-connections", Server,
        "MySQL/MariaDB answered error 1040, too many connections: max_connections is reached.",
        "max_connections and the connections held open (`SHOW PROCESSLIST`) on the server.";
    /// MySQL/MariaDB error 1045 in answer to the login.
    MysqlAccessDenied = Rejected, "mysql-access-denied", Client,
        "MySQL/MariaDB refused the client's login with error 1045, access denied: a wrong user name or password (or no such account from the client's address).",
        "The client's user name and password; the account's host part on the server.";
    /// MySQL/MariaDB error 1129 in place of the greeting.
    MysqlHostBlocked = Rejected, "mysql-host-blocked", Server,
        "MySQL/MariaDB answered error 1129: the client's host is blocked after too many connection errors (max_connect_errors).",
        "`FLUSH HOSTS` on the server, and why the client's earlier connections failed.";
    /// MySQL/MariaDB error 1130 in place of the greeting.
    MysqlHostNotAllowed = Rejected, "mysql-host-not-allowed", Server,
        "MySQL/MariaDB answered error 1130: no account may connect from the client's address.",
        "The accounts' host parts (`CREATE USER 'name'@'host'`) on the server.";
    /// PostgreSQL SQLSTATE 28000 naming pg_hba.conf.
    PgHbaRejected = Rejected, "pg-hba-rejected", Server,
        "PostgreSQL refused the connection (SQLSTATE 28000): pg_hba.conf has no entry, or a reject entry, for the client's address, user and database.",
        "pg_hba.conf on the server (and reload it).";
    /// PostgreSQL SQLSTATE 28P01, or 28000 without pg_hba.conf.
    PgAuthFailed = Rejected, "pg-auth-failed", Client,
        "PostgreSQL refused the login: SQLSTATE 28P01, password authentication failed, or 28000, the role does not exist or may not log in.",
        "The client's user name and password (and the role on the server).";
    /// PostgreSQL SQLSTATE 53300.
    PgTooManyConnections = Rejected, "pg-too-many-connections", Server,
        "PostgreSQL refused the connection with SQLSTATE 53300: too many connections (max_connections, or a role's or database's connection limit).",
        "max_connections, connection limits and pooling on the server.";
    /// PostgreSQL SQLSTATE 57P03.
    PgStartingUp = Rejected, "pg-starting-up", Server,
        "PostgreSQL is not accepting connections now (SQLSTATE 57P03): the database system is starting up, shutting down or recovering.",
        "The server's state and log.";
    /// Redis -DENIED: protected mode.
    RedisProtectedMode = Rejected, "redis-protected-mode", Server,
        "Redis refused a client from another host with -DENIED: protected mode is on and no password is set.",
        "Redis' bind, protected-mode and requirepass settings on the server.";
    /// Redis -NOAUTH, -WRONGPASS, -NOPERM.
    RedisAuthRequired = Rejected, "redis-auth-required", Client,
        "Redis refused the client's command: -NOAUTH (authentication required), -WRONGPASS (wrong user or password) or -NOPERM (the user may not run it).",
        "The client's Redis password and ACL user.";
    /// Redis -ERR max number of clients reached.
    RedisMaxClients = Rejected, "redis-max-clients", Server,
        "Redis refused the connection: -ERR max number of clients reached (maxclients).",
        "maxclients and the connections held open (`CLIENT LIST`) on the server.";
    /// SMTP 421.
    SmtpServiceUnavailable = Rejected, "smtp-service-unavailable", Server,
        "The SMTP server answered 421: service not available, closing (overloaded, shutting down, too many connections).",
        "The mail server's connection limits and log.";
    /// SMTP 554 in the greeting.
    SmtpRejected = Rejected, "smtp-rejected", Server,
        "The SMTP server answered 554: it refuses this client (a blocklist or a policy on the client's address).",
        "The mail server's client restrictions and blocklists for the client's address.";
    /// FTP 421.
    FtpServiceUnavailable = Rejected, "ftp-service-unavailable", Server,
        "The FTP server answered 421: service not available (too many users, or too many connections from the client's address).",
        "The FTP server's connection limits and log.";
    /// FTP 530.
    FtpLoginDenied = Rejected, "ftp-login-denied", Client,
        "The FTP server answered 530, not logged in: the user is refused, or anonymous login is not allowed.",
        "The client's user name and password, and the server's user lists.";
    /// SSH: `Exceeded MaxStartups`.
    SshMaxStartups = Rejected, "ssh-max-startups", Server,
        "The SSH server wrote 'Exceeded MaxStartups' and closed: too many unauthenticated connections at once.",
        "MaxStartups in sshd_config, and the connections in progress (a scan, a burst of clients).";
    /// SSH: `Not allowed at this time`.
    SshNotAllowed = Rejected, "ssh-not-allowed", Server,
        "The SSH server wrote 'Not allowed at this time' and closed: it penalizes the client's address (OpenSSH PerSourcePenalties, after failed logins).",
        "sshd's PerSourcePenalties and its log for the client's address.";
    /// SSH: banner, then close.
    SshClosedAfterBanner = Rejected, "ssh-closed-after-banner", Server,
        "The SSH server sent its banner and closed before the key exchange: it turned the client away (connection limits, access rules, tcpwrappers).",
        "sshd's log and access rules (MaxStartups, PerSourcePenalties, AllowUsers, tcpwrappers) on the server.";

    // mismatch
    /// TLS ClientHello answered in plaintext.
    TlsToPlaintext = Mismatch, "tls-to-plaintext", Client,
        "The client spoke TLS; the server answered in plaintext.",
        "Use the plaintext protocol, or the service's TLS port.";
    /// Plaintext answered with a TLS record.
    PlaintextToTls = Mismatch, "plaintext-to-tls", Client,
        "The client spoke plaintext; the server answered with TLS.",
        "Use TLS (`https://`) in the client.";
    /// A fatal protocol_version alert: no TLS version both sides accept.
    TlsVersionMismatch = Mismatch, "tls-version-mismatch", Client,
        "A side refused the TLS version the other offered or chose (fatal alert protocol_version): no version both accept (tls_client_version, tls_server_version).",
        "The TLS versions the client offers (`--tls-max`, `-tls1_2`, MinProtocol) against the server's.";
    /// The server refused the ClientHello with handshake_failure or insufficient_security.
    TlsNoCommonCipher = Mismatch, "tls-no-common-cipher", Client,
        "The server answered the ClientHello with a fatal handshake_failure or insufficient_security alert: no cipher suite (or group, signature algorithm) both sides accept.",
        "The cipher suites, groups and signature algorithms the client offers against the server's (`openssl s_client -cipher`, the server's cipher list).";
    /// SSH on one side only.
    ProtocolMismatch = Mismatch, "protocol-mismatch", Client,
        "The client and the server speak different protocols: the server greeted with an SSH banner and the client sent text (an HTTP request to an SSH port: OpenSSH answers 'Protocol mismatch.'), or an SSH client met an HTTP server.",
        "The port the client uses (`client_first_bytes`, `server_first_bytes`): the service it meant is elsewhere.";
    /// The server closed on the ClientHello without a TLS answer.
    TlsHelloClosed = Mismatch, "tls-hello-closed", Client,
        "The server closed on the client's TLS hello without a TLS answer: a plaintext service, or one refusing the hello.",
        "The protocol the service speaks on that port.";

    // refused
    /// The RST's hop count matches the server's own packets.
    HostReset = Refused, "host-reset", Server,
        "The SYN was answered by a reset from the server itself: nothing listens on that port, or a firewall on the server rejects with tcp-reset.",
        "`ss -ltn` and the firewall rules on the server.";
    /// The RST's hop count differs from the server's own packets.
    PathReset = Refused, "path-reset", Path,
        "The reset did not come from the server (its hop count differs from the server's own packets): a firewall, load balancer or IPS on the path forged it.",
        "Firewalls and middleboxes between client and server.";
    /// No packet of the server to compare the RST with.
    Reset = Refused, "reset", Server,
        "The SYN was answered by a reset; the capture had no earlier packet of the server to tell whether the server or the path sent it.",
        "Both: `ss -ltn` on the server, and firewalls on the path.";
    /// SCTP: the INIT was answered by an ABORT.
    Abort = Refused, "abort", Server,
        "An SCTP INIT was answered by an ABORT: no endpoint listens on that port (Linux answers so, with the T bit set and no cause), or the server refused the association (`abort_cause`, e.g. out-of-resource).",
        "That an SCTP service listens on the port (`ss -lS` on the server, the sctp module loaded) and the firewall rules.";

    // unreachable: ICMPv4 type 3 codes (RFC 792, RFC 1122, RFC 1812), then ICMPv6 type 1
    // codes (RFC 4443) that have no ICMPv4 twin
    /// ICMPv4 code 0.
    NetUnreachable = Unreachable, "net-unreachable", Path,
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).";
    /// ICMPv4 code 1.
    HostUnreachable = Unreachable, "host-unreachable", Server,
        "A router reported the host unreachable: it is down or absent on the last router's network.",
        "Is the host up, is its address right (ARP / neighbour table on the last router).";
    /// ICMPv4 code 2.
    ProtocolUnreachable = Unreachable, "protocol-unreachable", Server,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// ICMPv4 code 3, ICMPv6 code 4.
    PortUnreachable = Unreachable, "port-unreachable", Server,
        "An ICMP port-unreachable came back: nothing listens on that port, or a REJECT rule.",
        "`ss -lun` / `ss -ltn` and the firewall on the target.";
    /// ICMPv4 code 4 (never a verdict: path MTU news; kept for the code table. About a
    /// tunnel's outer packet it is `tunnel-mtu`).
    FragmentationNeeded = Unreachable, "fragmentation-needed", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// ICMPv4 code 5.
    SourceRouteFailed = Unreachable, "source-route-failed", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// ICMPv4 code 6.
    NetUnknown = Unreachable, "net-unknown", Path,
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).";
    /// ICMPv4 code 7.
    HostUnknown = Unreachable, "host-unknown", Server,
        "A router reported the host unreachable: it is down or absent on the last router's network.",
        "Is the host up, is its address right (ARP / neighbour table on the last router).";
    /// ICMPv4 code 8.
    SourceHostIsolated = Unreachable, "source-host-isolated", Path,
        "A router reported the host unreachable: it is down or absent on the last router's network.",
        "Is the host up, is its address right (ARP / neighbour table on the last router).";
    /// ICMPv4 code 9.
    NetProhibited = Unreachable, "net-prohibited", Path,
        "An ICMP 'administratively prohibited' came back: a firewall rule rejects the traffic.",
        "The firewall of the host that sent the ICMP error (the `reporter` in the evidence).";
    /// ICMPv4 code 10.
    HostProhibited = Unreachable, "host-prohibited", Path,
        "An ICMP 'administratively prohibited' came back: a firewall rule rejects the traffic.",
        "The firewall of the host that sent the ICMP error (the `reporter` in the evidence).";
    /// ICMPv4 code 11.
    NetUnreachableForTos = Unreachable, "net-unreachable-for-tos", Path,
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).";
    /// ICMPv4 code 12.
    HostUnreachableForTos = Unreachable, "host-unreachable-for-tos", Server,
        "A router reported the host unreachable: it is down or absent on the last router's network.",
        "Is the host up, is its address right (ARP / neighbour table on the last router).";
    /// ICMPv4 code 13, ICMPv6 code 1.
    AdminProhibited = Unreachable, "admin-prohibited", Path,
        "An ICMP 'administratively prohibited' came back: a firewall rule rejects the traffic.",
        "The firewall of the host that sent the ICMP error (the `reporter` in the evidence).";
    /// ICMPv4 code 14.
    HostPrecedenceViolation = Unreachable, "host-precedence-violation", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// ICMPv4 code 15.
    PrecedenceCutoff = Unreachable, "precedence-cutoff", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// ICMPv6 code 0.
    NoRoute = Unreachable, "no-route", Path,
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).";
    /// ICMPv6 code 2.
    BeyondScope = Unreachable, "beyond-scope", Path,
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).";
    /// ICMPv6 code 3.
    AddressUnreachable = Unreachable, "address-unreachable", Server,
        "A router reported the host unreachable: it is down or absent on the last router's network.",
        "Is the host up, is its address right (ARP / neighbour table on the last router).";
    /// ICMPv6 code 5.
    SourcePolicyFailed = Unreachable, "source-policy-failed", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// ICMPv6 code 6.
    RejectRoute = Unreachable, "reject-route", Path,
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).";
    /// ICMPv6 code 7.
    SourceRoutingHeaderError = Unreachable, "source-routing-header-error", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    /// A code no RFC names.
    UnreachableUnknownCode = Unreachable, "unreachable-unknown-code", Path,
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.";
    // unreachable: errors about the tunnel the conversation travels in (the quote is the
    // tunnel's outer packet)
    /// Net, host, port, protocol unreachable (or another code) about the outer packet.
    TunnelEndpointUnreachable = Unreachable, "tunnel-endpoint-unreachable", Path,
        "The conversation travels in a tunnel, and an ICMP destination-unreachable came back about the tunnel's outer packet: the far tunnel endpoint (`tunnel_error.outer`) is unreachable (no route, host down) or does not take the tunnel (port-unreachable: no VXLAN/Geneve/GTP-U socket; protocol-unreachable: no GRE/IPIP). The inner packet never reached the far end.",
        "The far tunnel endpoint and the underlay's routing to it (`tunnel_error`: the outer endpoints, the ICMP code and its reporter).";
    /// Administratively prohibited (ICMPv4 codes 9, 10, 13; ICMPv6 code 1) about the outer
    /// packet.
    TunnelProhibited = Unreachable, "tunnel-prohibited", Path,
        "The conversation travels in a tunnel, and an ICMP 'administratively prohibited' came back about the tunnel's outer packet: a firewall on the underlay rejects the tunnel's traffic (its UDP port, or GRE/IPIP as a protocol).",
        "The firewall of the reporter (`tunnel_error`): it must let the tunnel's outer packets through between the tunnel endpoints.";
    /// Fragmentation needed (ICMPv4 type 3 code 4) or packet too big (ICMPv6 type 2) about the
    /// outer packet.
    TunnelMtu = Unreachable, "tunnel-mtu", Path,
        "The conversation travels in a tunnel, and an ICMP 'fragmentation needed' / 'packet too big' came back about the tunnel's outer packet: with the tunnel's headers the packet was too big for a link of the underlay (`icmp_mtu`), and it was dropped. The tunnel endpoint was told, not the inner sender: unless the tunnel passes it on, the conversation's big packets keep vanishing (the classic tunnel MTU black hole).",
        "The MTU inside the tunnel (interface MTU minus the tunnel's headers: 50 bytes for VXLAN over IPv4, 24 or more for GRE, 20 for IPIP), or MSS clamping on the tunnel.";

    // time-exceeded
    /// ICMP time exceeded in transit.
    TtlExceeded = TimeExceeded, "ttl-exceeded", Path,
        "The packet's TTL ran out on the way: a routing loop or a too-small initial TTL.",
        "`traceroute` to the server; routing on the path.";
    /// ICMP time exceeded in transit, about the tunnel's outer packet.
    TunnelTtlExceeded = TimeExceeded, "tunnel-ttl-exceeded", Path,
        "The conversation travels in a tunnel, and the TTL of the tunnel's outer packet ran out on the underlay: a routing loop between the tunnel endpoints, or a tunnel that sends its outer packets with a too-small TTL.",
        "`traceroute` between the tunnel endpoints (`tunnel_error.outer`); the tunnel's TTL setting.";

    // unanswered
    /// No answer, from a host that answers other traffic.
    Filtered = Unanswered, "filtered", Path,
        "SYNs got no answer, from a host that answers other traffic: a firewall silently drops this port.",
        "DROP rules on the path and on the server.";
    /// No answer, and nobody answered ARP/ND for the host.
    HostDown = Unanswered, "host-down", Server,
        "SYNs got no answer and nobody answered ARP / neighbour discovery for the host: it is down or absent.",
        "Is the host up, is its address right.";
    /// No answer, and nothing else of the host in the capture.
    NoResponse = Unanswered, "no-response", Server,
        "SYNs got no answer and the capture shows nothing else of the host.",
        "A filtering firewall, a host that is down, a wrong route.";
    /// The capture ended before the timeout.
    CaptureEnded = Unanswered, "capture-ended", Capture,
        "The capture ended before the timeout: no answer yet, but it cannot tell a drop from a slow answer.",
        "Capture longer.";
    /// The client reset (TCP) or aborted (SCTP) its own attempt before any answer.
    ClientAborted = Unanswered, "client-aborted", Capture,
        "The client ended its attempt while nothing of the server is in the capture. TCP: an RST, usually its answer to a SYN-ACK the capture missed (a stack does not reset a connection it abandons before an answer), else a stale connection. SCTP: an ABORT carrying the server's verification tag, which the client could only have learned from an INIT-ACK the capture missed.",
        "Capture both directions (asymmetric routing, a one-sided capture); then the client.";
    /// SCTP: the client aborted its one INIT before any answer reached it, and before a
    /// timeout could tell whether one would come.
    ClientGaveUp = Unanswered, "client-gave-up", Client,
        "SCTP: the client aborted its attempt after a single INIT, sooner than the timeout, and its ABORT does not carry the server's verification tag (tag 0, or its own with the T bit): it never learned that tag, so no INIT-ACK had reached it. It gave up too soon to tell a dropped INIT from a slow answer; its application aborted the attempt (SO_LINGER 0, SCTP_ABORT), where a plain close or exhausted retries send nothing.",
        "The client's connect timeout; then, if it is long enough, the path to the server as for `no-response`.";
    /// Pushed out of a full table before its timeout.
    EvictedBeforeTimeout = Unanswered, "evicted-before-timeout", Capture,
        "Pushed out of a full flow table, or replaced by a new SYN, before its timeout.",
        "Nothing, or raise `--max-flows`.";
    /// Replaced by a new SYN before its timeout.
    Superseded = Unanswered, "superseded", None,
        "Pushed out of a full flow table, or replaced by a new SYN, before its timeout.",
        "Nothing, or raise `--max-flows`.";

    // dns-failure
    /// RCODE 3.
    Nxdomain = DnsFailure, "nxdomain", Server,
        "The DNS server says the name does not exist.",
        "The spelling and the zone (`dig @SERVER NAME`).";
    /// RCODE 2.
    Servfail = DnsFailure, "servfail", Server,
        "The DNS server could not resolve the name (SERVFAIL).",
        "Its upstream servers and DNSSEC (`dig @SERVER NAME +dnssec`).";
    /// RCODE 5.
    DnsRefused = DnsFailure, "refused", Server,
        "The DNS server refused to answer this client.",
        "Its allow-recursion / ACL settings.";
    /// RCODE 1.
    Formerr = DnsFailure, "formerr", Server,
        "The DNS server rejected the query as malformed or not implemented.",
        "The client's resolver and the server's log.";
    /// RCODE 4.
    Notimp = DnsFailure, "notimp", Server,
        "The DNS server rejected the query as malformed or not implemented.",
        "The client's resolver and the server's log.";
    /// A query nobody answered.
    DnsNoResponse = DnsFailure, "no-response", Server,
        "Nobody answered the DNS query.",
        "The resolver, and the path to its port 53.";
    /// A query not answered before the capture ended.
    DnsCaptureEnded = DnsFailure, "capture-ended", Capture,
        "The capture ended before the DNS query was answered: no answer yet, but it cannot tell a lost query from a slow answer.",
        "Capture longer.";

    // answered
    /// UDP: the server answered.
    ReplySeen = Answered, "reply-seen", None,
        "UDP: the server answered.",
        "Nothing.";

    /// NXDOMAIN to a discovery probe (WPAD, ISATAP, DNS-SD, service and reverse lookups).
    DiscoveryName = Answered, "discovery-name", None,
        "DNS answered NXDOMAIN to a discovery probe (`dns_discovery`: WPAD, ISATAP, DNS-SD browsing, a service or reverse lookup, a .local name, a canary name): software asks these whether or not they exist, and NXDOMAIN is the answer it expects.",
        "Nothing.";

    /// NXDOMAIN for one step of a resolver's search list.
    SearchList = Answered, "search-list", None,
        "DNS answered NXDOMAIN (or REFUSED, SERVFAIL) to one step of a resolver's search list: the same client also asked the name it was made from (`dns_search_base`), or a search-list form of this name was answered (`dns_search_answered`). One lookup, several names; its outcome is the other name's verdict.",
        "Nothing.";

    // one-way
    /// UDP of a one-way protocol, nothing back.
    OneWayProtocol = OneWay, "one-way-protocol", None,
        "UDP of a protocol that never answers on the same ports (syslog, flow export, tunnels, BFD, discovery): nothing came back, as nothing should.",
        "Nothing (an ICMP error would have made it `unreachable`).";

    // partial
    /// A ping answered, but not every request.
    EchoLoss = Answered, "echo-loss", Path,
        "The host answered the ping, but not every echo request: `echo_lost` of `echo_requests` went unanswered (sequence numbers `echo_first_seq` to `echo_last_seq`): packet loss on the path, or ICMP rate limiting at the target or a router.",
        "Loss on the path (`mtr`), ICMP rate limits on the target (`net.ipv4.icmp_ratelimit`) and routers.";

    /// The capture began mid-conversation.
    Midstream = Partial, "midstream", Capture,
        "The capture began mid-conversation.",
        "Capture earlier.";
    /// SYN-ACK seen, the client's ACK never.
    HandshakeIncomplete = Partial, "handshake-incomplete", Capture,
        "Part of the handshake is missing from the capture.",
        "Capture drops, asymmetric routing, a one-sided capture.";
    /// The server talked but its SYN-ACK is not in the capture.
    SynAckNotCaptured = Partial, "syn-ack-not-captured", Capture,
        "Part of the handshake is missing from the capture.",
        "Capture drops, asymmetric routing, a one-sided capture.";
    /// The client went on as if answered; nothing of the server captured.
    ServerSideNotCaptured = Partial, "server-side-not-captured", Capture,
        "Part of the handshake is missing from the capture.",
        "Capture drops, asymmetric routing, a one-sided capture.";
    /// The server's SYN-ACK and packets, nothing of the client.
    ClientSideNotCaptured = Partial, "client-side-not-captured", Capture,
        "The capture holds the server's side only (its SYN-ACK, nothing of the client): a one-sided capture or asymmetric routing.",
        "Capture both directions (the client's packets take another path, or the capture filter leaves them out).";

    /// An ICMP error quoted the server's reply back.
    ReplyUndeliverable = Partial, "reply-undeliverable", Client,
        "An ICMP error came back about the server's reply, not the client's request: the reply could not reach the client (its port was closed because it had given up waiting, or something on its side turned the reply away). The conversation's own packets are not in the capture.",
        "The client's timeout against how long the server takes to answer (a late reply); then the path back to the client (`reporter` in the evidence).";
    /// The server reset during the handshake, after its SYN-ACK.
    ServerResetHandshake = Partial, "server-reset-handshake", Capture,
        "The server reset after its own SYN-ACK while the client's ACK is not in the capture: packets of the handshake are missing, or something on the path reset it (a server that resets on a full accept queue does so after the client's ACK: that is `rejected`).",
        "Capture drops, asymmetric routing; then firewalls on the path.";
}

/// What an outcome counts as, by the one rule the summary, the incidents and the report share
/// (README, "What is a failure").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Judgement {
    /// The attempt did not work, and the evidence names who to blame.
    Failure,
    /// The capture cannot tell (it ended, began late, missed packets, or the flow table
    /// pushed the attempt out): neither a failure nor a success.
    Undecided,
    /// It worked, or what looked like a failure is how the protocol behaves (an expected
    /// NXDOMAIN, a half-open probe, a reply its client no longer wanted).
    Fine,
}

impl Judgement {
    /// The word used in outputs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Judgement::Failure => "failure",
            Judgement::Undecided => "undecided",
            Judgement::Fine => "fine",
        }
    }
}

impl Cause {
    /// The cause with this word under this verdict (for words read back from logs).
    pub fn parse(kind: VerdictKind, word: &str) -> Option<Cause> {
        Cause::ALL.iter().copied().find(|c| c.kind() == kind && c.word() == word)
    }

    /// Whether this outcome is a failure, undecided or fine: decided by the party the cause
    /// blames. A cause that blames the capture decides nothing; one that blames nobody, or a
    /// verdict that is not a failure kind (established, answered, partial), is fine; every
    /// other cause of a failure kind blames the client, the server or the path, and is one.
    pub const fn judgement(self) -> Judgement {
        match (self.kind().is_failure(), self.blames()) {
            (_, Party::Capture) => Judgement::Undecided,
            (true, Party::Client | Party::Server | Party::Path) => Judgement::Failure,
            _ => Judgement::Fine,
        }
    }

    /// Whether this outcome is a failure by [`judgement`](Self::judgement).
    pub const fn is_failure(self) -> bool {
        matches!(self.judgement(), Judgement::Failure)
    }

    /// Names an ICMPv4 destination-unreachable code (RFC 792, RFC 1122, RFC 1812).
    pub fn icmp4_unreachable(code: u8) -> Cause {
        match code {
            0 => Cause::NetUnreachable,
            1 => Cause::HostUnreachable,
            2 => Cause::ProtocolUnreachable,
            3 => Cause::PortUnreachable,
            4 => Cause::FragmentationNeeded,
            5 => Cause::SourceRouteFailed,
            6 => Cause::NetUnknown,
            7 => Cause::HostUnknown,
            8 => Cause::SourceHostIsolated,
            9 => Cause::NetProhibited,
            10 => Cause::HostProhibited,
            11 => Cause::NetUnreachableForTos,
            12 => Cause::HostUnreachableForTos,
            13 => Cause::AdminProhibited,
            14 => Cause::HostPrecedenceViolation,
            15 => Cause::PrecedenceCutoff,
            _ => Cause::UnreachableUnknownCode,
        }
    }

    /// Whether a destination-unreachable code says a firewall refused (administratively
    /// prohibited: ICMPv4 codes 9, 10, 13; ICMPv6 code 1).
    pub fn icmp_prohibited(v6: bool, code: u8) -> bool {
        if v6 { code == 1 } else { matches!(code, 9 | 10 | 13) }
    }

    /// Names an ICMPv6 destination-unreachable code (RFC 4443).
    pub fn icmp6_unreachable(code: u8) -> Cause {
        match code {
            0 => Cause::NoRoute,
            1 => Cause::AdminProhibited,
            2 => Cause::BeyondScope,
            3 => Cause::AddressUnreachable,
            4 => Cause::PortUnreachable,
            5 => Cause::SourcePolicyFailed,
            6 => Cause::RejectRoute,
            7 => Cause::SourceRoutingHeaderError,
            _ => Cause::UnreachableUnknownCode,
        }
    }

    /// The cause of a DNS response code that is a failure (RFC 1035 §4.1.1), if it is one.
    pub fn dns_rcode(rcode: u8) -> Option<Cause> {
        match rcode {
            1 => Some(Cause::Formerr),
            2 => Some(Cause::Servfail),
            3 => Some(Cause::Nxdomain),
            4 => Some(Cause::Notimp),
            5 => Some(Cause::DnsRefused),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.word())
    }
}

impl serde::Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.word())
    }
}

/// Compares with the word, so `verdict.cause == "host-reset"` reads as the output does.
impl PartialEq<&str> for Cause {
    fn eq(&self, other: &&str) -> bool {
        self.word() == *other
    }
}

impl PartialEq<str> for Cause {
    fn eq(&self, other: &str) -> bool {
        self.word() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_unique_within_its_verdict_and_kebab_case() {
        for (i, a) in Cause::ALL.iter().enumerate() {
            assert!(
                a.word().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{a:?}: {}",
                a.word()
            );
            for b in &Cause::ALL[i + 1..] {
                assert!(a.kind() != b.kind() || a.word() != b.word(), "{a:?} and {b:?}");
            }
            assert_eq!(Cause::parse(a.kind(), a.word()), Some(*a));
        }
    }

    #[test]
    fn every_code_has_a_cause_of_its_verdict() {
        for code in 0..=255 {
            assert_eq!(Cause::icmp4_unreachable(code).kind(), VerdictKind::Unreachable);
            assert_eq!(Cause::icmp6_unreachable(code).kind(), VerdictKind::Unreachable);
            if let Some(c) = Cause::dns_rcode(code) {
                assert_eq!(c.kind(), VerdictKind::DnsFailure);
            }
        }
        assert_eq!(Cause::icmp4_unreachable(13), Cause::icmp6_unreachable(1));
        assert_eq!(Cause::icmp4_unreachable(3), Cause::icmp6_unreachable(4));
        assert_eq!(Cause::icmp4_unreachable(16), Cause::UnreachableUnknownCode);
        assert_eq!(Cause::dns_rcode(0), None);
    }

    /// Every verdict kind has causes, and only the normal outcomes blame nobody.
    #[test]
    fn kinds_have_causes_and_failures_blame_someone() {
        for kind in VerdictKind::ALL {
            assert!(Cause::ALL.iter().any(|c| c.kind() == kind), "{kind}");
        }
        for c in Cause::ALL {
            if c.kind().is_failure() && *c != Cause::Superseded {
                assert_ne!(c.blames(), Party::None, "{c:?}");
            }
            assert!(c.meaning().ends_with('.') && c.check().ends_with('.'), "{c:?}");
        }
    }
}

/// The README's verdict table lists exactly the causes of [`Cause::ALL`], each under its verdict.
#[cfg(test)]
mod readme {
    use super::*;
    use std::collections::BTreeSet;

    const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));

    /// `(verdict, cause)` pairs of the table under "What the verdicts mean": a row's first cell
    /// names the verdict (empty: the row above's), every backticked word of its second cell is
    /// a cause.
    fn documented() -> BTreeSet<(String, String)> {
        let section = README
            .split("\n## What the verdicts mean")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .and_then(|s| s.split("\n### ").next())
            .expect("the README has the verdict section");
        let mut pairs = BTreeSet::new();
        let mut verdict = String::new();
        for row in section.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let first = cells[0].trim_start_matches('|').trim();
            if first == "verdict" {
                continue;
            }
            if !first.is_empty() {
                verdict = first.trim_matches('`').to_string();
            }
            let words = cells.get(1).copied().unwrap_or_default().split('`').skip(1).step_by(2);
            for w in words {
                pairs.insert((verdict.clone(), w.to_string()));
            }
        }
        pairs
    }

    #[test]
    fn the_readme_table_lists_every_cause_and_no_other() {
        let want: BTreeSet<(String, String)> =
            Cause::ALL.iter().map(|c| (c.kind().to_string(), c.word().to_string())).collect();
        let have = documented();
        let missing: Vec<_> = want.difference(&have).collect();
        let extra: Vec<_> = have.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "README lacks {missing:?}, has extra {extra:?}"
        );
    }
}
