// The whole BLIP path as Sightline runs it: image file → processor → model → generate → decode, for every
// generation of the fixture (token ids and text exact), plus the tokenizer paths BLIP relies on.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readImageFile } from "../../../src/images/decode.js";
import { loadModel } from "../../../src/models/index.js";
import { BlipCaptioner } from "../../../src/models/blip/captioner.js";
import { isSightlineError } from "../../../src/errors.js";
import { FIXTURE, captionOptions, cases, expected } from "./fixture.js";

const model = await loadModel(FIXTURE, { threads: 1 });
after(() => model.dispose());

test("config.json model_type blip loads the BLIP captioner", () => {
  assert.equal(model.arch, "blip");
  assert.ok(model instanceof BlipCaptioner);
});

assert.ok(model instanceof BlipCaptioner);
const tokenizer = model.tokenizer;

for (const check of expected.tokenizer_checks as Record<string, any>[]) {
  test(`tokenizer: ${JSON.stringify(check.text).slice(0, 40)}`, () => {
    assert.deepEqual(tokenizer.encode(check.text), check.input_ids);
    assert.equal(tokenizer.decode(check.input_ids), check.decoded_fast);
    assert.equal(
      tokenizer.decode(check.input_ids, { skipSpecialTokens: true }),
      check.decoded_skip_special_fast,
    );
  });
}

for (const c of cases) {
  const label = `${c.image} ${c.prompt === null ? "unconditional" : `"${c.prompt}"`}`;
  if (c.processorInputIds) {
    test(`${label}: the prompt tokenizes as BlipProcessor does`, () => {
      assert.deepEqual(tokenizer.encode(c.prompt!), c.processorInputIds);
    });
  }
  for (const gen of c.generations) {
    test(`${label}: caption "${gen.name}": token ids and text exact`, async () => {
      const image = await readImageFile(`${FIXTURE}${c.image}`);
      const result = await model.caption(image, {
        prompt: c.prompt ?? undefined,
        ...captionOptions(gen.kwargs),
      });
      assert.deepEqual(result.tokenIds, gen.sequences[0]);
      assert.equal(result.text, gen.text[0].trim());
      // The [DEC] start token is outside the tokenizer's vocabulary: even without skipping, it decodes to nothing.
      assert.equal(tokenizer.decode(result.tokenIds), gen.text_with_special[0]);
      for (const t of Object.values(result.timings)) assert.ok(t >= 0);
    });
  }
}

test("a prompt longer than the decoder's positions is refused before inference", async () => {
  const image = await readImageFile(`${FIXTURE}${cases[0].image}`);
  const positions = model.model.config.text.maxPositionEmbeddings;
  await assert.rejects(
    model.caption(image, { prompt: "a ".repeat(positions) }),
    (e) => isSightlineError(e) && e.code === "PROMPT_TOO_LONG",
  );
});
