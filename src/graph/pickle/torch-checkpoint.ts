// PyTorch checkpoints (pytorch_model.bin) read without running them and without loading them: the
// restricted unpickler (unpickler.ts + torch-rules.ts) turns the pickled state dict into tensor
// views of storages; each storage is raw bytes in the file, so each tensor becomes the same
// TensorInfo {file, byteOffset, byteLength, dtype, shape} a safetensors header gives, and ONNX
// Runtime reads it in place. Two formats:
//
//   zip (torch ≥ 1.6): <archive>/data.pkl, <archive>/data/<key> (one stored entry per storage),
//       <archive>/version, optionally <archive>/byteorder and .data/…;
//   legacy (torch < 1.6, or _use_new_zipfile_serialization=False): five pickles back to back —
//       magic number, protocol version, sys info, the object, the storage keys — then each storage
//       in key order as an 8-byte little-endian element count followed by its raw bytes.
//
// Sizes, strides and offsets are checked against the bytes actually in the file before a TensorInfo
// exists, and nothing is allocated from a size the file claims.
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { fail } from "../../errors.js";
import type { SafetensorsDtype, TensorInfo } from "../safetensors.js";
import { BufferInput, FileInput } from "./input.js";
import { dtypeBytes } from "../safetensors.js";
import { torchRules, TorchStorage, TorchTensor } from "./torch-rules.js";
import { PyDict, PyTuple, pythonType, unpickle, type PickleRules, type PyValue } from "./unpickler.js";
import { ZipArchive } from "./zip.js";

export type TorchCheckpointFormat = "zip" | "legacy";

export interface TorchCheckpoint {
  format: TorchCheckpointFormat;
  tensors: TensorInfo[];
}

/** A data.pkl larger than this is not a state dict (≈ 120 bytes per tensor). */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** Where a storage's bytes are in the file. */
interface StoredBytes {
  offset: number;
  length: number;
}

/** Reads the tensors of one .bin file (a whole checkpoint or one shard). `path` names it in errors. */
export function readTorchCheckpoint(path: string): TorchCheckpoint {
  const file = realpathSync(path);
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 512));
    readSync(fd, head, 0, head.length, 0);
    if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return readZip(fd, size, file, path);
    if (head.length >= 2 && head[0] === 0x80) return readLegacy(fd, size, file, path);
    if (head.length >= 262 && head.toString("latin1", 257, 262) === "ustar") {
      throw fail("CHECKPOINT_INVALID", `${path}: a tar checkpoint (PyTorch before 0.4) is not supported`);
    }
    throw fail("CHECKPOINT_INVALID", `${path}: neither a torch.save zip nor a legacy PyTorch pickle`);
  } finally {
    closeSync(fd);
  }
}

function readZip(fd: number, size: number, file: string, label: string): TorchCheckpoint {
  const invalid = (what: string) => fail("CHECKPOINT_INVALID", `${label}: ${what}`);
  const zip = ZipArchive.open(fd, size, label);
  // The archive's folder is named after the file it was saved as ("archive/", "pytorch_model/"…).
  const pickles = [...zip.entries.keys()].filter((n) => /^(?:[^/]+\/)?data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw invalid(
      pickles.length ? "the zip holds several data.pkl" : "the zip holds no data.pkl (not a torch.save file)",
    );
  }
  const prefix = pickles[0]!.slice(0, -"data.pkl".length);
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder && zip.readEntry(byteorder, 16).toString("latin1").trim() !== "little") {
    throw invalid("big-endian checkpoints are not supported");
  }

  const located = new Map<string, StoredBytes>();
  const rules = torchRules(label, (pid, storageClass) => {
    if (pid.length !== 5) throw invalid(`a storage id with ${pid.length} fields, expected 5`);
    const key = storageKey(pid[2]!, label);
    const numel = count(pid[4]!, `storage ${key}'s element count`, label);
    if (!located.has(key)) {
      const entry = zip.entries.get(`${prefix}data/${key}`);
      if (!entry) throw invalid(`storage ${key} has no data/${key} entry`);
      located.set(key, { offset: zip.dataOffset(entry), length: entry.size });
    }
    return new TorchStorage(key, storageClass.dtype, storageClass.name, numel);
  });
  const pickle = zip.readEntry(zip.entries.get(pickles[0]!)!, MAX_PICKLE_BYTES);
  const result = unpickle(new BufferInput(pickle, label), rules, label);
  return { format: "zip", tensors: stateDictTensors(result, located, file, label) };
}

