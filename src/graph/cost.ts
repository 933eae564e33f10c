// What one run of a graph costs for given input shapes, read from the graph as built: the floating-point
// operations of its matrix products and convolutions (2 per multiply-add; elementwise ops, softmax and
// norms are not counted, as rooflines usually leave them out) and the bytes of weights it reads. The
// shapes are propagated node by node, with the values of small integer tensors (the Shape → Gather →
// Concat → Reshape chains) computed along the way, so a Reshape to a computed shape is followed too.
// The bench divides these by measured times to say how near each stage runs to the machine's limit.
import onnxProto from "onnx-proto";
import type { Graph } from "./graph.js";

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

type Dims = number[];

/** A tensor as the walk knows it: its shape and, for small integer tensors, its values. */
interface Known {
  dims: Dims;
  values?: number[];
}

/** An input's shape, or shape and values (an int64 input whose values a shape computation reads). */
export type InputSpec = Dims | { dims: Dims; values: number[] };

export interface GraphCost {
  /** Floating-point operations of the matrix products (MatMul, FusedMatMul, Gemm) and convolutions. */
  flops: number;
  /**
   * Bytes of initializers one run reads: a whole tensor for every weight a node reads, only the gathered
   * rows of a table that is only indexed (an embedding). Weights widened from fp16/bf16 when the session
   * loads count as float32, the way ORT holds them.
   */
  weightBytes: number;
  /** FLOPs and node count per op type (only ops that have FLOPs). */
  byOp: Record<string, { flops: number; nodes: number }>;
  /** The graph outputs' shapes. */
  outputs: Record<string, Dims>;
}

/** Values of integer tensors longer than this are not tracked (they are never shapes). */
const MAX_TRACKED = 64;

const elementBytes: Record<number, number> = {
  [DT.FLOAT]: 4,
  [DT.FLOAT16]: 2,
  [DT.BFLOAT16]: 2,
  [DT.INT8]: 1,
  [DT.UINT8]: 1,
  [DT.INT32]: 4,
  [DT.INT64]: 8,
  [DT.DOUBLE]: 8,
  [DT.BOOL]: 1,
};
/** Initializers that hold weights (not shape constants). */
const WEIGHT_TYPES = new Set<number>([DT.FLOAT, DT.FLOAT16, DT.BFLOAT16, DT.INT8, DT.UINT8]);

const product = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

export function broadcast(...shapes: Dims[]): Dims {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dims = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) throw new Error(`cannot broadcast [${shapes.map((x) => `[${x}]`).join(", ")}]`);
      d = v;
    }
    out.push(d);
  }
  return out;
}

type Attrs = Map<string, onnxProto.onnx.IAttributeProto>;

const intAttr = (a: Attrs, name: string, dflt: number): number => {
  const v = a.get(name)?.i;
  return v === undefined || v === null ? dflt : Number(v);
};
const intsAttr = (a: Attrs, name: string): number[] | undefined => {
  const v = a.get(name)?.ints;
  return v && v.length ? v.map(Number) : undefined;
};

const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function rawInts(t: onnxProto.onnx.ITensorProto): number[] | undefined {
  if (t.dataType !== DT.INT64 || !t.rawData) return undefined;
  const raw = t.rawData;
  if (raw.length / 8 > MAX_TRACKED) return undefined;
  const copy = new Uint8Array(raw); // aligned
  return Array.from(new BigInt64Array(copy.buffer, 0, raw.length / 8), Number);
}

