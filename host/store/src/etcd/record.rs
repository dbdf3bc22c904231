//! How the etcd backend stores an item in an etcd value, and how store revisions map to
//! etcd revisions.
//!
//! An etcd value is a 10-byte header followed by the item's value:
//!
//! | bytes | field                                                                |
//! |-------|----------------------------------------------------------------------|
//! | 0     | format version, [`FORMAT_VERSION`]                                   |
//! | 1..9  | expiry as Unix nanoseconds, `u64` big-endian; `u64::MAX` = no expiry |
//! | 9     | `0`, a separator that makes [`live_marker`] work                     |
//! | 10..  | value bytes                                                          |
//!
//! Because the expiry comes first, big-endian, the bytes of a live item's value sort after
//! `live_marker(now)` and those of an expired one before it: a transaction checks "the item
//! is live" with one etcd value comparison, in the same step as its revision check.
//!
//! The revision of an item is its etcd `mod_revision` minus one: an empty etcd cluster is at
//! revision 1 and an empty store at 0, so the first write is revision 1 in both the store's
//! terms and every other backend's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, Item, Result};

/// The current value format version.
pub(crate) const FORMAT_VERSION: u8 = 1;

const HEADER_LEN: usize = 10;
const NEVER: u64 = u64::MAX;

/// Unix nanoseconds of `time`, clamped to what a `u64` holds below [`NEVER`].
fn nanos(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_nanos())
        .unwrap_or(NEVER - 1)
        .min(NEVER - 1)
}

/// The etcd value for `value` expiring at `expires`.
pub(crate) fn encode(value: &[u8], expires: Option<SystemTime>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + value.len());
    bytes.push(FORMAT_VERSION);
    bytes.extend_from_slice(&expires.map_or(NEVER, nanos).to_be_bytes());
    bytes.push(0);
    bytes.extend_from_slice(value);
    bytes
}

/// The bytes every live item's etcd value is greater than at `now` (and no expired one).
pub(crate) fn live_marker(now: SystemTime) -> Vec<u8> {
    let mut marker = Vec::with_capacity(HEADER_LEN);
    marker.push(FORMAT_VERSION);
    marker.extend_from_slice(&nanos(now).to_be_bytes());
    marker.push(1);
    marker
}

/// A decoded etcd value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) expires: Option<SystemTime>,
    pub(crate) value: Vec<u8>,
}

impl Record {
    /// Decodes the etcd value stored under `key` (the store key, without the prefix).
    pub(crate) fn decode(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let corrupt = |reason: String| Error::Corrupt {
            key: key.to_vec(),
            reason,
        };
        let (header, value) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or_else(|| corrupt(format!("etcd value of {} bytes is too short", bytes.len())))?;
        if header[0] != FORMAT_VERSION {
            return Err(corrupt(format!("unknown format version {}", header[0])));
        }
        if header[9] != 0 {
            return Err(corrupt("bad header separator".to_owned()));
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&header[1..9]);
        let expiry = u64::from_be_bytes(expiry);
        let expires = (expiry != NEVER).then(|| UNIX_EPOCH + Duration::from_nanos(expiry));
        Ok(Record {
            expires,
            value: value.to_vec(),
        })
    }

    /// Whether the record has expired at `now`.
    pub(crate) fn is_expired(&self, now: SystemTime) -> bool {
        crate::item::is_expired(self.expires, now)
    }

    /// The item under `key` at etcd revision `mod_revision`.
    pub(crate) fn into_item(self, key: Vec<u8>, mod_revision: i64) -> Item {
        Item {
            key,
            value: self.value,
            revision: store_revision(mod_revision),
            expires: self.expires,
        }
    }
}

/// The store revision of an etcd revision.
pub(crate) fn store_revision(etcd: i64) -> u64 {
    u64::try_from(etcd).unwrap_or(0).saturating_sub(1)
}

/// The etcd revision of a store revision.
pub(crate) fn etcd_revision(store: u64) -> i64 {
    i64::try_from(store)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let at = UNIX_EPOCH + Duration::new(1_900_000_000, 123_456_789);
        for (value, expires) in [(&b"v"[..], Some(at)), (b"", None), (b"\x00\xff", Some(at))] {
            let bytes = encode(value, expires);
            let record = Record::decode(b"/k", &bytes).unwrap();
            assert_eq!(record.value, value);
            assert_eq!(record.expires, expires);
        }
    }

    #[test]
    fn live_items_sort_after_the_marker_and_expired_ones_before() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let marker = live_marker(now);
        let second = Duration::from_secs(1);
        for value in [&b""[..], b"\x00", b"\xff\xff\xff"] {
            assert!(encode(value, None) > marker);
            assert!(encode(value, Some(now + second)) > marker);
            assert!(encode(value, Some(now + Duration::from_nanos(1))) > marker);
            // Expiring exactly now is expired, as everywhere in the store.
            assert!(encode(value, Some(now)) < marker);
            assert!(encode(value, Some(now - second)) < marker);
            assert!(encode(value, Some(UNIX_EPOCH)) < marker);
        }
    }

    #[test]
    fn bad_values_are_corrupt() {
        assert!(Record::decode(b"/k", b"short").is_err());
        let mut bytes = encode(b"v", None);
        bytes[0] = 9;
        assert!(Record::decode(b"/k", &bytes).is_err());
        let mut bytes = encode(b"v", None);
        bytes[9] = 1;
        assert!(Record::decode(b"/k", &bytes).is_err());
    }

    #[test]
    fn revisions_are_offset_by_one() {
        assert_eq!(store_revision(1), 0);
        assert_eq!(store_revision(2), 1);
        assert_eq!(etcd_revision(1), 2);
        assert_eq!(store_revision(etcd_revision(41)), 41);
    }
}
