// Batching across requests in one process: the captioners' generate() loops share one decoder run
// through a StepBatcher. Every fixture generation (greedy and beam, prompts, two images), run as
// concurrent requests 8 at a time, gives HF's tokens; a request cancelled mid-batch leaves at the next
// step and the others still give their tokens.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { StepBatcher, type BatchStep } from "../../src/generation/step-batcher.js";
import type { KvDecoder, RowSource } from "../../src/generation/kv-decoder.js";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import type { CaptionModel } from "../../src/models/types.js";
import { fixtureDir } from "../helpers/fixtures.js";
import { fixtureGenerations, type FixtureGeneration } from "../helpers/fixture-generations.js";
import { waitFor } from "../server/helpers.js";

const models: CaptionModel[] = [];
after(() => Promise.all(models.map((m) => m.dispose())));

/** The model with its decoder batching requests; the batcher, to watch its steps. */
async function batched(arch: string): Promise<{ model: CaptionModel; batcher: StepBatcher<RowSource> }> {
  const model = await loadModel(fixtureDir(arch), { threads: 1 });
  models.push(model);
  const decoder = (model as unknown as { model: { kvDecoder: KvDecoder } }).model.kvDecoder;
  const batcher = new StepBatcher(decoder);
  decoder.batch = batcher;
  return { model, batcher };
}

/** Runs `gens` as concurrent requests, at most `clients` at a time; returns each one's token ids. */
async function runConcurrently(model: CaptionModel, gens: FixtureGeneration[], clients: number) {
  const results: number[][] = new Array(gens.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < gens.length) {
        const i = next++;
        const image = await readImageFile(gens[i].imagePath);
        results[i] = (await model.caption(image, gens[i].options)).tokenIds;
      }
    }),
  );
  return results;
}

for (const arch of ["vit-gpt2", "blip", "kosmos-2", "florence-2", "qwen3-vl"]) {
  test(`${arch}: every fixture generation as 8 concurrent requests in one batch is token-exact`, async () => {
    const { model, batcher } = await batched(arch);
    const steps: BatchStep[] = [];
    batcher.onStep = (s) => steps.push(s);
    const gens = fixtureGenerations(arch);
    const got = await runConcurrently(model, gens, 8);
    gens.forEach((g, i) => assert.deepEqual(got[i], g.tokenIds, g.label));
    assert.ok(
      steps.some((s) => s.requests > 1),
      `requests shared decoder steps (largest step: ${Math.max(...steps.map((s) => s.requests))})`,
    );
  });
}

test("a request cancelled mid-batch leaves at the next step; the others keep their tokens", async () => {
  const { model, batcher } = await batched("vit-gpt2");
  const gens = fixtureGenerations("vit-gpt2");
  const pick = (label: string) => gens.find((g) => g.label.endsWith(label))!;
  const [a, b, c] = [
    pick("image1.png greedy_fixed"),
    pick("image2.png beam3_fixed"),
    pick("image2.png greedy_fixed"),
  ];
  // The first decoder step waits until all three requests have asked to join: then they are sure
  // to share steps from the second one on, however fast each encoder was.
  const decoder = (model as unknown as { model: { kvDecoder: KvDecoder } }).model.kvDecoder;
  const step = decoder.step.bind(decoder);
  let held = true;
  decoder.step = async (...args: Parameters<typeof step>) => {
    if (held) await waitFor(() => batcher.requests === 3, 60_000);
    held = false;
    return step(...args);
  };
  const cancel = new AbortController();
  const steps: BatchStep[] = [];
  batcher.onStep = (s) => {
    steps.push(s);
    // Mid-batch: all three ran a few steps together.
    if (s.requests === 3 && steps.filter((x) => x.requests === 3).length === 3) cancel.abort("client gone");
  };
  const run = async (g: FixtureGeneration, signal?: AbortSignal) =>
    model.caption(await readImageFile(g.imagePath), { ...g.options, signal });
  const [ra, rb, rc] = await Promise.allSettled([run(a), run(b, cancel.signal), run(c)]);
  assert.equal(rb.status, "rejected");
  assert.equal((rb as PromiseRejectedResult).reason.code, "REQUEST_CANCELLED");
  assert.deepEqual((ra as PromiseFulfilledResult<any>).value.tokenIds, a.tokenIds);
  assert.deepEqual((rc as PromiseFulfilledResult<any>).value.tokenIds, c.tokenIds);
  // The step after the cancel ran without the cancelled request's 3 beams.
  const cancelledAt = steps.findIndex(
    (s, i) => s.requests === 3 && steps.slice(0, i + 1).filter((x) => x.requests === 3).length === 3,
  );
  assert.deepEqual(
    {
      requests: steps[cancelledAt + 1].requests,
      rows: steps[cancelledAt + 1].rows,
      left: steps[cancelledAt + 1].left,
    },
    { requests: 2, rows: 2, left: 1 },
  );
  assert.ok(steps.length < 2 * 20, "the cancelled request did not run to the end");
  decoder.step = step;
});
