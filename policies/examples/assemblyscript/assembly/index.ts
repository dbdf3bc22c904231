// approve-dba: the example access-request policy of Portcullis (ABI v1), in AssemblyScript.
//
// Built with `--runtime stub` and without any managed allocation: AssemblyScript strings are
// UTF-16, so the UTF-8 output is written byte by byte into a bump-allocated buffer, and the
// input is never parsed here: every value is read with the `input_get` host import. The
// decision is specified in policies/conformance/README.md and checked by
// policies/conformance/run.mjs. AssemblyScript cannot emit custom sections: build.sh appends
// `portcullis.metadata` with policies/tools/pack.py.

// ---- host imports (ABI §5); the metadata asks for capabilities `time` and `input` ----

@external("portcullis", "now_ms")
declare function now_ms(): i64;

@external("portcullis", "input_get")
declare function input_get(pathPtr: usize, pathLen: i32, outPtr: usize, outCap: i32): i32;

// ---- bump allocator over the memory after the static data ----

const PAGE: usize = 65536;
let heapTop: usize = 0;

function bump(len: usize): usize {
  if (heapTop == 0) heapTop = __heap_base;
  const start = (heapTop + 7) & ~(<usize>7);
  if (len > <usize>0x7fffffff - start) return 0;
  const end = start + len;
  const have = <usize>memory.size() * PAGE;
  if (end > have) {
    const pages = <i32>((end - have + PAGE - 1) / PAGE);
    if (memory.grow(pages) < 0) return 0;
  }
  heapTop = end;
  return start;
}

/** ABI §1: a pointer to `len` writable bytes, or 0 when out of memory. */
export function portcullis_alloc(len: i32): usize {
  if (len < 0) return 0;
  return bump(len == 0 ? 1 : <usize>len);
}

/** ABI §1: the version marker; never called. */
export function portcullis_abi_v1(): void {}

// ---- byte buffers ----

let outPtr: usize = 0;
let outLen: usize = 0;

function startOut(cap: usize): bool {
  outPtr = bump(cap);
  outLen = 0;
  return outPtr != 0;
}

/** Appends an ASCII string literal as UTF-8 (one byte per code unit). */
function put(s: string): void {
  for (let i = 0; i < s.length; i++) {
    store<u8>(outPtr + outLen, <u8>s.charCodeAt(i));
    outLen++;
  }
}

function putByte(b: u8): void {
  store<u8>(outPtr + outLen, b);
  outLen++;
}

/** Appends the UTF-8 bytes at `p` as the inside of a JSON string: escapes `"`, `\` and
 * control characters. */
function putEscaped(p: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x22 || c == 0x5c) {
      putByte(0x5c);
      putByte(c);
    } else if (c == 0x0a) {
      put("\\n");
    } else if (c == 0x0d) {
      put("\\r");
    } else if (c == 0x09) {
      put("\\t");
    } else if (c < 0x20 || c == 0x7f) {
      put("\\u00");
      putByte(hexDigit(c >> 4));
      putByte(hexDigit(c & 15));
    } else {
      putByte(c);
    }
  }
}

function hexDigit(v: u8): u8 {
  return v < 10 ? 0x30 + v : 0x61 + v - 10;
}

function packed(): i64 {
  return (<i64>outPtr << 32) | <i64>outLen;
}

/** A constant answer (ASCII). */
function answer(json: string): i64 {
  if (!startOut(<usize>json.length)) return outOfMemory();
  put(json);
  return packed();
}

/** `{"error":"out of memory"}` as static UTF-8 bytes: answering it needs no allocation. */
const OOM: usize = memory.data<u8>([0x7b,0x22,0x65,0x72,0x72,0x6f,0x72,0x22,0x3a,0x22,0x6f,0x75,0x74,0x20,0x6f,0x66,0x20,0x6d,0x65,0x6d,0x6f,0x72,0x79,0x22,0x7d]);
const OOM_LEN: i64 = 25;

/** Fail closed: an error is never taken as an answer (ABI §3). */
function outOfMemory(): i64 {
  return (<i64>OOM << 32) | OOM_LEN;
}

// ---- input ----

let valPtr: usize = 0;

/** Reads the value at the JSON Pointer in the output buffer (ASCII) through `input_get`;
 * leaves the bytes at `valPtr` and returns their length, -1 when absent, or -2 when out of
 * memory (never mistaken for an absent value). */
function inputAtOut(): i32 {
  let cap: i32 = 64;
  valPtr = bump(<usize>cap);
  if (valPtr == 0) return -2;
  let n = input_get(outPtr, <i32>outLen, valPtr, cap);
  if (n > cap) {
    cap = n;
    valPtr = bump(<usize>cap);
    if (valPtr == 0) return -2;
    n = input_get(outPtr, <i32>outLen, valPtr, cap);
  }
  return n < 0 ? -1 : n;
}

function valueIsDba(n: i32): bool {
  return n == 3 && load<u8>(valPtr) == 0x64 && load<u8>(valPtr + 1) == 0x62 && load<u8>(valPtr + 2) == 0x61;
}

function putUint(v: u32): void {
  let div: u32 = 1;
  while (v / div >= 10) div *= 10;
  while (div > 0) {
    putByte(<u8>(0x30 + (v / div) % 10));
    div /= 10;
  }
}

function workingHours(ms: i64): bool {
  const days = ms / 86400000;
  const weekday = (days + 4) % 7; // 0 = Sunday
  const hour = (ms / 3600000) % 24;
  return weekday >= 1 && weekday <= 5 && hour >= 8 && hour < 18;
}

/** ABI §4.3: decides an access request. The input bytes are not needed: every value is read
 * with `input_get`. */
export function portcullis_access_request(ptr: i32, len: i32): i64 {
  let roles: u32 = 0;
  for (;; roles++) {
    if (!startOut(32)) return outOfMemory();
    put("/request/roles/");
    putUint(roles);
    const n = inputAtOut();
    if (n == -2) return outOfMemory();
    if (n < 0) break;
    if (!valueIsDba(n)) return answer('{"verdict":"deny","reason":"only dba may be requested under this policy"}');
  }
  if (roles == 0) return answer('{"verdict":"deny","reason":"no roles requested"}');

  if (!startOut(32)) return outOfMemory();
  put("/request/annotations/ticket/0");
  const ticketLen = inputAtOut();
  const ticket = valPtr;
  if (ticketLen == -2) return outOfMemory();
  if (ticketLen <= 0) return answer('{"verdict":"pending","reason":"no ticket annotation: a human must review"}');

  if (!workingHours(now_ms())) {
    return answer('{"verdict":"pending","reason":"outside working hours: a human must review"}');
  }

  const head = '{"verdict":"approve","reason":"ticket ';
  const tail = ' during working hours","annotations":{"approved-by":["approve-dba"]}}';
  // Worst case: every ticket byte becomes a 6-byte \u00XX escape.
  if (!startOut(<usize>(head.length + tail.length) + 6 * <usize>ticketLen)) return outOfMemory();
  put(head);
  putEscaped(ticket, ticketLen);
  put(tail);
  return packed();
}
