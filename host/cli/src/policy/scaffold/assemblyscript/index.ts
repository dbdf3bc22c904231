// __NAME__: a Portcullis access-request policy in AssemblyScript (ABI v1 core module).
// Approves a request that carries a `ticket` annotation; leaves any other to a human.
// Build with ./build.sh, test with `pctl policy test out/__NAME__.wasm --cases policy.test.yaml`.
// AssemblyScript cannot emit custom sections: build.sh appends metadata.json with
// `pctl policy pack`. The input is never parsed: `input_get` reads one value by JSON Pointer.

// ABI §5: needs the `input` capability.
@external("portcullis", "input_get")
declare function input_get(pathPtr: usize, pathLen: i32, outPtr: usize, outCap: i32): i32;

/** ABI §1: `len` writable bytes (the stub runtime never frees: each evaluation is a fresh instance). */
export function portcullis_alloc(len: i32): usize {
  return changetype<usize>(new ArrayBuffer(len > 0 ? len : 1));
}

/** ABI §1: the version marker; never called. */
export function portcullis_abi_v1(): void {}

function answer(json: string): i64 {
  const bytes = String.UTF8.encode(json);
  return (<i64>changetype<usize>(bytes) << 32) | <i64>bytes.byteLength;
}

/** ABI §4.3 (the copied input at `ptr`/`len` is not read: `input_get` is used instead). */
export function portcullis_access_request(ptr: i32, len: i32): i64 {
  const path = String.UTF8.encode("/request/annotations/ticket/0");
  const ticket = new ArrayBuffer(1);
  const n = input_get(changetype<usize>(path), path.byteLength, changetype<usize>(ticket), 1);
  if (n > 0) return answer('{"verdict":"approve","reason":"the request carries a ticket"}');
  return answer('{"verdict":"pending","reason":"no ticket: a human must review"}');
}
