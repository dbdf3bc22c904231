//! Upload refusals (ABI.md §1–§2): each one a distinct error, and the engine keeps serving.

use super::*;
use crate::{validate, Capability, HookKind, PolicyError, ValidationLimits};

fn check(bytes: &[u8]) -> Result<crate::ModuleInfo, PolicyError> {
    validate(bytes, &ValidationLimits::default())
}

/// The minimal module: marker, memory, alloc, a `where` hook.
fn minimal(extra: &str) -> String {
    format!(
        r#"(module {extra}
          (memory (export "memory") 1)
          (func (export "portcullis_abi_v1"))
          (func (export "portcullis_alloc") (param i32) (result i32) (i32.const 1024))
          (func (export "portcullis_where") (param i32 i32) (result i64) (i64.const 0)))"#
    )
}

const META: &str = r#"{"abi":1,"name":"m","version":"1","hooks":["where"]}"#;

#[test]
fn accepts_the_good_module() {
    let info = check(&good_bytes()).unwrap();
    assert_eq!(info.metadata.name, "good");
    assert_eq!(info.metadata.version, "1.0.0");
    assert_eq!(info.metadata.hooks.len(), 4);
    assert!(info.metadata.hooks.contains(&HookKind::Function));
    assert!(info.metadata.functions.contains("echo"));
    assert!(info.metadata.capabilities.contains(&Capability::Input));
    assert_eq!(info.sha256, crate::sha256_hex(&good_bytes()));
    assert_eq!(info.initial_memory_bytes, 65536);
    assert!(check(&module(&minimal(""), META)).is_ok());
}

