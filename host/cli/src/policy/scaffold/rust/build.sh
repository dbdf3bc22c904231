#!/usr/bin/env bash
# Builds out/__NAME__.wasm (a Portcullis ABI v1 core module) with cargo for
# wasm32-unknown-unknown (`rustup target add wasm32-unknown-unknown` once).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
CARGO_TARGET_DIR="$here/target" cargo build --release --target wasm32-unknown-unknown >&2
mkdir -p out
cp "target/wasm32-unknown-unknown/release/__CRATE__.wasm" "out/__NAME__.wasm"
echo "$here/out/__NAME__.wasm"
