//! A small JSON writer for the per-verdict hot path: numbers, strings, addresses and
//! timestamps written straight into a byte buffer, without `core::fmt` or building a
//! `serde_json::Value` first.
//!
//! The bytes are exactly those serde_json writes for the same values (the output contract must
//! not move by a byte): integers through `itoa` and floats through `zmij`, the crates serde_json
//! itself formats with (Cargo resolves them to the same versions), strings with serde_json's
//! escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00XX`).
//! Addresses are written in the form `std`'s `Display` gives, and timestamps in the form of
//! [`Timestamp`]'s `Display`; the unit tests check all of this against the originals.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::time::Timestamp;
use crate::verdict::{Evidence, Fact, Hint, HintPart};

/// Appends an unsigned integer.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a signed integer.
#[inline]
pub fn write_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a float as serde_json does: the shortest representation that reads back the same
/// value, `null` when it is not finite.
#[inline]
pub fn write_f64(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// What a byte needs in a JSON string: 0 nothing, `u` a `\u00XX` escape, else the letter of a
/// two-character escape (serde_json's table).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether any of the 8 bytes in `x` needs an escape (a control character, `"` or `\`):
/// the classic "has a zero byte" and "has a byte less than n" word tricks.
#[inline]
fn needs_escape8(x: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    // Bytes below 0x20 (the high bit must be clear: `!x`), `"` and `\`.
    let below = x.wrapping_sub(LO * 0x20) & !x & HI;
    (below | has_zero(x ^ (LO * b'"' as u64)) | has_zero(x ^ (LO * b'\\' as u64))) != 0
}

/// Appends the contents of a JSON string (no quotes), escaped.
#[inline]
pub fn write_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most strings need no escape at all: check 8 bytes at a time, then copy in one go.
    let mut clean = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        if needs_escape8(u64::from_le_bytes(w)) {
            break;
        }
        clean += 8;
    }
    if clean == bytes.len() || bytes[clean..].iter().all(|&b| ESCAPE[b as usize] == 0) {
        out.extend_from_slice(bytes);
        return;
    }
    out.extend_from_slice(&bytes[..clean]);
    write_escaped(out, &bytes[clean..]);
}

/// Appends `bytes` (a valid UTF-8 tail of a string), escaping byte by byte.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        if e == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a JSON string: quoted and escaped.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_str_contents(out, s);
    out.push(b'"');
}

/// Appends `0`–`255` in decimal.
#[inline]
fn write_u8(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.extend_from_slice(&[b'0' + n / 100, b'0' + n / 10 % 10, b'0' + n % 10]);
    } else if n >= 10 {
        out.extend_from_slice(&[b'0' + n / 10, b'0' + n % 10]);
    } else {
        out.push(b'0' + n);
    }
}

/// Appends an IPv4 address as `Ipv4Addr`'s `Display` does (`192.0.2.1`).
#[inline]
pub fn write_ipv4(out: &mut Vec<u8>, a: Ipv4Addr) {
    let [x, y, z, w] = a.octets();
    write_u8(out, x);
    out.push(b'.');
    write_u8(out, y);
    out.push(b'.');
    write_u8(out, z);
    out.push(b'.');
    write_u8(out, w);
}

/// Appends a 16-bit group in lower-case hex without leading zeros.
#[inline]
fn write_hex16(out: &mut Vec<u8>, g: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let d = (g >> shift) & 0xf;
        if d != 0 || started || shift == 0 {
            out.push(HEX[d as usize]);
            started = true;
        }
    }
}

