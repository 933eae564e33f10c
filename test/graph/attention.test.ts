// The shared attention blocks against a plain JavaScript softmax(q kᵀ · scale) v: self-attention over a
// cache with padding and grouped-query heads, and cross-attention of rows to different images' K/V
// concatenated along their tokens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../src/graph/graph.js";
import {
  cachedCrossAttention,
  MASK_MIN,
  cachedSelfAttention,
  selfAttentionBias,
} from "../../src/graph/attention.js";
import { dim } from "../../src/graph/nn.js";
import { createSession, Tensor } from "../../src/graph/session.js";
import { maxAbsDiff } from "../helpers/fixtures.js";

let seed = 11;
const rand = (n: number) =>
  Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
const f32 = (data: Float32Array, dims: number[]) => new Tensor("float32", data, dims);

/** softmax(q·kᵀ·scale over keys where visible) · v for one query vector; k, v: lists of vectors. */
function attend(q: Float32Array, keys: Float32Array[], values: Float32Array[], scale: number): Float32Array {
  const scores = keys.map((k) => k.reduce((s, x, i) => s + x * q[i], 0) * scale);
  const max = Math.max(...scores);
  const w = scores.map((s) => Math.exp(s - max));
  const sum = w.reduce((a, b) => a + b, 0);
  const out = new Float32Array(q.length);
  values.forEach((v, j) => v.forEach((x, i) => (out[i] += (w[j] / sum) * x)));
  return out;
}

/** Vector [.., h, t, :] of a [B, H, T, Dh] array. */
const at = (a: Float32Array, dims: number[], b: number, h: number, t: number) => {
  const [, H, T, D] = dims;
  const o = ((b * H + h) * T + t) * D;
  return a.subarray(o, o + D);
};

test("cached self-attention: padding and past keys masked per row, grouped-query heads", async () => {
  const [B, H, Hkv, P, T, Dh] = [2, 4, 2, 3, 2, 5];
  const g = new Graph("self");
  const q = g.input("q", "float32", [B, H, T, Dh]);
  const k = g.input("k", "float32", [B, Hkv, T, Dh]);
  const v = g.input("v", "float32", [B, Hkv, T, Dh]);
  const pk = g.input("pk", "float32", [B, Hkv, P, Dh]);
  const pv = g.input("pv", "float32", [B, Hkv, P, Dh]);
  const mask = g.input("mask", "bool", [B, P + T]);
  const bias = selfAttentionBias(g, mask, dim(g, q, 2));
  const a = cachedSelfAttention(g, q, { key: k, value: v }, { key: pk, value: pv }, bias, {
    scale: 0.5,
    hidden: H * Dh,
    groups: H / Hkv,
  });
  g.output(a.out, "out");
  g.output(a.present.key, "present_key");
  const s = await createSession(g, undefined, { threads: 1 });
  const data = {
    q: rand(B * H * T * Dh),
    k: rand(B * Hkv * T * Dh),
    v: rand(B * Hkv * T * Dh),
    pk: rand(B * Hkv * P * Dh),
    pv: rand(B * Hkv * P * Dh),
  };
  // Row 0: all real; row 1: its first two cached positions are left padding.
  const real = [
    [1, 1, 1, 1, 1],
    [0, 0, 1, 1, 1],
  ];
  const out = await s.run({
    q: f32(data.q, [B, H, T, Dh]),
    k: f32(data.k, [B, Hkv, T, Dh]),
    v: f32(data.v, [B, Hkv, T, Dh]),
    pk: f32(data.pk, [B, Hkv, P, Dh]),
    pv: f32(data.pv, [B, Hkv, P, Dh]),
    mask: new Tensor("bool", Uint8Array.from(real.flat()), [B, P + T]),
  });
  assert.deepEqual(out.present_key.dims, [B, Hkv, P + T, Dh]);
  const got = out.out.data as Float32Array; // [B, T, H·Dh]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / (H / Hkv));
      for (let t = 0; t < T; t++) {
        const keys: Float32Array[] = [];
        const values: Float32Array[] = [];
        for (let j = 0; j <= P + t; j++) {
          if (!real[b][j]) continue;
          const fromPast = j < P;
          keys.push(
            fromPast ? at(data.pk, [B, Hkv, P, Dh], b, kvh, j) : at(data.k, [B, Hkv, T, Dh], b, kvh, j - P),
          );
          values.push(
            fromPast ? at(data.pv, [B, Hkv, P, Dh], b, kvh, j) : at(data.v, [B, Hkv, T, Dh], b, kvh, j - P),
          );
        }
        const want = attend(at(data.q, [B, H, T, Dh], b, h, t), keys, values, 0.5);
        const o = (b * T + t) * H * Dh + h * Dh;
        assert.ok(maxAbsDiff(got.subarray(o, o + Dh), want) < 1e-5, `row ${b} head ${h} position ${t}`);
      }
    }
  }
  await s.release();
});

test("cached cross-attention: each row attends to its own image among the batch's", async () => {
  const [B, T, H, Dh] = [3, 2, 2, 4];
  const counts = [3, 5]; // image tokens; image 0 is padded to 5
  const rowImage = [1, 0, 1];
  const N = Math.max(...counts);
  const g = new Graph("cross");
  const q = g.input("q", "float32", [B, T, H * Dh]);
  const key = g.input("key", "float32", [2, H, N, Dh]);
  const value = g.input("value", "float32", [2, H, N, Dh]);
  const layout = {
    bias: g.input("cross_bias", "float32", [2, N]),
    rows: g.input("cross_rows", "int64", [2, 2]),
    slots: g.input("cross_slots", "int64", [B]),
  };
  g.output(
    cachedCrossAttention(g, q, { key, value }, layout, { numHeads: H, headDim: Dh, scale: 0.7 }),
    "out",
  );
  const s = await createSession(g, undefined, { threads: 1 });
  // Padding keys get large values: a leak through the mask would show.
  const data = {
    q: rand(B * T * H * Dh),
    key: rand(2 * H * N * Dh).map((x) => x * 50),
    value: rand(2 * H * N * Dh).map((x) => x * 50),
  };
  const biasData = new Float32Array(2 * N);
  biasData.fill(MASK_MIN, counts[0], N);
  const out = await s.run({
    q: f32(data.q, [B, T, H * Dh]),
    key: f32(data.key, [2, H, N, Dh]),
    value: f32(data.value, [2, H, N, Dh]),
    cross_bias: f32(biasData, [2, N]),
    // image 0: row 1 (its second slot repeats it); image 1: rows 0 and 2
    cross_rows: new Tensor("int64", BigInt64Array.from([1n, 1n, 0n, 2n]), [2, 2]),
    cross_slots: new Tensor("int64", BigInt64Array.from([2n, 0n, 3n]), [B]),
  });
  const got = out.out.data as Float32Array;
  assert.deepEqual(out.out.dims, [B, T, H * Dh]);
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const img = rowImage[r];
        const tokens = Array.from({ length: counts[img] }, (_, j) => j);
        const qo = (r * T + t) * H * Dh + h * Dh;
        const want = attend(
          data.q.subarray(qo, qo + Dh),
          tokens.map((j) => at(data.key, [2, H, N, Dh], img, h, j)),
          tokens.map((j) => at(data.value, [2, H, N, Dh], img, h, j)),
          0.7,
        );
        assert.ok(maxAbsDiff(got.subarray(qo, qo + Dh), want) < 1e-4, `row ${r} position ${t} head ${h}`);
      }
    }
  }
  await s.release();
});
