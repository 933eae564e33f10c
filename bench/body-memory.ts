// Memory of the server process around large request bodies: starts `sightline serve` (fake model,
// nothing is captioned), sends N concurrent JSON bodies of M MB (a base64-looking "image" over the
// image limit, so each is read, parsed and refused with 413), and reports the server's resident
// memory before, at its peak, right after, and 2 s and 10 s later.
//
//   node --import tsx bench/body-memory.ts [--bodies 8] [--mb 80] [--max-image-mb 20]
//
// Measured 2026-11-29 on the shared 2-core box (other jobs running), 8 × 80 MB, --max-image-mb 20:
//   before (chunks collected, no budget): baseline 113 MB, peak 904 MB, 2 s later 667, 10 s later 667
//   now (one buffer per body, large bodies a budget at a time, a GC after the last):
//                                         baseline 119 MB, peak 537 MB, 2 s later 157, 10 s later 157
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    bodies: { type: "string", default: "8" },
    mb: { type: "string", default: "80" },
    "max-image-mb": { type: "string", default: "20" },
  },
});
const root = fileURLToPath(new URL("..", import.meta.url));
const model = mkdtempSync(join(tmpdir(), "sightline-body-memory-"));
writeFileSync(join(model, "config.json"), JSON.stringify({ model_type: "fake" }));
const args = ["--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--model", `fake=${model}`];
args.push(
  "--worker-loader",
  join(root, "test/queue/fake-model.ts"),
  "--max-image-mb",
  values["max-image-mb"]!,
);
const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });

let out = "";
const base = await new Promise<string>((resolve) =>
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
    const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
    if (m) resolve(m[1]!);
  }),
);
const rssMb = () =>
  Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await sleep(1000);
const baseline = rssMb();
const body = Buffer.from(JSON.stringify({ image: "A".repeat(Math.floor(Number(values.mb) * 1e6)) }));
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
const url = new URL(`${base}/api/v1/vision/describe`);
const statuses = await Promise.all(
  Array.from(
    { length: Number(values.bodies) },
    () =>
      new Promise<number | string>((resolve) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: "POST",
            headers: { "content-type": "application/json", "content-length": body.length },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        req.end(body);
      }),
  ),
);
const after = rssMb();
await sleep(2000);
const after2s = rssMb();
await sleep(8000);
const after10s = rssMb();
clearInterval(sampler);
child.kill("SIGTERM");
console.log(
  JSON.stringify({
    bodies: statuses.length,
    mb: Number(values.mb),
    statuses,
    baseline,
    peak,
    after,
    after2s,
    after10s,
  }),
);
