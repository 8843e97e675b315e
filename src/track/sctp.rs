//! SCTP's side of an attempt: the client's INITs, the four-way handshake (INIT, INIT-ACK,
//! COOKIE-ECHO, COOKIE-ACK, RFC 9260 §5.1), and how the association ended (ABORT, SHUTDOWN).

use crate::capture::Origin;
use crate::decode::{SctpPacket, sctp_chunk};
use crate::time::{Duration, Timestamp};

/// INITs whose packet numbers and times are kept for the evidence.
pub(super) const INIT_KEPT: usize = 8;

/// An ABORT: when, which packet, who sent it, its T bit and first error cause.
#[derive(Clone, Copy, Debug)]
pub(super) struct AbortSeen {
    pub(super) origin: Origin,
    pub(super) from_client: bool,
    pub(super) t_bit: bool,
    /// Its verification tag: the peer's tag, 0 when the sender never learned it (an ABORT
    /// in COOKIE-WAIT, before any INIT-ACK reached it).
    pub(super) vtag: u32,
    pub(super) cause: u16,
    pub(super) ttl: u8,
}

#[derive(Clone, Debug, Default)]
pub(super) struct SctpState {
    pub(super) init_count: u32,
    pub(super) init_numbers: [u64; INIT_KEPT],
    pub(super) init_times: [Timestamp; INIT_KEPT],
    pub(super) last_init_ts: Timestamp,
    /// The gap between the client's last two INITs (its retransmission schedule).
    pub(super) init_gap: Duration,
    /// The client's initiate tag (its INIT's): another is a new association.
    pub(super) client_tag: Option<u32>,
    pub(super) init_ack: Option<(Timestamp, Origin)>,
    pub(super) cookie_echo: Option<Origin>,
    /// The COOKIE-ACK: the association is established.
    pub(super) established: Option<(Timestamp, Origin)>,
    pub(super) abort: Option<AbortSeen>,
    /// The first SHUTDOWN and which side sent it.
    pub(super) shutdown: Option<(Origin, bool)>,
    pub(super) shutdown_complete: Option<Origin>,
    /// DATA chunks from the server seen before the COOKIE-ACK (one missed by the capture).
    pub(super) server_data: bool,
}

/// What a packet decided.
pub(super) enum SctpEnd {
    Abort,
    Shutdown,
}

impl AbortSeen {
    /// Whether the ABORT carries the peer's verification tag, which its sender can only have
    /// learned from the peer's INIT or INIT-ACK. Without it: tag 0 with the T bit clear
    /// (Linux, from COOKIE-WAIT, where the peer's tag is still 0), or the sender's own tag
    /// with the T bit set (FreeBSD and usrsctp from COOKIE-WAIT; RFC 9260 §8.5.1's T bit:
    /// the tag is the sender's own). `own_tag` is the sender's initiate tag.
    pub(super) fn has_peer_tag(&self, own_tag: Option<u32>) -> bool {
        if self.t_bit { Some(self.vtag) != own_tag } else { self.vtag != 0 }
    }
}

impl SctpState {
    /// Applies one packet of the association; says when it ended it.
    pub(super) fn apply(
        &mut self,
        (ts, origin, ttl): (Timestamp, Origin, u8),
        s: &SctpPacket,
        from_client: bool,
    ) -> Option<SctpEnd> {
        use sctp_chunk as c;
        if from_client && s.has(c::INIT) {
            let n = self.init_count as usize;
            if n < INIT_KEPT {
                self.init_numbers[n] = origin.number;
                self.init_times[n] = ts;
            }
            if n > 0 && ts > self.last_init_ts {
                self.init_gap = ts.since(self.last_init_ts);
            }
            self.init_count = self.init_count.saturating_add(1);
            self.last_init_ts = self.last_init_ts.max(ts);
            self.client_tag.get_or_insert(s.initiate_tag);
        }
        if !from_client && s.has(c::INIT_ACK) && self.init_ack.is_none() {
            self.init_ack = Some((ts, origin));
        }
        if from_client && s.has(c::COOKIE_ECHO) && self.cookie_echo.is_none() {
            self.cookie_echo = Some(origin);
        }
        if !from_client && s.has(c::COOKIE_ACK) && self.established.is_none() {
            self.established = Some((ts, origin));
        }
        if !from_client && s.has(c::DATA | c::SACK) && self.established.is_none() {
            self.server_data = true;
        }
        if s.has(c::SHUTDOWN) && self.shutdown.is_none() {
            self.shutdown = Some((origin, from_client));
        }
        if s.has(c::ABORT) && self.abort.is_none() {
            self.abort = Some(AbortSeen {
                origin,
                from_client,
                t_bit: s.abort_t,
                vtag: s.vtag,
                cause: s.error_cause,
                ttl,
            });
            return Some(SctpEnd::Abort);
        }
        if s.has(c::SHUTDOWN_COMPLETE) && self.shutdown_complete.is_none() {
            self.shutdown_complete = Some(origin);
            return Some(SctpEnd::Shutdown);
        }
        None
    }

    /// Whether the association is up (COOKIE-ACK seen, or the server already sending data
    /// after the client's COOKIE-ECHO: the COOKIE-ACK was missed).
    pub(super) fn is_established(&self) -> bool {
        self.established.is_some() || (self.cookie_echo.is_some() && self.server_data)
    }

    /// The Zeek-like connection state (Zeek has no SCTP analyzer; TCP's words, by analogy).
    pub(super) fn conn_state(&self, midstream: bool) -> &'static str {
        let abort_by = self.abort.map(|a| a.from_client);
        if midstream || self.init_count == 0 {
            return "OTH";
        }
        if !self.is_established() {
            return match (self.init_ack.is_some(), abort_by) {
                (false, Some(false)) => "REJ",
                (false, Some(true)) => "RSTOS0",
                (false, None) => "S0",
                (true, Some(true)) => "RSTO",
                (true, Some(false)) => "RSTR",
                (true, None) => "S1",
            };
        }
        match (abort_by, self.shutdown_complete.is_some()) {
            (Some(true), _) => "RSTO",
            (Some(false), _) => "RSTR",
            (None, true) => "SF",
            (None, false) => "S1",
        }
    }
}
