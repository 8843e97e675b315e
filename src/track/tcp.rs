//! TCP's side of an attempt: what each segment tells of the handshake, the two byte streams,
//! resets and closes — the state machine, in the spirit of Zeek's per-endpoint states — and
//! the `conn_state` Zeek would give the conversation. No verdicts here: see `classify`.

use super::Ending;
use super::hosts::OwnTtls;
use super::payload::FirstBytes;
use crate::capture::Origin;
use crate::decode::{Packet, PayloadPrefix, TcpFlags, TcpSegment};
use crate::time::{Duration, Timestamp};

/// How many SYN times and packet numbers an attempt keeps for its evidence.
pub(super) const SYN_KEPT: usize = 8;

#[derive(Clone, Copy, Debug)]
pub(super) struct RstSeen {
    pub(super) from_client: bool,
    pub(super) ts: Timestamp,
    pub(super) origin: Origin,
    pub(super) ttl: u8,
    pub(super) ip_id: u16,
    /// In SYN-SENT: the RST carries ACK = ISN + 1 (RFC 9293 §3.10.7.3), so the client's stack
    /// accepts it as a refusal.
    pub(super) acknowledges_syn: bool,
}

/// One side of a TCP conversation, followed on its own as Zeek follows each endpoint: where
/// its stream began and has got to, whether the other side took its SYN, its first FIN and
/// its first payload.
#[derive(Clone, Debug, Default)]
pub(super) struct TcpEndpoint {
    /// Its initial sequence number (from its SYN, or its SYN-ACK).
    pub(super) isn: Option<u32>,
    /// Where its byte stream has got to (sequence number after its last segment).
    pub(super) next_seq: Option<u32>,
    /// The other side acknowledged its SYN.
    pub(super) syn_acked: bool,
    /// Its first FIN, and where it is.
    pub(super) fin: Option<(Timestamp, Origin)>,
    /// Its first payload (bounded prefix) and where it is. (Boxed: most attempts in a flood
    /// carry no payload, and the table holds many.)
    pub(super) first: Option<Box<(PayloadPrefix, Origin)>>,
    /// The hop counts its own packets (not its RSTs) arrived with in this conversation: an RST
    /// claiming to be its own is judged against them (see `classify::rst_origin`).
    pub(super) ttls: OwnTtls,
    /// The IP ID of its latest packet other than an RST.
    pub(super) ip_id: u16,
    /// The furthest acknowledgment number it sent: how much of the other side's stream it
    /// took.
    pub(super) acked: Option<u32>,
    /// When its latest new payload came, and where that payload ends in its stream.
    pub(super) data_end: Option<(Timestamp, u32)>,
}

