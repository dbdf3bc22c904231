//! [`pack`]: append (or replace) the `portcullis.metadata` custom section, for languages
//! that cannot emit custom sections themselves (`pctl policy pack`).

use std::borrow::Cow;

use wasm_encoder::{CustomSection, RawSection};
use wasmparser::{Encoding, Parser, Payload};

use crate::error::{PolicyError, Result};
use crate::metadata::{Metadata, METADATA_SECTION};

/// Returns `wasm` with its `portcullis.metadata` section(s) removed and one holding
/// `metadata_json` appended, after checking the JSON against the rules of ABI.md §2.
///
/// The other sections are copied byte for byte. The result still has to pass
/// [`validate`](crate::validate) (exports, imports against the capabilities, ...).
pub fn pack(wasm: &[u8], metadata_json: &str) -> Result<Vec<u8>> {
    Metadata::parse_str(metadata_json)?;
    let invalid = |reason: String| PolicyError::InvalidWasm { reason };
    let mut module = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| invalid(e.to_string()))?;
        match &payload {
            Payload::Version { encoding, .. } => {
                if *encoding != Encoding::Module {
                    return Err(invalid("a component, not a core module".to_owned()));
                }
            }
            Payload::CustomSection(reader) if reader.name() == METADATA_SECTION => {}
            _ => {
                if let Some((id, range)) = payload.as_section() {
                    let data = wasm.get(range.clone()).ok_or_else(|| {
                        invalid(format!("section {id} at {range:?} is out of bounds"))
                    })?;
                    module.section(&RawSection { id, data });
                }
            }
        }
    }
    module.section(&CustomSection {
        name: Cow::Borrowed(METADATA_SECTION),
        data: Cow::Borrowed(metadata_json.as_bytes()),
    });
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{validate, ValidationLimits};

    const BARE: &str = r#"(module
        (memory (export "memory") 1)
        (func (export "portcullis_abi_v1"))
        (func (export "portcullis_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "portcullis_where") (param i32 i32) (result i64) i64.const 0))"#;

    const META: &str = r#"{"abi":1,"name":"packed","version":"0.1","hooks":["where"]}"#;

    #[test]
    fn appends_then_replaces_the_section() {
        let bare = wat::parse_str(BARE).unwrap();
        assert_eq!(
            validate(&bare, &ValidationLimits::default()),
            Err(PolicyError::MissingMetadata)
        );
        let packed = pack(&bare, META).unwrap();
        let info = validate(&packed, &ValidationLimits::default()).unwrap();
        assert_eq!(info.metadata.name, "packed");

        let repacked = pack(&packed, &META.replace("0.1", "0.2")).unwrap();
        let info = validate(&repacked, &ValidationLimits::default()).unwrap();
        assert_eq!(info.metadata.version, "0.2");
    }

    #[test]
    fn refuses_bad_metadata_and_bad_wasm() {
        let bare = wat::parse_str(BARE).unwrap();
        assert!(matches!(
            pack(&bare, r#"{"abi":1}"#),
            Err(PolicyError::InvalidMetadata { .. })
        ));
        assert!(matches!(
            pack(b"\0asm\x01\0\0\0\x01", META),
            Err(PolicyError::InvalidWasm { .. })
        ));
    }
}
