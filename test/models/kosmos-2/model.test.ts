// Kosmos-2 graphs against what HF PyTorch produced for the fixture: vision encoder output, image
// embeddings, first-step logits (1e-3) and every generation run token-exact, from the fixture's own
// pixel values and input ids (the end-to-end path from image files is in kosmos-2.test.ts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generate } from "../../../src/generation/generate.js";
import { resolveGenerationConfig } from "../../../src/generation/config.js";
import { readModelConfig } from "../../../src/models/index.js";
import { Kosmos2Model } from "../../../src/models/kosmos-2/model.js";
import { FIXTURE, expected, maxAbsDiff, readBin } from "./helpers.js";

let model: Kosmos2Model;
const rawConfig = readModelConfig(FIXTURE);

before(async () => {
  model = await Kosmos2Model.load(FIXTURE, rawConfig, { threads: 1 });
});
after(async () => model?.dispose());

for (const [ci, c] of (expected.cases as any[]).entries()) {
  const label = `case ${ci} (${c.image})`;
  test(`${label}: vision output, image embeds and first-step logits within 1e-3`, async () => {
    const pv = readBin(c.pixel_values.file);
    const enc = await model.encodeImage(pv, c.pixel_values.shape);
    assert.ok(maxAbsDiff(enc.visionLastHiddenState, readBin(c.vision_last_hidden_state.file)) < 1e-3);
    assert.ok(maxAbsDiff(enc.imageEmbeds, readBin(c.image_embeds.file)) < 1e-3);
    const dec = model.kvDecoder.sessionFor(
      model.promptImage(enc.imageEmbeds, c.image_embeds_position_mask[0]),
    );
    const { logits } = await dec.step([c.input_ids[0]], null);
    const diff = maxAbsDiff(logits, readBin(c.first_step.logits.file));
    assert.ok(diff < 1e-3, `first-step logits differ by ${diff}`);
    // The top-5 ids of the first step, in order.
    const top5 = Array.from(logits.keys())
      .sort((a, b) => logits[b]! - logits[a]!)
      .slice(0, 5);
    assert.deepEqual(top5, c.first_step.top5.ids);
  });

  for (const run of c.generations as any[]) {
    test(`${label}: generation "${run.name}" token-exact`, async () => {
      const enc = await model.encodeImage(readBin(c.pixel_values.file), c.pixel_values.shape);
      // Kosmos-2 generates with text_model.generation_config, i.e. from text_config.
      const cfg = resolveGenerationConfig(rawConfig.text_config, undefined, run.kwargs);
      const inner = model.kvDecoder.sessionFor(
        model.promptImage(enc.imageEmbeds, c.image_embeds_position_mask[0]),
      );
      // Keep every step's raw logits to compare with HF's per-step top-5 (greedy runs record them).
      const stepLogits: Float32Array[] = [];
      const dec: typeof inner = {
        step: async (ids, cache) => {
          const out = await inner.step(ids, cache);
          stepLogits.push(out.logits.slice());
          return out;
        },
        reorder: (cache, rows) => inner.reorder(cache, rows),
      };
      const result = await generate(dec, c.input_ids[0], cfg);
      assert.deepEqual(result.sequence, run.sequences[0]);
      assert.equal(result.steps, run.num_generated_steps);
      if (run.sequences_scores) assert.ok(Math.abs(result.score! - run.sequences_scores[0]) < 1e-3);
      for (const [i, step] of ((run.steps ?? []) as any[]).entries()) {
        const { ids, values } = step.top5_raw_logits;
        ids.forEach((id: number, k: number) =>
          assert.ok(Math.abs(stepLogits[i]![id]! - values[k]) < 1e-3, `step ${i} token ${id}`),
        );
      }
    });
  }
}
