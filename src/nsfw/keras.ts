// A Keras functional model (the tfjs layers-model topology nsfwjs ships) as an ONNX graph on our
// engine. Keras works channels-last (NHWC); ONNX convolutions are channels-first, so the input is
// transposed once and the layers run NCHW, with the weights re-laid out here:
//   Conv2D kernel [kh, kw, in, out]            → W [out, in, kh, kw]
//   DepthwiseConv2D kernel [kh, kw, in, mult]  → W [in·mult, 1, kh, kw], group = in
//   Dense kernel [in, out]                     → MatMul's B as is
// TF's "same" padding puts the odd pixel at the end: ONNX auto_pad SAME_UPPER. Only the layer types
// of nsfwjs' MobileNetV2 and InceptionV3 are supported; anything else fails at build time.
import { fail } from "../errors.js";
import { Graph, floatAttr, type Value } from "../graph/graph.js";
import type { DequantizedWeight, KerasLayer, KerasModel } from "./bundled.js";

type Weights = Map<string, DequantizedWeight>;

function weight(weights: Weights, layer: string, name: string): DequantizedWeight {
  const w = weights.get(`${layer}/${name}`);
  if (!w) throw fail("WEIGHT_MISSING", `${layer}/${name}`);
  return w;
}

/** [kh, kw, in, out] → [out, in, kh, kw]. */
function convKernel(w: DequantizedWeight): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + i) * cout + o]!;
  return { data: out, dims: [cout, cin, kh, kw] };
}

/** [kh, kw, in, mult] → [in·mult, 1, kh, kw]: output channel c·mult + m, as TF orders them. */
function depthwiseKernel(w: DequantizedWeight): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, mult] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++)
          out[((c * mult + m) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + c) * mult + m]!;
  return { data: out, dims: [cin * mult, 1, kh, kw] };
}

function pair(v: unknown, what: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((n) => Number.isInteger(n))) throw fail("MODEL_CONFIG_INVALID", what);
  return a as [number, number];
}

function padding(config: Record<string, any>, layer: string): Record<string, string> {
  if (config.padding === "valid") return { auto_pad: "VALID" };
  if (config.padding === "same") return { auto_pad: "SAME_UPPER" };
  throw fail("MODEL_CONFIG_INVALID", `${layer}: padding ${JSON.stringify(config.padding)}`);
}

function activation(g: Graph, x: Value, name: string | undefined, layer: string, axis: number): Value {
  switch (name ?? "linear") {
    case "linear":
      return x;
    case "relu":
      return g.op("Relu", [x]);
    case "relu6":
      return g.op("Clip", [x, g.scalarFloat(0), g.scalarFloat(6)]);
    case "sigmoid":
      return g.sigmoid(x);
    case "tanh":
      return g.tanh(x);
    case "softmax":
      return g.softmax(x, axis);
    default:
      throw fail("MODEL_UNSUPPORTED_ARCH", `${layer}: activation ${JSON.stringify(name)}`);
  }
}

/** Keras channel axis (-1 or 3 on NHWC) → the NCHW axis the graph uses. */
function channelAxis(axis: unknown, layer: string): number {
  if (axis === -1 || axis === 3 || (Array.isArray(axis) && (axis[0] === -1 || axis[0] === 3))) return 1;
  throw fail("MODEL_CONFIG_INVALID", `${layer}: only the channel axis is supported, got ${axis}`);
}

