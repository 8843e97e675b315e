//! The capture side: counting and decoding frames, and (offline) the capture thread that
//! routes each batch's packets to the tracker shards.

use crossbeam_channel::{Receiver, Sender};
use indicatif::ProgressBar;

use crate::capture::{Frame, MergedSource};
use crate::decode::{Packet, decode};
use crate::output::LiveCounters;
use crate::time::Timestamp;
use crate::track::shard::{Route, route, sender_facts_shard};

use super::BATCH;

/// The capture thread's counters.
#[derive(Default)]
pub(super) struct ReadStats {
    pub(super) frames: u64,
    pub(super) bytes: u64,
    pub(super) decoded: u64,
    pub(super) skipped: [u64; crate::decode::Skip::ALL.len()],
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    /// The timestamp of the frame read last (not the greatest: a mis-stamped frame must not
    /// move the tracker's clock by itself; see `Tracker::capture_time`).
    pub(super) latest: Option<Timestamp>,
    pub(super) live: Option<LiveCounters>,
    /// Inputs that stopped being readable (offline), in the order met.
    pub(super) errors: Vec<String>,
}

impl ReadStats {
    /// Counts and decodes one frame.
    #[inline(always)]
    pub(super) fn frame(&mut self, frame: &Frame<'_>) -> Option<Packet> {
        self.frames += 1;
        self.bytes += frame.data.len() as u64;
        if self.first.is_none() {
            self.first = Some(frame.ts);
        }
        self.last = Some(frame.ts.max(self.last.unwrap_or(frame.ts)));
        self.latest = Some(frame.ts);
        match decode(frame) {
            Ok(p) => {
                self.decoded += 1;
                Some(p)
            }
            Err(skip) => {
                self.skipped[skip.index()] += 1;
                None
            }
        }
    }
}

/// A shard's part of one batch.
pub(super) struct SubBatch {
    /// The shard's packets, in capture order.
    pub(super) packets: Vec<Packet>,
    /// Positions in `packets` (ascending) of packets another shard tracks, here only for what
    /// they show of their sender, whose facts this shard keeps (see [`SenderFacts`]).
    pub(super) facts_only: Vec<u32>,
    /// The time of the last frame read, skipped frames and other shards' packets included:
    /// an ICMP echo or an ARP at the end of a capture, or another shard's traffic, still moves
    /// the clock on, so timeouts that passed before the capture ended are not mistaken for the
    /// end.
    pub(super) read_until: Option<Timestamp>,
}

/// One shard's channels, seen from the capture thread.
pub(super) struct ToShard {
    pub(super) batches: Sender<SubBatch>,
    /// Emptied packet vectors coming back, to be filled again.
    pub(super) recycled: Receiver<Vec<Packet>>,
}

/// The offline capture thread: reads `source` to its end, decodes, and sends every batch of
/// [`BATCH`] packets to the shards, one sub-batch each (empty ones too: they carry the time).
/// Returns early, quietly, when a shard hangs up (the output failed).
pub(super) fn read_and_route(
    mut source: MergedSource,
    shards: &[ToShard],
    progress: Option<ProgressBar>,
) -> ReadStats {
    let mut stats = ReadStats::default();
    let mut batches: Vec<Vec<Packet>> = shards.iter().map(|_| fresh(shards.len())).collect();
    let mut facts_only: Vec<Vec<u32>> = shards.iter().map(|_| Vec::new()).collect();
    let mut sender_facts = SenderFacts::new(shards.len());
    let mut in_batch = 0usize;
    let mut last_progress = 0u64;
    loop {
        match source.next_frame() {
            None => break,
            Some(Err(e)) => stats.errors.push(e.to_string()),
            Some(Ok(frame)) => {
                let Some(p) = stats.frame(&frame) else { continue };
                match route(&p, shards.len()) {
                    Route::Shard(s) => {
                        if let Some(b) = batches.get_mut(s) {
                            b.push(p);
                        }
                        if let Some(h) = sender_facts.needed(&p, s)
                            && let (Some(b), Some(f)) = (batches.get_mut(h), facts_only.get_mut(h))
                        {
                            f.push(b.len() as u32);
                            b.push(p);
                        }
                    }
                    Route::Every => batches.iter_mut().for_each(|b| b.push(p)),
                }
                in_batch += 1;
                if in_batch == BATCH {
                    in_batch = 0;
                    if !hand_over(&mut batches, &mut facts_only, shards, stats.latest) {
                        return stats;
                    }
                    if let Some(bar) = &progress {
                        let read = source.bytes_read();
                        if read - last_progress > (1 << 20) {
                            bar.set_position(read);
                            last_progress = read;
                        }
                    }
                }
            }
        }
    }
    // Even empty: it carries the time of the last frame read.
    hand_over(&mut batches, &mut facts_only, shards, stats.latest);
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    stats
}

