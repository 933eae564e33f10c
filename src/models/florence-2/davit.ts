// DaViT vision tower (modeling_florence2.py: DaViT, ConvEmbed, SpatialBlock, ChannelBlock) and
// Florence2ForConditionalGeneration._encode_image. Weights: vision_tower.*, image_pos_embed.*,
// visual_temporal_embed.*, image_projection, image_proj_norm.*
//
// Tokens travel as [B, H·W, C] (the reference's layout); the spatial size of every stage is known
// when the graph is built (the processor always resizes to one size), so reshapes use static dims.
// Layout changes are written so that ONNX Runtime can fold them (profiled on Florence-2-base at 768²,
// docs/performance.md): NHWC↔NCHW transposes around a convolution as 4-D [0,3,1,2] / [0,2,3,1], which
// its NCHWc convolution absorbs into the reorders it does anyway; window partition and head split as one
// transpose after the qkv projection, window reverse and head merge as one before the output projection
// (both projections act per token, so they commute with the permutations).
import { fail } from "../../errors.js";
import type { Graph, Value } from "../../graph/graph.js";
import { scaledDotProductAttention, splitFusedHeads } from "../../graph/attention.js";
import { conv2d, layerNorm, linear, mlp } from "../../graph/nn.js";
import type { VarBuilder } from "../../graph/var-builder.js";
import type { DavitConfig } from "./config.js";

/** nn.LayerNorm default: DaViT never passes an eps. */
const LN_EPS = 1e-5;

interface Grid {
  h: number;
  w: number;
}

/** [B, H·W, C] → [B, C, H, W]. */
function tokensToImage(g: Graph, x: Value, c: number, size: Grid): Value {
  const m = g.reshape(x, [0, size.h, size.w, c]); // [B, H, W, C]
  return g.transpose(m, [0, 3, 1, 2]); // [B, C, H, W]
}

/** [B, C, H, W] → [B, H·W, C]. */
function imageToTokens(g: Graph, x: Value, c: number, size: Grid): Value {
  const m = g.transpose(x, [0, 2, 3, 1]); // [B, H, W, C]
  return g.reshape(m, [0, size.h * size.w, c]); // [B, H·W, C]
}

const convOut = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;

/**
 * ConvEmbed of stage `i`: patch convolution with a LayerNorm before it (patch_prenorm, only on token
 * input: a 4-D image input skips the norm as the reference does) or after it.
 */
function convEmbed(
  g: Graph,
  x: Value,
  isImage: boolean,
  inChannels: number,
  size: Grid,
  cfg: DavitConfig,
  i: number,
  vb: VarBuilder,
): { x: Value; size: Grid } {
  const k = cfg.patchSize[i];
  const s = cfg.patchStride[i];
  const p = cfg.patchPadding[i];
  const preNorm = cfg.patchPrenorm[i];
  let img = x;
  if (!isImage) {
    const t = preNorm ? layerNorm(g, x, vb.pp("norm"), LN_EPS) : x;
    img = tokensToImage(g, t, inChannels, size);
  }
  const y = conv2d(g, img, vb.pp("proj"), { stride: s, padding: p });
  const out = { h: convOut(size.h, k, s, p), w: convOut(size.w, k, s, p) };
  let tokens = imageToTokens(g, y, cfg.dimEmbed[i], out);
  if (!preNorm) tokens = layerNorm(g, tokens, vb.pp("norm"), LN_EPS);
  return { x: tokens, size: out };
}

/** PreNorm(None, DepthWiseConv2d(dim, 3, 1, 1)): x + dwconv(x). Weights: conv{1,2}.fn.dw */
function convPosEnc(g: Graph, x: Value, dim: number, size: Grid, vb: VarBuilder): Value {
  const img = tokensToImage(g, x, dim, size);
  const y = conv2d(g, img, vb.pp("fn").pp("dw"), { stride: 1, padding: 1, groups: dim });
  return g.add(x, imageToTokens(g, y, dim, size));
}

/** PreNorm(LayerNorm, Mlp): x + fc2(gelu(fc1(norm(x)))). Weights: ffn.norm, ffn.fn.net.fc{1,2} */
function ffn(g: Graph, x: Value, vb: VarBuilder): Value {
  const h = layerNorm(g, x, vb.pp("norm"), LN_EPS);
  const net = vb.pp("fn").pp("net");
  return g.add(x, mlp(g, h, net.pp("fc1"), net.pp("fc2"), "gelu"));
}

/**
 * WindowAttention after its norm: zero-pad the map to whole windows (right/bottom), attend within
 * each ws×ws window, undo the partition and crop. Weights: window_attn.fn.{qkv,proj}
 */
