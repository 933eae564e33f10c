// Kosmos-2 end to end from the fixture's image files: pixel values (1e-4), then every generation run
// through CaptionModel.caption — token ids exact, caption and entities as HF's post_process_generation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { readImageFile } from "../../../src/images/decode.js";
import { loadModel } from "../../../src/models/index.js";
import { Kosmos2Captioner } from "../../../src/models/kosmos-2/captioner.js";
import type { CaptionModel, Entity } from "../../../src/models/types.js";
import { FIXTURE, expected, maxAbsDiff, readBin } from "./helpers.js";

let model: CaptionModel;
before(async () => {
  model = await loadModel(FIXTURE, { threads: 1 });
});
after(async () => model?.dispose());

/** The loaded model as what it is. */
function kosmos(): Kosmos2Captioner {
  assert.ok(model instanceof Kosmos2Captioner);
  return model;
}

const asEntities = (list: any[]): Entity[] => list.map(([phrase, span, boxes]) => ({ phrase, span, boxes }));

test("loadModel picks the Kosmos-2 loader from model_type", () => {
  assert.equal(model.arch, "kosmos-2");
  assert.ok(model instanceof Kosmos2Captioner);
});

for (const [ci, c] of (expected.cases as any[]).entries()) {
  const label = `case ${ci} (${c.image})`;
  test(`${label}: pixel values within 1e-4`, async () => {
    const image = await readImageFile(resolve(FIXTURE, c.image));
    const { pixelValues, dims } = kosmos().imageProcessor.preprocess(image);
    assert.deepEqual(dims, c.pixel_values.shape);
    assert.ok(maxAbsDiff(pixelValues, readBin(c.pixel_values.file)) < 1e-4);
  });

  for (const run of c.generations as any[]) {
    test(`${label}: caption() for "${run.name}" gives HF's ids, caption and entities`, async () => {
      const image = await readImageFile(resolve(FIXTURE, c.image));
      const out = await model.caption(image, {
        prompt: c.prompt,
        maxNewTokens: run.kwargs.max_new_tokens,
        numBeams: run.kwargs.num_beams,
        suppressTokens: run.kwargs.suppress_tokens,
      });
      assert.deepEqual(out.tokenIds, run.sequences[0]);
      assert.equal(out.text, run.post_process[0].caption);
      assert.deepEqual(out.entities, asEntities(run.post_process[0].entities));
      assert.deepEqual(out.result, { groundedText: run.post_process_no_cleanup[0] });
    });
  }
}

test("the default prompt and settings are the seed's (greedy, 128 new tokens)", async () => {
  const c = expected.cases[0];
  const seed = c.generations.find((r: any) => r.name === "seed");
  const out = await model.caption(await readImageFile(resolve(FIXTURE, c.image)));
  assert.deepEqual(out.tokenIds, seed.sequences[0]);
});