/// The TCP state of an attempt: its two endpoints, and the handshake as the client's SYNs and
/// the server's answers show it.
#[derive(Clone, Debug, Default)]
pub(super) struct TcpState {
    /// The side that sent the SYN.
    pub(super) client: TcpEndpoint,
    /// The side that answered it.
    pub(super) server: TcpEndpoint,
    pub(super) syn_count: u32,
    pub(super) syn_times: [Timestamp; SYN_KEPT],
    pub(super) syn_numbers: [u64; SYN_KEPT],
    pub(super) last_syn_ts: Timestamp,
    /// The gap between the client's last two SYNs, in µs (saturating; `syn_gap()`): its
    /// retransmission schedule, which the attempt's deadline follows (see `retry_wait`).
    pub(super) syn_gap_us: u32,
    pub(super) syn_ack: Option<(Timestamp, Origin)>,
    pub(super) syn_ack_count: u32,
    pub(super) established: Option<(Timestamp, Origin)>,
    pub(super) rst: Option<RstSeen>,
    /// RSTs from the server side that did not acknowledge the SYN (the client ignores them).
    pub(super) ignored_rsts: u32,
    /// The server sent something other than an RST.
    pub(super) server_spoke: bool,
    /// The client sent an ACK or data after its SYN: it saw an answer, even if the capture
    /// did not (one-sided capture, asymmetric routing).
    pub(super) client_went_on: bool,
    /// SYNs the client had sent when the first SYN-ACK came (more than one: slow accept).
    pub(super) syns_before_answer: u32,
    /// SYN-ACKs the server resent after the client had acknowledged one (accept queue full).
    pub(super) syn_ack_after_ack: u32,
    /// The server's first zero-window advertisement after the handshake.
    pub(super) zero_window: Option<Origin>,
    /// Payload carried by the client's SYN (TCP Fast Open): an answer acknowledges it too.
    pub(super) syn_payload: u32,
    /// The acknowledgment number of the first SYN-ACK (to join a SYN captured after it).
    pub(super) syn_ack_ack: Option<u32>,
    /// Copies of packets seen within a moment of the original (span ports, two interfaces).
    pub(super) duplicates: u32,
    /// The packet of an RST that refused the SYN before the server's real SYN-ACK came and the
    /// attempt went on (look-ahead): forged on the path.
    pub(super) injected_rst: Option<std::num::NonZeroU64>,
    /// The server's first payload came before any of the client's: a banner.
    pub(super) server_spoke_first: bool,
    /// Whether the server's next new payload is kept as [`server_reply`](Self::server_reply).
    pub(super) reply_watch: ReplyWatch,
    /// How many times [`server_reply`](Self::server_reply) was taken (one per turn of the
    /// conversation: client message, server answer), at most [`REPLY_TURNS`].
    pub(super) reply_turns: u8,
    /// The server's answer to the client's latest message after the server's first payload —
    /// the answer to a login after a greeting (MySQL), to a start-up message after an
    /// SSLRequest was declined and to each step of its authentication (PostgreSQL), to a first
    /// command after a 220 banner — until one looks like an error (then it is kept) or
    /// [`REPLY_TURNS`] turns have passed. Kept only when the server's first payload was not an
    /// HTTP response or TLS, so an HTTP keep-alive conversation keeps no second answer. One
    /// allocation per conversation at most; later turns copy into it.
    pub(super) server_reply: Option<Box<(PayloadPrefix, Origin)>>,
    /// The TLS handshake, for a conversation the client began with a ClientHello (see
    /// `tls`): one allocation of `tls::TLS_STATE_BYTES`, for those only.
    pub(super) tls: Option<Box<super::tls::TlsState>>,
}

/// How many turns of a conversation the server's reply is followed for: a login's exchanges
/// (PostgreSQL's SCRAM takes three after the start-up message, MySQL's authentication switch
/// two), not a session's.
pub(super) const REPLY_TURNS: u8 = 4;

/// Where an attempt is in keeping the server's reply (see [`TcpState::server_reply`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum ReplyWatch {
    /// The client has not spoken after the server's first payload yet.
    #[default]
    Waiting,
    /// It has: the server's next new payload is the reply.
    Armed,
    /// A reply is kept; the client's next message arms again (while turns remain and the
    /// reply is not an error).
    Holding,
    /// Done: kept for good, or not wanted.
    Done,
}

/// Whether a server's answer looks like an error that ends a login: a PostgreSQL
/// ErrorResponse, a MySQL ERR packet, a RESP error, an SMTP/FTP 4xx/5xx reply.
fn looks_final(b: &[u8]) -> bool {
    matches!(b.first(), Some(b'E' | b'-' | b'4' | b'5')) || b.get(4) == Some(&0xff)
}

/// How far from a side's stream an RST's sequence number may be and still be that side's:
/// 8 MiB, beyond the windows of all but the longest fat pipes.
pub(super) const RST_WINDOW: u32 = 8 << 20;

/// Two copies of a SYN or SYN-ACK closer than this are one packet captured twice (a real
/// retransmission waits at least the minimum RTO, 200 ms on Linux, 1 s initially).
pub(super) const DUPLICATE_WITHIN: i64 = 100_000_000;

/// Whether `later` is within [`DUPLICATE_WITHIN`] of `earlier` (either way round).
pub(super) fn is_duplicate(later: Timestamp, earlier: Timestamp) -> bool {
    later.since(earlier).0.unsigned_abs() < DUPLICATE_WITHIN.unsigned_abs()
}

