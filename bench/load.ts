// Load test: the real server (app factory + worker processes) with a fixture model, driven by
// autocannon at concurrency 1, 4 and 16 over real HTTP. Reports requests per second and latency
// percentiles per concurrency.
//
//   node --import tsx bench/load.ts [--model DIR] [--duration SECONDS] [--image FILE] [--threads N]
//
// Defaults: the tiny vit-gpt2 fixture (what is measured is the server's own cost: HTTP, base64,
// decode, IPC to the worker, the FIFO queue, plus a small model's caption), 10 s per level.
//
// Measured 2026-11-22 on the shared 2-core box (other jobs running, so ±20 %), 1 ORT thread:
//   fixture image1.png (64x48):      c=1 15.4 req/s p50 60 ms p99 102 ms; c=4 14.9 req/s p50 260 ms
//                                    p99 394 ms; c=16 11.1 req/s p50 1356 ms p99 1780 ms; no errors
//   a 640x480 camera JPEG (158 KB):  c=1 8.0 req/s p50 109 ms; c=4 7.5 req/s p50 487 ms;
//                                    c=16 10.2 req/s p50 1522 ms p99 1629 ms; no errors
//   full-size random-weight ViT-GPT2 (ViT-B/16 + GPT-2 small, bench/vit-gpt2.ts's folder), the
//   640x480 JPEG, 2 threads, 20 s per level: c=1 0.9 req/s p50 1149 ms p99 1438 ms; c=4 1.2 req/s
//   p50 3033 ms p99 4635 ms; c=16 1.1 req/s p50 10671 ms p99 14157 ms; no errors
// One model serves one request at a time (FIFO), so req/s stays flat and latency grows with the
// queue: concurrency buys fairness and bounded waiting, not throughput.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "../src/server/app.js";
import { Runtime } from "../src/server/runtime.js";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const { values } = parseArgs({
  options: {
    model: {
      type: "string",
      default: fileURLToPath(new URL("../../shared/fixtures/vit-gpt2/", import.meta.url)),
    },
    image: { type: "string" },
    duration: { type: "string", default: "10" },
    threads: { type: "string", default: "1" },
  },
});

const imageFile = values.image ?? `${values.model}/image1.png`;
const body = JSON.stringify({ image: readFileSync(imageFile).toString("base64"), model: "bench" });

const runtime = new Runtime({
  models: { bench: values.model! },
  threads: Number(values.threads),
  idleUnloadSeconds: 0,
  maxQueue: 64,
});
const app = await build({ runtime });
const base = await app.listen({ host: "127.0.0.1", port: 0 });

// Warm up: load the model and run a few captions before measuring.
for (let i = 0; i < 3; i++) {
  const res = await fetch(`${base}/api/v1/vision/describe`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (res.status !== 200) throw new Error(`warm-up failed: ${res.status} ${await res.text()}`);
}

console.log(
  `model ${values.model}  image ${imageFile}  ${values.duration} s per level  threads ${values.threads}`,
);
console.log("concurrency  req/s   p50 ms  p90 ms  p99 ms  max ms  non-2xx  errors");
for (const connections of [1, 4, 16]) {
  const r = await autocannon({
    url: `${base}/api/v1/vision/describe`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    duration: Number(values.duration),
    timeout: 60,
  });
  const f = (n: number, w = 7) => n.toFixed(n < 100 ? 1 : 0).padStart(w);
  console.log(
    `${String(connections).padStart(11)} ${f(r.requests.average)} ${f(r.latency.p50)} ${f(r.latency.p90)} ${f(r.latency.p99)} ${f(r.latency.max)} ${String(r.non2xx).padStart(8)} ${String(r.errors + r.timeouts).padStart(7)}`,
  );
}

await app.close();
await runtime.close();
