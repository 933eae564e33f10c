// The GPT-2 step graph behind the generation engine's DecoderSession: feeds the image's cross K/V,
// keeps the self-attention KV cache as ORT tensors, and reorders it for beam search.
import { fail } from "../../errors.js";
import type { DecoderSession } from "../../engine/generation.js";
import { Tensor, int64Tensor, type Session } from "../../engine/session.js";
import type { Gpt2Config } from "./config.js";

/** Per-layer self-attention K/V, [B, H, P, Dh] each: keys then values, layer by layer. */
export interface Gpt2Cache {
  keys: Tensor[];
  values: Tensor[];
}

/** Optional per-call timing hook (the bench's breakdown). */
export type StepObserver = (ms: number, rows: number, seqLen: number) => void;

export class Gpt2DecoderSession implements DecoderSession<Gpt2Cache> {
  constructor(
    private readonly session: Session,
    private readonly cfg: Gpt2Config,
    /** cross_key_i / cross_value_i tensors of this image ([1, H, T, Dh]). */
    private readonly cross: Record<string, Tensor>,
    private readonly observe?: StepObserver,
  ) {}

  async step(
    inputIds: number[][],
    cache: Gpt2Cache | null,
  ): Promise<{ logits: Float32Array; cache: Gpt2Cache }> {
    const rows = inputIds.length;
    const seqLen = inputIds[0].length;
    if (inputIds.some((r) => r.length !== seqLen))
      throw fail("INTERNAL", "decoder step rows must have equal length");
    const start = performance.now();
    const feeds: Record<string, Tensor> = {
      ...this.cross,
      input_ids: int64Tensor(inputIds.flat(), [rows, seqLen]),
    };
    const Dh = this.cfg.nEmbd / this.cfg.nHead;
    for (let i = 0; i < this.cfg.nLayer; i++) {
      if (cache) {
        feeds[`past_key_${i}`] = cache.keys[i];
        feeds[`past_value_${i}`] = cache.values[i];
      } else {
        const empty = new Tensor("float32", new Float32Array(0), [rows, this.cfg.nHead, 0, Dh]);
        feeds[`past_key_${i}`] = empty;
        feeds[`past_value_${i}`] = empty;
      }
    }
    const out = await this.session.run(feeds);
    const next: Gpt2Cache = { keys: [], values: [] };
    for (let i = 0; i < this.cfg.nLayer; i++) {
      next.keys.push(out[`present_key_${i}`]);
      next.values.push(out[`present_value_${i}`]);
    }
    this.observe?.(performance.now() - start, rows, seqLen);
    return { logits: out.logits.data as Float32Array, cache: next };
  }

  reorder(cache: Gpt2Cache, rows: number[]): Gpt2Cache {
    return {
      keys: cache.keys.map((t) => gatherRows(t, rows)),
      values: cache.values.map((t) => gatherRows(t, rows)),
    };
  }
}

/** Rows `rows` of a [B, …] float32 tensor, in that order. */
function gatherRows(t: Tensor, rows: number[]): Tensor {
  const src = t.data as Float32Array;
  const rowSize = src.length / t.dims[0];
  const dst = new Float32Array(rows.length * rowSize);
  rows.forEach((r, i) => dst.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new Tensor("float32", dst, [rows.length, ...t.dims.slice(1)]);
}
