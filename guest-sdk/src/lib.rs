//! Rust SDK for writing Portcullis policy modules that compile to `wasm32-unknown-unknown`.
//!
//! A policy module is a plain core Wasm module following the ABI in `guest-sdk/ABI.md`
//! (version 1). This crate writes the ABI part for you:
//!
//! - [`module!`] emits, once per module, the `portcullis_abi_v1` marker, the
//!   `portcullis_alloc` export, the `portcullis.metadata` custom section (JSON built at
//!   compile time from the macro's arguments, so the declared hooks always match the exported
//!   ones) and one export per hook, each calling a safe Rust function that takes a typed
//!   input and returns `Result<Output, E: Display>` (an `Err` becomes `{"error": "..."}`),
//!   or `Result<Output, GuestError>` to give the error a kind (`{"error": "...", "kind":
//!   "syntax"}` for an expression that does not parse);
//! - [`types`] has the inputs and outputs of ABI §4 (serde);
//! - [`host`] has safe wrappers for the host imports of ABI §5;
//! - the `runtime` feature supplies what a `#![no_std]` wasm module lacks: a global bump
//!   allocator ([`abi::BumpAllocator`], suited to the fresh instance the server creates for
//!   every call) and a panic handler (a panic traps, which the server treats as a failed
//!   evaluation). It only has an effect on wasm32, so the same crate builds and unit-tests
//!   natively.
//!
//! The same handlers can also be exported as an ABI version 2 component (ABI.md Part 2):
//! enable one of the features `access-request-component`, `rule-component` or
//! `function-component`, call [`component!`] instead of [`module!`] and build for
//! `wasm32-wasip2` (see [`component`], present with those features).
//!
//! Handler signatures, by hook:
//!
//! | hook | export | handler |
//! | --- | --- | --- |
//! | `where` | `portcullis_where` | `fn(I) -> Result<bool, E>` |
//! | `action` | `portcullis_action` | `fn(I) -> Result<Vec<Effect>, E>` |
//! | `access_request` | `portcullis_access_request` | `fn(I) -> Result<Decision, E>` |
//! | function `NAME` | `portcullis_fn_NAME` | `fn(I) -> Result<serde_json::Value, E>` |
//!
//! `I` is any [`HookInput`]: usually the hook's typed input ([`WhereInput`],
//! [`ActionInput`], [`AccessRequestInput`], [`FunctionInput`]), or [`RawInput`] to skip
//! decoding (and read values with [`host::input_get`] instead); `E` is any `Display`, or
//! [`GuestError`] (see [`IntoGuestError`]).
//!
//! # A complete module
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "team-check"
//! version = "1.0.0"
//! edition = "2021"
//!
//! [lib]
//! crate-type = ["cdylib", "rlib"]
//!
//! [dependencies]
//! portcullis-guest = { path = "../../guest-sdk", features = ["runtime"] }
//!
//! [profile.release]
//! opt-level = "s"
//! lto = true
//! panic = "abort"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! // no_std on wasm32 (the SDK's `runtime` feature supplies allocator and panic handler);
//! // std natively, so that `cargo test` works.
//! #![cfg_attr(target_arch = "wasm32", no_std)]
//! extern crate alloc;
//!
//! use alloc::string::String;
//! use portcullis_guest::{host, AccessRequestInput, Decision, Level, User, WhereInput};
//!
//! portcullis_guest::module! {
//!     name: "team-check",
//!     version: "1.0.0",
//!     hooks: {
//!         where: in_dba_team,
//!         access_request: review,
//!     },
//!     functions: {},
//!     capabilities: [log],
//! }
//!
//! /// `where`: true when the user's `team` trait contains `dba` (ignores the expression).
//! fn in_dba_team(input: WhereInput) -> Result<bool, String> {
//!     let user = User::from_value(&input.user)?;
//!     Ok(user.traits("team").iter().any(|team| team == "dba"))
//! }
//!
//! /// `access_request`: denies requests without a reason, otherwise leaves them to humans.
//! fn review(input: AccessRequestInput) -> Result<Decision, String> {
//!     if input.request.reason.is_empty() {
//!         host::log(Level::Info, "denied a request without a reason");
//!         return Ok(Decision::deny("a reason is required"));
//!     }
//!     Ok(Decision::pending("a human must review").suggest_reviewer("alice"))
//! }
//! # fn main() {}
//! ```
//!
//! Build with `cargo build --release --target wasm32-unknown-unknown`; the module is
//! `target/wasm32-unknown-unknown/release/team_check.wasm`.
//!
//! Every evaluation instantiates the module afresh and resets its memory afterwards, so a
//! small initial memory is a faster module. rustc gives wasm32 a 1 MiB stack by default; a
//! policy call rarely needs more than a few KiB, so set a smaller one in the module's
//! `.cargo/config.toml`:
//!
//! ```toml
//! [target.wasm32-unknown-unknown]
//! rustflags = ["-C", "link-arg=-zstack-size=65536"]
//! ```
//!
//! The SDK's allocator (feature `runtime`) starts its heap right after the static data and
//! grows memory only when that space runs out, so a call that fits never grows memory.
//!
//! # Native builds
//!
//! On targets other than wasm32 the exports are ordinary functions without fixed symbol
//! names (several modules can be linked into one test or benchmark binary) that receive no
//! input, and the host imports are stubs (see [`host`]): keep a module's logic in plain
//! functions and unit-test those natively.
// A component (feature `component`, for wasm32-wasip2) links std, as its bindings need.
#![cfg_attr(not(feature = "component"), no_std)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;
// The component bindings name this crate by its path (`portcullis_guest::component::...`),
// also from inside it.
#[cfg(feature = "component")]
extern crate self as portcullis_guest;

