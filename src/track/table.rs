//! The flow table: two slabs — attempts still open, and conversations whose verdict is out
//! and only linger to absorb late packets (a small record each) — a hash index by
//! [`FlowKey`] over both, and a timer heap ordered by deadline. Memory is bounded by `cap`
//! conversations (the heap and the lingering queue are compacted when stale entries
//! outnumber them); nothing is allocated per packet once the table has grown.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::attempt::Flow;
use super::linger::Decided;
use crate::flow::FlowKey;
use crate::time::Timestamp;

/// What both slabs hold: a keyed conversation with a deadline and the deadline of its live
/// timer in the heap.
pub(super) trait Tracked {
    fn key(&self) -> &FlowKey;
    /// Where its attempt began in the capture: timers with the same deadline run out in this
    /// order, the same with any number of tracker shards (see `Tracker::advance`).
    fn first_seen(&self) -> u64;
    fn deadline(&self) -> Timestamp;
    fn timer_at(&mut self) -> &mut Timestamp;
}

impl Tracked for Decided {
    fn key(&self) -> &FlowKey {
        &self.key
    }
    /// (Its timer only removes it: no verdict, so no order to keep.)
    fn first_seen(&self) -> u64 {
        0
    }
    fn deadline(&self) -> Timestamp {
        self.deadline
    }
    fn timer_at(&mut self) -> &mut Timestamp {
        &mut self.timer_at
    }
}

impl Tracked for Flow {
    fn key(&self) -> &FlowKey {
        &self.key
    }
    fn first_seen(&self) -> u64 {
        self.first_seen
    }
    fn deadline(&self) -> Timestamp {
        self.deadline
    }
    fn timer_at(&mut self) -> &mut Timestamp {
        &mut self.timer_at
    }
}

struct Slot<T> {
    generation: u32,
    item: Option<T>,
}

/// Slots per chunk of a slab.
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// A slab: fixed-size chunks, so that growing it never moves the conversations already in it
/// (a `Vec` of slots copied every one of them at each doubling: hundreds of megabytes while a
/// flood fills the table), and never holds more than one partly used chunk beyond the need.
struct Slab<T> {
    chunks: Vec<Vec<Slot<T>>>,
    len: usize,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { chunks: Vec::new(), len: 0, free: Vec::new() }
    }
}

impl<T: Tracked> Slab<T> {
    fn slot(&self, i: u32) -> Option<&Slot<T>> {
        let i = i as usize;
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Slot<T>> {
        let i = i as usize;
        self.chunks.get_mut(i >> CHUNK_BITS)?.get_mut(i & (CHUNK - 1))
    }

    /// Puts `item` in a free slot; returns the slot and its new generation.
    fn put(&mut self, item: T) -> (u32, u32) {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                match self.chunks.last_mut() {
                    Some(c) if c.len() < CHUNK => c.push(Slot { generation: 0, item: None }),
                    _ => {
                        let mut c = Vec::with_capacity(CHUNK);
                        c.push(Slot { generation: 0, item: None });
                        self.chunks.push(c);
                    }
                }
                self.len += 1;
                (self.len - 1) as u32
            }
        };
        match self.slot_mut(i) {
            Some(s) => {
                s.generation = s.generation.wrapping_add(1);
                s.item = Some(item);
                (i, s.generation)
            }
            None => unreachable!("slot {i} was just made"),
        }
    }

    /// Empties slot `i` (the item is dropped where it is, not moved out first).
    fn take(&mut self, i: u32) -> bool {
        let emptied = self.slot_mut(i).is_some_and(|s| s.item.take().is_some());
        if emptied {
            self.free.push(i);
        }
        emptied
    }

    fn item(&self, i: u32) -> Option<&T> {
        self.slot(i)?.item.as_ref()
    }

    fn item_mut(&mut self, i: u32) -> Option<&mut T> {
        self.slot_mut(i)?.item.as_mut()
    }

    fn live(&self, i: u32, generation: u32) -> Option<&T> {
        self.slot(i).filter(|s| s.generation == generation)?.item.as_ref()
    }

    fn generation(&self, i: u32) -> u32 {
        self.slot(i).map_or(0, |s| s.generation)
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, s)| Some((i as u32, s.item.as_ref()?)))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten().filter_map(|s| s.item.as_mut())
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
        self.free.clear();
    }
}

/// A conversation in the table: a slot of the open slab, or (top bit set) of the decided one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Handle(u32);

const DECIDED: u32 = 1 << 31;

impl Handle {
    fn open(slot: u32) -> Handle {
        Handle(slot)
    }

    fn decided(slot: u32) -> Handle {
        Handle(slot | DECIDED)
    }

