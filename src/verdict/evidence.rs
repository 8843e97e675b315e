//! The facts behind a verdict: named JSON-like values in insertion order.

use std::net::IpAddr;

use serde_json::Value;

use crate::json;

/// One fact of the evidence: a JSON value, in the few shapes evidence takes. Written by
/// [`Fact::write_json`] with exactly the bytes serde_json gives the equivalent
/// [`serde_json::Value`] ([`Fact::to_value`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer (non-negative ones are [`Fact::U64`], as serde_json keeps them).
    I64(i64),
    /// A finite float (conversions turn non-finite ones into [`Fact::Null`], as serde_json does).
    F64(f64),
    /// A fixed word.
    Str(&'static str),
    /// A string read from the capture or built for the evidence.
    String(Box<str>),
    /// An address, written as a string in `std`'s form.
    Ip(IpAddr),
    /// A list.
    List(Box<[Fact]>),
    /// A list of at most two unsigned integers (the count, then the values, unused ones 0),
    /// held inline: SYN packet numbers, usually one (see [`Fact::u64_list`]).
    U64List(u8, [u64; 2]),
    /// A list of at most two floats, held inline like [`Fact::U64List`] (see
    /// [`Fact::f64_list`]).
    F64List(u8, [f64; 2]),
    /// Nested facts, written as serde_json writes a `Value::Object`: keys in sorted order.
    Object(Box<Evidence>),
    /// Any other JSON value.
    Json(Box<Value>),
}

impl Fact {
    /// A list of integers: held inline when there are at most two (no allocation).
    pub fn u64_list(items: &[u64]) -> Fact {
        match *items {
            [] => Fact::U64List(0, [0; 2]),
            [a] => Fact::U64List(1, [a, 0]),
            [a, b] => Fact::U64List(2, [a, b]),
            _ => Fact::from(items),
        }
    }

    /// A list of floats (non-finite ones become `null`): held inline when there are at most
    /// two and all are finite. Does not rely on the iterator's reported length.
    pub fn f64_list(items: impl IntoIterator<Item = f64>) -> Fact {
        let mut items = items.into_iter();
        let mut v = [0.0; 2];
        let mut n = 0;
        loop {
            match items.next() {
                None => return Fact::F64List(n as u8, v),
                Some(f) if f.is_finite() && n < v.len() => {
                    v[n] = f;
                    n += 1;
                }
                // Rare: a non-finite value (null) or a third one: the general list of all of
                // them, those held so far first.
                Some(f) => {
                    let held = v[..n].iter().copied();
                    return Fact::List(
                        held.chain(std::iter::once(f)).chain(items).map(Fact::from).collect(),
                    );
                }
            }
        }
    }

    /// Appends the fact as JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Fact::Null => out.extend_from_slice(b"null"),
            Fact::Bool(true) => out.extend_from_slice(b"true"),
            Fact::Bool(false) => out.extend_from_slice(b"false"),
            Fact::U64(n) => json::write_u64(out, *n),
            Fact::I64(n) => json::write_i64(out, *n),
            Fact::F64(f) => json::write_f64(out, *f),
            Fact::Str(s) => json::write_str(out, s),
            Fact::String(s) => json::write_str(out, s),
            Fact::Ip(ip) => {
                out.push(b'"');
                json::write_ip(out, *ip);
                out.push(b'"');
            }
            Fact::List(items) => {
                out.push(b'[');
                for (i, f) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    f.write_json(out);
                }
                out.push(b']');
            }
            Fact::U64List(n, v) => {
                out.push(b'[');
                for (i, x) in v.iter().take(usize::from(*n)).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_u64(out, *x);
                }
                out.push(b']');
            }
            Fact::F64List(n, v) => {
                out.push(b'[');
                for (i, x) in v.iter().take(usize::from(*n)).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_f64(out, *x);
                }
                out.push(b']');
            }
            Fact::Object(e) => e.write_json_sorted(out),
            // Writing into a Vec cannot fail, nor can serializing a Value.
            Fact::Json(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }

    /// The fact as a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        match self {
            Fact::Null => Value::Null,
            Fact::Bool(b) => Value::Bool(*b),
            Fact::U64(n) => Value::from(*n),
            Fact::I64(n) => Value::from(*n),
            Fact::F64(f) => Value::from(*f),
            Fact::Str(s) => Value::from(*s),
            Fact::String(s) => Value::from(&**s),
            Fact::Ip(ip) => Value::String(ip.to_string()),
            Fact::List(items) => Value::Array(items.iter().map(Fact::to_value).collect()),
            Fact::U64List(n, v) => v.iter().take(usize::from(*n)).copied().collect(),
            Fact::F64List(n, v) => v.iter().take(usize::from(*n)).copied().collect(),
            Fact::Object(e) => {
                Value::Object(e.iter().map(|(k, f)| (k.to_string(), f.to_value())).collect())
            }
            Fact::Json(v) => (**v).clone(),
        }
    }

    /// The fact as compact JSON text.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The string, when the fact is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Fact::Str(s) => Some(s),
            Fact::String(s) => Some(s),
            Fact::Json(v) => v.as_str(),
            _ => None,
        }
    }

    /// Whether the fact is `null`.
    pub fn is_null(&self) -> bool {
        match self {
            Fact::Null => true,
            Fact::Json(v) => v.is_null(),
            _ => false,
        }
    }
}

