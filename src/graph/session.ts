// onnxruntime-node sessions created from in-memory ModelProtos whose weights live in the
// model folder's .safetensors files (external data, resolved against the folder).
import { availableParallelism } from "node:os";
import ort from "onnxruntime-node";
import { failWith } from "../errors.js";
import type { Graph } from "./graph.js";
import { quantizeGraphs, type QuantizeOptions } from "./quantize.js";
import type { WeightStore } from "./safetensors.js";

export type Tensor = ort.Tensor;
export const Tensor = ort.Tensor;

export interface SessionOptions {
  /** Intra-op threads; default: all cores (SIGHTLINE_THREADS overrides). */
  threads?: number;
  /** "cpu" (default) or "cuda" (needs onnxruntime-node's CUDA binaries; SIGHTLINE_EP overrides). */
  executionProvider?: string;
  /** Write the graph to this path too (debugging with netron/onnx tools). */
  dumpPath?: string;
  /** Quantize the graphs' linear layers (graph/quantize.ts); default: float32 as in the checkpoint. */
  quantize?: QuantizeOptions;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export function defaultThreads(): number {
  const env = Number(process.env.SIGHTLINE_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

export async function createSession(
  graph: Graph,
  store: WeightStore | undefined,
  opts: SessionOptions = {},
): Promise<Session> {
  const [session] = await createSessions([graph], store, opts);
  return session;
}

async function createOne(
  graph: Graph,
  store: WeightStore | undefined,
  opts: SessionOptions,
): Promise<Session> {
  // External data resolves against the folder that holds every file the graph's weights come from.
  const dataFolder = graph.dataFolder() ?? store?.dataFolder();
  const bytes = graph.toBytes(dataFolder);
  if (opts.dumpPath) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(opts.dumpPath, bytes);
  }
  const ep = opts.executionProvider ?? process.env.SIGHTLINE_EP ?? "cpu";
  const session: Record<string, string> = {
    // Several sessions share 2 cores: spinning threads of an idle session slow the busy one.
    "intra_op.allow_spinning": "0",
  };
  if (dataFolder) session.model_external_initializers_file_folder_path = dataFolder;
  try {
    const s = await ort.InferenceSession.create(bytes, {
      executionProviders: ep === "cpu" ? ["cpu"] : [ep, "cpu"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: opts.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      extra: { session },
    });
    return {
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      run: (feeds) => s.run(feeds) as Promise<Record<string, Tensor>>,
      release: () => s.release(),
    };
  } catch (e) {
    throw failWith(e, "INTERNAL", `could not create ONNX session for ${graph.name}: ${(e as Error).message}`);
  }
}

/** int64 tensor from plain numbers. */
export function int64Tensor(values: ArrayLike<number>, dims: number[]): Tensor {
  return new Tensor("int64", BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims);
}

export function float32Tensor(values: Float32Array, dims: number[]): Tensor {
  return new Tensor("float32", values, dims);
}

/**
 * Sessions for several graphs, created side by side. When any fails, those already created are released
 * before the error is rethrown: a half-loaded model leaves nothing behind.
 */
export async function createSessions(
  graphs: readonly Graph[],
  store: WeightStore | undefined,
  opts: SessionOptions = {},
): Promise<Session[]> {
  const quantized = opts.quantize ? quantizeGraphs(graphs, opts.quantize) : undefined;
  let settled: PromiseSettledResult<Session>[];
  try {
    settled = await Promise.allSettled(graphs.map((g) => createOne(g, store, opts)));
  } finally {
    quantized?.cleanup();
  }
  const sessions = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) {
    await Promise.allSettled(sessions.map((s) => s.release()));
    throw failure.reason;
  }
  return sessions;
}