    /// Whether the conversation's verdict is out.
    pub(super) fn is_decided(self) -> bool {
        self.0 & DECIDED != 0
    }

    fn slot(self) -> u32 {
        self.0 & !DECIDED
    }
}

/// Flows the index has room for from the start (it grows beyond). Larger costs lookups more
/// than growing saves: a 1 M-flow index (10 MB of buckets) spreads a mix of 55 k flows over
/// more than the L2 cache, and `find` was an eighth of the run; growing to a million flows
/// while a flood fills the table rehashes a few times, which the flood run does not show.
const INDEX_PRESIZED: usize = 1 << 16;

/// A timer: (deadline, handle, generation). Stale entries (the conversation moved its
/// deadline, or the slot was reused) are recognised and dropped when they surface. (16 bytes:
/// a flood keeps a million; ties are ordered by the tracker, not here.)
type Timer = Reverse<(i64, u32, u32)>;

pub(super) struct Table {
    /// Handles, hashed by the key of the conversation they name: 4 bytes an entry instead of
    /// a copy of the 48-byte key, so the index of a full table is a few megabytes, and
    /// removing a conversation compares handles, not keys.
    index: HashTable<u32>,
    hasher: FxBuildHasher,
    open: Slab<Flow>,
    decided: Slab<Decided>,
    timers: BinaryHeap<Timer>,
    /// Decided conversations, oldest first: the first to go when the table is full, so that
    /// a flood of decided attempts never pushes out one still waiting for its answer. Entries
    /// of conversations already gone are skipped (and compacted away).
    lingering: VecDeque<(u32, u32)>,
    len: usize,
    peak: usize,
    cap: usize,
}

impl Table {
    pub(super) fn new(cap: usize) -> Self {
        Table {
            // Sized for the first 64 k flows (under 1 MB): see `INDEX_PRESIZED`.
            index: HashTable::with_capacity(cap.min(INDEX_PRESIZED)),
            hasher: FxBuildHasher,
            open: Slab::default(),
            decided: Slab::default(),
            timers: BinaryHeap::with_capacity(cap.min(1 << 16)),
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

    /// The key of the conversation `handle` names, if it is there.
    fn key_of<'a>(
        open: &'a Slab<Flow>,
        decided: &'a Slab<Decided>,
        handle: u32,
    ) -> Option<&'a FlowKey> {
        let h = Handle(handle);
        if h.is_decided() {
            decided.item(h.slot()).map(Tracked::key)
        } else {
            open.item(h.slot()).map(Tracked::key)
        }
    }

    pub(super) fn find(&self, key: &FlowKey) -> Option<Handle> {
        let (open, decided) = (&self.open, &self.decided);
        self.index
            .find(self.hasher.hash_one(key), |&h| Self::key_of(open, decided, h) == Some(key))
            .map(|&h| Handle(h))
    }

    /// The open attempt `handle` names. Handles of open attempts handed out by this table
    /// always name one.
    pub(super) fn open_mut(&mut self, handle: Handle) -> &mut Flow {
        match self.open.item_mut(handle.slot()).filter(|_| !handle.is_decided()) {
            Some(f) => f,
            None => unreachable!("handle {handle:?} handed out without an open attempt"),
        }
    }

    /// The decided conversation `handle` names.
    pub(super) fn decided_mut(&mut self, handle: Handle) -> &mut Decided {
        match self.decided.item_mut(handle.slot()).filter(|_| handle.is_decided()) {
            Some(d) => d,
            None => unreachable!("handle {handle:?} handed out without a decided conversation"),
        }
    }

    /// Where the conversation `handle` names began (0 once decided: its timer gives no
    /// verdict, so its order does not matter).
    pub(super) fn first_seen(&self, handle: Handle) -> u64 {
        if handle.is_decided() {
            0
        } else {
            self.open.item(handle.slot()).map_or(0, Tracked::first_seen)
        }
    }

    /// The open attempts, in slot order.
    pub(super) fn open_flows(&self) -> impl Iterator<Item = (Handle, &Flow)> {
        self.open.iter().map(|(i, f)| (Handle::open(i), f))
    }

    /// Adds an open attempt.
    pub(super) fn insert_open(&mut self, flow: Flow) -> Handle {
        let (slot, generation) = self.open.put(flow);
        let handle = Handle::open(slot);
        self.added(handle, generation);
        handle
    }

    /// Adds a conversation whose verdict is out.
    pub(super) fn insert_decided(&mut self, d: Decided) -> Handle {
        let (slot, generation) = self.decided.put(d);
        let handle = Handle::decided(slot);
        self.added(handle, generation);
        self.lingering.push_back((slot, generation));
        self.compact_lingering();
        handle
    }