pub mod abi;
#[cfg(feature = "component")]
pub mod component;
pub mod host;
pub mod types;

#[doc(inline)]
pub use types::{
    AccessRequest, AccessRequestInput, ActionInput, Decision, Effect, ErrorKind, FunctionInput,
    GuestError, HookInput, IntoGuestError, Level, Metadata, RawInput, Resource, Review, User,
    UserSpec, Verdict, WhereInput,
};

pub use serde_json;
pub use serde_json::Value;

/// Support code for the macros; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use serde::de::DeserializeOwned;

    use serde::Serialize;
    use serde_json::Value;

    use crate::types::{Effect, GuestError, HookInput, IntoGuestError};

    /// `{"result": bool}`.
    #[derive(Serialize)]
    pub struct WhereOutput {
        /// The result.
        pub result: bool,
    }

    /// `{"effects": [...]}`.
    #[derive(Serialize)]
    pub struct ActionOutput {
        /// The effects.
        pub effects: Vec<Effect>,
    }

    /// `{"result": value}`.
    #[derive(Serialize)]
    pub struct FunctionOutput {
        /// The result.
        pub result: Value,
    }

    /// Runs a hook export: decodes the input at `(ptr, len)`, calls `handler`, encodes the
    /// output (or the error) and returns it packed as ABI §3 says.
    pub fn run_hook<I, O, E>(ptr: i32, len: i32, handler: impl FnOnce(I) -> Result<O, E>) -> i64
    where
        I: HookInput,
        O: Serialize,
        E: IntoGuestError,
    {
        crate::abi::leak_output(handle(crate::abi::input_bytes(ptr, len), handler))
    }

    /// The safe part of [`run_hook`]: input bytes to output bytes.
    pub fn handle<I, O, E>(input: &'static [u8], handler: impl FnOnce(I) -> Result<O, E>) -> Vec<u8>
    where
        I: HookInput,
        O: Serialize,
        E: IntoGuestError,
    {
        let output = match I::decode(input) {
            Ok(input) => handler(input).map_err(IntoGuestError::into_guest_error),
            Err(e) => Err(GuestError::evaluation(e)),
        };
        match output.and_then(|o| {
            serde_json::to_vec(&o).map_err(|e| {
                GuestError::evaluation(alloc::format!("cannot encode the output: {e}"))
            })
        }) {
            Ok(bytes) => bytes,
            Err(error) => error_json(&error),
        }
    }

    fn error_json(error: &GuestError) -> Vec<u8> {
        serde_json::to_vec(error)
            .unwrap_or_else(|_| Vec::from(&b"{\"error\":\"cannot encode the error\"}"[..]))
    }

    /// Implements `portcullis_alloc`.
    pub fn alloc(len: i32) -> i32 {
        crate::abi::alloc_input(len)
    }

    /// The metadata JSON as a byte array (for the custom section static).
    pub const fn bytes<const N: usize>(text: &str) -> [u8; N] {
        let text = text.as_bytes();
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = text[i];
            i += 1;
        }
        out
    }

    /// ABI §2: 1–64 characters `[a-z0-9-_]`.
    pub const fn valid_name(name: &str) -> bool {
        let name = name.as_bytes();
        if name.is_empty() || name.len() > 64 {
            return false;
        }
        let mut i = 0;
        while i < name.len() {
            let c = name[i];
            if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_') {
                return false;
            }
            i += 1;
        }
        true
    }

    /// ABI §2: `[a-z_][a-z0-9_]*`.
    pub const fn valid_function_name(name: &str) -> bool {
        let name = name.as_bytes();
        if name.is_empty() || name[0].is_ascii_digit() {
            return false;
        }
        let mut i = 0;
        while i < name.len() {
            let c = name[i];
            if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_') {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Text that can go into the JSON between quotes as is: no `"`, `\` or control
    /// characters.
    pub const fn plain_json_text(text: &str) -> bool {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            let c = text[i];
            if c == b'"' || c == b'\\' || c < 0x20 {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Whether a capabilities list (the JSON strings [`module!`] writes) holds `"input"`,
    /// which ABI v2 does not have.
    pub const fn declares_input(capabilities: &str) -> bool {
        let text = capabilities.as_bytes();
        let word = b"\"input\"";
        let mut i = 0;
        while i + word.len() <= text.len() {
            let mut j = 0;
            while j < word.len() && text[i + j] == word[j] {
                j += 1;
            }
            if j == word.len() {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// Declares a policy module: its metadata, hooks, extra functions and capabilities.
///
/// Invoke it exactly once, at the root of the module crate:
///
/// ```ignore
/// portcullis_guest::module! {
///     name: "predicate",                 // ABI §2: 1–64 characters [a-z0-9-_]
///     version: "1.0.0",                  // free text without quotes or backslashes
///     hooks: {                           // one or more of where, action, access_request
///         where: evaluate_where,         //   hook: handler function (a path)
///         action: run_action,
///     },
///     functions: {                       // extra functions, exported as portcullis_fn_NAME
///         business_hours: business_hours,
///     },
///     capabilities: [log, time, input, call, lookup:role],
///     input_mode: pull,                  // optional: copy (default) or pull (ABI §3)
/// }
/// ```
///
/// It emits the `portcullis_abi_v1` marker, the `portcullis_alloc` export, one export per
/// hook and function, and the `portcullis.metadata` custom section, e.g.
/// `{"abi":1,"name":"predicate","version":"1.0.0","hooks":["where","action","function"],
/// "functions":["business_hours"],"capabilities":["log","time","input","call","lookup:role"]}`
/// (`function` is added to `hooks` exactly when `functions` is not empty). Names, the version
/// and capabilities are checked at compile time.
///
/// With `input_mode: pull` (which needs the `input` capability) the host does not copy the
/// input into the module: hooks take a [`RawInput`] (empty) and read the values they need
/// with [`host::input_get`] or [`host::input_get_json`] — cheaper when a hook needs a few
/// fields of a large input.
#[macro_export]
macro_rules! module {
    (
        name: $name:literal,
        version: $version:literal,
        hooks: { $($hook:tt : $handler:path),+ $(,)? },
        functions: { $($function:ident : $fhandler:path),* $(,)? },
        capabilities: [ $($caps:tt)* ]
        $(, input_mode: $mode:ident)? $(,)?
    ) => {
        // Exports get their fixed names only on wasm32: natively the module is an ordinary
        // library, so several modules can be linked into one test or benchmark binary.
        const _: () = ::core::assert!(
            $crate::__private::valid_name($name),
            "module name: 1-64 characters [a-z0-9-_]"
        );
        const _: () = ::core::assert!(
            $crate::__private::plain_json_text($version),
            "module version: no quotes, backslashes or control characters"
        );
        $(
            const _: () = ::core::assert!(
                $crate::__private::valid_function_name(::core::stringify!($function)),
                "function names: [a-z_][a-z0-9_]*"
            );
        )*

        #[doc(hidden)]
        const __PORTCULLIS_METADATA_JSON: &str = ::core::concat!(
            "{\"abi\":1,\"name\":\"", $name,
            "\",\"version\":\"", $version,
            "\",\"hooks\":[", $crate::__json_strings!($($hook),+),
            $crate::__function_hook!($($function),*),
            "],\"functions\":[", $crate::__json_strings!($($function),*),
            "],\"capabilities\":[", $crate::__capabilities!($($caps)*),
            "]", $crate::__input_mode!($($mode)?),
            "}"
        );

        /// The `portcullis.metadata` custom section (ABI §2).
        #[doc(hidden)]
        #[used]
        #[cfg_attr(target_arch = "wasm32", link_section = "portcullis.metadata")]
        // `link_section` is flagged by `unsafe_code`: this static is plain bytes.
        #[allow(unsafe_code)]
        static __PORTCULLIS_METADATA: [u8; __PORTCULLIS_METADATA_JSON.len()] =
            $crate::__private::bytes(__PORTCULLIS_METADATA_JSON);

        /// ABI version marker (ABI §1); never called.
        // SAFETY: `no_mangle` only fixes the export name; no other symbol uses this name.
        #[allow(unsafe_code)]
        #[cfg_attr(target_arch = "wasm32", no_mangle)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        pub extern "C" fn portcullis_abi_v1() {}

        /// Input buffer allocation for the host (ABI §1, §3).
        // SAFETY: `no_mangle` only fixes the export name; no other symbol uses this name.
        #[allow(unsafe_code)]
        #[cfg_attr(target_arch = "wasm32", no_mangle)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        pub extern "C" fn portcullis_alloc(len: i32) -> i32 {
            $crate::__private::alloc(len)
        }

        $( $crate::__hook!($hook, $handler); )+
        $( $crate::__function!($function, $fhandler); )*
    };
}

/// One hook export (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __hook {
    (where, $handler:path) => {
        /// The `where` hook (ABI §4.1).
        // SAFETY: `no_mangle` only fixes the export name; no other symbol uses this name.
        #[allow(unsafe_code)]
        #[cfg_attr(target_arch = "wasm32", no_mangle)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        pub extern "C" fn portcullis_where(ptr: i32, len: i32) -> i64 {
            $crate::__private::run_hook(ptr, len, |input| {
                $handler(input).map(|result| $crate::__private::WhereOutput { result })
            })
        }
    };
    (action, $handler:path) => {
        /// The `action` hook (ABI §4.2).
        // SAFETY: `no_mangle` only fixes the export name; no other symbol uses this name.
        #[allow(unsafe_code)]
        #[cfg_attr(target_arch = "wasm32", no_mangle)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        pub extern "C" fn portcullis_action(ptr: i32, len: i32) -> i64 {
            $crate::__private::run_hook(ptr, len, |input| {
                $handler(input).map(|effects| $crate::__private::ActionOutput { effects })
            })
        }
    };
    (access_request, $handler:path) => {
        /// The `access_request` hook (ABI §4.3).
        // SAFETY: `no_mangle` only fixes the export name; no other symbol uses this name.
        #[allow(unsafe_code)]
        #[cfg_attr(target_arch = "wasm32", no_mangle)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        pub extern "C" fn portcullis_access_request(ptr: i32, len: i32) -> i64 {
            $crate::__private::run_hook(ptr, len, |input| {
                $handler(input).map(|decision: $crate::Decision| decision)
            })
        }
    };
    ($other:tt, $handler:path) => {
        ::core::compile_error!(::core::concat!(
            "unknown hook `",
            ::core::stringify!($other),
            "`: expected where, action or access_request (extra functions go in `functions`)"
        ));
    };
}

/// One extra function export `portcullis_fn_NAME` (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __function {
    ($function:ident, $handler:path) => {
        const _: () = {
            /// An extra function (ABI §4.4).
            // SAFETY: `export_name` only fixes the export name; function names are unique
            // within `functions`, so no other symbol uses this name.
            #[allow(unsafe_code)]
            #[cfg_attr(
                target_arch = "wasm32",
                export_name = ::core::concat!("portcullis_fn_", ::core::stringify!($function))
            )]
            // Natively the export is an ordinary (unexported) function.
            #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
            extern "C" fn export(ptr: i32, len: i32) -> i64 {
                $crate::__private::run_hook(ptr, len, |input| {
                    $handler(input).map(|result| $crate::__private::FunctionOutput { result })
                })
            }
        };
    };
}

