// A small typed builder that emits ONNX ModelProtos from TypeScript. Values are names; ops are
// appended in order. Weights are external initializers that point into the .safetensors file, so
// building a graph never copies a checkpoint.
import { dirname, relative, sep } from "node:path";
import onnxProto from "onnx-proto";
import type { TensorInfo } from "./safetensors.js";

const { onnx } = onnxProto;

/** A named tensor in the graph. */
export type Value = string;

export type DType = "float32" | "float16" | "bfloat16" | "int64" | "int32" | "int8" | "uint8" | "bool";

const onnxDtype: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

const safetensorsToDtype: Record<string, DType> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

/** Attribute values: integers become INT, other numbers FLOAT; wrap with floatAttr() to force FLOAT. */
export type AttrValue = number | string | number[] | string[] | FloatAttr | FloatsAttr;
export interface FloatAttr {
  float: number;
}
export interface FloatsAttr {
  floats: number[];
}
export const floatAttr = (v: number): FloatAttr => ({ float: v });

// ONNX attributes that are floats even when their value happens to be integral (alpha=1).
const FLOAT_ATTRS = new Set(["alpha", "beta", "epsilon", "scale", "gamma", "ratio", "value_float", "bias"]);

/**
 * A linear layer's product as built by `linear()` / `logitsOutput()`: `output` = x · Wᵀ with W [out, in]
 * ("out-in", nn.Linear, the LM heads) or x · W with W [in, out] ("in-out", GPT-2's Conv1D). Recorded so
 * that quantization (graph/quantize.ts) can replace exactly these products and nothing else.
 */
export interface LinearSite {
  readonly output: Value;
  readonly input: Value;
  readonly weight: Value;
  /** A bias the product's own node adds (Gemm's C), if any. */
  readonly bias?: Value;
  readonly layout: "out-in" | "in-out";
}

export const OPSET = 17;
export const MS_DOMAIN = "com.microsoft";

export interface OpOptions {
  domain?: string;
  name?: string;
}

