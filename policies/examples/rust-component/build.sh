#!/usr/bin/env bash
# Builds approve_dba.wasm (Portcullis policy ABI v2, a component) from src/lib.rs with cargo
# for wasm32-wasip2 (scripts/setup adds the target). Usage: build.sh [OUT_DIR] (default:
# policies/examples/rust-component/out). Prints the path of the component.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/out}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
target="$out_dir/target"
CARGO_TARGET_DIR="$target" cargo build --release --target wasm32-wasip2 \
  --manifest-path "$here/Cargo.toml" >&2
cp "$target/wasm32-wasip2/release/approve_dba_component.wasm" "$out_dir/approve_dba.wasm"
echo "$out_dir/approve_dba.wasm"
