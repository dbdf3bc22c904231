#!/usr/bin/env node
// A tiny Portcullis policy host in Node.js (no dependencies): loads a module, checks it
// against ABI v1 (guest-sdk/ABI.md) and calls its hooks with the §3 calling convention and
// the §5 host imports. For testing guest modules without the real engine.
//
//   node policies/tools/run.mjs describe MODULE.wasm
//   node policies/tools/run.mjs call MODULE.wasm HOOK INPUT_JSON [--now MS]
//        [--call NAME=RESULT_JSON]... [--lookup KIND/NAME=JSON]... [--verbose]
//
// HOOK is `where`, `action`, `access_request` or `fn_NAME`. `call` prints the output JSON
// and the messages the module logged. Also importable: `load`, `check`, `callHook`.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const OUTPUT_LIMIT = 64 * 1024;
const HOOKS = ["where", "action", "access_request", "function"];
const CAPABILITY_OF = { log: "log", now_ms: "time", input_get: "input", input_get_json: "input", call: "call" };

/** Compiles a module and reads its metadata section. */
export function load(path) {
  const bytes = readFileSync(path);
  const module = new WebAssembly.Module(bytes);
  const sections = WebAssembly.Module.customSections(module, "portcullis.metadata");
  let metadata = null;
  if (sections.length === 1) {
    metadata = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(sections[0]));
  }
  return { path, size: bytes.length, module, sections: sections.length, metadata };
}

/** ABI §1–§2 checks that Node can do (export/import signatures are not visible here). */
export function check(loaded) {
  const problems = [];
  const { module, metadata } = loaded;
  if (loaded.sections !== 1) problems.push(`expected one portcullis.metadata section, found ${loaded.sections}`);
  if (metadata) {
    const allowed = ["abi", "name", "version", "hooks", "functions", "capabilities", "input_mode"];
    for (const key of Object.keys(metadata)) if (!allowed.includes(key)) problems.push(`unknown metadata field ${key}`);
    if (metadata.abi !== 1) problems.push("metadata.abi must be 1");
    if (!/^[a-z0-9_-]{1,64}$/.test(metadata.name ?? "")) problems.push("bad metadata.name");
    if (typeof metadata.version !== "string") problems.push("metadata.version must be a string");
    const hooks = metadata.hooks ?? [];
    if (!Array.isArray(hooks) || hooks.length === 0 || hooks.some((h) => !HOOKS.includes(h))) problems.push("bad metadata.hooks");
    const functions = metadata.functions ?? [];
    if (!Array.isArray(functions) || functions.some((f) => !/^[a-z_][a-z0-9_]*$/.test(f))) problems.push("bad metadata.functions");
    if ((functions.length > 0) !== hooks.includes("function")) problems.push("functions must be non-empty exactly when hooks has function");
    const capabilities = metadata.capabilities ?? [];
    if (!Array.isArray(capabilities) || capabilities.some((c) => !/^(log|time|input|call|lookup:[a-z_]+)$/.test(c))) problems.push("bad metadata.capabilities");
    const mode = metadata.input_mode ?? "copy";
    if (mode !== "copy" && mode !== "pull") problems.push("bad metadata.input_mode");
    if (mode === "pull" && !capabilities.includes("input")) problems.push("input_mode pull needs the input capability");
  }
  const exports = WebAssembly.Module.exports(module);
  const kind = Object.fromEntries(exports.map((e) => [e.name, e.kind]));
  if (kind.memory !== "memory") problems.push("no exported memory");
  if (kind.portcullis_abi_v1 !== "function") problems.push("no portcullis_abi_v1 marker");
  if (kind.portcullis_alloc !== "function") problems.push("no portcullis_alloc export");
  if (exports.filter((e) => e.kind === "memory").length !== 1) problems.push("more than one memory");
  const expected = new Set(["portcullis_abi_v1", "portcullis_alloc", "portcullis_free"]);
  for (const hook of metadata?.hooks ?? []) if (hook !== "function") expected.add(`portcullis_${hook}`);
  for (const f of metadata?.functions ?? []) expected.add(`portcullis_fn_${f}`);
  for (const name of expected) {
    if (name !== "portcullis_free" && kind[name] !== "function") problems.push(`missing export ${name}`);
  }
  for (const e of exports) {
    if (e.name.startsWith("portcullis_") && !expected.has(e.name)) problems.push(`unexpected export ${e.name}`);
  }
  const capabilities = metadata?.capabilities ?? [];
  for (const i of WebAssembly.Module.imports(module)) {
    if (i.module !== "portcullis") {
      problems.push(`import from module ${i.module}: ${i.name}`);
      continue;
    }
    const capability = CAPABILITY_OF[i.name];
    const covered = i.name === "lookup" ? capabilities.some((c) => c.startsWith("lookup:")) : capabilities.includes(capability);
    if (!covered) problems.push(`import ${i.name} not covered by the capabilities`);
  }
  return problems;
}

/** RFC 6901 JSON Pointer; `undefined` when there is no value. */
export function pointer(value, path) {
  if (path === "") return value;
  if (!path.startsWith("/")) return undefined;
  for (const raw of path.slice(1).split("/")) {
    const token = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= value.length) return undefined;
      value = value[Number(token)];
    } else if (value !== null && typeof value === "object" && Object.hasOwn(value, token)) {
      value = value[token];
    } else {
      return undefined;
    }
  }
  return value;
}

