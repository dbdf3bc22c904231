#!/usr/bin/env bash
# Builds approve_dba.wasm (Portcullis policy ABI v2, a component) from approve_dba.js.
# Usage: build.sh [OUT_DIR]   (default: policies/examples/javascript/out). Callable from any
# directory. Prints the path of the component on standard output.
#
# componentize-js comes from npm, pinned in package.json and package-lock.json, installed into
# node_modules here by scripts/policies-toolchain.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/out}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
out="$out_dir/approve_dba.wasm"
if [ ! -d "$here/node_modules/@bytecodealliance/componentize-js" ]; then
  echo "componentize-js not found: run scripts/policies-toolchain" >&2
  exit 1
fi
node "$here/build.mjs" "$out" >&2
echo "$out"
