// The GPT-2 step graph behind the generation engine's DecoderSession: feeds the image's cross K/V,
// keeps the self-attention KV cache as ORT tensors, and reorders it for beam search.
import { fail } from "../../errors.js";
import type { DecoderSession } from "../../generation/generate.js";
import { kvCacheFromOutputs, pastFeeds, reorderKvCache, type KvCache } from "../../generation/kv-cache.js";
import { int64Tensor, type Session, type Tensor } from "../../graph/session.js";
import type { Gpt2Config } from "./config.js";

/** Per-layer self-attention K/V, [B, H, P, Dh] each. */
export type Gpt2Cache = KvCache;

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
      ...pastFeeds(cache, this.cfg.nLayer, rows, this.cfg.nHead, this.cfg.nEmbd / this.cfg.nHead),
      input_ids: int64Tensor(inputIds.flat(), [rows, seqLen]),
    };
    const out = await this.session.run(feeds);
    const next = kvCacheFromOutputs(out, this.cfg.nLayer);
    this.observe?.(performance.now() - start, rows, seqLen);
    return { logits: out.logits.data as Float32Array, cache: next };
  }

  reorder(cache: Gpt2Cache, rows: number[]): Gpt2Cache {
    return reorderKvCache(cache, rows);
  }
}
