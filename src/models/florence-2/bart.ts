// The Florence-2 language model: a BART encoder-decoder (Florence2LanguageForConditionalGeneration).
// Weights: language_model.model.{shared,encoder,decoder}.*, language_model.lm_head, final_logits_bias.
// What is BART's own: q is scaled by Dh^-½ before the product (HF's order, kept for exact scores),
// post-norm layers, learned positions read at row p + 2, and the final_logits_bias.
//
// Two graphs: the encoder (image features ++ prompt embeddings → hidden states, plus every decoder
// layer's cross-attention K/V, computed once per prompt) and the decoder step (graph/step-graph.ts).
import type { Graph, Value } from "../../graph/graph.js";
import {
  cachedCrossAttention,
  cachedSelfAttention,
  mergeHeads,
  scaledDotProductAttention,
  splitHeads,
} from "../../graph/attention.js";
import { dim, embedding, layerNorm, linear, mlp } from "../../graph/nn.js";
import {
  crossKvOutputs,
  lastPosition,
  logitsOutput,
  presentOutputs,
  stepGraphInputs,
} from "../../graph/step-graph.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { DecoderSpec } from "../../generation/kv-decoder.js";
import type { Florence2LanguageConfig } from "./config.js";

/** Florence2LearnedPositionalEmbedding: position p reads row p + 2. */
const POSITION_OFFSET = 2;

/** The BART decoder as the KV decoder sees it. */
export function bartDecoderSpec(cfg: Florence2LanguageConfig): DecoderSpec {
  const heads = cfg.decoderAttentionHeads;
  const headDim = cfg.dModel / heads;
  return {
    layers: cfg.decoderLayers,
    kvHeads: heads,
    headDim,
    maxPositions: cfg.maxPositionEmbeddings,
    positionIds: true,
    cross: { heads, headDim },
  };
}

/** The encoder's positions 0 … len − 1: rows [2, len + 2) of the table; `len` an int64 scalar. */
function encoderPositions(g: Graph, table: Value, len: Value): Value {
  const from = g.constInt([POSITION_OFFSET]);
  return g.op("Slice", [table, from, g.add(from, g.unsqueeze(len, [0])), g.constInt([0])]); // [L, D]
}

/** q_proj(x) scaled by Dh^-½ and split: [B, H, T, Dh]. */
function scaledQuery(g: Graph, x: Value, heads: number, headDim: number, vb: VarBuilder): Value {
  return splitHeads(g, g.scale(linear(g, x, vb.pp("q_proj")), Math.pow(headDim, -0.5)), heads, headDim);
}

/** Florence2EncoderLayer (post-norm). Weights: encoder.layers.N.* */
function encoderLayer(g: Graph, x: Value, cfg: Florence2LanguageConfig, vb: VarBuilder): Value {
  const heads = cfg.encoderAttentionHeads;
  const d = cfg.dModel;
  const headDim = d / heads;
  const a = vb.pp("self_attn");
  const q = scaledQuery(g, x, heads, headDim, a);
  const k = splitHeads(g, linear(g, x, a.pp("k_proj")), heads, headDim);
  const v = splitHeads(g, linear(g, x, a.pp("v_proj")), heads, headDim);
  const o = linear(
    g,
    mergeHeads(g, scaledDotProductAttention(g, q, k, v, { scale: 1 }), d),
    a.pp("out_proj"),
  );
  const h = layerNorm(g, g.add(x, o), vb.pp("self_attn_layer_norm"), cfg.layerNormEps);
  const ff = mlp(g, h, vb.pp("fc1"), vb.pp("fc2"), cfg.activationFunction);
  return layerNorm(g, g.add(h, ff), vb.pp("final_layer_norm"), cfg.layerNormEps);
}

/**
 * The encoder graph. Inputs: image_features [1, I, D], input_ids [1, T] (prompt embedded with the plain
 * `shared` table, no embed_scale, as Florence2ForConditionalGeneration.generate does). Outputs:
 * encoder_hidden_states [1, I + T, D] and cross_key_N / cross_value_N [1, H, I + T, Dh] per decoder layer.
 * No attention mask: every position is real (generate() passes none).
 */