/**
 * Calls `hook` of a fresh instance with `input` (an object). Options: `now` (ms), `functions`
 * (name -> (args) => result, for the `call` import), `resources` ("kind/name" -> object).
 * Returns `{ output, logs, raw }`; throws on a trap or a malformed output.
 */
export function callHook(loaded, hook, input, options = {}) {
  const logs = [];
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let memory = null;
  const bytes = () => new Uint8Array(memory.buffer);
  const read = (ptr, len) => decoder.decode(bytes().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0)));
  // The §5 length protocol: write at most `cap` bytes, return the full length.
  const answer = (text, outPtr, outCap) => {
    const data = encoder.encode(text);
    bytes().set(data.subarray(0, Math.min(data.length, outCap >>> 0)), outPtr >>> 0);
    return data.length;
  };
  const imports = {
    portcullis: {
      log: (level, ptr, len) => {
        logs.push({ level, message: read(ptr, len) });
        if (options.verbose) console.error(`[guest log ${level}] ${read(ptr, len)}`);
      },
      now_ms: () => BigInt(options.now ?? Date.now()),
      input_get: (pathPtr, pathLen, outPtr, outCap) => {
        const value = pointer(input, read(pathPtr, pathLen));
        if (value === undefined) return -1;
        return answer(typeof value === "string" ? value : JSON.stringify(value), outPtr, outCap);
      },
      input_get_json: (pathPtr, pathLen, outPtr, outCap) => {
        const value = pointer(input, read(pathPtr, pathLen));
        return value === undefined ? -1 : answer(JSON.stringify(value), outPtr, outCap);
      },
      lookup: (kindPtr, kindLen, namePtr, nameLen, outPtr, outCap) => {
        const resource = (options.resources ?? {})[`${read(kindPtr, kindLen)}/${read(namePtr, nameLen)}`];
        return resource === undefined ? -1 : answer(JSON.stringify(resource), outPtr, outCap);
      },
      call: (namePtr, nameLen, argsPtr, argsLen, outPtr, outCap) => {
        const fn = (options.functions ?? {})[read(namePtr, nameLen)];
        if (fn === undefined) return -1;
        let result;
        try {
          result = fn(JSON.parse(read(argsPtr, argsLen)));
        } catch {
          return -3;
        }
        return answer(JSON.stringify({ result }), outPtr, outCap);
      },
    },
  };
  const instance = new WebAssembly.Instance(loaded.module, imports);
  memory = instance.exports.memory;
  const exportName = hook.startsWith("fn_") ? `portcullis_${hook}` : `portcullis_${hook}`;
  const fn = instance.exports[exportName];
  if (typeof fn !== "function") throw new Error(`no export ${exportName}`);
  // §3: a pulling module gets (0, 0) and reads its input with input_get/input_get_json.
  let [ptr, len] = [0, 0];
  if ((loaded.metadata?.input_mode ?? "copy") === "copy") {
    const data = encoder.encode(JSON.stringify(input));
    ptr = instance.exports.portcullis_alloc(data.length) >>> 0;
    if (ptr === 0 || ptr + data.length > memory.buffer.byteLength) throw new Error("portcullis_alloc returned no room");
    bytes().set(data, ptr);
    len = data.length;
  }
  const packed = BigInt.asUintN(64, fn(ptr, len));
  const outPtr = Number(packed >> 32n);
  const outLen = Number(packed & 0xffffffffn);
  if (outPtr + outLen > memory.buffer.byteLength) throw new Error("malformed output: outside memory");
  if (outLen > OUTPUT_LIMIT) throw new Error("malformed output: larger than 64 KiB");
  const raw = read(outPtr, outLen);
  return { output: JSON.parse(raw), logs, raw, memoryBytes: memory.buffer.byteLength };
}

function main(argv) {
  const [command, path, ...rest] = argv;
  if (command === "describe" && path) {
    const loaded = load(path);
    console.log(JSON.stringify({
      size: loaded.size,
      metadata: loaded.metadata,
      exports: WebAssembly.Module.exports(loaded.module),
      imports: WebAssembly.Module.imports(loaded.module),
      problems: check(loaded),
    }, null, 2));
    return check(loaded).length === 0 ? 0 : 1;
  }
  if (command === "call" && path && rest.length >= 2) {
    const [hook, inputJson, ...flags] = rest;
    const options = { functions: {}, resources: {} };
    for (let i = 0; i < flags.length; i++) {
      const flag = flags[i];
      if (flag === "--now") options.now = Number(flags[++i]);
      else if (flag === "--verbose") options.verbose = true;
      else if (flag === "--call") {
        const [name, json] = splitOnce(flags[++i]);
        options.functions[name] = () => JSON.parse(json);
      } else if (flag === "--lookup") {
        const [key, json] = splitOnce(flags[++i]);
        options.resources[key] = JSON.parse(json);
      } else throw new Error(`unknown flag ${flag}`);
    }
    const result = callHook(load(path), hook, JSON.parse(inputJson), options);
    console.log(result.raw);
    for (const log of result.logs) console.error(`log ${log.level}: ${log.message}`);
    return 0;
  }
  console.error("usage: run.mjs describe MODULE.wasm | run.mjs call MODULE.wasm HOOK INPUT_JSON [--now MS] [--call NAME=JSON] [--lookup KIND/NAME=JSON] [--verbose]");
  return 2;
}

function splitOnce(text) {
  const at = text.indexOf("=");
  return [text.slice(0, at), text.slice(at + 1)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
