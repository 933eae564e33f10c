// Weight-only, block-wise quantization of the linear layers (`--quantize q8|q4`): every product that
// `linear()` or `logitsOutput()` recorded (graph.markLinear) becomes com.microsoft MatMulNBits over 8- or
// 4-bit weights with one float32 scale per block of `blockSize` inputs. The weights are quantized at load
// from the checkpoint itself (f32, f16 or bf16), written once into a safetensors file in the quantized
// cache, and read from there by ORT as external data, as the checkpoint is. Embeddings, convolutions,
// norms and biases stay float32 (docs/performance.md, "Quantized weights", says why).
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fail } from "../errors.js";
import { MS_DOMAIN, type Graph, type LinearSite } from "./graph.js";
import { stepNames } from "./step-graph.js";
import { halfToFloat, readSafetensorsHeader, type TensorInfo } from "./safetensors.js";

export const QUANTIZE_MODES = ["q8", "q4"] as const;
export type QuantizeMode = (typeof QUANTIZE_MODES)[number];

export interface QuantizeScheme {
  bits: 8 | 4;
  /** Inputs per scale: 32 or 128 (MatMulNBits takes any power of two ≥ 16). */
  blockSize: number;
}

/** The block size each mode uses (measured: docs/performance.md, "Quantized weights"). */
export const DEFAULT_BLOCK_SIZE: Record<QuantizeMode, number> = { q8: 32, q4: 32 };

/** See QuantizeOptions.encoders (measured: docs/performance.md, "Quantized weights"). */
export const DEFAULT_ENCODER_FORMAT: "int8" | "blocks" = "int8";

export interface QuantizeOptions {
  mode: QuantizeMode;
  /** Default DEFAULT_BLOCK_SIZE[mode]. */
  blockSize?: number;
  /**
   * How encoders (graphs without logits) are quantized: "int8" per output channel through
   * DynamicQuantizeMatMul (faster, activations quantized per tensor), or "blocks" as the decoders
   * (MatMulNBits). Default DEFAULT_ENCODER_FORMAT.
   */
  encoders?: "int8" | "blocks";
  /**
   * Where quantized weights are kept between loads (the models folder's `.quantized`); without one they
   * are written to a temporary folder and deleted once the sessions hold them.
   */
  cacheDir?: string;
  /** Called while weights are quantized (not when they come from the cache): bytes of checkpoint done. */
  onProgress?: (done: number, total: number) => void;
}

/** Where quantized weights are cached: beside the downloaded models, never in a model's own folder. */
export function quantizedCacheDir(modelsDir: string): string {
  return join(modelsDir, ".quantized");
}

/**
 * `q8` / `q4`, or undefined for `none` / `fp32` / "" (the default, float32). `what` names the setting in
 * the error.
 */
export function parseQuantizeMode(value: string, what = "--quantize"): QuantizeMode | undefined {
  const v = value.trim().toLowerCase();
  if (v === "" || v === "none" || v === "fp32") return undefined;
  if ((QUANTIZE_MODES as readonly string[]).includes(v)) return v as QuantizeMode;
  throw fail("INVALID_ARGUMENT", `${what} must be q8, q4 or none, not "${value}"`);
}

export function quantizeScheme(options: Pick<QuantizeOptions, "mode" | "blockSize">): QuantizeScheme {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE[options.mode];
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw fail("INVALID_ARGUMENT", `quantization block size must be a power of two ≥ 16, not ${blockSize}`);
  }
  return { bits: options.mode === "q8" ? 8 : 4, blockSize };
}

/** One weight matrix in MatMulNBits' layout: `data` [N, blocks, blockSize·bits/8], `scales` [N·blocks]. */
export interface QuantizedMatrix {
  data: Uint8Array;
  scales: Float32Array;
}

/** Blocks per row and bytes per block for K inputs. */
export function blockLayout(k: number, scheme: QuantizeScheme): { blocks: number; blockBytes: number } {
  return { blocks: Math.ceil(k / scheme.blockSize), blockBytes: (scheme.blockSize * scheme.bits) / 8 };
}

/**
 * Quantizes `w` [N, K] (row-major, one output per row) block-wise and symmetrically: in each block the
 * value of largest magnitude m maps to the lowest code, scale = m / −2^(bits−1), and MatMulNBits'
 * default zero point 2^(bits−1) stands for 0 (so the whole code range is used, as llama.cpp's Q8_0 /
 * Q4_0 do). A last block shorter than blockSize is padded with zero weights. 4-bit codes are packed two
 * per byte, the lower input in the low nibble.
 */