/// `a, b` → `"a","b"` (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __json_strings {
    () => {
        ""
    };
    ($first:tt $(, $rest:tt)*) => {
        ::core::concat!("\"", ::core::stringify!($first), "\"" $(, ",\"", ::core::stringify!($rest), "\"")*)
    };
}

/// `,"function"` when there are extra functions (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __function_hook {
    () => {
        ""
    };
    ($($function:ident),+) => {
        ",\"function\""
    };
}

/// The capabilities list as JSON strings, checked (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __capabilities {
    () => {
        ""
    };
    ($cap:ident $(: $kind:ident)? $(,)?) => {
        $crate::__capability!($cap $(: $kind)?)
    };
    ($cap:ident $(: $kind:ident)?, $($rest:tt)+) => {
        ::core::concat!($crate::__capability!($cap $(: $kind)?), ",", $crate::__capabilities!($($rest)+))
    };
}

/// The `input_mode` field, checked (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __input_mode {
    () => {
        ""
    };
    (copy) => {
        ",\"input_mode\":\"copy\""
    };
    (pull) => {
        ",\"input_mode\":\"pull\""
    };
}

/// One capability as a JSON string (used by [`module!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __capability {
    (log) => {
        "\"log\""
    };
    (time) => {
        "\"time\""
    };
    (input) => {
        "\"input\""
    };
    (call) => {
        "\"call\""
    };
    (lookup : $kind:ident) => {
        ::core::concat!("\"lookup:", ::core::stringify!($kind), "\"")
    };
    ($($other:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unknown capability `",
            ::core::stringify!($($other)*),
            "`: expected log, time, input, call or lookup:KIND"
        ))
    };
}