export function buildEncoder(g: Graph, cfg: Florence2LanguageConfig, lm: VarBuilder): void {
  const d = cfg.dModel;
  const image = g.input("image_features", "float32", [1, "image_tokens", d]);
  const ids = g.input("input_ids", "int64", [1, "prompt_tokens"]);
  const model = lm.pp("model");
  const embeds = g.concat([image, embedding(g, ids, sharedEmbedding(lm, cfg))], 1); // [1, L, D]
  const enc = model.pp("encoder");
  const pos = encoderPositions(g, enc.get("embed_positions.weight"), dim(g, embeds, 1)); // [L, D]
  let h = layerNorm(g, g.add(embeds, pos), enc.pp("layernorm_embedding"), cfg.layerNormEps);
  for (let i = 0; i < cfg.encoderLayers; i++) h = encoderLayer(g, h, cfg, enc.pp("layers").pp(i));
  g.output(h, "encoder_hidden_states");
  const heads = cfg.decoderAttentionHeads;
  for (let i = 0; i < cfg.decoderLayers; i++) {
    const cross = model.pp("decoder").pp("layers").pp(i).pp("encoder_attn");
    const kv = { key: linear(g, h, cross.pp("k_proj")), value: linear(g, h, cross.pp("v_proj")) }; // [1, L, D]
    crossKvOutputs(g, i, kv, heads, d / heads);
  }
}

/**
 * model.shared, the token embedding the encoder, decoder and (tied) LM head share; a checkpoint that
 * kept one of its tied aliases instead (encoder/decoder.embed_tokens) is read through that name.
 */
function sharedEmbedding(lm: VarBuilder, cfg: Florence2LanguageConfig): Value {
  const names = [
    "model.shared.weight",
    "model.encoder.embed_tokens.weight",
    "model.decoder.embed_tokens.weight",
  ];
  const name = names.find((n) => lm.has(n)) ?? names[0];
  return lm.get(name, [cfg.vocabSize, cfg.dModel]);
}

/** The LM head: lm_head.weight, or the shared embedding when a checkpoint leaves the tied copy out. */
function lmHeadWeight(lm: VarBuilder, cfg: Florence2LanguageConfig): Value {
  return lm.has("lm_head.weight")
    ? lm.get("lm_head.weight", [cfg.vocabSize, cfg.dModel])
    : sharedEmbedding(lm, cfg);
}

/** The decoder step graph (graph/step-graph.ts). */
export function buildDecoderStep(g: Graph, cfg: Florence2LanguageConfig, lm: VarBuilder): void {
  const d = cfg.dModel;
  const heads = cfg.decoderAttentionHeads;
  const headDim = d / heads;
  const io = stepGraphInputs(g, bartDecoderSpec(cfg));
  const dec = lm.pp("model").pp("decoder");
  let embeds = embedding(g, io.ids, sharedEmbedding(lm, cfg)); // [B, T, D]
  if (cfg.scaleEmbedding) embeds = g.scale(embeds, Math.sqrt(d));
  const rows = g.add(io.positions, g.scalarInt(POSITION_OFFSET));
  const pos = embedding(g, rows, dec.get("embed_positions.weight")); // [B, T, D]
  let h = layerNorm(g, g.add(embeds, pos), dec.pp("layernorm_embedding"), cfg.layerNormEps);
  for (let i = 0; i < cfg.decoderLayers; i++) {
    const layer = dec.pp("layers").pp(i);
    const sa = layer.pp("self_attn");
    const q = scaledQuery(g, h, heads, headDim, sa);
    const key = splitHeads(g, linear(g, h, sa.pp("k_proj")), heads, headDim);
    const value = splitHeads(g, linear(g, h, sa.pp("v_proj")), heads, headDim);
    const self = cachedSelfAttention(g, q, { key, value }, io.past[i], io.selfBias, { scale: 1, hidden: d });
    presentOutputs(g, i, self.present);
    h = layerNorm(
      g,
      g.add(h, linear(g, self.out, sa.pp("out_proj"))),
      layer.pp("self_attn_layer_norm"),
      cfg.layerNormEps,
    );
    const ca = layer.pp("encoder_attn");
    const cq = g.scale(linear(g, h, ca.pp("q_proj")), Math.pow(headDim, -0.5)); // [B, T, D]
    const cross = cachedCrossAttention(g, cq, io.cross[i], io.crossLayout!, {
      numHeads: heads,
      headDim,
      scale: 1,
    });
    h = layerNorm(
      g,
      g.add(h, linear(g, cross, ca.pp("out_proj"))),
      layer.pp("encoder_attn_layer_norm"),
      cfg.layerNormEps,
    );
    const ff = mlp(g, h, layer.pp("fc1"), layer.pp("fc2"), cfg.activationFunction);
    h = layerNorm(g, g.add(h, ff), layer.pp("final_layer_norm"), cfg.layerNormEps);
  }
  const bias = lm.has("final_logits_bias") ? lm.get("final_logits_bias", [1, cfg.vocabSize]) : undefined;
  logitsOutput(g, lastPosition(g, h), lmHeadWeight(lm, cfg), bias); // [B, vocab]
}
