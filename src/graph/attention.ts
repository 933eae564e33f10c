// Attention as every architecture uses it: heads split and merged, rotary position embeddings,
// softmax(q kᵀ · scale + bias) v, the additive biases of a decoder step (causal + padding; which image a
// row attends to), self-attention over a KV cache and cross-attention to cached image K/V. Projections (fused or not, scaled before the
// product or not) stay in the architecture files: they are what differs.
import type { Graph, Value } from "./graph.js";

/** The most negative float32: what HF adds for masked positions. */
export const MASK_MIN = -3.4028234663852886e38;

/** [B, T, H·Dh] → [B, H, T, Dh]. */
export function splitHeads(g: Graph, x: Value, numHeads: number, headDim: number): Value {
  const r = g.reshape(x, [0, 0, numHeads, headDim]); // [B, T, H, Dh]
  return g.transpose(r, [0, 2, 1, 3]); // [B, H, T, Dh]
}

/** [B, H, T, Dh] → [B, T, H·Dh]. */
export function mergeHeads(g: Graph, x: Value, hidden: number): Value {
  const t = g.transpose(x, [0, 2, 1, 3]); // [B, T, H, Dh]
  return g.reshape(t, [0, 0, hidden]); // [B, T, D]
}

/**
 * A fused projection [B, T, n·H·Dh] (qkv, or kv) → n head-split tensors [B, H, T, Dh], in order:
 * the layout of GPT-2's c_attn, BLIP's and DaViT's qkv.
 */
export function splitFusedHeads(
  g: Graph,
  x: Value,
  parts: number,
  numHeads: number,
  headDim: number,
): Value[] {
  const r = g.reshape(x, [0, 0, parts, numHeads, headDim]); // [B, T, n, H, Dh]
  const t = g.transpose(r, [2, 0, 3, 1, 4]); // [n, B, H, T, Dh]
  return Array.from({ length: parts }, (_, i) => g.gather(t, g.scalarInt(i), 0)); // [B, H, T, Dh] each
}

/** HF rotate_half: [x1, x2] → [−x2, x1] over the last axis of width `dim`. */
export function rotateHalf(g: Graph, x: Value, dim: number): Value {
  const half = dim / 2;
  const x1 = g.slice(x, [0], [half], [-1]);
  const x2 = g.slice(x, [half], [dim], [-1]);
  return g.concat([g.neg(x2), x1], -1);
}

/**
 * HF apply_rotary_pos_emb on one head-split tensor: x·cos + rotate_half(x)·sin, cos/sin broadcastable
 * to x (e.g. [T, Dh] or [B, 1, T, Dh] against [B, H, T, Dh]). The angles are the architecture's
 * (1-D, 2-D image rows and columns, M-RoPE), computed outside and passed in.
 */
export function applyRotary(g: Graph, x: Value, cos: Value, sin: Value, dim: number): Value {
  return g.add(g.mul(x, cos), g.mul(rotateHalf(g, x, dim), sin));
}

export interface SdpaOptions {
  /** Multiplies q·kᵀ (1 when the architecture scales q before the product). */
  scale: number;
  /** Additive bias broadcastable to [B, H, Tq, Tk]. */
  mask?: Value;
}

/** softmax(q kᵀ · scale + mask) v on head-split tensors [B, H, T, Dh]. */
export function scaledDotProductAttention(g: Graph, q: Value, k: Value, v: Value, opts: SdpaOptions): Value {
  let scores = g.matmul(q, g.transpose(k, [0, 1, 3, 2])); // [B, H, Tq, Tk]
  if (opts.scale !== 1) scores = g.scale(scores, opts.scale);
  if (opts.mask) scores = g.add(scores, opts.mask);
  return g.matmul(g.softmax(scores, -1), v); // [B, H, Tq, Dh]
}

export interface AttentionOptions {
  numHeads: number;
  /** Default 1/√Dh. */
  scale?: number;
  mask?: Value;
}

/** Multi-head attention without a cache, on already projected q, k, v [B, T, D] → [B, Tq, D]. */
export function attention(
  g: Graph,
  q: Value,
  k: Value,
  v: Value,
  hidden: number,
  opts: AttentionOptions,
): Value {
  const headDim = hidden / opts.numHeads;
  const [qh, kh, vh] = [q, k, v].map((x) => splitHeads(g, x, opts.numHeads, headDim));
  const o = scaledDotProductAttention(g, qh, kh, vh, {
    scale: opts.scale ?? 1 / Math.sqrt(headDim),
    mask: opts.mask,
  });
  return mergeHeads(g, o, hidden);
}

/** One layer's self-attention keys and values, [B, Hkv, T, Dh] each. */
export interface KeyValue {
  key: Value;
  value: Value;
}

/**
 * The self-attention bias of a decoder step, [B, 1, T, P + T], from `attentionMask` [B, P + T] (bool,
 * true where the position holds a real token): new position i (absolute P + i) sees key j when
 * j ≤ P + i and j is real. One MASK_MIN, never a sum of two, so a query with no visible key (a pad)
 * gets a uniform softmax instead of NaN.
 */