#[cfg(test)]
mod tests {
    use alloc::string::String;

    use serde_json::json;

    use crate::__private::{handle, valid_function_name, valid_name, WhereOutput};
    use crate::{Decision, GuestError, Value, WhereInput};

    #[test]
    fn handle_encodes_results_and_errors() {
        let out = handle(br#"{"expression":"yes"}"#, |input: WhereInput| {
            Ok::<_, String>(WhereOutput {
                result: input.expression == "yes",
            })
        });
        assert_eq!(out, br#"{"result":true}"#);

        let out = handle(b"{}", |_: WhereInput| {
            Err::<WhereOutput, _>(String::from("bad \"thing\""))
        });
        assert_eq!(out, br#"{"error":"bad \"thing\""}"#);

        let out = handle(b"{}", |_: WhereInput| {
            Err::<bool, _>(GuestError::syntax("syntax error: `(` at column 1"))
        });
        assert_eq!(
            out,
            br#"{"error":"syntax error: `(` at column 1","kind":"syntax"}"#
        );
        let out = handle(b"{}", |_: WhereInput| {
            Err::<bool, _>(GuestError::evaluation("no"))
        });
        assert_eq!(out, br#"{"error":"no"}"#);

        let out = handle(b"not json", |_: WhereInput| Ok::<_, String>(true));
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert!(out["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid input: "));

        let out = handle(b"{}", |_: Value| Ok::<_, String>(Decision::approve("ok")));
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap(),
            json!({"verdict": "approve", "reason": "ok"})
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("approve-dba_2"));
        assert!(!valid_name(""));
        assert!(!valid_name("Approve"));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(valid_function_name("business_hours"));
        assert!(!valid_function_name("9lives"));
        assert!(!valid_function_name("has-dash"));
    }

    mod module_macro {
        crate::module! {
            name: "sdk-test",
            version: "0.1.0",
            hooks: { where: always, action: nothing },
            functions: { double: double },
            capabilities: [log, lookup:role, call],
        }

        fn always(_: crate::WhereInput) -> Result<bool, &'static str> {
            Ok(true)
        }

        fn nothing(_: crate::ActionInput) -> Result<alloc::vec::Vec<crate::Effect>, &'static str> {
            Ok(alloc::vec::Vec::new())
        }

