// Kosmos-2 text decoder (HF Kosmos2TextForCausalLM, weights text_model.*), as a decoder step graph
// (graph/step-graph.ts): Magneto blocks (self-attention with an inner layer norm, FFN with its own layer
// norm), a final layer norm and the LM head tied to the token embeddings. What is Kosmos-2's own: image
// embeddings replace the token embeddings where `image_mask` is set (a row's first step), q is scaled
// before the product, and the sinusoidal positions (HF's padding_idx numbering) come in as a tensor.
import { fail } from "../../errors.js";
import type { Graph, Value } from "../../graph/graph.js";
import { cachedSelfAttention, splitHeads } from "../../graph/attention.js";
import { activation, embedding, layerNorm, linear } from "../../graph/nn.js";
import { Tensor } from "../../graph/session.js";
import {
  lastPosition,
  logitsOutput,
  presentOutputs,
  stepGraphInputs,
  type StepInputs,
} from "../../graph/step-graph.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { DecoderSpec, RowSource, StepContext } from "../../generation/kv-decoder.js";
import type { Kosmos2TextConfig } from "./config.js";

/** A prompt's image: `imageEmbeds` [Q, D] go, in order, to the positions where `imageMask` is 1. */
export interface PromptImage extends RowSource {
  imageEmbeds: Float32Array;
  imageMask: readonly number[];
}

/** The extra inputs of the step graph. */
const IMAGE_FEATURES = "image_features";
const IMAGE_MASK = "image_mask";
const POSITION_EMBEDS = "position_embeds";

/**
 * The Kosmos-2 text decoder as the KV decoder sees it: positions numbered as HF's
 * create_position_ids_from_input_ids does, embedded here (sinusoidal, unbounded), and the image
 * embeddings placed at a row's image positions on its first step.
 */
export function kosmos2DecoderSpec(cfg: Kosmos2TextConfig): DecoderSpec<PromptImage> {
  const d = cfg.embedDim;
  const table = new SinusoidalPositions(d, cfg.padTokenId);
  return {
    layers: cfg.layers,
    kvHeads: cfg.attentionHeads,
    headDim: d / cfg.attentionHeads,
    maxPositions: Infinity, // HF grows the sinusoidal table on demand
    positionIds: false,
    positions: (tokens, past) => positionIds(tokens, cfg.padTokenId, past),
    extraFeeds: (step) => ({
      ...imageFeeds(step, d),
      [POSITION_EMBEDS]: new Tensor("float32", table.embed(step.positions, step.length), [
        step.rows,
        step.length,
        d,
      ]),
    }),
  };
}

/** image_features [B, T, D] and image_mask [B, T]: each row's image embeddings on its first step. */
function imageFeeds(step: StepContext<PromptImage>, d: number): Record<string, Tensor> {
  const { rows, length } = step;
  const features = new Float32Array(rows * length * d);
  const mask = new Uint8Array(rows * length);
  for (let r = 0; r < rows; r++) {
    if (step.past[r] !== 0) continue;
    const { imageEmbeds, imageMask } = step.sources[r];
    if (imageMask.length !== step.tokens[r].length)
      throw fail("INTERNAL", "prompt and image mask lengths differ");
    const pad = length - step.tokens[r].length;
    let k = 0;
    imageMask.forEach((m, i) => {
      if (m !== 1) return;
      mask[r * length + pad + i] = 1;
      features.set(imageEmbeds.subarray(k * d, (k + 1) * d), (r * length + pad + i) * d);
      k++;
    });
  }
  return {
    [IMAGE_FEATURES]: new Tensor("float32", features, [rows, length, d]),
    [IMAGE_MASK]: new Tensor("bool", mask, [rows, length]),
  };
}

/** KosmosTextAttention (self-attention over the cache), then its inner layer norm and out_proj. */
function selfAttention(
  g: Graph,
  x: Value,
  layer: number,
  io: StepInputs,
  cfg: Kosmos2TextConfig,
  vb: VarBuilder,
): Value {
  const d = cfg.embedDim;
  const heads = cfg.attentionHeads;
  const headDim = d / heads;
  // HF scales q_proj(x) before q·kᵀ.
  const q = splitHeads(g, g.scale(linear(g, x, vb.pp("q_proj")), headDim ** -0.5), heads, headDim); // [B, H, T, Dh]
  const key = splitHeads(g, linear(g, x, vb.pp("k_proj")), heads, headDim);
  const value = splitHeads(g, linear(g, x, vb.pp("v_proj")), heads, headDim);
  const a = cachedSelfAttention(g, q, { key, value }, io.past[layer], io.selfBias, { scale: 1, hidden: d });
  presentOutputs(g, layer, a.present);
  return linear(g, layerNorm(g, a.out, vb.pp("inner_attn_ln"), cfg.layerNormEps), vb.pp("out_proj"));
}