/** Only plain values: what the legacy format's header pickles and key list may hold. */
const plainValues: PickleRules = {
  global: () => undefined,
  call: () => null,
  build: () => false,
  persistentLoad: () => {
    throw fail("CHECKPOINT_INVALID", "a storage reference outside the pickled object");
  },
};

function readLegacy(fd: number, size: number, file: string, label: string): TorchCheckpoint {
  const invalid = (what: string) => fail("CHECKPOINT_INVALID", `${label}: ${what}`);
  const input = new FileInput(fd, 0, size, label);
  const magic = unpickle(input, plainValues, label);
  if (magic !== LEGACY_MAGIC)
    throw invalid("a pickle, but not a PyTorch checkpoint (no torch.save magic number)");
  const protocol = unpickle(input, plainValues, label);
  if (protocol !== LEGACY_PROTOCOL)
    throw invalid(`legacy protocol version ${String(protocol)}, expected 1001`);
  const sysInfo = unpickle(input, plainValues, label);
  if (sysInfo instanceof PyDict && sysInfo.entries.get("little_endian") === false) {
    throw invalid("big-endian checkpoints are not supported");
  }

  // Storages as the pickle first names them: key → (dtype, element count). Views share a root key.
  const roots = new Map<string, { dtype: SafetensorsDtype | undefined; numel: number }>();
  const rules = torchRules(label, (pid, storageClass) => {
    if (pid.length !== 6) throw invalid(`a storage id with ${pid.length} fields, expected 6`);
    const key = storageKey(pid[2]!, label);
    const numel = count(pid[4]!, `storage ${key}'s element count`, label);
    if (!roots.has(key)) roots.set(key, { dtype: storageClass.dtype, numel });
    const view = pid[5];
    if (view === null || view === undefined)
      return new TorchStorage(key, storageClass.dtype, storageClass.name, numel);
    // Storage views of pre-1.0 torch: (view key, offset, size) in elements.
    if (!(view instanceof PyTuple) || view.items.length !== 3) throw invalid("a malformed storage view");
    const offset = count(view.items[1]!, "a storage view's offset", label);
    const viewSize = count(view.items[2]!, "a storage view's size", label);
    return new TorchStorage(key, storageClass.dtype, storageClass.name, viewSize, offset);
  });
  const result = unpickle(input, rules, label);
  const keys = unpickle(input, plainValues, label);
  if (!Array.isArray(keys)) throw invalid(`the storage key list is a ${pythonType(keys)}`);

  const located = new Map<string, StoredBytes>();
  let position = input.position;
  const header = Buffer.alloc(8);
  for (const k of keys) {
    const key = storageKey(k, label);
    const root = roots.get(key);
    if (!root) throw invalid(`the key list names storage ${key}, which no tensor uses`);
    if (located.has(key)) throw invalid(`the key list names storage ${key} twice`);
    if (position + 8 > size || readSync(fd, header, 0, 8, position) !== 8) {
      throw invalid(`storage ${key} lies past the end of the file (truncated?)`);
    }
    const elements = header.readBigInt64LE(0);
    const bytes = root.dtype ? BigInt(dtypeBytes[root.dtype]) : 1n;
    if (elements !== BigInt(root.numel)) {
      throw invalid(`storage ${key} holds ${elements} elements, its tensors say ${root.numel}`);
    }
    const length = elements * bytes;
    if (BigInt(position) + 8n + length > BigInt(size))
      throw invalid(`storage ${key} runs past the end of the file (truncated?)`);
    located.set(key, { offset: position + 8, length: Number(length) });
    position += 8 + Number(length);
  }
  return { format: "legacy", tensors: stateDictTensors(result, located, file, label) };
}

function storageKey(v: PyValue, label: string): string {
  if (typeof v === "string" && /^[A-Za-z0-9_.-]{1,200}$/.test(v)) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return String(v);
  throw fail(
    "CHECKPOINT_INVALID",
    `${label}: a storage key ${JSON.stringify(pythonType(v))} that is not a plain name`,
  );
}

/** A non-negative integer that fits a double exactly. */
function count(v: PyValue, what: string, label: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  throw fail(
    "CHECKPOINT_INVALID",
    `${label}: ${what} is ${typeof v === "bigint" ? `${v} (too large)` : pythonType(v)}`,
  );
}

