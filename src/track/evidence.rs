//! Evidence an attempt's verdict carries whatever its cause: counts, TTLs, SYN times, the ICMP
//! error — facts a person can find in Wireshark, by packet number.

use std::net::IpAddr;

use super::Ending;
use super::attempt::{Flow, IcmpSeen};
use super::hosts::hops;
use super::payload::{self, FirstBytes};
use super::tcp::{SYN_KEPT, TcpState};
use crate::time::Timestamp;
use crate::verdict::{Evidence, Fact};

/// The facts every attempt's evidence starts with, in the order the output contract has them.
pub(super) fn attempt(flow: &Flow, ending: Ending) -> Evidence {
    let mut ev = Evidence::new();
    ev.insert("attempt", flow.id);
    ev.insert("client_packets", flow.c2s.packets);
    ev.insert("server_packets", flow.s2c.packets);
    ev.insert("client_bytes", flow.c2s.bytes);
    ev.insert("server_bytes", flow.s2c.bytes);
    if let Some(t) = flow.c2s.ttl {
        ev.insert("client_ttl", t);
    }
    if let Some(t) = flow.s2c.ttl {
        ev.insert("server_ttl", t);
    }
    ev.insert("duration", secs(flow.last_ts, flow.first_ts));
    if flow.from_icmp_only {
        ev.insert("attempt_packets_captured", false);
    }
    if ending == Ending::Evicted {
        ev.insert("evicted", true);
    }
    if ending == Ending::Superseded {
        ev.insert("superseded_by_new_syn", true);
    }
    if let Some(i) = flow.icmp_other_first.as_deref() {
        ev.insert("other_icmp_errors", flow.icmp_other);
        ev.insert("other_icmp_first", icmp_json(i, flow.server.ip));
    }
    ev
}

/// The SYNs (and SYN-ACKs) of a TCP attempt: how many, when, which packets.
pub(super) fn syn(s: &TcpState, ev: &mut Evidence) {
    if s.duplicates > 0 {
        ev.insert("syn_duplicates", s.duplicates);
    }
    if s.syn_count == 0 {
        return;
    }
    let kept = (s.syn_count as usize).min(SYN_KEPT);
    let first = s.syn_times[0];
    ev.insert("syn_count", s.syn_count);
    ev.insert("syn_packets", Fact::u64_list(&s.syn_numbers[..kept]));
    ev.insert("syn_times", Fact::f64_list(s.syn_times[..kept].iter().map(|t| secs(*t, first))));
    if let Some((_, o)) = s.syn_ack {
        ev.insert("syn_ack_packet", o.number);
        ev.insert("syn_ack_count", s.syn_ack_count);
    }
    if s.ignored_rsts > 0 {
        ev.insert("ignored_rsts", s.ignored_rsts);
    }
}

pub(super) fn icmp_json(i: &IcmpSeen, server: IpAddr) -> Fact {
    let mut m = Evidence::new();
    icmp_fields(&mut m, i, server, ["packet", "version", "type", "code", "mtu"]);
    Fact::from(m)
}

/// The ICMP error's facts under the given names for packet, version, type, code and MTU.
pub(super) fn icmp_fields(
    ev: &mut Evidence,
    i: &IcmpSeen,
    server: IpAddr,
    names: [&'static str; 5],
) {
    ev.insert(names[0], i.origin.number);
    ev.insert(names[1], if i.v6 { "icmpv6" } else { "icmp" });
    ev.insert(names[2], i.icmp_type);
    ev.insert(names[3], i.code);
    ev.insert("reporter", i.reporter);
    ev.insert("reporter_is_server", i.reporter == server);
    ev.insert("reporter_ttl", i.reporter_ttl);
    ev.insert("reporter_hops", hops(i.reporter_ttl));
    if let Some(mtu) = i.mtu {
        ev.insert(names[4], mtu);
    }
}

pub(super) fn icmp_evidence(ev: &mut Evidence, i: &IcmpSeen, server: IpAddr) {
    icmp_fields(
        ev,
        i,
        server,
        ["icmp_packet", "icmp_version", "icmp_type", "icmp_code", "icmp_mtu"],
    );
}

/// A first payload for the evidence: its first text line, or what kind of bytes it is.
pub(super) fn describe(b: &[u8]) -> String {
    match payload::classify(b) {
        FirstBytes::TlsClientHello => "tls-client-hello".into(),
        FirstBytes::TlsAlert { level, description } => {
            format!("tls-alert level {level} {}", payload::tls_alert_name(description))
        }
        FirstBytes::TlsRecord => format!("tls-record type {}", b.first().copied().unwrap_or(0)),
        FirstBytes::HttpResponse { .. } | FirstBytes::Text => payload::first_line(b),
        FirstBytes::Binary => "binary".into(),
    }
}

pub(super) fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Seconds from `earlier` to `later`, rounded to microseconds, as a JSON number.
pub(super) fn secs(later: Timestamp, earlier: Timestamp) -> f64 {
    (later.since(earlier).as_secs_f64() * 1e6).round() / 1e6
}
