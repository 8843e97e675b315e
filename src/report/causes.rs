//! What each cause means and what to check, in plain words for the on-call engineer. Taken
//! from the README's verdict table; one entry per cause word the tracker emits (a test checks
//! the list).

/// `(verdict, causes, meaning, what to check)`.
pub const CAUSES: &[(&str, &[&str], &str, &str)] = &[
    (
        "established",
        &["closed"],
        "The connection worked and was closed normally (FIN from both sides).",
        "Nothing.",
    ),
    (
        "established",
        &["reset-by-client", "reset-by-server"],
        "The connection worked, data flowed, then that side reset it (RST).",
        "The application on that side: its log.",
    ),
    (
        "established",
        &["still-open", "idle", "port-reused", "evicted"],
        "The connection worked; it was still open at the end, went idle, was replaced on the same ports, or pushed out of a full table.",
        "Nothing.",
    ),
    (
        "established",
        &["slow-accept"],
        "It got through, but only after SYN retransmissions: the server's SYN backlog or accept queue was full.",
        "`ss -ltn` Recv-Q and `nstat -az TcpExtListenOverflows` on the server.",
    ),
    (
        "established",
        &["syn-ack-retransmitted"],
        "The server resent its SYN-ACK after the client's ACK: its accept queue was full.",
        "`nstat -az TcpExtListenOverflows` on the server; the service's capacity.",
    ),
    (
        "established",
        &["zero-window"],
        "The server advertised a zero window: its application was not reading.",
        "The server application (stuck, overloaded).",
    ),
    (
        "rejected",
        &["closed-before-request", "reset-before-request"],
        "The server accepted the connection, then closed or reset it before the client sent anything: the application turned the client away.",
        "Access rules (allow-lists, tcpwrappers), connection limits, the service's log.",
    ),
    (
        "rejected",
        &["closed-after-request", "reset-after-request"],
        "The client sent its request; the server closed or reset without answering a byte.",
        "The service's log.",
    ),
    (
        "rejected",
        &["tls-alert"],
        "The server's first bytes were a TLS fatal alert: it refused the TLS handshake.",
        "TLS versions, ciphers, SNI, certificates (`openssl s_client -connect HOST:PORT`).",
    ),
    (
        "rejected",
        &["http-auth-required"],
        "The server answered HTTP 401 or 407: authentication required.",
        "The client's credentials.",
    ),
    (
        "rejected",
        &["http-forbidden"],
        "The server answered HTTP 403: the request is forbidden.",
        "The server's access rules for that client.",
    ),
    (
        "rejected",
        &["http-overloaded"],
        "The server answered HTTP 429 or 503: overloaded or rate-limiting.",
        "The service's capacity, rate limits and log.",
    ),
    (
        "rejected",
        &["http-client-error", "http-server-error"],
        "The server's first answer was an HTTP 4xx/5xx error.",
        "The service's log.",
    ),
    (
        "mismatch",
        &["tls-to-plaintext"],
        "The client spoke TLS; the server answered in plaintext.",
        "Use the plaintext protocol, or the service's TLS port.",
    ),
    (
        "mismatch",
        &["plaintext-to-tls"],
        "The client spoke plaintext; the server answered with TLS.",
        "Use TLS (`https://`) in the client.",
    ),
    (
        "mismatch",
        &["tls-hello-closed"],
        "The server closed on the client's TLS hello without a TLS answer: a plaintext service, or one refusing the hello.",
        "The protocol the service speaks on that port.",
    ),
    (
        "refused",
        &["host-reset"],
        "The SYN was answered by a reset from the server itself: nothing listens on that port, or a firewall on the server rejects with tcp-reset.",
        "`ss -ltn` and the firewall rules on the server.",
    ),
    (
        "refused",
        &["path-reset"],
        "The reset did not come from the server (its hop count differs from the server's own packets): a firewall, load balancer or IPS on the path forged it.",
        "Firewalls and middleboxes between client and server.",
    ),
    (
        "refused",
        &["reset"],
        "The SYN was answered by a reset; the capture had no earlier packet of the server to tell whether the server or the path sent it.",
        "Both: `ss -ltn` on the server, and firewalls on the path.",
    ),
    (
        "unreachable",
        &["port-unreachable"],
        "An ICMP port-unreachable came back: nothing listens on that port, or a REJECT rule.",
        "`ss -lun` / `ss -ltn` and the firewall on the target.",
    ),
    (
        "unreachable",
        &["admin-prohibited", "net-prohibited", "host-prohibited"],
        "An ICMP 'administratively prohibited' came back: a firewall rule rejects the traffic.",
        "The firewall of the host that sent the ICMP error (the `reporter` in the evidence).",
    ),
    (
        "unreachable",
        &[
            "host-unreachable",
            "address-unreachable",
            "host-unknown",
            "source-host-isolated",
            "host-unreachable-for-tos",
        ],
        "A router reported the host unreachable: it is down or absent on the last router's network.",
        "Is the host up, is its address right (ARP / neighbour table on the last router).",
    ),
    (
        "unreachable",
        &[
            "net-unreachable",
            "no-route",
            "reject-route",
            "net-unknown",
            "net-unreachable-for-tos",
            "beyond-scope",
        ],
        "A router has no route to the destination.",
        "Routing on the path (`ip route get ADDRESS`, `traceroute`).",
    ),
    (
        "unreachable",
        &[
            "protocol-unreachable",
            "source-route-failed",
            "fragmentation-needed",
            "host-precedence-violation",
            "precedence-cutoff",
            "source-policy-failed",
            "source-routing-header-error",
            "unreachable-unknown-code",
        ],
        "An ICMP destination-unreachable with this code came back.",
        "The host or router that sent the ICMP error.",
    ),
    (
        "time-exceeded",
        &["ttl-exceeded"],
        "The packet's TTL ran out on the way: a routing loop or a too-small initial TTL.",
        "`traceroute` to the server; routing on the path.",
    ),
    (
        "unanswered",
        &["filtered"],
        "SYNs got no answer, from a host that answers other traffic: a firewall silently drops this port.",
        "DROP rules on the path and on the server.",
    ),
    (
        "unanswered",
        &["host-down"],
        "SYNs got no answer and nobody answered ARP / neighbour discovery for the host: it is down or absent.",
        "Is the host up, is its address right.",
    ),
    (
        "unanswered",
        &["no-response"],
        "SYNs got no answer and the capture shows nothing else of the host.",
        "A filtering firewall, a host that is down, a wrong route.",
    ),
    (
        "unanswered",
        &["capture-ended"],
        "The capture ended before the timeout: no answer yet, but it cannot tell a drop from a slow answer.",
        "Capture longer.",
    ),
    (
        "unanswered",
        &["client-aborted"],
        "The client reset its own attempt before any answer.",
        "The client (it gave up or was killed).",
    ),
    (
        "unanswered",
        &["evicted-before-timeout", "superseded"],
        "Pushed out of a full flow table, or replaced by a new SYN, before its timeout.",
        "Nothing, or raise `--max-flows`.",
    ),
    (
        "dns-failure",
        &["nxdomain"],
        "The DNS server says the name does not exist.",
        "The spelling and the zone (`dig @SERVER NAME`).",
    ),
    (
        "dns-failure",
        &["servfail"],
        "The DNS server could not resolve the name (SERVFAIL).",
        "Its upstream servers and DNSSEC (`dig @SERVER NAME +dnssec`).",
    ),
    (
        "dns-failure",
        &["refused"],
        "The DNS server refused to answer this client.",
        "Its allow-recursion / ACL settings.",
    ),
    (
        "dns-failure",
        &["formerr", "notimp"],
        "The DNS server rejected the query as malformed or not implemented.",
        "The client's resolver and the server's log.",
    ),
    (
        "dns-failure",
        &["no-response", "capture-ended"],
        "Nobody answered the DNS query.",
        "The resolver, and the path to its port 53.",
    ),
    ("answered", &["reply-seen"], "UDP: the server answered.", "Nothing."),
    ("partial", &["midstream"], "The capture began mid-conversation.", "Capture earlier."),
    (
        "partial",
        &["handshake-incomplete", "syn-ack-not-captured", "server-side-not-captured"],
        "Part of the handshake is missing from the capture.",
        "Capture drops, asymmetric routing, a one-sided capture.",
    ),
    (
        "partial",
        &["client-aborted-handshake", "server-reset-handshake"],
        "A reset ended the handshake (scanners do this).",
        "Nothing, unless unexpected.",
    ),
];

