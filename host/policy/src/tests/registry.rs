//! The registry: replace, rollback, remove, and hot replace under load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::{PolicyError, Registry};

fn versioned(version: &str) -> Vec<u8> {
    module(GOOD_WAT, &GOOD_META.replace("1.0.0", version))
}

#[test]
fn insert_replace_rollback_remove() {
    let engine = engine();
    let registry = Registry::new();
    let v1 = engine.load(&versioned("1"), None).unwrap();
    let v2 = engine.load(&versioned("2"), None).unwrap();
    assert!(registry.insert("p", v1).is_none());
    assert_eq!(
        registry.rollback("p").unwrap_err(),
        PolicyError::NoPreviousVersion { name: "p".into() }
    );
    let old = registry.insert("p", v2).unwrap();
    assert_eq!(old.info().metadata.version, "1");
    assert_eq!(registry.get("p").unwrap().info().metadata.version, "2");
    assert_eq!(registry.rollback("p").unwrap().info().metadata.version, "1");
    assert_eq!(registry.get("p").unwrap().info().metadata.version, "1");
    assert_eq!(registry.previous("p").unwrap().info().metadata.version, "2");
    assert_eq!(registry.rollback("p").unwrap().info().metadata.version, "2");
    assert_eq!(registry.list().len(), 1);
    assert_eq!(registry.find_function("echo").unwrap().0, "p");
    assert!(registry.find_function("nope").is_none());
    assert!(registry.remove("p").is_some());
    assert!(registry.get("p").is_none());
    assert_eq!(
        registry.rollback("p").unwrap_err(),
        PolicyError::NotFound { name: "p".into() }
    );
}

#[test]
fn hot_replace_while_evaluating() {
    let engine = engine();
    let registry = Arc::new(Registry::new());
    registry.insert("p", engine.load(&versioned("1"), None).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (registry, stop) = (registry.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) || n < 50 {
                    let m = registry.get("p").unwrap();
                    assert!(m.eval_where(where_input("alice"), &system()).unwrap());
                    n += 1;
                }
                n
            })
        })
        .collect();
    for i in 0..20 {
        let m = engine.load(&versioned(&format!("{i}")), None).unwrap();
        registry.insert("p", m);
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 50);
    }
    assert_eq!(registry.get("p").unwrap().info().metadata.version, "19");
}
