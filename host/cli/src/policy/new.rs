//! `pctl policy new NAME --lang LANG`: writes a ready policy project — source, build script,
//! a sample input and a test file — that builds and passes its own test out of the box.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, a core module (ABI v1), built with cargo.
    Rust,
    /// Freestanding C, a core module (ABI v1), built with clang.
    C,
    /// Zig, a core module (ABI v1).
    Zig,
    /// AssemblyScript, a core module (ABI v1), built with asc from npm.
    Assemblyscript,
    /// Python, a component (ABI v2), built with componentize-py.
    Python,
    /// JavaScript, a component (ABI v2), built with componentize-js from npm.
    Javascript,
}

/// Options of `pctl policy new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The module's name (1-64 of [a-z0-9-_]): in its metadata, and the name to upload it under.
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to write the project (default: ./NAME); must not exist or be empty.
    #[arg(long)]
    dir: Option<PathBuf>,
}

const WIT: &str = include_str!("../../../../guest-sdk/wit/policy.wit");

/// The files of each language: path in the project, template text.
fn files(lang: Lang) -> Vec<(&'static str, &'static str)> {
    match lang {
        Lang::Python => vec![
            ("app.py", include_str!("scaffold/python/app.py")),
            ("build.sh", include_str!("scaffold/python/build.sh")),
            ("wit/policy.wit", WIT),
        ],
        Lang::Javascript => vec![
            ("policy.js", include_str!("scaffold/javascript/policy.js")),
            ("build.mjs", include_str!("scaffold/javascript/build.mjs")),
            (
                "package.json",
                include_str!("scaffold/javascript/package.json"),
            ),
            ("build.sh", include_str!("scaffold/javascript/build.sh")),
            ("wit/policy.wit", WIT),
        ],
        Lang::Rust => vec![
            ("Cargo.toml", include_str!("scaffold/rust/Cargo.toml")),
            ("src/lib.rs", include_str!("scaffold/rust/lib.rs")),
            ("build.sh", include_str!("scaffold/rust/build.sh")),
        ],
        Lang::C => vec![
            ("policy.c", include_str!("scaffold/c/policy.c")),
            ("build.sh", include_str!("scaffold/c/build.sh")),
        ],
        Lang::Zig => vec![
            ("policy.zig", include_str!("scaffold/zig/policy.zig")),
            ("build.sh", include_str!("scaffold/zig/build.sh")),
        ],
        Lang::Assemblyscript => vec![
            (
                "assembly/index.ts",
                include_str!("scaffold/assemblyscript/index.ts"),
            ),
            (
                "package.json",
                include_str!("scaffold/assemblyscript/package.json"),
            ),
            (
                "metadata.json",
                include_str!("scaffold/assemblyscript/metadata.json"),
            ),
            ("build.sh", include_str!("scaffold/assemblyscript/build.sh")),
        ],
    }
}

/// An access request input (ABI.md §4.3) with the given annotations.
fn sample(annotations: &str) -> String {
    format!(
        r#"{{"request": {{"id": "0d9c6a52-3f1e-4c8b-9a51-5b0c1f2e7d10", "user": "alice", "roles": ["dba"], "state": "PENDING", "reason": "fix the replication lag", "annotations": {annotations}, "created": "2026-11-24T09:59:00Z", "access_expiry": "2026-11-24T18:00:00Z"}}, "requester": {{"kind": "user", "version": "v2", "metadata": {{"name": "alice"}}, "spec": {{"roles": ["dev"], "traits": {{}}}}}}, "reviews": [], "now": "2026-11-24T10:00:00Z"}}"#
    )
}

fn test_file() -> String {
    let none = sample("{}");
    let empty = sample(r#"{"ticket": [""]}"#);
    format!(
        "# Cases for `pctl policy test out/MODULE.wasm --cases policy.test.yaml`.\n\
         hook: access_request\n\
         cases:\n\
         \x20 - name: a request with a ticket is approved\n\
         \x20   input_file: samples/ticketed.json\n\
         \x20   expect: {{verdict: approve, reason: the request carries a ticket}}\n\
         \x20 - name: a request without a ticket waits for a human\n\
         \x20   input: {none}\n\
         \x20   expect: {{verdict: pending, reason: \"no ticket: a human must review\"}}\n\
         \x20 - name: an empty ticket is no ticket\n\
         \x20   input: {empty}\n\
         \x20   expect: {{verdict: pending}}\n"
    )
}

fn readme(name: &str, lang: Lang) -> String {
    let abi = match lang {
        Lang::Python | Lang::Javascript => "an ABI v2 component",
        _ => "an ABI v1 core module",
    };
    format!(
        "# {name}\n\n\
         A Portcullis access-request policy, {abi} (guest-sdk/ABI.md in the Portcullis \
         repository). It approves a request that carries a `ticket` annotation and leaves any \
         other pending for a human.\n\n\
         ```sh\n\
         ./build.sh                                            # prints out/{name}.wasm\n\
         pctl policy test out/{name}.wasm --cases policy.test.yaml\n\
         pctl policy test out/{name}.wasm --hook access_request --input samples/ticketed.json\n\
         pctl policy upload out/{name}.wasm --name {name}\n\
         ```\n\n\
         Then put it to use with an `access_request_policy` naming `module: {name}`, the \
         roles and the users whose requests it decides.\n"
    )
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn write(dir: &Path, path: &str, text: &str) -> anyhow::Result<()> {
    let file = dir.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(&file, text).with_context(|| format!("cannot write `{}`", file.display()))?;
    if path.ends_with(".sh") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make `{}` executable", file.display()))?;
    }
    Ok(())
}

/// Writes the project and says how to build and test it.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    if !valid_name(&args.name) {
        bail!(
            "`{}` is not a module name: 1-64 characters of [a-z0-9-_]",
            args.name
        );
    }
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read `{}`", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "`{}` exists and is not empty: nothing was written",
            dir.display()
        );
    }
    let crate_name = args.name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("__NAME__", &args.name)
            .replace("__CRATE__", &crate_name)
    };
    for (path, template) in files(args.lang) {
        write(&dir, path, &fill(template))?;
    }
    write(
        &dir,
        "samples/ticketed.json",
        &sample(r#"{"ticket": ["OPS-1"]}"#),
    )?;
    write(&dir, "policy.test.yaml", &test_file())?;
    write(&dir, "README.md", &readme(&args.name, args.lang))?;
    println!("wrote {} ({:?})", dir.display(), args.lang);
    println!("  cd {} && ./build.sh", dir.display());
    println!(
        "  pctl policy test out/{}.wasm --cases policy.test.yaml",
        args.name
    );
    Ok(())
}
