// BLIP text decoder (HF BlipTextLMHeadModel): BERT embeddings (word + absolute position, LayerNorm),
// post-norm layers of causal self-attention, cross-attention to the image embeddings and a GELU MLP,
// then the LM head cls.predictions (transform dense + act + LayerNorm, decoder weight + bias).
// Weights: text_decoder.bert.*, text_decoder.cls.*
//
// Two graphs: `cross-kv` projects the image embeddings to every layer's cross-attention K/V once per
// image; `step` runs new tokens against past self-attention K/V (P may be 0) and those cross K/V, and
// returns only the last position's logits.
import type { Graph, Value } from "../../graph/graph.js";
import {
  activation,
  causalMask,
  dim,
  embedding,
  layerNorm,
  linear,
  matmulTransB,
  mergeHeads,
  scaledDotProductAttention,
  splitHeads,
} from "../../graph/nn.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { BlipTextConfig } from "./config.js";

/** Names of the step graph's cache inputs / outputs for layer i. */
export const pastKey = (i: number): string => `past_key_${i}`;
export const pastValue = (i: number): string => `past_value_${i}`;
export const presentKey = (i: number): string => `present_key_${i}`;
export const presentValue = (i: number): string => `present_value_${i}`;
export const crossKey = (i: number): string => `cross_key_${i}`;
export const crossValue = (i: number): string => `cross_value_${i}`;

const headDim = (cfg: BlipTextConfig): number => cfg.hiddenSize / cfg.numAttentionHeads;

/** BlipTextEmbeddings: word_embeddings[ids] + position_embeddings[P + t], then LayerNorm. */
function textEmbeddings(g: Graph, ids: Value, pastLen: Value, cfg: BlipTextConfig, vb: VarBuilder): Value {
  const words = embedding(g, ids, vb.get("word_embeddings.weight", [cfg.vocabSize, cfg.hiddenSize])); // [B, T, D]
  const T = dim(g, ids, 1);
  const positionIds = g.op("Range", [pastLen, g.add(pastLen, T), g.scalarInt(1)]); // [T]
  const positions = embedding(g, positionIds, vb.get("position_embeddings.weight")); // [T, D]
  return layerNorm(g, g.add(words, positions), vb.pp("LayerNorm"), cfg.layerNormEps);
}

/** BlipTextSelfOutput / BlipTextOutput: LayerNorm(dense(h) + residual). */
function denseAddNorm(g: Graph, h: Value, residual: Value, cfg: BlipTextConfig, vb: VarBuilder): Value {
  return layerNorm(g, g.add(linear(g, h, vb.pp("dense")), residual), vb.pp("LayerNorm"), cfg.layerNormEps);
}

interface SelfAttentionOut {
  out: Value;
  presentKey: Value;
  presentValue: Value;
}

/** Causal self-attention over [past ; new] keys. vb at `attention`. */
function selfAttention(
  g: Graph,
  x: Value,
  past: { key: Value; value: Value },
  mask: Value,
  cfg: BlipTextConfig,
  vb: VarBuilder,
): SelfAttentionOut {
  const H = cfg.numAttentionHeads;
  const Dh = headDim(cfg);
  const sv = vb.pp("self");
  const q = splitHeads(g, linear(g, x, sv.pp("query")), H, Dh); // [B, H, T, Dh]
  const k = g.concat([past.key, splitHeads(g, linear(g, x, sv.pp("key")), H, Dh)], 2); // [B, H, P+T, Dh]
  const v = g.concat([past.value, splitHeads(g, linear(g, x, sv.pp("value")), H, Dh)], 2); // [B, H, P+T, Dh]
  const o = scaledDotProductAttention(g, q, k, v, { scale: 1 / Math.sqrt(Dh), mask }); // [B, H, T, Dh]
  const out = denseAddNorm(g, mergeHeads(g, o, cfg.hiddenSize), x, cfg, vb.pp("output"));
  return { out, presentKey: k, presentValue: v };
}

/** Cross-attention to the image: K/V [Bi, H, N, Dh] precomputed (Bi = 1 broadcasts over beams). vb at `crossattention`. */
function crossAttention(
  g: Graph,
  x: Value,
  key: Value,
  value: Value,
  cfg: BlipTextConfig,
  vb: VarBuilder,
): Value {
  const Dh = headDim(cfg);
  const q = splitHeads(g, linear(g, x, vb.pp("self").pp("query")), cfg.numAttentionHeads, Dh); // [B, H, T, Dh]
  // The image attention mask is all ones: nothing to add.
  const o = scaledDotProductAttention(g, q, key, value, { scale: 1 / Math.sqrt(Dh) }); // [B, H, T, Dh]
  return denseAddNorm(g, mergeHeads(g, o, cfg.hiddenSize), x, cfg, vb.pp("output"));
}

