// Kosmos-2 text decoder (HF Kosmos2TextForCausalLM, weights text_model.*), as one step graph with a
// KV cache: Magneto blocks (self-attention with an inner layer norm, FFN with its own layer norm), a
// final layer norm and the LM head tied to the token embeddings. Image embeddings replace the token
// embeddings where `image_mask` is set (first step only); sinusoidal positions come in as a tensor.
import type { Graph, Value } from "../../graph/graph.js";
import {
  activation,
  causalMask,
  dim,
  embedding,
  layerNorm,
  mergeHeads,
  scaledDotProductAttention,
  splitHeads,
} from "../../graph/nn.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { Kosmos2TextConfig } from "./config.js";
import { linear } from "./layers.js";

/** KosmosTextAttention (self-attention, decoder): returns the output and the present K/V [B, H, P+T, Dh]. */
function selfAttention(
  g: Graph,
  x: Value,
  pastK: Value,
  pastV: Value,
  mask: Value,
  cfg: Kosmos2TextConfig,
  vb: VarBuilder,
): { out: Value; k: Value; v: Value } {
  const d = cfg.embedDim;
  const heads = cfg.attentionHeads;
  const headDim = d / heads;
  // HF scales q_proj(x) before q·kᵀ.
  const q = splitHeads(g, g.scale(linear(g, x, vb.pp("q_proj")), headDim ** -0.5), heads, headDim); // [B, H, T, Dh]
  const k = g.concat([pastK, splitHeads(g, linear(g, x, vb.pp("k_proj")), heads, headDim)], 2); // [B, H, P + T, Dh]
  const v = g.concat([pastV, splitHeads(g, linear(g, x, vb.pp("v_proj")), heads, headDim)], 2); // [B, H, P + T, Dh]
  const attn = mergeHeads(g, scaledDotProductAttention(g, q, k, v, { scale: 1, mask }), d); // [B, T, D]
  const normed = layerNorm(g, attn, vb.pp("inner_attn_ln"), cfg.layerNormEps);
  return { out: linear(g, normed, vb.pp("out_proj")), k, v };
}

/** Kosmos2TextFFN: fc1 → activation → ffn_layernorm → fc2. */
function ffn(g: Graph, x: Value, cfg: Kosmos2TextConfig, vb: VarBuilder): Value {
  const h = activation(g, linear(g, x, vb.pp("fc1")), cfg.activationFunction);
  return linear(g, layerNorm(g, h, vb.pp("ffn_layernorm"), cfg.layerNormEps), vb.pp("fc2"));
}

export const pastName = (layer: number, kind: "key" | "value") => `past_${kind}_${layer}`;
export const presentName = (layer: number, kind: "key" | "value") => `present_${kind}_${layer}`;

/**
 * Inputs: input_ids [B, T] int64, image_features [B, T, D] and image_mask [B, T] bool (rows of
 * image_features used where the mask is set), position_embeds [B, T, D], cache_rows [B] int64 (which
 * row of the past cache each row continues: beam reordering), past_key_i / past_value_i [B', H, P, Dh].
 * Outputs: logits [B, V] at the last position, present_key_i / present_value_i [B, H, P + T, Dh].
 */
export function buildTextStepGraph(g: Graph, cfg: Kosmos2TextConfig, vb: VarBuilder): void {
  const d = cfg.embedDim;
  const headDim = d / cfg.attentionHeads;
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const imageFeatures = g.input("image_features", "float32", ["batch", "seq", d]);
  const imageMask = g.input("image_mask", "bool", ["batch", "seq"]);
  const positions = g.input("position_embeds", "float32", ["batch", "seq", d]);
  const cacheRows = g.input("cache_rows", "int64", ["batch"]);
  const model = vb.pp("text_model").pp("model");
  const tableWeight = model.get("embed_tokens.weight", [cfg.vocabSize, d]);

  // forward_embedding: image features replace token embeddings, then both are scaled.
  const tokens = embedding(g, ids, tableWeight); // [B, T, D]
  const mixed = g.op("Where", [g.unsqueeze(imageMask, [2]), imageFeatures, tokens]); // [B, T, D]
  const scale = cfg.scaleEmbedding ? Math.sqrt(d) : 1;
  let x = g.add(scale === 1 ? mixed : g.scale(mixed, scale), positions);

  const seqLen = dim(g, ids, 1);
  let mask: Value | undefined;
  for (let i = 0; i < cfg.layers; i++) {
    const layer = model.pp("layers").pp(i);
    const pastK = g.gather(
      g.input(pastName(i, "key"), "float32", ["past_batch", cfg.attentionHeads, "past", headDim]),
      cacheRows,
      0,
    );
    const pastV = g.gather(
      g.input(pastName(i, "value"), "float32", ["past_batch", cfg.attentionHeads, "past", headDim]),
      cacheRows,
      0,
    );
    if (!mask) mask = causalMask(g, seqLen, g.add(dim(g, pastK, 2), seqLen)); // [1, 1, T, P + T]
    const h = layerNorm(g, x, layer.pp("self_attn_layer_norm"), cfg.layerNormEps);
    const a = selfAttention(g, h, pastK, pastV, mask, cfg, layer.pp("self_attn"));
    g.output(a.k, presentName(i, "key"));
    g.output(a.v, presentName(i, "value"));
    x = g.add(x, a.out);
    x = g.add(
      x,
      ffn(g, layerNorm(g, x, layer.pp("final_layer_norm"), cfg.layerNormEps), cfg, layer.pp("ffn")),
    );
  }
  x = layerNorm(g, x, model.pp("layer_norm"), cfg.layerNormEps);

  // Only the last position goes through the LM head: [B, T, D] → [B, D].
  const last = g.op("Gather", [x, g.scalarInt(-1)], { axis: 1 }); // scalar index drops the axis: [B, D]
  // lm_head is tied to embed_tokens ([V, D]); Gemm(transB) reads it in place, no transposed copy.
  const lmWeight = vb.has("text_model.lm_head.weight")
    ? vb.get("text_model.lm_head.weight", [cfg.vocabSize, d])
    : tableWeight;
  g.output(g.op("Gemm", [last, lmWeight], { transB: 1 }), "logits");
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

  /** [rows, T, D] position embeddings for per-row position ids. */
  embed(positionIds: number[][]): Float32Array {
    const t = positionIds[0]?.length ?? 0;
    const out = new Float32Array(positionIds.length * t * this.dim);
    positionIds.forEach((row, b) => row.forEach((p, i) => out.set(this.row(p), (b * t + i) * this.dim)));
    return out;
  }
}

/** HF create_position_ids_from_input_ids: non-pad tokens count from padding_idx + 1, pads stay at padding_idx. */
export function positionIds(
  ids: number[],
  paddingIdx: number,
  pastNonPad = 0,
): { positions: number[]; nonPad: number } {
  let count = pastNonPad;
  const positions = ids.map((id) => {
    if (id === paddingIdx) return paddingIdx;
    count++;
    return count + paddingIdx;
  });
  return { positions, nonPad: count };
}
