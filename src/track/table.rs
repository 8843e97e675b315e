//! The flow table: a slab of conversations, a hash index by [`FlowKey`], and a timer heap
//! ordered by deadline. Memory is bounded by `cap` conversations; nothing is allocated per
//! packet once the table has grown.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::flow::Flow;
use crate::flow::FlowKey;
use crate::time::Timestamp;

struct Slot {
    generation: u32,
    flow: Option<Flow>,
}

/// Slots per chunk of the slab (a chunk is about 1.4 MB).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The slab: fixed-size chunks, so that growing it never moves the conversations already in
/// it (a `Vec` of slots copied every one of them at each doubling: hundreds of megabytes while
/// a flood fills the table), and never holds more than one partly used chunk beyond the need.
#[derive(Default)]
struct Slots {
    chunks: Vec<Vec<Slot>>,
    len: usize,
}

impl Slots {
    fn get(&self, i: usize) -> Option<&Slot> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    fn push(&mut self, s: Slot) -> usize {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(s),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(s);
                self.chunks.push(c);
            }
        }
        self.len += 1;
        self.len - 1
    }

    /// The key of the flow in slot `i`, if it holds one.
    fn key(&self, i: u32) -> Option<&FlowKey> {
        self.get(i as usize)?.flow.as_ref().map(|f| &f.key)
    }

    fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.chunks.iter().flatten()
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

