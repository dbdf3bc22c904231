#!/usr/bin/env node
// Conformance runner for the `approve-dba` example policy (Portcullis policy ABI v1).
//
//   node policies/conformance/run.mjs [--cases FILE] [--verbose] MODULE.wasm [MODULE.wasm ...]
//
// For each module: checks the structure ABI v1 requires (guest-sdk/ABI.md §1, §2, §5), then
// runs every case of cases.json on a fresh instance following the §3 calling convention and
// compares the output with the expected one (see README.md). Exits 1 on any failure.
// Node.js >= 18, standard library only.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OUTPUT_LIMIT = 64 * 1024;
const EXPECTED_METADATA = {
  abi: 1,
  name: "approve-dba",
  version: "1.0.0",
  hooks: ["access_request"],
  functions: [],
  capabilities: ["time", "input"],
};
const HOOKS = ["where", "action", "access_request", "function"];
const I32 = 0x7f, I64 = 0x7e;
const IMPORTS = {
  // name: [params, results, capability test]
  log: [[I32, I32, I32], [], (caps) => caps.includes("log")],
  now_ms: [[], [I64], (caps) => caps.includes("time")],
  input_get: [[I32, I32, I32, I32], [I32], (caps) => caps.includes("input")],
  input_get_json: [[I32, I32, I32, I32], [I32], (caps) => caps.includes("input")],
  lookup: [[I32, I32, I32, I32, I32, I32], [I32], (caps) => caps.some((c) => c.startsWith("lookup:"))],
  call: [[I32, I32, I32, I32, I32, I32], [I32], (caps) => caps.includes("call")],
};

// ---------------------------------------------------------------- minimal Wasm reader

