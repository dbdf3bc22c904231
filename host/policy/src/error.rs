//! Errors: [`PolicyError`] for uploads, loading and the registry, [`EvalError`] for one
//! evaluation.

use std::time::Duration;

use portcullis_guest::ErrorKind;

/// A `Result` whose error defaults to [`PolicyError`].
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Why a module was refused at upload, could not be loaded, or a registry operation failed.
///
/// Every refusal of ABI.md §1–§2 has its own variant, so the server and `pctl` can tell the
/// author exactly what is wrong.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is larger than the upload limit.
    #[error("module is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the upload.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are not WebAssembly at all (no `\0asm` header).
    #[error(
        "not WebAssembly: the file starts with {start} (hex), not the `\\0asm` of a module or \
         component; upload the .wasm your toolchain built"
    )]
    NotWasm {
        /// The first bytes, in hex.
        start: String,
    },
    /// The module is not valid WebAssembly with the features ABI v1 allows.
    #[error("not a valid ABI v1 WebAssembly module: {reason}")]
    InvalidWasm {
        /// What the parser or validator said.
        reason: String,
    },
    /// `portcullis_abi_v1` is not exported.
    #[error(
        "module does not export the version marker `portcullis_abi_v1` (a function `() -> ()`)"
    )]
    MissingAbiMarker,
    /// A version marker for an ABI this server does not know is exported.
    #[error("module exports `{export}`, an ABI version this server does not support (supported: portcullis_abi_v1)")]
    UnsupportedAbiVersion {
        /// The marker export found.
        export: String,
    },
    /// A required export is missing.
    #[error("module does not export `{name}` ({expected})")]
    MissingExport {
        /// The export name.
        name: String,
        /// What it should be.
        expected: &'static str,
    },
    /// An export has the wrong kind or signature.
    #[error("export `{name}` has the wrong type: expected {expected}, found {found}")]
    WrongExportType {
        /// The export name.
        name: String,
        /// What ABI v1 requires.
        expected: &'static str,
        /// What the module has.
        found: String,
    },
    /// An exported `portcullis_*` item is not part of ABI v1.
    #[error("module exports `{name}`, which is not part of ABI v1 (known: portcullis_abi_v1, portcullis_alloc, portcullis_free, portcullis_where, portcullis_action, portcullis_access_request, portcullis_fn_<name>)")]
    UnknownAbiExport {
        /// The export name.
        name: String,
    },
    /// The module's shape is beyond a compile limit (see `ShapeLimits`).
    #[error(
        "module has {value} {what}, more than the limit of {limit} (limits on a module's \
         shape bound the time compiling it takes)"
    )]
    OverLimit {
        /// What was counted.
        what: String,
        /// How many the module has.
        value: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The module defines or imports no memory, or more than one.
    #[error("module must have exactly one memory, it has {count}")]
    MemoryCount {
        /// How many memories the module has.
        count: u32,
    },
    /// An import that is not in ABI.md §5.
    #[error("module imports `{module}.{name}`, which is not part of ABI v1 (allowed: portcullis.log, portcullis.now_ms, portcullis.input_get, portcullis.input_get_json, portcullis.lookup, portcullis.call)")]
    UnknownImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// An ABI import with the wrong signature.
    #[error("import `portcullis.{name}` has the wrong type: expected {expected}, found {found}")]
    WrongImportType {
        /// Import field name.
        name: String,
        /// What ABI v1 requires.
        expected: &'static str,
        /// What the module declares.
        found: String,
    },
    /// An ABI import whose capability the metadata does not declare.
    #[error("module imports `portcullis.{name}` but its metadata does not declare the capability `{capability}`")]
    MissingCapability {
        /// Import field name.
        name: String,
        /// The capability that would allow it.
        capability: &'static str,
    },
    /// The `portcullis.metadata` custom section is missing.
    #[error(
        "module has no `portcullis.metadata` custom section (add one with `pctl policy pack`)"
    )]
    MissingMetadata,
    /// More than one `portcullis.metadata` custom section.
    #[error("module has {count} `portcullis.metadata` custom sections, expected one")]
    DuplicateMetadata {
        /// How many were found.
        count: usize,
    },
    /// The metadata is not valid JSON or breaks a rule of ABI.md §2.
    #[error("invalid `portcullis.metadata`: {reason}")]
    InvalidMetadata {
        /// What is wrong.
        reason: String,
    },
    /// A hook named in the metadata is not exported.
    #[error("metadata lists hook `{hook}` but the module does not export `{export}` as `(i32, i32) -> i64`")]
    MissingHook {
        /// The hook (or `function` name).
        hook: String,
        /// The export that should implement it.
        export: String,
    },
    /// A component (ABI v2) breaks a rule of ABI.md part 2.
    #[error("not a valid ABI v2 policy component: {reason}")]
    InvalidComponent {
        /// What is wrong.
        reason: String,
    },
    /// The module could not be compiled or linked by the engine.
    #[error("module could not be compiled: {reason}")]
    Compile {
        /// What the engine said.
        reason: String,
    },
    /// Instantiating the module failed (its `start` function trapped, its initial memory is
    /// above the memory cap, ...).
    #[error("module could not be instantiated: {reason}")]
    Instantiate {
        /// What went wrong.
        reason: String,
    },
    /// Limits asked for a module are above what the engine was built for.
    #[error("limits are too large: {reason}")]
    InvalidLimits {
        /// What is wrong.
        reason: String,
    },
    /// The engine could not be created.
    #[error("could not create the policy engine: {reason}")]
    Engine {
        /// What went wrong.
        reason: String,
    },
    /// The registry has no module of that name.
    #[error("no policy module named `{name}`")]
    NotFound {
        /// The module name.
        name: String,
    },
    /// `rollback` was asked for a module without a previous version.
    #[error("policy module `{name}` has no previous version to roll back to")]
    NoPreviousVersion {
        /// The module name.
        name: String,
    },
}

