// The BLIP text decoder as a generation `DecoderSession`: one ORT session for the step graph, the
// self-attention KV cache kept as ORT tensors between steps (rows = beams), and the image's
// cross-attention K/V computed once and shared by every row (batch 1, broadcast in the graph).
import type { DecoderSession } from "../../generation/generate.js";
import { kvCacheFromOutputs, pastFeeds, reorderKvCache, type KvCache } from "../../generation/kv-cache.js";
import { type Session, type Tensor, int64Tensor } from "../../graph/session.js";
import { fail } from "../../errors.js";
import type { BlipTextConfig } from "./config.js";
import { crossKey, crossValue } from "./text-decoder.js";

/** Self-attention K/V per layer, [rows, H, P, Dh] each. */
export type BlipCache = KvCache;

/** Cross-attention K/V per layer for one image, [1, H, N, Dh] each. */
export type CrossKv = KvCache;

export class BlipDecoderSession implements DecoderSession<BlipCache> {
  constructor(
    private readonly step_: Session,
    private readonly cfg: BlipTextConfig,
    private readonly cross: CrossKv,
  ) {}

  async step(
    inputIds: number[][],
    cache: BlipCache | null,
  ): Promise<{ logits: Float32Array; cache: BlipCache }> {
    const rows = inputIds.length;
    const T = inputIds[0].length;
    if (!inputIds.every((r) => r.length === T)) throw fail("INTERNAL", "decoder rows of unequal length");
    const L = this.cfg.numHiddenLayers;
    const H = this.cfg.numAttentionHeads;
    const Dh = this.cfg.hiddenSize / H;
    const pastLen = cache ? cache.keys[0].dims[2] : 0;
    if (pastLen + T > this.cfg.maxPositionEmbeddings) {
      throw fail(
        "INVALID_ARGUMENT",
        `the text decoder has ${this.cfg.maxPositionEmbeddings} positions, asked for ${pastLen + T}`,
      );
    }
    const feeds: Record<string, Tensor> = {
      ...pastFeeds(cache, L, rows, H, Dh),
      input_ids: int64Tensor(inputIds.flat(), [rows, T]),
    };
    for (let i = 0; i < L; i++) {
      feeds[crossKey(i)] = this.cross.keys[i];
      feeds[crossValue(i)] = this.cross.values[i];
    }
    const out = await this.step_.run(feeds);
    return { logits: out.logits.data as Float32Array, cache: kvCacheFromOutputs(out, L) };
  }

  reorder(cache: BlipCache, rows: number[]): BlipCache {
    return reorderKvCache(cache, rows);
  }
}
