// The Qwen3-VL text decoder (HF Qwen3VLTextModel + the tied LM head, weights model.language_model.*)
// as a decoder step graph (graph/step-graph.ts): pre-norm Qwen3 layers (grouped-query attention with
// RMS-normed q and k per head, SwiGLU MLP), a final RMSNorm and the LM head. What is Qwen3-VL's own:
//   - image embeddings replace the `<|image_pad|>` embeddings, and DeepStack feature k is added to the
//     hidden states at the image positions after layer k (a row's first step);
//   - rotary angles come from interleaved 3-axis M-RoPE positions (t, h, w): the prompt's from
//     get_rope_index, decode step k after a prompt of length L at L + k + rope_deltas on every axis.
//     They are computed here per row and fed as cos/sin, so rows of different prompts mix freely.
import { fail } from "../../errors.js";
import type { Graph, Value } from "../../graph/graph.js";
import { applyRotary, cachedSelfAttention, splitHeads } from "../../graph/attention.js";
import { gatedMlp, linear, rmsNorm, storedEmbedding } from "../../graph/nn.js";
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
import type { Qwen3VLConfig, Qwen3VLTextConfig } from "./config.js";
import { mropeCosSin, type MropePositions } from "./rope-index.js";

/** What a prompt's rows bring to the decoder: its image features and its M-RoPE positions. */
export interface Qwen3VLPrompt extends RowSource {
  /** [image tokens, D]: replace the embeddings of the prompt's image tokens, in order. */
  imageEmbeds: Float32Array;
  /** Per DeepStack layer k, [image tokens, D]: added after text layer k at the image tokens. */
  deepstack: readonly Float32Array[];
  /** Per prompt token: 1 for an image token. */
  imageMask: readonly number[];
  /** The prompt's positions [3][length] and rope_deltas. */
  rope: MropePositions;
}

/** The extra inputs of the step graph. */
const ROPE_COS = "rope_cos";
const ROPE_SIN = "rope_sin";
const IMAGE_FEATURES = "image_features";
const IMAGE_MASK = "image_mask";
const deepstackInput = (k: number) => `deepstack_${k}`;

/** The decoder as the KV decoder sees it: positions and image features come in as extra feeds. */
export function qwen3VLDecoderSpec(cfg: Qwen3VLConfig): DecoderSpec<Qwen3VLPrompt> {
  const t = cfg.text;
  return {
    layers: t.numHiddenLayers,
    kvHeads: t.numKeyValueHeads,
    headDim: t.headDim,
    maxPositions: t.maxPositionEmbeddings,
    positionIds: false,
    extraFeeds: (step) => ({ ...ropeFeeds(step, t), ...imageFeeds(step, cfg) }),
  };
}

/**
 * M-RoPE positions [3][n] of a row's new tokens: the prompt's own on its first step, else (one axis
 * for all three) index + rope_deltas.
 */
export function rowPositions(source: Qwen3VLPrompt, count: number, past: number): number[][] {
  if (past === 0) {
    const prompt = source.rope.positionIds;
    if (prompt[0].length !== count)
      throw fail("INTERNAL", "a row's first step is not its prompt (M-RoPE positions differ in length)");
    return prompt;
  }
  const axis = Array.from({ length: count }, (_, i) => past + i + source.rope.ropeDeltas);
  return [axis, axis, axis];
}

/** rope_cos / rope_sin [B, T, Dh]: each row's angles, right-aligned (padding slots stay 0). */
function ropeFeeds(step: StepContext<Qwen3VLPrompt>, t: Qwen3VLTextConfig): Record<string, Tensor> {
  const { rows, length } = step;
  const dh = t.headDim;
  const cos = new Float32Array(rows * length * dh);
  const sin = new Float32Array(rows * length * dh);
  for (let r = 0; r < rows; r++) {
    const n = step.tokens[r].length;
    const angles = mropeCosSin(rowPositions(step.sources[r], n, step.past[r]), {
      headDim: dh,
      ropeTheta: t.rope.ropeTheta,
      mropeSection: t.rope.mropeSection,
    });
    const at = (r * length + length - n) * dh;
    cos.set(angles.cos, at);
    sin.set(angles.sin, at);
  }
  const dims = [rows, length, dh];
  return { [ROPE_COS]: new Tensor("float32", cos, dims), [ROPE_SIN]: new Tensor("float32", sin, dims) };
}

/**
 * image_features [B, T, D] with image_mask [B, T], and deepstack_k [B, T, D] (zero off the image): each
 * row's image features at its image tokens, on its first step only.
 */
function imageFeeds(step: StepContext<Qwen3VLPrompt>, cfg: Qwen3VLConfig): Record<string, Tensor> {
  const { rows, length } = step;
  const d = cfg.text.hiddenSize;
  const levels = cfg.vision.deepstackVisualIndexes.length;
  const features = new Float32Array(rows * length * d);
  const deepstack = Array.from({ length: levels }, () => new Float32Array(rows * length * d));
  const mask = new Uint8Array(rows * length);
  for (let r = 0; r < rows; r++) {
    if (step.past[r] !== 0) continue;
    const source = step.sources[r];
    if (source.imageMask.length !== step.tokens[r].length)
      throw fail("INTERNAL", "prompt and image mask lengths differ");
    const pad = length - step.tokens[r].length;
    let k = 0;
    source.imageMask.forEach((m, i) => {
      if (m !== 1) return;
      const at = (r * length + pad + i) * d;
      mask[r * length + pad + i] = 1;
      features.set(source.imageEmbeds.subarray(k * d, (k + 1) * d), at);
      source.deepstack.forEach((level, j) => deepstack[j].set(level.subarray(k * d, (k + 1) * d), at));
      k++;
    });
  }
  const dims = [rows, length, d];
  return {
    [IMAGE_FEATURES]: new Tensor("float32", features, dims),
    [IMAGE_MASK]: new Tensor("bool", mask, [rows, length]),
    ...Object.fromEntries(deepstack.map((x, j) => [deepstackInput(j), new Tensor("float32", x, dims)])),
  };
}

