//! Conversations whose verdict is out, kept a while to absorb late packets (the last ACK, a
//! retransmitted SYN crossing the RST) instead of opening bogus attempts.

use super::payload;
use super::tcp::is_syn_only;
use crate::decode::{Packet, Transport};
use crate::flow::{Endpoint, FlowKey};
use crate::time::{Duration, Timestamp};

/// What a decided conversation still reads: whether it is TCP, and the client's initial
/// sequence number (a SYN with another one is a new attempt) — for UDP DNS, its last query ID
/// (a query with another one is a new lookup).
#[derive(Clone, Copy, Debug)]
pub(super) struct Lingering {
    pub(super) tcp: bool,
    pub(super) client_isn: Option<u32>,
}

/// A conversation whose verdict is out, kept for a while to absorb late packets (the last
/// ACK, a retransmitted SYN crossing the RST): only what that needs, about a third of an open
/// attempt's size, so that the many a flood leaves behind stay small.
pub(super) struct Decided {
    pub(super) key: FlowKey,
    pub(super) client: Endpoint,
    pub(super) deadline: Timestamp,
    pub(super) timer_at: Timestamp,
    /// How long it lingers after its last packet.
    pub(super) linger_span: Duration,
    /// TCP: the client's initial sequence number (a SYN with another one is a new attempt).
    pub(super) client_isn: Option<u32>,
    pub(super) tcp: bool,
}

impl Decided {
    /// Whether `p` opens a new attempt on this 5-tuple: a SYN from the client with another
    /// initial sequence number, or any SYN from the other side; a DNS query from the client
    /// with another ID (resolvers that keep one port for many lookups: each is judged).
    pub(super) fn starts_new_attempt(&self, p: &Packet) -> bool {
        match &p.transport {
            // A ping's request with another sequence number than its last: the ping went on
            // after its verdict (a new attempt, as a new SYN would be).
            Transport::Echo(e) => {
                return e.request
                    && p.src == self.client.ip
                    && self.client_isn.is_some_and(|s| s != u32::from(e.seq));
            }
            // An INIT with another initiate tag: a new association.
            Transport::Sctp(c) => {
                let from_client = p.src == self.client.ip && c.src_port == self.client.port;
                return c.has(crate::decode::sctp_chunk::INIT)
                    && (!from_client || self.client_isn.is_none_or(|t| t != c.initiate_tag));
            }
            _ => {}
        }
        if let Transport::Udp(u) = &p.transport {
            let from_client = p.src == self.client.ip && u.src_port == self.client.port;
            let query = payload::dns_header(u.payload.as_slice())
                .filter(|_| payload::is_dns_query(u.payload.as_slice()));
            return match (from_client, query, self.client_isn) {
                (true, Some(h), Some(last)) => u32::from(h.id) != last,
                _ => false,
            };
        }
        let Transport::Tcp(t) = &p.transport else { return false };
        if !self.tcp || !is_syn_only(t) {
            return false;
        }
        let from_client = p.src == self.client.ip && t.src_port == self.client.port;
        !from_client || self.client_isn.is_none_or(|isn| t.seq != isn)
    }

    /// A late packet: absorbed, and the conversation kept as long again as its verdict asked
    /// for.
    pub(super) fn late_packet(&mut self, p: &Packet) {
        self.deadline = self.deadline.max(p.ts.add(self.linger_span));
    }
}