export function selfAttentionBias(g: Graph, attentionMask: Value, newLength: Value): Value {
  const zero = g.scalarInt(0);
  const one = g.scalarInt(1);
  const total = g.squeeze(g.shape(attentionMask, 1, 2), [0]); // P + T
  const rows = g.add(g.op("Range", [zero, newLength, one]), g.sub(total, newLength)); // [T]: P … P + T − 1
  const cols = g.op("Range", [zero, total, one]); // [P + T]
  const causal = g.op("LessOrEqual", [g.unsqueeze(cols, [0]), g.unsqueeze(rows, [1])]); // [T, P + T]
  const real = g.unsqueeze(attentionMask, [1, 2]); // [B, 1, 1, P + T]
  const visible = g.op("And", [g.unsqueeze(causal, [0, 1]), real]); // [B, 1, T, P + T]
  return g.op("Where", [visible, g.scalarFloat(0), g.scalarFloat(MASK_MIN)]);
}

export interface CachedAttentionOptions {
  /** Multiplies q·kᵀ (1 when q was scaled before). */
  scale: number;
  /** Output width H·Dh. */
  hidden: number;
  /** Query heads per key/value head (grouped-query attention); default 1. */
  groups?: number;
}

/**
 * Self-attention of the new positions over [past ; new] keys. q [B, H, T, Dh]; `next` the new k/v
 * [B, Hkv, T, Dh]; `past` [B, Hkv, P, Dh] (P may be 0); `bias` from selfAttentionBias. Returns the
 * merged output [B, T, H·Dh] and the present k/v [B, Hkv, P + T, Dh] (the next step's past).
 */
export function cachedSelfAttention(
  g: Graph,
  q: Value,
  next: KeyValue,
  past: KeyValue,
  bias: Value,
  opts: CachedAttentionOptions,
): { out: Value; present: KeyValue } {
  const key = g.concat([past.key, next.key], 2); // [B, Hkv, P + T, Dh]
  const value = g.concat([past.value, next.value], 2);
  const groups = opts.groups ?? 1;
  const k = groups === 1 ? key : repeatKvHeads(g, key, groups);
  const v = groups === 1 ? value : repeatKvHeads(g, value, groups);
  const o = scaledDotProductAttention(g, q, k, v, { scale: opts.scale, mask: bias }); // [B, H, T, Dh]
  return { out: mergeHeads(g, o, opts.hidden), present: { key, value } };
}

/** [B, Hkv, T, Dh] → [B, Hkv·groups, T, Dh], each key/value head repeated for its query heads. */
export function repeatKvHeads(g: Graph, x: Value, groups: number): Value {
  const batch = g.shape(x, 0, 1);
  const rest = g.shape(x, 2, 4); // [T, Dh]
  const kvHeads = g.shape(x, 1, 2);
  const expand = g.concat([batch, kvHeads, g.constInt([groups]), rest], 0);
  const repeated = g.op("Expand", [g.unsqueeze(x, [2]), expand]); // [B, Hkv, groups, T, Dh]
  const heads = g.mul(kvHeads, g.constInt([groups]));
  return g.reshape(repeated, g.concat([batch, heads, rest], 0)); // [B, H, T, Dh]
}

/**
 * How a step's rows reach their images (the step graph's cross inputs, built by generation/kv-cache.ts):
 * the batch's I distinct images are stacked along axis 0, and the rows of each image are grouped so
 * that one product per image and head reads that image's K/V once, whatever the other rows attend to.
 */
export interface CrossLayout {
  /** [I, N] float: 0 on image i's tokens, MASK_MIN on the padding after them (images with fewer tokens). */
  bias: Value;
  /** [I, R] int64: the rows attending image i; an image with fewer than R rows repeats one (its output is dropped). */
  rows: Value;
  /** [B] int64: where row b's output lies among the I·R grouped rows. */
  slots: Value;
}

/**
 * Cross-attention to cached image K/V. q [B, T, H·Dh] (projected, not split); `cross` the K/V of the
 * batch's images stacked along axis 0, [I, H, N, Dh]. The rows of one image become query positions of
 * its entry ([I, H, R·T, Dh]): beams of one image read its K/V once, without copies, and rows of
 * different images never read each other's (each image's product is the one a row run alone has).
 * Returns [B, T, H·Dh].
 */
export function cachedCrossAttention(
  g: Graph,
  q: Value,
  cross: KeyValue,
  layout: CrossLayout,
  opts: { numHeads: number; headDim: number; scale: number },
): Value {
  const grouped = g.gather(q, layout.rows, 0); // [I, R, T, H·Dh]
  const qh = g.transpose(g.reshape(grouped, [0, -1, opts.numHeads, opts.headDim]), [0, 2, 1, 3]); // [I, H, R·T, Dh]
  // Scores as K·qᵀ, [I, H, N, R·T]: the image's keys are the GEMM's streamed operand, not a transposed
  // copy packed per step (q·Kᵀ measured 2.5× slower in a batch-8 ViT-GPT2 step: 10.8 against 4.3 ms).
  // The transpose back feeds the Add, not a MatMul, so ORT cannot fold it into a slower transposed product.
  let scores = g.transpose(g.matmul(cross.key, g.transpose(qh, [0, 1, 3, 2])), [0, 1, 3, 2]); // [I, H, R·T, N]
  if (opts.scale !== 1) scores = g.scale(scores, opts.scale);
  scores = g.add(scores, g.unsqueeze(layout.bias, [1, 2])); // + [I, 1, 1, N]
  const o = g.matmul(g.softmax(scores, -1), cross.value); // [I, H, R·T, Dh]
  const rowsOut = g.transpose(o, [0, 2, 1, 3]); // [I, R·T, H, Dh]
  const perRow = g.reshape(rowsOut, g.concat([g.constInt([-1]), g.shape(q, 1, 3)], 0)); // [I·R, T, H·Dh]
  return g.gather(perRow, layout.slots, 0); // [B, T, H·Dh]
}