impl std::ops::Index<usize> for Slots {
    type Output = Slot;
    fn index(&self, i: usize) -> &Slot {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl std::ops::IndexMut<usize> for Slots {
    fn index_mut(&mut self, i: usize) -> &mut Slot {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

/// Flows the index has room for from the start (it grows beyond). Larger costs lookups more
/// than growing saves: a 1 M-flow index (10 MB of buckets) spreads a mix of 55 k flows over
/// more than the L2 cache, and `find` was an eighth of the run; growing to a million flows
/// while a flood fills the table rehashes a few times, which the flood run does not show.
const INDEX_PRESIZED: usize = 1 << 16;

/// A timer: (deadline, slot, generation). Stale entries (the flow moved its deadline, or the
/// slot was reused) are recognised and dropped when they surface.
type Timer = Reverse<(i64, u32, u32)>;

pub(super) struct Table {
    /// Slot numbers, hashed by the key of the flow in the slot: 4 bytes an entry instead of a
    /// copy of the 48-byte key, so the index of a full table is a few megabytes, and removing
    /// a flow compares slot numbers, not keys.
    index: HashTable<u32>,
    hasher: FxBuildHasher,
    slots: Slots,
    free: Vec<u32>,
    timers: BinaryHeap<Timer>,
    /// Conversations whose verdict is out, oldest first: the first to go when the table is
    /// full, so that a flood of decided attempts never pushes out one still waiting for its
    /// answer. Entries of conversations already gone are skipped (and compacted away).
    lingering: VecDeque<(u32, u32)>,
    len: usize,
    peak: usize,
    cap: usize,
}

impl Table {
    pub(super) fn new(cap: usize) -> Self {
        let initial = cap.min(1 << 16);
        Table {
            // Sized for the first 64 k flows (under 1 MB): see `INDEX_PRESIZED`.
            index: HashTable::with_capacity(cap.min(INDEX_PRESIZED)),
            hasher: FxBuildHasher,
            slots: Slots::default(),
            free: Vec::new(),
            timers: BinaryHeap::with_capacity(initial),
            lingering: VecDeque::new(),
            len: 0,
            peak: 0,
            cap,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn timers(&self) -> usize {
        self.timers.len()
    }

    pub(super) fn peak(&self) -> usize {
        self.peak
    }

    pub(super) fn is_full(&self) -> bool {
        self.len >= self.cap
    }

    pub(super) fn find(&self, key: &FlowKey) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(self.hasher.hash_one(key), |&s| slots.key(s) == Some(key))
            .map(|&s| s as usize)
    }

    /// The flow in a slot returned by [`find`](Self::find) or a pop. Slots handed out by this
    /// table always hold a flow.
    pub(super) fn get_mut(&mut self, slot: usize) -> &mut Flow {
        match self.slots[slot].flow.as_mut() {
            Some(f) => f,
            None => unreachable!("slot {slot} handed out while empty"),
        }
    }

    pub(super) fn slots(&self) -> impl Iterator<Item = (usize, &Flow)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.flow.as_ref().map(|f| (i, f)))
    }

    pub(super) fn insert(&mut self, key: FlowKey, mut flow: Flow) {
        let slot = match self.free.pop() {
            Some(s) => s as usize,
            None => self.slots.push(Slot { generation: 0, flow: None }),
        };
        let s = &mut self.slots[slot];
        s.generation = s.generation.wrapping_add(1);
        flow.timer_at = flow.deadline;
        self.timers.push(Reverse((flow.deadline.0, slot as u32, s.generation)));
        let emitted = flow.emitted;
        s.flow = Some(flow);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hasher.hash_one(key), slot as u32, |&s| {
            slots.key(s).map_or(0, |k| hasher.hash_one(k))
        });
        if emitted {
            self.queue_lingering(slot);
        }
        self.len += 1;
        self.peak = self.peak.max(self.len);
    }

    /// Makes sure a timer exists at or before the flow's current deadline (and that a decided
    /// conversation is queued as lingering).
    pub(super) fn reschedule(&mut self, slot: usize) {
        if self.slots[slot].flow.as_ref().is_some_and(|f| f.emitted && !f.queued_lingering) {
            self.queue_lingering(slot);
        }
        let s = &mut self.slots[slot];
        if let Some(f) = s.flow.as_mut()
            && f.deadline < f.timer_at
        {
            f.timer_at = f.deadline;
            self.timers.push(Reverse((f.deadline.0, slot as u32, s.generation)));
        }
    }

    fn queue_lingering(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if let Some(f) = s.flow.as_mut() {
            f.queued_lingering = true;
            self.lingering.push_back((slot as u32, s.generation));
        }
        if self.lingering.len() > 2 * self.len + 1024 {
            let slots = &self.slots;
            self.lingering.retain(|&(sl, g)| Self::is_lingering(slots, sl, g));
        }
    }

    fn is_lingering(slots: &Slots, slot: u32, generation: u32) -> bool {
        slots.get(slot as usize).is_some_and(|s| {
            s.generation == generation && s.flow.as_ref().is_some_and(|f| f.emitted)
        })
    }

    /// The oldest conversation whose verdict is out, if any (removed from the queue; the
    /// caller removes it from the table).
    pub(super) fn pop_lingering(&mut self) -> Option<usize> {
        while let Some((slot, generation)) = self.lingering.pop_front() {
            if Self::is_lingering(&self.slots, slot, generation) {
                return Some(slot as usize);
            }
        }
        None
    }

    pub(super) fn remove(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if let Some(f) = &s.flow {
            if let Ok(e) = self.index.find_entry(self.hasher.hash_one(f.key), |&i| i == slot as u32)
            {
                e.remove();
            }
            // Dropped where it is, not moved out first.
            s.flow = None;
            self.free.push(slot as u32);
            self.len -= 1;
        }
    }

    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        self.timers.clear();
        self.lingering.clear();
        self.len = 0;
    }

    /// The next flow whose deadline is at or before `now`, if any. The caller must then
    /// [`reschedule`](Self::reschedule) or [`remove`](Self::remove) it.
    pub(super) fn pop_due(&mut self, now: Timestamp) -> Option<usize> {
        // Strictly before `now`: a packet arriving exactly at a deadline (a resolver's retry
        // after exactly the timeout) is still in time.
        self.pop_until(now.0.saturating_sub(1))
    }

    /// The flow whose deadline comes first, whatever the time.
    pub(super) fn pop_earliest(&mut self) -> Option<usize> {
        self.pop_until(i64::MAX)
    }

    fn pop_until(&mut self, limit: i64) -> Option<usize> {
        while let Some(&Reverse((deadline, slot, generation))) = self.timers.peek() {
            if deadline > limit {
                return None;
            }
            self.timers.pop();
            let s = &mut self.slots[slot as usize];
            let Some(f) = s.flow.as_mut() else { continue };
            if s.generation != generation || f.timer_at.0 != deadline {
                continue;
            }
            if f.deadline.0 > deadline {
                // The deadline moved later since this timer was set: wait for the new one.
                f.timer_at = f.deadline;
                self.timers.push(Reverse((f.deadline.0, slot, generation)));
                continue;
            }
            f.timer_at = Timestamp(i64::MAX);
            return Some(slot as usize);
        }
        None
    }
}