function windowAttention(
  g: Graph,
  x: Value,
  dim: number,
  heads: number,
  ws: number,
  size: Grid,
  vb: VarBuilder,
): Value {
  const { h, w } = size;
  const padB = (ws - (h % ws)) % ws;
  const padR = (ws - (w % ws)) % ws;
  const hp = h + padB;
  const wp = w + padR;
  const [rows, cols] = [hp / ws, wp / ws];
  const headDim = dim / heads;
  let m = g.reshape(x, [0, h, w, dim]); // [B, H, W, C]
  if (padB > 0 || padR > 0) {
    // Padded tokens are zeros before qkv, as in the reference: their keys and values are the bias.
    m = g.op("Pad", [m, g.constInt([0, 0, 0, 0, 0, padB, padR, 0])], { mode: "constant" }); // [B, Hp, Wp, C]
  }
  const qkv = linear(g, m, vb.pp("qkv")); // [B, Hp, Wp, 3C]
  const parts = g.reshape(qkv, [-1, rows, ws, cols, ws, 3, heads, headDim]); // [B, Hp/ws, ws, Wp/ws, ws, 3, heads, Dh]
  const windows = g.transpose(parts, [5, 0, 1, 3, 6, 2, 4, 7]); // [3, B, Hp/ws, Wp/ws, heads, ws, ws, Dh]
  const split = g.reshape(windows, [3, -1, heads, ws * ws, headDim]); // [3, B·nW, heads, ws², Dh]
  const [q, k, v] = [0, 1, 2].map((i) => g.gather(split, g.scalarInt(i), 0)); // [B·nW, heads, ws², Dh]
  const qs = g.scale(q, Math.pow(headDim, -0.5)); // scaled before the product, as the reference does
  const o = scaledDotProductAttention(g, qs, k, v, { scale: 1 }); // [B·nW, heads, ws², Dh]
  const grid = g.reshape(o, [-1, rows, cols, heads, ws, ws, headDim]); // [B, Hp/ws, Wp/ws, heads, ws, ws, Dh]
  let merged = g.reshape(g.transpose(grid, [0, 1, 4, 2, 5, 3, 6]), [-1, hp, wp, dim]); // [B, Hp, Wp, C]
  if (padB > 0 || padR > 0) merged = g.slice(merged, [0, 0], [h, w], [1, 2]); // [B, H, W, C]
  return linear(g, g.reshape(merged, [-1, h * w, dim]), vb.pp("proj")); // [B, H·W, C]
}

/**
 * ChannelAttention after its norm: attention between channels within each of `groups` groups, the
 * query scaled by N^-0.5 (N = number of tokens, as in the reference). Weights: channel_attn.fn.{qkv,proj}
 */
function channelAttention(
  g: Graph,
  x: Value,
  dim: number,
  groups: number,
  tokens: number,
  vb: VarBuilder,
): Value {
  const [q, k, v] = splitFusedHeads(g, linear(g, x, vb.pp("qkv")), 3, groups, dim / groups); // [B, G, N, Cg]
  const qs = g.scale(q, Math.pow(tokens, -0.5));
  const attn = g.softmax(g.matmul(g.transpose(qs, [0, 1, 3, 2]), k), -1); // [B, G, Cg, Cg]
  const o = g.matmul(attn, g.transpose(v, [0, 1, 3, 2])); // [B, G, Cg, N]
  const t = g.transpose(o, [0, 3, 1, 2]); // [B, N, G, Cg]
  return linear(g, g.reshape(t, [0, 0, dim]), vb.pp("proj")); // [B, N, C]
}

function spatialBlock(
  g: Graph,
  x: Value,
  dim: number,
  heads: number,
  ws: number,
  size: Grid,
  vb: VarBuilder,
): Value {
  let h = convPosEnc(g, x, dim, size, vb.pp("conv1"));
  const a = vb.pp("window_attn");
  h = g.add(h, windowAttention(g, layerNorm(g, h, a.pp("norm"), LN_EPS), dim, heads, ws, size, a.pp("fn")));
  h = convPosEnc(g, h, dim, size, vb.pp("conv2"));
  return ffn(g, h, vb.pp("ffn"));
}

function channelBlock(g: Graph, x: Value, dim: number, groups: number, size: Grid, vb: VarBuilder): Value {
  let h = convPosEnc(g, x, dim, size, vb.pp("conv1"));
  const a = vb.pp("channel_attn");
  const tokens = size.h * size.w;
  h = g.add(h, channelAttention(g, layerNorm(g, h, a.pp("norm"), LN_EPS), dim, groups, tokens, a.pp("fn")));
  h = convPosEnc(g, h, dim, size, vb.pp("conv2"));
  return ffn(g, h, vb.pp("ffn"));
}

