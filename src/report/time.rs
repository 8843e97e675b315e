//! `--since` / `--until`: RFC 3339 times (`2026-11-20T14:00Z`, seconds and offset optional), or a
//! time of day (`14:00`, `14:30:15Z`), which means that time (UTC) on the day of the first
//! attempt the report reads.
//!
//! jiff parses both (its RFC 3339 / ISO 8601 grammar) and checks the calendar, so impossible
//! values (`2026-02-31`, `24:30`, `+25:99`) are refused with the reason instead of rolling over.

use std::fmt;

use jiff::civil::Time;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;

/// A time bound as given.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeBound {
    /// Seconds since the epoch.
    At(f64),
    /// A clock time at a fixed offset from UTC, on the UTC day of the data's first attempt.
    TimeOfDay {
        /// The clock time as written.
        time: Time,
        /// Its offset (UTC when none was written).
        offset: Offset,
    },
}

impl TimeBound {
    /// Seconds since the epoch, for data whose first attempt is at `first` (seconds).
    pub fn resolve(&self, first: f64) -> f64 {
        match self {
            TimeBound::At(t) => *t,
            TimeBound::TimeOfDay { time, offset } => {
                // Unix time has no leap seconds, so every UTC day is 86 400 s and its midnight
                // is a floor; plain float arithmetic takes any `first` a log may hold.
                let midnight = (first / 86_400.0).floor() * 86_400.0;
                midnight + time.duration_since(Time::midnight()).as_secs_f64()
                    - f64::from(offset.seconds())
            }
        }
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::At(t) => write!(f, "{}", super::utc(*t)),
            TimeBound::TimeOfDay { time, offset } => {
                let utc = time.wrapping_sub(offset.duration_since(Offset::UTC));
                // An offset moves the clock less than a day, so a wrap is one day either way.
                let day = match offset.seconds().signum() {
                    1 if utc > *time => "the day before the first day",
                    -1 if utc < *time => "the day after the first day",
                    _ => "the first day",
                };
                write!(
                    f,
                    "{:02}:{:02}:{:02}Z on {day} of the data",
                    utc.hour(),
                    utc.minute(),
                    utc.second()
                )
            }
        }
    }
}

/// The date a bare time of day is parsed on; it is dropped again, also from jiff's messages.
const PLACEHOLDER_DATE: &str = "1970-01-01T";

/// RFC 3339 offsets are under 24 hours (`±23:59`); jiff's own bound is wider (±25:59:59).
const MAX_OFFSET_SECS: i32 = 24 * 3600 - 1;

