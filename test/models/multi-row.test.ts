// The one KV decoder with rows from different requests: different prompts (of different lengths, so
// left-padded) and different images (cross-attention K/V of different lengths) in one decoder run give
// every row exactly the tokens it gives alone — HF's own sequences where the fixture has them, else the
// row run alone. For every architecture on the fixtures; greedy with EOS suppressed (the fixtures'
// "greedy_fixed" runs: 20 tokens, no other logits processor). Also: a request joining a running batch,
// a finished row dropped, and first-step logits of batched rows against HF's.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { argmax } from "../../src/generation/generate.js";
import { joinCaches, type KvCache } from "../../src/generation/kv-cache.js";
import type { KvDecoder, RowSource } from "../../src/generation/kv-decoder.js";
import { readImageFile } from "../../src/images/decode.js";
import type { ImageProcessor } from "../../src/images/image-processor.js";
import { loadModel } from "../../src/models/index.js";
import { BlipCaptioner } from "../../src/models/blip/captioner.js";
import { Florence2Captioner } from "../../src/models/florence-2/captioner.js";
import { Kosmos2Captioner } from "../../src/models/kosmos-2/captioner.js";
import { VitGpt2Captioner } from "../../src/models/vit-gpt2/captioner.js";
import type { CaptionModel } from "../../src/models/types.js";
import { fixtureBin, fixtureDir, maxAbsDiff, readExpected } from "../helpers/fixtures.js";

const NEW_TOKENS = 20;

/** A row: its prompt and source; `want` the sequence it must produce (prompt included). */
interface Row<S> {
  prompt: number[];
  source: S;
  want?: number[];
  /** HF's first-step logits of this row, when the fixture has them. */
  firstLogits?: Float32Array;
}

/** Greedy decoding of every row at once, EOS suppressed, NEW_TOKENS tokens per row. */
async function greedyRows<S extends RowSource>(
  decoder: KvDecoder<S>,
  rows: Row<S>[],
  eos: number,
): Promise<{ sequences: number[][]; firstLogits: Float32Array[] }> {
  const sequences = rows.map((r) => r.prompt.slice());
  let out = await decoder.step(
    rows.map((r) => r.prompt),
    null,
    { sources: rows.map((r) => r.source) },
  );
  const vocab = out.logits.length / rows.length;
  const firstLogits = rows.map((_, r) => out.logits.slice(r * vocab, (r + 1) * vocab));
  for (let n = 0; ; n++) {
    const next = sequences.map((seq, r) => {
      const scores = out.logits.slice(r * vocab, (r + 1) * vocab);
      scores[eos] = -Infinity;
      const token = argmax(scores, 0, vocab);
      seq.push(token);
      return [token];
    });
    if (n === NEW_TOKENS - 1) break;
    out = await decoder.step(next, out.cache);
  }
  return { sequences, firstLogits };
}

/** Runs the rows together, and each alone where no HF sequence is given; compares. */
async function checkRows<S extends RowSource>(decoder: KvDecoder<S>, rows: Row<S>[], eos: number) {
  const together = await greedyRows(decoder, rows, eos);
  for (const [r, row] of rows.entries()) {
    const want = row.want ?? (await greedyRows(decoder, [row], eos)).sequences[0];
    assert.deepEqual(together.sequences[r], want, `row ${r}`);
    if (row.firstLogits) {
      const diff = maxAbsDiff(together.firstLogits[r], row.firstLogits);
      assert.ok(diff <= 1e-3, `row ${r} first-step logits differ by ${diff}`);
    }
  }
}

const models: CaptionModel[] = [];
async function load(arch: string): Promise<CaptionModel> {
  const m = await loadModel(fixtureDir(arch), { threads: 1 });
  models.push(m);
  return m;
}
after(() => Promise.all(models.map((m) => m.dispose())));

/** The fixture case's `greedy_fixed` (or `greedy_plain_fixed`) sequence. */
function fixedGreedy(c: Record<string, any>): number[] {
  const run = c.generations.find((g: any) => g.name === "greedy_fixed" || g.name === "greedy_plain_fixed");
  assert.equal(run.kwargs.max_new_tokens, NEW_TOKENS);
  return run.sequences[0];
}

async function pixels(arch: string, image: string, processor: ImageProcessor) {
  return processor.preprocess(await readImageFile(join(fixtureDir(arch), image)));
}