impl TcpState {
    /// The gap between the client's last two SYNs (zero with one).
    pub(super) fn syn_gap(&self) -> Duration {
        Duration(i64::from(self.syn_gap_us) * 1000)
    }

    /// Whether `ack` acknowledges the client's SYN: ISN + 1, or further when the SYN carried
    /// data (TCP Fast Open; Linux's RST to such a SYN acknowledges the data too).
    pub(super) fn acks_syn(&self, ack: u32) -> bool {
        self.client.isn.is_some_and(|isn| {
            let d = ack.wrapping_sub(isn.wrapping_add(1));
            d <= self.syn_payload
        })
    }

    /// The endpoint that sent a segment.
    fn sender(&mut self, from_client: bool) -> &mut TcpEndpoint {
        if from_client { &mut self.client } else { &mut self.server }
    }

    /// Keeps a side's first payload, and the server's reply after the client spoke again (see
    /// [`TcpState::server_reply`]). Once per conversation at most it looks at the server's
    /// first bytes; it never allocates but for the first payloads and the reply.
    fn keep_payload(&mut self, p: &Packet, t: &TcpSegment, from_client: bool, advances: bool) {
        if from_client {
            if self.client.first.is_none() {
                self.client.first = Some(Box::new((t.payload, p.origin)));
            }
            match self.reply_watch {
                ReplyWatch::Waiting => {
                    if let Some(server) = self.server.first.as_deref() {
                        let wanted = !matches!(
                            super::payload::classify(server.0.as_slice()),
                            FirstBytes::HttpResponse { .. }
                                | FirstBytes::TlsRecord
                                | FirstBytes::TlsAlert { .. }
                                | FirstBytes::TlsClientHello
                        );
                        self.reply_watch =
                            if wanted { ReplyWatch::Armed } else { ReplyWatch::Done };
                    }
                }
                ReplyWatch::Holding => {
                    let kept = self.server_reply.as_deref().map(|r| r.0.as_slice());
                    self.reply_watch =
                        if self.reply_turns < REPLY_TURNS && !kept.is_some_and(looks_final) {
                            ReplyWatch::Armed
                        } else {
                            ReplyWatch::Done
                        };
                }
                ReplyWatch::Armed | ReplyWatch::Done => {}
            }
        } else if self.server.first.is_none() {
            self.server.first = Some(Box::new((t.payload, p.origin)));
            self.server_spoke_first = self.client.first.is_none();
        } else if self.reply_watch == ReplyWatch::Armed && advances {
            match self.server_reply.as_deref_mut() {
                Some(kept) => *kept = (t.payload, p.origin),
                None => self.server_reply = Some(Box::new((t.payload, p.origin))),
            }
            self.reply_turns += 1;
            self.reply_watch = ReplyWatch::Holding;
        }
    }

