// The BLIP text decoder as a generation `DecoderSession`: one ORT session for the step graph, the
// self-attention KV cache kept as ORT tensors between steps (rows = beams), and the image's
// cross-attention K/V computed once and shared by every row (batch 1, broadcast in the graph).
import type { DecoderSession } from "../../engine/generation.js";
import { type Session, Tensor, int64Tensor } from "../../engine/session.js";
import { fail } from "../../errors.js";
import type { BlipTextConfig } from "./config.js";
import { crossKey, crossValue, pastKey, pastValue, presentKey, presentValue } from "./text-decoder.js";

/** Self-attention K/V per layer, [rows, H, P, Dh] each. */
export interface BlipCache {
  keys: Tensor[];
  values: Tensor[];
}

/** Cross-attention K/V per layer for one image, [1, H, N, Dh] each. */
export interface CrossKv {
  keys: Tensor[];
  values: Tensor[];
}

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
    const past = cache ?? emptyCache(L, rows, H, Dh);
    const pastLen = past.keys[0].dims[2];
    if (pastLen + T > this.cfg.maxPositionEmbeddings) {
      throw fail(
        "INVALID_ARGUMENT",
        `the text decoder has ${this.cfg.maxPositionEmbeddings} positions, asked for ${pastLen + T}`,
      );
    }
    const feeds: Record<string, Tensor> = { input_ids: int64Tensor(inputIds.flat(), [rows, T]) };
    for (let i = 0; i < L; i++) {
      feeds[pastKey(i)] = past.keys[i];
      feeds[pastValue(i)] = past.values[i];
      feeds[crossKey(i)] = this.cross.keys[i];
      feeds[crossValue(i)] = this.cross.values[i];
    }
    const out = await this.step_.run(feeds);
    const next: BlipCache = { keys: [], values: [] };
    for (let i = 0; i < L; i++) {
      next.keys.push(out[presentKey(i)]);
      next.values.push(out[presentValue(i)]);
    }
    return { logits: out.logits.data as Float32Array, cache: next };
  }

  reorder(cache: BlipCache, rows: number[]): BlipCache {
    return {
      keys: cache.keys.map((t) => gatherRows(t, rows)),
      values: cache.values.map((t) => gatherRows(t, rows)),
    };
  }
}

function emptyCache(layers: number, rows: number, heads: number, headDim: number): BlipCache {
  const empty = () => new Tensor("float32", new Float32Array(0), [rows, heads, 0, headDim]);
  return { keys: Array.from({ length: layers }, empty), values: Array.from({ length: layers }, empty) };
}

/** Rows `rows` of a [B, …] float32 tensor (rows may repeat). */
function gatherRows(t: Tensor, rows: number[]): Tensor {
  const data = t.data as Float32Array;
  const rowSize = data.length / t.dims[0];
  const out = new Float32Array(rows.length * rowSize);
  rows.forEach((r, i) => out.set(data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new Tensor("float32", out, [rows.length, ...t.dims.slice(1)]);
}
