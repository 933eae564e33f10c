#!/usr/bin/env node
// Runs the compiled CLI (npm install builds dist/ through the "prepare" script).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (!existsSync(compiled)) {
  console.error("sightline: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
await import(compiled);