export class Graph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly externalValues = new Map<string, Value>();
  private readonly storedValues = new Set<string>();
  /** Where each external initializer's bytes are: located at toBytes() against the data folder. */
  private readonly externalInfos = new Map<string, TensorInfo>();
  /** Weight values (initializers and the casts of fp16/bf16 ones) → the checkpoint tensor behind them. */
  private readonly weightSources = new Map<Value, TensorInfo>();
  private readonly linears: LinearSite[] = [];
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh unique value name. */
  fresh(hint = "t"): Value {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, dtype: DType, dims: (number | string)[]): Value {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(value: Value, name: string, dtype: DType = "float32"): void {
    // ORT needs the graph output name to be produced by a node: alias through Identity (toBytes
    // drops it where the value's own node can write the output instead; withoutOutputCopies).
    this.op("Identity", [value], {}, { name: `out_${name}` }, name);
    this.outputs.push(valueInfo(name, dtype, undefined));
  }

  /** Appends one node; returns its (single) output. */
  op(
    opType: string,
    inputs: (Value | undefined)[],
    attrs: Record<string, AttrValue> = {},
    opts: OpOptions = {},
    outName?: Value,
  ): Value {
    const out = outName ?? this.fresh(opType.toLowerCase());
    this.pushNode(opType, inputs, [out], attrs, opts);
    return out;
  }

  /** Appends one node with several outputs. */
  opN(
    opType: string,
    inputs: (Value | undefined)[],
    outputs: number,
    attrs: Record<string, AttrValue> = {},
    opts: OpOptions = {},
  ): Value[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.pushNode(opType, inputs, outs, attrs, opts);
    return outs;
  }

  private pushNode(
    opType: string,
    inputs: (Value | undefined)[],
    outputs: Value[],
    attrs: Record<string, AttrValue>,
    opts: OpOptions,
  ): void {
    if (opts.domain) this.domains.add(opts.domain);
    this.nodes.push({
      opType,
      domain: opts.domain ?? "",
      name: opts.name ?? `${opType}_${this.nodes.length}`,
      input: inputs.map((v) => v ?? ""),
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
  }

  /** A float32 constant stored inline. */
  constFloat(values: ArrayLike<number>, dims?: number[]): Value {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.inlineTensor(
      "float32",
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      dims ?? [data.length],
    );
  }

  /** An int64 constant stored inline. */
  constInt(values: ArrayLike<number>, dims?: number[]): Value {
    const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    return this.inlineTensor("int64", new Uint8Array(data.buffer), dims ?? [data.length]);
  }

  /** A scalar int64 constant (rank 0). */
  scalarInt(v: number): Value {
    return this.constInt([v], []);
  }

  /** A scalar float32 constant (rank 0). */
  scalarFloat(v: number): Value {
    return this.constFloat([v], []);
  }

  inlineTensor(dtype: DType, raw: Uint8Array, dims: number[]): Value {
    const name = this.fresh("const");
    this.initializers.push({ name, dataType: onnxDtype[dtype], dims, rawData: raw });
    return name;
  }

  /** A weight read by ORT straight from the safetensors file; fp16/bf16 are cast to float32. */
  weight(info: TensorInfo): Value {
    const known = this.externalValues.get(info.name);
    if (known) return known;
    const stored = this.storedWeight(info);
    const dtype = safetensorsToDtype[info.dtype];
    const value = dtype === "float16" || dtype === "bfloat16" ? this.cast(stored, "float32") : stored;
    this.externalValues.set(info.name, value);
    this.weightSources.set(value, info);
    return value;
  }

  /** A weight in the file's own dtype (a bf16 table gathered before any cast), read in place. */
  storedWeight(info: TensorInfo): Value {
    if (this.storedValues.has(info.name)) return info.name;
    const dtype = safetensorsToDtype[info.dtype];
    if (!dtype) throw new Error(`weight ${info.name}: dtype ${info.dtype} not supported in graphs`);
    this.externalInitializer(info.name, info, dtype);
    this.storedValues.add(info.name);
    return info.name;
  }

  /** The graph as built so far, read-only (for analyses such as graph/cost.ts). */
  inspect(): {
    nodes: readonly onnxProto.onnx.INodeProto[];
    initializers: readonly onnxProto.onnx.ITensorProto[];
    inputs: readonly onnxProto.onnx.IValueInfoProto[];
    outputs: readonly onnxProto.onnx.IValueInfoProto[];
  } {
    return { nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  /** An initializer named `name` whose bytes are the tensor `info` locates, as stored (no cast). */
  externalInitializer(name: string, info: TensorInfo, dtype: DType): Value {
    this.initializers.push({
      name,
      dataType: onnxDtype[dtype],
      dims: info.shape,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    });
    this.externalInfos.set(name, info);
    return name;
  }

  /** Whether the graph has an output named `name`. */
  hasOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  /** The checkpoint tensor behind a value `weight()` returned, else undefined. */
  weightSource(value: Value): TensorInfo | undefined {
    return this.weightSources.get(value);
  }

  /** Records a linear layer's product (see LinearSite). */
  markLinear(site: LinearSite): void {
    this.linears.push(site);
  }

  linearSites(): readonly LinearSite[] {
    return this.linears;
  }

  /** Replaces the node that produces `output` by another op with the same single output. */
  replaceOp(
    output: Value,
    opType: string,
    inputs: (Value | undefined)[],
    attrs: Record<string, AttrValue> = {},
    opts: OpOptions = {},
  ): void {
    const node = this.nodes.find((n) => n.output?.length === 1 && n.output[0] === output);
    if (!node) throw new Error(`${this.name}: no node produces ${output}`);
    if (opts.domain) this.domains.add(opts.domain);
    node.opType = opType;
    node.domain = opts.domain ?? "";
    node.input = inputs.map((v) => v ?? "");
    node.attribute = Object.entries(attrs).map(([k, v]) => attribute(k, v));
  }

  /**
   * Makes the node that produces `output` produce a new value instead, followed by `output` = that + `bias`
   * (inserted right after it, keeping the nodes in topological order).
   */
  addAfter(output: Value, bias: Value): void {
    const i = this.nodes.findIndex((n) => n.output?.length === 1 && n.output[0] === output);
    if (i < 0) throw new Error(`${this.name}: no node produces ${output}`);
    const product = this.fresh("unbiased");
    this.nodes[i].output = [product];
    this.nodes.splice(i + 1, 0, {
      opType: "Add",
      domain: "",
      name: this.fresh("Add"),
      input: [product, bias],
      output: [output],
    });
  }

  /**
   * Drops the checkpoint weights no node reads any more (a weight whose only product was replaced), with
   * the casts that widened them: ORT then neither maps nor converts them.
   */
  pruneUnusedWeights(): void {
    const readers = () => new Set(this.nodes.flatMap((n) => n.input ?? []));
    const read = readers();
    for (const [name, value] of this.externalValues) {
      if (value !== name && !read.has(value)) {
        const i = this.nodes.findIndex((n) => n.opType === "Cast" && n.output?.[0] === value);
        if (i >= 0) this.nodes.splice(i, 1);
      }
    }
    const used = readers();
    for (let i = this.initializers.length - 1; i >= 0; i--) {
      const name = this.initializers[i].name!;
      if (this.externalInfos.has(name) && !used.has(name)) {
        this.initializers.splice(i, 1);
        this.externalInfos.delete(name);
        this.externalValues.delete(name);
        this.storedValues.delete(name);
      }
    }
  }

  /**
   * The folder external data is resolved against: the deepest folder holding every file the weights come
   * from (a checkpoint's folder; with quantized weights, the common parent of it and the quantized cache).
   * ORT refuses locations that leave this folder, so each location is relative to it.
   */
  dataFolder(): string | undefined {
    const folders = [...new Set([...this.externalInfos.values()].map((t) => dirname(t.file)))];
    if (folders.length === 0) return undefined;
    return folders.reduce(commonFolder);
  }

  /** The ModelProto; external data locations are relative to `dataFolder` (default: this.dataFolder()). */
  toBytes(dataFolder = this.dataFolder()): Uint8Array {
    for (const init of this.initializers) {
      const info = this.externalInfos.get(init.name!);
      if (!info) continue;
      init.externalData = [
        { key: "location", value: relative(dataFolder ?? dirname(info.file), info.file) },
        { key: "offset", value: String(info.byteOffset) },
        { key: "length", value: String(info.byteLength) },
      ];
    }
    const opsetImport = [
      { domain: "", version: OPSET },
      ...[...this.domains].map((d) => ({ domain: d, version: 1 })),
    ];
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "sightline",
      opsetImport,
      graph: {
        name: this.name,
        node: withoutOutputCopies(this.nodes, this.outputs),
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  // ---- sugar: one method per common op ----
  add(a: Value, b: Value): Value {
    return this.op("Add", [a, b]);
  }
  sub(a: Value, b: Value): Value {
    return this.op("Sub", [a, b]);
  }
  mul(a: Value, b: Value): Value {
    return this.op("Mul", [a, b]);
  }
  div(a: Value, b: Value): Value {
    return this.op("Div", [a, b]);
  }
  matmul(a: Value, b: Value): Value {
    return this.op("MatMul", [a, b]);
  }
  /** `shape` as numbers (0 = copy that dim, -1 = infer) or a Value holding an int64 shape. */
  reshape(x: Value, shape: number[] | Value): Value {
    return this.op("Reshape", [x, typeof shape === "string" ? shape : this.constInt(shape)]);
  }
  transpose(x: Value, perm: number[]): Value {
    return this.op("Transpose", [x], { perm });
  }
  softmax(x: Value, axis = -1): Value {
    return this.op("Softmax", [x], { axis });
  }
  concat(xs: Value[], axis: number): Value {
    return this.op("Concat", xs, { axis });
  }
  unsqueeze(x: Value, axes: number[]): Value {
    return this.op("Unsqueeze", [x, this.constInt(axes)]);
  }
  squeeze(x: Value, axes: number[]): Value {
    return this.op("Squeeze", [x, this.constInt(axes)]);
  }
  /** Slice along `axes` with constant starts/ends (use large ends for "to the end"). */
  slice(x: Value, starts: number[], ends: number[], axes: number[], steps?: number[]): Value {
    const ins = [x, this.constInt(starts), this.constInt(ends), this.constInt(axes)];
    if (steps) ins.push(this.constInt(steps));
    return this.op("Slice", ins);
  }
  gather(data: Value, indices: Value, axis = 0): Value {
    return this.op("Gather", [data, indices], { axis });
  }
  cast(x: Value, to: DType): Value {
    return this.op("Cast", [x], { to: onnxDtype[to] });
  }
  shape(x: Value, start?: number, end?: number): Value {
    const attrs: Record<string, AttrValue> = {};
    if (start !== undefined) attrs.start = start;
    if (end !== undefined) attrs.end = end;
    return this.op("Shape", [x], attrs);
  }
  sqrt(x: Value): Value {
    return this.op("Sqrt", [x]);
  }
  tanh(x: Value): Value {
    return this.op("Tanh", [x]);
  }
  sigmoid(x: Value): Value {
    return this.op("Sigmoid", [x]);
  }
  neg(x: Value): Value {
    return this.op("Neg", [x]);
  }
  reduceMean(x: Value, axes: number[], keepdims = true): Value {
    return this.op("ReduceMean", [x], { axes, keepdims: keepdims ? 1 : 0 });
  }
  /** Multiplies by a scalar constant. */
  scale(x: Value, s: number): Value {
    return this.mul(x, this.scalarFloat(s));
  }
}

/** The deepest folder containing both (absolute paths). */
function commonFolder(a: string, b: string): string {
  const pa = a.split(sep);
  const pb = b.split(sep);
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  return pa.slice(0, n).join(sep) || sep;
}

function valueInfo(
  name: string,
  dtype: DType,
  dims: (number | string)[] | undefined,
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxDtype[dtype],
        shape: dims
          ? { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) }
          : undefined,
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: Buffer.from(v, "utf8") };
  if (typeof v === "number") {
    if (Number.isInteger(v) && !FLOAT_ATTRS.has(name)) return { name, type: T.INT, i: v };
    return { name, type: T.FLOAT, f: v };
  }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string"))
      return { name, type: T.STRINGS, strings: (v as string[]).map((s) => Buffer.from(s)) };
    return { name, type: T.INTS, ints: v as number[] };
  }
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

/**
 * The nodes with each graph output's Identity (see Graph.output) removed where the aliased value is a
 * node's own output: that node then writes the graph output itself. An Identity copies its tensor on
 * every run, and a decoder step's outputs are its whole KV cache. Values that are graph inputs or
 * initializers, or feed more than one graph output, keep their Identity.
 */
function withoutOutputCopies(
  nodes: onnxProto.onnx.INodeProto[],
  outputs: onnxProto.onnx.IValueInfoProto[],
): onnxProto.onnx.INodeProto[] {
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const outputNames = new Set(outputs.map((o) => o.name));
  const copies = nodes.filter((n) => n.opType === "Identity" && outputNames.has(n.output?.[0] ?? ""));
  const sourceOf = (n: onnxProto.onnx.INodeProto) => n.input?.[0] ?? "";
  const uses = new Map<string, number>();
  for (const n of copies) uses.set(sourceOf(n), (uses.get(sourceOf(n)) ?? 0) + 1);
  const removable = copies.filter((n) => {
    const source = sourceOf(n);
    return produced.has(source) && !outputNames.has(source) && uses.get(source) === 1;
  });
  const rename = new Map(removable.map((n) => [sourceOf(n), n.output![0]]));
  const dropped = new Set(removable);
  if (rename.size === 0) return nodes;
  const name = (v: string) => rename.get(v) ?? v;
  return nodes
    .filter((n) => !dropped.has(n))
    .map((n) => ({ ...n, input: (n.input ?? []).map(name), output: (n.output ?? []).map(name) }));
}
