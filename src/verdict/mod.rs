//! Verdicts: what happened to one connection attempt, the most likely cause, the evidence
//! (facts a person can check in Wireshark) and a one-line hint.

use std::fmt;

use crate::capture::Origin;
use crate::decode::{Proto, Tunnel};
use crate::flow::Endpoint;
use crate::time::Timestamp;

mod cause;
mod evidence;
mod hint;

pub use cause::{Cause, Judgement, Party};
pub use evidence::{Evidence, Fact};
pub use hint::{Hint, HintPart};

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
    /// UDP of a protocol that never answers on the same 5-tuple (syslog, flow export,
    /// tunnels, BFD, …): nothing came back, as nothing should. Not a failure.
    OneWay,
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
    pub const ALL: [VerdictKind; 11] = [
        VerdictKind::Established,
        VerdictKind::Answered,
        VerdictKind::OneWay,
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
            VerdictKind::OneWay => "one-way",
            VerdictKind::Rejected => "rejected",
            VerdictKind::Mismatch => "mismatch",
            VerdictKind::DnsFailure => "dns-failure",
            VerdictKind::Partial => "partial",
        }
    }

    /// Whether verdicts of this kind say that the attempt failed. Which of them count as
    /// failures is [`Cause::judgement`]'s to say (a wait the capture cut short decides nothing).
    pub const fn is_failure(self) -> bool {
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
    /// The tunnel the conversation was carried in (outer endpoints client side first).
    pub tunnel: Option<Tunnel>,
    /// The side that opened the attempt.
    pub client: Endpoint,
    /// The side it tried to reach.
    pub server: Endpoint,
    /// The most likely reason; it names what happened too ([`Cause::kind`]).
    pub cause: Cause,
    /// The facts that led there.
    pub evidence: Evidence,
    /// What to check next.
    pub hint: Hint,
    /// The state Zeek's conn.log would give this conversation (`S0`, `REJ`, `SF`, …), for
    /// users who cross-check with Zeek.
    pub conn_state: &'static str,
    /// Live: this line corrects an earlier line of the same attempt (same `attempt` number),
    /// whose verdict later packets contradicted (see the README's output contract): the
    /// cause that line gave, so counts can take it back.
    pub revises: Option<Cause>,
}

impl Verdict {
    /// A verdict for unit tests: `cause` between `client` and `server`, first seen at 1 s, no
    /// evidence (tests add what they need).
    #[cfg(test)]
    pub(crate) fn for_test(cause: Cause, proto: Proto, client: Endpoint, server: Endpoint) -> Self {
        Verdict {
            id: u64::from(client.port),
            ts: Timestamp::from_secs_f64(1.0),
            last_ts: Timestamp::from_secs_f64(1.0),
            first_packet: Origin::default(),
            proto,
            vlan: 0,
            tunnel: None,
            client,
            server,
            cause,
            evidence: Evidence::new(),
            hint: Hint::new(cause, client, server),
            conn_state: "S0",
            revises: None,
        }
    }

    /// What happened (the `verdict` field): the kind its cause belongs to.
    pub fn kind(&self) -> VerdictKind {
        self.cause.kind()
    }
}