        fn double(input: crate::FunctionInput) -> Result<crate::Value, &'static str> {
            Ok(input
                .args
                .into_iter()
                .chain(core::iter::once(crate::Value::Null))
                .collect())
        }

        #[test]
        fn metadata_json_is_complete() {
            let metadata: crate::Value = serde_json::from_str(__PORTCULLIS_METADATA_JSON).unwrap();
            assert_eq!(
                metadata,
                serde_json::json!({"abi": 1, "name": "sdk-test", "version": "0.1.0",
                    "hooks": ["where", "action", "function"], "functions": ["double"],
                    "capabilities": ["log", "lookup:role", "call"]})
            );
            assert_eq!(
                &__PORTCULLIS_METADATA[..],
                __PORTCULLIS_METADATA_JSON.as_bytes()
            );
            // Natively the exports receive no input (empty slice), hence a decode error.
            assert_ne!(portcullis_where(0, 0), 0);
            portcullis_abi_v1();
            assert_ne!(portcullis_alloc(8), 0);
        }
    }

    mod pulling_module {
        crate::module! {
            name: "sdk-pull",
            version: "1",
            hooks: { where: always },
            functions: {},
            capabilities: [input],
            input_mode: pull,
        }

        fn always(input: crate::RawInput) -> Result<bool, &'static str> {
            Ok(input.json.is_empty())
        }

        #[test]
        fn metadata_json_has_the_input_mode() {
            let metadata: crate::Value = serde_json::from_str(__PORTCULLIS_METADATA_JSON).unwrap();
            assert_eq!(
                metadata,
                serde_json::json!({"abi": 1, "name": "sdk-pull", "version": "1",
                    "hooks": ["where"], "functions": [], "capabilities": ["input"],
                    "input_mode": "pull"})
            );
        }
    }
}
