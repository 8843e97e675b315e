//! Resolver search lists: one lookup, several DNS names. A stub resolver that is asked for
//! `upload.wikimedia.org` may first try it with each domain of its search list appended
//! (`upload.wikimedia.org.corp.example.com`: NXDOMAIN, by design), or try it as asked and then
//! with the search domains (glibc's `ndots` rule). Each try is its own query, often from its
//! own port, so no single conversation shows that the NXDOMAINs were steps of one lookup.
//!
//! This stage sits between the tracker and the outputs and looks across conversations, per
//! client. A UDP NXDOMAIN (or REFUSED, SERVFAIL) verdict is held for [`SEARCH_WINDOW`] of
//! capture time; it becomes `answered / search-list` when the same client asks, within the
//! window before or after it:
//! - the name it expanded: a proper label prefix of the failed name (`upload.wikimedia.org`
//!   for `upload.wikimedia.org.corp.example.com`) — `dns_search_base` in the evidence (a home
//!   router that REFUSEs its own domain's expansions is a step of the walk too); or
//! - for an NXDOMAIN, a search-list form of it that was answered (NOERROR): `db.prod` failed as
//!   asked, then `db.prod.corp.example.com` resolved — `dns_search_answered`.
//!
//! The lookup's outcome is then the other name's verdict: if the bare name fails too, that
//! NXDOMAIN is the one failure. Everything else passes through untouched and in order; held
//! verdicts are written when their window has passed (or at once when revised and first in
//! line), so the outputs, the summary and the incidents see only final verdicts.
//!
//! Bounded: at most [`MAX_HELD`] verdicts held (past it the oldest is written as it is), at
//! most [`NAMES_PER_CLIENT`] recent names per client and [`MAX_CLIENTS`] clients.

use std::collections::VecDeque;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::decode::Proto;
use crate::time::{Duration, Timestamp};
use crate::verdict::{Cause, Hint, Verdict};

/// How far apart (by their first packets) two queries of one lookup may be: a search list is
/// walked one answer after another, in milliseconds, unless a server on the way is slow.
pub const SEARCH_WINDOW: Duration = Duration(5_000_000_000);
/// Most verdicts held at once.
pub const MAX_HELD: usize = 65_536;
/// Recent names remembered per client (a search list of six domains, A and AAAA each, is 14).
pub const NAMES_PER_CLIENT: usize = 32;
/// Most clients whose recent names are remembered.
pub const MAX_CLIENTS: usize = 65_536;

/// A DNS name a client asked.
struct Asked {
    ts: Timestamp,
    name: Box<str>,
}

/// A held NXDOMAIN verdict.
struct Held {
    verdict: Verdict,
    name: Box<str>,
    revised: bool,
}

#[derive(Default)]
struct Names {
    asked: VecDeque<Asked>,
    /// Sequence numbers of this client's held verdicts (some may be written already).
    held: Vec<u64>,
}

/// The search-list stage (see the module's documentation).
pub struct SearchList {
    held: VecDeque<Held>,
    /// The sequence number of `held[0]`.
    first_seq: u64,
    clients: FxHashMap<IpAddr, Names>,
    /// Capture time as the verdicts show it (the latest last packet), or a live run's clock.
    clock: Timestamp,
}

impl Default for SearchList {
    fn default() -> Self {
        SearchList {
            held: VecDeque::new(),
            first_seq: 0,
            clients: FxHashMap::default(),
            clock: Timestamp(i64::MIN),
        }
    }
}

impl SearchList {
    /// Looks at a verdict on its way to the outputs. Returns true when it is held (an NXDOMAIN
    /// a query of the same lookup may explain); false when it is to be written now. Either
    /// way, it may revise verdicts held before it; [`due`](Self::due) gives those ready.
    pub fn offer(&mut self, v: &Verdict) -> bool {
        self.clock = self.clock.max(v.last_ts);
        let Some((name, noerror)) = dns_name(v) else { return false };
        // A search-list form may also draw another error (a home router REFUSED its own
        // domain's expansions): as a step of the lookup, no failure either.
        let error = matches!(v.cause, Cause::Nxdomain | Cause::DnsRefused | Cause::Servfail);
        if !self.clients.contains_key(&v.client.ip) && self.clients.len() >= MAX_CLIENTS {
            self.forget_quiet_clients();
        }
        let known = self.clients.len() < MAX_CLIENTS || self.clients.contains_key(&v.client.ip);
        if !known {
            return false;
        }
        let names = self.clients.entry(v.client.ip).or_default();
        // Held NXDOMAINs of this client that this query explains.
        for &seq in &names.held {
            let Some(h) =
                seq.checked_sub(self.first_seq).and_then(|i| self.held.get_mut(i as usize))
            else {
                continue;
            };
            if h.revised || h.verdict.ts.since(v.ts).0.abs() > SEARCH_WINDOW.0 {
                continue;
            }
            if is_label_prefix(&name, &h.name) {
                revise(h, "dns_search_base", &name);
            } else if noerror
                && h.verdict.cause == Cause::Nxdomain
                && is_label_prefix(&h.name, &name)
            {
                revise(h, "dns_search_answered", &name);
            }
        }
        names.held.retain(|&seq| seq >= self.first_seq);
        // An error for an expansion of a name asked just before.
        let base = error
            .then(|| {
                names.asked.iter().find(|a| {
                    v.ts.since(a.ts).0.abs() <= SEARCH_WINDOW.0 && is_label_prefix(&a.name, &name)
                })
            })
            .flatten()
            .map(|a| a.name.clone());
        if names.asked.len() >= NAMES_PER_CLIENT {
            names.asked.pop_front();
        }
        names.asked.push_back(Asked { ts: v.ts, name: name.clone() });
        if !error {
            return false;
        }
        let mut held = Held { verdict: v.clone(), name, revised: false };
        if let Some(base) = base {
            revise(&mut held, "dns_search_base", &base);
        }
        if names.held.len() >= NAMES_PER_CLIENT {
            names.held.remove(0);
        }
        names.held.push(self.first_seq + self.held.len() as u64);
        self.held.push_back(held);
        true
    }

