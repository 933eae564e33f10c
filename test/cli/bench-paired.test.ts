// The benches' same-process comparisons: a decode step that can be timed again and again (bench/quantize's
// paired float32 / quantized step), its column in the quantize table, and bench/kernels.ts's weight-product
// rates by format and rows, measured here on tiny inputs.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { measureKernels, kernelTable } from "../../bench/kernels.js";
import { alternate } from "../../bench/lib/alternate.js";
import { decoderRow, repeatableStep, stepAlong } from "../../bench/lib/decoder-rows.js";
import { formatQuantTable, type VariantResult } from "../../bench/quantize.js";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import { fixtureDir } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/temp-dir.js";

const model = await loadModel(fixtureDir("vit-gpt2"), { threads: 1 });
after(() => model.dispose());

test("repeatableStep runs the same step each time: the greedy step `past` tokens into the caption", async () => {
  const image = await readImageFile(join(fixtureDir("vit-gpt2"), "image1.png"));
  const row = await decoderRow(model, image);
  const greedy = await stepAlong(row, 5);
  const step = await repeatableStep(row, 3);
  const picks: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = (await step()) as { logits: Float32Array };
    const scores = out.logits.slice();
    scores[row.eos] = -Infinity;
    picks.push(scores.indexOf(Math.max(...scores)));
  }
  assert.deepEqual(picks, [greedy[4], greedy[4]]);
});

test("alternate times every variant each round, forwards then backwards", async () => {
  const order: number[] = [];
  const times = await alternate(
    [0, 1, 2].map((i) => async () => order.push(i)),
    2,
  );
  assert.deepEqual(order, [0, 1, 2, 0, 1, 2, 2, 1, 0]); // warm-up, then ABBA
  assert.deepEqual(
    times.map((t) => t.length),
    [2, 2, 2],
  );
});

test("the quantize table shows the paired step beside float32's", () => {
  const base: VariantResult = {
    variant: "fp32",
    loadMs: 1000,
    encoderMs: 100,
    greedy20Ms: 2000,
    decodeStepMs: 90,
    rssMiB: 500,
    peakRssMiB: 600,
    top1Agreement: 1,
    greedyPrefix: 20,
    load: [1, 1],
  };
  const q8: VariantResult = {
    ...base,
    variant: "q8",
    decodeStepMs: 40,
    pairedStep: { ms: 36, fp32Ms: 90, speedup: 2.5, rounds: 10 },
  };
  const table = formatQuantTable("vit-gpt2", [base, q8]);
  assert.match(table, /paired step \(fp32\)/);
  assert.match(table.split("\n")[2], /36\.0 \(90\.0\) ms 2\.50×/);
});

test("bench/kernels.ts: rates per format and rows, the formats' stored bytes, gains against 1 row and fp32", async () => {
  const folder = tempDir("sl-kernels-");
  const rates = await measureKernels({
    threads: 1,
    rounds: 2,
    rows: [1, 2],
    stack: { layers: 1, dim: 64, ffn: 128 },
    folder,
  });
  assert.deepEqual(
    rates.map((r) => `${r.format}/${r.rows}`),
    ["fp32/1", "fp32/2", "q8/1", "q8/2", "q4/1", "q4/2"],
  );
  const bytes = Object.fromEntries(rates.map((r) => [r.format, r.weightGB * 1e9]));
  assert.equal(bytes.fp32, 2 * 64 * 128 * 4);
  assert.equal(bytes.q8, (2 * 64 * 128 * (32 + 4)) / 32); // 8-bit codes and a float32 scale per 32
  assert.equal(bytes.q4, (2 * 64 * 128 * (16 + 4)) / 32);
  for (const r of rates) assert.ok(r.ms > 0 && r.GBs > 0 && r.batchGain > 0 && r.vsFp32 > 0);
  assert.equal(rates[0].batchGain, 1);
  assert.equal(rates[0].vsFp32, 1);
  assert.equal(kernelTable(rates).length, 7);
});