/** The cost of one run of `graph` with inputs of the given shapes (every graph input must be given). */
export function graphCost(graph: Graph, inputs: Record<string, InputSpec>): GraphCost {
  const view = graph.inspect();
  const known = new Map<string, Known>();
  // Weight bookkeeping: which initializer a value is (through Cast / Identity), and how it is read.
  const weights = new Map<string, { elements: number; bytes: number; rowElements: number }>();
  const origin = new Map<string, { weight: string; bytes: number }>();
  const wholeRead = new Set<string>();
  const gatheredRows = new Map<string, number>();

  for (const t of view.initializers) {
    const dims = (t.dims ?? []).map(Number);
    const name = t.name!;
    known.set(name, { dims, values: rawInts(t) });
    if (WEIGHT_TYPES.has(t.dataType!)) {
      const bytes = elementBytes[t.dataType!] ?? 4;
      weights.set(name, { elements: product(dims), bytes, rowElements: product(dims.slice(1)) });
      origin.set(name, { weight: name, bytes });
    }
  }
  for (const input of view.inputs) {
    const spec = inputs[input.name!];
    if (!spec) throw new Error(`graphCost(${graph.name}): no shape for input ${input.name}`);
    known.set(input.name!, Array.isArray(spec) ? { dims: spec } : { ...spec });
  }

  const byOp: GraphCost["byOp"] = {};
  let flops = 0;
  const count = (op: string, f: number) => {
    flops += f;
    const entry = (byOp[op] ??= { flops: 0, nodes: 0 });
    entry.flops += f;
    entry.nodes++;
  };

  for (const node of view.nodes) {
    const op = node.opType!;
    const ins = (node.input ?? []).map((n) => (n ? known.get(n) : undefined));
    const need = (i: number): Known => {
      const k = ins[i];
      if (!k) throw new Error(`graphCost(${graph.name}): ${node.name} (${op}) input ${i} is unknown`);
      return k;
    };
    const valuesOf = (i: number): number[] => {
      const v = need(i).values;
      if (!v)
        throw new Error(`graphCost(${graph.name}): ${node.name} (${op}) needs the values of input ${i}`);
      return v;
    };
    const attrs: Attrs = new Map((node.attribute ?? []).map((a) => [a.name!, a]));
    const outs = node.output ?? [];

    // How this node reads weights.
    node.input?.forEach((name, i) => {
      const o = name ? origin.get(name) : undefined;
      if (!o) return;
      if ((op === "Cast" || op === "Identity") && i === 0) {
        const to = intAttr(attrs, "to", DT.FLOAT);
        origin.set(outs[0], { weight: o.weight, bytes: op === "Cast" ? (elementBytes[to] ?? 4) : o.bytes });
      } else if (op === "Gather" && i === 0 && intAttr(attrs, "axis", 0) === 0) {
        const rows = product(need(1).dims);
        const w = weights.get(o.weight)!;
        weights.set(o.weight, { ...w, bytes: o.bytes });
        gatheredRows.set(o.weight, (gatheredRows.get(o.weight) ?? 0) + rows);
      } else {
        const w = weights.get(o.weight)!;
        weights.set(o.weight, { ...w, bytes: o.bytes });
        wholeRead.add(o.weight);
      }
    });

    const result = shapeOf(op, node.domain ?? "", ins, need, valuesOf, attrs, outs.length, count);
    result.forEach((k, i) => {
      if (outs[i]) known.set(outs[i], k);
    });
  }

  let weightBytes = 0;
  for (const [name, w] of weights) {
    if (wholeRead.has(name)) weightBytes += w.elements * w.bytes;
    else if (gatheredRows.has(name))
      weightBytes += Math.min(gatheredRows.get(name)! * w.rowElements, w.elements) * w.bytes;
  }
  const outputs: Record<string, Dims> = {};
  for (const o of view.outputs) outputs[o.name!] = known.get(o.name!)?.dims ?? [];
  return { flops, weightBytes, byOp, outputs };
}

/** Elementwise values of small tensors (shape arithmetic); undefined when any is unknown or large. */
function elementwise(
  ins: (Known | undefined)[],
  dims: Dims,
  f: (...xs: number[]) => number,
): number[] | undefined {
  if (product(dims) > MAX_TRACKED || ins.some((k) => !k?.values)) return undefined;
  const n = product(dims);
  // Only scalars and same-length vectors: the shape arithmetic of these graphs.
  if (ins.some((k) => k!.values!.length !== 1 && k!.values!.length !== n)) return undefined;
  return Array.from({ length: n }, (_, i) =>
    f(...ins.map((k) => (k!.values!.length === 1 ? k!.values![0] : k!.values![i]))),
  );
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => Math.trunc(a / b),
  Max: Math.max,
  Min: Math.min,
  Pow: (a, b) => a ** b,
  Mod: (a, b) => a % b,
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  LessOrEqual: (a, b) => Number(a <= b),
  Greater: (a, b) => Number(a > b),
  GreaterOrEqual: (a, b) => Number(a >= b),
  And: (a, b) => Number(a && b),
  Or: (a, b) => Number(a || b),
};

const SAME_SHAPE = new Set([
  "Identity",
  "Cast",
  "Erf",
  "Sqrt",
  "Tanh",
  "Sigmoid",
  "Neg",
  "Relu",
  "Softmax",
  "Clip",
  "Not",
  "Exp",
  "Log",
  "Abs",
  "Gelu",
  "FastGelu",
  "BiasGelu",
  "QuickGelu",
  "LayerNormalization",
  "SkipLayerNormalization",
  "SimplifiedLayerNormalization",
]);