/**
 * Qwen3VLTextAttention over the cache: q/k/v projections, per-head RMSNorm of q and k, M-RoPE, grouped
 * keys and values, softmax(q kᵀ / √Dh) v, o_proj.
 */
function selfAttention(
  g: Graph,
  x: Value,
  layer: number,
  io: StepInputs,
  rope: { cos: Value; sin: Value },
  t: Qwen3VLTextConfig,
  vb: VarBuilder,
): Value {
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = t;
  const normedHeads = (proj: string, norm: string, n: number): Value => {
    const split = g.reshape(linear(g, x, vb.pp(proj)), [0, 0, n, headDim]); // [B, T, n, Dh]
    const normed = rmsNorm(g, split, vb.pp(norm), t.rmsNormEps);
    return applyRotary(g, g.transpose(normed, [0, 2, 1, 3]), rope.cos, rope.sin, headDim); // [B, n, T, Dh]
  };
  const q = normedHeads("q_proj", "q_norm", heads);
  const key = normedHeads("k_proj", "k_norm", kvHeads);
  const value = splitHeads(g, linear(g, x, vb.pp("v_proj")), kvHeads, headDim);
  const a = cachedSelfAttention(g, q, { key, value }, io.past[layer], io.selfBias, {
    scale: headDim ** -0.5,
    hidden: heads * headDim,
    groups: heads / kvHeads,
  });
  presentOutputs(g, layer, a.present);
  return linear(g, a.out, vb.pp("o_proj"));
}

/** Where the text decoder's weights live: `model.language_model` (transformers ≥ 4.57). */
const TEXT_PREFIX = "model.language_model";

/**
 * The step graph: the shared inputs and outputs, plus rope_cos / rope_sin [B, T, Dh], image_features
 * [B, T, D] with image_mask [B, T], and deepstack_k [B, T, D] per DeepStack layer. `vb` is the
 * checkpoint's root.
 */
export function buildTextStepGraph(g: Graph, cfg: Qwen3VLConfig, vb: VarBuilder): void {
  const t = cfg.text;
  const d = t.hiddenSize;
  const io = stepGraphInputs(g, qwen3VLDecoderSpec(cfg));
  const rope = {
    cos: g.unsqueeze(g.input(ROPE_COS, "float32", ["batch", "new", t.headDim]), [1]), // [B, 1, T, Dh]
    sin: g.unsqueeze(g.input(ROPE_SIN, "float32", ["batch", "new", t.headDim]), [1]),
  };
  const imageFeatures = g.input(IMAGE_FEATURES, "float32", ["batch", "new", d]);
  const imageMask = g.input(IMAGE_MASK, "bool", ["batch", "new"]);
  const deepstack = cfg.vision.deepstackVisualIndexes.map((_, k) =>
    g.input(deepstackInput(k), "float32", ["batch", "new", d]),
  );
  const model = vb.pp(TEXT_PREFIX);
  const embed = model.pp("embed_tokens");

  const tokens = storedEmbedding(g, io.ids, embed, [t.vocabSize, d]); // [B, T, D]
  let x = g.op("Where", [g.unsqueeze(imageMask, [2]), imageFeatures, tokens]); // [B, T, D]
  for (let i = 0; i < t.numHiddenLayers; i++) {
    const layer = model.pp("layers").pp(i);
    const h = rmsNorm(g, x, layer.pp("input_layernorm"), t.rmsNormEps);
    x = g.add(x, selfAttention(g, h, i, io, rope, t, layer.pp("self_attn")));
    const m = layer.pp("mlp");
    const ffn = gatedMlp(
      g,
      rmsNorm(g, x, layer.pp("post_attention_layernorm"), t.rmsNormEps),
      { gate: m.pp("gate_proj"), up: m.pp("up_proj"), down: m.pp("down_proj") },
      t.hiddenAct,
    );
    x = g.add(x, ffn);
    // DeepStack: feature k joins the image positions after layer k (zeros elsewhere add nothing).
    if (i < deepstack.length) x = g.add(x, deepstack[i]);
  }
  // The norm is per position: only the last one is needed for the logits.
  const last = rmsNorm(g, lastPosition(g, x), model.pp("norm"), t.rmsNormEps); // [B, D]
  // transformers 5 ties lm_head to the embedding by the top-level tie_word_embeddings; a checkpoint
  // saved tied has no lm_head.weight at all, whatever its config says.
  const tied = cfg.tieWordEmbeddings || !vb.has("lm_head.weight");
  const head = tied ? embed.get("weight") : vb.get("lm_head.weight", [t.vocabSize, d]);
  logitsOutput(g, last, head);
}
