//! Upload checks of ABI.md §1–§2: [`validate`] turns bytes into a [`ModuleInfo`] or says
//! exactly why the module is refused.

use sha2::{Digest, Sha256};
use wasmparser::types::{EntityType, TypesRef};
use wasmparser::{CompositeInnerType, FuncType, Parser, Payload, ValType, Validator, WasmFeatures};

use crate::error::{PolicyError, Result};
use crate::metadata::{Capability, HookKind, Metadata, METADATA_SECTION};
use crate::shape::{check_shape, ShapeLimits};

/// Default upload size limit (32 MiB: a Python component is about 18 MiB).
pub const DEFAULT_MAX_MODULE_BYTES: usize = 32 * 1024 * 1024;

/// Limits applied when a module is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationLimits {
    /// The largest module accepted, in bytes.
    pub max_module_bytes: usize,
    /// Limits on the module's shape, which bound compilation.
    pub shape: ShapeLimits,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        ValidationLimits {
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            shape: ShapeLimits::default(),
        }
    }
}

/// What an accepted module is: its metadata plus facts found in the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The ABI version: 1 for a core module, 2 for a component.
    pub abi: u32,
    /// What the module declares in its `portcullis.metadata` section.
    pub metadata: Metadata,
    /// Lower-case hex SHA-256 of the module bytes.
    pub sha256: String,
    /// Size of the module in bytes.
    pub size: usize,
    /// Initial size of its memory, in bytes.
    pub initial_memory_bytes: u64,
    /// Whether it has a `start` function (run at every instantiation).
    pub has_start: bool,
}

impl ModuleInfo {
    /// Whether the module may look up resources of `kind` (capability `lookup:KIND`).
    pub fn may_lookup(&self, kind: &str) -> bool {
        self.metadata
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::Lookup(k) if k == kind))
    }

    /// Whether the module declares `capability`.
    pub fn has_capability(&self, capability: &Capability) -> bool {
        self.metadata.capabilities.contains(capability)
    }
}

/// The Wasm features ABI v1 allows (ABI.md, introduction). Multi-memory is let through the
/// validator only so that [`validate`] can report the memory count itself.
fn abi_features() -> WasmFeatures {
    WasmFeatures::WASM1
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::MULTI_MEMORY
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A function signature as ABI.md writes it, e.g. `(i32, i32) -> i64`.
fn show_sig(ty: &FuncType) -> String {
    let list = |tys: &[ValType]| {
        tys.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match ty.results() {
        [] => format!("({}) -> ()", list(ty.params())),
        [one] => format!("({}) -> {one}", list(ty.params())),
        many => format!("({}) -> ({})", list(ty.params()), list(many)),
    }
}

fn func_type<'a>(types: &TypesRef<'a>, entity: EntityType) -> Option<&'a FuncType> {
    let id = match entity {
        EntityType::Func(id) | EntityType::FuncExact(id) => id,
        _ => return None,
    };
    let sub = types.get(id)?;
    match &sub.composite_type.inner {
        CompositeInnerType::Func(f) => Some(f),
        _ => None,
    }
}

fn show_entity(types: &TypesRef<'_>, entity: EntityType) -> String {
    match entity {
        EntityType::Func(_) | EntityType::FuncExact(_) => func_type(types, entity)
            .map(|f| format!("a function {}", show_sig(f)))
            .unwrap_or_else(|| "a function".to_owned()),
        EntityType::Table(_) => "a table".to_owned(),
        EntityType::Memory(_) => "a memory".to_owned(),
        EntityType::Global(_) => "a global".to_owned(),
        EntityType::Tag(_) => "a tag".to_owned(),
    }
}

fn sig_matches(
    types: &TypesRef<'_>,
    entity: EntityType,
    params: &[ValType],
    results: &[ValType],
) -> bool {
    func_type(types, entity).is_some_and(|f| f.params() == params && f.results() == results)
}

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// Signature of a hook export.
const HOOK_SIG: &str = "a function (i32, i32) -> i64";

/// One ABI v1 import: name, params, results, printable signature, capability.
type ImportSpec = (
    &'static str,
    &'static [ValType],
    &'static [ValType],
    &'static str,
    &'static str,
);