/// A new sub-batch vector: room for a whole batch with one shard; with several, it grows to
/// what its shard gets (and keeps that room when recycled), so that memory does not grow with
/// the number of shards times the batch size.
fn fresh(shards: usize) -> Vec<Packet> {
    if shards == 1 { Vec::with_capacity(BATCH) } else { Vec::new() }
}

/// Sends each shard its sub-batch, replacing it with a recycled (or new) vector; false when a
/// shard has hung up.
fn hand_over(
    batches: &mut [Vec<Packet>],
    facts_only: &mut [Vec<u32>],
    shards: &[ToShard],
    read_until: Option<Timestamp>,
) -> bool {
    for ((batch, facts), shard) in batches.iter_mut().zip(facts_only).zip(shards) {
        let next = shard.recycled.try_recv().unwrap_or_else(|_| fresh(shards.len()));
        let packets = std::mem::replace(batch, next);
        let facts_only = std::mem::take(facts);
        if shard.batches.send(SubBatch { packets, facts_only, read_until }).is_err() {
            return false;
        }
    }
    true
}

/// Decides which packets also go, for their sender's facts only, to the shard that keeps
/// those facts (`--threads` > 1). A host's verdicts as a server consult the TTL of its own
/// packets and whether it answered anything; its packets as a client of another server, and
/// the ICMP errors it sends about others' flows, are tracked in other shards. Copies are
/// skipped when the same host was last sent with the same fact (a small direct-mapped memory),
/// so a long conversation does not copy every packet.
struct SenderFacts {
    shards: usize,
    last: Vec<Option<(std::net::IpAddr, Option<u8>)>>,
}

/// Slots of [`SenderFacts`]' memory.
const SENDER_FACTS_SLOTS: usize = 4096;

impl SenderFacts {
    fn new(shards: usize) -> Self {
        let slots = if shards > 1 { SENDER_FACTS_SLOTS } else { 0 };
        SenderFacts { shards, last: vec![None; slots] }
    }

    /// The shard `p` must also go to, tracked in shard `routed`.
    fn needed(&mut self, p: &Packet, routed: usize) -> Option<usize> {
        let shard = sender_facts_shard(p, routed, self.shards)?;
        let is_rst = matches!(&p.transport,
            crate::decode::Transport::Tcp(t) if t.flags.has(crate::decode::TcpFlags::RST));
        let ttl = match &p.transport {
            crate::decode::Transport::IcmpError(_) => None,
            _ if is_rst => None,
            _ => Some(p.ttl),
        };
        let fact = Some((p.src, ttl));
        let slot = self.last.get_mut(slot_of(p.src))?;
        if *slot == fact {
            return None;
        }
        *slot = fact;
        Some(shard)
    }
}

/// A slot of [`SenderFacts`]' memory for `ip`.
fn slot_of(ip: std::net::IpAddr) -> usize {
    let bits = match ip {
        std::net::IpAddr::V4(a) => u64::from(u32::from(a)),
        std::net::IpAddr::V6(a) => {
            let x = u128::from(a);
            (x as u64) ^ ((x >> 64) as u64)
        }
    };
    (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % SENDER_FACTS_SLOTS
}
