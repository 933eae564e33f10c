// The Florence-2 language model: a BART encoder-decoder (Florence2LanguageForConditionalGeneration).
// Weights: language_model.model.{shared,encoder,decoder}.*, language_model.lm_head, final_logits_bias.
//
// Two graphs: the encoder (image features ++ prompt embeddings → hidden states, plus every decoder
// layer's cross-attention K/V, computed once per prompt) and one decoder step with a self-attention
// KV cache whose batch rows are the beams. Cross K/V keep batch 1 and broadcast over the beams.
import type { Graph, Value } from "../../graph/graph.js";
import {
  activation,
  causalMask,
  dim,
  embedding,
  layerNorm,
  linear,
  mergeHeads,
  splitHeads,
} from "../../graph/nn.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { Florence2LanguageConfig } from "./config.js";

/** Florence2LearnedPositionalEmbedding: position p reads row p + 2. */
const POSITION_OFFSET = 2;

/** Rows [start, start + len) of the learned position table shifted by the offset; start/len int64 scalars. */
function positions(g: Graph, table: Value, start: Value, len: Value): Value {
  const from = g.add(start, g.scalarInt(POSITION_OFFSET));
  return g.op("Slice", [table, g.unsqueeze(from, [0]), g.unsqueeze(g.add(from, len), [0]), g.constInt([0])]); // [T, D]
}

/** softmax((q·scaling) kᵀ + mask) v on head-split tensors; q is scaled before the product, as in HF. */
function attend(g: Graph, q: Value, k: Value, v: Value, mask?: Value): Value {
  let scores = g.matmul(q, g.transpose(k, [0, 1, 3, 2])); // [B, H, Tq, Tk]
  if (mask) scores = g.add(scores, mask);
  return g.matmul(g.softmax(scores, -1), v); // [B, H, Tq, Dh]
}

function feedForward(g: Graph, x: Value, cfg: Florence2LanguageConfig, vb: VarBuilder): Value {
  const h = activation(g, linear(g, x, vb.pp("fc1")), cfg.activationFunction);
  return linear(g, h, vb.pp("fc2"));
}

