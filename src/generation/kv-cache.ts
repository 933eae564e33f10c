// What a KvDecoder run keeps between steps: the self-attention cache as the step graph returned it, which
// of its positions hold real tokens (left padding does not), and per row how many tokens it has and
// which source (request) it belongs to; plus the images' cross-attention K/V laid out for the batch.
// Beam reordering is lazy: `rows` says which stored row each row continues; the next step gathers them,
// and only when they moved (KvDecoder.step).
import { MASK_MIN } from "../graph/attention.js";
import { Tensor } from "../graph/session.js";
import type { CrossKv } from "../graph/step-graph.js";

export interface KvCache<S> {
  /** Per layer, [stored rows, Hkv, P, Dh]. */
  keys: Tensor[];
  values: Tensor[];
  /** [stored rows × P]: 1 where the position holds a real token. */
  mask: Uint8Array;
  /** P: positions stored per row (real or padding). */
  length: number;
  /** Row r continues stored row rows[r] (rows may repeat or be left out). */
  rows: number[];
  /** Per row: the real tokens it has, i.e. the position its next token gets. */
  past: number[];
  /** Per row: the source it belongs to. */
  sources: S[];
  /** The batch's images, as the last step fed them (reused while the rows' images stay the same). */
  cross?: CrossBatch;
}

/** The cache whose row i is row rows[i] of `cache` (beam reordering, dropping finished rows). */
export function reorderCache<S>(cache: KvCache<S>, rows: readonly number[]): KvCache<S> {
  return {
    ...cache,
    rows: rows.map((r) => cache.rows[r]),
    past: rows.map((r) => cache.past[r]),
    sources: rows.map((r) => cache.sources[r]),
  };
}

/** The mask of the cache's rows in row order, [rows × P]. */
export function rowMask<S>(cache: KvCache<S>): Uint8Array {
  const p = cache.length;
  const mask = new Uint8Array(cache.rows.length * p);
  cache.rows.forEach((r, i) => mask.set(cache.mask.subarray(r * p, (r + 1) * p), i * p));
  return mask;
}

/** Whether the cache's rows are its stored rows in order (nothing to gather). */
export function inRowOrder<S>(cache: KvCache<S>): boolean {
  const stored = cache.keys[0]?.dims[0] ?? cache.rows.length;
  return cache.rows.length === stored && cache.rows.every((r, i) => r === i);
}

/**
 * The cache with its rows gathered into row order (a copy of every tensor unless nothing moved), into
 * arrays from `alloc` (default: new memory).
 */
export function gatherCache<S>(
  cache: KvCache<S>,
  alloc: (length: number) => Float32Array = uninitialised,
): KvCache<S> {
  if (inRowOrder(cache)) return cache;
  const gather = (t: Tensor) => gatherRows(t, cache.rows, alloc);
  return {
    ...cache,
    keys: cache.keys.map(gather),
    values: cache.values.map(gather),
    mask: rowMask(cache),
    rows: cache.rows.map((_, i) => i),
  };
}

/** Rows `rows` of a [B, …] float32 tensor, in that order. */
function gatherRows(t: Tensor, rows: readonly number[], alloc: (length: number) => Float32Array): Tensor {
  const src = t.data as Float32Array;
  const rowSize = src.length / t.dims[0];
  const dst = alloc(rows.length * rowSize);
  rows.forEach((r, i) => dst.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new Tensor("float32", dst, [rows.length, ...t.dims.slice(1)]);
}

/** A Float32Array every element of which the caller writes: not zero-filled first (that would be a second pass). */
function uninitialised(length: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(length * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, length);
}

/**
 * Memory for caches gathered before a step, used again at the next one. A gathered cache lives for one
 * step only, and new memory costs more to fault in than the copy itself: a 3-beam Kosmos-2 cache
 * (106 MB) took 30–65 ms to gather into new memory, 19–21 ms into reused buffers. Buffers get a quarter
 * more room than asked, so that the cache's growth by one position per step fits for a while; at most
 * one gathered cache's worth is kept (greedy decoding never gathers, so keeps nothing).
 */
export class GatherBuffers {
  private free: ArrayBuffer[] = [];

  /** An array of `length` floats, not zeroed: in a free buffer that is large enough, else a new one. */
  take = (length: number): Float32Array => {
    const bytes = length * 4;
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    });
    const buffer = best >= 0 ? this.free.splice(best, 1)[0] : new ArrayBuffer(Math.ceil(bytes * 1.25));
    return new Float32Array(buffer, 0, length);
  };

  /** Hands back the buffers of a gathered cache's tensors once the step that read them has run. */
  give(tensors: readonly Tensor[]): void {
    for (const t of tensors) this.free.push((t.data as Float32Array).buffer as ArrayBuffer);
    // Keep one cache's worth (the latest): what the next gather of a beam search needs, no more.
    if (this.free.length > tensors.length) this.free.splice(0, this.free.length - tensors.length);
  }
}

/**
 * The rows of `a` then those of `b` in one cache (a request joining a running batch): the shorter one
 * is padded on the left with masked positions, so every row keeps its tokens and positions.
 */
