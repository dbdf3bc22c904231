#!/usr/bin/env bash
# Builds approve_dba.wasm (Portcullis policy ABI v1) from approve_dba.c with clang, no libc.
# Usage: build.sh [OUT_DIR]   (default: policies/examples/c/out). Callable from any directory.
# Prints the path of the module on standard output.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/out}"
mkdir -p "$out_dir"
out="$out_dir/approve_dba.wasm"
CC="${CC:-clang}"
# -mbulk-memory: memcpy/memset intrinsics become memory.copy/fill instead of calls to a libc.
# The metadata custom section is emitted by the source itself (inline assembly).
"$CC" --target=wasm32 -nostdlib -O2 -mbulk-memory \
  -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=16384 \
  -Wl,--export=portcullis_abi_v1 \
  -Wl,--export=portcullis_alloc \
  -Wl,--export=portcullis_access_request \
  -o "$out" "$here/approve_dba.c"
echo "$out"
