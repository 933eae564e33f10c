// Kosmos2ForConditionalGeneration on ONNX Runtime: the image session (run once per image) and the text
// decoder step session with its KV cache, exposed as a DecoderSession for generate().
import { Graph } from "../../graph/graph.js";
import type { DecoderSession } from "../../generation/generate.js";
import type { WeightStore } from "../../graph/safetensors.js";
import { createSession, float32Tensor, int64Tensor, Tensor, type Session } from "../../graph/session.js";
import { VarBuilder } from "../../graph/var-builder.js";
import { fail } from "../../errors.js";
import type { Kosmos2Config } from "./config.js";
import { buildTextStepGraph, pastName, positionIds, presentName, SinusoidalPositions } from "./text.js";
import { buildVisionGraph } from "./vision.js";

export interface ImageEncoding {
  /** Vision encoder output before post_layernorm, [1, N + 1, Dv]. */
  visionLastHiddenState: Float32Array;
  /** Connector output fed to the text model, [1, Q, Dt] (Q = latent_query_num). */
  imageEmbeds: Float32Array;
}

/** The KV cache of every row, plus what position ids need (non-pad tokens seen per row). */
export interface Kosmos2Cache {
  /** past_key_i / past_value_i as the last step returned them. */
  past: Record<string, Tensor>;
  /** Logical row r continues physical cache row rows[r] (beam reordering is applied lazily in the graph). */
  rows: number[];
  nonPad: number[];
}

export class Kosmos2Model {
  private constructor(
    readonly config: Kosmos2Config,
    private readonly vision: Session,
    private readonly text: Session,
    private readonly positions: SinusoidalPositions,
  ) {}

  static async create(store: WeightStore, config: Kosmos2Config, threads?: number): Promise<Kosmos2Model> {
    const vg = new Graph("kosmos2_vision");
    buildVisionGraph(vg, config, new VarBuilder(vg, store));
    const tg = new Graph("kosmos2_text_step");
    buildTextStepGraph(tg, config.text, new VarBuilder(tg, store));
    const [vision, text] = await Promise.all([
      createSession(vg, store, { threads }),
      createSession(tg, store, { threads }),
    ]);
    const positions = new SinusoidalPositions(config.text.embedDim, config.text.padTokenId);
    return new Kosmos2Model(config, vision, text, positions);
  }

  async encodeImage(pixelValues: Float32Array, dims: readonly number[]): Promise<ImageEncoding> {
    const size = this.config.vision.imageSize;
    if (dims[2] !== size || dims[3] !== size) {
      throw fail(
        "INVALID_ARGUMENT",
        `kosmos-2 expects ${size}x${size} pixel values, got ${dims[3]}x${dims[2]}`,
      );
    }
    const out = await this.vision.run({ pixel_values: float32Tensor(pixelValues, [...dims]) });
    return {
      visionLastHiddenState: out.vision_last_hidden_state!.data as Float32Array,
      imageEmbeds: out.image_embeds!.data as Float32Array,
    };
  }

  /**
   * A DecoderSession for generate(): `imageEmbeds` [Q, Dt] go, in order, to the prompt positions where
   * `imageMask` is 1 (HF's image_embeds_position_mask), in every row of the first step.
   */
  decoder(imageEmbeds: Float32Array, imageMask: number[]): DecoderSession<Kosmos2Cache> {
    const tc = this.config.text;
    const d = tc.embedDim;
    const headDim = d / tc.attentionHeads;
    const slots = imageMask.filter((m) => m === 1).length;
    if (slots * d !== imageEmbeds.length) {
      throw fail(
        "INVALID_ARGUMENT",
        `the prompt has ${slots} image positions for ${imageEmbeds.length / d} image embeddings`,
      );
    }
    const runStep = async (inputIds: number[][], cache: Kosmos2Cache | null) => {
      const rows = inputIds.length;
      const t = inputIds[0]!.length;
      const first = cache === null;
      const features = new Float32Array(rows * t * d);
      const mask = new Uint8Array(rows * t);
      if (first) {
        if (t !== imageMask.length) throw fail("INTERNAL", "prompt and image mask lengths differ");
        for (let r = 0; r < rows; r++) {
          let k = 0;
          for (let i = 0; i < t; i++) {
            if (imageMask[i] !== 1) continue;
            mask[r * t + i] = 1;
            features.set(imageEmbeds.subarray(k * d, (k + 1) * d), (r * t + i) * d);
            k++;
          }
        }
      }
      const nonPad: number[] = [];
      const posIds = inputIds.map((ids, r) => {
        const p = positionIds(ids, tc.padTokenId, first ? 0 : cache.nonPad[r]!);
        nonPad.push(p.nonPad);
        return p.positions;
      });
      const feeds: Record<string, Tensor> = {
        input_ids: int64Tensor(inputIds.flat(), [rows, t]),
        image_features: float32Tensor(features, [rows, t, d]),
        image_mask: new Tensor("bool", mask, [rows, t]),
        position_embeds: float32Tensor(this.positions.embed(posIds), [rows, t, d]),
        cache_rows: int64Tensor(first ? inputIds.map((_, r) => r) : cache.rows, [rows]),
      };
      const empty = new Float32Array(0);
      for (let i = 0; i < tc.layers; i++) {
        for (const kind of ["key", "value"] as const) {
          const name = pastName(i, kind);
          feeds[name] = first
            ? float32Tensor(empty, [rows, tc.attentionHeads, 0, headDim])
            : cache.past[name]!;
        }
      }
      const out = await this.text.run(feeds);
      const past: Record<string, Tensor> = {};
      for (let i = 0; i < tc.layers; i++) {
        for (const kind of ["key", "value"] as const) past[pastName(i, kind)] = out[presentName(i, kind)]!;
      }
      return {
        logits: out.logits!.data as Float32Array,
        cache: { past, rows: inputIds.map((_, r) => r), nonPad } as Kosmos2Cache,
      };
    };
    return {
      step: async (inputIds, cache) => {
        const rows = inputIds.length;
        const same =
          rows > 1 &&
          inputIds.every(
            (row) => row.length === inputIds[0]!.length && row.every((id, i) => id === inputIds[0]![i]),
          );
        if (cache !== null || !same) return runStep(inputIds, cache);
        // Beam search starts every row from the same prompt: run it once and let every row share the
        // cache (cache_rows gathers row 0 for all of them at the next step).
        const one = await runStep([inputIds[0]!], null);
        const vocab = one.logits.length;
        const logits = new Float32Array(rows * vocab);
        for (let r = 0; r < rows; r++) logits.set(one.logits, r * vocab);
        return {
          logits,
          cache: {
            past: one.cache.past,
            rows: Array<number>(rows).fill(0),
            nonPad: Array<number>(rows).fill(one.cache.nonPad[0]!),
          },
        };
      },
      reorder: (cache, rows) => ({
        past: cache.past,
        rows: rows.map((r) => cache.rows[r]!),
        nonPad: rows.map((r) => cache.nonPad[r]!),
      }),
    };
  }

  async dispose(): Promise<void> {
    await this.vision.release();
    await this.text.release();
  }
}