export function joinCaches<S>(a: KvCache<S>, b: KvCache<S>): KvCache<S> {
  const x = gatherCache(a);
  const y = gatherCache(b);
  const length = Math.max(x.length, y.length);
  const rows = x.rows.length + y.rows.length;
  const mask = new Uint8Array(rows * length);
  const place = (c: KvCache<S>, first: number) =>
    c.rows.forEach((_, r) =>
      mask.set(c.mask.subarray(r * c.length, (r + 1) * c.length), (first + r) * length + length - c.length),
    );
  place(x, 0);
  place(y, x.rows.length);
  const join = (s: Tensor, t: Tensor) => concatRows(padPositions(s, length), padPositions(t, length));
  return {
    keys: x.keys.map((k, i) => join(k, y.keys[i])),
    values: x.values.map((v, i) => join(v, y.values[i])),
    mask,
    length,
    rows: Array.from({ length: rows }, (_, i) => i),
    past: [...x.past, ...y.past],
    sources: [...x.sources, ...y.sources],
  };
}

/** [B, H, P, Dh] → [B, H, length, Dh] with zeros before the P stored positions. */
function padPositions(t: Tensor, length: number): Tensor {
  const [b, h, p, d] = t.dims;
  if (p === length) return t;
  const src = t.data as Float32Array;
  const dst = new Float32Array(b * h * length * d);
  for (let i = 0; i < b * h; i++)
    dst.set(src.subarray(i * p * d, (i + 1) * p * d), (i * length + length - p) * d);
  return new Tensor("float32", dst, [b, h, length, d]);
}

function concatRows(a: Tensor, b: Tensor): Tensor {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data as Float32Array, 0);
  data.set(b.data as Float32Array, a.data.length);
  return new Tensor("float32", data, [a.dims[0] + b.dims[0], ...a.dims.slice(1)]);
}

/** The cross K/V of a batch's distinct images, stacked along axis 0 (one image: as is). */
export interface CrossBatch {
  images: CrossKv[];
  /** Per layer, [I, H, N, Dh] with N the most tokens of an image (fewer are padded with zeros after them). */
  keys: Tensor[];
  values: Tensor[];
  /** How many tokens each image has. */
  counts: number[];
}

/** The batch layout of the distinct `images` (reusing `previous` when it holds the same ones, in any order). */
export function crossBatch(images: readonly CrossKv[], previous?: CrossBatch): CrossBatch {
  if (
    previous &&
    previous.images.length === images.length &&
    images.every((x) => previous.images.includes(x))
  )
    return previous;
  const counts = images.map((img) => img.keys[0].dims[2]);
  if (images.length === 1)
    return { images: [...images], keys: images[0].keys, values: images[0].values, counts };
  const layers = images[0].keys.length;
  const stack = (pick: (img: CrossKv) => Tensor) => stackImages(images.map(pick));
  return {
    images: [...images],
    keys: Array.from({ length: layers }, (_, i) => stack((img) => img.keys[i])),
    values: Array.from({ length: layers }, (_, i) => stack((img) => img.values[i])),
    counts,
  };
}

/** [1, H, Nᵢ, Dh] tensors → [I, H, max Nᵢ, Dh], each image's tokens first and zeros after them. */
function stackImages(parts: Tensor[]): Tensor {
  const [, heads, , headDim] = parts[0].dims;
  const tokens = Math.max(...parts.map((t) => t.dims[2]));
  const perImage = heads * tokens * headDim;
  const dst = new Float32Array(parts.length * perImage);
  parts.forEach((t, i) => {
    const n = t.dims[2];
    const src = t.data as Float32Array;
    if (n === tokens) return dst.set(src, i * perImage);
    for (let h = 0; h < heads; h++)
      dst.set(src.subarray(h * n * headDim, (h + 1) * n * headDim), i * perImage + h * tokens * headDim);
  });
  return new Tensor("float32", dst, [parts.length, heads, tokens, headDim]);
}

/** The step graph's cross_bias, cross_rows and cross_slots for rows attending rowImages[r] of `batch`. */
export function crossLayout(
  batch: CrossBatch,
  rowImages: readonly number[],
): { bias: Tensor; rows: Tensor; slots: Tensor } {
  const images = batch.images.length;
  const tokens = Math.max(...batch.counts);
  const bias = new Float32Array(images * tokens);
  batch.counts.forEach((n, i) => bias.fill(MASK_MIN, i * tokens + n, (i + 1) * tokens));
  const byImage: number[][] = Array.from({ length: images }, () => []);
  rowImages.forEach((img, r) => byImage[img].push(r));
  const perImage = Math.max(...byImage.map((rows) => rows.length));
  const rows = new BigInt64Array(images * perImage);
  const slots = new BigInt64Array(rowImages.length);
  byImage.forEach((own, i) => {
    // The batch's images are its rows' images, so `own` is never empty; a shorter list repeats its last row.
    for (let j = 0; j < perImage; j++) rows[i * perImage + j] = BigInt(own[Math.min(j, own.length - 1)]);
    own.forEach((r, j) => (slots[r] = BigInt(i * perImage + j)));
  });
  return {
    bias: new Tensor("float32", bias, [images, tokens]),
    rows: new Tensor("int64", rows, [images, perImage]),
    slots: new Tensor("int64", slots, [rowImages.length]),
  };
}