/// Appends an IPv6 address as `Ipv6Addr`'s `Display` does (RFC 5952: lower-case hex, the
/// longest run of two or more zero groups — the first of equal runs — as `::`, and IPv4-mapped
/// addresses as `::ffff:a.b.c.d`).
pub fn write_ipv6(out: &mut Vec<u8>, a: Ipv6Addr) {
    if let Some(v4) = a.to_ipv4_mapped() {
        out.extend_from_slice(b"::ffff:");
        write_ipv4(out, v4);
        return;
    }
    let g = a.segments();
    // The longest run of zero groups (the first one on a tie).
    let (mut best_at, mut best_len) = (0usize, 0usize);
    let (mut at, mut len) = (0usize, 0usize);
    for (i, &s) in g.iter().enumerate() {
        if s == 0 {
            if len == 0 {
                at = i;
            }
            len += 1;
            if len > best_len {
                best_at = at;
                best_len = len;
            }
        } else {
            len = 0;
        }
    }
    let groups = |out: &mut Vec<u8>, part: &[u16]| {
        for (i, &s) in part.iter().enumerate() {
            if i > 0 {
                out.push(b':');
            }
            write_hex16(out, s);
        }
    };
    if best_len > 1 {
        groups(out, &g[..best_at]);
        out.extend_from_slice(b"::");
        groups(out, &g[best_at + best_len..]);
    } else {
        groups(out, &g);
    }
}

/// Appends an address as `IpAddr`'s `Display` does.
#[inline]
pub fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => write_ipv4(out, a),
        IpAddr::V6(a) => write_ipv6(out, a),
    }
}

/// Appends a tunnel as a JSON object: `{"type":"vxlan","vni":42,"outer":["192.0.2.1",
/// "192.0.2.2"]}` (the number under its kind's name, when it has one; outer endpoints client
/// side first, when it has them).
pub fn write_tunnel(out: &mut Vec<u8>, t: &crate::decode::Tunnel) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(t.kind.as_str().as_bytes());
    out.push(b'"');
    if let Some(id) = t.id() {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(t.kind.id_name().as_bytes());
        out.extend_from_slice(b"\":");
        write_u64(out, u64::from(id));
    }
    if let Some((a, b)) = t.outer() {
        out.extend_from_slice(b",\"outer\":[\"");
        write_ip(out, a);
        out.extend_from_slice(b"\",\"");
        write_ip(out, b);
        out.extend_from_slice(b"\"]");
    }
    out.push(b'}');
}

/// Appends `n` as exactly `width` decimal digits (zero-padded; `n` must fit).
#[inline]
fn write_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let at = out.len();
    out.resize(at + width, b'0');
    for d in out[at..].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends a timestamp as [`Timestamp`]'s `Display` does (`secs.micros`, or `secs.nanos` when
/// the sub-microsecond part is not zero).
#[inline]
pub fn write_timestamp(out: &mut Vec<u8>, ts: Timestamp) {
    if ts.0 < 0 {
        out.push(b'-');
    }
    let abs = ts.0.unsigned_abs();
    let (secs, nanos) = (abs / 1_000_000_000, abs % 1_000_000_000);
    write_u64(out, secs);
    out.push(b'.');
    if nanos.is_multiple_of(1000) {
        write_padded(out, nanos / 1000, 6);
    } else {
        write_padded(out, nanos, 9);
    }
}

/// Appends `fact` as JSON: exactly the bytes serde_json gives the equivalent `Value`.
pub fn write_fact(out: &mut Vec<u8>, fact: &Fact) {
    match fact {
        Fact::Null => out.extend_from_slice(b"null"),
        Fact::Bool(true) => out.extend_from_slice(b"true"),
        Fact::Bool(false) => out.extend_from_slice(b"false"),
        Fact::U64(n) => write_u64(out, *n),
        Fact::I64(n) => write_i64(out, *n),
        Fact::F64(f) => write_f64(out, *f),
        Fact::Str(s) => write_str(out, s),
        Fact::String(s) => write_str(out, s),
        Fact::Ip(ip) => {
            out.push(b'"');
            write_ip(out, *ip);
            out.push(b'"');
        }
        Fact::List(items) => write_list(out, items.iter(), write_fact),
        Fact::U64List(n, v) => {
            write_list(out, v.iter().take(usize::from(*n)), |o, x| write_u64(o, *x))
        }
        Fact::F64List(n, v) => {
            write_list(out, v.iter().take(usize::from(*n)), |o, x| write_f64(o, *x))
        }
        Fact::Object(e) => write_evidence_sorted(out, e),
        // Writing into a Vec cannot fail, nor can serializing a Value.
        Fact::Json(v) => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

/// Appends `items` as a JSON array, each written by `write`.
#[inline]
fn write_list<T>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = T>,
    write: impl Fn(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, x) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, x);
    }
    out.push(b']');
}