    /// Moves the clock of a live run (verdicts may not come for a while).
    pub fn tick(&mut self, now: Timestamp) {
        self.clock = self.clock.max(now);
    }

    /// The next held verdict ready to be written, in the order they were held: revised, or
    /// past its window. (Past [`MAX_HELD`], the oldest goes as it is.)
    pub fn due(&mut self) -> Option<Verdict> {
        let front = self.held.front()?;
        let waited = self.clock.since(front.verdict.ts) > SEARCH_WINDOW;
        if front.revised || waited || self.held.len() > MAX_HELD {
            return self.pop();
        }
        None
    }

    /// The next held verdict, whatever its window (the end of the input).
    pub fn pop(&mut self) -> Option<Verdict> {
        let h = self.held.pop_front()?;
        self.first_seq += 1;
        Some(h.verdict)
    }

    /// Verdicts held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Makes room for new clients: forgets those with nothing held whose last name is older
    /// than the window.
    fn forget_quiet_clients(&mut self) {
        let (clock, first_seq) = (self.clock, self.first_seq);
        self.clients.retain(|_, n| {
            n.held.iter().any(|&s| s >= first_seq)
                || n.asked.back().is_some_and(|a| clock.since(a.ts) <= SEARCH_WINDOW)
        });
    }
}

/// The name of a UDP DNS verdict (lower case), and whether it was answered with NOERROR.
fn dns_name(v: &Verdict) -> Option<(Box<str>, bool)> {
    if v.proto != Proto::Udp {
        return None;
    }
    let name = v.evidence.get("dns_query")?.as_str()?;
    // A name cut short by the snap length cannot be compared.
    if name.contains('…') || name == "." {
        return None;
    }
    let noerror = v.evidence.get("dns_rcode").and_then(|f| f.as_str()) == Some("NOERROR");
    Some((name.to_ascii_lowercase().into_boxed_str(), noerror))
}

/// Whether `short` is `long` with one or more trailing labels removed.
fn is_label_prefix(short: &str, long: &str) -> bool {
    long.len() > short.len() + 1
        && long.starts_with(short)
        && long.as_bytes().get(short.len()) == Some(&b'.')
}