function shapeOf(
  op: string,
  domain: string,
  ins: (Known | undefined)[],
  need: (i: number) => Known,
  valuesOf: (i: number) => number[],
  attrs: Attrs,
  outputs: number,
  count: (op: string, flops: number) => void,
): Known[] {
  if (SAME_SHAPE.has(op)) {
    const x = need(0);
    const values =
      op === "Identity" || op === "Cast" ? x.values : op === "Neg" ? x.values?.map((v) => -v) : undefined;
    return [{ dims: x.dims, values }];
  }
  if (op in BINARY) {
    const dims = broadcast(need(0).dims, need(1).dims);
    return [{ dims, values: elementwise([ins[0], ins[1]], dims, BINARY[op]) }];
  }
  switch (op) {
    case "Where": {
      const dims = broadcast(need(0).dims, need(1).dims, need(2).dims);
      return [{ dims, values: elementwise(ins, dims, (c, a, b) => (c ? a : b)) }];
    }
    case "MatMul":
    case "FusedMatMul": {
      let a = need(0).dims;
      let b = need(1).dims;
      const ta = op === "FusedMatMul" && intAttr(attrs, "transA", 0) === 1;
      const tb = op === "FusedMatMul" && intAttr(attrs, "transB", 0) === 1;
      const swap = (d: Dims) => [...d.slice(0, -2), d[d.length - 1], d[d.length - 2]];
      if (ta) a = swap(a);
      if (tb) b = swap(b);
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const [m, k] = a2.slice(-2);
      const [k2, n] = b2.slice(-2);
      if (k !== k2) throw new Error(`${op}: inner dimensions [${a}]·[${b}] differ`);
      const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2));
      count(op, 2 * product(batch) * m * k * n);
      const dims = [...batch, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [n])];
      return [{ dims }];
    }
    case "Gemm": {
      const a = need(0).dims;
      const b = need(1).dims;
      const [m, k] = intAttr(attrs, "transA", 0) ? [a[1], a[0]] : a;
      const n = intAttr(attrs, "transB", 0) ? b[0] : b[1];
      count(op, 2 * m * k * n);
      return [{ dims: [m, n] }];
    }
    case "Conv": {
      const [batch, , ...spatial] = need(0).dims;
      const w = need(1).dims;
      const [outC, inPerGroup, ...kernel] = w;
      const strides = intsAttr(attrs, "strides") ?? kernel.map(() => 1);
      const dil = intsAttr(attrs, "dilations") ?? kernel.map(() => 1);
      const pads = intsAttr(attrs, "pads") ?? [...kernel, ...kernel].map(() => 0);
      const out = spatial.map(
        (d, i) =>
          Math.floor((d + pads[i] + pads[i + kernel.length] - dil[i] * (kernel[i] - 1) - 1) / strides[i]) + 1,
      );
      count(op, 2 * batch * outC * product(out) * inPerGroup * product(kernel));
      return [{ dims: [batch, outC, ...out] }];
    }
    case "Reshape": {
      const x = need(0);
      const target = valuesOf(1);
      const dims = target.map((d, i) => (d === 0 ? x.dims[i] : d));
      const hole = dims.indexOf(-1);
      if (hole >= 0) dims[hole] = product(x.dims) / product(dims.filter((d) => d !== -1));
      return [{ dims, values: x.values }];
    }
    case "Flatten": {
      const x = need(0).dims;
      const axis = axisOf(intAttr(attrs, "axis", 1), x.length);
      return [{ dims: [product(x.slice(0, axis)), product(x.slice(axis))] }];
    }
    case "Transpose": {
      const x = need(0).dims;
      const perm = intsAttr(attrs, "perm") ?? x.map((_, i) => x.length - 1 - i);
      return [{ dims: perm.map((p) => x[p]) }];
    }
    case "Concat": {
      const parts = ins.map((_, i) => need(i));
      const rank = parts[0].dims.length;
      const axis = axisOf(intAttr(attrs, "axis", 0), rank);
      const dims = [...parts[0].dims];
      dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
      const values = rank === 1 && parts.every((p) => p.values) ? parts.flatMap((p) => p.values!) : undefined;
      return [{ dims, values }];
    }
    case "Unsqueeze": {
      const x = need(0);
      const axes = ins[1] ? valuesOf(1) : (intsAttr(attrs, "axes") ?? []);
      const rank = x.dims.length + axes.length;
      const norm = new Set(axes.map((a) => axisOf(a, rank)));
      const dims: Dims = [];
      let j = 0;
      for (let i = 0; i < rank; i++) dims.push(norm.has(i) ? 1 : x.dims[j++]);
      return [{ dims, values: x.values }];
    }
    case "Squeeze": {
      const x = need(0);
      const axes = ins[1] ? valuesOf(1) : intsAttr(attrs, "axes");
      const drop = new Set(
        axes ? axes.map((a) => axisOf(a, x.dims.length)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : [])),
      );
      return [{ dims: x.dims.filter((_, i) => !drop.has(i)), values: x.values }];
    }
    case "Slice": {
      const x = need(0);
      const starts = valuesOf(1);
      const ends = valuesOf(2);
      const axes = ins[3] ? valuesOf(3) : starts.map((_, i) => i);
      const steps = ins[4] ? valuesOf(4) : starts.map(() => 1);
      const dims = [...x.dims];
      let values = x.values && x.dims.length === 1 ? x.values : undefined;
      axes.forEach((a, i) => {
        const axis = axisOf(a, x.dims.length);
        const d = x.dims[axis];
        const step = steps[i];
        let s = starts[i] < 0 ? starts[i] + d : starts[i];
        let e = ends[i] < 0 ? ends[i] + d : ends[i];
        if (step > 0) {
          s = Math.min(Math.max(s, 0), d);
          e = Math.min(Math.max(e, 0), d);
        } else {
          s = Math.min(Math.max(s, 0), d - 1);
          e = Math.min(Math.max(e, -1), d - 1);
        }
        dims[axis] = Math.max(0, Math.ceil((e - s) / step));
        if (values) values = Array.from({ length: dims[axis] }, (_, j) => values![s + j * step]);
      });
      return [{ dims, values }];
    }
    case "Gather": {
      const data = need(0);
      const indices = need(1);
      const axis = axisOf(intAttr(attrs, "axis", 0), data.dims.length);
      const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
      let values: number[] | undefined;
      if (data.dims.length === 1 && data.values && indices.values) {
        values = indices.values.map((i) => data.values![i < 0 ? i + data.dims[0] : i]);
      }
      return [{ dims, values }];
    }
    case "Shape": {
      const x = need(0).dims;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + x.length : v, 0), x.length);
      const start = clamp(intAttr(attrs, "start", 0));
      const end = clamp(intAttr(attrs, "end", x.length));
      const values = x.slice(start, end);
      return [{ dims: [values.length], values }];
    }
    case "Size":
      return [{ dims: [], values: [product(need(0).dims)] }];
    case "Expand": {
      const x = need(0);
      const dims = broadcast(x.dims, valuesOf(1));
      const values = x.values && product(dims) === x.values.length ? x.values : undefined;
      return [{ dims, values }];
    }
    case "Range": {
      const [start] = valuesOf(0);
      const [limit] = valuesOf(1);
      const [delta] = valuesOf(2);
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      return [
        {
          dims: [n],
          values: n <= MAX_TRACKED ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined,
        },
      ];
    }
    case "ConstantOfShape":
      return [{ dims: valuesOf(0) }];
    case "Tile": {
      const x = need(0).dims;
      const reps = valuesOf(1);
      return [{ dims: x.map((d, i) => d * reps[i]) }];
    }
    case "Split": {
      const x = need(0).dims;
      const axis = axisOf(intAttr(attrs, "axis", 0), x.length);
      const sizes = ins[1]
        ? valuesOf(1)
        : (intsAttr(attrs, "split") ?? Array.from({ length: outputs }, () => Math.ceil(x[axis] / outputs)));
      return sizes.map((s) => ({ dims: x.map((d, i) => (i === axis ? s : d)) }));
    }
    case "Pad": {
      const x = need(0).dims;
      const pads = valuesOf(1);
      return [{ dims: x.map((d, i) => d + pads[i] + pads[i + x.length]) }];
    }
    case "ReduceMean":
    case "ReduceSum":
    case "ReduceL2":
    case "ReduceMax": {
      const x = need(0).dims;
      const axes = (ins[1] ? valuesOf(1) : (intsAttr(attrs, "axes") ?? x.map((_, i) => i))).map((a) =>
        axisOf(a, x.length),
      );
      const keep = intAttr(attrs, "keepdims", 1) === 1;
      const dims = keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
      return [{ dims }];
    }
    case "GlobalAveragePool": {
      const [n, c, ...rest] = need(0).dims;
      return [{ dims: [n, c, ...rest.map(() => 1)] }];
    }
    default:
      throw new Error(`graphCost: no shape rule for ${domain ? `${domain}.` : ""}${op}`);
  }
}
