//! `google.protobuf.Timestamp` as an RFC 3339 string.

/// Serde adapter for `Option<prost_types::Timestamp>` fields: written as an
/// RFC 3339 string such as `2026-11-21T19:00:00Z`; `null`, an absent field or
/// an empty string read as `None`.
pub mod timestamp {
    use std::fmt;

    use prost_types::Timestamp;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    const NANOS_PER_SEC: i128 = 1_000_000_000;

    /// Why a timestamp could not be formatted or parsed.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum TimestampError {
        /// The seconds and nanoseconds are outside the dates RFC 3339 can write.
        #[error("timestamp out of range: {reason}")]
        OutOfRange {
            /// What the date library said.
            reason: String,
        },
        /// The date could not be formatted.
        #[error("cannot format timestamp: {reason}")]
        Format {
            /// What the date library said.
            reason: String,
        },
        /// The text is not an RFC 3339 timestamp.
        #[error("invalid RFC 3339 timestamp `{text}`: {reason}")]
        Invalid {
            /// The text.
            text: String,
            /// What the parser said.
            reason: String,
        },
        /// The text is a timestamp that does not fit a `Timestamp`.
        #[error("timestamp `{text}` out of range")]
        TextOutOfRange {
            /// The text.
            text: String,
        },
    }

    /// Formats a timestamp as RFC 3339 in UTC.
    pub fn format(ts: &Timestamp) -> Result<String, TimestampError> {
        let nanos = i128::from(ts.seconds) * NANOS_PER_SEC + i128::from(ts.nanos);
        let date = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| {
            TimestampError::OutOfRange {
                reason: e.to_string(),
            }
        })?;
        date.format(&Rfc3339).map_err(|e| TimestampError::Format {
            reason: e.to_string(),
        })
    }

    /// Parses an RFC 3339 timestamp (any offset).
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let date =
            OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| TimestampError::Invalid {
                text: text.to_owned(),
                reason: e.to_string(),
            })?;
        let nanos = date.unix_timestamp_nanos();
        let out_of_range = || TimestampError::TextOutOfRange {
            text: text.to_owned(),
        };
        let seconds = i64::try_from(nanos.div_euclid(NANOS_PER_SEC)).map_err(|_| out_of_range())?;
        let nanos = i32::try_from(nanos.rem_euclid(NANOS_PER_SEC)).map_err(|_| out_of_range())?;
        Ok(Timestamp { seconds, nanos })
    }

    /// Serializes `Some` as an RFC 3339 string and `None` as null.
    pub fn serialize<S: Serializer>(value: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(ts) => s.serialize_str(&format(ts).map_err(serde::ser::Error::custom)?),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an RFC 3339 string, null or an empty string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        d.deserialize_option(TimestampVisitor)
    }

    struct TimestampVisitor;

    impl<'de> Visitor<'de> for TimestampVisitor {
        type Value = Option<Timestamp>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp such as \"2026-11-21T19:00:00Z\"")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            parse(text).map(Some).map_err(E::custom)
        }
    }
}
