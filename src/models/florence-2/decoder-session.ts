// The BART decoder step behind the generation engine's DecoderSession: feeds the prompt's cross K/V
// (batch 1, broadcast over the beams), keeps the self-attention KV cache as ORT tensors and reorders
// its rows for beam search.
import type { DecoderSession } from "../../generation/generate.js";
import { kvCacheFromOutputs, pastFeeds, reorderKvCache, type KvCache } from "../../generation/kv-cache.js";
import { int64Tensor, type Session, type Tensor } from "../../graph/session.js";
import type { Florence2LanguageConfig } from "./config.js";

/** Per-layer self-attention K/V, [B, H, P, Dh] each. */
export type BartCache = KvCache;

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
      ...pastFeeds(cache, this.cfg.decoderLayers, rows, heads, headDim),
      input_ids: int64Tensor(inputIds.flat(), [rows, len]),
    };
    const out = await this.session.run(feeds);
    const next = kvCacheFromOutputs(out, this.cfg.decoderLayers);
    return { logits: out.logits.data as Float32Array, cache: next };
  }

  reorder(cache: BartCache, rows: number[]): BartCache {
    return reorderKvCache(cache, rows);
  }
}