#[test]
fn unknown_import_is_refused() {
    let engine = engine();
    let bytes = module(&minimal(r#"(import "env" "foo" (func))"#), META);
    let err = engine.load(&bytes, None).unwrap_err();
    assert_eq!(
        err,
        PolicyError::UnknownImport {
            module: "env".into(),
            name: "foo".into()
        }
    );
    assert!(err.to_string().contains(
        "module imports `env.foo`, which is not part of ABI v1 (allowed: portcullis.log"
    ));
    let bytes = module(&minimal(r#"(import "portcullis" "exec" (func))"#), META);
    assert!(matches!(
        check(&bytes),
        Err(PolicyError::UnknownImport { .. })
    ));
    let bytes = module(
        &minimal(r#"(import "portcullis" "log" (global i32))"#),
        META,
    );
    assert!(matches!(
        check(&bytes),
        Err(PolicyError::UnknownImport { .. })
    ));
    assert_still_serving(&engine);
}

#[test]
fn imports_need_their_capability_and_type() {
    let bytes = module(
        &minimal(r#"(import "portcullis" "log" (func (param i32 i32 i32)))"#),
        META,
    );
    assert_eq!(
        check(&bytes),
        Err(PolicyError::MissingCapability {
            name: "log".into(),
            capability: "log"
        })
    );
    let with_log = r#"{"abi":1,"name":"m","version":"1","hooks":["where"],"capabilities":["log"]}"#;
    assert!(check(&module(
        &minimal(r#"(import "portcullis" "log" (func (param i32 i32 i32)))"#),
        with_log
    ))
    .is_ok());
    let err = check(&module(
        &minimal(r#"(import "portcullis" "log" (func (param i32 i32)))"#),
        with_log,
    ))
    .unwrap_err();
    assert!(matches!(err, PolicyError::WrongImportType { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("expected (i32, i32, i32) -> (), found a function (i32, i32) -> ()"),
        "{err}"
    );
    let lookup =
        r#"(import "portcullis" "lookup" (func (param i32 i32 i32 i32 i32 i32) (result i32)))"#;
    assert!(matches!(
        check(&module(&minimal(lookup), META)),
        Err(PolicyError::MissingCapability { .. })
    ));
    let with_lookup =
        r#"{"abi":1,"name":"m","version":"1","hooks":["where"],"capabilities":["lookup:role"]}"#;
    assert!(check(&module(&minimal(lookup), with_lookup)).is_ok());
}

#[test]
fn wrong_abi_marker_is_refused() {
    let engine = engine();
    let v2 = minimal("").replace("portcullis_abi_v1", "portcullis_abi_v2");
    let err = engine.load(&module(&v2, META), None).unwrap_err();
    assert_eq!(
        err,
        PolicyError::UnsupportedAbiVersion {
            export: "portcullis_abi_v2".into()
        }
    );
    let none = minimal("").replace("portcullis_abi_v1", "other");
    assert_eq!(
        check(&module(&none, META)),
        Err(PolicyError::MissingAbiMarker)
    );
    let typed = minimal("").replace(
        r#"(func (export "portcullis_abi_v1"))"#,
        r#"(func (export "portcullis_abi_v1") (param i32))"#,
    );
    assert!(matches!(
        check(&module(&typed, META)),
        Err(PolicyError::WrongExportType { .. })
    ));
    assert_still_serving(&engine);
}

#[test]
fn truncated_file_is_refused() {
    let engine = engine();
    let good = good_bytes();
    for cut in [0, 4, 7, 9, good.len() / 2, good.len() - 1] {
        let err = engine.load(&good[..cut], None).unwrap_err();
        // Too short for the `\0asm` magic: not WebAssembly at all.
        let not_wasm = cut < 4 && matches!(err, PolicyError::NotWasm { .. });
        assert!(
            not_wasm || matches!(err, PolicyError::InvalidWasm { .. }),
            "cut at {cut}: {err}"
        );
    }
    // A file that is not WebAssembly at all: one line, naming what it starts with.
    let err = engine.load(b"#!/bin/sh\necho hi\n", None).unwrap_err();
    assert!(matches!(err, PolicyError::NotWasm { .. }), "{err}");
    let text = err.to_string();
    assert!(!text.contains('\n') && text.contains("2321"), "{text}");
    assert!(matches!(
        check(b"not wasm at all"),
        Err(PolicyError::InvalidWasm { .. })
    ));
    assert_still_serving(&engine);
}

#[test]
fn missing_metadata_is_refused() {
    let engine = engine();
    let bare = wat::parse_str(minimal("")).unwrap();
    assert_eq!(
        engine.load(&bare, None).unwrap_err(),
        PolicyError::MissingMetadata
    );
    let twice = pack(&module(&minimal(""), META), META).unwrap();
    assert!(check(&twice).is_ok(), "pack replaces the section");
    assert_still_serving(&engine);
}

#[test]
fn duplicate_or_invalid_metadata_is_refused() {
    let wat = minimal("").replace(
        "(module ",
        r#"(module (@custom "portcullis.metadata" "{\"abi\":1,\"name\":\"m\",\"version\":\"1\",\"hooks\":[\"where\"]}") (@custom "portcullis.metadata" "{}") "#,
    );
    let bytes = wat::parse_str(&wat).unwrap();
    assert_eq!(
        check(&bytes),
        Err(PolicyError::DuplicateMetadata { count: 2 })
    );
    let wat = minimal("").replace(
        "(module ",
        r#"(module (@custom "portcullis.metadata" "{\"abi\":1}") "#,
    );
    let bytes = wat::parse_str(&wat).unwrap();
    assert!(matches!(
        check(&bytes),
        Err(PolicyError::InvalidMetadata { .. })
    ));
}

#[test]
fn missing_or_mistyped_exports_are_refused() {
    let no_alloc = minimal("").replace("portcullis_alloc", "alloc");
    assert!(
        matches!(check(&module(&no_alloc, META)), Err(PolicyError::MissingExport { name, .. }) if name == "portcullis_alloc")
    );
    let bad_alloc = minimal("").replace(
        "(param i32) (result i32) (i32.const 1024)",
        "(param i64) (result i32) (i32.const 1024)",
    );
    assert!(
        matches!(check(&module(&bad_alloc, META)), Err(PolicyError::WrongExportType { name, .. }) if name == "portcullis_alloc")
    );
    let no_memory = minimal("").replace(
        r#"(memory (export "memory") 1)"#,
        r#"(memory (export "mem") 1)"#,
    );
    assert!(
        matches!(check(&module(&no_memory, META)), Err(PolicyError::MissingExport { name, .. }) if name == "memory")
    );
    let no_hook = module(
        &minimal(""),
        r#"{"abi":1,"name":"m","version":"1","hooks":["where","action"]}"#,
    );
    assert_eq!(
        check(&no_hook),
        Err(PolicyError::MissingHook {
            hook: "action".into(),
            export: "portcullis_action".into()
        })
    );
    let bad_hook = minimal("").replace(
        "(param i32 i32) (result i64) (i64.const 0)",
        "(param i32 i32) (result i32) (i32.const 0)",
    );
    assert!(
        matches!(check(&module(&bad_hook, META)), Err(PolicyError::WrongExportType { name, .. }) if name == "portcullis_where")
    );
    let unknown = minimal(r#"(func (export "portcullis_magic"))"#);
    assert_eq!(
        check(&module(&unknown, META)),
        Err(PolicyError::UnknownAbiExport {
            name: "portcullis_magic".into()
        })
    );
    let free = minimal(r#"(func (export "portcullis_free") (param i32 i32))"#);
    assert!(check(&module(&free, META)).is_ok());
}

#[test]
fn memory_count_must_be_one() {
    let two = minimal("(memory 1)");
    assert_eq!(
        check(&module(&two, META)),
        Err(PolicyError::MemoryCount { count: 2 })
    );
}

#[test]
fn size_limit_and_features() {
    let bytes = good_bytes();
    let err = validate(
        &bytes,
        &ValidationLimits {
            max_module_bytes: 100,
            ..ValidationLimits::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::TooLarge {
            size: bytes.len(),
            limit: 100
        }
    );
    // SIMD is not part of ABI v1.
    let simd = minimal(r#"(func (result v128) (v128.const i64x2 0 0))"#);
    assert!(matches!(
        check(&module(&simd, META)),
        Err(PolicyError::InvalidWasm { .. })
    ));
    // Saturating conversions and sign extension are (rustc and clang emit them by default).
    let sat = minimal(
        r#"(func (param f64) (result i32) (i32.extend8_s (i32.trunc_sat_f64_s (local.get 0))))"#,
    );
    assert!(check(&module(&sat, META)).is_ok());
}
