//! A ping's side of an attempt: the echo requests of one identifier between two hosts, the
//! replies matched to them by sequence number, round-trip times and losses.

use crate::capture::Origin;
use crate::decode::EchoMessage;
use crate::time::{Duration, Timestamp};

/// Most requests awaiting their reply that are kept to match replies (a ping sends one a
/// second and waits about as long for each): older ones unanswered are lost.
pub(super) const PENDING_KEPT: usize = 16;

#[derive(Clone, Debug, Default)]
pub(super) struct PingState {
    /// The echo identifier (the ping process's).
    pub(super) id: u16,
    pub(super) requests: u32,
    pub(super) replies: u32,
    /// Replies that matched an outstanding request (the others: duplicates, late ones).
    pub(super) answered: u32,
    pub(super) first_request: Option<(Timestamp, Origin, u16)>,
    pub(super) last_request: Option<(Timestamp, u16)>,
    /// The gap between the client's last two requests (its interval, see `retry_wait`).
    pub(super) request_gap: Duration,
    pub(super) first_reply: Option<(Timestamp, Origin)>,
    /// Requests not answered yet, oldest first: sequence number and time.
    pub(super) pending: [(u16, Timestamp); PENDING_KEPT],
    pub(super) pending_len: u8,
    /// Unanswered requests pushed out of `pending` by newer ones (long lost).
    pub(super) lost_early: u32,
    /// Round-trip times of matched replies, in nanoseconds.
    pub(super) rtt_min: i64,
    pub(super) rtt_max: i64,
    pub(super) rtt_sum: i64,
}

impl PingState {
    pub(super) fn new(e: &EchoMessage) -> Self {
        PingState { id: e.id, rtt_min: i64::MAX, ..PingState::default() }
    }

    /// The client's echo request.
    pub(super) fn request(&mut self, ts: Timestamp, origin: Origin, e: &EchoMessage) {
        if let Some((last, _)) = self.last_request
            && ts > last
        {
            self.request_gap = ts.since(last);
        }
        self.requests = self.requests.saturating_add(1);
        if self.first_request.is_none() {
            self.first_request = Some((ts, origin, e.seq));
        }
        if self.last_request.is_none_or(|(t, _)| ts >= t) {
            self.last_request = Some((ts, e.seq));
        }
        let n = usize::from(self.pending_len);
        if n == PENDING_KEPT {
            self.pending.copy_within(1.., 0);
            self.pending[PENDING_KEPT - 1] = (e.seq, ts);
            self.lost_early = self.lost_early.saturating_add(1);
        } else {
            self.pending[n] = (e.seq, ts);
            self.pending_len += 1;
        }
    }

    /// The server's echo reply.
    pub(super) fn reply(&mut self, ts: Timestamp, origin: Origin, e: &EchoMessage) {
        self.replies = self.replies.saturating_add(1);
        if self.first_reply.is_none() {
            self.first_reply = Some((ts, origin));
        }
        let n = usize::from(self.pending_len);
        // The oldest outstanding request of that number (a sequence number wraps at 65 536).
        let Some(i) = self.pending[..n].iter().position(|&(s, _)| s == e.seq) else { return };
        let rtt = ts.since(self.pending[i].1).0.max(0);
        self.pending.copy_within(i + 1..n, i);
        self.pending_len -= 1;
        self.answered = self.answered.saturating_add(1);
        self.rtt_min = self.rtt_min.min(rtt);
        self.rtt_max = self.rtt_max.max(rtt);
        self.rtt_sum = self.rtt_sum.saturating_add(rtt);
    }

    /// Requests that went unanswered for at least `wait` before `now` (younger ones may still
    /// be answered: they are not counted).
    pub(super) fn lost(&self, now: Timestamp, wait: Duration) -> u32 {
        let old = self.pending[..usize::from(self.pending_len)]
            .iter()
            .filter(|(_, t)| now.since(*t) >= wait)
            .count();
        self.lost_early.saturating_add(u32::try_from(old).unwrap_or(u32::MAX))
    }

    /// The last request's sequence number (a decided ping's: a request with another number
    /// after the verdict is a new attempt).
    pub(super) fn last_seq(&self) -> Option<u32> {
        self.last_request.map(|(_, s)| u32::from(s))
    }
}
