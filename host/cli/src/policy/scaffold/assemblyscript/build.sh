#!/usr/bin/env bash
# Builds out/__NAME__.wasm (a Portcullis ABI v1 core module) with the AssemblyScript compiler
# (installed into node_modules by `npm install` on the first build), then appends
# metadata.json as the `portcullis.metadata` section with `pctl policy pack` ($PCTL, else
# `pctl` on PATH).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [ ! -f node_modules/assemblyscript/bin/asc.js ]; then
  npm install --no-audit --no-fund --loglevel=error >&2
fi
mkdir -p out
node node_modules/assemblyscript/bin/asc.js assembly/index.ts --outFile out/raw.wasm \
  --runtime stub -O3z --noAssert --use abort= --disable nontrapping-f2i >&2
"${PCTL:-pctl}" policy pack out/raw.wasm --metadata metadata.json --out "out/__NAME__.wasm" >&2
rm -f out/raw.wasm
echo "$here/out/__NAME__.wasm"