export function quantizeMatrix(
  w: Float32Array,
  n: number,
  k: number,
  scheme: QuantizeScheme,
): QuantizedMatrix {
  const { bits, blockSize } = scheme;
  const { blocks, blockBytes } = blockLayout(k, scheme);
  const zero = 1 << (bits - 1);
  const top = (1 << bits) - 1;
  const data = new Uint8Array(n * blocks * blockBytes);
  const scales = new Float32Array(n * blocks);
  const codes = new Uint8Array(blockSize);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * k + b * blockSize;
      const len = Math.min(blockSize, k - b * blockSize);
      let peak = 0;
      let peakAbs = 0;
      for (let i = 0; i < len; i++) {
        const v = w[start + i];
        const a = v < 0 ? -v : v;
        if (a > peakAbs) {
          peakAbs = a;
          peak = v;
        }
      }
      const scale = Math.fround(peak / -zero);
      scales[r * blocks + b] = scale;
      const inverse = scale === 0 ? 0 : 1 / scale;
      codes.fill(zero);
      for (let i = 0; i < len; i++) {
        const q = Math.round(w[start + i] * inverse) + zero;
        codes[i] = q < 0 ? 0 : q > top ? top : q;
      }
      const out = (r * blocks + b) * blockBytes;
      if (bits === 8) data.set(codes, out);
      else for (let i = 0; i < blockBytes; i++) data[out + i] = codes[2 * i] | (codes[2 * i + 1] << 4);
    }
  }
  return { data, scales };
}

/** The float32 weights a quantized matrix stands for, [N, K] (tests and accuracy checks). */
export function dequantizeMatrix(
  q: QuantizedMatrix,
  n: number,
  k: number,
  scheme: QuantizeScheme,
): Float32Array {
  const { bits, blockSize } = scheme;
  const { blocks, blockBytes } = blockLayout(k, scheme);
  const zero = 1 << (bits - 1);
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) {
      const b = Math.floor(i / blockSize);
      const j = i % blockSize;
      const byte = q.data[(r * blocks + b) * blockBytes + (bits === 8 ? j : j >> 1)];
      const code = bits === 8 ? byte : j & 1 ? byte >> 4 : byte & 15;
      out[r * k + i] = (code - zero) * q.scales[r * blocks + b];
    }
  }
  return out;
}

// ---- reading checkpoint tensors as float32 ----

let halfTable: Float32Array | undefined;