function parseModule(bytes) {
  let pos = 0;
  const u8 = () => bytes[pos++];
  const uleb = () => {
    let result = 0n, shift = 0n, b;
    do {
      b = bytes[pos++];
      if (b === undefined) throw new Error("truncated LEB128");
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return Number(result);
  };
  const name = () => {
    const n = uleb();
    const s = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const limits = () => {
    const flags = uleb();
    const min = uleb();
    if (flags & 1) uleb();
    return min;
  };
  const m = { types: [], funcTypes: [], imports: [], exports: [], memories: 0, importedMemories: 0, start: false };
  pos = 8;
  while (pos < bytes.length) {
    const id = u8();
    const size = uleb();
    const end = pos + size;
    if (id === 1) {
      for (let n = uleb(); n > 0; n--) {
        if (u8() !== 0x60) throw new Error("unexpected type form");
        const params = [], results = [];
        for (let k = uleb(); k > 0; k--) params.push(u8());
        for (let k = uleb(); k > 0; k--) results.push(u8());
        m.types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = uleb(); n > 0; n--) {
        const module = name(), field = name(), kind = u8();
        const imp = { module, field, kind };
        if (kind === 0) {
          imp.type = m.types[uleb()];
          m.funcTypes.push(imp.type);
        } else if (kind === 1) {
          u8();
          limits();
        } else if (kind === 2) {
          limits();
          m.importedMemories++;
        } else if (kind === 3) {
          u8();
          u8();
        } else throw new Error(`unknown import kind ${kind}`);
        m.imports.push(imp);
      }
    } else if (id === 3) {
      for (let n = uleb(); n > 0; n--) m.funcTypes.push(m.types[uleb()]);
    } else if (id === 5) {
      for (let n = uleb(); n > 0; n--) {
        m.memories++;
        m.memoryPages = limits();
      }
    } else if (id === 7) {
      for (let n = uleb(); n > 0; n--) {
        const field = name(), kind = u8(), index = uleb();
        m.exports.push({ field, kind, type: kind === 0 ? m.funcTypes[index] : undefined });
      }
    } else if (id === 8) {
      m.start = true;
    }
    pos = end;
  }
  return m;
}

const sig = (t) => t && `(${t.params.map(vt).join(", ")}) -> (${t.results.map(vt).join(", ")})`;
const vt = (b) => ({ 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" })[b] ?? `0x${b.toString(16)}`;
const sameSig = (t, params, results) =>
  t && t.params.length === params.length && t.params.every((p, i) => p === params[i]) &&
  t.results.length === results.length && t.results.every((r, i) => r === results[i]);

// ---------------------------------------------------------------- structure checks (§1, §2, §5)

function checkMetadata(meta) {
  const errs = [];
  const allowed = ["abi", "name", "version", "hooks", "functions", "capabilities", "input_mode"];
  for (const k of Object.keys(meta)) if (!allowed.includes(k)) errs.push(`unknown metadata field \`${k}\``);
  if (meta.abi !== 1) errs.push("`abi` must be 1");
  if (typeof meta.name !== "string" || !/^[a-z0-9_-]{1,64}$/.test(meta.name)) errs.push("bad `name`");
  if (typeof meta.version !== "string") errs.push("bad `version`");
  const strArr = (v) => Array.isArray(v) && v.every((s) => typeof s === "string");
  if (!strArr(meta.hooks) || meta.hooks.length === 0 || !meta.hooks.every((h) => HOOKS.includes(h)))
    errs.push("bad `hooks`");
  if (!strArr(meta.functions) || !meta.functions.every((f) => /^[a-z_][a-z0-9_]*$/.test(f)) ||
      (meta.functions.length > 0) !== (strArr(meta.hooks) && meta.hooks.includes("function")))
    errs.push("bad `functions`");
  if (!strArr(meta.capabilities) ||
      !meta.capabilities.every((c) => ["log", "time", "input", "call"].includes(c) || /^lookup:.+$/.test(c)))
    errs.push("bad `capabilities`");
  // This suite is for approve-dba: the declaration must be exactly the documented one.
  const norm = (m) => JSON.stringify({ ...m, capabilities: [...(m.capabilities ?? [])].sort() });
  if (norm(meta) !== norm(EXPECTED_METADATA))
    errs.push(`metadata is ${JSON.stringify(meta)}, expected ${JSON.stringify(EXPECTED_METADATA)}`);
  return errs;
}

function checkStructure(wasmModule, bytes) {
  const errs = [];
  let meta;
  const sections = WebAssembly.Module.customSections(wasmModule, "portcullis.metadata");
  if (sections.length !== 1) {
    errs.push(`expected exactly one \`portcullis.metadata\` custom section, found ${sections.length}`);
  } else {
    try {
      meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(sections[0]));
      if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw new Error("not an object");
      errs.push(...checkMetadata(meta));
    } catch (e) {
      errs.push(`metadata is not valid UTF-8 JSON object: ${e.message}`);
      meta = undefined;
    }
  }
  const m = parseModule(bytes);
  const byName = Object.fromEntries(m.exports.map((e) => [e.field, e]));
  if (byName.memory?.kind !== 2) errs.push("`memory` is not exported as a memory");
  if (m.memories + m.importedMemories !== 1 || m.importedMemories !== 0)
    errs.push(`expected one defined memory, found ${m.memories} defined and ${m.importedMemories} imported`);
  const wantFn = (n, params, results, required = true) => {
    const e = byName[n];
    if (!e) {
      if (required) errs.push(`\`${n}\` is not exported`);
    } else if (e.kind !== 0 || !sameSig(e.type, params, results)) {
      errs.push(`\`${n}\` has type ${sig(e.type) ?? "non-function"}, expected ${sig({ params, results })}`);
    }
  };
  wantFn("portcullis_abi_v1", [], []);
  wantFn("portcullis_alloc", [I32], [I32]);
  wantFn("portcullis_free", [I32, I32], [], false);
  const hooks = meta?.hooks ?? ["access_request"];
  for (const h of hooks) if (h !== "function") wantFn(`portcullis_${h}`, [I32, I32], [I64]);
  for (const f of meta?.functions ?? []) wantFn(`portcullis_fn_${f}`, [I32, I32], [I64]);
  const known = new Set(["portcullis_abi_v1", "portcullis_alloc", "portcullis_free",
    ...hooks.filter((h) => h !== "function").map((h) => `portcullis_${h}`),
    ...(meta?.functions ?? []).map((f) => `portcullis_fn_${f}`)]);
  for (const e of m.exports)
    if (e.field.startsWith("portcullis_") && !known.has(e.field))
      errs.push(`export \`${e.field}\` is not a known hook`);
  const caps = meta?.capabilities ?? [];
  for (const imp of m.imports) {
    const spec = IMPORTS[imp.field];
    if (imp.module !== "portcullis" || imp.kind !== 0 || !spec) {
      errs.push(`import \`${imp.module}.${imp.field}\` is not an ABI v1 host function`);
    } else if (!sameSig(imp.type, spec[0], spec[1])) {
      errs.push(`import \`${imp.field}\` has type ${sig(imp.type)}, expected ${sig({ params: spec[0], results: spec[1] })}`);
    } else if (!spec[2](caps)) {
      errs.push(`import \`${imp.field}\` is not covered by the declared capabilities`);
    }
  }
  return { errs, info: m };
}

// Validates the module allowing only the Wasm features ABI v1 lists (MVP + mutable-globals,
// sign-ext, bulk-memory, multi-value) with Binaryen's wasm-opt, when the AssemblyScript
// example's node_modules provides it; returns an error string, null, or "skipped".
function checkFeatures(path) {
  const wasmOpt = join(dirname(fileURLToPath(import.meta.url)),
    "../examples/assemblyscript/node_modules/binaryen/bin/wasm-opt");
  if (!existsSync(wasmOpt)) return "skipped";
  const r = spawnSync(process.execPath, [wasmOpt, "--mvp-features", "--enable-mutable-globals",
    "--enable-sign-ext", "--enable-bulk-memory", "--enable-multivalue", "-q", path, "-o", "/dev/null"],
  { encoding: "utf-8" });
  if (r.status === 0) return null;
  return `not valid with only the ABI v1 features: ${(r.stderr || r.stdout || "").trim().split("\n").slice(0, 3).join(" | ")}`;
}

// ---------------------------------------------------------------- host imports (§5)

function resolvePointer(doc, pointer) {
  if (pointer === "") return { found: true, value: doc };
  if (!pointer.startsWith("/")) return { found: false };
  let cur = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const token = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= cur.length) return { found: false };
      cur = cur[Number(token)];
    } else if (cur !== null && typeof cur === "object") {
      if (!Object.prototype.hasOwnProperty.call(cur, token)) return { found: false };
      cur = cur[token];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: cur };
}

function makeHost(testCase, verbose, state) {
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8", { fatal: true });
  const mem = () => new Uint8Array(state.memory.buffer);
  const read = (ptr, len) => {
    ptr >>>= 0;
    len >>>= 0;
    if (ptr + len > state.memory.buffer.byteLength) throw new Error("host import read out of bounds");
    return dec.decode(mem().subarray(ptr, ptr + len));
  };
  const writeOut = (bytes, outPtr, outCap) => {
    outPtr >>>= 0;
    const n = Math.min(bytes.length, Math.max(outCap, 0));
    if (outPtr + n > state.memory.buffer.byteLength) throw new Error("host import write out of bounds");
    mem().set(bytes.subarray(0, n), outPtr);
    return bytes.length;
  };
  return {
    portcullis: {
      log(level, ptr, len) {
        const msg = read(ptr, Math.min(len >>> 0, 4096));
        if (verbose) console.log(`    log[${level}] ${msg}`);
      },
      now_ms() {
        return BigInt(testCase.now_ms);
      },
      input_get(pathPtr, pathLen, outPtr, outCap) {
        state.inputGets.push(read(pathPtr, pathLen));
        const r = resolvePointer(testCase.input, state.inputGets.at(-1));
        if (!r.found) return -1;
        const text = typeof r.value === "string" ? r.value : JSON.stringify(r.value);
        return writeOut(enc.encode(text), outPtr, outCap);
      },
      input_get_json(pathPtr, pathLen, outPtr, outCap) {
        state.inputGets.push(read(pathPtr, pathLen));
        const r = resolvePointer(testCase.input, state.inputGets.at(-1));
        return r.found ? writeOut(enc.encode(JSON.stringify(r.value)), outPtr, outCap) : -1;
      },
      lookup() {
        return -1;
      },
      call() {
        return -1;
      },
    },
  };
}

// ---------------------------------------------------------------- one case (§3)

function outputMatches(out, expected) {
  if (out === null || typeof out !== "object" || Array.isArray(out)) return "output is not a JSON object";
  if (!["approve", "deny", "pending"].includes(out.verdict)) return `bad verdict ${JSON.stringify(out.verdict)}`;
  for (const k of Object.keys(out)) {
    if (k === "suggested_reviewers" && Array.isArray(out[k]) && out[k].length === 0) continue;
    if (!["verdict", "reason", "annotations"].includes(k)) return `unexpected field \`${k}\``;
  }
  if (out.verdict !== expected.verdict) return `verdict ${out.verdict}, expected ${expected.verdict}`;
  if (out.reason !== expected.reason)
    return `reason ${JSON.stringify(out.reason)}, expected ${JSON.stringify(expected.reason)}`;
  const norm = (a) => JSON.stringify(Object.entries(a ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  if (out.annotations !== undefined &&
      (typeof out.annotations !== "object" || out.annotations === null || Array.isArray(out.annotations)))
    return "annotations is not an object";
  if (norm(out.annotations) !== norm(expected.annotations))
    return `annotations ${JSON.stringify(out.annotations)}, expected ${JSON.stringify(expected.annotations ?? {})}`;
  return null;
}

async function runCase(wasmModule, testCase, verbose) {
  const state = { memory: null, inputGets: [] };
  const instance = await WebAssembly.instantiate(wasmModule, makeHost(testCase, verbose, state));
  const ex = instance.exports;
  state.memory = ex.memory;
  const input = new TextEncoder().encode(JSON.stringify(testCase.input));
  const ptr = ex.portcullis_alloc(input.length) >>> 0;
  if (ptr === 0) return { err: "portcullis_alloc returned 0" };
  if (ptr + input.length > ex.memory.buffer.byteLength)
    return { err: `portcullis_alloc(${input.length}) returned ${ptr}, past the end of memory` };
  new Uint8Array(ex.memory.buffer).set(input, ptr);
  const r = BigInt.asUintN(64, ex.portcullis_access_request(ptr, input.length));
  const outPtr = Number(r >> 32n), outLen = Number(r & 0xffffffffn);
  if (outLen > OUTPUT_LIMIT) return { err: `output is ${outLen} bytes, over the 64 KiB limit` };
  if (outPtr + outLen > ex.memory.buffer.byteLength)
    return { err: `output [${outPtr}, +${outLen}) lies outside memory (${ex.memory.buffer.byteLength} bytes)` };
  let text, out;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(ex.memory.buffer, outPtr, outLen));
    out = JSON.parse(text);
  } catch (e) {
    return { err: `malformed output: ${e.message}`, text };
  }
  return { err: outputMatches(out, testCase.expected), text, inputGets: state.inputGets };
}

// ---------------------------------------------------------------- main

async function main() {
  const args = process.argv.slice(2);
  let casesPath = join(dirname(fileURLToPath(import.meta.url)), "cases.json");
  let verbose = false;
  const modules = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--cases") casesPath = args[++i];
    else if (args[i] === "--verbose" || args[i] === "-v") verbose = true;
    else if (args[i] === "-h" || args[i] === "--help") {
      console.log("usage: node run.mjs [--cases FILE] [--verbose] MODULE.wasm [MODULE.wasm ...]");
      return 0;
    } else modules.push(args[i]);
  }
  if (modules.length === 0) {
    console.error("usage: node run.mjs [--cases FILE] [--verbose] MODULE.wasm [MODULE.wasm ...]");
    return 2;
  }
  const cases = JSON.parse(readFileSync(casesPath, "utf-8"));
  let failedModules = 0;
  for (const path of modules) {
    let bytes, wasmModule;
    try {
      bytes = new Uint8Array(readFileSync(path));
      wasmModule = await WebAssembly.compile(bytes);
    } catch (e) {
      console.log(`FAIL ${path}: ${e.message}`);
      failedModules++;
      continue;
    }
    const { errs, info } = checkStructure(wasmModule, bytes);
    const features = checkFeatures(path);
    if (features && features !== "skipped") errs.push(features);
    const imports = info.imports.map((i) => `${i.module}.${i.field}`).join(", ") || "none";
    console.log(`${path} (${bytes.length} bytes, initial memory ${info.memoryPages ?? "?"} pages; imports: ${imports}` +
      `${features === "skipped" ? "; feature check skipped: no Binaryen" : ""})`);
    for (const e of errs) console.log(`  FAIL structure: ${e}`);
    let passed = 0;
    for (const c of cases) {
      let res;
      try {
        res = await runCase(wasmModule, c, verbose);
      } catch (e) {
        res = { err: `trap or host error: ${e.message}` };
      }
      if (res.err) {
        console.log(`  FAIL ${c.name}: ${res.err}`);
        if (res.text !== undefined) console.log(`       output: ${res.text}`);
      } else {
        passed++;
        if (verbose) console.log(`  ok   ${c.name}\n       ${res.text}`);
      }
    }
    const ok = errs.length === 0 && passed === cases.length;
    console.log(`  ${ok ? "PASS" : "FAIL"}: ${passed}/${cases.length} cases, ${errs.length} structure errors`);
    if (!ok) failedModules++;
  }
  return failedModules === 0 ? 0 : 1;
}

process.exitCode = await main();
