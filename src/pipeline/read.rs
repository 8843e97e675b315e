//! The capture side: counting and decoding frames, and (offline) the capture thread that
//! routes each batch's packets to the tracker shards.

use crossbeam_channel::{Receiver, Sender};

use crate::capture::{Frame, FrameSink, LinkType, MergedSource, ReadFilter};
use crate::decode::{Encap, Packet, decode, decode_into};
use crate::output::{InputCounts, LiveCounters};
use crate::time::Timestamp;
use crate::track::shard::{Route, route};
use crate::track::{RecentFacts, RecentServices, sender_fact};

use super::BATCH;
use super::Progress;

/// The capture thread's counters.
#[derive(Default)]
pub(super) struct ReadStats {
    pub(super) frames: u64,
    pub(super) bytes: u64,
    pub(super) decoded: u64,
    pub(super) skipped: [u64; crate::decode::Skip::ALL.len()],
    /// Decoded packets per encapsulation they were found in (indexed by [`Encap::index`]).
    pub(super) encapsulations: [u64; Encap::ALL.len() + 1],
    /// Frames per link type, in the order first met.
    pub(super) link_types: LinkCounts,
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    /// The timestamp of the frame read last (not the greatest: a mis-stamped frame must not
    /// move the tracker's clock by itself; see `Tracker::capture_time`).
    pub(super) latest: Option<Timestamp>,
    pub(super) live: Option<LiveCounters>,
    /// Inputs that stopped being readable (offline), in the order met.
    pub(super) errors: Vec<String>,
    /// Frames read and decoded, by input (index: the frame's file).
    pub(super) per_input: Vec<InputCounts>,
    /// The read filter (`--filter`), and the frames it left out.
    pub(super) filter: Option<ReadFilter>,
    pub(super) filtered: u64,
    /// The input and link type of the frame counted last.
    pub(super) input_link: (usize, Option<LinkType>),
}

impl ReadStats {
    /// Counts and decodes one frame.
    #[inline(always)]
    pub(super) fn frame(&mut self, frame: &Frame<'_>) -> Option<Packet> {
        if !self.count(frame) {
            return None;
        }
        let p = self.decoded(frame, decode(frame))?;
        self.layers(&p);
        Some(p)
    }

    /// Counts one frame and decodes it onto the end of `packets`; false when it is skipped.
    #[inline(always)]
    pub(super) fn frame_into(&mut self, frame: &Frame<'_>, packets: &mut Vec<Packet>) -> bool {
        if !self.count(frame) {
            return false;
        }
        let decoded = self.decoded(frame, decode_into(frame, packets)).is_some();
        if decoded && let Some(p) = packets.last() {
            self.layers(p);
        }
        decoded
    }

    /// Counts the encapsulations a decoded packet was found in.
    #[inline(always)]
    fn layers(&mut self, p: &Packet) {
        if p.tunnel.layers != 0 {
            self.count_layers(p.tunnel.layers);
        }
    }

    #[inline(never)]
    fn count_layers(&mut self, layers: u16) {
        for (i, n) in self.encapsulations.iter_mut().enumerate() {
            if layers & (1 << i) != 0 {
                *n += 1;
            }
        }
    }

    /// Counts one frame; false when the read filter leaves it out (its time still moves the
    /// clock, as a skipped frame's does).
    #[inline(always)]
    fn count(&mut self, frame: &Frame<'_>) -> bool {
        self.link_types.count(frame.link);
        self.frames += 1;
        self.bytes += frame.data.len() as u64;
        if self.first.is_none() {
            self.first = Some(frame.ts);
        }
        self.last = Some(frame.ts.max(self.last.unwrap_or(frame.ts)));
        self.latest = Some(frame.ts);
        // Frames come in runs of one input and one link type: the input's first frame and
        // a change of link type are noted once, off the common path.
        let i = usize::from(frame.origin.file);
        if (i, Some(frame.link)) != self.input_link {
            self.note_input(i, frame.link);
        }
        if let Some(input) = self.per_input.get_mut(i) {
            input.frames += 1;
        }
        if let Some(f) = &mut self.filter
            && !f.keep(frame.link, frame.data)
        {
            self.filtered += 1;
            if let Some(input) = self.per_input.get_mut(i) {
                input.filtered += 1;
            }
            return false;
        }
        true
    }

    /// Notes a frame of input `i` and link type `link` where the frame before was of another
    /// input or link type: makes room for the input's counts, and records its link type (or
    /// that it has several).
    #[inline(never)]
    fn note_input(&mut self, i: usize, link: LinkType) {
        if i >= self.per_input.len() {
            self.per_input.resize(i + 1, InputCounts::default());
        }
        if let Some(input) = self.per_input.get_mut(i) {
            match input.link {
                None => input.link = Some(link),
                Some(l) if l != link => input.mixed_links = true,
                Some(_) => {}
            }
        }
        self.input_link = (i, Some(link));
    }

