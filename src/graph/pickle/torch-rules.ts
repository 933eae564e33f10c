// What a PyTorch state-dict pickle may reference: the globals torch.load(weights_only=True) allows
// (torch/_weights_only_unpickler.py, _get_allowed_globals), each implemented here as data — a call
// of `_rebuild_tensor_v2` records which storage bytes a tensor views, it computes nothing. Globals on
// that list that no state dict of weights needs (quantized, sparse, meta, nested tensors…) are
// recognised and refused as unsupported; every other global is refused as unsafe by the unpickler.
import { fail } from "../../errors.js";
import type { SafetensorsDtype } from "../safetensors.js";
import {
  PyDict,
  PyGlobal,
  PyObject,
  PySet,
  PyTuple,
  pythonType,
  type PickleRules,
  type PyValue,
} from "./unpickler.js";

/** torch storage class → element dtype (undefined: a kind of storage Sightline does not read). */
const storageClasses: Record<string, SafetensorsDtype | undefined> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
  ComplexDoubleStorage: undefined,
  ComplexFloatStorage: undefined,
  QUInt8Storage: undefined,
  QInt8Storage: undefined,
  QInt32Storage: undefined,
  QUInt4x2Storage: undefined,
  QUInt2x4Storage: undefined,
};

/** torch dtype names as pickled (`torch.float32`) → safetensors dtype (undefined: not read). */
const dtypes: Record<string, SafetensorsDtype | undefined> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
  complex32: undefined,
  complex64: undefined,
  complex128: undefined,
  qint8: undefined,
  quint8: undefined,
  qint32: undefined,
  quint4x2: undefined,
  quint2x4: undefined,
  float8_e4m3fn: undefined,
  float8_e5m2: undefined,
  float8_e4m3fnuz: undefined,
  float8_e5m2fnuz: undefined,
  uint16: undefined,
  uint32: undefined,
  uint64: undefined,
};

const rebuildTensor = "torch._utils._rebuild_tensor";
const rebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
const rebuildTensorV3 = "torch._utils._rebuild_tensor_v3";
const rebuildParameter = "torch._utils._rebuild_parameter";
const rebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";
const rebuildFromType = "torch._tensor._rebuild_from_type_v2";
const parameterClass = "torch.nn.parameter.Parameter";

/** On torch's allow-list, but nothing a checkpoint of plain weights holds: refused by name. */
const unsupported: Record<string, string> = {
  "torch._utils._rebuild_qtensor": "quantized tensors",
  "torch._utils._rebuild_sparse_tensor": "sparse tensors",
  "torch._utils._rebuild_meta_tensor_no_storage": "meta tensors without data",
  "torch._utils._rebuild_wrapper_subclass": "tensor subclasses",
  "torch._utils._rebuild_device_tensor_from_numpy": "tensors stored as numpy arrays",
  "torch._utils._rebuild_device_tensor_from_cpu_tensor": "device tensors",
  "torch._utils._rebuild_nested_tensor": "nested tensors",
  "builtins.complex": "complex numbers",
  "torch.Tensor": "tensors built without a rebuild function",
};

function allowedPaths(): Set<string> {
  const paths = new Set<string>([
    "collections.OrderedDict",
    "collections.Counter",
    parameterClass,
    "torch.serialization._get_layout",
    "torch.Size",
    "torch.device",
    "_codecs.encode",
    "builtins.bytearray",
    "builtins.set",
    "torch.storage.TypedStorage",
    "torch.storage.UntypedStorage",
    rebuildTensor,
    rebuildTensorV2,
    rebuildTensorV3,
    rebuildParameter,
    rebuildParameterWithState,
    rebuildFromType,
    ...Object.keys(unsupported),
  ]);
  for (const s of Object.keys(storageClasses)) paths.add(`torch.${s}`).add(`torch.cuda.${s}`);
  for (const d of Object.keys(dtypes)) paths.add(`torch.${d}`);
  for (const q of [
    "per_tensor_affine",
    "per_tensor_symmetric",
    "per_channel_affine",
    "per_channel_symmetric",
  ])
    paths.add(`torch.${q}`);
  return paths;
}

const allowed = allowedPaths();

