#!/usr/bin/env node
// Checks the Rust policy modules with the Node host of run.mjs:
//
//   (cd policies && cargo build --release --target wasm32-unknown-unknown)
//   node policies/tools/check.mjs [policies/target/wasm32-unknown-unknown/release]
//
// predicate.wasm: ABI shape, `where` results for a set of expressions, errors, extra functions
// through the `call` import, `action` effects. approve_dba.wasm: ABI shape, the brief's cases
// and every case of policies/conformance/cases.json. Exits non-zero on any failure.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

import { callHook, check, load } from "./run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] ?? join(here, "..", "target", "wasm32-unknown-unknown", "release");
let failures = 0;
let passed = 0;

function expect(name, actual, expected) {
  if (isDeepStrictEqual(actual, expected)) {
    passed++;
  } else {
    failures++;
    console.log(`FAIL ${name}\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`);
  }
}

function shape(loaded, metadata, imports) {
  expect(`${loaded.path}: ABI checks`, check(loaded), []);
  expect(`${loaded.path}: metadata`, loaded.metadata, metadata);
  const actual = WebAssembly.Module.imports(loaded.module).map((i) => `${i.module}.${i.name}`).sort();
  expect(`${loaded.path}: imports`, actual, imports);
  console.log(`${loaded.path}: ${loaded.size} bytes`);
}

// --- predicate -------------------------------------------------------------------------

const predicate = load(join(dir, "predicate.wasm"));
shape(
  predicate,
  {
    abi: 1, name: "predicate", version: "1.0.0", hooks: ["where", "action"], functions: [],
    capabilities: ["call", "input"], input_mode: "pull",
  },
  ["portcullis.call", "portcullis.input_get", "portcullis.input_get_json"],
);

const context = {
  user: {
    kind: "user",
    version: "v2",
    metadata: { name: "alice" },
    spec: { roles: ["dev", "auditor"], traits: { team: ["dba", "ops"], email: ["alice@example.com"], tz: ["UTC"] } },
  },
  resource: { kind: "role", metadata: { name: "dba-readonly", labels: { env: "prod" } }, spec: { roles: ["dba"] } },
  verb: "read",
  kind: "role",
};
const where = (expression, options) => callHook(predicate, "where", { expression, ...context }, options).output;

const whereCases = [
  ['contains(user.spec.traits["team"], "dba")', true],
  ['contains(user.spec.traits["team"], "dev")', false],
  ['equals(user.metadata.name, "alice") && verb == "read"', true],
  ['user.metadata.name != "alice" || kind == "node"', false],
  ['!equals(resource.metadata.name, "admin")', true],
  ['contains_any(user.spec.roles, set("x", "auditor"))', true],
  ['contains_all(user.spec.traits["team"], set("ops", "dba"))', true],
  ['contains_all(user.spec.traits["team"], set())', false],
  ['has_prefix(resource.metadata.name, "dba-")', true],
  ['is_subset(resource.spec.roles, "dba", "ops")', true],
  ['is_subset(user.spec.roles, "dev")', false],
  ['all_end_with(user.spec.traits["email"], "@example.com")', true],
  ['all_equal(resource.spec.roles, "dba")', true],
  ['resource.metadata.labels["env"] == "prod"', true],
  ['contains(user.spec.traits["missing"], "x")', false],
  ['user.spec.traits["missing"] == "" && resource.nothing.here == set()', true],
  ['true || false && false', true],
  ['(true || false) && false', false],
  ['user.metadata.name == "a\\"b" || "\\u0061" == "a"', true],
];
for (const [expression, result] of whereCases) expect(`where ${expression}`, where(expression), { result });

const whereErrors = [
  ['contains(user.spec.traits["team"] "dba")', "syntax error: expected `,` or `)`, found a string at column 35"],
  ["user.metadata.name", "type error: the expression must be a boolean, found a string at column 1"],
  ['equals("a")', "type error: `equals` takes 2 arguments, found 1 at column 1"],
  ['true && business_hours(user.spec.traits["tz"])', "function error: unknown function `business_hours` at column 9"],
  ['group == "x"', "syntax error: unknown identifier `group` (expected user, resource, verb or kind) at column 1"],
];
for (const [expression, error] of whereErrors) expect(`where error ${expression}`, where(expression), { error });