    /// Applies one segment; returns the ending it decides, if any.
    pub(super) fn apply(
        &mut self,
        p: &Packet,
        t: &TcpSegment,
        from_client: bool,
    ) -> Option<Ending> {
        let f = t.flags;
        // The segment carries bytes beyond where its sender's stream had got to (not only a
        // retransmission).
        let mut advances = false;
        if !f.has(TcpFlags::RST) {
            let side = self.sender(from_client);
            side.ttls.add(p.ttl);
            side.ip_id = p.ip_id;
            if f.has(TcpFlags::ACK) && side.acked.is_none_or(|a| seq_after(t.ack, a)) {
                side.acked = Some(t.ack);
            }
            // SYN and FIN each take one sequence number.
            let len =
                t.payload_len + u32::from(f.has(TcpFlags::SYN)) + u32::from(f.has(TcpFlags::FIN));
            let end = t.seq.wrapping_add(len);
            let next = &mut self.sender(from_client).next_seq;
            if next.is_none_or(|n| seq_after(end, n)) {
                *next = Some(end);
                advances = true;
                if t.payload_len > 0 {
                    let data_end =
                        t.seq.wrapping_add(t.payload_len + u32::from(f.has(TcpFlags::SYN)));
                    self.sender(from_client).data_end = Some((p.ts, data_end));
                }
            }
        }
        if !f.has(TcpFlags::RST) && t.payload_len > 0 {
            if advances {
                self.follow_tls(
                    t.payload.as_slice(),
                    t.seq,
                    t.payload_len,
                    from_client,
                    p.origin.number,
                );
            }
            self.keep_payload(p, t, from_client, advances);
        }
        if !from_client
            && t.window == 0
            && !f.has(TcpFlags::SYN)
            && !f.has(TcpFlags::RST)
            && self.established.is_some()
            && self.zero_window.is_none()
        {
            self.zero_window = Some(p.origin);
        }
        if f.has(TcpFlags::RST) {
            let in_syn_sent = self.client.isn.is_some()
                && self.server.isn.is_none()
                && !self.server_spoke
                && self.established.is_none();
            let acknowledges_syn = f.has(TcpFlags::ACK) && self.acks_syn(t.ack);
            if !from_client && in_syn_sent && !acknowledges_syn {
                // RFC 9293 §3.10.7.3: in SYN-SENT an RST without an acceptable ACK is dropped.
                self.ignored_rsts += 1;
                return None;
            }
            // RFC 5961 §3: an RST whose sequence number is far from where its sender's stream
            // is cannot be the sender's own (a blind injection, a stray from another
            // connection); the receiver drops it, and so does the verdict. "Far" is beyond any
            // plausible window, since the window scale is not known here.
            let side_next = self.sender(from_client).next_seq;
            if let Some(next) = side_next
                && (t.seq.wrapping_sub(next) as i32).unsigned_abs() > RST_WINDOW
            {
                self.ignored_rsts += 1;
                return None;
            }
            self.rst = Some(RstSeen {
                from_client,
                ts: p.ts,
                origin: p.origin,
                ttl: p.ttl,
                ip_id: p.ip_id,
                acknowledges_syn,
            });
            if from_client && self.syn_ack.is_none() && self.established.is_none() {
                // The client resets while nothing answered its SYN — often its answer to a
                // stale segment — and may still retransmit the SYN: not the end yet.
                return None;
            }
            return Some(Ending::Rst);
        }
        if f.has(TcpFlags::SYN) {
            if from_client && !f.has(TcpFlags::ACK) {
                if self.client.isn.is_none() {
                    self.client.isn = Some(t.seq);
                    self.syn_payload = t.payload_len;
                    // A SYN-ACK captured before its SYN (multi-interface captures are not
                    // strictly in time order) acknowledges it.
                    if self.syn_ack_ack.is_some_and(|a| self.acks_syn(a)) {
                        self.client.syn_acked = true;
                    }
                }
                if self.client.isn == Some(t.seq) {
                    if self.syn_count > 0 && is_duplicate(p.ts, self.last_syn_ts) {
                        self.duplicates += 1;
                    } else {
                        if (self.syn_count as usize) < SYN_KEPT {
                            self.syn_times[self.syn_count as usize] = p.ts;
                            self.syn_numbers[self.syn_count as usize] = p.origin.number;
                        }
                        if self.syn_count > 0 {
                            // (From the last SYN, a copy of it perhaps: at most 100 ms less.)
                            let gap = p.ts.since(self.last_syn_ts).0.max(0) / 1000;
                            self.syn_gap_us = u32::try_from(gap).unwrap_or(u32::MAX);
                        }
                        self.syn_count += 1;
                        // The client tried again: an earlier reset of its own was not the end.
                        if self.rst.is_some_and(|r| r.from_client) && self.syn_ack.is_none() {
                            self.rst = None;
                        }
                    }
                    // Never backwards: timestamps that run back must not pull timers earlier.
                    self.last_syn_ts = self.last_syn_ts.max(p.ts);
                }
            } else if from_client {
                // Split handshake: the client answers the server's SYN with a SYN-ACK.
                if self.server.isn.is_some_and(|isn| t.ack == isn.wrapping_add(1)) {
                    self.server.syn_acked = true;
                }
            } else {
                self.server_spoke = true;
                if self.server.isn.is_none() {
                    self.server.isn = Some(t.seq);
                }
                if f.has(TcpFlags::ACK) {
                    if self.syn_ack.is_some_and(|(ts, _)| is_duplicate(p.ts, ts))
                        && self.server.isn == Some(t.seq)
                        && self.syn_ack_count == 1
                    {
                        self.duplicates += 1;
                    } else {
                        self.syn_ack_count += 1;
                        if self.syn_ack.is_none() {
                            self.syn_ack = Some((p.ts, p.origin));
                            self.syn_ack_ack = Some(t.ack);
                            self.syns_before_answer = self.syn_count;
                        } else if self.server.syn_acked && self.server.isn == Some(t.seq) {
                            // A SYN-ACK again after the client acknowledged one: the server
                            // did not take the ACK (accept queue full). Not on the first
                            // SYN-ACK: in a simultaneous open the client acknowledges first.
                            // Only the same one (same ISN): another ISN is another responder
                            // (or a TCP Fast Open cookie exchange), not a full queue.
                            self.syn_ack_after_ack += 1;
                        }
                    }
                    if self.acks_syn(t.ack) {
                        self.client.syn_acked = true;
                    }
                }
            }
        } else {
            if f.has(TcpFlags::ACK) {
                if from_client {
                    if self.server.isn.is_some_and(|isn| seq_after(t.ack, isn)) {
                        self.server.syn_acked = true;
                    }
                } else if self.client.isn.is_some_and(|isn| seq_after(t.ack, isn))
                    && self.server.isn.is_some()
                {
                    self.client.syn_acked = true;
                }
            }
            if from_client {
                self.client_went_on |= f.has(TcpFlags::ACK) || t.payload_len > 0;
            } else {
                self.server_spoke = true;
            }
            if f.has(TcpFlags::FIN) {
                let fin = &mut self.sender(from_client).fin;
                if fin.is_none() {
                    *fin = Some((p.ts, p.origin));
                }
            }
        }
        if self.established.is_none() && self.client.syn_acked && self.server.syn_acked {
            self.established = Some((p.ts, p.origin));
        }
        if self.client.fin.is_some() && self.server.fin.is_some() {
            return Some(Ending::Fin);
        }
        None
    }
}

