//! Example policy modules built from source, and the shared conformance cases.
//!
//! The `approve-dba` example policy exists in several languages under `policies/examples/`;
//! every version must pass `policies/conformance/cases.json` (see its README). The tests build
//! the modules here, from source, at most once per test process: Rust with cargo for
//! `wasm32-unknown-unknown` (target dir `policies/target`), C with clang, Zig and
//! AssemblyScript (core modules, ABI v1), Python and JavaScript (components, ABI v2) with the
//! toolchains `scripts/policies-toolchain` installs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A language the `approve-dba` example policy is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// `policies/examples/rust`, built with cargo for `wasm32-unknown-unknown`.
    Rust,
    /// `policies/examples/c`, built with clang and wasm-ld (no libc).
    C,
    /// `policies/examples/zig`, built with Zig from PyPI (`ziglang`).
    Zig,
    /// `policies/examples/assemblyscript`, built with the pinned `asc` from npm.
    AssemblyScript,
    /// `policies/examples/python`, an ABI v2 component built with componentize-py (PyPI).
    Python,
    /// `policies/examples/javascript`, an ABI v2 component built with componentize-js (npm).
    JavaScript,
    /// `policies/examples/rust-component`, an ABI v2 component built with cargo and
    /// wit-bindgen for `wasm32-wasip2`: Rust in both ABIs.
    RustComponent,
}

impl Lang {
    /// Every language, in a fixed order.
    pub const ALL: [Lang; 7] = [
        Lang::Rust,
        Lang::C,
        Lang::Zig,
        Lang::AssemblyScript,
        Lang::Python,
        Lang::JavaScript,
        Lang::RustComponent,
    ];

    /// The directory name under `policies/examples/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::C => "c",
            Lang::Zig => "zig",
            Lang::AssemblyScript => "assemblyscript",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::RustComponent => "rust-component",
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::Rust => 0,
            Lang::C => 1,
            Lang::Zig => 2,
            Lang::AssemblyScript => 3,
            Lang::Python => 4,
            Lang::JavaScript => 5,
            Lang::RustComponent => 6,
        }
    }
}

/// The repository root (the directory holding `policies/`).
///
/// Read at run time first (`cargo test` sets `CARGO_MANIFEST_DIR`): a test binary compiled
/// for another checkout that shares the target directory must not look there.
pub fn repo_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Builds the `approve-dba` example module written in `lang` from source and returns the path
/// of the `.wasm` file. Each language is built at most once per test process; a failed build
/// panics with the build's standard error.
///
/// C, Zig and AssemblyScript run `policies/examples/<lang>/build.sh` with an output directory
/// next to the test binaries (`<target>/<profile>/policies/<lang>/`); Zig and AssemblyScript
/// need `scripts/policies-toolchain` to have run (`scripts/setup` runs it). Rust runs
/// `cargo build --release --target wasm32-unknown-unknown` on
/// `policies/examples/rust/Cargo.toml` with `CARGO_TARGET_DIR=policies/target`.
pub fn build_example(lang: Lang) -> PathBuf {
    static BUILT: [OnceLock<PathBuf>; 7] = [const { OnceLock::new() }; 7];
    BUILT[lang.index()]
        .get_or_init(|| match lang {
            Lang::Rust => build_rust(),
            _ => build_with_script(lang),
        })
        .clone()
}