/** One layer: its NCHW (or, after Flatten, [N, F]) output from its inputs. */
function layerOutput(g: Graph, layer: KerasLayer, inputs: Value[], weights: Weights): Value {
  const c = layer.config;
  const name = layer.name;
  const x = inputs[0]!;
  switch (layer.class_name) {
    case "Dropout":
      return x;
    case "ZeroPadding2D": {
      // Keras: n (all sides), [h, w] (symmetric per axis) or [[top, bottom], [left, right]].
      const p = c.padding as number | [number, number] | [[number, number], [number, number]];
      const [[top, bottom], [left, right]] =
        Array.isArray(p) && Array.isArray(p[0])
          ? (p as [[number, number], [number, number]])
          : (pair(p, `${name}: padding`).map((v) => [v, v]) as [[number, number], [number, number]]);
      return g.op("Pad", [x, g.constInt([0, 0, top, left, 0, 0, bottom, right])], { mode: "constant" });
    }
    case "Conv2D": {
      const k = convKernel(weight(weights, name, "kernel"));
      const bias = c.use_bias ? g.constFloat(weight(weights, name, "bias").data) : undefined;
      const y = g.op("Conv", [x, g.constFloat(k.data, k.dims), bias], {
        kernel_shape: k.dims.slice(2),
        strides: pair(c.strides, `${name}: strides`),
        dilations: pair(c.dilation_rate, `${name}: dilation_rate`),
        ...padding(c, name),
      });
      return activation(g, y, c.activation, name, 1);
    }
    case "DepthwiseConv2D": {
      const w = weight(weights, name, "depthwise_kernel");
      const k = depthwiseKernel(w);
      const bias = c.use_bias ? g.constFloat(weight(weights, name, "bias").data) : undefined;
      const y = g.op("Conv", [x, g.constFloat(k.data, k.dims), bias], {
        kernel_shape: k.dims.slice(2),
        strides: pair(c.strides, `${name}: strides`),
        dilations: pair(c.dilation_rate, `${name}: dilation_rate`),
        group: w.shape[2]!,
        ...padding(c, name),
      });
      return activation(g, y, c.activation, name, 1);
    }
    case "BatchNormalization": {
      channelAxis(c.axis, name);
      const mean = weight(weights, name, "moving_mean").data;
      const variance = weight(weights, name, "moving_variance").data;
      const gamma = c.scale ? weight(weights, name, "gamma").data : new Float32Array(mean.length).fill(1);
      const beta = c.center ? weight(weights, name, "beta").data : new Float32Array(mean.length);
      return g.op(
        "BatchNormalization",
        [x, g.constFloat(gamma), g.constFloat(beta), g.constFloat(mean), g.constFloat(variance)],
        { epsilon: floatAttr(c.epsilon ?? 1e-3) },
      );
    }
    case "ReLU": {
      if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) {
        throw fail("MODEL_UNSUPPORTED_ARCH", `${name}: ReLU with a slope or threshold`);
      }
      return c.max_value === null || c.max_value === undefined
        ? g.op("Relu", [x])
        : g.op("Clip", [x, g.scalarFloat(0), g.scalarFloat(c.max_value)]);
    }
    case "Activation":
      return activation(g, x, c.activation, name, 1);
    case "Add":
      return inputs.slice(1).reduce((sum, v) => g.add(sum, v), x);
    case "Concatenate":
      return g.concat(inputs, channelAxis(c.axis, name));
    case "AveragePooling2D":
    case "MaxPooling2D":
      // TF's average pooling leaves padded pixels out of the mean (count_include_pad = 0).
      return g.op(layer.class_name === "MaxPooling2D" ? "MaxPool" : "AveragePool", [x], {
        kernel_shape: pair(c.pool_size, `${name}: pool_size`),
        strides: pair(c.strides ?? c.pool_size, `${name}: strides`),
        ...padding(c, name),
      });
    case "GlobalAveragePooling2D":
      return g.op("Flatten", [g.op("GlobalAveragePool", [x])], { axis: 1 });
    case "Flatten":
      // Keras flattens channels-last: back to NHWC first so the Dense weights line up.
      return g.op("Flatten", [g.transpose(x, [0, 2, 3, 1])], { axis: 1 });
    case "Dense": {
      const kernel = weight(weights, name, "kernel");
      let y = g.matmul(x, g.constFloat(kernel.data, kernel.shape));
      if (c.use_bias) y = g.add(y, g.constFloat(weight(weights, name, "bias").data));
      return activation(g, y, c.activation, name, -1);
    }
    default:
      throw fail("MODEL_UNSUPPORTED_ARCH", `Keras layer ${layer.class_name} (${name})`);
  }
}

/**
 * The model as a graph: input `pixels` [N, S, S, 3] float32 in 0..1 (channels-last, as Keras
 * takes it), output `probs` [N, classes].
 */
export function kerasGraph(model: KerasModel, weights: Weights, size: number, name: string): Graph {
  const g = new Graph(name);
  const values = new Map<string, Value>();
  const [input] = model.inputLayers[0]!;
  const pixels = g.input("pixels", "float32", ["batch", size, size, 3]);
  values.set(input, g.transpose(pixels, [0, 3, 1, 2]));
  // Keras lists layers in an order where every input comes first.
  for (const layer of model.layers) {
    if (layer.class_name === "InputLayer") continue;
    if (layer.inbound_nodes.length !== 1) {
      throw fail("MODEL_UNSUPPORTED_ARCH", `${layer.name}: a layer called more than once`);
    }
    const inputs = layer.inbound_nodes[0]!.map(([from]) => {
      const v = values.get(from);
      if (!v) throw fail("MODEL_CONFIG_INVALID", `${layer.name}: input ${from} comes later`);
      return v;
    });
    values.set(layer.name, layerOutput(g, layer, inputs, weights));
  }
  const [output] = model.outputLayers[0]!;
  g.output(values.get(output)!, "probs");
  return g;
}
