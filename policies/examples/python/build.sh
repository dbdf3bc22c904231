#!/usr/bin/env bash
# Builds approve_dba.wasm (Portcullis policy ABI v2, a component) from app.py, and beside it
# business_hours.wasm (an extra function for `where` clauses) from business_hours.py.
# Usage: build.sh [OUT_DIR]   (default: policies/examples/python/out). Callable from any
# directory. Prints the path of the component on standard output.
#
# componentize-py comes from PyPI, pinned in scripts/policies-toolchain, which installs it
# into $HOME/.cache/portcullis/policy-venv. Override with COMPONENTIZE_PY=/path/to/it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/out}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
out="$out_dir/approve_dba.wasm"
tool="${COMPONENTIZE_PY:-$HOME/.cache/portcullis/policy-venv/bin/componentize-py}"
if [ ! -x "$tool" ]; then
  echo "componentize-py not found: run scripts/policies-toolchain (or set COMPONENTIZE_PY)" >&2
  exit 1
fi
cd "$out_dir"
wit="$here/../../../guest-sdk/wit"
"$tool" -d "$wit" -w access-request-policy componentize -p "$here" app -o "$out" >&2
"$tool" -d "$wit" -w function-policy componentize -p "$here" business_hours \
  -o "$out_dir/business_hours.wasm" >&2
echo "$out"
