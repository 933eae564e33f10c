// ViT encoder (HF ViTModel as used by VisionEncoderDecoderModel). Weights: encoder.*
// The pooler (encoder.pooler.*) is in the checkpoint but unused by the captioner.
import { Graph, type Value } from "../../graph/graph.js";
import { attention } from "../../graph/attention.js";
import { conv2d, layerNorm, linear, mlp } from "../../graph/nn.js";
import type { WeightStore } from "../../graph/safetensors.js";
import { VarBuilder } from "../../graph/var-builder.js";
import type { VitConfig } from "./config.js";

/** ViTEmbeddings: patch conv → tokens, [CLS] first, + learned position embeddings. */
function vitEmbeddings(g: Graph, pixels: Value, cfg: VitConfig, vb: VarBuilder): Value {
  const D = cfg.hiddenSize;
  const numPatches = Math.floor(cfg.imageSize / cfg.patchSize) ** 2; // the stride-P conv drops a remainder
  const patches = conv2d(g, pixels, vb.pp("patch_embeddings").pp("projection"), { stride: cfg.patchSize }); // [B, D, h, w]
  const tokens = g.transpose(g.reshape(patches, [0, 0, -1]), [0, 2, 1]); // [B, N, D]
  const cls = vb.get("cls_token", [1, 1, D]);
  const clsShape = g.concat([g.shape(pixels, 0, 1), g.constInt([1, D])], 0);
  const withCls = g.concat([g.op("Expand", [cls, clsShape]), tokens], 1); // [B, 1 + N, D]
  return g.add(withCls, vb.get("position_embeddings", [1, numPatches + 1, D]));
}

/** ViTLayer: pre-norm self-attention and MLP, each with a residual. */
function vitLayer(g: Graph, x: Value, cfg: VitConfig, vb: VarBuilder): Value {
  const D = cfg.hiddenSize;
  const h = layerNorm(g, x, vb.pp("layernorm_before"), cfg.layerNormEps);
  const self = vb.pp("attention").pp("attention");
  const q = linear(g, h, self.pp("query"), { bias: cfg.qkvBias });
  const k = linear(g, h, self.pp("key"), { bias: cfg.qkvBias });
  const v = linear(g, h, self.pp("value"), { bias: cfg.qkvBias });
  const a = attention(g, q, k, v, D, { numHeads: cfg.numAttentionHeads }); // [B, T, D]
  const r = g.add(x, linear(g, a, vb.pp("attention").pp("output").pp("dense")));
  const m = layerNorm(g, r, vb.pp("layernorm_after"), cfg.layerNormEps);
  return g.add(r, mlp(g, m, vb.pp("intermediate").pp("dense"), vb.pp("output").pp("dense"), cfg.hiddenAct));
}

/** pixel_values [B, C, S, S] → last_hidden_state [B, 1 + (S/P)², D] (after the final layernorm). */
export function vitEncoderGraph(cfg: VitConfig, store: WeightStore): Graph {
  const g = new Graph("vit-encoder");
  const vb = new VarBuilder(g, store).pp("encoder");
  const pixels = g.input("pixel_values", "float32", ["batch", cfg.numChannels, cfg.imageSize, cfg.imageSize]);
  let h = vitEmbeddings(g, pixels, cfg, vb.pp("embeddings"));
  for (let i = 0; i < cfg.numHiddenLayers; i++) h = vitLayer(g, h, cfg, vb.pp("encoder").pp("layer").pp(i));
  g.output(layerNorm(g, h, vb.pp("layernorm"), cfg.layerNormEps), "last_hidden_state");
  return g;
}
