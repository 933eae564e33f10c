// Writes full-size random-weight checkpoints for benchmarks: a float32 .safetensors file streamed
// tensor by tensor (a 1 GB model never sits in memory), plus helpers to lay out a model folder in
// the OS temp dir once and reuse it across runs.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How a tensor is filled: N(0, std²) (approximately: a sum of uniforms), or a constant. */
export type Init = { normal: number } | { constant: number };

export interface TensorPlan {
  name: string;
  shape: number[];
  init: Init;
}

/** Layout helpers in HF naming: weight/bias pairs with the usual inits. */
export class TensorList {
  readonly tensors: TensorPlan[] = [];

  add(name: string, shape: number[], init: Init = { normal: 0.02 }): this {
    this.tensors.push({ name, shape, init });
    return this;
  }

  /** nn.Linear ([out, in]) or, with `conv1d`, GPT-2's Conv1D ([in, out]); plus the bias. */
  linear(prefix: string, out: number, inp: number, opts: { bias?: boolean; conv1d?: boolean } = {}): this {
    this.add(`${prefix}.weight`, opts.conv1d ? [inp, out] : [out, inp]);
    if (opts.bias ?? true) this.add(`${prefix}.bias`, [out], { constant: 0 });
    return this;
  }

  layerNorm(prefix: string, dim: number): this {
    return this.add(`${prefix}.weight`, [dim], { constant: 1 }).add(`${prefix}.bias`, [dim], { constant: 0 });
  }

  /** Total parameter count. */
  get parameters(): number {
    return this.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  }
}

/** xorshift32: fast, deterministic, good enough for random weights. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Streams the tensors into `path` (float32, `__metadata__: {format: "pt"}`), written via a temp name. */
export function writeRandomSafetensors(path: string, tensors: TensorPlan[], seed = 1234): void {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 4;
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));

  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    const next = rng(seed);
    const chunk = new Float32Array(1 << 20);
    for (const t of tensors) {
      let left = t.shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        if ("constant" in t.init) {
          chunk.fill(t.init.constant, 0, n);
        } else {
          // Sum of 4 uniforms: mean 2, variance 1/3 → scale to std.
          const scale = t.init.normal * Math.sqrt(3);
          for (let i = 0; i < n; i++) chunk[i] = (next() + next() + next() + next() - 2) * scale;
        }
        writeSync(fd, new Uint8Array(chunk.buffer, 0, n * 4));
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
}

/**
 * A model folder under the OS temp dir named `name`, built by `build(folder)` unless a previous run
 * completed it (a `.complete` marker); bump `name` when the layout changes.
 */
export function cachedModelFolder(name: string, build: (folder: string) => void): string {
  const folder = join(tmpdir(), name);
  const marker = join(folder, ".complete");
  if (existsSync(marker)) return folder;
  mkdirSync(folder, { recursive: true });
  build(folder);
  writeFileSync(marker, new Date().toISOString());
  return folder;
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