/** Kosmos2TextFFN: fc1 → activation → ffn_layernorm → fc2. */
function ffn(g: Graph, x: Value, cfg: Kosmos2TextConfig, vb: VarBuilder): Value {
  const h = activation(g, linear(g, x, vb.pp("fc1")), cfg.activationFunction);
  return linear(g, layerNorm(g, h, vb.pp("ffn_layernorm"), cfg.layerNormEps), vb.pp("fc2"));
}

/**
 * The step graph: the shared inputs and outputs, plus image_features [B, T, D] and image_mask [B, T]
 * (rows of image_features used where the mask is set) and position_embeds [B, T, D].
 */
export function buildTextStepGraph(g: Graph, cfg: Kosmos2TextConfig, vb: VarBuilder): void {
  const d = cfg.embedDim;
  const io = stepGraphInputs(g, kosmos2DecoderSpec(cfg));
  const imageFeatures = g.input(IMAGE_FEATURES, "float32", ["batch", "new", d]);
  const imageMask = g.input(IMAGE_MASK, "bool", ["batch", "new"]);
  const positions = g.input(POSITION_EMBEDS, "float32", ["batch", "new", d]);
  const model = vb.pp("text_model").pp("model");
  const tableWeight = model.get("embed_tokens.weight", [cfg.vocabSize, d]);

  // forward_embedding: image features replace token embeddings, then both are scaled.
  const tokens = embedding(g, io.ids, tableWeight); // [B, T, D]
  const mixed = g.op("Where", [g.unsqueeze(imageMask, [2]), imageFeatures, tokens]); // [B, T, D]
  const scale = cfg.scaleEmbedding ? Math.sqrt(d) : 1;
  let x = g.add(scale === 1 ? mixed : g.scale(mixed, scale), positions);

  for (let i = 0; i < cfg.layers; i++) {
    const layer = model.pp("layers").pp(i);
    const h = layerNorm(g, x, layer.pp("self_attn_layer_norm"), cfg.layerNormEps);
    x = g.add(x, selfAttention(g, h, i, io, cfg, layer.pp("self_attn")));
    x = g.add(
      x,
      ffn(g, layerNorm(g, x, layer.pp("final_layer_norm"), cfg.layerNormEps), cfg, layer.pp("ffn")),
    );
  }
  x = layerNorm(g, x, model.pp("layer_norm"), cfg.layerNormEps);
  // lm_head is tied to embed_tokens ([V, D]) unless the checkpoint has its own.
  const lmWeight = vb.has("text_model.lm_head.weight")
    ? vb.get("text_model.lm_head.weight", [cfg.vocabSize, d])
    : tableWeight;
  logitsOutput(g, lastPosition(g, x), lmWeight);
}

/**
 * Kosmos2TextSinusoidalPositionalEmbedding rows for `positions`, computed in float32 steps as torch does
 * (arange · −log(10000)/(half−1) → exp → position · freq → [sin | cos]); the padding row is zero.
 */
export class SinusoidalPositions {
  private readonly freqs: Float32Array;
  private readonly rows = new Map<number, Float32Array>();

  constructor(
    readonly dim: number,
    readonly paddingIdx: number,
  ) {
    const half = Math.floor(dim / 2);
    const step = Math.fround(-(Math.log(10000) / (half - 1)));
    this.freqs = new Float32Array(half);
    for (let i = 0; i < half; i++) this.freqs[i] = Math.fround(Math.exp(Math.fround(i * step)));
  }

  row(position: number): Float32Array {
    let r = this.rows.get(position);
    if (r) return r;
    r = new Float32Array(this.dim);
    if (position !== this.paddingIdx) {
      const half = this.freqs.length;
      const p = Math.fround(position);
      for (let i = 0; i < half; i++) {
        const arg = Math.fround(p * this.freqs[i]!);
        r[i] = Math.sin(arg);
        r[half + i] = Math.cos(arg);
      }
      // An odd dim leaves its last column zero, as HF's zero padding does.
    }
    this.rows.set(position, r);
    return r;
  }

  /** [rows, T, D] position embeddings for per-row position ids, right-aligned (left padding stays zero). */
  embed(positionIds: readonly (readonly number[])[], length: number): Float32Array {
    const out = new Float32Array(positionIds.length * length * this.dim);
    positionIds.forEach((row, b) => {
      const pad = length - row.length;
      row.forEach((p, i) => out.set(this.row(p), (b * length + pad + i) * this.dim));
    });
    return out;
  }
}

/**
 * HF create_position_ids_from_input_ids for a row's new tokens after `past` earlier ones (its
 * past_key_values_length): non-pad tokens count on from padding_idx + 1 + past, pad tokens stay at
 * padding_idx.
 */
export function positionIds(ids: readonly number[], paddingIdx: number, past = 0): number[] {
  let count = past;
  return ids.map((id) => {
    if (id === paddingIdx) return paddingIdx;
    count++;
    return count + paddingIdx;
  });
}