/// What `cause` of `verdict` means and what to check.
pub fn explain(verdict: &str, cause: &str) -> (&'static str, &'static str) {
    CAUSES
        .iter()
        .find(|(v, cs, _, _)| *v == verdict && cs.contains(&cause))
        .map(|(_, _, m, c)| (*m, *c))
        .unwrap_or((
            "A cause this version of the report has no explanation for.",
            "The README's verdict table.",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{icmp4_unreachable_cause, icmp6_unreachable_cause};

    /// Every cause word the tracker emits has an explanation (the word list is
    /// `grep -o '"[a-z-]*"' src/track/*.rs src/verdict.rs`, by verdict).
    #[test]
    fn every_emitted_cause_is_explained() {
        let mut emitted: Vec<(&str, String)> = Vec::new();
        for code in 0..=16 {
            emitted.push(("unreachable", icmp4_unreachable_cause(code).into()));
        }
        for code in 0..=8 {
            emitted.push(("unreachable", icmp6_unreachable_cause(code).into()));
        }
        let by_verdict: &[(&str, &[&str])] = &[
            (
                "established",
                &[
                    "closed",
                    "reset-by-client",
                    "reset-by-server",
                    "still-open",
                    "idle",
                    "port-reused",
                    "evicted",
                    "slow-accept",
                    "syn-ack-retransmitted",
                    "zero-window",
                ],
            ),
            (
                "rejected",
                &[
                    "closed-before-request",
                    "reset-before-request",
                    "closed-after-request",
                    "reset-after-request",
                    "tls-alert",
                    "http-auth-required",
                    "http-forbidden",
                    "http-overloaded",
                    "http-client-error",
                    "http-server-error",
                ],
            ),
            ("mismatch", &["tls-to-plaintext", "plaintext-to-tls", "tls-hello-closed"]),
            ("refused", &["host-reset", "path-reset", "reset"]),
            ("time-exceeded", &["ttl-exceeded"]),
            (
                "unanswered",
                &[
                    "filtered",
                    "host-down",
                    "no-response",
                    "capture-ended",
                    "client-aborted",
                    "evicted-before-timeout",
                    "superseded",
                ],
            ),
            (
                "dns-failure",
                &[
                    "nxdomain",
                    "servfail",
                    "refused",
                    "formerr",
                    "notimp",
                    "no-response",
                    "capture-ended",
                ],
            ),
            ("answered", &["reply-seen"]),
            (
                "partial",
                &[
                    "midstream",
                    "handshake-incomplete",
                    "syn-ack-not-captured",
                    "server-side-not-captured",
                    "client-aborted-handshake",
                    "server-reset-handshake",
                ],
            ),
        ];
        for (v, cs) in by_verdict {
            for c in *cs {
                emitted.push((v, (*c).into()));
            }
        }
        for (v, c) in emitted {
            assert!(
                CAUSES.iter().any(|(ev, cs, _, _)| *ev == v && cs.contains(&c.as_str())),
                "{v} {c}"
            );
        }
    }
}
