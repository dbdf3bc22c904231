#!/usr/bin/env bash
# Builds out/__NAME__.wasm (a Portcullis ABI v2 component) from app.py with componentize-py
# (from PyPI: `pip install componentize-py`; Portcullis's scripts/policies-toolchain puts one in
# ~/.cache/portcullis/policy-venv). Override with COMPONENTIZE_PY=/path/to/componentize-py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tool="${COMPONENTIZE_PY:-}"
if [ -z "$tool" ]; then
  if [ -x "$HOME/.cache/portcullis/policy-venv/bin/componentize-py" ]; then
    tool="$HOME/.cache/portcullis/policy-venv/bin/componentize-py"
  elif command -v componentize-py >/dev/null 2>&1; then
    tool=componentize-py
  else
    echo "componentize-py not found: pip install componentize-py (or set COMPONENTIZE_PY)" >&2
    exit 1
  fi
fi
mkdir -p "$here/out"
cd "$here/out"
"$tool" -d "$here/wit" -w access-request-policy componentize -p "$here" app \
  -o "$here/out/__NAME__.wasm" >&2
echo "$here/out/__NAME__.wasm"
