#!/usr/bin/env bash
# Builds approve_dba.wasm (Portcullis policy ABI v1) from assembly/index.ts with the
# AssemblyScript compiler pinned in package.json, then appends the `portcullis.metadata`
# custom section (AssemblyScript cannot emit one) with policies/tools/pack.py.
# Usage: build.sh [OUT_DIR]   (default: policies/examples/assemblyscript/out). Callable from
# any directory. Prints the path of the module on standard output.
# Needs node_modules: scripts/policies-toolchain installs it (npm ci).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/out}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
out="$out_dir/approve_dba.wasm"
asc="$here/node_modules/assemblyscript/bin/asc.js"
if [ ! -f "$asc" ]; then
  echo "AssemblyScript is not installed in $here/node_modules: run scripts/policies-toolchain" >&2
  exit 1
fi
raw="$(mktemp "$out_dir/.approve_dba.XXXXXX.wasm")"
trap 'rm -f "$raw"' EXIT
# --runtime stub: no GC (the module allocates nothing managed anyway).
# --use abort=: no `env.abort` import (ABI v1 refuses imports outside `portcullis`); aborts trap.
# --disable nontrapping-f2i: only the Wasm features ABI v1 allows.
cd "$here"
node "$asc" assembly/index.ts --outFile "$raw" \
  --runtime stub -O3z --converge --noAssert --use abort= \
  --disable nontrapping-f2i >&2
python3 "$here/../../tools/pack.py" "$raw" --metadata "$here/metadata.json" --out "$out"
echo "$out"
