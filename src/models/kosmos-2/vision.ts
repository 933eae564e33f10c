// Kosmos-2 image side: the CLIP vision transformer (HF Kosmos2VisionModel, weights vision_model.model.*)
// and the image-to-text connector (Kosmos2ImageToTextProjection, weights image_to_text_projection.*).
// One graph: pixel_values → (encoder output before post_layernorm, image embeddings for the text model).
import type { Graph, Value } from "../../graph/graph.js";
import { attention } from "../../graph/attention.js";
import { layerNorm, linear, mlp } from "../../graph/nn.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { Kosmos2Config, Kosmos2VisionConfig } from "./config.js";

/** Kosmos-2's attention modules scale q_proj(x) by head_dim^-½ before q·kᵀ (not the scores after). */
const scaledQuery = (g: Graph, x: Value, vb: VarBuilder, hidden: number, heads: number): Value =>
  g.scale(linear(g, x, vb.pp("q_proj")), (hidden / heads) ** -0.5);

/** Kosmos2VisionAttention (CLIP attention): q scaled before the product, no mask. */
function visionAttention(g: Graph, x: Value, cfg: Kosmos2VisionConfig, vb: VarBuilder): Value {
  const d = cfg.hiddenSize;
  const q = scaledQuery(g, x, vb, d, cfg.numAttentionHeads);
  const k = linear(g, x, vb.pp("k_proj"));
  const v = linear(g, x, vb.pp("v_proj"));
  const a = attention(g, q, k, v, d, { numHeads: cfg.numAttentionHeads, scale: 1 });
  return linear(g, a, vb.pp("out_proj"));
}

/** Kosmos2VisionEncoderLayer: pre-norm attention and quick_gelu MLP, each with a residual. */
function visionLayer(g: Graph, x: Value, cfg: Kosmos2VisionConfig, vb: VarBuilder): Value {
  const a = visionAttention(
    g,
    layerNorm(g, x, vb.pp("layer_norm1"), cfg.layerNormEps),
    cfg,
    vb.pp("self_attn"),
  );
  const r = g.add(x, a);
  const h = layerNorm(g, r, vb.pp("layer_norm2"), cfg.layerNormEps);
  return g.add(r, mlp(g, h, vb.pp("mlp").pp("fc1"), vb.pp("mlp").pp("fc2"), cfg.hiddenAct));
}

/** Kosmos2VisionEmbeddings: patch conv (no bias), class token prepended, learned positions added. */
function visionEmbeddings(g: Graph, pixels: Value, cfg: Kosmos2VisionConfig, vb: VarBuilder): Value {
  const d = cfg.hiddenSize;
  const numPositions = Math.floor(cfg.imageSize / cfg.patchSize) ** 2 + 1; // HF: (image_size // patch_size)² + class
  const patches = g.op(
    "Conv",
    [pixels, vb.get("patch_embedding.weight", [d, cfg.numChannels, cfg.patchSize, cfg.patchSize])],
    {
      kernel_shape: [cfg.patchSize, cfg.patchSize],
      strides: [cfg.patchSize, cfg.patchSize],
    },
  ); // [B, D, h, w]
  const flat = g.transpose(g.reshape(patches, [0, d, -1]), [0, 2, 1]); // [B, N, D]
  const batch = g.shape(pixels, 0, 1); // [1] = B
  const cls = g.op("Expand", [
    g.reshape(vb.get("class_embedding", [d]), [1, 1, d]), // [1, 1, D]
    g.concat([batch, g.constInt([1, d])], 0),
  ]); // [B, 1, D]
  const tokens = g.concat([cls, flat], 1); // [B, N + 1, D]
  return g.add(tokens, vb.get("position_embedding.weight", [numPositions, d]));
}

/** Kosmos2ImageToTextProjection: latent queries cross-attend over [dense(features); latent queries]. */
function imageToText(g: Graph, features: Value, cfg: Kosmos2Config, vb: VarBuilder): Value {
  const d = cfg.text.embedDim;
  const dense = linear(g, features, vb.pp("dense")); // [B, N + 1, Dt]
  const batch = g.shape(features, 0, 1);
  const latent = g.op("Expand", [
    g.unsqueeze(vb.get("latent_query", [cfg.latentQueryNum, d]), [0]), // [1, Q, Dt]
    g.concat([batch, g.constInt([cfg.latentQueryNum, d])], 0),
  ]); // [B, Q, Dt]
  const kv = g.concat([dense, latent], 1); // [B, N + 1 + Q, Dt]
  const att = vb.pp("x_attn");
  const heads = cfg.text.attentionHeads;
  const q = scaledQuery(g, latent, att, d, heads);
  const k = linear(g, kv, att.pp("k_proj"));
  const v = linear(g, kv, att.pp("v_proj"));
  return linear(g, attention(g, q, k, v, d, { numHeads: heads, scale: 1 }), att.pp("out_proj")); // [B, Q, Dt]
}

/**
 * The whole image side. `vb` is at the checkpoint root. Outputs `vision_last_hidden_state`
 * [B, N + 1, Dv] (encoder output, before post_layernorm) and `image_embeds` [B, Q, Dt].
 */
export function buildVisionGraph(g: Graph, cfg: Kosmos2Config, vb: VarBuilder): void {
  const vc = cfg.vision;
  const pixels = g.input("pixel_values", "float32", ["batch", vc.numChannels, vc.imageSize, vc.imageSize]);
  const model = vb.pp("vision_model").pp("model");
  let x = visionEmbeddings(g, pixels, vc, model.pp("embeddings"));
  x = layerNorm(g, x, model.pp("pre_layrnorm"), vc.layerNormEps);
  for (let i = 0; i < vc.numHiddenLayers; i++)
    x = visionLayer(g, x, vc, model.pp("encoder").pp("layers").pp(i));
  g.output(x, "vision_last_hidden_state");
  // HF: post_layernorm over every position, then F.normalize (x / max(‖x‖₂, 1e-12)) on the last axis.
  const post = layerNorm(g, x, model.pp("post_layernorm"), vc.layerNormEps);
  const norm = g.op("ReduceL2", [post], { axes: [-1], keepdims: 1 }); // [B, N + 1, 1]
  const normalized = g.div(post, g.op("Max", [norm, g.scalarFloat(1e-12)]));
  g.output(imageToText(g, normalized, cfg, vb.pp("image_to_text_projection")), "image_embeds");
}