/** A storage a persistent id names: raw bytes in the checkpoint, located by the format reader. */
export class TorchStorage extends PyObject {
  readonly pythonType = "torch.storage.TypedStorage";
  constructor(
    /** The key the format stores it under (zip: data/<key>; legacy: the key list). */
    readonly key: string,
    /** Element dtype (undefined: a storage kind Sightline does not read, e.g. complex). */
    readonly dtype: SafetensorsDtype | undefined,
    /** The storage class name, for messages. */
    readonly className: string,
    /** Elements, as the persistent id says. */
    readonly numel: number,
    /** Legacy storage views: the first element of this view within the stored storage. */
    readonly elementOffset = 0,
  ) {
    super();
  }
}

/** A tensor as pickled: a view of a storage. Checked against the storage once its bytes are located. */
export class TorchTensor extends PyObject {
  readonly pythonType = "torch.Tensor";
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: PyValue,
    readonly size: PyValue,
    readonly stride: PyValue,
    /** _rebuild_tensor_v3 passes the dtype beside an untyped storage. */
    readonly dtype: SafetensorsDtype | undefined,
  ) {
    super();
  }
}

/**
 * The rules for one pickle. `loadStorage` turns a persistent id's fields into a storage: the zip
 * and the legacy formats name and locate storages differently.
 */
