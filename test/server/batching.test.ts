// Batching across requests through the server's runtime and real worker processes (`--max-batch`):
// every fixture generation of the four architectures (greedy and beam, prompts, two images), asked
// by 8 concurrent clients, is token-exact while the worker runs 8 requests together; a request
// cancelled while it runs in a batch is answered at once and the others keep their tokens; with
// --max-batch 1 requests run one at a time, with the same tokens. Requests go through
// Runtime.caption(), the call every HTTP dialect makes, because the generation settings of the
// fixture runs (suppress_tokens) are not all reachable over HTTP.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readImageFile } from "../../src/images/decode.js";
import type { RgbImage } from "../../src/models/types.js";
import { parseServeConfig } from "../../src/server/config.js";
import { Runtime } from "../../src/server/runtime.js";
import { fixturesDir, waitFor } from "./helpers.js";
import { fixtureGenerations, type FixtureGeneration } from "../helpers/fixture-generations.js";

const ARCHES = ["vit-gpt2", "blip", "kosmos-2", "florence-2", "qwen3-vl"];
const runtimes: Runtime[] = [];
after(() => Promise.all(runtimes.map((r) => r.close())));

function runtime(maxBatch?: number): Runtime {
  const models = Object.fromEntries(ARCHES.map((a) => [a, join(fixturesDir, a)]));
  const r = new Runtime({ models, threads: 1, idleUnloadSeconds: 0, nsfwModel: "off", maxBatch });
  runtimes.push(r);
  return r;
}

const images = new Map<string, RgbImage>();
async function image(path: string): Promise<RgbImage> {
  if (!images.has(path)) images.set(path, await readImageFile(path));
  return images.get(path)!;
}

/**
 * `clients` clients, each asking for the next generation as soon as its last one is answered. The
 * first `clients` requests are submitted together once the model is loaded; `first` sees the queue
 * right after that.
 */
async function askConcurrently(
  rt: Runtime,
  model: string,
  gens: FixtureGeneration[],
  clients: number,
  first: () => Promise<void>,
): Promise<number[][]> {
  await rt.queue(model).load();
  for (const g of gens) await image(g.imagePath);
  const results: number[][] = new Array(gens.length);
  let next = 0;
  const client = async () => {
    while (next < gens.length) {
      const i = next++;
      results[i] = (await rt.caption(model, images.get(gens[i].imagePath)!, gens[i].options)).result.tokenIds;
    }
  };
  const running = Array.from({ length: clients }, client);
  await first();
  await Promise.all(running);
  return results;
}

test("--max-batch 8 (the default): all fixture generations, 8 concurrent clients, token-exact", async () => {
  const rt = runtime();
  for (const arch of ARCHES) {
    const gens = fixtureGenerations(arch);
    const got = await askConcurrently(rt, arch, gens, 8, async () => {
      // The worker took all eight at once: none waits in the queue.
      assert.equal(rt.queue(arch).runningCount, 8, arch);
      assert.equal(rt.queue(arch).depth, 0, arch);
    });
    gens.forEach((g, i) => assert.deepEqual(got[i], g.tokenIds, g.label));
  }
});

test("--max-batch 1: one request at a time, the same tokens", async () => {
  const rt = runtime(1);
  const gens = fixtureGenerations("vit-gpt2");
  const got = await askConcurrently(rt, "vit-gpt2", gens, 8, async () => {
    assert.equal(rt.queue("vit-gpt2").runningCount, 1);
    assert.equal(rt.queue("vit-gpt2").depth, 7);
  });
  gens.forEach((g, i) => assert.deepEqual(got[i], g.tokenIds, g.label));
});

test("a request cancelled while it runs in a batch is answered at once; the others keep their tokens", async () => {
  const rt = runtime();
  const model = "blip";
  const queue = rt.queue(model);
  await queue.load();
  const pid = queue.pid;
  const gens = fixtureGenerations(model).filter((g) => g.label.endsWith("_fixed"));
  const [a, b, c] = [gens[0], gens[3], gens[6]];
  const cancel = new AbortController();
  const ask = async (g: FixtureGeneration, signal?: AbortSignal) =>
    rt.caption(model, await image(g.imagePath), g.options, { signal });
  for (const g of [a, b, c]) await image(g.imagePath);
  const answers = [ask(a), ask(b, cancel.signal), ask(c)];
  await waitFor(() => queue.runningCount === 3);
  cancel.abort();
  const [ra, rb, rc] = await Promise.allSettled(answers);
  assert.equal(rb.status, "rejected");
  assert.equal((rb as PromiseRejectedResult).reason.code, "REQUEST_CANCELLED");
  assert.deepEqual((ra as PromiseFulfilledResult<any>).value.result.tokenIds, a.tokenIds, a.label);
  assert.deepEqual((rc as PromiseFulfilledResult<any>).value.result.tokenIds, c.tokenIds, c.label);
  // The worker stayed loaded and batches the next requests.
  await waitFor(() => queue.runningCount === 0);
  assert.equal(queue.pid, pid);
  const again = await ask(b);
  assert.deepEqual(again.result.tokenIds, b.tokenIds);
});

test("--max-batch: flag, SIGHTLINE_MAX_BATCH, config file key max-batch / maxBatch; default 8; 0 refused", (t) => {
  assert.equal(parseServeConfig([], {}).maxBatch, 8);
  assert.equal(parseServeConfig(["--max-batch", "1"], {}).maxBatch, 1);
  assert.equal(parseServeConfig([], { SIGHTLINE_MAX_BATCH: "4" }).maxBatch, 4);
  const dir = mkdtempSync(join(tmpdir(), "sightline-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "sightline.json");
  for (const key of ["max-batch", "maxBatch"]) {
    writeFileSync(file, JSON.stringify({ [key]: 16 }));
    assert.equal(parseServeConfig(["--config", file], {}).maxBatch, 16);
  }
  assert.throws(() => parseServeConfig(["--max-batch", "0"], {}), /--max-batch must be at least 1/);
  assert.throws(() => parseServeConfig(["--max-batch", "two"], {}), /invalid argument/);
});
