//! The facts behind a verdict: named JSON-like values in insertion order.

use std::net::IpAddr;

use serde_json::Value;

/// One fact of the evidence: a JSON value, in the few shapes evidence takes. Written by
/// [`crate::output::json::write_fact`] with exactly the bytes serde_json gives the equivalent
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

    /// The facts with the keys in sorted order (as a `serde_json::Value` object holds them).
    pub fn sorted(&self) -> Vec<(&'static str, &Fact)> {
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
