// The BART decoder step behind the generation engine's DecoderSession: feeds the prompt's cross K/V
// (batch 1, broadcast over the beams), keeps the self-attention KV cache as ORT tensors and reorders
// its rows for beam search.
import type { DecoderSession } from "../../engine/generation.js";
import { Tensor, int64Tensor, type Session } from "../../engine/session.js";
import type { Florence2LanguageConfig } from "./config.js";

/** Per-layer self-attention K/V, [B, H, P, Dh] each. */
export interface BartCache {
  keys: Tensor[];
  values: Tensor[];
}

export class BartDecoderSession implements DecoderSession<BartCache> {
  constructor(
    private readonly session: Session,
    private readonly cfg: Florence2LanguageConfig,
    /** cross_key_N / cross_value_N of the encoded prompt, [1, H, S, Dh]. */
    private readonly cross: Record<string, Tensor>,
  ) {}

  async step(
    inputIds: number[][],
    cache: BartCache | null,
  ): Promise<{ logits: Float32Array; cache: BartCache }> {
    const rows = inputIds.length;
    const len = inputIds[0].length;
    if (inputIds.some((r) => r.length !== len)) throw new Error("decoder step rows must have equal length");
    const heads = this.cfg.decoderAttentionHeads;
    const headDim = this.cfg.dModel / heads;
    const feeds: Record<string, Tensor> = {
      ...this.cross,
      input_ids: int64Tensor(inputIds.flat(), [rows, len]),
    };
    const empty = new Tensor("float32", new Float32Array(0), [rows, heads, 0, headDim]);
    for (let i = 0; i < this.cfg.decoderLayers; i++) {
      feeds[`past_key_${i}`] = cache ? cache.keys[i] : empty;
      feeds[`past_value_${i}`] = cache ? cache.values[i] : empty;
    }
    const out = await this.session.run(feeds);
    const next: BartCache = { keys: [], values: [] };
    for (let i = 0; i < this.cfg.decoderLayers; i++) {
      next.keys.push(out[`present_key_${i}`]);
      next.values.push(out[`present_value_${i}`]);
    }
    return { logits: out.logits.data as Float32Array, cache: next };
  }

  reorder(cache: BartCache, rows: number[]): BartCache {
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
