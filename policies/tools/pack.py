#!/usr/bin/env python3
"""Append (or replace) the `portcullis.metadata` custom section of a Wasm policy module.

Usage:
    pack.py IN.wasm --metadata meta.json --out OUT.wasm   # OUT may equal IN
    pack.py IN.wasm --metadata-json '{"abi":1,...}' --out OUT.wasm
    pack.py IN.wasm --show                                 # print sections, imports, exports

Every existing `portcullis.metadata` section is removed and one new section is appended at
the end (section id 0, LEB128 size, LEB128 name length, name, payload = the JSON bytes,
re-serialized compactly after checking it parses). Standard library only; ABI v1 (see
guest-sdk/ABI.md §2). `pctl policy pack` does the same from the Rust side.
"""

import argparse
import json
import sys

MAGIC = b"\0asm\x01\0\0\0"
NAME = "portcullis.metadata"
SECTION_NAMES = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
    6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
    12: "datacount",
}


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uleb(buf: bytes, pos: int):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated LEB128")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def read_name(buf: bytes, pos: int):
    n, pos = read_uleb(buf, pos)
    return buf[pos:pos + n].decode("utf-8"), pos + n


def sections(wasm: bytes):
    """Yields (id, start, end, payload_start) for each section."""
    if wasm[:8] != MAGIC:
        raise ValueError("not a Wasm module (bad magic or version)")
    pos = 8
    while pos < len(wasm):
        start = pos
        sid = wasm[pos]
        size, payload = read_uleb(wasm, pos + 1)
        end = payload + size
        if end > len(wasm):
            raise ValueError(f"section {sid} at {start} runs past the end")
        yield sid, start, end, payload
        pos = end


def custom_name(wasm: bytes, payload: int):
    name, _ = read_name(wasm, payload)
    return name


def custom_section(name: str, data: bytes) -> bytes:
    body = uleb(len(name.encode())) + name.encode() + data
    return b"\x00" + uleb(len(body)) + body


def pack(wasm: bytes, metadata: bytes) -> bytes:
    kept = bytearray(MAGIC)
    for sid, start, end, payload in sections(wasm):
        if sid == 0 and custom_name(wasm, payload) == NAME:
            continue
        kept += wasm[start:end]
    return bytes(kept) + custom_section(NAME, metadata)


def show(wasm: bytes) -> None:
    kinds = {0: "func", 1: "table", 2: "memory", 3: "global"}
    for sid, start, end, payload in sections(wasm):
        label = SECTION_NAMES.get(sid, str(sid))
        if sid == 0:
            name, data = read_name(wasm, payload)
            print(f"custom {name!r} ({end - data} bytes)")
            if name == NAME:
                print(f"  {wasm[data:end].decode('utf-8')}")
        else:
            print(f"{label} ({end - payload} bytes)")
        if sid == 2:
            count, pos = read_uleb(wasm, payload)
            for _ in range(count):
                mod, pos = read_name(wasm, pos)
                field, pos = read_name(wasm, pos)
                kind = wasm[pos]
                pos += 1
                if kind == 0:
                    _, pos = read_uleb(wasm, pos)
                elif kind == 1:
                    pos += 1
                    flags, pos = read_uleb(wasm, pos)
                    _, pos = read_uleb(wasm, pos)
                    if flags & 1:
                        _, pos = read_uleb(wasm, pos)
                elif kind == 2:
                    flags, pos = read_uleb(wasm, pos)
                    _, pos = read_uleb(wasm, pos)
                    if flags & 1:
                        _, pos = read_uleb(wasm, pos)
                elif kind == 3:
                    pos += 2
                print(f"  import {kinds.get(kind, kind)} {mod}.{field}")
        if sid == 7:
            count, pos = read_uleb(wasm, payload)
            for _ in range(count):
                field, pos = read_name(wasm, pos)
                kind = wasm[pos]
                _, pos = read_uleb(wasm, pos + 1)
                print(f"  export {kinds.get(kind, kind)} {field}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="the .wasm module")
    ap.add_argument("--metadata", help="file holding the metadata JSON")
    ap.add_argument("--metadata-json", help="the metadata JSON itself")
    ap.add_argument("--out", help="where to write the packed module (may be the input)")
    ap.add_argument("--show", action="store_true", help="list sections, imports and exports")
    args = ap.parse_args()

    with open(args.input, "rb") as f:
        wasm = f.read()
    try:
        if args.show:
            show(wasm)
            return 0
        if (args.metadata is None) == (args.metadata_json is None) or not args.out:
            ap.error("give --out and exactly one of --metadata / --metadata-json (or --show)")
        if args.metadata is not None:
            with open(args.metadata, "rb") as f:
                text = f.read().decode("utf-8")
        else:
            text = args.metadata_json
        meta = json.loads(text)
        if not isinstance(meta, dict):
            raise ValueError("metadata must be a JSON object")
        data = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        packed = pack(wasm, data)
    except (ValueError, UnicodeDecodeError) as e:
        print(f"pack.py: {args.input}: {e}", file=sys.stderr)
        return 1
    with open(args.out, "wb") as f:
        f.write(packed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
