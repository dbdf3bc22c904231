//! The on-disk cache of compiled modules.
//!
//! Layout: `<cache_dir>/<sha256 of the module>-<engine compatibility hash>.cwasm`, written
//! atomically (temporary file in the same directory, fsync, rename). The directory is created
//! with mode 0700: only the server may write there, since its files are native code.

use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A hex digest of `engine.precompile_compatibility_hash()`: changes whenever the wasmtime
/// version or a setting that affects compiled code changes.
pub(crate) fn engine_hash(engine: &wasmtime::Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
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
    pub fn load(&self, engine: &wasmtime::Engine, sha256: &str) -> Option<wasmtime::Module> {
        let path = self.path(sha256);
        if !path.is_file() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(module) => Some(module),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled policy module");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `module` (compiled from the module with digest `sha256`) atomically.
    pub fn store(&self, sha256: &str, module: &wasmtime::Module) -> std::io::Result<()> {
        let bytes = module
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

/// Deserializes a compiled module written by [`DiskCache::store`].
#[allow(unsafe_code)]
fn deserialize(engine: &wasmtime::Engine, path: &Path) -> wasmtime::Result<wasmtime::Module> {
    // SAFETY: `Module::deserialize_file` is unsafe because the file is trusted to be native
    // code produced by wasmtime's own `Module::serialize`; a crafted file could run arbitrary
    // code. Here the file lives in the server's private cache directory (created 0700, files
    // 0600), is named by the SHA-256 of the Wasm source and this engine's compatibility hash,
    // and is only ever written by `DiskCache::store` from `Module::serialize`, atomically (a
    // temporary file renamed into place), so a reader never sees a partial file. wasmtime
    // additionally checks the header and that the engine configuration and version match, and
    // refuses the file otherwise (we then delete it and recompile).
    unsafe { wasmtime::Module::deserialize_file(engine, path) }
}
