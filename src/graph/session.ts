// onnxruntime-node sessions created from in-memory ModelProtos whose weights live in the
// model folder's .safetensors files (external data, resolved against the folder).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join } from "node:path";
import ort from "onnxruntime-node";
import { failWith } from "../errors.js";
import type { Graph } from "./graph.js";
import { quantizeGraphs, type QuantizeOptions } from "./quantize.js";
import type { WeightStore } from "./safetensors.js";

export type Tensor = ort.Tensor;
export const Tensor = ort.Tensor;

export interface SessionOptions {
  /** Intra-op threads; default: one per physical core (defaultThreads(); SIGHTLINE_THREADS overrides). */
  threads?: number;
  /** "cpu" (default) or "cuda" (needs onnxruntime-node's CUDA binaries; SIGHTLINE_EP overrides). */
  executionProvider?: string;
  /** Write the graph to this path too (debugging with netron/onnx tools). */
  dumpPath?: string;
  /**
   * Record ORT's per-node profile (node, op, shapes, microseconds) into `<prefix>_<date>.json`; the file is
   * complete after `endProfiling()` (bench --profile reads it).
   */
  profilePrefix?: string;
  /** Write the graph as ORT optimised it (after its fusions) to this path. */
  optimizedModelPath?: string;
  /** Quantize the graphs' linear layers (graph/quantize.ts); default: float32 as in the checkpoint. */
  quantize?: QuantizeOptions;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  /** Ends ORT profiling (sessions created with `profilePrefix`) and returns the profile's path. */
  endProfiling(): string | undefined;
  release(): Promise<void>;
}

/**
 * Watches every session created while it is set (the bench's per-stage cost and timing): the graph a
 * session was built from, and each run's feeds with its wall time. Unset, sessions run untouched.
 */
export interface SessionTracer {
  created?(graph: Graph, store: WeightStore | undefined): void;
  /** `cpuMs` is the process's CPU time over the run (all threads; other work in the process counts too). */
  ran?(graph: Graph, feeds: Readonly<Record<string, Tensor>>, time: { wallMs: number; cpuMs: number }): void;
}

let tracer: SessionTracer | undefined;

/** Sets (or with undefined clears) the tracer for sessions created from now on. */
export function traceSessions(t: SessionTracer | undefined): void {
  tracer = t;
}

/**
 * The default intra-op thread count: one per physical core the process may use (SIGHTLINE_THREADS
 * overrides). A second thread on a core's SMT sibling shares that core's vector units, so it adds little
 * to a matrix product and makes every step wait for the slower of the two; one thread per core is what
 * ORT itself picks. Measured with bench/threads.ts on a 2-core VM without SMT: 2 threads were faster
 * than 1 for the encoder and decode step of ViT-GPT2, BLIP and Florence-2 (docs/performance.md).
 */
export function defaultThreads(): number {
  const env = Number(process.env.SIGHTLINE_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  const cpus = availableParallelism();
  return Math.max(1, Math.min(cpus, physicalCores() ?? cpus));
}

let cachedPhysicalCores: number | null | undefined;

/**
 * Physical cores (distinct package and core ids) in Linux's CPU topology under `root`; undefined where it
 * cannot be read (other systems, restricted containers). Read once per process for the default root.
 */
export function physicalCores(root = "/sys/devices/system/cpu"): number | undefined {
  const isDefault = root === "/sys/devices/system/cpu";
  if (isDefault && cachedPhysicalCores !== undefined) return cachedPhysicalCores ?? undefined;
  let count: number | undefined;
  try {
    const cores = new Set<string>();
    for (const entry of readdirSync(root)) {
      if (!/^cpu\d+$/.test(entry)) continue;
      const topology = join(root, entry, "topology");
      const read = (f: string) => readFileSync(join(topology, f), "utf8").trim();
      try {
        cores.add(`${read("physical_package_id")}:${read("core_id")}`);
      } catch {
        // An offline CPU has no topology folder.
      }
    }
    count = cores.size || undefined;
  } catch {
    count = undefined;
  }
  if (isDefault) cachedPhysicalCores = count ?? null;
  return count;
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
      ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
      ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
    });
    const watch = tracer;
    watch?.created?.(graph, store);
    return {
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      run: watch?.ran
        ? async (feeds) => {
            const start = performance.now();
            const cpu = process.cpuUsage();
            const out = (await s.run(feeds)) as Record<string, Tensor>;
            const used = process.cpuUsage(cpu);
            watch.ran!(graph, feeds, {
              wallMs: performance.now() - start,
              cpuMs: (used.user + used.system) / 1000,
            });
            return out;
          }
        : (feeds) => s.run(feeds) as Promise<Record<string, Tensor>>,
      endProfiling: () => {
        if (!opts.profilePrefix) return undefined;
        s.endProfiling();
        return newestProfile(opts.profilePrefix);
      },
      release: () => s.release(),
    };
  } catch (e) {
    throw failWith(e, "INTERNAL", `could not create ONNX session for ${graph.name}: ${(e as Error).message}`);
  }
}

/** ORT names the profile `<prefix>_<timestamp>.json` and does not hand the name back: the newest one. */
function newestProfile(prefix: string): string | undefined {
  const dir = dirname(prefix);
  const stem = basename(prefix) + "_";
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(stem) && f.endsWith(".json"))
    .map((f) => join(dir, f));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
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
