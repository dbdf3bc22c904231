#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use super::{load_tls_config, TlsFiles};
use crate::test_pki::TestCa;
use crate::Error;

#[test]
fn file_names_follow_auth_sign() {
    let files = TlsFiles::from_prefix("certs/api-admin");
    assert_eq!(files.cert, PathBuf::from("certs/api-admin.crt"));
    assert_eq!(files.key, PathBuf::from("certs/api-admin.key"));
    assert_eq!(files.cas, PathBuf::from("certs/api-admin.cas"));
    let files = TlsFiles::in_dir("/etc/portcullis", "admin.v1");
    assert_eq!(files.cert, PathBuf::from("/etc/portcullis/admin.v1.crt"));
    assert_eq!(files.cas, PathBuf::from("/etc/portcullis/admin.v1.cas"));
}

#[test]
fn good_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let files = TestCa::new("ca").write_client(dir.path(), "admin");
    load_tls_config(&files).unwrap();
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let files = TestCa::new("ca").write_client(dir.path(), "admin");
    for path in [&files.cert, &files.key, &files.cas] {
        let moved = path.with_extension("gone");
        std::fs::rename(path, &moved).unwrap();
        let err = load_tls_config(&files).unwrap_err();
        assert!(matches!(err, Error::ReadFile { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&format!("`{}`", path.display())), "{text}");
        std::fs::rename(&moved, path).unwrap();
    }
}

#[test]
fn files_without_the_expected_pem_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = TestCa::new("ca").write_client(dir.path(), "admin");
    let key = std::fs::read(&files.key).unwrap();
    let cert = std::fs::read(&files.cert).unwrap();

    std::fs::write(&files.cert, &key).unwrap();
    let err = load_tls_config(&files).unwrap_err();
    assert!(matches!(err, Error::NoCertificate { .. }), "{err:?}");
    assert!(err.to_string().contains("no certificate found in"), "{err}");
    std::fs::write(&files.cert, &cert).unwrap();

    std::fs::write(&files.key, &cert).unwrap();
    let err = load_tls_config(&files).unwrap_err();
    assert!(matches!(err, Error::NoPrivateKey { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&files.key.display().to_string()),
        "{err}"
    );
    std::fs::write(&files.key, &key).unwrap();

    std::fs::write(&files.cas, "not a certificate\n").unwrap();
    let err = load_tls_config(&files).unwrap_err();
    assert!(matches!(err, Error::InvalidCaPem { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("invalid CA cert PEM"), "{text}");
    assert!(text.contains(&files.cas.display().to_string()), "{text}");
}
