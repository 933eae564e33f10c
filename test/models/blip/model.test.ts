// BlipForConditionalGeneration against what HF transformers 4.40.2 produced on the fixture: pixel values
// (1e-4), vision last hidden state and first-step logits (1e-3), every generation token-exact.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadImageProcessor } from "../../../src/images/image-processor.js";
import { readImageFile } from "../../../src/images/decode.js";
import { BlipModel, type EncodedImage } from "../../../src/models/blip/model.js";
import { FIXTURE, cases, config, maxAbsDiff, readBin } from "./fixture.js";

const model = await BlipModel.load(FIXTURE, config, { threads: 1 });
after(() => model.dispose());

// The image tensors of each image, encoded once from the fixture's own pixel values.
const encoded = new Map<string, Promise<EncodedImage>>();
function encode(c: (typeof cases)[number]): Promise<EncodedImage> {
  if (!encoded.has(c.image))
    encoded.set(c.image, model.encodeImage(readBin(c.pixelValues.file), c.pixelValues.shape));
  return encoded.get(c.image)!;
}

const images = [...new Map(cases.map((c) => [c.image, c])).values()];

for (const c of images) {
  test(`${c.image}: pixel values match BlipImageProcessor (1e-4)`, async () => {
    const processor = loadImageProcessor(FIXTURE);
    const { pixelValues, dims } = processor.preprocess(await readImageFile(`${FIXTURE}${c.image}`));
    assert.deepEqual(dims, c.pixelValues.shape);
    const diff = maxAbsDiff(pixelValues, readBin(c.pixelValues.file));
    assert.ok(diff <= 1e-4, `max |Δ| = ${diff}`);
  });

  test(`${c.image}: vision last hidden state (1e-3)`, async () => {
    const { imageEmbeds } = await encode(c);
    assert.deepEqual(imageEmbeds.dims, c.visionLastHiddenState.shape);
    const diff = maxAbsDiff(imageEmbeds.data as Float32Array, readBin(c.visionLastHiddenState.file));
    assert.ok(diff <= 1e-3, `max |Δ| = ${diff}`);
  });
}

for (const c of cases) {
  const label = `${c.image} ${c.prompt === null ? "unconditional" : `"${c.prompt}"`}`;

  test(`${label}: decoder input ids as generate() builds them`, () => {
    assert.deepEqual(model.decoderInputIds(c.processorInputIds), c.decoderInputIds);
  });

  test(`${label}: first-step logits (1e-3)`, async () => {
    const logits = await model.firstStepLogits(await encode(c), c.decoderInputIds);
    const want = readBin(c.firstStep.logits.file);
    const diff = maxAbsDiff(logits, want);
    assert.ok(diff <= 1e-3, `max |Δ| = ${diff}`);
    const top5 = Array.from(logits.keys())
      .sort((a, b) => logits[b] - logits[a])
      .slice(0, 5);
    assert.deepEqual(top5, c.firstStep.top5.ids);
  });

  for (const gen of c.generations) {
    test(`${label}: generation "${gen.name}" token-exact`, async () => {
      const cfg = model.generationConfig(gen.kwargs);
      const result = await model.generate(await encode(c), c.decoderInputIds, cfg);
      assert.deepEqual(result.sequence, gen.sequences[0]);
      assert.equal(result.steps, gen.num_generated_steps);
      if (gen.sequences_scores) {
        assert.ok(
          Math.abs(result.score! - gen.sequences_scores[0]) <= 1e-3,
          `score ${result.score} vs ${gen.sequences_scores[0]}`,
        );
      }
    });
  }
}

test("the text decoder's generation config: eos = [SEP], pad, max_length 20 from text_config", () => {
  const cfg = model.generationConfig();
  const text = config.text_config ?? {};
  assert.deepEqual(cfg.eosTokenId, [text.sep_token_id ?? 102]);
  assert.equal(cfg.padTokenId, text.pad_token_id ?? 0);
  assert.equal(cfg.maxLength, text.max_length ?? 20);
  assert.equal(cfg.numBeams, text.num_beams ?? 1);
});
