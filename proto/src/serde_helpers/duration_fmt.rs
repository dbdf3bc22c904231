//! Nanosecond durations as Go-style strings.

/// Serde adapter for `int64` nanosecond durations: written as a compact
/// Go-style string ("8h", "1h30m", "1m30s", "250ms", "0s"); read from such a
/// string (Go's `time.ParseDuration` syntax, or anything `humantime` accepts
/// such as "2days"), from "never" (zero), or from an integer of nanoseconds.
pub mod duration {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    const UNITS: [(&str, u128); 6] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];

    /// Formats nanoseconds compactly, leaving out zero components.
    pub fn format(nanos: i64) -> String {
        if nanos == 0 {
            return "0s".to_owned();
        }
        let mut out = String::new();
        if nanos < 0 {
            out.push('-');
        }
        let mut rest = u128::from(nanos.unsigned_abs());
        for (unit, size) in UNITS {
            let count = rest / size;
            rest %= size;
            if count > 0 {
                out.push_str(&count.to_string());
                out.push_str(unit);
            }
        }
        out
    }

    /// Why a duration could not be parsed.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum DurationError {
        /// The text is not a duration.
        #[error("invalid duration `{text}`: {reason} (expected e.g. \"8h\", \"1h30m\")")]
        Invalid {
            /// The text.
            text: String,
            /// What the parser said.
            reason: String,
        },
        /// The duration does not fit 64 bits of nanoseconds.
        #[error("duration `{text}` is too long")]
        TooLong {
            /// The text.
            text: String,
        },
    }

    /// Parses a duration into nanoseconds.
    pub fn parse(text: &str) -> Result<i64, DurationError> {
        let text = text.trim();
        if text.is_empty() || text == "0" || text.eq_ignore_ascii_case("never") {
            return Ok(0);
        }
        if let Some(nanos) = parse_go(text) {
            return Ok(nanos);
        }
        let parsed = humantime::parse_duration(text).map_err(|e| DurationError::Invalid {
            text: text.to_owned(),
            reason: e.to_string(),
        })?;
        i64::try_from(parsed.as_nanos()).map_err(|_| DurationError::TooLong {
            text: text.to_owned(),
        })
    }

    /// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`.
    fn parse_go(text: &str) -> Option<i64> {
        let (negative, mut rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if rest.is_empty() {
            return None;
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (number, tail) = rest.split_at(number_len);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let size = match unit {
                "h" => 3_600_000_000_000,
                "m" => 60_000_000_000,
                "s" => 1_000_000_000,
                "ms" => 1_000_000,
                "us" | "µs" | "μs" => 1_000,
                "ns" => 1,
                _ => return None,
            };
            total = total.checked_add(scale(number, size)?)?;
            rest = tail;
        }
        let total = i64::try_from(total).ok()?;
        Some(if negative { -total } else { total })
    }

    /// `number` (digits with an optional fraction) times `size`, truncated.
    fn scale(number: &str, size: u128) -> Option<u128> {
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut value = whole.checked_mul(size)?;
        let mut divisor: u128 = 1;
        let mut frac: u128 = 0;
        for digit in fraction.chars().take(18) {
            frac = frac * 10 + u128::from(digit.to_digit(10)?);
            divisor *= 10;
        }
        value = value.checked_add(frac.checked_mul(size)? / divisor)?;
        Some(value)
    }

    /// Serializes nanoseconds as a Go-style string.
    pub fn serialize<S: Serializer>(nanos: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*nanos))
    }

    /// Deserializes a duration string or an integer of nanoseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(DurationVisitor)
    }

    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as \"8h\" or \"1h30m\", or an integer of nanoseconds")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("duration `{v}` is too long")))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            parse(v).map_err(E::custom)
        }

        fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
    }
}
