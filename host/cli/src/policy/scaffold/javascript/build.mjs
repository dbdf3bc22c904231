// Builds out/__NAME__.wasm (a Portcullis ABI v2 component) from policy.js with componentize-js.
import { componentize } from "@bytecodealliance/componentize-js";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const { component } = await componentize({
  sourcePath: `${here}/policy.js`,
  witPath: `${here}/wit`,
  worldName: "access-request-policy",
  disableFeatures: ["random", "stdio", "clocks", "http", "fetch-event"],
});
await mkdir(`${here}/out`, { recursive: true });
await writeFile(`${here}/out/__NAME__.wasm`, component);