test("ViT-GPT2: two images and a prompt of another length as 3 rows; a joining request; a dropped row", async () => {
  const m = await load("vit-gpt2");
  assert.ok(m instanceof VitGpt2Captioner);
  const expected = readExpected("vit-gpt2");
  const [c1, c2] = expected.cases;
  const image = async (c: any) => {
    const { pixelValues, dims } = await pixels("vit-gpt2", c.image, m.imageProcessor);
    return m.model.encode(pixelValues, dims);
  };
  const [img1, img2] = [await image(c1), await image(c2)];
  const start = 50256;
  const prefix = m.tokenizer.encode("a photo of the", { addSpecialTokens: false });
  const decoder = m.model.kvDecoder;
  const rows: Row<typeof img1>[] = [
    {
      prompt: [start],
      source: img1,
      want: fixedGreedy(c1),
      firstLogits: fixtureBin("vit-gpt2", c1.first_step.logits.file),
    },
    { prompt: [start, ...prefix], source: img2 },
    {
      prompt: [start],
      source: img2,
      want: fixedGreedy(c2),
      firstLogits: fixtureBin("vit-gpt2", c2.first_step.logits.file),
    },
  ];
  await checkRows(decoder, rows, start);

  // A request joins after 5 steps of another; later the first one finishes and its row is dropped.
  const pick = (logits: Float32Array, r: number, vocab: number) => {
    const s = logits.slice(r * vocab, (r + 1) * vocab);
    s[start] = -Infinity;
    return argmax(s, 0, vocab);
  };
  const a = [start];
  let out = await decoder.step([a], null, { sources: [img1] });
  const vocab = out.logits.length;
  for (let n = 0; n < 5; n++) {
    a.push(pick(out.logits, 0, vocab));
    out = await decoder.step([[a[a.length - 1]]], out.cache);
  }
  const b = [start, ...prefix];
  const joining = await decoder.step([b], null, { sources: [img2] });
  a.push(pick(out.logits, 0, vocab));
  b.push(pick(joining.logits, 0, vocab));
  let cache: KvCache<typeof img1> = joinCaches(out.cache, joining.cache);
  for (let n = 0; n < 8; n++) {
    const both = await decoder.step([[a[a.length - 1]], [b[b.length - 1]]], cache);
    a.push(pick(both.logits, 0, vocab));
    b.push(pick(both.logits, 1, vocab));
    cache = both.cache;
  }
  cache = decoder.reorder(cache, [1]); // the first request is done
  for (let n = 0; n < 3; n++) {
    const alone = await decoder.step([[b[b.length - 1]]], cache);
    b.push(pick(alone.logits, 0, vocab));
    cache = alone.cache;
  }
  assert.deepEqual(a, fixedGreedy(c1).slice(0, a.length));
  const bAlone = (await greedyRows(decoder, [{ prompt: [start, ...prefix], source: img2 }], start))
    .sequences[0];
  assert.deepEqual(b, bAlone.slice(0, b.length));
});

test("BLIP: an unconditional row and a prompted row of another image", async () => {
  const m = await load("blip");
  assert.ok(m instanceof BlipCaptioner);
  const expected = readExpected("blip");
  const uncond = expected.cases.find((c: any) => c.image === "image1.png" && !c.prompt);
  const cond = expected.cases.find((c: any) => c.image === "image2.png" && c.prompt);
  const source = async (c: any) => {
    const { pixelValues, dims } = await pixels("blip", c.image, m.imageProcessor);
    return m.model.encodeImage(pixelValues, dims);
  };
  const rows = await Promise.all(
    [uncond, cond].map(async (c) => ({
      prompt: c.decoder_input_ids[0] as number[],
      source: await source(c),
      want: fixedGreedy(c),
      firstLogits: fixtureBin("blip", c.first_step.logits.file),
    })),
  );
  assert.notEqual(rows[0].prompt.length, rows[1].prompt.length);
  await checkRows(m.model.kvDecoder, rows, 102);
});

test("Kosmos-2: two images, and a prompt of another length", async () => {
  const m = await load("kosmos-2");
  assert.ok(m instanceof Kosmos2Captioner);
  const expected = readExpected("kosmos-2");
  const row = async (image: string, text: string) => {
    const { pixelValues, dims } = await pixels("kosmos-2", image, m.imageProcessor);
    const { imageEmbeds } = await m.model.encodeImage(pixelValues, dims);
    const prompt = m.processor.process(text, { numImageTokens: m.model.config.latentQueryNum });
    return {
      prompt: prompt.inputIds,
      source: m.model.promptImage(imageEmbeds, prompt.imageEmbedsPositionMask!),
    };
  };
  const [c1, c2] = expected.cases;
  const rows: Row<any>[] = [
    {
      ...(await row(c1.image, c1.prompt)),
      want: fixedGreedy(c1),
      firstLogits: fixtureBin("kosmos-2", c1.first_step.logits.file),
    },
    await row(c2.image, "<grounding>A close-up photo of"),
    { ...(await row(c2.image, c2.prompt)), want: fixedGreedy(c2) },
  ];
  assert.notEqual(rows[0].prompt.length, rows[1].prompt.length);
  await checkRows(m.model.kvDecoder, rows, 2);
});

test("Florence-2: two images with two tasks (encoder outputs of different lengths)", async () => {
  const m = await load("florence-2");
  assert.ok(m instanceof Florence2Captioner);
  const expected = readExpected("florence-2");
  const caption = expected.cases.find((c: any) => c.image === "image1.png" && c.task === "<CAPTION>");
  const od = expected.cases.find((c: any) => c.image === "image2.png" && c.task === "<OD>");
  const rows = await Promise.all(
    [caption, od].map(async (c) => {
      const { pixelValues, dims } = await pixels("florence-2", c.image, m.imageProcessor);
      const features = await m.model.encodeImage(pixelValues, dims);
      return {
        prompt: [2],
        source: await m.model.encodePrompt(features, m.promptIds(c.task)),
        want: fixedGreedy(c),
        firstLogits: fixtureBin("florence-2", c.first_step.logits.file),
      };
    }),
  );
  assert.notEqual(rows[0].source.hidden.dims[1], rows[1].source.hidden.dims[1]);
  await checkRows(m.model.kvDecoder, rows, 2);
});