impl TcpState {
    /// Zeek's `conn_state` for this conversation (scripts/base/protocols/conn/main.zeek).
    pub(super) fn conn_state(&self, from_icmp_only: bool) -> &'static str {
        let client_rst = self.rst.is_some_and(|r| r.from_client);
        let server_rst = self.rst.is_some_and(|r| !r.from_client);
        if self.syn_count == 0 {
            return match (self.syn_ack.is_some(), server_rst, self.server.fin.is_some()) {
                _ if from_icmp_only => "OTH",
                (true, true, _) => "RSTRH",
                (true, false, true) => "SHR",
                _ => "OTH",
            };
        }
        if self.syn_ack.is_none() {
            return if server_rst {
                "REJ"
            } else if client_rst {
                "RSTOS0"
            } else if self.client.fin.is_some() {
                "SH"
            } else {
                "S0"
            };
        }
        if client_rst {
            return "RSTO";
        }
        if server_rst {
            return "RSTR";
        }
        match (self.client.fin.is_some(), self.server.fin.is_some()) {
            (true, true) => "SF",
            (true, false) => "S2",
            (false, true) => "S3",
            (false, false) => "S1",
        }
    }
}

/// A segment that only opens: SYN without ACK or RST.
pub(super) fn is_syn_only(t: &TcpSegment) -> bool {
    t.flags.has(TcpFlags::SYN) && !t.flags.has(TcpFlags::ACK) && !t.flags.has(TcpFlags::RST)
}

/// `a` is after `b` in sequence space (RFC 9293 modular comparison).
pub(super) fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
pub(super) fn tcp_state_size() -> usize {
    std::mem::size_of::<TcpState>()
}
