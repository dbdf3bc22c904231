//! Build script: compiles the built-in `predicate` policy module (policies/predicate, the
//! where/actions standard library) for `wasm32-unknown-unknown` so the server can embed it.
//!
//! The module lives in its own cargo workspace (`policies/`); it is built with a separate
//! cargo invocation and target directory so that nothing of this build's environment
//! (target, flags, clippy's wrapper) leaks into it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| fail("cannot find the repository root"));
    let policies = root.join("policies");
    for watched in [
        policies.join("Cargo.toml"),
        policies.join("Cargo.lock"),
        policies.join(".cargo/config.toml"),
        policies.join("predicate"),
        root.join("guest-sdk/src"),
        root.join("guest-sdk/Cargo.toml"),
    ] {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    let target_dir = policies.join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&policies)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "predicate",
        ])
        .env("CARGO_TARGET_DIR", &target_dir);
    // Keep the outer build's settings out of the inner one.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let outer = (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
            || matches!(
                key.as_str(),
                "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "RUSTC"
                    | "RUSTDOC"
                    | "RUSTC_LINKER"
            );
        if outer {
            cmd.env_remove(&key);
        }
    }
    let output = cmd.output().unwrap_or_else(|e| {
        fail(&format!(
            "cannot run cargo to build the predicate module: {e}"
        ))
    });
    if !output.status.success() {
        fail(&format!(
            "building the predicate policy module failed (is the wasm32-unknown-unknown target \
             installed? scripts/setup installs it):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let wasm = target_dir.join("wasm32-unknown-unknown/release/predicate.wasm");
    let out = PathBuf::from(env("OUT_DIR")).join("predicate.wasm");
    std::fs::copy(&wasm, &out)
        .unwrap_or_else(|e| fail(&format!("cannot copy `{}`: {e}", wasm.display())));
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| fail(&format!("{key} is not set")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