impl serde::Serialize for Fact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Fact::Null => s.serialize_unit(),
            Fact::Bool(b) => s.serialize_bool(*b),
            Fact::U64(n) => s.serialize_u64(*n),
            Fact::I64(n) => s.serialize_i64(*n),
            Fact::F64(f) => s.serialize_f64(*f),
            Fact::Str(t) => s.serialize_str(t),
            Fact::String(t) => s.serialize_str(t),
            Fact::Ip(ip) => s.collect_str(ip),
            Fact::List(items) => s.collect_seq(items.iter()),
            Fact::U64List(n, v) => s.collect_seq(v.iter().take(usize::from(*n))),
            Fact::F64List(n, v) => s.collect_seq(v.iter().take(usize::from(*n))),
            Fact::Object(e) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(e.facts.len()))?;
                for (k, v) in e.sorted() {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Fact::Json(v) => v.serialize(s),
        }
    }
}

macro_rules! fact_from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Fact {
            fn from(n: $t) -> Fact {
                Fact::U64(n as u64)
            }
        }
    )*};
}
fact_from_unsigned!(u8, u16, u32, u64, usize);

macro_rules! fact_from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Fact {
            fn from(n: $t) -> Fact {
                if n >= 0 { Fact::U64(n as u64) } else { Fact::I64(n as i64) }
            }
        }
    )*};
}
fact_from_signed!(i8, i16, i32, i64, isize);

impl From<f64> for Fact {
    fn from(f: f64) -> Fact {
        if f.is_finite() { Fact::F64(f) } else { Fact::Null }
    }
}

impl From<bool> for Fact {
    fn from(b: bool) -> Fact {
        Fact::Bool(b)
    }
}

impl From<&'static str> for Fact {
    fn from(s: &'static str) -> Fact {
        Fact::Str(s)
    }
}

impl From<String> for Fact {
    fn from(s: String) -> Fact {
        Fact::String(s.into_boxed_str())
    }
}

impl From<IpAddr> for Fact {
    fn from(ip: IpAddr) -> Fact {
        Fact::Ip(ip)
    }
}

impl From<Evidence> for Fact {
    fn from(e: Evidence) -> Fact {
        Fact::Object(Box::new(e))
    }
}

impl<T: Into<Fact>> From<Option<T>> for Fact {
    fn from(o: Option<T>) -> Fact {
        o.map_or(Fact::Null, Into::into)
    }
}

impl<T: Into<Fact> + Copy> From<&[T]> for Fact {
    fn from(items: &[T]) -> Fact {
        Fact::List(items.iter().map(|&x| x.into()).collect())
    }
}

impl From<Vec<Fact>> for Fact {
    fn from(items: Vec<Fact>) -> Fact {
        Fact::List(items.into_boxed_slice())
    }
}

impl From<Value> for Fact {
    fn from(v: Value) -> Fact {
        match v {
            Value::Null => Fact::Null,
            Value::Bool(b) => Fact::Bool(b),
            Value::Number(ref n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Fact::U64(u),
                (None, Some(i), _) => Fact::I64(i),
                (None, None, Some(f)) => Fact::from(f),
                _ => Fact::Json(Box::new(v)),
            },
            Value::String(s) => Fact::from(s),
            Value::Array(a) => Fact::List(a.into_iter().map(Fact::from).collect()),
            Value::Object(_) => Fact::Json(Box::new(v)),
        }
    }
}