    /// Indexes a conversation just put in its slab and sets its timer.
    fn added(&mut self, handle: Handle, generation: u32) {
        let key = match Self::key_of(&self.open, &self.decided, handle.0) {
            Some(k) => *k,
            None => unreachable!("{handle:?} was just filled"),
        };
        self.set_timer(handle, generation);
        let (open, decided, hasher) = (&self.open, &self.decided, &self.hasher);
        self.index.insert_unique(hasher.hash_one(key), handle.0, |&h| {
            Self::key_of(open, decided, h).map_or(0, |k| hasher.hash_one(k))
        });
        self.len += 1;
        self.peak = self.peak.max(self.len);
    }

    /// Starts a timer at the conversation's deadline.
    fn set_timer(&mut self, handle: Handle, generation: u32) {
        let timer = if handle.is_decided() {
            self.decided.item_mut(handle.slot()).map(start_timer)
        } else {
            self.open.item_mut(handle.slot()).map(start_timer)
        };
        if let Some(deadline) = timer {
            self.timers.push(Reverse((deadline.0, handle.0, generation)));
            self.compact_timers();
        }
    }

    /// Starts the timer of a conversation taken from the heap by a pop and not handled (see
    /// `Tracker::make_room`).
    pub(super) fn rearm(&mut self, handle: Handle) {
        let generation = if handle.is_decided() {
            self.decided.generation(handle.slot())
        } else {
            self.open.generation(handle.slot())
        };
        self.set_timer(handle, generation);
    }

    /// Drops timers that can no longer run out (their conversation went, or its timer moved)
    /// once they outnumber the conversations, so the heap stays within `2 × cap + 1024`
    /// entries: a flood leaves a stale timer behind for each attempt decided or pushed out.
    fn compact_timers(&mut self) {
        if self.timers.len() > 2 * self.len + 1024 {
            let (open, decided) = (&mut self.open, &mut self.decided);
            self.timers.retain(|&Reverse((deadline, h, generation))| {
                let h = Handle(h);
                if h.is_decided() {
                    live_timer(decided.slot_mut(h.slot()), generation, deadline)
                } else {
                    live_timer(open.slot_mut(h.slot()), generation, deadline)
                }
            });
        }
    }

    /// The open attempt `handle` got its verdict: it becomes the small record that lingers
    /// (`Decided`, built by the flow), in the same place in the index. Returns its handle.
    pub(super) fn decide(&mut self, handle: Handle) -> Handle {
        let d = self.open_mut(handle).decided_record();
        let key = *d.key();
        let (slot, generation) = self.decided.put(d);
        let new = Handle::decided(slot);
        if let Ok(mut e) = self.index.find_entry(self.hasher.hash_one(key), |&h| h == handle.0) {
            *e.get_mut() = new.0;
        }
        self.open.take(handle.slot());
        self.set_timer(new, generation);
        self.lingering.push_back((slot, generation));
        self.compact_lingering();
        new
    }

    /// Moves every deadline after `from` later by `by` (time the capture did not cover). The
    /// timers follow when they surface (a deadline later than its timer sets a new one).
    pub(super) fn shift_deadlines(&mut self, from: Timestamp, by: crate::time::Duration) {
        let to = from.add(by);
        for f in self.open.iter_mut() {
            // (Not a conversation the gap's far side already moved: its deadline is from then.)
            if f.deadline > from && f.last_ts < to {
                f.deadline = f.deadline.add(by);
            }
        }
        for d in self.decided.iter_mut() {
            if d.deadline > from {
                d.deadline = d.deadline.add(by);
            }
        }
    }

    /// Makes sure a timer exists at or before the conversation's current deadline.
    pub(super) fn reschedule(&mut self, handle: Handle) {
        let slot = handle.slot();
        let moved = if handle.is_decided() {
            self.decided.item_mut(slot).and_then(earlier)
        } else {
            self.open.item_mut(slot).and_then(earlier)
        };
        if let Some(deadline) = moved {
            let generation = if handle.is_decided() {
                self.decided.generation(slot)
            } else {
                self.open.generation(slot)
            };
            self.timers.push(Reverse((deadline.0, handle.0, generation)));
            self.compact_timers();
        }
    }

    fn compact_lingering(&mut self) {
        if self.lingering.len() > 2 * self.len + 1024 {
            let decided = &self.decided;
            self.lingering.retain(|&(slot, generation)| decided.live(slot, generation).is_some());
        }
    }

    /// The oldest decided conversation, if any (removed from the queue; the caller removes
    /// it from the table).
    pub(super) fn pop_lingering(&mut self) -> Option<Handle> {
        while let Some((slot, generation)) = self.lingering.pop_front() {
            if self.decided.live(slot, generation).is_some() {
                return Some(Handle::decided(slot));
            }
        }
        None
    }

