//! The on-disk encoding of the RocksDB backend.
//!
//! A record (the value stored under a user key in the default column family)
//! is a fixed 17-byte header followed by the item's value:
//!
//! | bytes  | field                                                        |
//! |--------|--------------------------------------------------------------|
//! | 0      | format version, [`FORMAT_VERSION`]                           |
//! | 1..9   | revision, `u64` big-endian                                   |
//! | 9..17  | expiry as Unix nanoseconds, `i64` big-endian, 0 = no expiry  |
//! | 17..   | value bytes                                                  |
//!
//! The expiry index (column family `expiry`) has one empty entry per item with
//! an expiry, keyed by the expiry (sign bit flipped so that keys sort by time)
//! followed by the user key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, Item, Result};

/// The current record format version.
pub(crate) const FORMAT_VERSION: u8 = 1;

const HEADER_LEN: usize = 17;

/// A decoded record header plus value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) revision: u64,
    /// Unix nanoseconds, 0 = no expiry.
    pub(crate) expires: i64,
    pub(crate) value: Vec<u8>,
}

impl Record {
    /// Whether the record has expired at `now` (Unix nanoseconds).
    pub(crate) fn is_expired(&self, now: i64) -> bool {
        self.expires != 0 && self.expires <= now
    }

    /// Encodes the record.
    pub(crate) fn encode(revision: u64, expires: i64, value: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + value.len());
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&revision.to_be_bytes());
        bytes.extend_from_slice(&expires.to_be_bytes());
        bytes.extend_from_slice(value);
        bytes
    }

    /// Decodes the record stored under `key`.
    pub(crate) fn decode(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let corrupt = |reason: String| Error::Corrupt {
            key: key.to_vec(),
            reason,
        };
        let (header, value) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or_else(|| corrupt(format!("record of {} bytes is too short", bytes.len())))?;
        if header[0] != FORMAT_VERSION {
            return Err(corrupt(format!("unknown format version {}", header[0])));
        }
        let revision = u64::from_be_bytes(array(&header[1..9]));
        let expires = i64::from_be_bytes(array(&header[9..17]));
        if revision == 0 {
            return Err(corrupt("revision 0".to_owned()));
        }
        Ok(Record {
            revision,
            expires,
            value: value.to_vec(),
        })
    }

    /// The item this record stores under `key`.
    pub(crate) fn into_item(self, key: Vec<u8>) -> Item {
        Item {
            key,
            value: self.value,
            revision: self.revision,
            expires: time_from_nanos(self.expires),
        }
    }
}

fn array(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(bytes);
    out
}

/// Encodes a stored revision counter.
pub(crate) fn encode_revision(revision: u64) -> [u8; 8] {
    revision.to_be_bytes()
}

/// Decodes a stored revision counter.
pub(crate) fn decode_revision(key: &[u8], bytes: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| Error::Corrupt {
        key: key.to_vec(),
        reason: format!("revision counter has {} bytes, not 8", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// Converts an optional expiry to Unix nanoseconds (0 = none). The epoch itself
/// becomes -1 (still in the past); times after 2262 and before 1678 saturate, to
/// `i64::MAX` and `i64::MIN`, so that every stored expiry reads back as it was written.
pub(crate) fn nanos_from_time(time: Option<SystemTime>) -> i64 {
    let Some(time) = time else { return 0 };
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) if since.is_zero() => -1,
        Ok(since) => i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => {
            i64::try_from(-i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX))
                .unwrap_or(i64::MIN)
        }
    }
}

/// The inverse of [`nanos_from_time`].
pub(crate) fn time_from_nanos(nanos: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    match nanos {
        0 => None,
        1.. => UNIX_EPOCH.checked_add(magnitude),
        _ => UNIX_EPOCH.checked_sub(magnitude),
    }
}

/// The expiry-index key of an item with expiry `expires` (nonzero) under `key`.
pub(crate) fn index_key(expires: i64, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&sortable(expires));
    out.extend_from_slice(key);
    out
}

/// The first index key after every entry expiring at or before `now`.
pub(crate) fn index_end(now: i64) -> Vec<u8> {
    match now.checked_add(1) {
        Some(next) => sortable(next).to_vec(),
        None => vec![u8::MAX; 9],
    }
}

/// Splits an index key into the expiry and the user key.
pub(crate) fn split_index_key(index: &[u8]) -> Result<(i64, &[u8])> {
    let (time, key) = index.split_at_checked(8).ok_or_else(|| Error::Corrupt {
        key: index.to_vec(),
        reason: "expiry index key is too short".to_owned(),
    })?;
    let flipped = u64::from_be_bytes(array(time)) ^ (1 << 63);
    Ok((i64::from_be_bytes(flipped.to_be_bytes()), key))
}

fn sortable(nanos: i64) -> [u8; 8] {
    (u64::from_be_bytes(nanos.to_be_bytes()) ^ (1 << 63)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let bytes = Record::encode(42, 1_700_000_000_000_000_000, b"value");
        assert_eq!(bytes.len(), HEADER_LEN + 5);
        assert_eq!(bytes[0], FORMAT_VERSION);
        let record = Record::decode(b"/k", &bytes).unwrap();
        assert_eq!(record.revision, 42);
        assert_eq!(record.expires, 1_700_000_000_000_000_000);
        assert_eq!(record.value, b"value");
    }

    #[test]
    fn bad_records_are_corrupt() {
        for bytes in [
            &b"short"[..],
            &Record::encode(0, 0, b"")[..],
            &[9; HEADER_LEN][..],
        ] {
            let err = Record::decode(b"/k", bytes).unwrap_err();
            assert!(
                matches!(err, Error::Corrupt { ref key, .. } if key == b"/k"),
                "{err}"
            );
        }
    }

    #[test]
    fn times_round_trip() {
        let now = portcullis_clock::now();
        assert_eq!(time_from_nanos(nanos_from_time(Some(now))), Some(now));
        assert_eq!(nanos_from_time(None), 0);
        assert_eq!(time_from_nanos(0), None);
        assert_eq!(nanos_from_time(Some(UNIX_EPOCH)), -1);
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(time_from_nanos(nanos_from_time(Some(before))), Some(before));
        // The earliest expiry a record holds reads back as itself (found by fuzzing).
        assert_eq!(nanos_from_time(time_from_nanos(i64::MIN)), i64::MIN);
        let long_before = UNIX_EPOCH - Duration::from_secs(400 * 365 * 86_400);
        assert_eq!(nanos_from_time(Some(long_before)), i64::MIN);
    }

    #[test]
    fn index_keys_sort_by_time() {
        let keys: Vec<Vec<u8>> = [-5, -1, 1, 7, i64::MAX]
            .iter()
            .map(|&t| index_key(t, b"/k"))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(split_index_key(&keys[0]).unwrap(), (-5, &b"/k"[..]));
        assert!(index_key(7, b"/zzz") < index_end(7));
        assert!(index_key(8, b"") >= index_end(7));
    }
}