/// Appends `evidence` as one JSON object, its facts in order (the bytes serde_json would write).
pub fn write_evidence(out: &mut Vec<u8>, evidence: &Evidence) {
    out.push(b'{');
    for (i, (k, v)) in evidence.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_fact(out, v);
    }
    out.push(b'}');
}

/// Appends `evidence` as one JSON object with the keys in sorted order (as a
/// `serde_Value` object holds them).
pub fn write_evidence_sorted(out: &mut Vec<u8>, evidence: &Evidence) {
    out.push(b'{');
    for (i, (k, v)) in evidence.sorted().into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_fact(out, v);
    }
    out.push(b'}');
}

/// `fact` as compact JSON text.
pub fn fact_to_string(fact: &Fact) -> String {
    let mut out = Vec::new();
    write_fact(&mut out, fact);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends `hint`'s text (no quotes; it needs no JSON escapes: the texts hold none, and
/// addresses and ports are digits, hex, dots, colons and brackets).
pub fn write_hint(out: &mut Vec<u8>, hint: &Hint) {
    let (client, server) = (hint.client(), hint.server());
    for p in hint.parts() {
        match p {
            HintPart::Text(t) => out.extend_from_slice(t.as_bytes()),
            HintPart::Server if hint.is_portless() => write_ip(out, server.ip),
            HintPart::Server => match server.ip {
                IpAddr::V4(a) => {
                    write_ipv4(out, a);
                    out.push(b':');
                    write_u64(out, u64::from(server.port));
                }
                IpAddr::V6(a) => {
                    out.push(b'[');
                    write_ipv6(out, a);
                    out.extend_from_slice(b"]:");
                    write_u64(out, u64::from(server.port));
                }
            },
            HintPart::Host => write_ip(out, server.ip),
            HintPart::Port => write_u64(out, u64::from(server.port)),
            HintPart::Client => write_ip(out, client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_str(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn json_f64(f: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut all = String::new();
        for c in (0u32..0x80).chain([0xe9, 0x2028, 0x1f600]) {
            all.push(char::from_u32(c).unwrap());
        }
        for s in ["", "plain", "say \"hi\"", "back\\slash", "tab\tnl\ncr\r", "\u{7f}é€", &all] {
            assert_eq!(json_str(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn the_word_check_finds_every_byte_that_needs_an_escape() {
        for b in 0..=255u8 {
            for at in 0..8 {
                for fill in [b'a', 0x20, 0x7f, 0xff, 0x21, 0x23, 0x5b, 0x5d] {
                    let mut w = [fill; 8];
                    w[at] = b;
                    let want = w.iter().any(|&x| ESCAPE[x as usize] != 0);
                    assert_eq!(needs_escape8(u64::from_le_bytes(w)), want, "{w:?}");
                }
            }
        }
        let long = "a fairly long string without escapes, and then one \" at the end";
        assert_eq!(json_str(long), serde_json::to_string(long).unwrap());
    }

    #[test]
    fn floats_format_as_serde_json_does() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            0.003,
            0.00105,
            7e-6,
            1e-6,
            0.1 + 0.2,
            5.0,
            300.0,
            1e15,
            1e16,
            1e17,
            1.5e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            123456.789,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Durations as the evidence computes them: rounded to µs and to ms.
        for i in 0..3000i64 {
            let ns = i * i * 7919 + i * 104_729;
            let s = ns as f64 / 1e9;
            values.push((s * 1e6).round() / 1e6);
            values.push((s * 1000.0).round() / 1000.0);
            values.push(-s);
            values.push(f64::from_bits(0x3ff0_0000_0000_0000 ^ (ns as u64).wrapping_mul(0x9e37)));
        }
        for f in values {
            assert_eq!(json_f64(f), serde_json::to_string(&serde_json::json!(f)).unwrap());
            assert_eq!(json_f64(f), serde_json::to_string(&f).unwrap());
        }
    }

    #[test]
    fn integers_and_timestamps() {
        for n in [0u64, 9, 10, 99, 100, 65535, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        for n in [0i64, -1, i64::MIN, i64::MAX, 42] {
            let mut out = Vec::new();
            write_i64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        let mut stamps = vec![0i64, -1, 1, -500_000_000, 999, 1000, i64::MIN, i64::MAX];
        for i in 0..5000i64 {
            stamps.push(1_700_000_000_000_000_000 + i * 1_000_003 * i);
            stamps.push(i * 1000 - 2_500_000);
        }
        for t in stamps {
            let mut out = Vec::new();
            write_timestamp(&mut out, Timestamp(t));
            assert_eq!(String::from_utf8(out).unwrap(), Timestamp(t).to_string());
        }
    }

    #[test]
    fn addresses_as_std_displays_them() {
        let mut v6 = vec![
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::LOCALHOST,
            "::ffff:192.0.2.1".parse().unwrap(),
            "::192.0.2.1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "2001:db8:0:0:1:0:0:1".parse().unwrap(),
            "2001:0:0:1:0:0:0:1".parse().unwrap(),
            "1:0:1:0:1:0:1:0".parse().unwrap(),
            "fe80::".parse().unwrap(),
            "ff02::1:ff00:1".parse().unwrap(),
            "fd00:c1::20:1".parse().unwrap(),
            "0:0:0:0:0:ffff:0:1".parse().unwrap(),
            "::fffe:1:2".parse().unwrap(),
        ];
        // Every pattern of zero and non-zero groups, with a few group values.
        for mask in 0u32..256 {
            for val in [1u16, 0xa, 0xff, 0x100, 0xabcd, 0xffff] {
                let mut g = [0u16; 8];
                for (i, s) in g.iter_mut().enumerate() {
                    if mask & (1 << i) != 0 {
                        *s = val.wrapping_add(i as u16);
                    }
                }
                v6.push(Ipv6Addr::from(g));
            }
        }
        for a in v6 {
            let mut out = Vec::new();
            write_ip(&mut out, IpAddr::V6(a));
            assert_eq!(String::from_utf8(out).unwrap(), a.to_string());
        }
        for a in [0u32, 1, 0x0a00_0001, 0xc000_0201, 0x6466_6d13, u32::MAX, 0x0a0a_0a0a] {
            let a = Ipv4Addr::from(a);
            let mut out = Vec::new();
            write_ip(&mut out, IpAddr::V4(a));
            assert_eq!(String::from_utf8(out).unwrap(), a.to_string());
        }
    }

    proptest! {
        #[test]
        fn any_address_as_std(bits in any::<u128>(), zeros in any::<u8>(), v4 in any::<u32>()) {
            // Zero some groups so that runs of zeros are common.
            let mut g = Ipv6Addr::from(bits).segments();
            for (i, s) in g.iter_mut().enumerate() {
                if zeros & (1 << i) != 0 {
                    *s = 0;
                }
            }
            let a = Ipv6Addr::from(g);
            let mut out = Vec::new();
            write_ipv6(&mut out, a);
            prop_assert_eq!(String::from_utf8(out).unwrap(), a.to_string());
            let mut out = Vec::new();
            write_ipv4(&mut out, Ipv4Addr::from(v4));
            prop_assert_eq!(String::from_utf8(out).unwrap(), Ipv4Addr::from(v4).to_string());
        }

        #[test]
        fn any_string_as_serde_json(s in any::<String>()) {
            prop_assert_eq!(json_str(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn any_float_as_serde_json(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            prop_assert_eq!(json_f64(f), serde_json::to_string(&f).unwrap());
        }
    }
}

#[cfg(test)]
mod evidence_tests {
    use super::*;
    use serde_json::Value;
    use std::net::IpAddr;

    #[test]
    fn evidence_writes_what_serde_json_writes() {
        let mut inner = Evidence::new();
        inner.insert("packet", 7u64);
        inner.insert("version", "icmp");
        let mut e = Evidence::new();
        e.insert("attempt", 1u64);
        e.insert("negative", -3i64);
        e.insert("duration", 0.00105);
        e.insert("zero", 0.0);
        e.insert("nan", f64::NAN);
        e.insert("flag", true);
        e.insert("word", "closed");
        e.insert("text", String::from("GET / \"x\"\n\u{1}"));
        e.insert("reporter", "2001:db8::1".parse::<IpAddr>().unwrap());
        e.insert("packets", &[1u64, 2, 3][..]);
        e.insert("times", vec![Fact::from(0.0), Fact::from(1.5)]);
        e.insert("few", Fact::u64_list(&[4, 5]));
        e.insert("one", Fact::u64_list(&[u64::MAX]));
        e.insert("no", Fact::u64_list(&[]));
        e.insert("many", Fact::u64_list(&[1, 2, 3]));
        e.insert("few_times", Fact::f64_list([0.0, 0.000_5]));
        e.insert("odd_times", Fact::f64_list([1.0, f64::NAN]));
        e.insert("many_times", Fact::f64_list([0.0, 1.0, 3.0]));
        e.insert("none", Option::<u8>::None);
        e.insert("inner", inner);
        e.insert("value", serde_json::json!({"a": [1, "b", null]}));
        e.insert("attempt", 2u64);
        let mut out = Vec::new();
        write_evidence(&mut out, &e);
        let via_serde = serde_json::to_string(&e).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), via_serde);
        assert!(via_serde.starts_with(r#"{"attempt":2,"negative":-3,"duration":0.00105,"#));
        // Nested facts are written as the serde_json::Value they used to be converted into.
        assert!(via_serde.contains(r#""inner":{"packet":7,"version":"icmp"}"#));
        let nested = Fact::from(e.clone());
        let mut out = Vec::new();
        write_fact(&mut out, &nested);
        let as_value = serde_json::to_string(&serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), as_value);
        assert_eq!(serde_json::to_string(&nested).unwrap(), as_value);
        assert_eq!(serde_json::to_string(&e.to_value()).unwrap(), as_value);
        assert_eq!(e["attempt"], 2);
        assert_eq!(e.len(), 21);
        assert!(via_serde.contains(r#""few":[4,5],"one":[18446744073709551615],"no":[],"many":[1,2,3],"few_times":[0.0,0.0005],"odd_times":[1.0,null],"many_times":[0.0,1.0,3.0]"#));
        assert_eq!(e["few"], serde_json::json!([4, 5]));
        assert_eq!(e["few_times"], serde_json::json!([0.0, 0.0005]));
        assert_eq!(e["nan"], Value::Null);
        assert_eq!(e["reporter"], "2001:db8::1");
        assert_eq!(e["packets"], serde_json::json!([1, 2, 3]));
        assert!(e["absent"].is_null());
    }

    #[test]
    fn a_short_float_list_keeps_every_item_after_a_non_finite_one() {
        for items in [
            vec![f64::NAN, 1.0],
            vec![f64::INFINITY, f64::NAN],
            vec![1.0, f64::NEG_INFINITY],
            vec![0.5, 1.5],
            vec![f64::NAN],
            vec![],
            vec![1.0, f64::NAN, 2.0],
        ] {
            let want = serde_json::to_string(&serde_json::json!(items)).unwrap();
            let fact = Fact::f64_list(items.iter().copied());
            assert_eq!(fact_to_string(&fact), want, "{items:?}");
            assert_eq!(serde_json::to_string(&fact).unwrap(), want, "{items:?}");
        }
    }
}
