//! ABI version 2: the same handlers as [`crate::module!`], exported as a component (ABI.md
//! Part 2) by [`crate::component!`]. Feature `component`; build for `wasm32-wasip2`.
//!
//! A component targets one world of `guest-sdk/wit/policy.wit` and exports exactly that
//! world's hooks; the policy crate picks the world with a feature of this crate, which makes
//! its bindings (wit-bindgen) and its export macro, called through [`crate::component!`]:
//!
//! | feature | world | hooks given to `component!` |
//! | --- | --- | --- |
//! | `access-request-component` | `access-request-policy` (`access_request`) | `access_request` |
//! | `rule-component` | `rule-policy` (`rules`) | `where` and `action` |
//! | `function-component` | `function-policy` (`functions`) | none, only `functions` |
//!
//! One world per build: the worlds share the `describe` interface, whose generated export
//! code has one crate-wide name. The glue here turns the typed WIT records into
//! the SDK's input types (the same [`crate::AccessRequestInput`], [`crate::WhereInput`] and
//! [`crate::FunctionInput`] a v1 module receives) and the handler's output back, so one
//! handler builds as either ABI. [`crate::host`] calls the `host` interface in a component.

mod glue;
#[cfg(all(test, feature = "access-request-component"))]
mod tests;

/// The bindings of world `access-request-policy` (`describe` and `access-request`).
#[cfg(feature = "access-request-component")]
#[allow(missing_docs, unsafe_code, clippy::all, clippy::pedantic)]
pub mod access_request {
    // The generated code is wit-bindgen's: canonical-ABI lifting and lowering, which needs
    // `unsafe` (raw pointers into linear memory) and is fenced in these modules.
    wit_bindgen::generate!({
        path: "wit",
        world: "access-request-policy",
        default_bindings_module: "portcullis_guest::component::access_request",
        runtime_path: "portcullis_guest::component::__wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_access_request",
    });
    crate::component::glue::common!();
    crate::component::glue::access_request!();
}

/// The bindings of world `rule-policy` (`describe`, `where-clause` and `action`).
#[cfg(feature = "rule-component")]
#[allow(missing_docs, unsafe_code, clippy::all, clippy::pedantic)]
pub mod rules {
    wit_bindgen::generate!({
        path: "wit",
        world: "rule-policy",
        default_bindings_module: "portcullis_guest::component::rules",
        runtime_path: "portcullis_guest::component::__wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_rules",
    });
    crate::component::glue::common!();
    crate::component::glue::rules!();
}

/// The bindings of world `function-policy` (`describe` and `functions`).
#[cfg(feature = "function-component")]
#[allow(missing_docs, unsafe_code, clippy::all, clippy::pedantic)]
pub mod functions {
    wit_bindgen::generate!({
        path: "wit",
        world: "function-policy",
        default_bindings_module: "portcullis_guest::component::functions",
        runtime_path: "portcullis_guest::component::__wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_functions",
    });
    crate::component::glue::common!();
    crate::component::glue::functions!();
}

#[cfg(any(
    all(feature = "access-request-component", feature = "rule-component"),
    all(feature = "access-request-component", feature = "function-component"),
    all(feature = "rule-component", feature = "function-component"),
))]
compile_error!(
    "portcullis-guest: enable one of the features access-request-component, rule-component and \
     function-component (a component targets one world)"
);

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use glue::{Capability, ParseCapabilityError};