/// The ABI v1 imports (ABI.md §5).
const IMPORTS: &[ImportSpec] = &[
    ("log", &[I32, I32, I32], &[], "(i32, i32, i32) -> ()", "log"),
    ("now_ms", &[], &[I64], "() -> i64", "time"),
    (
        "input_get",
        &[I32, I32, I32, I32],
        &[I32],
        "(i32, i32, i32, i32) -> i32",
        "input",
    ),
    (
        "input_get_json",
        &[I32, I32, I32, I32],
        &[I32],
        "(i32, i32, i32, i32) -> i32",
        "input",
    ),
    (
        "lookup",
        &[I32, I32, I32, I32, I32, I32],
        &[I32],
        "(i32, i32, i32, i32, i32, i32) -> i32",
        "lookup:KIND",
    ),
    (
        "call",
        &[I32, I32, I32, I32, I32, I32],
        &[I32],
        "(i32, i32, i32, i32, i32, i32) -> i32",
        "call",
    ),
];

fn capability_allows(meta: &Metadata, import: &str) -> bool {
    match import {
        "log" => meta.capabilities.contains(&Capability::Log),
        "now_ms" => meta.capabilities.contains(&Capability::Time),
        "input_get" | "input_get_json" => meta.capabilities.contains(&Capability::Input),
        "lookup" => meta
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::Lookup(_))),
        "call" => meta.capabilities.contains(&Capability::Call),
        _ => false,
    }
}

/// The export name of a hook (`portcullis_where`, ...) or extra function.
pub fn hook_export_name(kind: HookKind, function: Option<&str>) -> String {
    match (kind, function) {
        (HookKind::Function, Some(name)) => format!("portcullis_fn_{name}"),
        (kind, _) => format!("portcullis_{}", kind.as_str()),
    }
}

/// Checks `bytes` against every upload rule of ABI.md §1–§2.
pub fn validate(bytes: &[u8], limits: &ValidationLimits) -> Result<ModuleInfo> {
    if bytes.len() > limits.max_module_bytes {
        return Err(PolicyError::TooLarge {
            size: bytes.len(),
            limit: limits.max_module_bytes,
        });
    }
    let types = Validator::new_with_features(abi_features())
        .validate_all(bytes)
        .map_err(|e| PolicyError::InvalidWasm {
            reason: e.to_string(),
        })?;
    let types = types.as_ref();
    check_shape(bytes, &limits.shape)?;

    // Custom sections and the start function.
    let mut metadata_sections = Vec::new();
    let mut has_start = false;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| PolicyError::InvalidWasm {
            reason: e.to_string(),
        })? {
            Payload::CustomSection(reader) if reader.name() == METADATA_SECTION => {
                metadata_sections.push(reader.data());
            }
            Payload::StartSection { .. } => has_start = true,
            _ => {}
        }
    }
    let meta = match metadata_sections.as_slice() {
        [] => return Err(PolicyError::MissingMetadata),
        [one] => Metadata::parse(one)?,
        many => return Err(PolicyError::DuplicateMetadata { count: many.len() }),
    };

    let memory_count = types.memory_count();
    if memory_count != 1 {
        return Err(PolicyError::MemoryCount {
            count: memory_count,
        });
    }
    let memory = types.memory_at(0);

    check_imports(&types, &meta)?;
    check_exports(&types, &meta)?;

    let page = 1u64 << memory.page_size_log2.unwrap_or(16);
    Ok(ModuleInfo {
        abi: 1,
        metadata: meta,
        sha256: sha256_hex(bytes),
        size: bytes.len(),
        initial_memory_bytes: memory.initial.saturating_mul(page),
        has_start,
    })
}

