// A small typed builder that emits ONNX ModelProtos from TypeScript. Values are names; ops are
// appended in order. Weights are external initializers that point into the .safetensors file, so
// building a graph never copies a checkpoint.
import { basename } from "node:path";
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
    // ORT needs the graph output name to be produced by a node: alias through Identity.
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
    return value;
  }

  /** A weight in the file's own dtype (a bf16 table gathered before any cast), read in place. */
  storedWeight(info: TensorInfo): Value {
    if (this.storedValues.has(info.name)) return info.name;
    const dtype = safetensorsToDtype[info.dtype];
    if (!dtype) throw new Error(`weight ${info.name}: dtype ${info.dtype} not supported in graphs`);
    this.initializers.push({
      name: info.name,
      dataType: onnxDtype[dtype],
      dims: info.shape,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: basename(info.file) },
        { key: "offset", value: String(info.byteOffset) },
        { key: "length", value: String(info.byteLength) },
      ],
    });
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

  toBytes(): Uint8Array {
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
        node: this.nodes,
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