/** Florence2EncoderLayer (post-norm). Weights: encoder.layers.N.* */
function encoderLayer(g: Graph, x: Value, cfg: Florence2LanguageConfig, vb: VarBuilder): Value {
  const heads = cfg.encoderAttentionHeads;
  const d = cfg.dModel;
  const headDim = d / heads;
  const a = vb.pp("self_attn");
  const q = splitHeads(g, g.scale(linear(g, x, a.pp("q_proj")), Math.pow(headDim, -0.5)), heads, headDim);
  const k = splitHeads(g, linear(g, x, a.pp("k_proj")), heads, headDim);
  const v = splitHeads(g, linear(g, x, a.pp("v_proj")), heads, headDim);
  const o = linear(g, mergeHeads(g, attend(g, q, k, v), d), a.pp("out_proj"));
  const h = layerNorm(g, g.add(x, o), vb.pp("self_attn_layer_norm"), cfg.layerNormEps);
  return layerNorm(g, g.add(h, feedForward(g, h, cfg, vb)), vb.pp("final_layer_norm"), cfg.layerNormEps);
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
  const shared = sharedEmbedding(lm, cfg);
  const embeds = g.concat([image, embedding(g, ids, shared)], 1); // [1, L, D]
  const enc = model.pp("encoder");
  const len = dim(g, embeds, 1);
  const pos = positions(g, enc.get("embed_positions.weight"), g.scalarInt(0), len); // [L, D]
  let h = layerNorm(g, g.add(embeds, pos), enc.pp("layernorm_embedding"), cfg.layerNormEps);
  for (let i = 0; i < cfg.encoderLayers; i++) h = encoderLayer(g, h, cfg, enc.pp("layers").pp(i));
  g.output(h, "encoder_hidden_states");
  const heads = cfg.decoderAttentionHeads;
  for (let i = 0; i < cfg.decoderLayers; i++) {
    const cross = model.pp("decoder").pp("layers").pp(i).pp("encoder_attn");
    g.output(splitHeads(g, linear(g, h, cross.pp("k_proj")), heads, d / heads), `cross_key_${i}`);
    g.output(splitHeads(g, linear(g, h, cross.pp("v_proj")), heads, d / heads), `cross_value_${i}`);
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

/**
 * One decoder step. Inputs: input_ids [B, T], past_key_N / past_value_N [B, H, P, Dh] (P may be 0),
 * cross_key_N / cross_value_N [1, H, S, Dh]. Outputs: logits [B, vocab] at the last position,
 * present_key_N / present_value_N [B, H, P + T, Dh].
 */
export function buildDecoderStep(g: Graph, cfg: Florence2LanguageConfig, lm: VarBuilder): void {
  const d = cfg.dModel;
  const heads = cfg.decoderAttentionHeads;
  const headDim = d / heads;
  const ids = g.input("input_ids", "int64", ["batch", "new_tokens"]);
  const pastK: Value[] = [];
  const pastV: Value[] = [];
  const crossK: Value[] = [];
  const crossV: Value[] = [];
  for (let i = 0; i < cfg.decoderLayers; i++) {
    pastK.push(g.input(`past_key_${i}`, "float32", ["batch", heads, "past", headDim]));
    pastV.push(g.input(`past_value_${i}`, "float32", ["batch", heads, "past", headDim]));
    crossK.push(g.input(`cross_key_${i}`, "float32", [1, heads, "source", headDim]));
    crossV.push(g.input(`cross_value_${i}`, "float32", [1, heads, "source", headDim]));
  }
  const model = lm.pp("model");
  const dec = model.pp("decoder");
  let embeds = embedding(g, ids, sharedEmbedding(lm, cfg)); // [B, T, D]
  if (cfg.scaleEmbedding) embeds = g.scale(embeds, Math.sqrt(d));
  const newLen = dim(g, ids, 1);
  const pastLen = dim(g, pastK[0], 2);
  const pos = positions(g, dec.get("embed_positions.weight"), pastLen, newLen); // [T, D]
  let h = layerNorm(g, g.add(embeds, pos), dec.pp("layernorm_embedding"), cfg.layerNormEps);
  const mask = causalMask(g, newLen, g.add(pastLen, newLen)); // [1, 1, T, P + T]
  const scaling = Math.pow(headDim, -0.5);
  for (let i = 0; i < cfg.decoderLayers; i++) {
    const layer = dec.pp("layers").pp(i);
    const sa = layer.pp("self_attn");
    const q = splitHeads(g, g.scale(linear(g, h, sa.pp("q_proj")), scaling), heads, headDim);
    const k = g.concat([pastK[i], splitHeads(g, linear(g, h, sa.pp("k_proj")), heads, headDim)], 2);
    const v = g.concat([pastV[i], splitHeads(g, linear(g, h, sa.pp("v_proj")), heads, headDim)], 2);
    g.output(k, `present_key_${i}`);
    g.output(v, `present_value_${i}`);
    const selfOut = linear(g, mergeHeads(g, attend(g, q, k, v, mask), d), sa.pp("out_proj"));
    h = layerNorm(g, g.add(h, selfOut), layer.pp("self_attn_layer_norm"), cfg.layerNormEps);
    const ca = layer.pp("encoder_attn");
    const cq = splitHeads(g, g.scale(linear(g, h, ca.pp("q_proj")), scaling), heads, headDim);
    const crossOut = linear(g, mergeHeads(g, attend(g, cq, crossK[i], crossV[i]), d), ca.pp("out_proj"));
    h = layerNorm(g, g.add(h, crossOut), layer.pp("encoder_attn_layer_norm"), cfg.layerNormEps);
    h = layerNorm(g, g.add(h, feedForward(g, h, cfg, layer)), layer.pp("final_layer_norm"), cfg.layerNormEps);
  }
  const last = g.gather(h, g.scalarInt(-1), 1); // [B, D]
  // Gemm(transB) reads the [vocab, D] head in place (no transposed copy of the largest matrix).
  const bias = lm.has("final_logits_bias") ? lm.get("final_logits_bias", [1, cfg.vocabSize]) : undefined;
  const inputs = bias ? [last, lmHeadWeight(lm, cfg), bias] : [last, lmHeadWeight(lm, cfg)];
  g.output(g.op("Gemm", inputs, { transB: 1 }), "logits"); // [B, vocab]
}