// Unknown functions go to the host's `call` import.
const functions = {
  business_hours: (args) => isDeepStrictEqual(args, [["UTC"]]),
  teams: () => ["dba", "sre"],
  broken: () => {
    throw new Error("broken");
  },
};
expect("call: business_hours", where('business_hours(user.spec.traits["tz"])', { functions }), { result: true });
expect("call: teams", where('contains(teams(), "sre")', { functions }), { result: true });
expect("call: failing function", where("broken()", { functions }), {
  error: "function error: function `broken` failed: the function failed at column 1",
});

const action = (expression) => callHook(predicate, "action", { expression, ...context }).output;
expect("action: log", action('log("info", "%v read %v", user.metadata.name, resource.metadata.name)'), {
  effects: [{ log: { level: "info", message: "alice read dba-readonly" } }],
});
expect("action: log a list", action('log("warning", "teams: %v", user.spec.traits["team"])'), {
  effects: [{ log: { level: "warn", message: "teams: [dba ops]" } }],
});
expect("action: annotate", action('annotate("reviewed-by", "policy")'), {
  effects: [{ annotate: { key: "reviewed-by", value: "policy" } }],
});
expect("action: unknown", action('email("x")'), {
  error: "function error: unknown action `email` (expected log or annotate) at column 1",
});
expect("where: invalid input", callHook(predicate, "where", { user: {} }).output, {
  error: "invalid input: no `expression` string",
});

// A big input: the allocator grows memory past the initial pages.
const big = { ...context, user: { ...context.user, spec: { ...context.user.spec, roles: Array.from({ length: 50000 }, (_, i) => `role-${i}`) } } };
const bigResult = callHook(predicate, "where", { expression: 'contains(user.spec.roles, "role-49999")', ...big });
expect("where: 50,000 roles", bigResult.output, { result: true });
console.log(`predicate: memory after the big call ${bigResult.memoryBytes} bytes`);

// --- approve-dba -----------------------------------------------------------------------

const approve = load(join(dir, "approve_dba.wasm"));
shape(
  approve,
  { abi: 1, name: "approve-dba", version: "1.0.0", hooks: ["access_request"], functions: [], capabilities: ["time", "input"] },
  ["portcullis.input_get", "portcullis.now_ms"],
);

const TUESDAY_10 = Date.UTC(2026, 10, 24, 10); // 2026-11-24 is a Tuesday
const SATURDAY_10 = Date.UTC(2026, 10, 21, 10);
const request = (roles, annotations = {}) => ({ request: { id: "r1", user: "contractor", roles, annotations }, requester: {}, reviews: [], now: "" });
const decide = (input, now) => callHook(approve, "access_request", input, { now }).output;
expect("approve: dba + ticket + Tuesday 10:00", decide(request(["dba"], { ticket: ["OPS-1"] }), TUESDAY_10), {
  verdict: "approve",
  reason: "ticket OPS-1 during working hours",
  annotations: { "approved-by": ["approve-dba"] },
});
expect("pending: dba without ticket", decide(request(["dba"]), TUESDAY_10), {
  verdict: "pending",
  reason: "no ticket annotation: a human must review",
});
expect("pending: dba + ticket on Saturday", decide(request(["dba"], { ticket: ["OPS-1"] }), SATURDAY_10), {
  verdict: "pending",
  reason: "outside working hours: a human must review",
});
for (const roles of [["dev"], ["dba", "dev"]]) {
  expect(`deny: ${JSON.stringify(roles)}`, decide(request(roles, { ticket: ["OPS-1"] }), TUESDAY_10), {
    verdict: "deny",
    reason: "only dba may be requested under this policy",
  });
}

// The shared conformance cases.
const cases = JSON.parse(readFileSync(join(here, "..", "conformance", "cases.json"), "utf8"));
for (const c of cases) {
  const output = decide(c.input, c.now_ms);
  const normalized = { verdict: output.verdict, reason: output.reason };
  if (output.annotations && Object.keys(output.annotations).length > 0) normalized.annotations = output.annotations;
  const expected = { verdict: c.expected.verdict, reason: c.expected.reason };
  if (c.expected.annotations && Object.keys(c.expected.annotations).length > 0) expected.annotations = c.expected.annotations;
  const extra = Object.keys(output).filter((k) => !["verdict", "reason", "annotations"].includes(k));
  expect(`conformance: ${c.name}`, { ...normalized, extra }, { ...expected, extra: [] });
}

console.log(`${passed} passed, ${failures} failed`);
process.exitCode = failures === 0 ? 0 : 1;
