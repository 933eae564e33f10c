// Writes PyTorch checkpoints the way torch.save does, for tests and benchmarks (no Python here):
//   - PickleWriter: a pickle assembler (protocol 2 opcodes, as torch.save emits them), also used to
//     craft hostile pickles;
//   - stateDictPickle(): the data.pkl of a state dict (_rebuild_tensor_v2 over persistent storages);
//   - writeTorchZip(): the zip layout (<archive>/data.pkl, data/<key>, version; entries stored,
//     data 64-byte aligned), streaming each storage so a 1 GB checkpoint never sits in memory;
//   - writeTorchLegacy(): the pre-1.6 layout (magic, protocol, sys info, object, keys, raw storages).
import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import * as zlib from "node:zlib";

export class PickleWriter {
  private readonly parts: Buffer[] = [];

  raw(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  proto(n = 2): this {
    return this.raw(0x80, n);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  mark(): this {
    return this.raw(0x28);
  }
  global(module: string, name: string): this {
    return this.raw(0x63).bytes(Buffer.from(`${module}\n${name}\n`, "utf8"));
  }
  str(s: string): this {
    const b = Buffer.from(s, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.raw(0x58).bytes(len).bytes(b);
  }
  int(n: number | bigint): this {
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < 256) return this.raw(0x4b, n);
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < 65536)
      return this.raw(0x4d, n & 0xff, n >> 8);
    if (typeof n === "number" && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return this.raw(0x4a).bytes(b);
    }
    // LONG1: little-endian two's complement, as few bytes as Python uses.
    let v = BigInt(n);
    const out: number[] = [];
    do {
      out.push(Number(v & 0xffn));
      v >>= 8n;
    } while (
      !(v === 0n && (out[out.length - 1]! & 0x80) === 0) &&
      !(v === -1n && (out[out.length - 1]! & 0x80) !== 0)
    );
    return this.raw(0x8a, out.length, ...out);
  }
  none(): this {
    return this.raw(0x4e);
  }
  bool(b: boolean): this {
    return this.raw(b ? 0x88 : 0x89);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  /** Pushes a tuple of ints. */
  ints(values: number[]): this {
    if (values.length === 0) return this.emptyTuple();
    if (values.length <= 3) {
      for (const v of values) this.int(v);
      return this.raw(0x84 + values.length);
    }
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  tuple(): this {
    return this.raw(0x74);
  }
  tuple1(): this {
    return this.raw(0x85);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  build(): this {
    return this.raw(0x62);
  }
  persid(): this {
    return this.raw(0x51);
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export type TorchDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const storageClass: Record<TorchDtype, string> = {
  F32: "FloatStorage",
  F16: "HalfStorage",
  BF16: "BFloat16Storage",
  F64: "DoubleStorage",
  I64: "LongStorage",
  I32: "IntStorage",
  I16: "ShortStorage",
  I8: "CharStorage",
  U8: "ByteStorage",
  BOOL: "BoolStorage",
};

export const elementBytes: Record<TorchDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor of a state dict: a view of storage `storage` (several tensors may share one). */
export interface PickledTensor {
  name: string;
  storage: string;
  dtype: TorchDtype;
  /** Elements of the storage. */
  storageNumel: number;
  shape: number[];
  /** Default: contiguous. */
  stride?: number[];
  /** In elements. */
  offset?: number;
}

export function contiguousStrides(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

/** The state dict pickle torch.save writes (protocol 2); `legacy` adds the 6th pid field (view: None). */
export function stateDictPickle(tensors: PickledTensor[], options: { legacy?: boolean } = {}): Buffer {
  const p = new PickleWriter().proto(2);
  p.global("collections", "OrderedDict").emptyTuple().reduce();
  p.mark();
  for (const t of tensors) {
    p.str(t.name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    // persistent id ("storage", torch.<X>Storage, key, "cpu", numel[, None])
    p.mark()
      .str("storage")
      .global("torch", storageClass[t.dtype])
      .str(t.storage)
      .str("cpu")
      .int(t.storageNumel);
    if (options.legacy) p.none();
    p.tuple().persid();
    p.int(t.offset ?? 0)
      .ints(t.shape)
      .ints(t.stride ?? contiguousStrides(t.shape))
      .bool(false);
    p.global("collections", "OrderedDict").emptyTuple().reduce();
    p.tuple().reduce();
  }
  p.setitems();
  // A state dict's _metadata attribute, set through BUILD as torch.save does it.
  p.emptyDict().str("_metadata").global("collections", "OrderedDict").emptyTuple().reduce().setitem().build();
  return p.stop().finish();
}

/** A storage's bytes: in memory, or written by `stream` in pieces (for big checkpoints). */
export interface StorageData {
  key: string;
  size: number;
  bytes?: Uint8Array;
  stream?: (write: (chunk: Uint8Array) => void) => void;
}

function crc32(crc: number, chunk: Uint8Array): number {
  return (zlib as unknown as { crc32(data: Uint8Array, value?: number): number }).crc32(chunk, crc);
}

/**
 * torch's zip layout: `<archive>/data.pkl`, `<archive>/data/<key>` per storage, `<archive>/version`.
 * Entries are stored; each local header's extra field pads the data to a 64-byte boundary as torch's
 * writer does. Written to `<path>.partial` and renamed. `zip64` writes the ZIP64 records torch
 * writes past 4 GB (local headers keep 32-bit sizes: entries stay below 4 GB here).
 */
export function writeTorchZip(
  path: string,
  pickle: Uint8Array,
  storages: StorageData[],
  options: { archive?: string; zip64?: boolean } = {},
): void {
  const archive = options.archive ?? "archive";
  const entries: {
    name: string;
    size: number;
    crc: number;
    offset: number;
    write: (w: (c: Uint8Array) => void) => void;
  }[] = [
    { name: `${archive}/data.pkl`, size: pickle.length, crc: 0, offset: 0, write: (w) => w(pickle) },
    ...storages.map((s) => ({
      name: `${archive}/data/${s.key}`,
      size: s.size,
      crc: 0,
      offset: 0,
      write: s.stream ?? ((w: (c: Uint8Array) => void) => w(s.bytes!)),
    })),
    { name: `${archive}/version`, size: 2, crc: 0, offset: 0, write: (w) => w(Buffer.from("3\n")) },
  ];
  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  let position = 0;
  const put = (b: Uint8Array) => {
    writeSync(fd, b, 0, b.length, position);
    position += b.length;
  };
  try {
    for (const e of entries) {
      e.offset = position;
      const name = Buffer.from(e.name, "utf8");
      // Extra field "FB" padding so the data starts on a 64-byte boundary.
      const unpadded = position + 30 + name.length + 4;
      const pad = (64 - (unpadded % 64)) % 64;
      const extra = Buffer.alloc(4 + pad);
      extra.writeUInt16LE(0x4246, 0);
      extra.writeUInt16LE(pad, 2);
      const header = Buffer.alloc(30);
      header.writeUInt32LE(0x04034b50, 0);
      header.writeUInt16LE(20, 4);
      header.writeUInt16LE(name.length, 26);
      header.writeUInt16LE(extra.length, 28);
      put(header);
      put(name);
      put(extra);
      let crc = 0;
      let written = 0;
      e.write((chunk) => {
        crc = crc32(crc, chunk);
        written += chunk.length;
        put(chunk);
      });
      if (written !== e.size) throw new Error(`${e.name}: wrote ${written} bytes, announced ${e.size}`);
      e.crc = crc >>> 0;
      // The crc is known only now: patch it and the sizes into the local header.
      const sums = Buffer.alloc(12);
      sums.writeUInt32LE(e.crc, 0);
      sums.writeUInt32LE(e.size, 4);
      sums.writeUInt32LE(e.size, 8);
      writeSync(fd, sums, 0, 12, e.offset + 14);
    }
    const cdOffset = position;
    // ZIP64 (what torch writes past 4 GB): sizes and offsets in the central directory say 0xffffffff
    // and the real values follow in a ZIP64 extra field; a ZIP64 end record precedes the classic one.
    const zip64 = options.zip64 === true;
    for (const e of entries) {
      const name = Buffer.from(e.name, "utf8");
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(zip64 ? 45 : 20, 4);
      c.writeUInt16LE(zip64 ? 45 : 20, 6);
      c.writeUInt32LE(e.crc, 16);
      c.writeUInt32LE(zip64 ? 0xffffffff : e.size, 20);
      c.writeUInt32LE(zip64 ? 0xffffffff : e.size, 24);
      c.writeUInt16LE(name.length, 28);
      c.writeUInt32LE(zip64 ? 0xffffffff : e.offset, 42);
      const extra = Buffer.alloc(zip64 ? 28 : 0);
      if (zip64) {
        extra.writeUInt16LE(0x0001, 0);
        extra.writeUInt16LE(24, 2);
        extra.writeBigUInt64LE(BigInt(e.size), 4);
        extra.writeBigUInt64LE(BigInt(e.size), 12);
        extra.writeBigUInt64LE(BigInt(e.offset), 20);
      }
      c.writeUInt16LE(extra.length, 30);
      put(c);
      put(name);
      put(extra);
    }
    const cdSize = position - cdOffset;
    if (position > 0xffffffff && !zip64) throw new Error("writeTorchZip: over 4 GB needs { zip64: true }");
    if (zip64) {
      const recordOffset = position;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(45, 12);
      record.writeUInt16LE(45, 14);
      record.writeBigUInt64LE(BigInt(entries.length), 24);
      record.writeBigUInt64LE(BigInt(entries.length), 32);
      record.writeBigUInt64LE(BigInt(cdSize), 40);
      record.writeBigUInt64LE(BigInt(cdOffset), 48);
      put(record);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(recordOffset), 8);
      locator.writeUInt32LE(1, 16);
      put(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
    end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
    end.writeUInt32LE(zip64 ? 0xffffffff : cdSize, 12);
    end.writeUInt32LE(zip64 ? 0xffffffff : cdOffset, 16);
    put(end);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
}

/** The pre-1.6 layout: five pickles, then each storage as an int64 element count and its bytes. */
export function writeTorchLegacy(
  path: string,
  pickle: Uint8Array,
  storages: (StorageData & { dtype: TorchDtype })[],
): void {
  const magic = new PickleWriter().proto(2).int(0x1950a86a20f9469cfc6cn).stop().finish();
  const protocol = new PickleWriter().proto(2).int(1001).stop().finish();
  const sysInfo = new PickleWriter()
    .proto(2)
    .emptyDict()
    .mark()
    .str("protocol_version")
    .int(1001)
    .str("little_endian")
    .bool(true)
    .str("type_sizes")
    .emptyDict()
    .mark()
    .str("short")
    .int(2)
    .str("int")
    .int(4)
    .str("long")
    .int(8)
    .setitems()
    .setitems()
    .stop()
    .finish();
  const keys = new PickleWriter().proto(2).emptyList().mark();
  for (const s of storages) keys.str(s.key);
  keys.raw(0x65).stop(); // APPENDS
  const fd = openSync(`${path}.partial`, "w");
  try {
    for (const part of [magic, protocol, sysInfo, pickle, keys.finish()]) writeSync(fd, part);
    for (const s of storages) {
      const count = Buffer.alloc(8);
      count.writeBigInt64LE(BigInt(s.size / elementBytes[s.dtype]));
      writeSync(fd, count);
      if (s.stream) s.stream((chunk) => writeSync(fd, chunk));
      else writeSync(fd, s.bytes!);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.partial`, path);
}

/** Float32 / int tensors given as numbers → their little-endian bytes. */
export function tensorBytes(dtype: TorchDtype, values: ArrayLike<number>): Buffer {
  const n = values.length;
  const b = Buffer.alloc(n * elementBytes[dtype]);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (dtype) {
      case "F32":
        b.writeFloatLE(v, i * 4);
        break;
      case "F64":
        b.writeDoubleLE(v, i * 8);
        break;
      case "I64":
        b.writeBigInt64LE(BigInt(v), i * 8);
        break;
      case "I32":
        b.writeInt32LE(v, i * 4);
        break;
      case "I16":
        b.writeInt16LE(v, i * 2);
        break;
      case "I8":
        b.writeInt8(v, i);
        break;
      case "U8":
      case "BOOL":
        b.writeUInt8(v, i);
        break;
      case "BF16": {
        const f = Buffer.alloc(4);
        f.writeFloatLE(v);
        b.writeUInt16LE(f.readUInt32LE(0) >>> 16, i * 2);
        break;
      }
      case "F16":
        throw new Error("tensorBytes: F16 not needed by the tests");
    }
  }
  return b;
}

export interface SimpleTensor {
  dtype: TorchDtype;
  shape: number[];
  data: ArrayLike<number>;
  /** Share the storage of this earlier tensor (tied weights) instead of writing `data`. */
  tiedTo?: string;
}

/** A whole checkpoint from plain tensors: each its own storage, or tied to an earlier one. */
export function writeTorchCheckpoint(
  path: string,
  tensors: Record<string, SimpleTensor>,
  options: { format?: "zip" | "legacy"; archive?: string; zip64?: boolean } = {},
): void {
  const pickled: PickledTensor[] = [];
  const storages: (StorageData & { dtype: TorchDtype })[] = [];
  const keyOf = new Map<string, PickledTensor>();
  for (const [name, t] of Object.entries(tensors)) {
    const tied = t.tiedTo ? keyOf.get(t.tiedTo) : undefined;
    if (t.tiedTo && !tied) throw new Error(`${name} tied to unknown ${t.tiedTo}`);
    const entry: PickledTensor = tied
      ? { ...tied, name, shape: t.shape }
      : {
          name,
          storage: String(storages.length),
          dtype: t.dtype,
          storageNumel: t.data.length,
          shape: t.shape,
        };
    if (!tied) {
      const bytes = tensorBytes(t.dtype, t.data);
      storages.push({ key: entry.storage, size: bytes.length, bytes, dtype: t.dtype });
    }
    keyOf.set(name, entry);
    pickled.push(entry);
  }
  const legacy = options.format === "legacy";
  const pickle = stateDictPickle(pickled, { legacy });
  if (legacy) writeTorchLegacy(path, pickle, storages);
  else writeTorchZip(path, pickle, storages, { archive: options.archive, zip64: options.zip64 });
}
