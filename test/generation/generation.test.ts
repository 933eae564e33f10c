// Generation engine on a fake decoder whose next-token distribution is a table keyed by the row's
// sequence so far: expected outputs are derived by hand from HF 4.40's definitions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generate } from "../../src/generation/generate.js";
import {
  resolveGenerationConfig,
  generationConfigFromModelConfig,
  type GenerationOverrides,
} from "../../src/generation/config.js";
import type { DecoderSession } from "../../src/generation/decoder-session.js";
import { expNonPositive, logSoftmaxRows, topCandidates } from "../../src/generation/beam-search.js";

const VOCAB = 6;
const EOS = 0;
const START = 5;

/** Logits for a row: `table(seq)` gives probabilities for some tokens; the rest share what is left. */
type Probs = Partial<Record<number, number>>;
type Table = (seq: number[]) => Probs;

function logitsFor(probs: Probs): Float32Array {
  const out = new Float32Array(VOCAB);
  const given = Object.values(probs).reduce((a: number, b) => a + (b ?? 0), 0);
  const restCount = VOCAB - Object.keys(probs).length;
  const rest = restCount > 0 ? Math.max(1e-6, (1 - given) / restCount) : 0;
  for (let t = 0; t < VOCAB; t++) out[t] = Math.log(probs[t] ?? rest);
  return out;
}

/** A DecoderSession whose cache is simply every row's sequence; counts rows fed at each step. */
function fakeDecoder(table: Table) {
  const calls: { rows: number; seqLen: number }[] = [];
  const session: DecoderSession<number[][]> = {
    async step(inputIds, cache) {
      const seqs = cache ? cache.map((s, i) => [...s, ...inputIds[i]]) : inputIds.map((r) => r.slice());
      calls.push({ rows: inputIds.length, seqLen: inputIds[0].length });
      const logits = new Float32Array(seqs.length * VOCAB);
      seqs.forEach((s, r) => logits.set(logitsFor(table(s)), r * VOCAB));
      return { logits, cache: seqs };
    },
    reorder(cache, rows) {
      return rows.map((r) => cache[r].slice());
    },
  };
  return { session, calls };
}

const MODEL = { bos_token_id: START, eos_token_id: EOS, decoder_start_token_id: START, pad_token_id: EOS };
const config = (overrides: GenerationOverrides) => resolveGenerationConfig(MODEL, undefined, overrides);
const last = (seq: number[]) => seq[seq.length - 1];

test("greedy: stops after EOS (kept in the output) and counts steps", async () => {
  const { session } = fakeDecoder((s) => (s.length < 3 ? { [s.length]: 0.9 } : { [EOS]: 0.9 }));
  const r = await generate(session, [START], config({ max_new_tokens: 10 }));
  assert.deepEqual(r.sequence, [START, 1, 2, EOS]);
  assert.equal(r.steps, 3);
  assert.equal(r.score, undefined);
});

test("greedy: max_new_tokens counts from the prompt, max_length includes it, max_new_tokens wins", async () => {
  const table: Table = () => ({ 3: 0.9 });
  const a = await generate(fakeDecoder(table).session, [START, 1], config({ max_new_tokens: 3 }));
  assert.deepEqual(a.sequence, [START, 1, 3, 3, 3]);
  const b = await generate(fakeDecoder(table).session, [START, 1], config({ max_length: 3 }));
  assert.deepEqual(b.sequence, [START, 1, 3]);
  const c = await generate(
    fakeDecoder(table).session,
    [START, 1],
    config({ max_length: 3, max_new_tokens: 2 }),
  );
  assert.deepEqual(c.sequence, [START, 1, 3, 3]);
  // Even a prompt already at max_length gets one token (HF checks the criteria after a step).
  const d = await generate(fakeDecoder(table).session, [START, 1, 2], config({ max_length: 2 }));
  assert.deepEqual(d.sequence, [START, 1, 2, 3]);
});

test("greedy: the first step feeds the whole prompt, later steps one token", async () => {
  const { session, calls } = fakeDecoder(() => ({ 2: 0.9 }));
  await generate(session, [START, 1, 1], config({ max_new_tokens: 3 }));
  assert.deepEqual(calls, [
    { rows: 1, seqLen: 3 },
    { rows: 1, seqLen: 1 },
    { rows: 1, seqLen: 1 },
  ]);
});