/** BlipTextLMPredictionHead: transform (dense, act, LayerNorm), then decoder weight + bias. vb at `cls.predictions`. */
function lmHead(g: Graph, h: Value, cfg: BlipTextConfig, vb: VarBuilder, embeddingsVb: VarBuilder): Value {
  const t = vb.pp("transform");
  let x = activation(g, linear(g, h, t.pp("dense")), cfg.hiddenAct);
  x = layerNorm(g, x, t.pp("LayerNorm"), cfg.layerNormEps);
  // HF 4.40 does not tie decoder.weight to the word embeddings for this class: use the decoder's own,
  // falling back to the word embeddings only for a checkpoint saved without it (tied on save).
  const w = vb.has("decoder.weight")
    ? vb.get("decoder.weight", [cfg.vocabSize, cfg.hiddenSize])
    : embeddingsVb.get("word_embeddings.weight", [cfg.vocabSize, cfg.hiddenSize]);
  return g.add(matmulTransB(g, x, w), vb.get("bias", [cfg.vocabSize]));
}

/**
 * The step graph. Inputs: `input_ids` [B, T] int64, `past_key_i`/`past_value_i` [B, H, P, Dh],
 * `cross_key_i`/`cross_value_i` [1 or B, H, N, Dh]. Outputs: `logits` [B, vocab] at the last position,
 * `present_key_i`/`present_value_i` [B, H, P+T, Dh]. vb at `text_decoder`.
 */
export function buildStepGraph(g: Graph, cfg: BlipTextConfig, vb: VarBuilder): void {
  const H = cfg.numAttentionHeads;
  const Dh = headDim(cfg);
  const ids = g.input("input_ids", "int64", ["batch", "tokens"]);
  const L = cfg.numHiddenLayers;
  const pasts = Array.from({ length: L }, (_, i) => ({
    key: g.input(pastKey(i), "float32", ["batch", H, "past", Dh]),
    value: g.input(pastValue(i), "float32", ["batch", H, "past", Dh]),
  }));
  const crosses = Array.from({ length: L }, (_, i) => ({
    key: g.input(crossKey(i), "float32", ["image_batch", H, "image_tokens", Dh]),
    value: g.input(crossValue(i), "float32", ["image_batch", H, "image_tokens", Dh]),
  }));
  const bert = vb.pp("bert");
  const pastLen = dim(g, pasts[0].key, 2);
  const T = dim(g, ids, 1);
  const mask = causalMask(g, T, g.add(pastLen, T)); // [1, 1, T, P+T]
  let x = textEmbeddings(g, ids, pastLen, cfg, bert.pp("embeddings")); // [B, T, D]
  for (let i = 0; i < L; i++) {
    const lv = bert.pp("encoder").pp("layer").pp(i);
    const sa = selfAttention(g, x, pasts[i], mask, cfg, lv.pp("attention"));
    g.output(sa.presentKey, presentKey(i));
    g.output(sa.presentValue, presentValue(i));
    const c = crossAttention(g, sa.out, crosses[i].key, crosses[i].value, cfg, lv.pp("crossattention"));
    const inter = activation(g, linear(g, c, lv.pp("intermediate").pp("dense")), cfg.hiddenAct);
    x = denseAddNorm(g, inter, c, cfg, lv.pp("output")); // [B, T, D]
  }
  // Only the last position is scored: generation never needs the others.
  const last = g.gather(x, g.sub(T, g.scalarInt(1)), 1); // [B, D]
  g.output(lmHead(g, last, cfg, vb.pp("cls").pp("predictions"), bert.pp("embeddings")), "logits");
}

/**
 * The cross-attention K/V graph: `image_embeds` [B, N, E] → `cross_key_i`/`cross_value_i` [B, H, N, Dh]
 * (HF recomputes them every step from the same image embeddings; once per image gives the same values).
 */
export function buildCrossKvGraph(g: Graph, cfg: BlipTextConfig, vb: VarBuilder): void {
  const H = cfg.numAttentionHeads;
  const Dh = headDim(cfg);
  const image = g.input("image_embeds", "float32", ["batch", "image_tokens", cfg.encoderHiddenSize]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const cv = vb.pp("bert").pp("encoder").pp("layer").pp(i).pp("crossattention").pp("self");
    g.output(splitHeads(g, linear(g, image, cv.pp("key")), H, Dh), crossKey(i)); // [B, H, N, Dh]
    g.output(splitHeads(g, linear(g, image, cv.pp("value")), H, Dh), crossValue(i)); // [B, H, N, Dh]
  }
}
