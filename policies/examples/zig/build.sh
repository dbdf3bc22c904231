#!/usr/bin/env bash
# Builds approve_dba.wasm (Portcullis policy ABI v1) from approve_dba.zig.
# Usage: build.sh [OUT_DIR]   (default: policies/examples/zig/out). Callable from any directory.
# Prints the path of the module on standard output.
#
# Zig comes from PyPI (`ziglang`, pinned in scripts/policies-toolchain, which installs it into
# $HOME/.cache/portcullis/zig-venv). Override with ZIG=/path/to/zig.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/out}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
out="$out_dir/approve_dba.wasm"
cache="$HOME/.cache/portcullis"

if [ -n "${ZIG:-}" ]; then
  zig=("$ZIG")
elif [ -x "$cache/zig-venv/bin/python" ] && "$cache/zig-venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  zig=("$cache/zig-venv/bin/python" -m ziglang)
elif command -v zig >/dev/null 2>&1; then
  zig=(zig)
else
  echo "zig not found: run scripts/policies-toolchain (or set ZIG)" >&2
  exit 1
fi

export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-$cache/zig-cache}"
export ZIG_LOCAL_CACHE_DIR="${ZIG_LOCAL_CACHE_DIR:-$cache/zig-cache}"
# -mcpu: only the Wasm features ABI v1 allows (MVP + mutable-globals, sign-ext, bulk-memory,
# multi-value). The metadata custom section is emitted by the source (module-level assembly).
cd "$out_dir"
"${zig[@]}" build-exe "$here/approve_dba.zig" \
  -target wasm32-freestanding \
  -mcpu=mvp+mutable_globals+sign_ext+bulk_memory+multivalue \
  -fno-entry -O ReleaseSmall -fstrip --stack 16384 \
  --export=portcullis_abi_v1 --export=portcullis_alloc --export=portcullis_access_request \
  -femit-bin="$out" >&2
echo "$out"