fn check_imports(types: &TypesRef<'_>, meta: &Metadata) -> Result<()> {
    let imports = types.core_imports().into_iter().flatten();
    for (module, name, entity) in imports {
        let known = IMPORTS.iter().find(|(n, ..)| *n == name);
        let (params, results, sig, capability) = match (module, known) {
            ("portcullis", Some((_, p, r, s, c)))
                if matches!(entity, EntityType::Func(_) | EntityType::FuncExact(_)) =>
            {
                (*p, *r, *s, *c)
            }
            _ => {
                return Err(PolicyError::UnknownImport {
                    module: module.to_owned(),
                    name: name.to_owned(),
                })
            }
        };
        if !sig_matches(types, entity, params, results) {
            return Err(PolicyError::WrongImportType {
                name: name.to_owned(),
                expected: sig,
                found: show_entity(types, entity),
            });
        }
        if !capability_allows(meta, name) {
            return Err(PolicyError::MissingCapability {
                name: name.to_owned(),
                capability,
            });
        }
    }
    Ok(())
}

fn check_exports(types: &TypesRef<'_>, meta: &Metadata) -> Result<()> {
    let exports: Vec<(&str, EntityType)> = types.core_exports().into_iter().flatten().collect();
    let find = |name: &str| exports.iter().find(|(n, _)| *n == name).map(|(_, e)| *e);

    // Version marker first: it says which ABI the rest is checked against.
    for (name, _) in &exports {
        if let Some(version) = name.strip_prefix("portcullis_abi_v") {
            if version != "1" {
                return Err(PolicyError::UnsupportedAbiVersion {
                    export: (*name).to_owned(),
                });
            }
        }
    }
    match find("portcullis_abi_v1") {
        None => return Err(PolicyError::MissingAbiMarker),
        Some(e) if !sig_matches(types, e, &[], &[]) => {
            return Err(PolicyError::WrongExportType {
                name: "portcullis_abi_v1".to_owned(),
                expected: "a function () -> ()",
                found: show_entity(types, e),
            })
        }
        Some(_) => {}
    }

    match find("memory") {
        None => {
            return Err(PolicyError::MissingExport {
                name: "memory".to_owned(),
                expected: "the module's memory",
            })
        }
        Some(EntityType::Memory(_)) => {}
        Some(e) => {
            return Err(PolicyError::WrongExportType {
                name: "memory".to_owned(),
                expected: "a memory",
                found: show_entity(types, e),
            })
        }
    }
    match find("portcullis_alloc") {
        None => {
            return Err(PolicyError::MissingExport {
                name: "portcullis_alloc".to_owned(),
                expected: "a function (i32) -> i32",
            })
        }
        Some(e) if !sig_matches(types, e, &[I32], &[I32]) => {
            return Err(PolicyError::WrongExportType {
                name: "portcullis_alloc".to_owned(),
                expected: "a function (i32) -> i32",
                found: show_entity(types, e),
            })
        }
        Some(_) => {}
    }

    // Every exported `portcullis_*` item must be known.
    for (name, entity) in &exports {
        let Some(rest) = name.strip_prefix("portcullis_") else {
            continue;
        };
        let (known, expected): (bool, &'static str) = match rest {
            "abi_v1" | "alloc" => continue,
            "free" => (true, "a function (i32, i32) -> ()"),
            "where" | "action" | "access_request" => (true, HOOK_SIG),
            _ => match rest.strip_prefix("fn_") {
                Some(f) if crate::metadata::valid_function_name(f) => (true, HOOK_SIG),
                _ => (false, ""),
            },
        };
        if !known {
            return Err(PolicyError::UnknownAbiExport {
                name: (*name).to_owned(),
            });
        }
        let ok = if rest == "free" {
            sig_matches(types, *entity, &[I32, I32], &[])
        } else {
            sig_matches(types, *entity, &[I32, I32], &[I64])
        };
        if !ok {
            return Err(PolicyError::WrongExportType {
                name: (*name).to_owned(),
                expected,
                found: show_entity(types, *entity),
            });
        }
    }

    // Every declared hook must be exported (signatures were checked above).
    let mut wanted: Vec<(String, String)> = Vec::new();
    for hook in &meta.hooks {
        if *hook == HookKind::Function {
            for f in &meta.functions {
                wanted.push((format!("function:{f}"), hook_export_name(*hook, Some(f))));
            }
        } else {
            wanted.push((hook.as_str().to_owned(), hook_export_name(*hook, None)));
        }
    }
    for (hook, export) in wanted {
        if find(&export).is_none() {
            return Err(PolicyError::MissingHook { hook, export });
        }
    }
    Ok(())
}
