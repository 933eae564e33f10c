// How fast ONNX Runtime runs the linear layers of a decode step on this machine, by weight format and by
// rows per step: a stack of MLP layers at Kosmos-2's sizes (2048 → 8192 → 2048, 1 GiB of float32, far
// beyond any cache) run as float32 (the models' FusedMatMul) and with the q8/q4 weights `--quantize`
// makes (MatMulNBits, the production quantizer), with 1, 2, 4 and 8 rows (a batched step reads each
// weight once for all its rows). The variants take turns (ABBA), so load falls on all of them alike.
// These rates bound what quantizing and batching can gain: docs/performance.md, "What bounds q8 and
// batching here".
//
//   sightline bench kernels [--threads N] [--runs N] [--json]
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Graph } from "../src/graph/graph.js";
import { linear } from "../src/graph/nn.js";
import { QUANTIZE_MODES, quantizeScheme, type QuantizeMode } from "../src/graph/quantize.js";
import { WeightStore } from "../src/graph/safetensors.js";
import { createSession, defaultThreads, float32Tensor, type Session } from "../src/graph/session.js";
import { VarBuilder } from "../src/graph/var-builder.js";
import { alternate } from "./lib/alternate.js";
import { cachedModelFolder, median, TensorList, writeRandomSafetensors } from "./lib/random-safetensors.js";

export type WeightFormat = "fp32" | QuantizeMode;

/** The layer stack: `layers` × (up [ffn, dim], down [dim, ffn]). */
export interface KernelStack {
  layers: number;
  dim: number;
  ffn: number;
}

/** Kosmos-2's MLP sizes, 8 layers: 1.07 GB of float32 weights. */
export const KOSMOS_MLP: KernelStack = { layers: 8, dim: 2048, ffn: 8192 };

export interface KernelRate {
  format: WeightFormat;
  rows: number;
  /** Median wall ms of one pass over the whole stack. */
  ms: number;
  /** Bytes the format stores for the stack's weights (codes and scales), GB. */
  weightGB: number;
  /** weightGB / ms: how fast the weights are read. */
  GBs: number;
  /** This format at 1 row took ms₁: the step does `rows` rows in ms, i.e. rows · ms₁ / ms rows' work per 1-row time. */
  batchGain: number;
  /** fp32 at the same rows / this format: what the format gains over float32. */
  vsFp32: number;
}

export interface KernelOptions {
  threads?: number;
  rounds?: number;
  rows?: number[];
  formats?: WeightFormat[];
  stack?: KernelStack;
  /** Where the random checkpoint and its quantized weights are kept (default: the temp folder, reused). */
  folder?: string;
  log?: (line: string) => void;
}

const CHECKPOINT = "sightline-bench-kernels-v1";

function stackFolder(stack: KernelStack, folder?: string): string {
  const write = (dir: string) => {
    const t = new TensorList();
    for (let l = 0; l < stack.layers; l++) {
      t.linear(`layers.${l}.up`, stack.ffn, stack.dim, { bias: false });
      t.linear(`layers.${l}.down`, stack.dim, stack.ffn, { bias: false });
    }
    writeRandomSafetensors(join(dir, "model.safetensors"), t.tensors);
  };
  if (folder) {
    write(folder);
    return folder;
  }
  const { layers, dim, ffn } = stack;
  return cachedModelFolder(`${CHECKPOINT}-${layers}x${dim}x${ffn}`, write);
}

/** x [rows, dim] through every layer's up and down products. */
function stackGraph(store: WeightStore, stack: KernelStack): Graph {
  const g = new Graph("kernel-stack");
  let x = g.input("x", "float32", ["rows", stack.dim]);
  const vb = new VarBuilder(g, store).pp("layers");
  for (let l = 0; l < stack.layers; l++) x = linear(g, linear(g, x, vb.pp(l).pp("up")), vb.pp(l).pp("down"));
  g.output(x, "y");
  return g;
}

function weightBytes(format: WeightFormat, stack: KernelStack): number {
  const params = 2 * stack.layers * stack.dim * stack.ffn;
  if (format === "fp32") return params * 4;
  // Per block: its codes (8 or 4 bits each) and one float32 scale.
  const { bits, blockSize } = quantizeScheme({ mode: format });
  return (params / blockSize) * ((blockSize * bits) / 8 + 4);
}

export async function measureKernels(options: KernelOptions = {}): Promise<KernelRate[]> {
  const threads = options.threads ?? defaultThreads();
  const rounds = options.rounds ?? 7;
  const rowCounts = options.rows ?? [1, 2, 4, 8];
  const formats = options.formats ?? ["fp32", ...QUANTIZE_MODES];
  const stack = options.stack ?? KOSMOS_MLP;
  const log = options.log ?? (() => {});
  const folder = stackFolder(stack, options.folder);
  const store = WeightStore.open(folder);
  const cacheDir = join(options.folder ?? tmpdir(), "sightline-bench-quantized");
  const sessions = new Map<WeightFormat, Session>();
  try {
    for (const format of formats) {
      const quantize =
        format === "fp32" ? undefined : { mode: format, encoders: "blocks" as const, cacheDir };
      sessions.set(format, await createSession(stackGraph(store, stack), store, { threads, quantize }));
    }
    const variants = formats.flatMap((format) => rowCounts.map((rows) => ({ format, rows })));
    const feeds = (rows: number) => ({
      x: float32Tensor(new Float32Array(rows * stack.dim).fill(0.01), [rows, stack.dim]),
    });
    log(
      `${variants.length} variants × ${rounds} rounds, ${threads} thread(s), load average ${loadavg()[0].toFixed(2)}`,
    );
    const times = await alternate(
      variants.map(({ format, rows }) => {
        const session = sessions.get(format)!;
        const x = feeds(rows);
        return () => session.run(x);
      }),
      rounds,
    );
    const ms = times.map(median);
    const msOf = (format: WeightFormat, rows: number) =>
      ms[variants.findIndex((v) => v.format === format && v.rows === rows)];
    return variants.map(({ format, rows }, i) => {
      const weightGB = weightBytes(format, stack) / 1e9;
      const one = msOf(format, rowCounts[0]);
      const fp32 = formats.includes("fp32") ? msOf("fp32", rows) : NaN;
      return {
        format,
        rows,
        ms: ms[i],
        weightGB,
        GBs: weightGB / (ms[i] / 1000),
        batchGain: ((rows / rowCounts[0]) * one) / ms[i],
        vsFp32: fp32 / ms[i],
      };
    });
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.release()));
  }
}

export function kernelTable(rates: KernelRate[]): string[] {
  const lines = ["format  rows  ms per pass  weights GB/s  rows' work per 1-row time  vs fp32"];
  for (const r of rates)
    lines.push(
      `${r.format.padEnd(6)}  ${String(r.rows).padStart(4)}  ${r.ms.toFixed(1).padStart(11)}  ` +
        `${r.GBs.toFixed(1).padStart(12)}  ${r.batchGain.toFixed(2).padStart(25)}×  ${r.vsFp32.toFixed(2)}×`,
    );
  return lines;
}
