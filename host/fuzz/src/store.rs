//! `store_record`: the bytes the store backends read back from disk or from etcd. A
//! corrupted or hostile record must be refused as corrupt, never crash the server.

use portcullis_store::codec;

/// Decodes the bytes after the selector byte as what the selector picks: a RocksDB
/// record, an etcd value, RocksDB's revision counter or a key of its expiry index. What
/// decodes re-encodes to the same bytes.
pub fn store_record(data: &[u8]) {
    let (selector, bytes) = crate::split_selector(data);
    let key = b"/roles/fuzz";
    match selector % 4 {
        0 => {
            if let Ok(item) = codec::decode_rocks_record(key, bytes) {
                let again = codec::encode_rocks_record(item.revision, item.expires, &item.value);
                assert_eq!(again, bytes, "a RocksDB record does not re-encode");
            }
        }
        1 => {
            if let Ok((expires, value)) = codec::decode_etcd_value(key, bytes) {
                let again = codec::encode_etcd_value(&value, expires);
                assert_eq!(again, bytes, "an etcd value does not re-encode");
            }
        }
        2 => {
            if let Ok(revision) = codec::decode_rocks_revision(key, bytes) {
                assert_eq!(revision.to_be_bytes(), bytes);
            }
        }
        _ => {
            if let Ok((expires, user_key)) = codec::split_rocks_index_key(bytes) {
                assert_eq!(codec::rocks_index_key(expires, user_key), bytes);
            }
        }
    }
}