/** A checkpoint tensor as float32 (f32, f16, bf16), read from its file. */
export function readTensorFloat32(t: TensorInfo): Float32Array {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(t.byteLength);
  const fd = openSync(t.file, "r");
  try {
    let done = 0;
    while (done < t.byteLength) {
      const got = readSync(fd, bytes, done, t.byteLength - done, t.byteOffset + done);
      if (got <= 0) throw fail("SAFETENSORS_INVALID", `${t.name}: unexpected end of ${t.file}`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  switch (t.dtype) {
    case "F32":
      return new Float32Array(bytes.buffer, 0, count);
    case "F16": {
      if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
      }
      const half = new Uint16Array(bytes.buffer, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfTable[half[i]];
      return out;
    }
    case "BF16": {
      const half = new Uint16Array(bytes.buffer, 0, count);
      const wide = new Uint32Array(count);
      for (let i = 0; i < count; i++) wide[i] = half[i] << 16;
      return new Float32Array(wide.buffer);
    }
    default:
      throw fail("SAFETENSORS_INVALID", `${t.name}: cannot quantize dtype ${t.dtype}`);
  }
}

/** [K, N] → [N, K]. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

// ---- the quantized cache ----

/** One matrix to quantize: the checkpoint tensor and how the layer reads it. */
interface Job {
  key: string;
  source: TensorInfo;
  layout: LinearSite["layout"];
  /** MatMulNBits blocks (decoder steps) or int8 per output channel (encoders, see quantizeGraphs). */
  format: "blocks" | "channels";
  /** Outputs and inputs of the layer. */
  n: number;
  k: number;
}

/** Bump when the file layout or the quantization arithmetic changes: old cache files are then ignored. */
const CACHE_FORMAT = "sightline-quantized-2";

const jobKey = (source: TensorInfo, layout: LinearSite["layout"], format: Job["format"]) =>
  `${source.name}${layout === "in-out" ? ":transposed" : ""}${format === "channels" ? ":int8" : ""}`;

/**
 * Quantizes `w` [N, K] symmetrically with one scale per output (row), to 7 bits (±63) stored as int8:
 * DynamicQuantizeMatMul multiplies uint8 activations by int8 weights with 16-bit pair sums on x86
 * (vpmaddubsw), which saturate with full-range weights (255·127·2 > 32767; measured: 40 % output error).
 * ONNX Runtime's own quantizer reduces the range the same way (reduce_range). Returned as
 * DynamicQuantizeMatMul's B [K, N] with scales [N].
 */
export function quantizeChannels(
  w: Float32Array,
  n: number,
  k: number,
): { data: Int8Array; scales: Float32Array } {
  const data = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let peak = 0;
    for (let i = 0; i < k; i++) peak = Math.max(peak, Math.abs(w[r * k + i]));
    const scale = Math.fround(peak / 63);
    scales[r] = scale;
    const inverse = scale === 0 ? 0 : 1 / scale;
    for (let i = 0; i < k; i++)
      data[i * n + r] = Math.max(-63, Math.min(63, Math.round(w[r * k + i] * inverse)));
  }
  return { data, scales };
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * What identifies the checkpoint files: their real paths, sizes, modification times (ns), inodes and
 * devices. A file replaced or rewritten in place gets a new identity, and with it a new cache file.
 */
function sourceIdentity(files: string[]): { paths: string; identity: string } {
  const real = [...new Set(files)].sort();
  const stats = real.map((f) => {
    const s = statSync(f, { bigint: true });
    return [f, String(s.size), String(s.mtimeNs), String(s.ino), String(s.dev)];
  });
  return { paths: JSON.stringify(real), identity: JSON.stringify(stats) };
}

/** The quantized matrices of one cache file, by job key. */
type QuantizedTensors = Map<string, { data: TensorInfo; scales: TensorInfo }>;

function readCacheFile(path: string, jobs: Job[]): QuantizedTensors | undefined {
  let tensors: TensorInfo[];
  try {
    tensors = readSafetensorsHeader(path).tensors;
  } catch {
    return undefined; // unreadable (a crash mid-write cannot leave one: files are renamed into place)
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const out: QuantizedTensors = new Map();
  for (const job of jobs) {
    const data = byName.get(`${job.key}.data`);
    const scales = byName.get(`${job.key}.scales`);
    if (!data || !scales) return undefined;
    out.set(job.key, { data, scales });
  }
  return out;
}

/** Streams every job's quantized matrix into a safetensors file (written under a temporary name). */
function writeCacheFile(
  path: string,
  jobs: Job[],
  scheme: QuantizeScheme,
  metadata: Record<string, string>,
  onProgress?: (done: number, total: number) => void,
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const job of jobs) {
    const { blocks, blockBytes } = blockLayout(job.k, scheme);
    const channels = job.format === "channels";
    const dataBytes = channels ? job.k * job.n : job.n * blocks * blockBytes;
    header[`${job.key}.data`] = channels
      ? { dtype: "I8", shape: [job.k, job.n], data_offsets: [offset, offset + dataBytes] }
      : { dtype: "U8", shape: [job.n, blocks, blockBytes], data_offsets: [offset, offset + dataBytes] };
    offset += dataBytes;
    const scaleCount = channels ? job.n : job.n * blocks;
    header[`${job.key}.scales`] = {
      dtype: "F32",
      shape: [scaleCount],
      data_offsets: [offset, offset + 4 * scaleCount],
    };
    offset += 4 * scaleCount;
  }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const partial = `${path}.${process.pid}.partial`;
  const total = jobs.reduce((sum, j) => sum + j.source.byteLength, 0);
  let done = 0;
  const fd = openSync(partial, "w");
  try {
    writeSync(fd, length);
    writeSync(fd, json);
    for (const job of jobs) {
      let w = readTensorFloat32(job.source);
      if (job.layout === "in-out") w = transpose(w, job.k, job.n);
      const q =
        job.format === "channels"
          ? quantizeChannels(w, job.n, job.k)
          : quantizeMatrix(w, job.n, job.k, scheme);
      writeAll(fd, new Uint8Array(q.data.buffer, q.data.byteOffset, q.data.byteLength));
      writeAll(fd, new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength));
      done += job.source.byteLength;
      onProgress?.(done, total);
    }
    if (fstatSync(fd).size !== 8 + json.length + offset) throw new Error("short write");
  } catch (e) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(partial, path);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * The quantized matrices for `jobs`: from the cache when a file for the same checkpoint identity, scheme
 * and set of matrices is there, else quantized now and written there (files for an older identity of
 * the same checkpoint are removed). Without a cache folder: into a temporary one, `cleanup` removes it.
 */
function quantizedTensors(
  jobs: Job[],
  scheme: QuantizeScheme,
  options: QuantizeOptions,
): { tensors: QuantizedTensors; cleanup: () => void } {
  const { paths, identity } = sourceIdentity(jobs.map((j) => j.source.file));
  const set = JSON.stringify([CACHE_FORMAT, scheme, jobs.map((j) => [j.key, j.n, j.k, j.format])]);
  const prefix = `${sha(paths).slice(0, 16)}-`;
  const name = `${prefix}${sha(identity).slice(0, 16)}-${sha(set).slice(0, 16)}.q${scheme.bits}b${scheme.blockSize}.safetensors`;
  const metadata = { format: CACHE_FORMAT, sources: identity, matrices: String(jobs.length) };
  if (!options.cacheDir) {
    const dir = mkdtempSync(join(tmpdir(), "sightline-quantized-"));
    try {
      writeCacheFile(join(dir, name), jobs, scheme, metadata, options.onProgress);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const tensors = readCacheFile(join(dir, name), jobs)!;
    return { tensors, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  mkdirSync(options.cacheDir, { recursive: true });
  const dir = realpathSync(options.cacheDir);
  const path = join(dir, name);
  const cached = existsSync(path) ? readCacheFile(path, jobs) : undefined;
  if (cached) return { tensors: cached, cleanup: () => {} };
  writeCacheFile(path, jobs, scheme, metadata, options.onProgress);
  const current = `${prefix}${sha(identity).slice(0, 16)}-`;
  for (const f of readdirSync(dir)) {
    if (f.startsWith(prefix) && !f.startsWith(current) && f.endsWith(".safetensors")) {
      rmSync(join(dir, f), { force: true });
    }
  }
  return { tensors: readCacheFile(path, jobs)!, cleanup: () => {} };
}

// ---- the graph rewrite ----

/**
 * Replaces the recorded linear products of `graphs` by MatMulNBits over quantized weights (one cache file
 * for all of them) and drops the float32 weights nothing reads any more. Call `cleanup()` once the
 * sessions are created.
 */
export function quantizeGraphs(graphs: readonly Graph[], options: QuantizeOptions): { cleanup: () => void } {
  const scheme = quantizeScheme(options);
  const jobs = new Map<string, Job>();
  const sites: { graph: Graph; site: LinearSite; key: string }[] = [];
  for (const graph of graphs) {
    // Decoder steps (graphs with logits) read each weight once per token: MatMulNBits at the mode's bits,
    // fastest there. Encoders multiply many tokens at once, where MatMulNBits is no faster than float32
    // but DynamicQuantizeMatMul's int8 GEMM is ≈ 2× faster: int8 per output channel (docs/performance.md).
    const encoders = options.encoders ?? DEFAULT_ENCODER_FORMAT;
    const format: Job["format"] =
      graph.hasOutput(stepNames.logits) || encoders === "blocks" ? "blocks" : "channels";
    for (const site of graph.linearSites()) {
      const source = graph.weightSource(site.weight);
      if (!source || source.shape.length !== 2 || !["F32", "F16", "BF16"].includes(source.dtype)) continue;
      const [rows, cols] = source.shape;
      const [n, k] = site.layout === "out-in" ? [rows, cols] : [cols, rows];
      const key = jobKey(source, site.layout, format);
      jobs.set(key, { key, source, layout: site.layout, format, n, k });
      sites.push({ graph, site, key });
    }
  }
  if (jobs.size === 0) return { cleanup: () => {} };
  const ordered = [...jobs.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const { tensors, cleanup } = quantizedTensors(ordered, scheme, options);
  for (const graph of new Set(sites.map((s) => s.graph))) {
    const bound = new Map<string, { data: string; scales: string }>();
    for (const { site, key } of sites.filter((s) => s.graph === graph)) {
      let names = bound.get(key);
      if (!names) {
        const q = tensors.get(key)!;
        names = {
          data: graph.externalInitializer(q.data.name, q.data, key.endsWith(":int8") ? "int8" : "uint8"),
          scales: graph.externalInitializer(q.scales.name, q.scales, "float32"),
        };
        bound.set(key, names);
      }
      const { n, k, format } = jobs.get(key)!;
      if (format === "channels") {
        // Activations are quantized per call (dynamic); weights int8 [K, N] with scales [N].
        const inputs = [site.input, names.data, names.scales];
        graph.replaceOp(site.output, "DynamicQuantizeMatMul", inputs, {}, { domain: MS_DOMAIN });
      } else {
        graph.replaceOp(
          site.output,
          "MatMulNBits",
          [site.input, names.data, names.scales],
          // accuracy_level 4: activations quantized to int8 per block, int8 dot products (the fast kernels;
          // with float32 activations 8-bit weights run far slower than float32 weights).
          { K: k, N: n, bits: scheme.bits, block_size: scheme.blockSize, accuracy_level: 4 },
          { domain: MS_DOMAIN },
        );
      }
      // MatMulNBits' own bias must be [N]; a head's bias may be [1, N] (BART's final_logits_bias).
      if (site.bias) graph.addAfter(site.output, site.bias);
    }
    graph.pruneUnusedWeights();
  }
  return { cleanup };
}
