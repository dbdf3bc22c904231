//! Compiled-module caches: in memory, and on disk across engines (restarts).

use super::*;
use crate::{CacheSource, EngineConfig};

#[test]
fn second_engine_hits_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        cache_dir: Some(dir.path().join("modules")),
        ..EngineConfig::default()
    };
    let first = engine_with(config());
    let m = first.load(&good_bytes(), None).unwrap();
    assert_eq!(m.cache_source(), CacheSource::Compiled);
    assert!(!m.cache_hit());
    let again = first.load(&good_bytes(), None).unwrap();
    assert_eq!(again.cache_source(), CacheSource::Memory);
    let stats = first.cache_stats();
    assert_eq!(
        (stats.compiled, stats.memory_hits, stats.disk_hits),
        (1, 1, 0)
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("modules"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .collect();
    assert_eq!(files.len(), 1);
    drop((first, m, again));

    // "Restart": a new engine with the same cache dir does not recompile.
    let second = engine_with(config());
    let m = second.load(&good_bytes(), None).unwrap();
    assert_eq!(m.cache_source(), CacheSource::Disk);
    assert!(m.cache_hit());
    let stats = second.cache_stats();
    assert_eq!((stats.compiled, stats.disk_hits), (0, 1));
    assert_good(&m);
}

#[test]
fn corrupt_cache_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        cache_dir: Some(dir.path().to_owned()),
        ..EngineConfig::default()
    };
    engine_with(config()).load(&good_bytes(), None).unwrap();
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    assert!(file
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with(&crate::sha256_hex(&good_bytes())));
    std::fs::write(&file, b"garbage").unwrap();
    let engine = engine_with(config());
    let m = engine.load(&good_bytes(), None).unwrap();
    assert_eq!(m.cache_source(), CacheSource::Compiled);
    assert_good(&m);
    assert!(std::fs::read(&file).unwrap().len() > 100, "rewritten");
    let m = engine_with(config()).load(&good_bytes(), None).unwrap();
    assert_eq!(m.cache_source(), CacheSource::Disk);
}
