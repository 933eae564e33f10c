// Reads .safetensors checkpoints without loading them: only the JSON header is parsed; tensors are
// located by absolute byte offset so ONNX external initializers can point straight into the file
// (no copy, no second read of a multi-GB checkpoint). Small tensors can be read into Float32Arrays.
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { basename, dirname } from "node:path";
import { fail } from "../errors.js";
import { readTorchCheckpoint } from "./pickle/torch-checkpoint.js";
import { findWeightFiles } from "./weight-files.js";

export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const dtypeBytes: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Real path of the file holding the tensor (symlinks resolved, as ORT requires). */
  file: string;
  /** Absolute offset of the first byte in `file` (8 + header length + data begin). */
  byteOffset: number;
  byteLength: number;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Parses one .safetensors header; returns the tensors it holds. */
export function readSafetensorsHeader(path: string): {
  tensors: TensorInfo[];
  metadata: Record<string, string>;
} {
  const file = realpathSync(path);
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8)
      throw fail("SAFETENSORS_INVALID", `${path}: too short`);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
      throw fail("SAFETENSORS_INVALID", `${path}: header length ${headerLen} does not fit the file`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, any>;
    try {
      header = JSON.parse(headerBuf.toString("utf8"));
    } catch (e) {
      throw fail("SAFETENSORS_INVALID", `${path}: header is not JSON (${(e as Error).message})`);
    }
    const dataStart = 8 + headerLen;
    const tensors: TensorInfo[] = [];
    let metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        metadata = entry as Record<string, string>;
        continue;
      }
      const { dtype, shape, data_offsets } = entry as {
        dtype: string;
        shape: number[];
        data_offsets: number[];
      };
      if (!(dtype in dtypeBytes))
        throw fail("SAFETENSORS_INVALID", `${path}: tensor ${name} has dtype ${dtype}`);
      const [begin, end] = data_offsets;
      const count = shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * dtypeBytes[dtype as SafetensorsDtype] || dataStart + end > size) {
        throw fail(
          "SAFETENSORS_INVALID",
          `${path}: tensor ${name} offsets [${begin}, ${end}] do not match its shape`,
        );
      }
      tensors.push({
        name,
        dtype: dtype as SafetensorsDtype,
        shape,
        file,
        byteOffset: dataStart + begin,
        byteLength: end - begin,
      });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/**
 * All tensors of a model folder: model.safetensors, the shards of model.safetensors.index.json, or
 * the same two layouts of pytorch_model.bin (src/graph/weight-files.ts picks which).
 */
export class WeightStore {
  private readonly byName = new Map<string, TensorInfo>();

  private constructor(
    readonly folder: string,
    tensors: TensorInfo[],
  ) {
    for (const t of tensors) this.byName.set(t.name, t);
  }

  /**
   * The folder's weights: safetensors when there are any, else pytorch_model.bin (read by the
   * restricted pickle reader, tensors located in place just the same).
   */
  static open(folder: string): WeightStore {
    const weights = findWeightFiles(folder);
    if (!weights) throw fail("MODEL_WEIGHTS_MISSING", folder);
    const tensors = weights.files.flatMap((f) =>
      weights.format === "safetensors" ? readSafetensorsHeader(f).tensors : readTorchCheckpoint(f).tensors,
    );
    return new WeightStore(folder, tensors);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw fail("WEIGHT_MISSING", `${name} (in ${this.folder})`);
    return t;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The folder ORT resolves external data against (all shards must share it). */
  dataFolder(): string {
    const folders = new Set([...this.byName.values()].map((t) => dirname(t.file)));
    if (folders.size > 1) {
      throw fail("SAFETENSORS_INVALID", `weight shards of ${this.folder} resolve to several folders`);
    }
    return [...folders][0] ?? this.folder;
  }

  /** Reads a tensor into memory as float32 (F16/BF16 widened). For small tensors used in TS. */
  readFloat32(name: string): Float32Array {
    const t = this.info(name);
    const bytes = this.readBytes(t);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    switch (t.dtype) {
      case "F32":
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
        break;
      case "F16":
        for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
        break;
      case "BF16": {
        const u = new Uint32Array(1);
        const f = new Float32Array(u.buffer);
        for (let i = 0; i < n; i++) {
          u[0] = view.getUint16(i * 2, true) << 16;
          out[i] = f[0];
        }
        break;
      }
      case "F64":
        for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
        break;
      case "I64":
        for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
        break;
      case "I32":
        for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
        break;
      default:
        throw fail("SAFETENSORS_INVALID", `${name}: cannot read dtype ${t.dtype} as float32`);
    }
    return out;
  }

  readBytes(t: TensorInfo): Buffer {
    const fd = openSync(t.file, "r");
    try {
      const buf = Buffer.alloc(t.byteLength);
      let done = 0;
      while (done < t.byteLength) {
        const n = readSync(fd, buf, done, t.byteLength - done, t.byteOffset + done);
        if (n <= 0) throw fail("SAFETENSORS_INVALID", `${t.name}: unexpected end of ${basename(t.file)}`);
        done += n;
      }
      return buf;
    } finally {
      closeSync(fd);
    }
  }
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * Math.pow(2, -14) * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * Math.pow(2, exp - 15) * (1 + frac / 1024);
}
