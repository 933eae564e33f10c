// Qwen3-VL vision tower (HF Qwen3VLVisionModel). Weights: model.visual.*
// Patches [N, C·T·P·P] (the processor's rows, already in 2×2 merge-window order) → Conv3d patch
// embedding (a matmul: kernel = stride = the whole patch) + learned position embeddings bilinearly
// interpolated to the image's grid → pre-norm blocks with 2-D rotary attention over the whole image →
// the merger (2×2 patches → one token of text width). After each block listed in
// deepstack_visual_indexes its own merger makes one DeepStack feature, which the text decoder adds to
// its hidden states at the image positions.
// The per-grid tables (interpolation indices and weights, rotary cos/sin) are computed in TypeScript
// and fed as inputs: they depend only on the grid, and computing them here keeps the graph free of
// data-dependent shape logic.
import type { QuantizeOptions } from "../../graph/quantize.js";
import { Graph, type Value } from "../../graph/graph.js";
import { applyRotary, mergeHeads, scaledDotProductAttention } from "../../graph/attention.js";
import { layerNorm, linear, matmulTransB, mlp } from "../../graph/nn.js";
import { WeightStore } from "../../graph/safetensors.js";
import { type Session, Tensor, createSession } from "../../graph/session.js";
import { VarBuilder } from "../../graph/var-builder.js";
import { fail } from "../../errors.js";
import type { Qwen3VLConfig, Qwen3VLVisionConfig } from "./config.js";
import type { ImagePatches } from "./image-processor.js";

/** nn.LayerNorm(eps=1e-6) everywhere in the tower: the checkpoint config has no eps. */
const LN_EPS = 1e-6;

/** The vision tower's inputs that depend only on the grid. */
export interface VisionGridInputs {
  /** fast_pos_embed_interpolate: 4 corner rows of pos_embed per patch, [4, N] (merge-window order). */
  posIndex: BigInt64Array;
  /** Their bilinear weights, [4, N]. */
  posWeight: Float32Array;
  /** 2-D rotary angles' cos and sin, [N, head_dim]: rows on the first quarter, columns on the second, repeated. */
  rotCos: Float32Array;
  rotSin: Float32Array;
}

/** torch.linspace(start, end, steps) values as float32 (halves computed from each end, like torch). */
function linspace(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = Math.fround((end - start) / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < half ? Math.fround(start + step * i) : Math.fround(end - step * (steps - i - 1));
  }
  return out;
}

/**
 * Per-grid inputs for one image of grid [t, h, w] (patches): Qwen3VLVisionModel.fast_pos_embed_interpolate
 * and rot_pos_emb, in the processor's row order (t, h/m, w/m, m, m).
 */
export function visionGridInputs(
  cfg: Qwen3VLVisionConfig,
  gridThw: readonly [number, number, number],
): VisionGridInputs {
  const [t, h, w] = gridThw;
  const m = cfg.spatialMergeSize;
  const n = t * h * w;
  const side = Math.round(Math.sqrt(cfg.numPositionEmbeddings));
  const f = Math.fround;

  // Bilinear corners on the √n × √n table, as HF computes them in float32 (linspace, .int(), 1 − d).
  const hIdx = linspace(0, side - 1, h);
  const wIdx = linspace(0, side - 1, w);
  const corner = (hi: number, wi: number) => {
    const hf = Math.trunc(hIdx[hi]!);
    const wf = Math.trunc(wIdx[wi]!);
    const hc = Math.min(hf + 1, side - 1);
    const wc = Math.min(wf + 1, side - 1);
    const dh = f(hIdx[hi]! - hf);
    const dw = f(wIdx[wi]! - wf);
    return {
      index: [hf * side + wf, hf * side + wc, hc * side + wf, hc * side + wc],
      weight: [f(f(1 - dh) * f(1 - dw)), f(f(1 - dh) * dw), f(dh * f(1 - dw)), f(dh * dw)],
    };
  };

  // Rotary: Qwen3VLVisionRotaryEmbedding(head_dim / 2), theta 10000, float32.
  const headDim = cfg.hiddenSize / cfg.numHeads;
  const rotDim = headDim / 2;
  const invFreq = Array.from({ length: rotDim / 2 }, (_, i) => f(1 / f(10000 ** f((2 * i) / rotDim))));
  const quarter = invFreq.length;

  const posIndex = new BigInt64Array(4 * n);
  const posWeight = new Float32Array(4 * n);
  const rotCos = new Float32Array(n * headDim);
  const rotSin = new Float32Array(n * headDim);
  let row = 0;
  for (let ti = 0; ti < t; ti++) {
    for (let bh = 0; bh < h / m; bh++) {
      for (let bw = 0; bw < w / m; bw++) {
        for (let mh = 0; mh < m; mh++) {
          for (let mw = 0; mw < m; mw++) {
            const y = bh * m + mh;
            const x = bw * m + mw;
            const c = corner(y, x);
            for (let k = 0; k < 4; k++) {
              posIndex[k * n + row] = BigInt(c.index[k]!);
              posWeight[k * n + row] = c.weight[k]!;
            }
            // emb = cat(freqs(row), freqs(col)) repeated twice (cat((emb, emb), -1)).
            const base = row * headDim;
            for (let i = 0; i < quarter; i++) {
              const ay = f(y * invFreq[i]!);
              const ax = f(x * invFreq[i]!);
              for (const off of [0, rotDim]) {
                rotCos[base + off + i] = Math.cos(ay);
                rotSin[base + off + i] = Math.sin(ay);
                rotCos[base + off + quarter + i] = Math.cos(ax);
                rotSin[base + off + quarter + i] = Math.sin(ax);
              }
            }
            row++;
          }
        }
      }
    }
  }
  return { posIndex, posWeight, rotCos, rotSin };
}