/// Comparisons with plain values, as with a [`serde_json::Value`] (`evidence["rst_ttl"] == 61`).
macro_rules! fact_eq {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Fact {
            fn eq(&self, other: &$t) -> bool {
                self.to_value() == *other
            }
        }
    )*};
}
fact_eq!(
    Value, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool, &str, str, String
);

/// The facts behind a verdict: named values in the order they were added (the JSON output
/// keeps that order). Keys are static words, so building it costs no key allocations — it is
/// built once per attempt, which in a flood is often.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    facts: Vec<(&'static str, Fact)>,
    /// One bit per key hash of the keys present: most inserts are of new keys, and the bit
    /// tells so without comparing the key with every other.
    keys: u64,
}

/// A key's bit in [`Evidence::keys`].
#[inline]
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, last) = (b.first().copied().unwrap_or(0), b.last().copied().unwrap_or(0));
    let h = (b.len() as u32).wrapping_mul(7) ^ u32::from(first).wrapping_mul(13) ^ u32::from(last);
    1 << (h % 64)
}

impl PartialEq for Evidence {
    fn eq(&self, other: &Evidence) -> bool {
        self.facts == other.facts
    }
}

impl Evidence {
    /// An empty set of facts.
    pub fn new() -> Self {
        Evidence { facts: Vec::with_capacity(24), keys: 0 }
    }

    /// Sets `key` (replacing an earlier value).
    #[inline]
    pub fn insert(&mut self, key: &'static str, value: impl Into<Fact>) {
        let value = value.into();
        let bit = key_bit(key);
        if self.keys & bit != 0
            && let Some(slot) =
                self.facts.iter_mut().find(|(k, _)| std::ptr::eq(*k, key) || *k == key)
        {
            slot.1 = value;
            return;
        }
        self.keys |= bit;
        self.facts.push((key, value));
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Fact> {
        self.facts.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The facts in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Fact)> {
        self.facts.iter().map(|(k, v)| (*k, v))
    }

    /// How many facts there are.
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Appends the facts as one JSON object, in order (the bytes serde_json would write).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.facts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_str(out, k);
            out.push(b':');
            v.write_json(out);
        }
        out.push(b'}');
    }

    /// Appends the facts as one JSON object with the keys in sorted order (as a
    /// `serde_json::Value` object holds them).
    pub fn write_json_sorted(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.sorted().into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_str(out, k);
            out.push(b':');
            v.write_json(out);
        }
        out.push(b'}');
    }

    fn sorted(&self) -> Vec<(&'static str, &Fact)> {
        let mut facts: Vec<_> = self.iter().collect();
        facts.sort_by_key(|f| f.0);
        facts
    }

    /// The facts as a JSON object (keys sorted, as a `serde_json::Value` object holds them).
    pub fn to_value(&self) -> Value {
        Fact::Object(Box::new(self.clone())).to_value()
    }
}

/// `evidence["key"]`, [`Fact::Null`] when absent (as `serde_json::Value` indexing does).
impl std::ops::Index<&str> for Evidence {
    type Output = Fact;
    fn index(&self, key: &str) -> &Fact {
        static NULL: Fact = Fact::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.facts.len()))?;
        for (k, v) in &self.facts {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        e.write_json(&mut out);
        let via_serde = serde_json::to_string(&e).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), via_serde);
        assert!(via_serde.starts_with(r#"{"attempt":2,"negative":-3,"duration":0.00105,"#));
        // Nested facts are written as the serde_json::Value they used to be converted into.
        assert!(via_serde.contains(r#""inner":{"packet":7,"version":"icmp"}"#));
        let nested = Fact::from(e.clone());
        let mut out = Vec::new();
        nested.write_json(&mut out);
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
            assert_eq!(fact.to_json_string(), want, "{items:?}");
            assert_eq!(serde_json::to_string(&fact).unwrap(), want, "{items:?}");
        }
    }

    #[test]
    fn replacing_a_key_keeps_its_place() {
        // Many keys, so that their bits collide and the replacement path is taken.
        const KEYS: [&str; 40] = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
            "r", "s", "t", "u", "v", "w", "x", "y", "z", "aa", "ab", "ac", "ad", "ae", "af", "ag",
            "ah", "ai", "aj", "ak", "al", "am", "an",
        ];
        let mut e = Evidence::new();
        for (i, k) in KEYS.iter().enumerate() {
            e.insert(k, i);
        }
        for (i, k) in KEYS.iter().enumerate().rev() {
            e.insert(k, i * 10);
        }
        let keys: Vec<&str> = e.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, KEYS);
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(e[*k], i * 10);
        }
    }
}
