//! `--since` / `--until`: RFC 3339 times (`2026-11-20T14:00Z`, seconds and offset optional), or a
//! time of day (`14:00`, `14:30:15Z`), which means that time (UTC) on the day of the first
//! attempt the report reads.

use std::fmt;

/// A time bound as given.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeBound {
    /// Seconds since the epoch.
    At(f64),
    /// Seconds after midnight UTC, on the day of the data.
    TimeOfDay(f64),
}

impl TimeBound {
    /// Seconds since the epoch; `day` is the start (UTC midnight) of the data's first day.
    pub fn resolve(&self, day: f64) -> f64 {
        match self {
            TimeBound::At(t) => *t,
            TimeBound::TimeOfDay(s) => day + s,
        }
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::At(t) => write!(f, "{}", super::utc(*t)),
            TimeBound::TimeOfDay(s) => {
                let s = *s as i64;
                write!(
                    f,
                    "{:02}:{:02}:{:02}Z on the first day of the data",
                    s / 3600,
                    s % 3600 / 60,
                    s % 60
                )
            }
        }
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str, what: &str) -> Result<i64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} `{s}`"));
    }
    s.parse().map_err(|_| format!("bad {what} `{s}`"))
}

/// `HH:MM[:SS[.frac]]` followed by `Z`, `±HH:MM` or nothing (UTC): seconds after midnight,
/// minus the offset.
fn time_of_day(s: &str) -> Result<f64, String> {
    let (clock, offset) = if let Some(c) = s.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(pos) = s.rfind(['+', '-']) {
        let (c, off) = s.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        (c, sign * (num(h, "offset hour")? * 3600 + num(m, "offset minute")? * 60))
    } else {
        (s, 0)
    };
    let mut parts = clock.splitn(3, ':');
    let h = num(parts.next().unwrap_or(""), "hour")?;
    let m = num(parts.next().ok_or("expected HH:MM")?, "minute")?;
    let sec: f64 = match parts.next() {
        Some(x) if x.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !x.is_empty() => {
            x.parse().map_err(|_| format!("bad second `{x}`"))?
        }
        Some(x) => return Err(format!("bad second `{x}`")),
        None => 0.0,
    };
    if h > 24 || m > 59 || sec >= 61.0 {
        return Err("time out of range".into());
    }
    Ok((h * 3600 + m * 60) as f64 + sec - offset as f64)
}

/// Parses `--since` / `--until`.
pub fn parse_time_bound(s: &str) -> Result<TimeBound, String> {
    let t = s.trim();
    let err = |e: String| {
        format!(
            "`{s}`: {e} (give an RFC 3339 time like 2026-11-20T14:00Z, or a time of day like 14:00)"
        )
    };
    match t.split_once(['T', 't', ' ']) {
        Some((date, clock)) => {
            let mut d = date.splitn(3, '-');
            let y = num(d.next().unwrap_or(""), "year").map_err(err)?;
            let m = num(d.next().unwrap_or(""), "month").map_err(err)?;
            let day = num(d.next().unwrap_or(""), "day").map_err(err)?;
            if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
                return Err(err("date out of range".into()));
            }
            let secs = time_of_day(clock).map_err(err)?;
            Ok(TimeBound::At(days_from_civil(y, m, day) as f64 * 86_400.0 + secs))
        }
        None => Ok(TimeBound::TimeOfDay(time_of_day(t).map_err(err)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_and_time_of_day() {
        assert_eq!(parse_time_bound("1970-01-01T00:00Z"), Ok(TimeBound::At(0.0)));
        assert_eq!(parse_time_bound("2026-11-20T14:00Z"), Ok(TimeBound::At(1_795_183_200.0)));
        assert_eq!(
            parse_time_bound("2026-11-20T15:00:00+01:00"),
            Ok(TimeBound::At(1_795_183_200.0))
        );
        assert_eq!(parse_time_bound("2026-11-20 14:00:30.5"), Ok(TimeBound::At(1_795_183_230.5)));
        assert_eq!(parse_time_bound("14:30Z"), Ok(TimeBound::TimeOfDay(52_200.0)));
        assert_eq!(parse_time_bound("14:30:15"), Ok(TimeBound::TimeOfDay(52_215.0)));
        assert!(parse_time_bound("yesterday").is_err());
        assert!(parse_time_bound("2026-13-01T00:00Z").is_err());
        assert!(parse_time_bound("25:00").is_err());
    }
}