test("suppress_tokens bans tokens at every step; begin_suppress_tokens only at the first generated position", async () => {
  const table: Table = () => ({ 1: 0.5, 2: 0.3, 3: 0.1 });
  const a = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_new_tokens: 2, suppress_tokens: [1] }),
  );
  assert.deepEqual(a.sequence, [START, 2, 2]);
  const b = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_new_tokens: 2, begin_suppress_tokens: [1] }),
  );
  assert.deepEqual(b.sequence, [START, 2, 1]);
});

test("min_length / min_new_tokens ban EOS until the length is reached", async () => {
  const table: Table = () => ({ [EOS]: 0.6, 4: 0.3 });
  const a = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_new_tokens: 10, min_length: 3 }),
  );
  // Length 1 and 2 may not end: two 4s, then EOS at length 3.
  assert.deepEqual(a.sequence, [START, 4, 4, EOS]);
  const b = await generate(
    fakeDecoder(table).session,
    [START, 1],
    config({ max_new_tokens: 10, min_new_tokens: 2 }),
  );
  assert.deepEqual(b.sequence, [START, 1, 4, 4, EOS]);
});

test("repetition_penalty divides positive and multiplies negative logits of seen tokens", async () => {
  // Raw logits: token 1 = 2.0 (seen in the prompt), token 2 = 1.5. Penalty 2 → token 1 = 1.0 < 1.5.
  const raw = new Float32Array(VOCAB).fill(-5);
  raw[1] = 2.0;
  raw[2] = 1.5;
  const session: DecoderSession<null> = {
    step: async () => ({ logits: raw.slice(), cache: null }),
    reorder: () => null,
  };
  const a = await generate(session, [START, 1], config({ max_new_tokens: 1, repetition_penalty: 2 }));
  assert.deepEqual(a.sequence, [START, 1, 2]);
  const b = await generate(session, [START, 1], config({ max_new_tokens: 1, repetition_penalty: 1.2 }));
  assert.deepEqual(b.sequence, [START, 1, 1]);
  // A negative seen logit gets more negative: -5 · 2 = -10 loses to the unseen -5s (first index wins).
  raw.fill(-5);
  raw[3] = -4.5;
  const c = await generate(session, [START, 3], config({ max_new_tokens: 1, repetition_penalty: 2 }));
  assert.deepEqual(c.sequence, [START, 3, 0]);
});

test("no_repeat_ngram_size bans the token that would repeat an n-gram", async () => {
  // Always prefers 1 then 2: with bigram blocking, after [.. 1, 2, 1] the bigram (1, 2) is banned.
  const table: Table = () => ({ 1: 0.5, 2: 0.4 });
  const plain = await generate(fakeDecoder(table).session, [START], config({ max_new_tokens: 4 }));
  assert.deepEqual(plain.sequence, [START, 1, 1, 1, 1]);
  const blocked = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_new_tokens: 4, no_repeat_ngram_size: 2 }),
  );
  // After [S,1]: (1,1) unused → 1; then (1,1) seen → 2; then (2,1) unused → 1.
  assert.deepEqual(blocked.sequence, [START, 1, 1, 2, 1]);
  // Then both (1,1) and (1,2) are seen: the rest tie and the first index (EOS) wins.
  const blocked2 = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_new_tokens: 5, no_repeat_ngram_size: 2 }),
  );
  assert.deepEqual(blocked2.sequence, [START, 1, 1, 2, 1, EOS]);
});

test("forced_bos_token_id forces the first token, forced_eos_token_id the one reaching max_length", async () => {
  const table: Table = () => ({ 4: 0.9 });
  const r = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_length: 5, forced_bos_token_id: 2, forced_eos_token_id: EOS }),
  );
  assert.deepEqual(r.sequence, [START, 2, 4, 4, EOS]);
});

test("bad_words_ids: single tokens always, longer ones after their prefix; [eos] is ignored", async () => {
  const table: Table = () => ({ 4: 0.5, 3: 0.3, [EOS]: 0.15 });
  const r = await generate(
    fakeDecoder(table).session,
    [START],
    config({ max_new_tokens: 3, bad_words_ids: [[EOS], [1, 4], [4, 4]] }),
  );
  // [4,4] bans 4 right after a 4: 4, 3, 4.
  assert.deepEqual(r.sequence, [START, 4, 3, 4]);
});

