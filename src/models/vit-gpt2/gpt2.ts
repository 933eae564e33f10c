// GPT-2 decoder with cross-attention (HF GPT2LMHeadModel inside VisionEncoderDecoderModel).
// Weights: decoder.transformer.* ; the LM head is tied to decoder.transformer.wte.weight.
// What is GPT-2's own: Conv1D layers store weights [in, out] (transposed from nn.Linear), q/k/v come
// from one fused c_attn, and the scores are scaled by 1/√Dh and optionally 1/(layer + 1). The
// attn.bias / attn.masked_bias buffers of old checkpoints are ignored: the step graph builds the mask.
//
// Two graphs: cross K/V (encoder_hidden_states [1, T, De] → every layer's cross K/V, once per image) and
// the decoder step (graph/step-graph.ts), with learned positions from position_ids.
import { Graph, type Value } from "../../graph/graph.js";
import { cachedCrossAttention, cachedSelfAttention, splitFusedHeads } from "../../graph/attention.js";
import { embedding, layerNorm, linear, mlp } from "../../graph/nn.js";
import type { WeightStore } from "../../graph/safetensors.js";
import {
  crossKvOutputs,
  lastPosition,
  logitsOutput,
  presentOutputs,
  stepGraphInputs,
  type StepInputs,
} from "../../graph/step-graph.js";
import { VarBuilder } from "../../graph/var-builder.js";
import type { DecoderSpec } from "../../generation/kv-decoder.js";
import type { Gpt2Config } from "./config.js";

const headDim = (cfg: Gpt2Config) => cfg.nEmbd / cfg.nHead;

/** GPT-2's decoder as the KV decoder sees it. */
export function gpt2DecoderSpec(cfg: Gpt2Config): DecoderSpec {
  return {
    layers: cfg.nLayer,
    kvHeads: cfg.nHead,
    headDim: headDim(cfg),
    maxPositions: cfg.nPositions,
    positionIds: true,
    cross: cfg.addCrossAttention ? { heads: cfg.nHead, headDim: headDim(cfg) } : undefined,
  };
}

/** GPT2Attention._attn's scaling: 1/√Dh (scale_attn_weights) and 1/(layer + 1) (by inverse layer idx). */
function attnScale(cfg: Gpt2Config, layer: number): number {
  let scale = cfg.scaleAttnWeights ? 1 / Math.sqrt(headDim(cfg)) : 1;
  if (cfg.scaleAttnByInverseLayerIdx) scale /= layer + 1;
  return scale;
}

/**
 * Cross K/V of every layer from the encoder output. VisionEncoderDecoderModel first applies
 * `enc_to_dec_proj` (nn.Linear) when the encoder and decoder widths differ and the decoder config has no
 * cross_attention_hidden_size.
 */
export function crossKvGraph(cfg: Gpt2Config, encoderHidden: number, store: WeightStore): Graph {
  const g = new Graph("gpt2-cross-kv");
  const root = new VarBuilder(g, store);
  let enc = g.input("encoder_hidden_states", "float32", [1, "tokens", encoderHidden]);
  if (encoderHidden !== cfg.nEmbd && cfg.crossAttentionHiddenSize === null) {
    enc = linear(g, enc, root.pp("enc_to_dec_proj")); // [1, T, D]
  }
  const layers = root.pp("decoder").pp("transformer").pp("h");
  const D = cfg.nEmbd;
  for (let i = 0; i < cfg.nLayer; i++) {
    const kv = linear(g, enc, layers.pp(i).pp("crossattention").pp("c_attn"), { conv1d: true }); // [1, T, 2D]
    const [key, value] = g.opN("Split", [kv, g.constInt([D, D])], 2, { axis: 2 }); // [1, T, D] each
    crossKvOutputs(g, i, { key, value }, cfg.nHead, headDim(cfg));
  }
  return g;
}

/** One GPT2Block: causal self-attention with cache, cross-attention, MLP (each pre-norm + residual). */
function gpt2Block(
  g: Graph,
  x: Value,
  cfg: Gpt2Config,
  layer: number,
  vb: VarBuilder,
  io: StepInputs,
): Value {
  const D = cfg.nEmbd;
  const H = cfg.nHead;
  const scale = attnScale(cfg, layer);

  const a = layerNorm(g, x, vb.pp("ln_1"), cfg.layerNormEpsilon);
  const qkv = linear(g, a, vb.pp("attn").pp("c_attn"), { conv1d: true }); // [B, S, 3D]
  const [q, key, value] = splitFusedHeads(g, qkv, 3, H, headDim(cfg)); // [B, H, S, Dh] each
  const self = cachedSelfAttention(g, q, { key, value }, io.past[layer], io.selfBias, { scale, hidden: D });
  presentOutputs(g, layer, self.present);
  let h = g.add(x, linear(g, self.out, vb.pp("attn").pp("c_proj"), { conv1d: true }));

  if (cfg.addCrossAttention) {
    const c = layerNorm(g, h, vb.pp("ln_cross_attn"), cfg.layerNormEpsilon);
    const cq = linear(g, c, vb.pp("crossattention").pp("q_attn"), { conv1d: true }); // [B, S, D]
    const opts = { numHeads: H, headDim: headDim(cfg), scale };
    const cross = cachedCrossAttention(g, cq, io.cross[layer], io.crossLayout!, opts);
    h = g.add(h, linear(g, cross, vb.pp("crossattention").pp("c_proj"), { conv1d: true }));
  }

  const m = layerNorm(g, h, vb.pp("ln_2"), cfg.layerNormEpsilon);
  const ff = vb.pp("mlp");
  return g.add(h, mlp(g, m, ff.pp("c_fc"), ff.pp("c_proj"), cfg.activationFunction, { conv1d: true }));
}

/** The decoder step graph (graph/step-graph.ts): token + learned position embeddings, blocks, ln_f, tied head. */
export function decoderStepGraph(cfg: Gpt2Config, store: WeightStore): Graph {
  const g = new Graph("gpt2-decoder-step");
  const vb = new VarBuilder(g, store).pp("decoder").pp("transformer");
  const D = cfg.nEmbd;
  const io = stepGraphInputs(g, gpt2DecoderSpec(cfg));
  const wte = vb.pp("wte").get("weight", [cfg.vocabSize, D]);
  const wpe = vb.pp("wpe").get("weight", [cfg.nPositions, D]);
  let h = g.add(embedding(g, io.ids, wte), embedding(g, io.positions, wpe)); // [B, S, D]
  for (let i = 0; i < cfg.nLayer; i++) h = gpt2Block(g, h, cfg, i, vb.pp("h").pp(i), io);
  h = layerNorm(g, h, vb.pp("ln_f"), cfg.layerNormEpsilon);
  logitsOutput(g, lastPosition(g, h), wte);
  return g;
}
