//! Capture time. Every "now" in connlens comes from packet timestamps (or, live, from a tick
//! the pipeline sends), never from a clock read inside the tracker: tests need no sleeps and
//! an offline run gives the same verdicts however fast the machine reads.

use std::fmt;

/// A point in capture time: nanoseconds since the Unix epoch.
///
/// Nanoseconds because pcapng and nanosecond pcap carry them; i64 covers ±292 years.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From whole seconds and a nanosecond part.
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos as i64))
    }

    /// From seconds as a float (for configuration values such as timeouts).
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp((secs * 1e9).round() as i64)
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// The nanosecond part, 0..1e9.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// Seconds as a float, for arithmetic on durations shown to users.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier` as a duration (may be negative when capture time runs backwards).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating (a method, not `ops::Add`, so that saturation is explicit).
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }

    /// `2026-11-25 13:04:28.123`: the one civil form connlens writes a time in (UTC, the
    /// milliseconds truncated), for the table and the report alike. The calendar is jiff's.
    pub fn utc(self) -> String {
        // jiff spans years -9999..=9999 and i64 nanoseconds only 1677..=2262, so the fallback
        // (which would pin the time to jiff's range) is never taken.
        let ts = jiff::Timestamp::from_nanosecond(i128::from(self.0)).unwrap_or(if self.0 < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        let t = jiff::tz::Offset::UTC.to_datetime(ts);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.subsec_nanosecond() / 1_000_000
        )
    }
}

/// Prints `secs.micros` (µs precision, or ns when the sub-microsecond part is not zero), the
/// form Wireshark's "seconds since epoch" column uses. Exact: no float rounding.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sign and magnitude, so that -0.5 s prints as -0.500000 (not as -1 + 0.5).
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (secs, nanos) = (abs / 1_000_000_000, abs % 1_000_000_000);
        if nanos.is_multiple_of(1000) {
            write!(f, "{sign}{secs}.{:06}", nanos / 1000)
        } else {
            write!(f, "{sign}{secs}.{nanos:09}")
        }
    }
}

/// A span of capture time in nanoseconds (signed: capture clocks can step backwards).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Duration {
    /// From seconds as a float.
    pub fn from_secs_f64(secs: f64) -> Self {
        Duration((secs * 1e9).round() as i64)
    }

    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// Prints seconds with millisecond precision (`1.003`), enough for retransmission schedules.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / 1_000_000;
        let sign = if ms < 0 { "-" } else { "" };
        write!(f, "{}{}.{:03}", sign, ms.unsigned_abs() / 1000, ms.unsigned_abs() % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_micro_and_nano_precision_exactly() {
        assert_eq!(
            Timestamp::from_secs_nanos(1_700_000_000, 123_456_000).to_string(),
            "1700000000.123456"
        );
        assert_eq!(
            Timestamp::from_secs_nanos(1_700_000_000, 123_456_789).to_string(),
            "1700000000.123456789"
        );
        assert_eq!(Timestamp::from_secs_nanos(5, 0).to_string(), "5.000000");
    }

    #[test]
    fn negative_times_floor() {
        let t = Timestamp(-1);
        assert_eq!(t.secs(), -1);
        assert_eq!(t.subsec_nanos(), 999_999_999);
        assert_eq!(Timestamp(-500_000_000).to_string(), "-0.500000");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(Timestamp::from_secs_nanos(0, 0).utc(), "1970-01-01 00:00:00.000");
        assert_eq!(
            Timestamp::from_secs_nanos(1_764_075_868, 123_456_789).utc(),
            "2025-11-25 13:04:28.123"
        );
        assert_eq!(Timestamp::from_secs_nanos(951_782_400, 0).utc(), "2000-02-29 00:00:00.000");
        // Before the epoch the second floors, as the table always printed it.
        assert_eq!(Timestamp(-1).utc(), "1969-12-31 23:59:59.999");
        // The ends of the i64 nanosecond range.
        assert_eq!(Timestamp(i64::MIN).utc(), "1677-09-21 00:12:43.145");
        assert_eq!(Timestamp(i64::MAX).utc(), "2262-04-11 23:47:16.854");
    }

    #[test]
    fn durations_display_milliseconds() {
        assert_eq!(Duration(1_003_000_000).to_string(), "1.003");
        assert_eq!(Duration(-2_500_000).to_string(), "-0.002");
    }
}