/// The shared conformance cases, `policies/conformance/cases.json`: an array of
/// `{"name", "now_ms", "input", "expected": {"verdict", "reason", "annotations"?}}`.
pub fn conformance_cases() -> serde_json::Value {
    let path = repo_root().join("policies/conformance/cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// `<target>/<profile>/policies/<lang>/`, next to the test executable (which lives in
/// `<target>/<profile>/deps/`).
fn out_dir(lang: Lang) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    profile_dir.join("policies").join(lang.dir_name())
}

fn build_with_script(lang: Lang) -> PathBuf {
    let script = repo_root()
        .join("policies/examples")
        .join(lang.dir_name())
        .join("build.sh");
    let out_dir = out_dir(lang);
    let out = Command::new("bash")
        .arg(&script)
        .arg(&out_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "building the {lang:?} example policy failed ({}, {}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let wasm = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        wasm.is_file(),
        "{} succeeded but printed no module path (stdout: {stdout:?})",
        script.display()
    );
    wasm
}

fn build_rust() -> PathBuf {
    let root = repo_root();
    let policies = root.join("policies");
    let manifest = policies.join("examples/rust/Cargo.toml");
    assert!(
        manifest.is_file(),
        "the Rust example policy is missing: {}",
        manifest.display()
    );
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&policies)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", policies.join("target"));
    // Flags meant for the host build (coverage, sanitizers, a forced target) must not leak
    // into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo for the Rust example policy: {e}"));
    assert!(
        out.status.success(),
        "building the Rust example policy failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The artifact of the example's own package: its `.wasm` file, whatever the crate is named.
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter(|msg| {
            msg["manifest_path"]
                .as_str()
                .is_some_and(|p| Path::new(p) == manifest)
        })
        .flat_map(|msg| {
            msg["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
        })
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .unwrap_or_else(|| {
            panic!(
                "cargo built {} but reported no .wasm artifact (is it a `cdylib`?)",
                manifest.display()
            )
        })
}

/// What every hand-written test module starts with: one page of memory, the ABI v1 marker
/// and a bump allocator from offset 4096 (data goes below it).
pub const WAT_PRELUDE: &str = r#"(memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (func (export "portcullis_abi_v1"))
  (func (export "portcullis_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $p))"#;

/// A valid ABI v1 module whose `access_request` hook runs `body` and, if it returns,
/// answers the JSON `answer` (a bump allocator, a recursing `$recurse` for bodies that
/// should exhaust the stack, no imports).
pub fn access_request_module(name: &str, body: &str, answer: &str) -> Vec<u8> {
    let escaped = answer.replace('\\', "\\\\").replace('"', "\\\"");
    let metadata = format!(
        r#"{{\"abi\":1,\"name\":\"{name}\",\"version\":\"1.0.0\",\"hooks\":[\"access_request\"],\"functions\":[],\"capabilities\":[]}}"#
    );
    let wat = format!(
        r#"(module
  (@custom "portcullis.metadata" "{metadata}")
  {WAT_PRELUDE}
  (func $recurse (param i32) (result i32)
    (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (data (i32.const 16) "{escaped}")
  (func (export "portcullis_access_request") (param i32 i32) (result i64)
    {body}
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len}))))"#,
        len = answer.len()
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad test module: {e}\n{wat}"))
}

/// Builds the Python component in `tests/fixtures/components/<name>/app.py` for `world` of
/// `guest-sdk/wit/policy.wit` with the componentize-py that `scripts/policies-toolchain`
/// installs, into `<target>/<profile>/policies/fixtures/<name>.wasm`. Panics with the
/// tool's output when the build fails.
pub fn build_python_fixture(name: &str, world: &str) -> PathBuf {
    let root = repo_root();
    let source = root.join("tests/fixtures/components").join(name);
    let exe = std::env::current_exe().expect("current exe");
    let out_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir")
        .join("policies/fixtures");
    std::fs::create_dir_all(&out_dir).expect("create the fixtures' output directory");
    let out = out_dir.join(format!("{name}.wasm"));
    let tool = std::env::var_os("HOME")
        .map(PathBuf::from)
        .expect("HOME")
        .join(".cache/portcullis/policy-venv/bin/componentize-py");
    let run = Command::new(&tool)
        .arg("-d")
        .arg(root.join("guest-sdk/wit"))
        .args(["-w", world, "componentize", "-p"])
        .arg(&source)
        .args(["app", "-o"])
        .arg(&out)
        .current_dir(&out_dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (scripts/policies-toolchain installs it): {e}",
                tool.display()
            )
        });
    assert!(
        run.status.success(),
        "componentize-py failed for {name}:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// Builds the Rust component in `tests/fixtures/components/<name>/` (a crate of its own,
/// with wit-bindgen) for `wasm32-wasip2`, into `<target>/<profile>/policies/fixtures-rust/`,
/// and returns the `.wasm` path. Panics with cargo's output when the build fails.
pub fn build_rust_fixture(name: &str) -> PathBuf {
    let dir = repo_root().join("tests/fixtures/components").join(name);
    let exe = std::env::current_exe().expect("current exe");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir")
        .join("policies/fixtures-rust");
    let out = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "building {name} failed (scripts/setup adds the wasm32-wasip2 target):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")))
}