/** DaViT.forward_features_unpool: pixel values [B, 3, H, W] → tokens [B, h·w, C_last]. Weights: vision_tower.* */
export function davitFeatures(
  g: Graph,
  pixels: Value,
  imageSize: Grid,
  cfg: DavitConfig,
  vb: VarBuilder,
): { x: Value; size: Grid } {
  let x = pixels;
  let size = imageSize;
  let channels = 3;
  for (let i = 0; i < cfg.dimEmbed.length; i++) {
    ({ x, size } = convEmbed(g, x, i === 0, channels, size, cfg, i, vb.pp("convs").pp(i)));
    channels = cfg.dimEmbed[i];
    for (let j = 0; j < cfg.depths[i]; j++) {
      const blk = vb.pp("blocks").pp(i).pp(j);
      x = spatialBlock(g, x, channels, cfg.numHeads[i], cfg.windowSize, size, blk.pp("spatial_block"));
      x = channelBlock(g, x, channels, cfg.numGroups[i], size, blk.pp("channel_block"));
    }
  }
  return { x, size };
}

/** The spatial size of the last DaViT stage for an input of `imageSize`. */
export function davitOutputSize(imageSize: Grid, cfg: DavitConfig): Grid {
  let { h, w } = imageSize;
  for (let i = 0; i < cfg.dimEmbed.length; i++) {
    h = convOut(h, cfg.patchSize[i], cfg.patchStride[i], cfg.patchPadding[i]);
    w = convOut(w, cfg.patchSize[i], cfg.patchStride[i], cfg.patchPadding[i]);
  }
  return { h, w };
}

/**
 * LearnedAbsolutePositionEmbedding2D for an h×w map, as a [h·w, C] table computed here: token (r, c)
 * gets column_embeddings[c] followed by row_embeddings[r].
 */
function positionTable(h: number, w: number, dim: number, vb: VarBuilder): Float32Array {
  const colDim = dim - Math.floor(dim / 2);
  const rowDim = Math.floor(dim / 2);
  const col = vb.tensor("column_embeddings.weight");
  const row = vb.tensor("row_embeddings.weight");
  const maxPos = Math.min(col.length / colDim, row.length / rowDim);
  if (h > maxPos || w > maxPos) {
    throw fail(
      "MODEL_CONFIG_INVALID",
      `image feature map ${h}×${w} exceeds image_pos_embed's ${maxPos} positions`,
    );
  }
  const table = new Float32Array(h * w * dim);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const base = (r * w + c) * dim;
      table.set(col.subarray(c * colDim, (c + 1) * colDim), base);
      table.set(row.subarray(r * rowDim, (r + 1) * rowDim), base + colDim);
    }
  }
  return table;
}

/** PositionalEmbeddingCosine1D row 0 (one frame): the stored buffer when present, else sin(0)/cos(0). */
function temporalEmbedding(dim: number, vb: VarBuilder): Float32Array {
  if (vb.has("pos_idx_to_embed")) return vb.tensor("pos_idx_to_embed").slice(0, dim);
  const row = new Float32Array(dim);
  for (let i = 1; i < dim; i += 2) row[i] = 1; // sin(0) = 0 at even, cos(0) = 1 at odd entries
  return row;
}

/**
 * Florence2ForConditionalGeneration._encode_image for one frame: DaViT tokens + 2-D position table +
 * temporal embedding, the pooled views of image_feature_source concatenated along the token axis,
 * then `@ image_projection` and image_proj_norm. Returns [B, image tokens, projection_dim].
 */
export function encodeImage(
  g: Graph,
  pixels: Value,
  imageSize: Grid,
  cfg: DavitConfig,
  root: VarBuilder,
): Value {
  const { x, size } = davitFeatures(g, pixels, imageSize, cfg, root.pp("vision_tower"));
  if (size.h !== size.w) {
    // The reference infers h = w = √tokens and asserts a square map.
    throw fail("MODEL_CONFIG_INVALID", `Florence-2 needs a square feature map, got ${size.h}×${size.w}`);
  }
  const dim = cfg.dimEmbed[cfg.dimEmbed.length - 1];
  const pos = positionTable(size.h, size.w, dim, root.pp("image_pos_embed"));
  const temporal = temporalEmbedding(dim, root.pp("visual_temporal_embed"));
  let h = g.add(x, g.constFloat(pos, [1, size.h * size.w, dim])); // [B, N, C]
  h = g.add(h, g.constFloat(temporal, [1, 1, dim]));
  const views: Value[] = cfg.imageFeatureSource.map((source) =>
    // One frame: the temporal mean and the last frame are the tokens themselves.
    source === "spatial_avg_pool" ? g.reduceMean(h, [1], true) : h,
  );
  const feats = views.length === 1 ? views[0] : g.concat(views, 1); // [B, 1 + N, C]
  const projected = g.matmul(feats, root.get("image_projection", [dim, cfg.projectionDim]));
  return layerNorm(g, projected, root.pp("image_proj_norm"), LN_EPS); // [B, 1 + N, P]
}