    pub(super) fn remove(&mut self, handle: Handle) {
        let Some(key) = Self::key_of(&self.open, &self.decided, handle.0).copied() else { return };
        if let Ok(e) = self.index.find_entry(self.hasher.hash_one(key), |&h| h == handle.0) {
            e.remove();
        }
        let removed = if handle.is_decided() {
            self.decided.take(handle.slot())
        } else {
            self.open.take(handle.slot())
        };
        if removed {
            self.len -= 1;
        }
    }

    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.open.clear();
        self.decided.clear();
        self.timers.clear();
        self.lingering.clear();
        self.len = 0;
    }

    /// The next conversation whose deadline is at or before `now`, if any. The caller must
    /// then [`reschedule`](Self::reschedule), [`decide`](Self::decide) or
    /// [`remove`](Self::remove) it.
    pub(super) fn pop_due(&mut self, now: Timestamp) -> Option<(Handle, Timestamp)> {
        // Strictly before `now`: a packet arriving exactly at a deadline (a resolver's retry
        // after exactly the timeout) is still in time.
        self.pop_until(now.0.saturating_sub(1))
    }

    /// Whether [`pop_due`](Self::pop_due) at `now` has anything to do: the earliest timer
    /// (live or stale) is strictly before `now`.
    #[inline]
    pub(super) fn timer_due(&self, now: Timestamp) -> bool {
        self.timers
            .peek()
            .is_some_and(|Reverse((deadline, _, _))| *deadline <= now.0.saturating_sub(1))
    }

    /// Another conversation whose deadline is `deadline` (after [`pop_due`](Self::pop_due)
    /// gave one with it: no earlier deadline is left).
    pub(super) fn pop_at(&mut self, deadline: Timestamp) -> Option<Handle> {
        self.pop_until(deadline.0).map(|(h, _)| h)
    }

    /// The conversation whose deadline comes first, whatever the time (and that deadline).
    pub(super) fn pop_earliest(&mut self) -> Option<(Handle, Timestamp)> {
        self.pop_until(i64::MAX)
    }

    fn pop_until(&mut self, limit: i64) -> Option<(Handle, Timestamp)> {
        while let Some(&Reverse((deadline, h, generation))) = self.timers.peek() {
            if deadline > limit {
                return None;
            }
            self.timers.pop();
            let handle = Handle(h);
            let due = if handle.is_decided() {
                self.decided.slot_mut(handle.slot()).and_then(|s| due(s, generation, deadline))
            } else {
                self.open.slot_mut(handle.slot()).and_then(|s| due(s, generation, deadline))
            };
            match due {
                Some(Due::Now) => return Some((handle, Timestamp(deadline))),
                Some(Due::Later(at)) => self.timers.push(Reverse((at.0, h, generation))),
                None => {}
            }
        }
        None
    }
}

/// Whether the timer (`generation`, `deadline`) is the live one of the conversation in `s`.
fn live_timer<T: Tracked>(s: Option<&mut Slot<T>>, generation: u32, deadline: i64) -> bool {
    s.is_some_and(|s| {
        s.generation == generation && s.item.as_mut().is_some_and(|i| i.timer_at().0 == deadline)
    })
}

/// What a timer that surfaced means for its slot.
enum Due {
    /// The conversation's deadline has come.
    Now,
    /// Its deadline moved later since the timer was set: a new timer then.
    Later(Timestamp),
}

/// Whether the timer (`generation`, `deadline`) that surfaced is the slot's live one, and if
/// so whether its deadline has come.
fn due<T: Tracked>(s: &mut Slot<T>, generation: u32, deadline: i64) -> Option<Due> {
    let item = s.item.as_mut().filter(|_| s.generation == generation)?;
    if item.timer_at().0 != deadline {
        return None;
    }
    let now_due = item.deadline();
    if now_due.0 > deadline {
        *item.timer_at() = now_due;
        return Some(Due::Later(now_due));
    }
    *item.timer_at() = Timestamp(i64::MAX);
    Some(Due::Now)
}

/// Sets the item's live timer at its deadline; returns the deadline.
fn start_timer<T: Tracked>(item: &mut T) -> Timestamp {
    let deadline = item.deadline();
    *item.timer_at() = deadline;
    deadline
}

/// If the item's deadline is before its live timer, moves the timer there and returns it.
fn earlier<T: Tracked>(item: &mut T) -> Option<Timestamp> {
    let deadline = item.deadline();
    (deadline < *item.timer_at()).then(|| {
        *item.timer_at() = deadline;
        deadline
    })
}