/// Why one evaluation failed. Every failure is a deny (fail closed); see ABI.md §3.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// The module answered `{"error": "...", "kind": "..."}` (ABI.md §3; `kind` is
    /// optional and defaults to [`ErrorKind::Evaluation`]).
    #[error("policy module reported an error: {message}")]
    Guest {
        /// The module's message.
        message: String,
        /// What the module says the error is: [`ErrorKind::Syntax`] when the expression
        /// it was given does not parse.
        kind: ErrorKind,
    },
    /// The module trapped (`unreachable`, out-of-bounds access, a bad host call, ...).
    #[error("policy module trapped: {0}")]
    Trap(String),
    /// The module ran out of its instruction budget.
    #[error("policy module ran out of fuel (budget {fuel})")]
    OutOfFuel {
        /// The budget in force.
        fuel: u64,
    },
    /// The module exceeded its wall-clock deadline.
    #[error("policy module exceeded its deadline of {timeout:?}")]
    Timeout {
        /// The deadline in force.
        timeout: Duration,
    },
    /// The module exhausted the native call stack.
    #[error("policy module overflowed its call stack")]
    StackOverflow,
    /// The module tried to grow its memory beyond the cap.
    #[error(
        "policy module tried to grow its memory to {requested} bytes, above the cap of {cap} bytes"
    )]
    MemoryCap {
        /// The size it asked for.
        requested: usize,
        /// The cap in force.
        cap: usize,
    },
    /// `portcullis_alloc` returned 0 or a buffer outside memory.
    #[error("`portcullis_alloc({len})` returned {ptr:#x}, which is not a usable buffer")]
    Alloc {
        /// The length asked for.
        len: u32,
        /// The pointer returned.
        ptr: u32,
    },
    /// The output buffer is larger than the output limit.
    #[error("policy output is {len} bytes, more than the limit of {limit} bytes")]
    OutputTooLarge {
        /// The length returned.
        len: u32,
        /// The limit in force.
        limit: usize,
    },
    /// The output buffer does not lie inside memory.
    #[error("policy output at {ptr:#x}+{len} lies outside the module's memory of {memory} bytes")]
    OutputOutOfBounds {
        /// The pointer returned.
        ptr: u32,
        /// The length returned.
        len: u32,
        /// The memory size.
        memory: usize,
    },
    /// The output is not UTF-8 JSON of the hook's schema.
    #[error("malformed policy output: {0}")]
    MalformedOutput(String),
    /// The module does not implement the hook (or extra function) asked for.
    #[error("policy module does not implement `{0}`")]
    HookNotImplemented(String),
    /// The engine could not run the module (instance pool exhausted, ...).
    #[error("policy engine could not run the module: {0}")]
    Engine(String),
    /// A nested function call went deeper than ABI.md §5 allows.
    #[error("function calls nest deeper than {max}")]
    TooDeep {
        /// The maximum depth.
        max: u32,
    },
    /// A function asked for through the `call` import does not exist.
    #[error("no policy module exports function `{0}`")]
    NoSuchFunction(String),
}

impl EvalError {
    /// A [`EvalError::Guest`] error of `kind`.
    pub fn guest(kind: ErrorKind, message: impl Into<String>) -> Self {
        EvalError::Guest {
            message: message.into(),
            kind,
        }
    }

    /// Whether the module reported that the expression it was given does not parse
    /// ([`ErrorKind::Syntax`]), as opposed to a failed evaluation.
    pub fn is_syntax(&self) -> bool {
        matches!(
            self,
            EvalError::Guest {
                kind: ErrorKind::Syntax,
                ..
            }
        )
    }
}

/// A hook name that is not one of ABI.md §4 (see [`crate::Hook`]'s `FromStr`); the message
/// says what is expected.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct UnknownHook(pub String);
