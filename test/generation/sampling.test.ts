// Sampling (do_sample) against HF's warper definitions, computed by hand: TemperatureLogitsWarper,
// TopKLogitsWarper (ties with the k-th kept), TopPLogitsWarper (ascending cumulative probability ≤
// 1 − top_p removed, the most likely token always kept), their order after the other processors,
// and the draws: seeded (the same seed gives the same tokens), proportional to the probabilities,
// never a removed token. Also how the folder's do_sample is treated (greedy unless asked).
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveGenerationConfig } from "../../src/generation/config.js";
import type { DecoderSession } from "../../src/generation/decoder-session.js";
import { generate } from "../../src/generation/generate.js";
import { buildLogitsProcessors, temperature, topK, topP } from "../../src/generation/logits-processors.js";
import { SeededRandom, sampleToken } from "../../src/generation/sampling.js";
import { generationOverrides } from "../../src/models/generation-overrides.js";

const NEG = -Infinity;
const probsOf = (p: number[]) => Float32Array.from(p, Math.log);

test("temperature divides every score", () => {
  const s = Float32Array.from([2, -1, 0.5]);
  temperature(0.5)([[1]], s, 3);
  assert.deepEqual(Array.from(s), [4, -2, 1]);
});

test("top-k keeps the k largest per row and ties with the k-th; the rest become -inf", () => {
  const s = Float32Array.from([1, 3, 2, 2, 0, /* row 2 */ 5, 4, 3, 2, 1]);
  topK(2)([[0], [0]], s, 5);
  assert.deepEqual(Array.from(s), [NEG, 3, 2, 2, NEG, 5, 4, NEG, NEG, NEG]);
  const all = Float32Array.from([1, 2]);
  topK(10)([[0]], all, 2); // k above the vocabulary keeps everything
  assert.deepEqual(Array.from(all), [1, 2]);
});

test("top-p removes the least likely tokens whose cumulative probability stays ≤ 1 − top_p", () => {
  // Probabilities 0.5, 0.3, 0.15, 0.05: ascending cumsum 0.05, 0.2, 0.5, 1.0.
  const s = probsOf([0.5, 0.3, 0.15, 0.05]);
  topP(0.75)([[0]], s, 4); // 1 − 0.75 = 0.25: 0.05 and 0.15 go
  assert.deepEqual(
    Array.from(s, (v) => v === NEG),
    [false, false, true, true],
  );
  const tiny = probsOf([0.5, 0.3, 0.15, 0.05]);
  topP(0.01)([[0]], tiny, 4); // only the most likely token stays (min_tokens_to_keep 1)
  assert.deepEqual(
    Array.from(tiny, (v) => v === NEG),
    [false, true, true, true],
  );
  const one = probsOf([0.5, 0.3, 0.15, 0.05]);
  topP(1)([[0]], one, 4);
  assert.ok(Array.from(one).every(Number.isFinite));
});

test("warpers run after the processors, in HF's order: temperature, top-k, top-p", () => {
  const cfg = resolveGenerationConfig({}, undefined, {
    do_sample: true,
    temperature: 2,
    top_k: 3,
    top_p: 0.6,
    repetition_penalty: 2,
  });
  const processors = buildLogitsProcessors(cfg, 1, 20);
  assert.equal(processors.length, 4);
  // Probabilities 0.4, 0.3, 0.2, 0.1 → temperature 2 flattens them to ∝ √p: 0.337, 0.292, 0.238, 0.169.
  // Token 0 was seen (the prompt): its logit log 0.4 < 0 is multiplied by 2 first → ∝ p² = 0.16.
  const s = probsOf([0.4, 0.3, 0.2, 0.1]);
  for (const p of processors) p([[0]], s, 4);
  // After the penalty: 0.16, 0.3, 0.2, 0.1 (unnormalised); temperature: √ → 0.4, 0.548, 0.447, 0.316;
  // top-3 drops token 3; top-p 0.6 on 0.286, 0.391, 0.319 (ascending cumsum 0.286, 0.605): token 0 goes.
  assert.deepEqual(
    Array.from(s, (v) => v === NEG),
    [true, false, false, true],
  );
});

test("sampleToken draws in proportion to the probabilities and never a -inf token", () => {
  const random = new SeededRandom(42);
  const scores = Float32Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1), NEG]);
  const counts = [0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sampleToken(scores, 0, 4, random)]!++;
  assert.equal(counts[3], 0);
  [0.6, 0.3, 0.1].forEach((p, t) =>
    assert.ok(Math.abs(counts[t]! / n - p) < 0.015, `token ${t}: ${counts[t]}`),
  );
});

test("the same seed gives the same draws; another seed other ones", () => {
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  const c = new SeededRandom(8);
  const xs = Array.from({ length: 16 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 16 }, () => b.next()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 16 }, () => c.next()),
    xs,
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

/** A decoder with the same flat distribution over 50 tokens at every step (token 0 is EOS). */
const flat: DecoderSession<null> = {
  async step(inputIds) {
    const logits = new Float32Array(inputIds.length * 50);
    for (let i = 0; i < logits.length; i++) logits[i] = (i % 50 === 0 ? -5 : 0) + ((i * 7919) % 13) / 13;
    return { logits, cache: null };
  },
  reorder: () => null,
};

test("seeded sampling through generate() is reproducible and stops at max_new_tokens or EOS", async () => {
  const cfg = (seed: number) =>
    resolveGenerationConfig({ eos_token_id: 0 }, undefined, {
      do_sample: true,
      seed,
      max_new_tokens: 12,
      top_k: 0,
    });
  const one = await generate(flat, [1, 2], cfg(5));
  const two = await generate(flat, [1, 2], cfg(5));
  const other = await generate(flat, [1, 2], cfg(6));
  assert.deepEqual(one.sequence, two.sequence);
  assert.notDeepEqual(one.sequence, other.sequence);
  assert.deepEqual(one.sequence.slice(0, 2), [1, 2]);
  assert.ok(one.sequence.length <= 14);
});

test("a folder that samples (Qwen3-VL's generation_config) decodes greedily unless a request asks", () => {
  const folder = { do_sample: true, temperature: 0.7, top_k: 20, top_p: 0.8, eos_token_id: [1, 2] };
  const plain = resolveGenerationConfig({}, folder, {});
  assert.equal(plain.doSample, false);
  const asked = resolveGenerationConfig({}, folder, generationOverrides({ sample: { seed: 3 } }));
  assert.equal(asked.doSample, true);
  assert.deepEqual([asked.temperature, asked.topK, asked.topP, asked.seed], [0.7, 20, 0.8, 3]);
  assert.equal(asked.numBeams, 1);
  const mine = resolveGenerationConfig(
    {},
    folder,
    generationOverrides({ sample: { temperature: 1.2, topP: 0.5 } }),
  );
  assert.deepEqual([mine.temperature, mine.topK, mine.topP], [1.2, 20, 0.5]);
  assert.throws(
    () => resolveGenerationConfig({}, folder, generationOverrides({ sample: {}, numBeams: 3 })),
    /num_beams must be 1/,
  );
  assert.throws(
    () => resolveGenerationConfig({}, folder, generationOverrides({ sample: { temperature: 0 } })),
    /temperature/,
  );
});
