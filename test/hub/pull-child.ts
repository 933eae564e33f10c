// Child process for the cross-process lock test: resolves one model and prints what happened.
// Usage: node --import tsx test/hub/pull-child.ts ENDPOINT MODELS_DIR MODEL
import { resolveModel, type PullEvent } from "../../src/hub/index.js";

const [endpoint, cacheDir, model] = process.argv.slice(2);
// Start together with the sibling process: say "ready", then wait for the parent's go.
console.log("ready");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
process.stdin.pause();
const events: string[] = [];
const dir = await resolveModel(model, {
  endpoint,
  cacheDir,
  offline: false,
  token: "",
  onProgress: (e: PullEvent) => {
    if (e.type !== "progress") events.push(e.type);
  },
});
console.log(JSON.stringify({ dir, events: [...new Set(events)] }));
