//! UDP's side of an attempt: requests, the first reply, and the DNS queries a conversation
//! carries, each matched to its response by transaction ID.

use super::payload::DnsHeader;
use crate::capture::Origin;
use crate::decode::PayloadPrefix;
use crate::time::{Duration, Timestamp};

#[derive(Clone, Debug, Default)]
pub(super) struct UdpState {
    pub(super) last_request_ts: Timestamp,
    /// The gap between the client's last two datagrams (its retry schedule, see `retry_wait`).
    pub(super) request_gap: Duration,
    /// Datagrams the client sent.
    pub(super) requests: u32,
    pub(super) first_reply: Option<(Timestamp, Origin)>,
    /// The conversation carries DNS: the first query and the transaction IDs asked.
    pub(super) dns: Option<Box<DnsQueries>>,
    /// The port of a one-way protocol (`--one-way`) the conversation is on, if any: nothing
    /// back is then no failure.
    pub(super) one_way: Option<u16>,
}

/// DNS queries on one conversation (a resolver often asks A and AAAA on one socket), each
/// matched to its response by transaction ID.
#[derive(Clone, Debug, Default)]
pub(super) struct DnsQueries {
    pub(super) queries: Vec<DnsQuery>,
}

/// Most queries followed per conversation (more are counted in `extra`, not followed).
pub(super) const DNS_QUERIES_KEPT: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(super) struct DnsQuery {
    pub(super) id: u16,
    pub(super) question: PayloadPrefix,
    pub(super) packet: Origin,
    pub(super) reply: Option<(DnsHeader, Origin)>,
}

impl DnsQueries {
    pub(super) fn ask(&mut self, id: u16, question: PayloadPrefix, packet: Origin) {
        if self.queries.len() < DNS_QUERIES_KEPT && !self.queries.iter().any(|q| q.id == id) {
            self.queries.push(DnsQuery { id, question, packet, reply: None });
        }
    }

    /// Records a response; true when it answered a query still open.
    pub(super) fn answer(&mut self, h: DnsHeader, packet: Origin) -> bool {
        match self.queries.iter_mut().find(|q| q.id == h.id && q.reply.is_none()) {
            Some(q) => {
                q.reply = Some((h, packet));
                true
            }
            None => false,
        }
    }

    pub(super) fn all_answered(&self) -> bool {
        self.queries.iter().all(|q| q.reply.is_some())
    }
}