/** Qwen3VLVisionPatchEmbed: Conv3d(kernel = stride = [T, P, P]) on whole patches = x · W[D, C·T·P·P]ᵀ + b. */
function patchEmbed(g: Graph, pixels: Value, cfg: Qwen3VLVisionConfig, vb: VarBuilder): Value {
  const { hiddenSize: D, inChannels: C, temporalPatchSize: T, patchSize: P } = cfg;
  const w = g.reshape(vb.get("weight", [D, C, T, P, P]), [D, C * T * P * P]);
  return g.add(matmulTransB(g, pixels, w), vb.get("bias", [D])); // [N, D]
}

/** fast_pos_embed_interpolate: Σ over the 4 corners of pos_embed[index] · weight → [N, D]. */
function positionEmbeddings(g: Graph, index: Value, weight: Value, vb: VarBuilder): Value {
  const rows = g.gather(vb.get("weight"), index, 0); // [4, N, D]
  const weighted = g.mul(rows, g.unsqueeze(weight, [2])); // [4, N, D]
  return g.op("ReduceSum", [weighted, g.constInt([0])], { keepdims: 0 }); // [N, D]
}

/** Qwen3VLVisionAttention: fused qkv, 2-D rotary on q and k, softmax(q kᵀ · Dh^-½) v over the image. */
function visionAttention(
  g: Graph,
  x: Value,
  cos: Value,
  sin: Value,
  cfg: Qwen3VLVisionConfig,
  vb: VarBuilder,
): Value {
  const D = cfg.hiddenSize;
  const H = cfg.numHeads;
  const Dh = D / H;
  const qkv = linear(g, x, vb.pp("qkv")); // [1, N, 3D]
  const split = g.transpose(g.reshape(qkv, [0, 0, 3, H, Dh]), [2, 0, 3, 1, 4]); // [3, 1, H, N, Dh]
  const [q, k, v] = [0, 1, 2].map((i) => g.gather(split, g.scalarInt(i), 0)); // [1, H, N, Dh]
  const qr = applyRotary(g, q!, cos, sin, Dh);
  const kr = applyRotary(g, k!, cos, sin, Dh);
  const o = scaledDotProductAttention(g, qr, kr, v!, { scale: Dh ** -0.5 }); // [1, H, N, Dh]
  return linear(g, mergeHeads(g, o, D), vb.pp("proj")); // [1, N, D]
}

/** Qwen3VLVisionBlock: x + attn(norm1(x)), then + mlp(norm2(·)). */
function visionBlock(
  g: Graph,
  x: Value,
  cos: Value,
  sin: Value,
  cfg: Qwen3VLVisionConfig,
  vb: VarBuilder,
): Value {
  const a = visionAttention(g, layerNorm(g, x, vb.pp("norm1"), LN_EPS), cos, sin, cfg, vb.pp("attn"));
  const r = g.add(x, a);
  const h = layerNorm(g, r, vb.pp("norm2"), LN_EPS);
  const m = mlp(g, h, vb.pp("mlp").pp("linear_fc1"), vb.pp("mlp").pp("linear_fc2"), cfg.hiddenAct);
  return g.add(r, m);
}

/**
 * Qwen3VLVisionPatchMerger: each 2×2 window of patches (4 consecutive rows) → one token of
 * out_hidden_size. The final merger norms each patch before the shuffle; the DeepStack mergers
 * (use_postshuffle_norm) norm the concatenated window. GELU is nn.GELU (erf).
 */
function patchMerger(
  g: Graph,
  x: Value,
  cfg: Qwen3VLVisionConfig,
  postShuffleNorm: boolean,
  vb: VarBuilder,
): Value {
  const width = cfg.hiddenSize * cfg.spatialMergeSize ** 2;
  const h = postShuffleNorm
    ? layerNorm(g, g.reshape(x, [-1, width]), vb.pp("norm"), LN_EPS) // [N/4, 4D]
    : g.reshape(layerNorm(g, x, vb.pp("norm"), LN_EPS), [-1, width]); // [N/4, 4D]
  return mlp(g, h, vb.pp("linear_fc1"), vb.pp("linear_fc2"), "gelu"); // [N/4, out_hidden_size]
}

/** The DeepStack output names, in deepstack_visual_indexes order. */
export const deepstackName = (k: number): string => `deepstack_${k}`;

