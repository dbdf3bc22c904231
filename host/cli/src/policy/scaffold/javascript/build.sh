#!/usr/bin/env bash
# Builds out/__NAME__.wasm (a Portcullis ABI v2 component) from policy.js with componentize-js
# (installed into node_modules by `npm install` on the first build).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [ ! -d node_modules/@bytecodealliance/componentize-js ]; then
  npm install --no-audit --no-fund --loglevel=error >&2
fi
node build.mjs >&2
echo "$here/out/__NAME__.wasm"