    /// Counts a decoding's outcome.
    #[inline(always)]
    fn decoded<T>(&mut self, frame: &Frame<'_>, r: Result<T, crate::decode::Skip>) -> Option<T> {
        match r {
            Ok(t) => {
                self.decoded += 1;
                if let Some(input) = self.per_input.get_mut(usize::from(frame.origin.file)) {
                    input.decoded += 1;
                }
                Some(t)
            }
            Err(skip) => {
                self.skipped[skip.index()] += 1;
                if skip == crate::decode::Skip::UnsupportedLinkType
                    && let Some(input) = self.per_input.get_mut(usize::from(frame.origin.file))
                {
                    input.unsupported_link += 1;
                }
                None
            }
        }
    }
}

/// How many link types the counts tell apart; frames of others (a pcapng file may declare any
/// number of interfaces) are counted under the last.
const MAX_LINK_TYPES: usize = 32;

/// Frames per link type: a handful of kinds, most often one, so the last one counted is
/// checked first.
#[derive(Default)]
pub(super) struct LinkCounts {
    counts: Vec<(LinkType, u64)>,
    last: usize,
}

impl LinkCounts {
    #[inline(always)]
    fn count(&mut self, link: LinkType) {
        match self.counts.get_mut(self.last) {
            Some((l, n)) if *l == link => *n += 1,
            _ => self.count_other(link),
        }
    }

    #[inline(never)]
    fn count_other(&mut self, link: LinkType) {
        let at = match self.counts.iter().position(|(l, _)| *l == link) {
            Some(at) => at,
            None if self.counts.len() < MAX_LINK_TYPES => {
                self.counts.push((link, 0));
                self.counts.len() - 1
            }
            None => self.counts.len() - 1,
        };
        self.last = at;
        if let Some((_, n)) = self.counts.get_mut(at) {
            *n += 1;
        }
    }

    /// The counts, in the order first met.
    pub(super) fn into_vec(self) -> Vec<(LinkType, u64)> {
        self.counts
    }
}

/// A shard's part of one batch.
#[derive(Default)]
pub(super) struct SubBatch {
    /// The shard's packets, in capture order.
    pub(super) packets: Vec<Packet>,
    /// With several shards: where each packet is in the batch (ascending, one per packet).
    /// Empty with one shard, whose sub-batch is the whole batch.
    pub(super) positions: Vec<u16>,
    /// Positions in `packets` (ascending) of packets another shard tracks, here only for what
    /// they show of their sender (see [`SenderFacts`]).
    pub(super) facts_only: Vec<u32>,
    /// With several shards: the time of every packet of the batch, in order, whichever shard
    /// tracks it. A shard's clock moves at each, so its timers run out at the same packet as
    /// one tracker's, and the output can put its verdicts back in one tracker's order.
    pub(super) clock: Vec<Timestamp>,
    /// The time of the last frame read, skipped frames and other shards' packets included:
    /// an ICMP echo or an ARP at the end of a capture still moves the clock on, so timeouts
    /// that passed before the capture ended are not mistaken for the end.
    pub(super) read_until: Option<Timestamp>,
    /// Stretches of capture time no input recorded (from, to), each with the position in the
    /// batch of the packet it comes before (the batch's packet count when it comes after
    /// them all): every shard gets every gap at the same place.
    pub(super) gaps: Vec<(u16, Timestamp, Timestamp)>,
}

impl SubBatch {
    /// An empty sub-batch: room for a whole batch with one shard; with several, the vectors
    /// grow to what their shard gets (and keep that room when recycled). Every shard's clock
    /// holds the whole batch's times (8 bytes a packet), and packets with new sender facts go
    /// to every shard, so memory in flight grows with the number of shards.
    fn new(shards: usize) -> Self {
        if shards == 1 {
            SubBatch { packets: Vec::with_capacity(BATCH), ..SubBatch::default() }
        } else {
            SubBatch::default()
        }
    }

    /// Empties it for reuse, keeping the room.
    pub(super) fn clear(&mut self) {
        self.packets.clear();
        self.positions.clear();
        self.facts_only.clear();
        self.clock.clear();
        self.read_until = None;
        self.gaps.clear();
    }

    /// Adds a packet of several shards' batch at `position`; `facts_only` when another shard
    /// tracks it.
    fn push(&mut self, p: Packet, position: u16, facts_only: bool) {
        if facts_only {
            self.facts_only.push(self.packets.len() as u32);
        }
        self.packets.push(p);
        self.positions.push(position);
    }
}

/// One shard's channels, seen from the capture thread.
pub(super) struct ToShard {
    pub(super) batches: Sender<SubBatch>,
    /// Emptied sub-batches coming back, to be filled again.
    pub(super) recycled: Receiver<SubBatch>,
}

