// ViT-GPT2 end to end through the loader table: image file → image processor → encoder → generation →
// tokenizer, for every generation run of the fixture: token ids exact, decoded text exact.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readImageFile } from "../../../src/images/decode.js";
import { loadModel } from "../../../src/models/index.js";
import { loadTokenizer, type TextTokenizer } from "../../../src/tokenizer/tokenizer.js";
import type { CaptionModel, CaptionOptions } from "../../../src/models/types.js";
import { FIXTURE, expected } from "./fixture.js";

let model: CaptionModel;
let tokenizer: TextTokenizer;
before(async () => {
  model = await loadModel(FIXTURE, { threads: 1 });
  tokenizer = await loadTokenizer(FIXTURE);
});
after(() => model.dispose());

/** generate() kwargs of a fixture run → CaptionOptions (max_length is the seed default, not an option). */
function optionsFor(kwargs: Record<string, any>): CaptionOptions {
  return {
    maxNewTokens: kwargs.max_new_tokens,
    numBeams: kwargs.num_beams,
    suppressTokens: kwargs.suppress_tokens,
  };
}

test("the loader table maps vision-encoder-decoder to ViT-GPT2", () => {
  assert.equal(model.arch, "vit-gpt2");
});

for (const c of expected.cases) {
  for (const gen of c.generations) {
    test(`${c.image} "${gen.name}": token ids and text equal HF`, async () => {
      if (gen.kwargs.max_length !== undefined)
        assert.equal(gen.kwargs.max_length, 16, "only the seed default is reachable");
      const image = await readImageFile(`${FIXTURE}${c.image}`);
      const result = await model.caption(image, optionsFor(gen.kwargs));
      assert.deepEqual(result.tokenIds, gen.sequences[0]);
      assert.equal(tokenizer.decode(result.tokenIds, { skipSpecialTokens: true }), gen.text[0]);
      assert.equal(result.text, gen.text[0].trim());
      for (const key of ["preprocess", "encode", "decode"] as const) assert.ok(result.timings[key] >= 0);
    });
  }
}

test("a text prompt is a decoder prefix kept in the output", async () => {
  const image = await readImageFile(`${FIXTURE}image1.png`);
  const prompt = tokenizer.encode("a photo of", { addSpecialTokens: false });
  const result = await model.caption(image, { prompt: "a photo of", maxNewTokens: 3, numBeams: 1 });
  assert.deepEqual(result.tokenIds.slice(0, 1 + prompt.length), [50256, ...prompt]);
  assert.equal(result.tokenIds.length, 1 + prompt.length + 3);
  assert.ok(result.text.startsWith("a photo of"));
});

test("a cancelled request stops with REQUEST_CANCELLED", async () => {
  const image = await readImageFile(`${FIXTURE}image1.png`);
  await assert.rejects(model.caption(image, { signal: AbortSignal.abort() }), { code: "REQUEST_CANCELLED" });
  const controller = new AbortController();
  const running = model.caption(image, { maxNewTokens: 20, signal: controller.signal });
  controller.abort();
  await assert.rejects(running, { code: "REQUEST_CANCELLED" });
});

test("bad generation options are INVALID_ARGUMENT", async () => {
  const image = await readImageFile(`${FIXTURE}image1.png`);
  await assert.rejects(model.caption(image, { numBeams: 0 }), { code: "INVALID_ARGUMENT" });
  await assert.rejects(model.caption(image, { maxNewTokens: 5000 }), { code: "INVALID_ARGUMENT" });
});
