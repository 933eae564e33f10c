// BLIP text decoder (HF BlipTextLMHeadModel): BERT embeddings (word + absolute position, LayerNorm),
// post-norm layers of causal self-attention, cross-attention to the image embeddings and a GELU MLP,
// then the LM head cls.predictions (transform dense + act + LayerNorm, decoder weight + bias).
// Weights: text_decoder.bert.*, text_decoder.cls.*
// What is BERT's own: every sub-block ends in LayerNorm(dense(h) + residual), and the LM head has a
// transform before the vocabulary projection.
//
// Two graphs: `cross-kv` projects the image embeddings to every layer's cross-attention K/V once per
// image; `step` is the decoder step (graph/step-graph.ts).
import type { Graph, Value } from "../../graph/graph.js";
import { cachedCrossAttention, cachedSelfAttention, splitHeads } from "../../graph/attention.js";
import { activation, embedding, layerNorm, linear, mlp } from "../../graph/nn.js";
import {
  crossKvOutputs,
  lastPosition,
  logitsOutput,
  presentOutputs,
  stepGraphInputs,
  type StepInputs,
} from "../../graph/step-graph.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { DecoderSpec } from "../../generation/kv-decoder.js";
import type { BlipTextConfig } from "./config.js";

const headDim = (cfg: BlipTextConfig): number => cfg.hiddenSize / cfg.numAttentionHeads;

/** The BLIP text decoder as the KV decoder sees it. */
export function blipDecoderSpec(cfg: BlipTextConfig): DecoderSpec {
  const heads = cfg.numAttentionHeads;
  return {
    layers: cfg.numHiddenLayers,
    kvHeads: heads,
    headDim: headDim(cfg),
    maxPositions: cfg.maxPositionEmbeddings,
    positionIds: true,
    cross: { heads, headDim: headDim(cfg) },
  };
}

/** BlipTextEmbeddings: word_embeddings[ids] + position_embeddings[positions], then LayerNorm. */
function textEmbeddings(g: Graph, io: StepInputs, cfg: BlipTextConfig, vb: VarBuilder): Value {
  const words = embedding(g, io.ids, vb.get("word_embeddings.weight", [cfg.vocabSize, cfg.hiddenSize])); // [B, T, D]
  const positions = embedding(g, io.positions, vb.get("position_embeddings.weight")); // [B, T, D]
  return layerNorm(g, g.add(words, positions), vb.pp("LayerNorm"), cfg.layerNormEps);
}

/** BlipTextSelfOutput / BlipTextOutput: LayerNorm(h + residual), h already projected. */
function addNorm(g: Graph, h: Value, residual: Value, cfg: BlipTextConfig, vb: VarBuilder): Value {
  return layerNorm(g, g.add(h, residual), vb.pp("LayerNorm"), cfg.layerNormEps);
}

/** One BlipTextLayer: self-attention, cross-attention, MLP, each followed by add & norm. */
function textLayer(
  g: Graph,
  x: Value,
  layer: number,
  io: StepInputs,
  cfg: BlipTextConfig,
  vb: VarBuilder,
): Value {
  const H = cfg.numAttentionHeads;
  const Dh = headDim(cfg);
  const scale = 1 / Math.sqrt(Dh);
  const sv = vb.pp("attention").pp("self");
  const [q, key, value] = ["query", "key", "value"].map((n) => splitHeads(g, linear(g, x, sv.pp(n)), H, Dh)); // [B, H, T, Dh]
  const self = cachedSelfAttention(g, q, { key, value }, io.past[layer], io.selfBias, {
    scale,
    hidden: cfg.hiddenSize,
  });
  presentOutputs(g, layer, self.present);
  const so = vb.pp("attention").pp("output");
  const a = addNorm(g, linear(g, self.out, so.pp("dense")), x, cfg, so);

  // Cross-attention to the image (its attention mask is all ones: only the rows' images are masked).
  const cv = vb.pp("crossattention");
  const cq = linear(g, a, cv.pp("self").pp("query")); // [B, T, D]
  const cross = cachedCrossAttention(g, cq, io.cross[layer], io.crossLayout!, {
    numHeads: H,
    headDim: Dh,
    scale,
  });
  const c = addNorm(g, linear(g, cross, cv.pp("output").pp("dense")), a, cfg, cv.pp("output"));

  const m = mlp(g, c, vb.pp("intermediate").pp("dense"), vb.pp("output").pp("dense"), cfg.hiddenAct);
  return addNorm(g, m, c, cfg, vb.pp("output")); // [B, T, D]
}

/**
 * The step graph. Besides the shared inputs and outputs, only the LM head is BLIP's own:
 * BlipTextLMPredictionHead (transform: dense, act, LayerNorm; then decoder weight + bias). vb at `text_decoder`.
 */
export function buildStepGraph(g: Graph, cfg: BlipTextConfig, vb: VarBuilder): void {
  const io = stepGraphInputs(g, blipDecoderSpec(cfg));
  const bert = vb.pp("bert");
  let x = textEmbeddings(g, io, cfg, bert.pp("embeddings")); // [B, T, D]
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    x = textLayer(g, x, i, io, cfg, bert.pp("encoder").pp("layer").pp(i));
  // Only the last position is scored: generation never needs the others.
  const head = vb.pp("cls").pp("predictions");
  const t = head.pp("transform");
  let h = activation(g, linear(g, lastPosition(g, x), t.pp("dense")), cfg.hiddenAct); // [B, D]
  h = layerNorm(g, h, t.pp("LayerNorm"), cfg.layerNormEps);
  // HF 4.40 does not tie decoder.weight to the word embeddings for this class: use the decoder's own,
  // falling back to the word embeddings only for a checkpoint saved without it (tied on save).
  const w = head.has("decoder.weight")
    ? head.get("decoder.weight", [cfg.vocabSize, cfg.hiddenSize])
    : bert.pp("embeddings").get("word_embeddings.weight", [cfg.vocabSize, cfg.hiddenSize]);
  logitsOutput(g, h, w, head.get("bias", [cfg.vocabSize]));
}

/**
 * The cross-attention K/V graph: `image_embeds` [1, N, E] → `cross_key_i`/`cross_value_i` [1, H, N, Dh]
 * (HF recomputes them every step from the same image embeddings; once per image gives the same values).
 */
export function buildCrossKvGraph(g: Graph, cfg: BlipTextConfig, vb: VarBuilder): void {
  const image = g.input("image_embeds", "float32", [1, "image_tokens", cfg.encoderHiddenSize]);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const cv = vb.pp("bert").pp("encoder").pp("layer").pp(i).pp("crossattention").pp("self");
    const kv = { key: linear(g, image, cv.pp("key")), value: linear(g, image, cv.pp("value")) }; // [1, N, D]
    crossKvOutputs(g, i, kv, cfg.numAttentionHeads, headDim(cfg));
  }
}
