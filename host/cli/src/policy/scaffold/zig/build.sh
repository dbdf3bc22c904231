#!/usr/bin/env bash
# Builds out/__NAME__.wasm (a Portcullis ABI v1 core module) with Zig: $ZIG, else the Zig of
# Portcullis's scripts/policies-toolchain (~/.cache/portcullis/zig-venv), else `zig` on PATH
# (`pip install ziglang` gives one too).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$HOME/.cache/portcullis"
if [ -n "${ZIG:-}" ]; then
  zig=("$ZIG")
elif [ -x "$cache/zig-venv/bin/python" ] && "$cache/zig-venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  zig=("$cache/zig-venv/bin/python" -m ziglang)
elif command -v zig >/dev/null 2>&1; then
  zig=(zig)
else
  echo "zig not found: pip install ziglang, or set ZIG" >&2
  exit 1
fi
export ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-$cache/zig-cache}"
export ZIG_LOCAL_CACHE_DIR="${ZIG_LOCAL_CACHE_DIR:-$cache/zig-cache}"
mkdir -p "$here/out"
cd "$here/out"
"${zig[@]}" build-exe "$here/policy.zig" -target wasm32-freestanding \
  -mcpu=mvp+mutable_globals+sign_ext+bulk_memory+multivalue \
  -fno-entry -O ReleaseSmall -fstrip --stack 16384 \
  --export=portcullis_abi_v1 --export=portcullis_alloc --export=portcullis_access_request \
  -femit-bin="$here/out/__NAME__.wasm" >&2
echo "$here/out/__NAME__.wasm"