/// The offline capture thread: reads `source` to its end, decodes, and sends every batch of
/// [`BATCH`] packets to the shards, one sub-batch each (empty ones too: they carry the time).
/// Returns early, quietly, when a shard hangs up (the output failed).
pub(super) fn read_and_route(
    mut source: MergedSource,
    shards: &[ToShard],
    mut progress: Option<Box<dyn Progress>>,
    filter: Option<ReadFilter>,
) -> ReadStats {
    let n = shards.len();
    let mut stats = ReadStats { filter, ..ReadStats::default() };
    let mut batches: Vec<SubBatch> = shards.iter().map(|_| SubBatch::new(n)).collect();
    let mut sender_facts = SenderFacts::new(n);
    let mut in_batch = 0usize;
    let mut last_progress = 0u64;
    loop {
        let mut sink = Decoder {
            stats: &mut stats,
            batches: &mut batches,
            sender_facts: &mut sender_facts,
            position: in_batch as u16,
        };
        match source.next_frame_with(&mut sink) {
            None => break,
            Some(Err(e)) => stats.errors.push(e.to_string()),
            Some(Ok(tracked)) => {
                // Time no input recorded before this frame: before the packet at this
                // position (the next one, when this frame is skipped).
                if let Some((from, to)) = source.take_gap() {
                    for b in batches.iter_mut() {
                        b.gaps.push((in_batch as u16, from, to));
                    }
                }
                if !tracked {
                    continue;
                }
                in_batch += 1;
                if in_batch == BATCH {
                    in_batch = 0;
                    if !hand_over(&mut batches, shards, stats.latest) {
                        return stats;
                    }
                    if let Some(p) = &mut progress {
                        let read = source.bytes_read();
                        if read - last_progress > (1 << 20) {
                            p.bytes_read(read);
                            last_progress = read;
                        }
                    }
                }
            }
        }
    }
    // Even empty: it carries the time of the last frame read.
    hand_over(&mut batches, shards, stats.latest);
    if let Some(p) = &mut progress {
        p.finish();
    }
    stats
}

/// The capture loop's work on one frame: counts and decodes it, and puts its packet in the
/// sub-batch of the shard that tracks it; true when it is tracked.
struct Decoder<'a> {
    stats: &'a mut ReadStats,
    batches: &'a mut [SubBatch],
    sender_facts: &'a mut SenderFacts,
    /// Where the packet goes in the batch.
    position: u16,
}

impl FrameSink for Decoder<'_> {
    type Out<'f> = bool;

    #[inline(always)]
    fn frame(&mut self, frame: Frame<'_>) -> bool {
        if let [only] = &mut *self.batches {
            return self.stats.frame_into(&frame, &mut only.packets);
        }
        match self.stats.frame(&frame) {
            Some(p) => {
                route_among(self.batches, self.sender_facts, p, self.position);
                true
            }
            None => false,
        }
    }
}

/// Puts packet `p`, at `position` in the batch, into the sub-batches of several shards: to
/// the shard that tracks it, to the others for its sender's facts when they are new, and its
/// time to every shard's clock.
fn route_among(batches: &mut [SubBatch], facts: &mut SenderFacts, p: Packet, position: u16) {
    for b in batches.iter_mut() {
        b.clock.push(p.ts);
    }
    match route(&p, batches.len()) {
        Route::Shard(s) => {
            let copies = facts.needed(&p);
            for (h, b) in batches.iter_mut().enumerate() {
                if h == s {
                    b.push(p, position, false);
                } else if copies {
                    b.push(p, position, true);
                }
            }
        }
        Route::Every => batches.iter_mut().for_each(|b| b.push(p, position, false)),
    }
}

/// Sends each shard its sub-batch, replacing it with a recycled (or new) one; false when a
/// shard has hung up.
fn hand_over(batches: &mut [SubBatch], shards: &[ToShard], read_until: Option<Timestamp>) -> bool {
    let n = shards.len();
    for (batch, shard) in batches.iter_mut().zip(shards) {
        let next = shard.recycled.try_recv().unwrap_or_else(|_| SubBatch::new(n));
        let mut full = std::mem::replace(batch, next);
        full.read_until = read_until;
        if shard.batches.send(full).is_err() {
            return false;
        }
    }
    true
}

/// Decides which packets also go to the other shards (`--threads` > 1), for their sender's
/// facts only: a host's verdicts as a server consult the TTL of its own packets and whether
/// it answered anything, and its conversations are tracked in every shard. Only a fact new
/// for its host is sent (the tracker records facts the same way, so every shard keeps the
/// facts one tracker would), so a long conversation does not copy every packet.
struct SenderFacts {
    shards: usize,
    recent: RecentFacts,
    services: RecentServices,
}

impl SenderFacts {
    fn new(shards: usize) -> Self {
        SenderFacts { shards, recent: RecentFacts::default(), services: RecentServices::default() }
    }

    /// Whether `p` must also go to the other shards.
    fn needed(&mut self, p: &Packet) -> bool {
        if self.shards <= 1 {
            return false;
        }
        // What a service speaks (a TLS ServerHello, a plaintext HTTP answer) goes to every
        // shard too: its other conversations are judged by it.
        let fact = match sender_fact(p) {
            Some(fact) => self.recent.is_new(p.vlan ^ p.tunnel.digest(), p.src, fact),
            None => false,
        };
        self.services.is_new(p) || fact
    }
}
