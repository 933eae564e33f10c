// The machine's limits as ONNX Runtime reaches them, measured in the bench's own process at the thread
// count being benchmarked: large fp32 GEMMs with a constant weight (peak GFLOP/s, what an encoder's
// matrix products can reach) and a batch-1 product with a 1 GiB weight (GB/s of weights streamed
// from memory, what a decode step can reach). Both use the op the models' linear layers use
// (graph/nn.ts matmulTransB: the weight [out, in] as in the checkpoint), so the ratio of a stage's
// rate to these is how near it runs to what the engine can do on this machine.
import { loadavg } from "node:os";
import { join } from "node:path";
import { Graph } from "../../src/graph/graph.js";
import { matmulTransB } from "../../src/graph/nn.js";
import { WeightStore } from "../../src/graph/safetensors.js";
import { createSession, float32Tensor, type Session } from "../../src/graph/session.js";
import { cachedModelFolder, median, writeRandomSafetensors } from "./random-safetensors.js";
import { cpuMs } from "./result.js";

/**
 * The GEMMs, [M, K] · [N, K]ᵀ, whose best rate is the peak: a ViT-L MLP layer over 2048 and over 577
 * tokens, a ViT-B one over 197 (one large shape alone reads well below what encoders reach: its 32 MB
 * output does not stay in cache).
 */
export const GEMMS = [
  { m: 2048, k: 1024, n: 4096 },
  { m: 577, k: 1024, n: 4096 },
  { m: 197, k: 768, n: 3072 },
];
/** The streamed weight: [N, K] fp32, 1 GiB (far beyond any cache). */
export const STREAM = { k: 4096, n: 65536 };

export interface Roofline {
  /** ORT intra-op threads the limits were measured at. */
  threads: number;
  /** fp32 GEMM rate, GFLOP/s of wall time (median of the runs, the best of the GEMMS shapes). */
  gemmGflops: number;
  /** Weight streaming rate of a batch-1 product, GB/s (1e9 bytes) of wall time (median). */
  streamGBs: number;
  /** The same per second of process CPU time (all threads): what other load on the machine disturbs least. */
  cpu: { gemmGflops: number; streamGBs: number };
  /** Load average (1, 5, 15 minutes) when the limits were measured. */
  loadAverage: number[];
}

interface Rate {
  wall: number;
  cpu: number;
}

/** Runs `session` `runs` times after a warm-up; the medians of wall and CPU milliseconds. */
async function timeRuns(session: Session, feeds: Parameters<Session["run"]>[0], runs: number): Promise<Rate> {
  await session.run(feeds);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = cpuMs();
    const t = performance.now();
    await session.run(feeds);
    wall.push(performance.now() - t);
    cpu.push(cpuMs() - c);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

type GemmSize = { m: number; k: number; n: number };

/** The problem sizes (tests pass small ones; the bench uses GEMMS and STREAM). */
export interface RooflineSizes {
  /** The peak is the best rate of these. */
  gemm: GemmSize[];
  stream: { k: number; n: number };
}

/** Peak fp32 GEMM through ORT: GFLOP per second of wall and of CPU time. */
export async function measureGemm(threads: number, runs: number, size: GemmSize): Promise<Rate> {
  const { m, k, n } = size;
  const g = new Graph("roofline-gemm");
  const a = g.input("a", "float32", [m, k]);
  // A constant weight, prepacked by ORT like every model weight; the values do not change the speed.
  const w = new Float32Array(n * k);
  for (let i = 0; i < w.length; i++) w[i] = ((i % 251) - 125) * 1e-4;
  g.output(matmulTransB(g, a, g.constFloat(w, [n, k])), "y");
  const session = await createSession(g, undefined, { threads });
  try {
    const ms = await timeRuns(
      session,
      { a: float32Tensor(new Float32Array(m * k).fill(0.01), [m, k]) },
      runs,
    );
    const gflop = (2 * m * k * n) / 1e9;
    return { wall: gflop / (ms.wall / 1000), cpu: gflop / (ms.cpu / 1000) };
  } finally {
    await session.release();
  }
}

/** The streamed weight file (1 GiB for STREAM), written once into the temp folder. */
export function streamFolder(size = STREAM): string {
  const name =
    size === STREAM ? "sightline-bench-roofline-v1" : `sightline-bench-roofline-${size.n}x${size.k}`;
  return cachedModelFolder(name, (folder) =>
    writeRandomSafetensors(join(folder, "model.safetensors"), [
      { name: "w", shape: [size.n, size.k], init: { constant: 0.01 } },
    ]),
  );
}

/** Weight streaming: one row times a 1 GiB weight; GB per second of wall and of CPU time. */
export async function measureStream(threads: number, runs = 7, size = STREAM): Promise<Rate> {
  const { k, n } = size;
  const folder = streamFolder(size);
  const store = WeightStore.open(folder);
  const g = new Graph("roofline-stream");
  const x = g.input("x", "float32", [1, k]);
  g.output(matmulTransB(g, x, g.weight(store.info("w"))), "y");
  const session = await createSession(g, store, { threads });
  try {
    const ms = await timeRuns(session, { x: float32Tensor(new Float32Array(k).fill(0.01), [1, k]) }, runs);
    const gb = (n * k * 4) / 1e9;
    return { wall: gb / (ms.wall / 1000), cpu: gb / (ms.cpu / 1000) };
  } finally {
    await session.release();
  }
}

/** Both limits, at `threads` ORT threads. */
export async function measureRoofline(
  threads: number,
  sizes: RooflineSizes = { gemm: GEMMS, stream: STREAM },
): Promise<Roofline> {
  const loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
  let gemm: Rate = { wall: 0, cpu: 0 };
  for (const size of sizes.gemm) {
    const rate = await measureGemm(threads, 7, size);
    if (rate.wall > gemm.wall) gemm = rate;
  }
  const stream = await measureStream(threads, 7, sizes.stream);
  return {
    threads,
    gemmGflops: gemm.wall,
    streamGBs: stream.wall,
    cpu: { gemmGflops: gemm.cpu, streamGBs: stream.cpu },
    loadAverage,
  };
}
