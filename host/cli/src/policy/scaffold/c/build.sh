#!/usr/bin/env bash
# Builds out/__NAME__.wasm (a Portcullis ABI v1 core module) with clang and wasm-ld (Debian:
# apt-get install clang lld).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$here/out"
"${CC:-clang}" --target=wasm32 -nostdlib -O2 -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=16384 \
  -Wl,--export=portcullis_abi_v1 -Wl,--export=portcullis_alloc \
  -Wl,--export=portcullis_access_request \
  -o "$here/out/__NAME__.wasm" "$here/policy.c"
echo "$here/out/__NAME__.wasm"
