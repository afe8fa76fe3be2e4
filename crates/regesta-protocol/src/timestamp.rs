//! Canonical timestamps: `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly what ECMAScript's
//! `Date.prototype.toISOString` prints for years 0000-9999.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ProtocolError, Result};

/// A UTC instant with millisecond precision whose text form is canonical:
/// parsing then printing gives back the same bytes, so timestamps can be
/// signed and hashed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    unix_millis: i64,
}

const MILLIS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01T00:00:00.000Z
const MIN_MILLIS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// 1970-01-01T00:00:00.000Z.
    pub const UNIX_EPOCH: Self = Self { unix_millis: 0 };

    /// Builds a timestamp from milliseconds since the Unix epoch.
    ///
    /// # Errors
    /// Outside years 0000..=9999, which have no four-digit canonical form.
    pub fn from_unix_millis(unix_millis: i64) -> Result<Self> {
        if (MIN_MILLIS..=MAX_MILLIS).contains(&unix_millis) {
            Ok(Self { unix_millis })
        } else {
            Err(ProtocolError::invalid(
                "timestamp",
                "must lie within years 0000-9999",
            ))
        }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.unix_millis
    }

    /// Parses the canonical form only; `2026-01-01T00:00:00Z` (no millis),
    /// offsets, lowercase `t`/`z` and impossible dates are rejected.
    ///
    /// # Errors
    /// Anything that does not round-trip through `toISOString`.
    pub fn parse(value: &str) -> Result<Self> {
        let err = || ProtocolError::invalid("timestamp", "must be canonical ISO 8601");
        let b = value.as_bytes();
        if b.len() != 24
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'.'
            || b[23] != b'Z'
        {
            return Err(err());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64> {
            let part = &b[range];
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(err());
            }
            Ok(part
                .iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second, milli) =
            (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(err());
        }
        let days = days_from_civil(year, month, day);
        let millis = days * MILLIS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
        Self::from_unix_millis(millis)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.unix_millis.div_euclid(MILLIS_PER_DAY);
        let rem = self.unix_millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (secs, milli) = (rem / 1000, rem % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{milli:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_a_known_instant() {
        let ts = Timestamp::parse("2026-11-25T19:13:01.867Z").unwrap();
        assert_eq!(ts.unix_millis(), 1_795_633_981_867);
        assert_eq!(ts.to_string(), "2026-11-25T19:13:01.867Z");
        assert_eq!(
            Timestamp::from_unix_millis(0).unwrap().to_string(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn rejects_non_canonical_forms() {
        for bad in [
            "2026-11-25T19:13:01Z",
            "2026-11-25T19:13:01.8670Z",
            "2026-11-25t19:13:01.867Z",
            "2026-11-25T19:13:01.867+00:00",
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-00-01T00:00:00.000Z",
            "2026-01-01T24:00:00.000Z",
            "2026-01-01T00:60:00.000Z",
            "2026-01-01T00:00:60.000Z",
            "+2026-01-01T00:00:00.000Z",
            "２026-01-01T00:00:00.000Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(Timestamp::parse("2024-02-29T00:00:00.000Z").is_ok());
        assert!(Timestamp::parse("0000-01-01T00:00:00.000Z").is_ok());
        assert!(Timestamp::parse("9999-12-31T23:59:59.999Z").is_ok());
    }

    proptest! {
        #[test]
        fn every_instant_round_trips(millis in MIN_MILLIS..=MAX_MILLIS) {
            let ts = Timestamp::from_unix_millis(millis).unwrap();
            let text = ts.to_string();
            prop_assert_eq!(Timestamp::parse(&text).unwrap(), ts);
        }
    }
}