test("beam search: EOS hypotheses are scored by generated length incl. EOS; the winner gets EOS appended", async () => {
  // Step 1 from [S]: 1 (0.5), 2 (0.3), EOS (0.1). Beams: [S,1] ln .5, [S,2] ln .3.
  // Step 2: after 1: EOS .6, 3 .2; after 2: 3 .9.
  //   [S,1]+EOS finishes: sum ln(.5·.6) = -1.204, generated_len 2 (HF 4.40: cur_len + 1 − prompt) → -0.602.
  // Step 3: after 3 EOS .3, 4 .6 — [S,2,3]+EOS: ln(.3·.9·.3) = -2.513 / 3 = -0.838 (worse than -0.602).
  const table: Table = (s) => {
    if (s.length === 1) return { 1: 0.5, 2: 0.3, [EOS]: 0.1 };
    if (last(s) === 1) return { [EOS]: 0.6, 3: 0.2 };
    if (last(s) === 2) return { 3: 0.9 };
    if (last(s) === 3) return { [EOS]: 0.3, 4: 0.6 };
    return { 4: 0.9 };
  };
  const r = await generate(fakeDecoder(table).session, [START], config({ num_beams: 2, max_new_tokens: 3 }));
  assert.deepEqual(r.sequence, [START, 1, EOS]);
  assert.ok(Math.abs(r.score! - Math.log(0.5 * 0.6) / 2) < 1e-5, String(r.score));
});

test("beam search: an open beam at max_length wins when its length-normalised score is best", async () => {
  const table: Table = (s) => (s.length === 1 ? { 1: 0.6, 2: 0.3 } : { 3: 0.95, [EOS]: 0.02 });
  const { session, calls } = fakeDecoder(table);
  const r = await generate(session, [START], config({ num_beams: 3, max_new_tokens: 3 }));
  assert.deepEqual(r.sequence, [START, 1, 3, 3]);
  assert.ok(Math.abs(r.score! - Math.log(0.6 * 0.95 * 0.95) / 3) < 1e-5);
  // Every beam row gets the full prompt at the first step.
  assert.deepEqual(calls[0], { rows: 3, seqLen: 1 });
  assert.equal(r.steps, 3);
});

test("beam search early_stopping=true stops as soon as num_beams hypotheses are finished", async () => {
  const table: Table = (s) => (s.length === 1 ? { 1: 0.5, 2: 0.4 } : { [EOS]: 0.7, 3: 0.2 });
  const early = await generate(
    fakeDecoder(table).session,
    [START],
    config({ num_beams: 2, max_new_tokens: 10, early_stopping: true }),
  );
  // Step 2: both beams' EOS are in the top 2 → 2 hypotheses → done.
  assert.equal(early.steps, 2);
  assert.deepEqual(early.sequence, [START, 1, EOS]);
  // early_stopping=false: at step 2 the best candidate could still win (ln .35 / 2 > worst ln .28 / 2);
  // at step 3 it cannot (ln .07 / 3 < ln .28 / 2).
  const heuristic = await generate(
    fakeDecoder(table).session,
    [START],
    config({ num_beams: 2, max_new_tokens: 10 }),
  );
  assert.equal(heuristic.steps, 3);
  assert.deepEqual(heuristic.sequence, [START, 1, EOS]);
});

test("resolveGenerationConfig: HF defaults, generation_config.json, app defaults for unset fields, overrides last", () => {
  const base = resolveGenerationConfig({}, undefined, {});
  assert.equal(base.maxLength, 20);
  assert.equal(base.numBeams, 1);
  assert.equal(base.lengthPenalty, 1.0);
  assert.equal(base.earlyStopping, false);
  assert.equal(base.maxNewTokens, null);
  assert.deepEqual(base.eosTokenId, []);

  const json = {
    _from_model_config: true,
    bos_token_id: 7,
    eos_token_id: [7, 8],
    decoder_start_token_id: 7,
    num_beams: 3,
  };
  const cfg = resolveGenerationConfig({}, json, { max_new_tokens: 5 }, { max_length: 16, num_beams: 4 });
  assert.equal(cfg.numBeams, 3, "the folder's explicit num_beams beats the app default");
  assert.equal(cfg.maxLength, 16, "the app default fills what the folder leaves unset");
  assert.equal(cfg.maxNewTokens, 5);
  assert.deepEqual(cfg.eosTokenId, [7, 8]);
  assert.equal(cfg.padTokenId, 7, "pad defaults to the first EOS id");

  assert.throws(() => resolveGenerationConfig({}, undefined, { num_beams: 0 }), /num_beams/);
  assert.throws(() => resolveGenerationConfig({}, undefined, { max_new_tokens: 0 }), /max_new_tokens/);
});