/**
 * The vision graph. Inputs: `pixel_values` [N, C·T·P·P], `pos_index` int64 [4, N], `pos_weight` [4, N],
 * `rot_cos` / `rot_sin` [N, head_dim] (visionGridInputs). Outputs: `image_embeds` [N/4, out] and
 * `deepstack_k` [N/4, out] for each DeepStack layer.
 */
export function buildVisionGraph(g: Graph, cfg: Qwen3VLVisionConfig, vb: VarBuilder): void {
  const rowLen = cfg.inChannels * cfg.temporalPatchSize * cfg.patchSize ** 2;
  const headDim = cfg.hiddenSize / cfg.numHeads;
  const pixels = g.input("pixel_values", "float32", ["patches", rowLen]);
  const posIndex = g.input("pos_index", "int64", [4, "patches"]);
  const posWeight = g.input("pos_weight", "float32", [4, "patches"]);
  const cos = g.input("rot_cos", "float32", ["patches", headDim]);
  const sin = g.input("rot_sin", "float32", ["patches", headDim]);

  const embedded = g.add(
    patchEmbed(g, pixels, cfg, vb.pp("patch_embed").pp("proj")),
    positionEmbeddings(g, posIndex, posWeight, vb.pp("pos_embed")),
  ); // [N, D]
  let x = g.unsqueeze(embedded, [0]); // [1, N, D]
  for (let i = 0; i < cfg.depth; i++) {
    x = visionBlock(g, x, cos, sin, cfg, vb.pp("blocks").pp(i));
    const k = cfg.deepstackVisualIndexes.indexOf(i);
    if (k >= 0) {
      g.output(patchMerger(g, x, cfg, true, vb.pp("deepstack_merger_list").pp(k)), deepstackName(k));
    }
  }
  g.output(patchMerger(g, x, cfg, false, vb.pp("merger")), "image_embeds");
}

/** What the vision tower gives the text decoder for one image. */
export interface VisionFeatures {
  /** [image tokens, text hidden]: replaces the `<|image_pad|>` embeddings. */
  imageEmbeds: Tensor;
  /** One [image tokens, text hidden] per DeepStack layer k: added after text decoder layer k. */
  deepstack: Tensor[];
}

/** Where the tower's weights live: `model.visual` (transformers ≥ 4.57), else `visual`. */
export function visionWeightPrefix(store: WeightStore): string {
  for (const prefix of ["model.visual", "visual"]) {
    if (store.has(`${prefix}.patch_embed.proj.weight`)) return prefix;
  }
  throw fail("WEIGHT_MISSING", `model.visual.patch_embed.proj.weight (in ${store.folder})`);
}

export interface VisionLoadOptions {
  threads?: number;
  quantize?: QuantizeOptions;
  /** An already opened weight store of the folder (shared with the text decoder's sessions). */
  store?: WeightStore;
}

/** The vision tower as one ORT session. */
export class Qwen3VLVisionTower {
  private constructor(
    readonly config: Qwen3VLVisionConfig,
    private readonly session: Session,
  ) {}

  static async load(
    folder: string,
    config: Qwen3VLConfig,
    opts: VisionLoadOptions = {},
  ): Promise<Qwen3VLVisionTower> {
    const store = opts.store ?? WeightStore.open(folder);
    const g = new Graph("qwen3-vl-vision");
    buildVisionGraph(g, config.vision, new VarBuilder(g, store).pp(visionWeightPrefix(store)));
    const session = await createSession(g, store, { threads: opts.threads, quantize: opts.quantize });
    return new Qwen3VLVisionTower(config.vision, session);
  }

  /** Image embeddings and DeepStack features of one image's patches. */
  async encode(image: ImagePatches): Promise<VisionFeatures> {
    const cfg = this.config;
    const [t, h, w] = image.gridThw;
    const m = cfg.spatialMergeSize;
    const rowLen = cfg.inChannels * cfg.temporalPatchSize * cfg.patchSize ** 2;
    const n = t * h * w;
    // Frames attend only to themselves in HF (cu_seqlens); images have one frame.
    if (t !== 1)
      throw fail("INVALID_ARGUMENT", `grid [${image.gridThw}]: only single-frame images are supported`);
    if (image.dims[0] !== n || image.dims[1] !== rowLen || h % m !== 0 || w % m !== 0) {
      throw fail(
        "INVALID_ARGUMENT",
        `pixel_values [${image.dims}] with grid [${image.gridThw}] do not fit the vision tower (rows of ${rowLen}, merge ${m})`,
      );
    }
    const grid = visionGridInputs(cfg, image.gridThw);
    const headDim = cfg.hiddenSize / cfg.numHeads;
    const out = await this.session.run({
      pixel_values: new Tensor("float32", image.pixelValues, [n, rowLen]),
      pos_index: new Tensor("int64", grid.posIndex, [4, n]),
      pos_weight: new Tensor("float32", grid.posWeight, [4, n]),
      rot_cos: new Tensor("float32", grid.rotCos, [n, headDim]),
      rot_sin: new Tensor("float32", grid.rotSin, [n, headDim]),
    });
    return {
      imageEmbeds: out.image_embeds!,
      deepstack: cfg.deepstackVisualIndexes.map((_, k) => out[deepstackName(k)]!),
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
