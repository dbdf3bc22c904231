use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::offset::{OffsetError, OffsetFile};
use super::shift;

/// Replaces the file the way the e2e tests do (write then rename), so a change is a new inode.
fn write(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn an_offset_file_is_followed_as_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offset");
    write(&path, "0\n");
    let file = OffsetFile::open(path.clone()).unwrap();
    assert_eq!(file.seconds(), 0);
    write(&path, " 7200 ");
    assert_eq!(file.seconds(), 7200);
    write(&path, "-90");
    assert_eq!(file.seconds(), -90);
    // A malformed or missing version keeps the last good offset.
    write(&path, "two hours");
    assert_eq!(file.seconds(), -90);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(file.seconds(), -90);
    write(&path, "60");
    assert_eq!(file.seconds(), 60);
}

#[test]
fn a_missing_or_malformed_file_is_refused_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offset");
    let err = OffsetFile::open(path.clone()).err().unwrap();
    assert!(matches!(err, OffsetError::Read { .. }), "{err}");
    assert!(err.to_string().contains("offset"), "{err}");
    write(&path, "+2h");
    let err = OffsetFile::open(path).err().unwrap();
    assert!(err.to_string().contains("`+2h`"), "{err}");
    assert!(
        err.to_string().contains("signed number of seconds"),
        "{err}"
    );
}

#[test]
fn shifting_moves_both_ways_and_saturates() {
    let at = UNIX_EPOCH + Duration::from_secs(1_000);
    assert_eq!(shift(at, 60), UNIX_EPOCH + Duration::from_secs(1_060));
    assert_eq!(shift(at, -1_000), UNIX_EPOCH);
    let now = SystemTime::now();
    assert_eq!(shift(now, i64::MAX), now);
}