test("from_model_config: top-level fields, then the decoder's for fields still at their default", () => {
  const values = generationConfigFromModelConfig({
    eos_token_id: 2,
    max_length: 20,
    decoder: { num_beams: 5, eos_token_id: 9, max_length: 30 },
  });
  assert.equal(values.num_beams, 5);
  assert.equal(values.eos_token_id, 2);
  assert.equal(values.max_length, 30);
  // The legacy rule: a generation_config.json made from the model config is ignored when the model
  // config has since gained generation parameters.
  const cfg = resolveGenerationConfig({ num_beams: 2 }, { _from_model_config: true, num_beams: 1 }, {});
  assert.equal(cfg.numBeams, 2);
});

test("topCandidates equals a full sort (ties: lower index first) and log-softmax normalises", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const rows = 3;
  const vocab = 500;
  const scores = Float32Array.from({ length: rows * vocab }, () => Math.round(rand() * 50) / 10);
  const beamScores = Float32Array.from([0, -0.5, -1]);
  const got = topCandidates(scores, beamScores, vocab, 6);
  const all = Array.from(scores, (s, i) => ({ v: Math.fround(s + beamScores[Math.floor(i / vocab)]), i }));
  all.sort((a, b) => b.v - a.v || a.i - b.i);
  assert.deepEqual(
    got.map((c) => c.beam * vocab + c.token),
    all.slice(0, 6).map((x) => x.i),
  );
  const lsm = logSoftmaxRows(scores, rows, vocab);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let t = 0; t < vocab; t++) sum += Math.exp(lsm[r * vocab + t]);
    assert.ok(Math.abs(sum - 1) < 1e-4);
  }
});

test("expNonPositive matches Math.exp to 1e-8 relative on (-87, 0]", () => {
  for (let i = 0; i <= 20000; i++) {
    const d = -(i / 20000) * 87;
    const e = Math.exp(d);
    assert.ok(Math.abs(expNonPositive(d) - e) <= 1e-8 * e, `e^${d}`);
  }
  assert.equal(expNonPositive(-100), 0);
  assert.equal(expNonPositive(0), 1);
});

test("an aborted signal stops generation between steps with REQUEST_CANCELLED", async () => {
  for (const numBeams of [1, 3]) {
    const controller = new AbortController();
    const { session, calls } = fakeDecoder(() => ({ 1: 0.9 }));
    const aborting: DecoderSession<number[][]> = {
      ...session,
      async step(ids, cache) {
        const out = await session.step(ids, cache);
        if (calls.length === 2) controller.abort();
        return out;
      },
    };
    await assert.rejects(
      generate(aborting, [START], config({ max_new_tokens: 10, num_beams: numBeams }), {
        signal: controller.signal,
      }),
      { code: "REQUEST_CANCELLED" },
    );
    assert.equal(calls.length, 2, `num_beams ${numBeams}: no step after the abort`);
  }
  const before = fakeDecoder(() => ({ 1: 0.9 }));
  await assert.rejects(
    generate(before.session, [START], config({ max_new_tokens: 10 }), { signal: AbortSignal.abort() }),
    { code: "REQUEST_CANCELLED" },
  );
  assert.equal(before.calls.length, 0);
});

test("a generation longer than the decoder's positions is refused before any step", async () => {
  const { session, calls } = fakeDecoder(() => ({ 1: 0.9 }));
  const limited: DecoderSession<number[][]> = { ...session, maxPositions: 6 };
  // Prompt 2 + 5 new tokens: the last token is never fed back, so 6 positions suffice.
  const r = await generate(limited, [START, 1], config({ max_new_tokens: 5 }));
  assert.equal(r.sequence.length, 7);
  await assert.rejects(generate(limited, [START, 1], config({ max_new_tokens: 6 })), {
    code: "INVALID_ARGUMENT",
  });
  assert.equal(calls.length, 5);
});