export function torchRules(
  label: string,
  loadStorage: (
    pid: PyValue[],
    storageClass: { dtype: SafetensorsDtype | undefined; name: string },
  ) => TorchStorage,
): PickleRules {
  const invalid = (what: string) => fail("CHECKPOINT_INVALID", `${label}: ${what}`);
  const globals = new Map<string, PyGlobal>();

  const storageClass = (v: PyValue) => {
    const name = v instanceof PyGlobal ? v.path.replace(/^torch\.(cuda\.)?/, "") : "";
    if (!(v instanceof PyGlobal) || !(name in storageClasses)) {
      // torch 2 pickles an untyped storage (bytes) this way; _rebuild_tensor_v3 then names the dtype.
      if (v instanceof PyGlobal && v.path === "torch.storage.UntypedStorage")
        return { dtype: "U8" as SafetensorsDtype, name: v.path };
      throw invalid(`a persistent id names ${pythonType(v)} where a storage class belongs`);
    }
    return { dtype: storageClasses[name], name };
  };

  const tensorArg = (v: PyValue, fn: string): TorchTensor => {
    if (v instanceof TorchTensor) return v;
    throw invalid(`${fn} gets a ${pythonType(v)} where a tensor belongs`);
  };

  const dtypeOf = (v: PyValue, fn: string): SafetensorsDtype => {
    const name = v instanceof PyGlobal && v.path.startsWith("torch.") ? v.path.slice(6) : "";
    if (!(name in dtypes)) throw invalid(`${fn} gets ${pythonType(v)} where a dtype belongs`);
    const dtype = dtypes[name];
    if (!dtype) throw invalid(`tensors of dtype torch.${name} are not supported`);
    return dtype;
  };

  const rebuild = (path: string, args: PyValue[]): PyValue => {
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max)
        throw invalid(
          `${path} called with ${args.length} arguments, expected ${min === max ? min : `${min}–${max}`}`,
        );
    };
    switch (path) {
      case rebuildTensor:
      case rebuildTensorV2:
      case rebuildTensorV3: {
        // (storage, storage_offset, size, stride[, requires_grad, backward_hooks][, dtype][, metadata])
        if (path === rebuildTensor) arity(4);
        else if (path === rebuildTensorV2) arity(6, 7);
        else arity(7, 8);
        const storage = args[0];
        if (!(storage instanceof TorchStorage))
          throw invalid(`${path} gets a ${pythonType(storage)} as its storage`);
        const dtype = path === rebuildTensorV3 ? dtypeOf(args[6]!, path) : undefined;
        return new TorchTensor(storage, args[1]!, args[2]!, args[3]!, dtype);
      }
      case rebuildParameter: // (data, requires_grad, backward_hooks)
        arity(3);
        return tensorArg(args[0]!, path);
      case rebuildParameterWithState: // (data, requires_grad, backward_hooks, state)
        arity(4);
        return tensorArg(args[0]!, path);
      case parameterClass: // Parameter(data[, requires_grad])
        arity(1, 2);
        return tensorArg(args[0]!, path);
      case rebuildFromType: {
        // (func, new_type, args, state): a Tensor/Parameter with extra attributes
        arity(4);
        const [fn, type, inner] = args;
        if (!(type instanceof PyGlobal) || (type.path !== parameterClass && type.path !== "torch.Tensor"))
          throw invalid(`${path} rebuilds a ${pythonType(type!)}, not a tensor`);
        if (!(fn instanceof PyGlobal) || fn.path === rebuildFromType || !(inner instanceof PyTuple))
          throw invalid(`${path} with a ${pythonType(fn!)} as its function`);
        return tensorArg(call(fn, inner.items), path);
      }
      default:
        throw invalid(`unexpected call of ${path}`);
    }
  };

  const call = (fn: PyGlobal, args: PyValue[]): PyValue => {
    const path = fn.path;
    if (path in unsupported)
      throw invalid(`it holds ${unsupported[path]} (${path}), which Sightline does not read`);
    switch (path) {
      case "collections.OrderedDict":
      case "collections.Counter": {
        const d = new PyDict(path);
        const init = args[0];
        if (args.length > 1) throw invalid(`${path} called with ${args.length} arguments`);
        if (init instanceof PyDict) for (const [k, v] of init.entries) d.entries.set(k, v);
        else if (Array.isArray(init)) {
          for (const pair of init) {
            const kv = pair instanceof PyTuple ? pair.items : pair;
            if (!Array.isArray(kv) || kv.length !== 2)
              throw invalid(`${path} gets an item that is not a pair`);
            d.entries.set(kv[0], kv[1]!);
          }
        } else if (init !== undefined) throw invalid(`${path} gets a ${pythonType(init)}`);
        return d;
      }
      case "builtins.set": {
        const s = new PySet();
        const init = args[0];
        if (Array.isArray(init) || init instanceof PyTuple)
          for (const v of Array.isArray(init) ? init : init.items) s.items.add(v);
        else if (init !== undefined) throw invalid(`set() of a ${pythonType(init)}`);
        return s;
      }
      case "builtins.bytearray": {
        const init = args[0];
        if (init === undefined) return new Uint8Array(0);
        if (init instanceof Uint8Array) return Uint8Array.from(init);
        throw invalid(`bytearray() of a ${pythonType(init)}`);
      }
      case "_codecs.encode": {
        // How protocol 2 pickles bytes: encode(text, "latin1").
        const [text, encoding] = args;
        if (typeof text !== "string" || (encoding !== "latin1" && encoding !== "latin-1"))
          throw invalid(`_codecs.encode(${pythonType(text ?? null)}, ${JSON.stringify(encoding)})`);
        const out = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          if (c > 0xff) throw invalid("_codecs.encode of text outside latin1");
          out[i] = c;
        }
        return out;
      }
      case "torch.Size": {
        const dims = args[0];
        if (args.length !== 1 || !(dims instanceof PyTuple || Array.isArray(dims)))
          throw invalid("torch.Size of something other than a tuple");
        return new PyTuple(Array.isArray(dims) ? dims : dims.items);
      }
      case "torch.device":
      case "torch.serialization._get_layout":
        if (typeof args[0] !== "string") throw invalid(`${path} of a ${pythonType(args[0] ?? null)}`);
        return args[0];
      default:
        if (path.startsWith("torch._utils.") || path === rebuildFromType || path === parameterClass)
          return rebuild(path, args);
        // Storage classes, dtypes, quantization schemes: allowed as values, never called.
        throw invalid(`it calls ${path}, which is a value, not a function`);
    }
  };

  return {
    global(path) {
      if (!allowed.has(path)) return undefined;
      let g = globals.get(path);
      if (!g) globals.set(path, (g = new PyGlobal(path)));
      return g;
    },
    call,
    // Parameters and tensors may carry a __dict__ (e.g. from _rebuild_parameter_with_state): not needed.
    build: (target) => target instanceof TorchTensor,
    persistentLoad(pid) {
      // ("storage", storage class, key, location, numel[, legacy view metadata])
      return loadStorage(pid.items, storageClass(pid.items[1] ?? null));
    },
  };
}
