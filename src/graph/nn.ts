// Blocks shared by every architecture. Each takes the graph, its input values and a VarBuilder
// positioned at the block's weights, so callers read like the PyTorch modules they mirror.
import { fail } from "../errors.js";
import { MS_DOMAIN, type Graph, type Value } from "./graph.js";
import type { VarBuilder } from "./var-builder.js";

export interface LinearOptions {
  /** Default true when the checkpoint has `bias`. */
  bias?: boolean;
  /** GPT-2's Conv1D stores the weight as [in, out] instead of nn.Linear's [out, in]. */
  conv1d?: boolean;
}

/** nn.Linear: y = x Wᵀ + b with W [out, in]. The product is marked for quantization (graph/quantize.ts). */
export function linear(g: Graph, x: Value, vb: VarBuilder, opts: LinearOptions = {}): Value {
  const w = vb.get("weight");
  let y = opts.conv1d ? g.matmul(x, w) : matmulTransB(g, x, w);
  g.markLinear({ output: y, input: x, weight: w, layout: opts.conv1d ? "in-out" : "out-in" });
  const useBias = opts.bias ?? vb.has("bias");
  if (useBias) y = g.add(y, vb.get("bias"));
  return y;
}

/**
 * x · Wᵀ for a constant W [out, in] read in place. MatMul(x, Transpose(W)) would make ORT constant-fold
 * a transposed copy of every weight at load (for a 1.6 B-parameter model: over a minute and gigabytes of
 * peak memory); com.microsoft FusedMatMul(transB) packs W straight from the file mapping instead.
 * Measured against Gemm(transB) on a 2-D reshape: same speed per step and load, without the three shape
 * ops per layer (docs/performance.md).
 */
export function matmulTransB(g: Graph, x: Value, w: Value): Value {
  return g.op("FusedMatMul", [x, w], { transA: 0, transB: 1, alpha: 1.0 }, { domain: MS_DOMAIN });
}

/**
 * The feed-forward block: down(act(up(x))), as HF's MLP / FFN / intermediate+output modules compute it
 * (GPT-2's Conv1D weights with `conv1d`). Whatever an architecture adds around it (residuals, norms)
 * stays in its own file.
 */
export function mlp(
  g: Graph,
  x: Value,
  up: VarBuilder,
  down: VarBuilder,
  act: string,
  opts: LinearOptions = {},
): Value {
  return linear(g, activation(g, linear(g, x, up, opts), act), down, opts);
}

/**
 * The gated feed-forward block (LLaMA / Qwen MLP, SwiGLU with silu): down(act(gate(x)) · up(x)).
 */
export function gatedMlp(
  g: Graph,
  x: Value,
  vb: { gate: VarBuilder; up: VarBuilder; down: VarBuilder },
  act: string,
): Value {
  const gated = g.mul(activation(g, linear(g, x, vb.gate), act), linear(g, x, vb.up));
  return linear(g, gated, vb.down);
}

/** nn.LayerNorm over the last axis. */
export function layerNorm(g: Graph, x: Value, vb: VarBuilder, eps: number): Value {
  return g.op("LayerNormalization", [x, vb.get("weight"), vb.get("bias")], { axis: -1, epsilon: eps });
}

/**
 * RMSNorm (LLaMA / Qwen / T5 style) over the last axis: weight · x / √(mean(x²) + eps), in float32 as
 * HF computes it. ORT fuses the pattern into SimplifiedLayerNormalization.
 */
export function rmsNorm(g: Graph, x: Value, vb: VarBuilder, eps: number): Value {
  const meanSquare = g.reduceMean(g.mul(x, x), [-1]);
  const normed = g.div(x, g.sqrt(g.add(meanSquare, g.scalarFloat(eps))));
  return g.mul(normed, vb.get("weight"));
}

/** HF ACT2FN by name. */
export function activation(g: Graph, x: Value, name: string): Value {
  switch (name) {
    case "gelu": {
      // 0.5 · x · (1 + erf(x / √2)); ORT fuses this pattern into Gelu.
      const erf = g.op("Erf", [g.div(x, g.scalarFloat(Math.SQRT2))]);
      return g.mul(g.mul(x, g.scalarFloat(0.5)), g.add(erf, g.scalarFloat(1)));
    }
    case "gelu_new":
    case "gelu_fast":
    case "gelu_pytorch_tanh": {
      // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
      const x3 = g.mul(g.mul(x, x), x);
      const inner = g.scale(g.add(x, g.scale(x3, 0.044715)), Math.sqrt(2 / Math.PI));
      return g.mul(g.scale(x, 0.5), g.add(g.tanh(inner), g.scalarFloat(1)));
    }
    case "quick_gelu":
      return g.mul(x, g.sigmoid(g.scale(x, 1.702)));
    case "relu":
      return g.op("Relu", [x]);
    case "silu":
    case "swish":
      return g.mul(x, g.sigmoid(x));
    case "tanh":
      return g.tanh(x);
    default:
      throw fail("MODEL_UNSUPPORTED_ARCH", `activation function "${name}"`);
  }
}

/** nn.Embedding lookup: ids [..] int64 → [.., D]. */
export function embedding(g: Graph, ids: Value, weight: Value): Value {
  return g.gather(weight, ids, 0);
}

/**
 * nn.Embedding lookup on the table as the checkpoint stores it: f16/bf16 rows are gathered, then cast,
 * so the table needs no float32 copy (151936 × 2048 is 1.2 GB in float32). ids [..] → [.., D].
 */
export function storedEmbedding(g: Graph, ids: Value, vb: VarBuilder, shape?: number[]): Value {
  const rows = g.gather(vb.stored("weight", shape), ids, 0);
  return vb.dtype("weight") === "F32" ? rows : g.cast(rows, "float32");
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
  dilation?: number | [number, number];
  bias?: boolean;
}

/** nn.Conv2d on NCHW input; weight [out, in/groups, kh, kw]. */
export function conv2d(g: Graph, x: Value, vb: VarBuilder, opts: Conv2dOptions = {}): Value {
  const w = vb.get("weight");
  const [kh, kw] = vb.shape("weight").slice(2);
  const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
    v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v;
  const [ph, pw] = pair(opts.padding, 0);
  const useBias = opts.bias ?? vb.has("bias");
  const inputs = useBias ? [x, w, vb.get("bias")] : [x, w];
  return g.op("Conv", inputs, {
    kernel_shape: [kh, kw],
    strides: pair(opts.stride, 1),
    pads: [ph, pw, ph, pw],
    dilations: pair(opts.dilation, 1),
    group: opts.groups ?? 1,
  });
}

/** Dimension `axis` of x as an int64 scalar. */
export function dim(g: Graph, x: Value, axis: number): Value {
  return g.squeeze(g.shape(x, axis, axis + 1), [0]);
}
