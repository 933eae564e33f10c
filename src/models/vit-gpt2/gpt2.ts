// GPT-2 decoder with cross-attention (HF GPT2LMHeadModel inside VisionEncoderDecoderModel).
// Weights: decoder.transformer.* ; the LM head is tied to decoder.transformer.wte.weight.
// GPT-2's Conv1D layers store weights [in, out] (transposed from nn.Linear). The attn.bias /
// attn.masked_bias buffers of old checkpoints are ignored: the causal mask is built in the graph.
//
// Two graphs:
//  - cross K/V: encoder_hidden_states [1, T, De] → cross_key_i / cross_value_i [1, H, T, Dh] per layer,
//    run once per image (beams share them by broadcasting in the attention MatMul);
//  - decoder step: input_ids [B, S] + past_key_i / past_value_i [B, H, P, Dh] (P may be 0) + the cross
//    K/V → logits of the last position [B, V] + present_key_i / present_value_i [B, H, P + S, Dh].
import { Graph, type Value } from "../../graph/graph.js";
import {
  activation,
  causalMask,
  dim,
  embedding,
  layerNorm,
  linear,
  mergeHeads,
  scaledDotProductAttention,
  splitHeads,
} from "../../graph/nn.js";
import type { WeightStore } from "../../graph/safetensors.js";
import { VarBuilder } from "../../graph/var-builder.js";
import type { Gpt2Config } from "./config.js";

const headDim = (cfg: Gpt2Config) => cfg.nEmbd / cfg.nHead;

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
    const [k, v] = g.opN("Split", [kv, g.constInt([D, D])], 2, { axis: 2 });
    g.output(splitHeads(g, k, cfg.nHead, headDim(cfg)), `cross_key_${i}`); // [1, H, T, Dh]
    g.output(splitHeads(g, v, cfg.nHead, headDim(cfg)), `cross_value_${i}`);
  }
  return g;
}

interface StepInputs {
  mask: Value;
  crossKey: Value;
  crossValue: Value;
  pastKey: Value;
  pastValue: Value;
}

/** One GPT2Block: causal self-attention with cache, cross-attention, MLP (each pre-norm + residual). */
function gpt2Block(
  g: Graph,
  x: Value,
  cfg: Gpt2Config,
  layer: number,
  vb: VarBuilder,
  io: StepInputs,
): { h: Value; key: Value; value: Value } {
  const D = cfg.nEmbd;
  const H = cfg.nHead;
  const scale = attnScale(cfg, layer);

  const a = layerNorm(g, x, vb.pp("ln_1"), cfg.layerNormEpsilon);
  const qkv = linear(g, a, vb.pp("attn").pp("c_attn"), { conv1d: true }); // [B, S, 3D]
  const [q, k, v] = g.opN("Split", [qkv, g.constInt([D, D, D])], 3, { axis: 2 });
  const key = g.concat([io.pastKey, splitHeads(g, k, H, D / H)], 2); // [B, H, P + S, Dh]
  const value = g.concat([io.pastValue, splitHeads(g, v, H, D / H)], 2);
  const self = scaledDotProductAttention(g, splitHeads(g, q, H, D / H), key, value, { scale, mask: io.mask });
  let h = g.add(x, linear(g, mergeHeads(g, self, D), vb.pp("attn").pp("c_proj"), { conv1d: true }));

  if (cfg.addCrossAttention) {
    const c = layerNorm(g, h, vb.pp("ln_cross_attn"), cfg.layerNormEpsilon);
    const cq = splitHeads(g, linear(g, c, vb.pp("crossattention").pp("q_attn"), { conv1d: true }), H, D / H);
    // [B, H, S, Dh] · [1, H, Dh, T]: the image's K/V broadcast over the beams.
    const cross = scaledDotProductAttention(g, cq, io.crossKey, io.crossValue, { scale });
    h = g.add(h, linear(g, mergeHeads(g, cross, D), vb.pp("crossattention").pp("c_proj"), { conv1d: true }));
  }

  const m = layerNorm(g, h, vb.pp("ln_2"), cfg.layerNormEpsilon);
  const inner = activation(
    g,
    linear(g, m, vb.pp("mlp").pp("c_fc"), { conv1d: true }),
    cfg.activationFunction,
  );
  h = g.add(h, linear(g, inner, vb.pp("mlp").pp("c_proj"), { conv1d: true }));
  return { h, key, value };
}

/** The decoder step graph (see the file comment for its inputs and outputs). */
export function decoderStepGraph(cfg: Gpt2Config, store: WeightStore): Graph {
  const g = new Graph("gpt2-decoder-step");
  const vb = new VarBuilder(g, store).pp("decoder").pp("transformer");
  const D = cfg.nEmbd;
  const Dh = headDim(cfg);
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const past = Array.from({ length: cfg.nLayer }, (_, i) => ({
    key: g.input(`past_key_${i}`, "float32", ["batch", cfg.nHead, "past", Dh]),
    value: g.input(`past_value_${i}`, "float32", ["batch", cfg.nHead, "past", Dh]),
  }));
  const cross = Array.from({ length: cfg.nLayer }, (_, i) =>
    cfg.addCrossAttention
      ? {
          key: g.input(`cross_key_${i}`, "float32", [1, cfg.nHead, "tokens", Dh]),
          value: g.input(`cross_value_${i}`, "float32", [1, cfg.nHead, "tokens", Dh]),
        }
      : { key: "", value: "" },
  );

  // Positions continue after the cached ones: past_length … past_length + S − 1.
  const pastLen = dim(g, past[0].key, 2);
  const seqLen = dim(g, ids, 1);
  const totalLen = g.add(pastLen, seqLen);
  const positions = g.op("Range", [pastLen, totalLen, g.scalarInt(1)]); // [S]
  const wte = vb.pp("wte").get("weight", [cfg.vocabSize, D]);
  let h = g.add(
    embedding(g, ids, wte),
    embedding(g, positions, vb.pp("wpe").get("weight", [cfg.nPositions, D])),
  ); // [B, S, D]
  const mask = causalMask(g, seqLen, totalLen); // [1, 1, S, P + S]

  for (let i = 0; i < cfg.nLayer; i++) {
    const out = gpt2Block(g, h, cfg, i, vb.pp("h").pp(i), {
      mask,
      crossKey: cross[i].key,
      crossValue: cross[i].value,
      pastKey: past[i].key,
      pastValue: past[i].value,
    });
    h = out.h;
    g.output(out.key, `present_key_${i}`);
    g.output(out.value, `present_value_${i}`);
  }
  h = layerNorm(g, h, vb.pp("ln_f"), cfg.layerNormEpsilon);
  // Only the last position feeds the LM head: [B, S, D] → [B, D], then · wteᵀ with Gemm(transB) so the
  // tied [V, D] embedding is used in place.
  const last = g.squeeze(g.slice(h, [-1], [Number.MAX_SAFE_INTEGER], [1]), [1]);
  g.output(g.op("Gemm", [last, wte], { transB: 1 }), "logits");
  return g;
}
