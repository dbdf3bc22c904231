//! The caches of compiled code: in memory, and on disk across restarts.
//!
//! Disk layout: `<cache_dir>/<sha256 of the module>-<engine compatibility hash>.cwasm` for
//! core modules and `<cache_dir>/components/…` for components, written atomically
//! (temporary file in the same directory, fsync, rename). The directories are created with
//! mode 0700: only the server may write there, since their files are native code.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use wasmtime::component::Component;

use crate::error::{PolicyError, Result};
use crate::module::CacheSource;

/// A hex digest of `engine.precompile_compatibility_hash()`: changes whenever the wasmtime
/// version or a setting that affects compiled code changes.
pub(crate) fn engine_hash(engine: &wasmtime::Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// What the caches hold: the compiled code of a core module (ABI v1) or of a component
/// (ABI v2).
#[derive(Clone)]
pub(crate) enum Compiled {
    /// A core module.
    Module(wasmtime::Module),
    /// A component.
    Component(Component),
}

/// Which of the two a cache compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeKind {
    /// Core modules.
    Module,
    /// Components.
    Component,
}

impl Compiled {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        match self {
            Compiled::Module(m) => m.serialize(),
            Compiled::Component(c) => c.serialize(),
        }
    }
}

/// In-memory cache entries kept before it is cleared.
const MEMORY_CACHE_ENTRIES: usize = 256;

/// The caches of one engine: compiled code by digest of its Wasm bytes, in memory and
/// (optionally) on disk, with their counters.
pub(crate) struct CodeCache {
    kind: CodeKind,
    disk: Option<DiskCache>,
    memory: Mutex<HashMap<String, Compiled>>,
    pub(crate) compiled: AtomicU64,
    pub(crate) memory_hits: AtomicU64,
    pub(crate) disk_hits: AtomicU64,
}

impl CodeCache {
    /// A cache for code of `kind` compiled by `engine`, on disk in `dir` if given.
    pub fn new(engine: &wasmtime::Engine, kind: CodeKind, dir: Option<&Path>) -> Result<CodeCache> {
        let disk = match dir {
            Some(dir) => Some(DiskCache::open(dir, engine_hash(engine)).map_err(|e| {
                PolicyError::Engine {
                    reason: format!("cache directory `{}`: {e}", dir.display()),
                }
            })?),
            None => None,
        };
        Ok(CodeCache {
            kind,
            disk,
            memory: Mutex::new(HashMap::new()),
            compiled: AtomicU64::new(0),
            memory_hits: AtomicU64::new(0),
            disk_hits: AtomicU64::new(0),
        })
    }

    /// The compiled code of `bytes` (digest `sha256`): from memory, from disk, or compiled
    /// now (and then kept in both).
    pub fn get_or_compile(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Compiled, CacheSource)> {
        let cached = self.memory.lock().ok().and_then(|c| c.get(sha256).cloned());
        if let Some(code) = cached {
            self.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((code, CacheSource::Memory));
        }
        let from_disk = self
            .disk
            .as_ref()
            .and_then(|d| d.load(engine, sha256, self.kind));
        let (code, source) = match from_disk {
            Some(code) => {
                self.disk_hits.fetch_add(1, Ordering::Relaxed);
                (code, CacheSource::Disk)
            }
            None => {
                let compile_err = |e: wasmtime::Error| PolicyError::Compile {
                    reason: format!("{e:#}"),
                };
                let code = match self.kind {
                    CodeKind::Module => Compiled::Module(
                        wasmtime::Module::from_binary(engine, bytes).map_err(compile_err)?,
                    ),
                    CodeKind::Component => Compiled::Component(
                        Component::from_binary(engine, bytes).map_err(compile_err)?,
                    ),
                };
                self.compiled.fetch_add(1, Ordering::Relaxed);
                if let Some(disk) = &self.disk {
                    if let Err(e) = disk.store(sha256, &code) {
                        tracing::warn!(error = %e, "could not write compiled policy code to the cache");
                    }
                }
                (code, CacheSource::Compiled)
            }
        };
        if let Ok(mut cache) = self.memory.lock() {
            if cache.len() >= MEMORY_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(sha256.to_owned(), code.clone());
        }
        Ok((code, source))
    }

    /// Drops the compiled code of `sha256` from memory and disk.
    pub fn forget(&self, sha256: &str) {
        if let Ok(mut cache) = self.memory.lock() {
            cache.remove(sha256);
        }
        if let Some(disk) = &self.disk {
            disk.remove(sha256);
        }
    }
}

/// The on-disk cache of one engine.
#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    engine_hash: String,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DiskCache {
    /// Opens (creating if needed) the cache in `dir`.
    pub fn open(dir: &Path, engine_hash: String) -> std::io::Result<DiskCache> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
        Ok(DiskCache {
            dir: dir.to_owned(),
            engine_hash,
        })
    }

    /// The path of the compiled form of the module with digest `sha256`.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{sha256}-{}.cwasm", self.engine_hash))
    }

    /// Loads the compiled module for `sha256`, if cached and usable. A file that wasmtime
    /// refuses (corrupt, other engine) is removed so it is rewritten after compiling.
    pub fn load(
        &self,
        engine: &wasmtime::Engine,
        sha256: &str,
        kind: CodeKind,
    ) -> Option<Compiled> {
        let path = self.path(sha256);
        if !path.is_file() {
            return None;
        }
        match deserialize(engine, &path, kind) {
            Ok(module) => Some(module),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled policy module");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Removes the compiled form of `sha256`, if there is one.
    pub fn remove(&self, sha256: &str) {
        let path = self.path(sha256);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a compiled policy module from the cache")
            }
        }
    }

    /// Stores `code` (compiled from the Wasm with digest `sha256`) atomically.
    pub fn store(&self, sha256: &str, code: &Compiled) -> std::io::Result<()> {
        let bytes = code
            .serialize()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let path = self.path(sha256);
        let tmp = self.dir.join(format!(
            ".{sha256}.{}.{}.tmp",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file: File = options.open(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

/// Deserializes compiled code written by [`DiskCache::store`].
#[allow(unsafe_code)]
fn deserialize(
    engine: &wasmtime::Engine,
    path: &Path,
    kind: CodeKind,
) -> wasmtime::Result<Compiled> {
    // SAFETY: `Module::deserialize_file` and `Component::deserialize_file` are unsafe because
    // the file is trusted to be native code produced by wasmtime's own `serialize` of the same
    // kind; a crafted file could run arbitrary code. Here the file lives in the server's private cache directory (created 0700, files
    // 0600), is named by the SHA-256 of the Wasm source and this engine's compatibility hash,
    // and is only ever written by `DiskCache::store` from `serialize`, atomically (a
    // temporary file renamed into place), so a reader never sees a partial file. wasmtime
    // additionally checks the header and that the engine configuration and version match, and
    // refuses the file otherwise (we then delete it and recompile). The kind is that of the
    // cache (core modules and components live in separate directories), and wasmtime
    // refuses a file of the other kind.
    unsafe {
        match kind {
            CodeKind::Module => {
                wasmtime::Module::deserialize_file(engine, path).map(Compiled::Module)
            }
            CodeKind::Component => {
                Component::deserialize_file(engine, path).map(Compiled::Component)
            }
        }
    }
}
