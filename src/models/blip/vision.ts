// BLIP vision tower (HF BlipVisionModel): patch embedding + class token + learned positions, pre-norm
// encoder layers with a fused qkv projection, and a final post_layernorm. Weights: vision_model.*
// Its last hidden state is the `image_embeds` the text decoder cross-attends to.
import type { Graph, Value } from "../../graph/graph.js";
import { mergeHeads, scaledDotProductAttention, splitFusedHeads } from "../../graph/attention.js";
import { conv2d, layerNorm, linear, mlp } from "../../graph/nn.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { BlipVisionConfig } from "./config.js";

/** BlipVisionEmbeddings: pixel_values [B, C, H, W] → [B, 1 + patches, D]. */
export function visionEmbeddings(g: Graph, pixels: Value, cfg: BlipVisionConfig, vb: VarBuilder): Value {
  const D = cfg.hiddenSize;
  const conv = conv2d(g, pixels, vb.pp("patch_embedding"), { stride: cfg.patchSize }); // [B, D, gh, gw]
  const patches = g.transpose(g.reshape(conv, [0, D, -1]), [0, 2, 1]); // [B, gh·gw, D]
  // class_embedding [1, 1, D] expanded over the batch.
  const batch = g.shape(pixels, 0, 1); // [1] int64
  const classShape = g.concat([batch, g.constInt([1, D])], 0);
  const cls = g.op("Expand", [vb.get("class_embedding", [1, 1, D]), classShape]); // [B, 1, D]
  const tokens = g.concat([cls, patches], 1); // [B, T, D]
  // HF adds position_embedding[:, :T]: the table covers (image_size / patch_size)² + 1 positions.
  const T = g.shape(tokens, 1, 2); // [1]
  const positions = g.op("Slice", [vb.get("position_embedding"), g.constInt([0]), T, g.constInt([1])]); // [1, T, D]
  return g.add(tokens, positions);
}

/** BlipAttention: fused qkv projection, softmax(q kᵀ · Dh^-½) v, output projection. */
function visionAttention(g: Graph, x: Value, cfg: BlipVisionConfig, vb: VarBuilder): Value {
  const D = cfg.hiddenSize;
  const H = cfg.numAttentionHeads;
  const Dh = D / H;
  const qkv = linear(g, x, vb.pp("qkv")); // [B, T, 3D]
  const [q, k, v] = splitFusedHeads(g, qkv, 3, H, Dh); // [B, H, T, Dh] each
  const o = scaledDotProductAttention(g, q, k, v, { scale: Dh ** -0.5 }); // [B, H, T, Dh]
  return linear(g, mergeHeads(g, o, D), vb.pp("projection")); // [B, T, D]
}

/** BlipEncoderLayer: x + attn(ln1(x)), then + mlp(ln2(·)). */
function visionLayer(g: Graph, x: Value, cfg: BlipVisionConfig, vb: VarBuilder): Value {
  const eps = cfg.layerNormEps;
  const a = visionAttention(g, layerNorm(g, x, vb.pp("layer_norm1"), eps), cfg, vb.pp("self_attn"));
  const r = g.add(x, a);
  const h = layerNorm(g, r, vb.pp("layer_norm2"), eps);
  return g.add(r, mlp(g, h, vb.pp("mlp").pp("fc1"), vb.pp("mlp").pp("fc2"), cfg.hiddenAct));
}

/** BlipVisionModel's last_hidden_state (after post_layernorm): [B, C, H, W] → [B, 1 + patches, D]. */
export function blipVisionModel(g: Graph, pixels: Value, cfg: BlipVisionConfig, vb: VarBuilder): Value {
  let x = visionEmbeddings(g, pixels, cfg, vb.pp("embeddings"));
  for (let i = 0; i < cfg.numHiddenLayers; i++)
    x = visionLayer(g, x, cfg, vb.pp("encoder").pp("layers").pp(i));
  return layerNorm(g, x, vb.pp("post_layernorm"), cfg.layerNormEps);
}

/** The vision graph: input `pixel_values` [B, C, H, W], output `image_embeds` [B, T, D]. */
export function buildVisionGraph(g: Graph, cfg: BlipVisionConfig, vb: VarBuilder): void {
  const pixels = g.input("pixel_values", "float32", ["batch", cfg.numChannels, "height", "width"]);
  g.output(blipVisionModel(g, pixels, cfg, vb), "image_embeds");
}
