//! The bytes the backends keep, decoded and encoded without a database: for tools that
//! read raw store bytes, and for the fuzz targets (`host/fuzz`) that check every decoder
//! refuses what it cannot read with [`Error::Corrupt`] rather than panicking.

use std::time::SystemTime;

use crate::{Item, Result};

/// Decodes a RocksDB record (the value under `key` in the default column family).
pub fn decode_rocks_record(key: &[u8], bytes: &[u8]) -> Result<Item> {
    crate::rocks::record::Record::decode(key, bytes).map(|r| r.into_item(key.to_vec()))
}

/// Encodes a RocksDB record: what [`decode_rocks_record`] reads back.
pub fn encode_rocks_record(revision: u64, expires: Option<SystemTime>, value: &[u8]) -> Vec<u8> {
    use crate::rocks::record::{nanos_from_time, Record};
    Record::encode(revision, nanos_from_time(expires), value)
}

/// Decodes RocksDB's stored revision counter.
pub fn decode_rocks_revision(key: &[u8], bytes: &[u8]) -> Result<u64> {
    crate::rocks::record::decode_revision(key, bytes)
}

/// Splits a key of RocksDB's expiry index into the expiry (Unix nanoseconds) and the
/// item's key.
pub fn split_rocks_index_key(index: &[u8]) -> Result<(i64, &[u8])> {
    crate::rocks::record::split_index_key(index)
}

/// The key of RocksDB's expiry index for an item under `key` expiring at `expires` (Unix
/// nanoseconds): what [`split_rocks_index_key`] splits.
pub fn rocks_index_key(expires: i64, key: &[u8]) -> Vec<u8> {
    crate::rocks::record::index_key(expires, key)
}

/// Decodes an etcd value stored under `key` (without the prefix): its expiry and the
/// item's value.
pub fn decode_etcd_value(key: &[u8], bytes: &[u8]) -> Result<(Option<SystemTime>, Vec<u8>)> {
    crate::etcd::record::Record::decode(key, bytes).map(|r| (r.expires, r.value))
}

/// Encodes an etcd value: what [`decode_etcd_value`] reads back.
pub fn encode_etcd_value(value: &[u8], expires: Option<SystemTime>) -> Vec<u8> {
    crate::etcd::record::encode(value, expires)
}