/// Exports `name`, `version`, `capabilities` and handlers as an ABI v2 component: the
/// counterpart of [`crate::module!`], with the same handler signatures (see the table of the
/// crate docs), for the worlds listed in [`crate::component`]. `capabilities` takes the v1
/// names but `input` (a component receives its input as arguments). Build with
/// `cargo build --release --target wasm32-wasip2`.
///
/// ```ignore
/// portcullis_guest::component! {
///     name: "approve-dba",
///     version: "1.0.0",
///     hooks: { access_request: review },
///     functions: {},
///     capabilities: [time],
/// }
/// ```
#[macro_export]
macro_rules! component {
    (
        name: $name:literal,
        version: $version:literal,
        hooks: { access_request: $handler:path $(,)? },
        functions: {},
        capabilities: [ $($caps:tt)* ] $(,)?
    ) => {
        $crate::__component_metadata!(access_request, $name, $version, [], [$($caps)*]);
        // SAFETY: the export macro is wit-bindgen's: `export_name` functions that lift and
        // lower the canonical ABI for the trait impls above; no other symbol has their names.
        #[allow(unsafe_code)]
        const _: () = {
            impl $crate::component::access_request::exports::portcullis::policy::access_request::Guest
                for __PortcullisComponent
            {
                fn decide(
                    input: $crate::component::access_request::exports::portcullis::policy::access_request::Input,
                ) -> ::core::result::Result<
                    $crate::component::access_request::exports::portcullis::policy::access_request::Decision,
                    $crate::component::access_request::portcullis::policy::types::Failure,
                > {
                    $crate::component::access_request::decide(input, $handler)
                }
            }
            $crate::component::access_request::export_access_request!(
                __PortcullisComponent with_types_in $crate::component::access_request
            );
        };
    };
    (
        name: $name:literal,
        version: $version:literal,
        hooks: { where: $where:path, action: $action:path $(,)? },
        functions: {},
        capabilities: [ $($caps:tt)* ] $(,)?
    ) => {
        $crate::__component_metadata!(rules, $name, $version, [], [$($caps)*]);
        // SAFETY: the export macro is wit-bindgen's: `export_name` functions that lift and
        // lower the canonical ABI for the trait impls above; no other symbol has their names.
        #[allow(unsafe_code)]
        const _: () = {
            impl $crate::component::rules::exports::portcullis::policy::where_clause::Guest
                for __PortcullisComponent
            {
                fn evaluate(
                    input: $crate::component::rules::portcullis::policy::types::RuleInput,
                ) -> ::core::result::Result<bool, $crate::component::rules::portcullis::policy::types::Failure> {
                    $crate::component::rules::evaluate(input, $where)
                }
            }
            impl $crate::component::rules::exports::portcullis::policy::action::Guest
                for __PortcullisComponent
            {
                fn run(
                    input: $crate::component::rules::portcullis::policy::types::RuleInput,
                ) -> ::core::result::Result<
                    $crate::__private::Vec<$crate::component::rules::exports::portcullis::policy::action::Effect>,
                    $crate::component::rules::portcullis::policy::types::Failure,
                > {
                    $crate::component::rules::run(input, $action)
                }
            }
            $crate::component::rules::export_rules!(
                __PortcullisComponent with_types_in $crate::component::rules
            );
        };
    };
    (
        name: $name:literal,
        version: $version:literal,
        hooks: {},
        functions: { $($function:ident : $fhandler:path),+ $(,)? },
        capabilities: [ $($caps:tt)* ] $(,)?
    ) => {
        $crate::__component_metadata!(functions, $name, $version, [$($function),+], [$($caps)*]);
        // SAFETY: the export macro is wit-bindgen's: `export_name` functions that lift and
        // lower the canonical ABI for the trait impls above; no other symbol has their names.
        #[allow(unsafe_code)]
        const _: () = {
            impl $crate::component::functions::exports::portcullis::policy::functions::Guest
                for __PortcullisComponent
            {
                fn call(
                    input: $crate::component::functions::exports::portcullis::policy::functions::Input,
                ) -> ::core::result::Result<
                    $crate::__private::String,
                    $crate::component::functions::portcullis::policy::types::Failure,
                > {
                    match input.name.as_str() {
                        $(::core::stringify!($function) => $crate::component::functions::call(input, $fhandler),)+
                        _ => ::core::result::Result::Err($crate::component::functions::no_such_function(&input.name)),
                    }
                }
            }
            $crate::component::functions::export_functions!(
                __PortcullisComponent with_types_in $crate::component::functions
            );
        };
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "component!: hooks must be `{ access_request: f }`, `{ where: f, action: g }`, or `{}` \
             with at least one function (one world of guest-sdk/wit/policy.wit each), followed \
             by `functions: {...}` and `capabilities: [...]`"
        );
    };
}

/// The type a component's exports are implemented on, and its `describe.get` (used by
/// [`component!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __component_metadata {
    ($world:ident, $name:literal, $version:literal, [$($function:ident),*], [$($caps:tt)*]) => {
        const _: () = ::core::assert!(
            $crate::__private::valid_name($name),
            "module name: 1-64 characters [a-z0-9-_]"
        );
        $(
            const _: () = ::core::assert!(
                $crate::__private::valid_function_name(::core::stringify!($function)),
                "function names: [a-z_][a-z0-9_]*"
            );
        )*
        const _: () = ::core::assert!(
            !$crate::__private::declares_input($crate::__capabilities!($($caps)*)),
            "capability `input` is ABI v1 only: a component receives its input as arguments"
        );
        #[doc(hidden)]
        struct __PortcullisComponent;
        const _: () = {
            impl $crate::component::$world::exports::portcullis::policy::describe::Guest
                for __PortcullisComponent
            {
                fn get() -> $crate::component::$world::portcullis::policy::types::Metadata {
                    $crate::component::$world::metadata(
                        $name,
                        $version,
                        &[$(::core::stringify!($function)),*],
                        ::core::concat!("[", $crate::__capabilities!($($caps)*), "]"),
                    )
                }
            }
        };
    };
}