fn revise(h: &mut Held, key: &'static str, other: &str) {
    let v = &mut h.verdict;
    v.cause = Cause::SearchList;
    v.hint = Hint::new(v.cause, v.client, v.server);
    v.evidence.insert(key, other.to_string());
    h.revised = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Endpoint;

    fn dns(ts: f64, client: &str, port: u16, name: &str, rcode: &'static str) -> Verdict {
        let cause = match rcode {
            "NXDOMAIN" => Cause::Nxdomain,
            "SERVFAIL" => Cause::Servfail,
            "REFUSED" => Cause::DnsRefused,
            _ => Cause::ReplySeen,
        };
        let (client, server) = (
            Endpoint::new(client.parse().unwrap(), port),
            Endpoint::new("192.0.2.53".parse().unwrap(), 53),
        );
        let mut v = Verdict::for_test(cause, Proto::Udp, client, server);
        v.evidence.insert("dns_query", name.to_string());
        v.evidence.insert("dns_rcode", rcode);
        (v.ts, v.last_ts) = (Timestamp::from_secs_f64(ts), Timestamp::from_secs_f64(ts + 0.01));
        v
    }

    /// Runs verdicts through the stage as the output does; returns what is written, in order,
    /// as (port, cause word, the search key's value).
    fn run(verdicts: Vec<Verdict>) -> Vec<(u16, &'static str, String)> {
        let mut s = SearchList::default();
        let mut out = Vec::new();
        let mut write = |v: Verdict| {
            let other = ["dns_search_base", "dns_search_answered"]
                .iter()
                .find_map(|k| {
                    v.evidence.get(k).and_then(|f| f.as_str()).map(|o| format!("{k}={o}"))
                })
                .unwrap_or_default();
            out.push((v.client.port, v.cause.word(), other));
        };
        for v in verdicts {
            if !s.offer(&v) {
                write(v);
            }
            while let Some(v) = s.due() {
                write(v);
            }
        }
        while let Some(v) = s.pop() {
            write(v);
        }
        out
    }

    #[test]
    fn expansions_before_the_bare_name_are_steps_of_one_lookup() {
        let out = run(vec![
            dns(0.0, "10.0.0.1", 1, "upload.wikimedia.org.ncsa.uiuc.edu", "NXDOMAIN"),
            dns(0.02, "10.0.0.1", 2, "upload.wikimedia.org.uiuc.edu", "NXDOMAIN"),
            dns(0.04, "10.0.0.1", 3, "upload.wikimedia.org", "NOERROR"),
        ]);
        assert_eq!(
            out,
            vec![
                (3, "reply-seen", String::new()),
                (1, "search-list", "dns_search_base=upload.wikimedia.org".into()),
                (2, "search-list", "dns_search_base=upload.wikimedia.org".into()),
            ]
        );
    }

    #[test]
    fn the_bare_name_first_then_its_expansions() {
        // glibc with ndots: the name as asked fails, an expansion resolves: both steps.
        let out = run(vec![
            dns(0.0, "10.0.0.1", 1, "db.prod", "NXDOMAIN"),
            dns(0.01, "10.0.0.1", 2, "DB.prod.corp.example.com", "NOERROR"),
        ]);
        assert_eq!(
            out,
            vec![
                (2, "reply-seen", String::new()),
                (1, "search-list", "dns_search_answered=db.prod.corp.example.com".into()),
            ]
        );
        // Every form fails: the name as asked is the one failure, its expansions are steps.
        let out = run(vec![
            dns(0.0, "10.0.0.1", 1, "db.prod", "NXDOMAIN"),
            dns(0.01, "10.0.0.1", 2, "db.prod.corp.example.com", "NXDOMAIN"),
            dns(0.02, "10.0.0.1", 3, "db.prod.example.com", "NXDOMAIN"),
        ]);
        assert_eq!(
            out,
            vec![
                (1, "nxdomain", String::new()),
                (2, "search-list", "dns_search_base=db.prod".into()),
                (3, "search-list", "dns_search_base=db.prod".into()),
            ]
        );
    }

    #[test]
    fn an_expansion_refused_by_the_resolver_is_a_step_too() {
        // Windows XP behind a home router: the bare name, its expansion REFUSED, the bare name
        // again (A after AAAA).
        let out = run(vec![
            dns(0.0, "10.0.0.1", 1, "www.wireshark.org", "NOERROR"),
            dns(0.16, "10.0.0.1", 2, "www.wireshark.org.gateway.2wire.net", "REFUSED"),
            dns(0.19, "10.0.0.1", 3, "www.wireshark.org", "NOERROR"),
        ]);
        assert_eq!(
            out,
            vec![
                (1, "reply-seen", String::new()),
                (2, "search-list", "dns_search_base=www.wireshark.org".into()),
                (3, "reply-seen", String::new()),
            ]
        );
    }

    #[test]
    fn other_clients_other_names_and_late_queries_explain_nothing() {
        let out = run(vec![
            dns(0.0, "10.0.0.1", 1, "www.example.com.corp.example", "NXDOMAIN"),
            dns(0.01, "10.0.0.2", 2, "www.example.com", "NOERROR"),
            dns(0.02, "10.0.0.1", 3, "example.www", "SERVFAIL"),
            dns(0.03, "10.0.0.1", 4, "ww.example.com", "NOERROR"),
            dns(6.0, "10.0.0.1", 5, "www.example.com", "NOERROR"),
            dns(6.01, "10.0.0.1", 6, "nope.example.com", "NXDOMAIN"),
        ]);
        assert_eq!(
            out,
            vec![
                (2, "reply-seen", String::new()),
                (4, "reply-seen", String::new()),
                (5, "reply-seen", String::new()),
                (1, "nxdomain", String::new()),
                (3, "servfail", String::new()),
                (6, "nxdomain", String::new()),
            ]
        );
    }

    #[test]
    fn what_is_held_stays_bounded() {
        let mut s = SearchList::default();
        for i in 0..(MAX_HELD as u32 + 10) {
            let v = dns(0.0, "10.0.0.1", (i % 60_000) as u16, &format!("n{i}.example"), "NXDOMAIN");
            assert!(s.offer(&v));
            while s.due().is_some() {}
        }
        assert!(s.held() <= MAX_HELD);
        assert!(s.clients[&"10.0.0.1".parse::<IpAddr>().unwrap()].held.len() <= NAMES_PER_CLIENT);
        assert!(s.clients[&"10.0.0.1".parse::<IpAddr>().unwrap()].asked.len() <= NAMES_PER_CLIENT);
    }
}