/** The state dict's tensors (name → TensorInfo), each checked against its storage's bytes. */
function stateDictTensors(
  result: PyValue,
  located: Map<string, StoredBytes>,
  file: string,
  label: string,
): TensorInfo[] {
  const invalid = (what: string) => fail("CHECKPOINT_INVALID", `${label}: ${what}`);
  if (!(result instanceof PyDict)) throw invalid(`it holds a ${pythonType(result)}, not a state dict`);
  const tensors: TensorInfo[] = [];
  for (const [name, value] of result.entries) {
    // Non-tensor entries (an int, a nested dict) are not weights; transformers ignores them too.
    if (typeof name !== "string" || !(value instanceof TorchTensor)) continue;
    const stored = located.get(value.storage.key);
    if (!stored) throw invalid(`tensor ${name}: storage ${value.storage.key} is not in the file`);
    tensors.push(tensorInfo(name, value, stored, file, label));
  }
  if (tensors.length === 0) {
    const keys = [...result.entries.keys()].slice(0, 5).map(String);
    throw invalid(`no tensors at the top level of the pickled dict (keys: ${keys.join(", ") || "none"})`);
  }
  return tensors;
}

function intList(v: PyValue): number[] | undefined {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || items.length > 64) return undefined;
  const out: number[] = [];
  for (const x of items) {
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) return undefined;
    out.push(x);
  }
  return out;
}

function tensorInfo(
  name: string,
  t: TorchTensor,
  stored: StoredBytes,
  file: string,
  label: string,
): TensorInfo {
  const invalid = (what: string) => fail("CHECKPOINT_INVALID", `${label}: tensor ${name} ${what}`);
  const dtype = t.dtype ?? t.storage.dtype;
  if (!dtype) throw invalid(`is a ${t.storage.className} tensor, which Sightline does not read`);
  const shape = intList(t.size);
  const stride = intList(t.stride);
  if (!shape) throw invalid(`has a size that is not a list of non-negative integers (${describe(t.size)})`);
  if (!stride || stride.length !== shape.length)
    throw invalid(`has strides ${describe(t.stride)} for shape [${shape}]`);
  if (typeof t.storageOffset !== "number" || !Number.isSafeInteger(t.storageOffset) || t.storageOffset < 0)
    throw invalid(`has a storage offset ${describe(t.storageOffset)}`);

  // BigInt arithmetic: dims whose product overflows a double are caught, not wrapped.
  const numel = shape.reduce((n, d) => n * BigInt(d), 1n);
  if (numel > 0n) {
    let expected = 1n;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i] !== 1 && BigInt(stride[i]!) !== expected) {
        throw invalid(
          `is not contiguous (shape [${shape}], strides [${stride}], e.g. saved from a transposed view); ` +
            `Sightline reads weights in place and needs contiguous tensors: re-save it with tensor.contiguous()`,
        );
      }
      expected *= BigInt(shape[i]!);
    }
  }
  const element = BigInt(dtypeBytes[dtype]);
  const storageElement = BigInt(t.storage.dtype ? dtypeBytes[t.storage.dtype] : 1);
  // The storage (or legacy view) this tensor may use, then the tensor inside it.
  const storageStart = BigInt(t.storage.elementOffset) * storageElement;
  const storageLength = BigInt(t.storage.numel) * storageElement;
  if (storageStart + storageLength > BigInt(stored.length)) {
    throw invalid(`claims ${storageLength} bytes of storage ${t.storage.key}, which holds ${stored.length}`);
  }
  const begin = BigInt(t.storageOffset) * element;
  const length = numel * element;
  if (begin + length > storageLength) {
    throw invalid(
      `([${shape}] ${dtype} at element ${t.storageOffset}) needs ${begin + length} bytes, ` +
        `its storage ${t.storage.key} has ${storageLength}`,
    );
  }
  return {
    name,
    dtype,
    shape,
    file,
    byteOffset: stored.offset + Number(storageStart + begin),
    byteLength: Number(length),
  };
}

function describe(v: PyValue): string {
  if (v instanceof PyTuple || Array.isArray(v)) {
    const items = v instanceof PyTuple ? v.items : v;
    return `(${items
      .slice(0, 8)
      .map((x) => (typeof x === "number" || typeof x === "bigint" ? String(x) : pythonType(x)))
      .join(", ")}${items.length > 8 ? ", …" : ""})`;
  }
  return typeof v === "number" || typeof v === "bigint" ? String(v) : pythonType(v);
}
