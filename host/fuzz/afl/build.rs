//! With `ROCKSDB_LIB_DIR` set (a RocksDB static library built earlier, which
//! `scripts/fuzz` reuses from the main target directory instead of compiling RocksDB's C++
//! again with the fuzz build), `librocksdb-sys` links that library but not the C++
//! standard library it needs: link it here.

fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    if std::env::var_os("ROCKSDB_LIB_DIR").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state");
    }
}
