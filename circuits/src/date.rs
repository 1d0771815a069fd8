//! Calendar days as used by the statements: a day is the number of days since 1970-01-01 (UTC),
//! written `YYYY-MM-DD` in JSON. Inside circuits a day is one field element range-checked to
//! [`DAY_BITS`] bits.

use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Bits of a day number inside circuits.
pub const DAY_BITS: usize = 32;

/// A calendar day (days since 1970-01-01), limited to the years 1970 to 9999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(u32);

/// Why a date was refused. The message does not quote the text refused (it may be a private
/// date, such as a certificate's validity, sent back to whoever sent it); the text is kept here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date: expected YYYY-MM-DD between 1970-01-01 and 9999-12-31")]
pub struct DateError(pub String);

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Day {
    /// The day with the given number since 1970-01-01, if it is not past 9999-12-31.
    pub fn from_days(days: u32) -> Result<Self, DateError> {
        let day = Day(days);
        if civil_from_days(i64::from(days)).0 > 9999 {
            return Err(DateError(days.to_string()));
        }
        Ok(day)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> u32 {
        self.0
    }

    /// The day `n` days after this one (before it when `n` is negative), if that is between
    /// 1970-01-01 and 9999-12-31.
    pub fn add_days(self, n: i64) -> Result<Self, DateError> {
        let days = i64::from(self.0) + n;
        let days = u32::try_from(days).map_err(|_| DateError(format!("{self} {n:+} days")))?;
        Day::from_days(days)
    }

    /// Parses `YYYY-MM-DD`, refusing impossible dates (2026-02-30) and other shapes.
    pub fn parse(s: &str) -> Result<Self, DateError> {
        let err = || DateError(s.to_string());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            part.parse().map_err(|_| err())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
            return Err(err());
        }
        let days = days_from_civil(i64::from(y), m, d);
        if civil_from_days(days) != (i64::from(y), m, d) {
            return Err(err());
        }
        Ok(Day(days as u32))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(i64::from(self.0));
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Day {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Day::parse(s)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn add_days_moves_and_stays_in_range() {
        let day = Day::parse("2026-11-25").unwrap();
        assert_eq!(day.add_days(95).unwrap().to_string(), "2027-02-28");
        assert_eq!(day.add_days(-999).unwrap().to_string(), "2024-03-01");
        assert_eq!(day.add_days(0).unwrap(), day);
        assert!(day.add_days(-i64::from(day.days()) - 1).is_err());
        assert!(Day::parse("9999-12-31").unwrap().add_days(1).is_err());
    }

    #[test]
    fn known_days() {
        assert_eq!(Day::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Day::parse("2026-11-25").unwrap().days(), 20782);
        assert_eq!(Day::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "1969-12-31",
            "26-11-25",
            "2026/11/25",
            "2026-1-011",
            "+026-11-25",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(days in 0u32..2_932_896) {
            let day = Day::from_days(days).unwrap();
            prop_assert_eq!(Day::parse(&day.to_string()).unwrap(), day);
        }
    }
}
