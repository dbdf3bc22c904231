// Builds approve_dba.wasm (a Portcullis ABI v2 component) from approve_dba.js with the
// componentize-js pinned in package.json. Usage: node build.mjs OUT_FILE
import { componentize } from "@bytecodealliance/componentize-js";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = process.argv[2];
const { component } = await componentize({
  sourcePath: `${here}/approve_dba.js`,
  witPath: `${here}/../../../guest-sdk/wit`,
  worldName: "access-request-policy",
  // No WASI beyond what the runtime needs: the server grants none of it anyway.
  disableFeatures: ["random", "stdio", "clocks", "http", "fetch-event"],
});
await writeFile(out, component);