/// Parses `--since` / `--until`. The error is one line: what is wrong with the value and the
/// forms that are accepted (clap's message before it names the option and the value).
pub fn parse_time_bound(s: &str) -> Result<TimeBound, String> {
    let t = s.trim();
    let err = |why: &str| {
        format!("{why} (give an RFC 3339 time like 2026-11-20T14:00Z, or a time of day like 14:00)")
    };
    // A time of day starts `HH:` (a date never does); anything else without a date and time
    // separator (`2026`, `4:30`, `now`) is refused rather than read as some clock time
    // (`2026` would parse as 20:26).
    let time_of_day = t.as_bytes().get(2) == Some(&b':');
    let has_date = !time_of_day && t.contains(['T', 't', ' ']);
    let text = if time_of_day { format!("{PLACEHOLDER_DATE}{t}") } else { t.to_string() };
    let pieces = match Pieces::parse(&text) {
        Ok(p) => p,
        Err(e) if has_date || time_of_day => {
            return Err(err(&e.to_string().replace(PLACEHOLDER_DATE, "")));
        }
        Err(_) if t.as_bytes().get(1) == Some(&b':') => {
            return Err(err("the hour of a time of day has two digits, like 04:30"));
        }
        Err(_) => return Err(err("not a date and time, nor a time of day")),
    };
    if pieces.time_zone_annotation().is_some() {
        return Err(err("time zone names and [annotations] are not supported, give an offset"));
    }
    let Some(time) = pieces.time() else {
        return Err(err("a date needs a time of day too, such as 2026-11-20T00:00Z"));
    };
    let offset = pieces.to_numeric_offset().unwrap_or(Offset::UTC);
    if offset.seconds().abs() > MAX_OFFSET_SECS {
        return Err(err("the offset is beyond ±23:59"));
    }
    if time_of_day {
        return Ok(TimeBound::TimeOfDay { time, offset });
    }
    let ts =
        offset.to_timestamp(pieces.date().to_datetime(time)).map_err(|e| err(&e.to_string()))?;
    Ok(TimeBound::At(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tod(h: i8, m: i8, s: i8, offset_hours: i8) -> TimeBound {
        TimeBound::TimeOfDay {
            time: Time::constant(h, m, s, 0),
            offset: Offset::constant(offset_hours),
        }
    }

    /// The error for `s`, which must be one line.
    fn error(s: &str) -> String {
        let e = parse_time_bound(s).expect_err(s);
        assert!(e.ends_with("or a time of day like 14:00)"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(!e.contains("1970"), "placeholder date shows: {e}");
        e
    }

    #[test]
    fn rfc3339_and_time_of_day() {
        assert_eq!(parse_time_bound("1970-01-01T00:00Z"), Ok(TimeBound::At(0.0)));
        assert_eq!(parse_time_bound("2026-11-20T14:00Z"), Ok(TimeBound::At(1_795_183_200.0)));
        assert_eq!(parse_time_bound("2026-11-20t14:00z"), Ok(TimeBound::At(1_795_183_200.0)));
        assert_eq!(
            parse_time_bound("2026-11-20T15:00:00+01:00"),
            Ok(TimeBound::At(1_795_183_200.0))
        );
        assert_eq!(parse_time_bound("2026-11-20T09:30-04:30"), Ok(TimeBound::At(1_795_183_200.0)));
        assert_eq!(parse_time_bound("2026-11-20 14:00:30.5"), Ok(TimeBound::At(1_795_183_230.5)));
        assert_eq!(parse_time_bound(" 2024-02-29T00:00Z "), Ok(TimeBound::At(1_709_164_800.0)));
        // A leap second reads as the second before it, as jiff (and Unix time) have it.
        assert_eq!(parse_time_bound("2016-12-31T23:59:60Z"), Ok(TimeBound::At(1_483_228_799.0)));
        assert_eq!(
            parse_time_bound("14:30Z"),
            Ok(TimeBound::TimeOfDay { time: Time::constant(14, 30, 0, 0), offset: Offset::UTC })
        );
        assert_eq!(parse_time_bound("14:30:15"), Ok(tod(14, 30, 15, 0)));
        assert_eq!(parse_time_bound("14:30:15+02:00"), Ok(tod(14, 30, 15, 2)));
        assert_eq!(parse_time_bound("00:00"), Ok(tod(0, 0, 0, 0)));
        assert_eq!(parse_time_bound("23:59:59.5-05:00").map(|b| b.resolve(0.0)), Ok(104_399.5));
    }

    #[test]
    fn time_of_day_resolves_on_the_utc_day_of_the_first_attempt() {
        let day = 1_795_132_800.0; // 2026-11-20T00:00Z
        assert_eq!(tod(14, 30, 0, 0).resolve(day + 5.0), day + 52_200.0);
        assert_eq!(tod(14, 30, 0, 2).resolve(day + 86_399.0), day + 45_000.0);
        assert_eq!(tod(0, 30, 0, 1).resolve(day), day - 1800.0);
        assert_eq!(tod(0, 0, 0, 0).resolve(-1.0), -86_400.0);
    }

    #[test]
    fn shows_the_utc_clock_and_which_day() {
        assert_eq!(tod(14, 30, 15, 0).to_string(), "14:30:15Z on the first day of the data");
        assert_eq!(tod(14, 30, 15, 2).to_string(), "12:30:15Z on the first day of the data");
        assert_eq!(
            tod(0, 30, 0, 1).to_string(),
            "23:30:00Z on the day before the first day of the data"
        );
        assert_eq!(
            tod(22, 0, 0, -5).to_string(),
            "03:00:00Z on the day after the first day of the data"
        );
        let at = parse_time_bound("2026-11-20T14:00:30.5Z").map(|b| b.to_string());
        assert_eq!(at, Ok("2026-11-20 14:00:30.500Z".to_string()));
    }

    #[test]
    fn impossible_dates_and_times_are_refused_with_the_reason() {
        assert!(
            error("2026-02-31T00:00Z").contains("`2026-02` is invalid, must be in range `1..=28`")
        );
        assert!(error("2026-02-29T00:00Z").contains("`1..=28`"));
        assert!(error("2026-04-31T00:00Z").contains("`1..=30`"));
        assert!(error("2026-13-01T00:00Z").contains("'month'"));
        assert!(
            error("2026-11-20T24:30Z").contains("'hour' is not in the required range of 0..=23")
        );
        assert!(error("24:30").contains("'hour'"));
        assert!(error("25:00").contains("'hour'"));
        assert!(error("14:60").contains("'minute' is not in the required range of 0..=59"));
        assert!(error("2026-11-20T14:99Z").contains("'minute'"));
        assert!(error("2026-11-20T14:00:61Z").contains("'second'"));
    }

    #[test]
    fn impossible_offsets_are_refused() {
        assert!(error("2026-11-20T14:00+25:99").contains("offset minutes"));
        assert!(error("14:30+25:99").contains("offset minutes"));
        assert!(error("2026-11-20T14:00+25:00").contains("the offset is beyond ±23:59"));
        assert!(error("14:30-24:00").contains("beyond ±23:59"));
    }

    #[test]
    fn trailing_garbage_and_other_forms_are_refused() {
        assert!(error("2026-11-20T14:00Zjunk").contains("unparsed input \"junk\""));
        assert!(error("14:30Z junk").contains("parsed value '14:30:00Z', but unparsed input"));
        assert!(error("14:30+01:00+02:00").contains("unparsed input \"+02:00\""));
        assert!(error("2026-11-20T14:00[Europe/Paris]").contains("give an offset"));
        assert!(error("2026-11-20").contains("needs a time of day"));
        assert!(error("yesterday").contains("as year"));
        assert!(error("now").contains("not a date and time, nor a time of day"));
        assert!(error("4:30").contains("two digits, like 04:30"));
        assert!(error("2026").contains("not a date and time"));
        assert!(error("").contains("not a date and time"));
        assert!(error("14:3").contains("minute"));
    }
}
