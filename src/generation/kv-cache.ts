// The self-attention KV cache as the decoder step graphs return it (one [B, H, T, Dh] tensor per layer
// for keys and for values), and the row gather beam search needs after it picks its beams.
import { Tensor } from "../graph/session.js";

export interface KvCache {
  keys: Tensor[];
  values: Tensor[];
}

/** Collects `present_key_i` / `present_value_i` outputs of a step graph into a cache. */
export function kvCacheFromOutputs(out: Record<string, Tensor>, layers: number): KvCache {
  const cache: KvCache = { keys: [], values: [] };
  for (let i = 0; i < layers; i++) {
    cache.keys.push(out[`present_key_${i}`]);
    cache.values.push(out[`present_value_${i}`]);
  }
  return cache;
}

/** Row i of the result is row rows[i] of the cache (beam reordering). */
export function reorderKvCache(cache: KvCache, rows: number[]): KvCache {
  return {
    keys: cache.keys.map((t) => gatherRows(t, rows)),
    values: cache.values.map((t) => gatherRows(t, rows)),
  };
}

/** Rows `rows` of a [B, …] float32 tensor, in that order. */
export function gatherRows(t: Tensor, rows: number[]): Tensor {
  const src = t.data as Float32Array;
  const rowSize = src.length / t.dims[0];
  const dst = new Float32Array(rows.length * rowSize);
  rows.forEach((r, i) => dst.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new Tensor("float32", dst, [rows.length, ...t.dims.slice(1)]);
}

/**
 * The `past_key_i` / `past_value_i` feeds of a step: the cache, or at the first step empty
 * [rows, heads, 0, headDim] tensors (the graphs concatenate past and present along T).
 */
export function pastFeeds(
  cache: KvCache | null,
  layers: number,
  rows: number,
  heads: number,
  headDim: number,
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  const empty = cache ? undefined : new Tensor("float32", new Float32Array(0), [rows, heads, 0, headDim]);
  for (let i = 0; i < layers; i++) {
    feeds[`past_key_${i}`] = cache ? cache.keys[i] : empty!;
    feeds[`past_value_${i}`] = cache ? cache.values[i] : empty!;
  }
  return feeds;
}
