// ViT-GPT2 against what HF PyTorch produced for the fixture folder, fed the fixture's own
// pixel_values (the image processor has its own tests): encoder output, first-step logits, and every
// generation run token-exact (with HF's sequences_scores for beam runs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { VitGpt2 } from "../../../src/models/vit-gpt2/model.js";
import { FIXTURE, expected, maxAbsDiff, readBin } from "./fixture.js";

let model: VitGpt2;
before(async () => {
  model = await VitGpt2.load(FIXTURE, JSON.parse(readFileSync(`${FIXTURE}config.json`, "utf8")), {
    threads: 1,
  });
});
after(() => model.dispose());

for (const [index, c] of expected.cases.entries()) {
  const name = `case ${index} (${c.image})`;
  const pixels = () => readBin(c.pixel_values.file);

  test(`${name}: encoder last_hidden_state within 1e-3`, async () => {
    const enc = await model.encode(pixels(), c.pixel_values.shape);
    assert.deepEqual(enc.dims, c.encoder_last_hidden_state.shape);
    const diff = maxAbsDiff(enc.lastHiddenState, readBin(c.encoder_last_hidden_state.file));
    assert.ok(diff < 1e-3, `max abs diff ${diff}`);
  });

  test(`${name}: first-step logits within 1e-3`, async () => {
    const enc = await model.encode(pixels(), c.pixel_values.shape);
    const { logits } = await model.kvDecoder.sessionFor(enc).step(c.first_step.decoder_input_ids, null);
    const diff = maxAbsDiff(logits, readBin(c.first_step.logits.file));
    assert.ok(diff < 1e-3, `max abs diff ${diff}`);
  });

  for (const gen of c.generations) {
    test(`${name}: generation "${gen.name}" ${JSON.stringify(gen.kwargs)} is token-exact`, async () => {
      const enc = await model.encode(pixels(), c.pixel_values.shape);
      const cfg = model.generationConfig(gen.kwargs);
      const result = await model.generate(enc, model.decoderPrompt(cfg), cfg);
      assert.deepEqual(result.sequence, gen.sequences[0]);
      assert.equal(result.steps, gen.num_generated_steps);
      if (gen.sequences_scores) assert.ok(Math.abs(result.score! - gen.sequences_scores[0]) < 1e-4);
    });
  }
}

test("the batch of beams gives every row the same logits as batch 1", async () => {
  const c = expected.cases[0];
  const enc = await model.encode(readBin(c.pixel_values.file), c.pixel_values.shape);
  const dec = model.kvDecoder.sessionFor(enc);
  const one = await dec.step([[50256, 47588]], null);
  const three = await dec.step(
    [
      [50256, 47588],
      [50256, 47588],
      [50256, 47588],
    ],
    null,
  );
  const vocab = one.logits.length;
  for (let r = 0; r < 3; r++)
    assert.ok(maxAbsDiff(three.logits.subarray(r * vocab, (r + 1) * vocab), one.logits) < 1e-4);
  // Cached steps agree with running the whole sequence at once.
  const first = await dec.step([[50256]], null);
  const second = await dec.step([[47588]], first.cache);
  assert.ok(maxAbsDiff(second.logits, one.logits) < 1e-4);
});
