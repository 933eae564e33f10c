// How near each stage of a benchmark runs to the machine's limit. While an architecture's benchmark
// runs, every ORT session it creates is traced (graph/session.ts traceSessions): the graph and each
// run's input shapes and wall time. Afterwards each stage's work is counted from its graph
// (graph/cost.ts) and divided by its median run time: the vision encoder as GFLOP/s against the GEMM
// peak, a batch-1 one-token decode step as GB/s of weights against the streaming rate — both limits
// measured in the same process, at the same thread count (roofline.ts).
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import type { StageFigures } from "../../src/cli/commands/bench.js";
import type { Graph } from "../../src/graph/graph.js";
import { graphCost, type InputSpec } from "../../src/graph/cost.js";
import type { WeightStore } from "../../src/graph/safetensors.js";
import { defaultThreads, traceSessions, type Tensor } from "../../src/graph/session.js";
import { median } from "./random-safetensors.js";
import type { BenchOptions, BenchResult } from "./result.js";
import { opSummary, profileStage, type OpTime } from "./profile.js";
import { measureRoofline, type Roofline } from "./roofline.js";

type Arch = BenchResult["arch"];

/** Which traced graph is each architecture's vision encoder and which its decoder step. */
export const STAGE_GRAPHS: Record<Arch, { encoder: RegExp; decode: RegExp }> = {
  "vit-gpt2": { encoder: /^vit-encoder$/, decode: /^gpt2-decoder-step$/ },
  blip: { encoder: /^blip-vision$/, decode: /^blip-text-step$/ },
  "kosmos-2": { encoder: /^kosmos2_vision$/, decode: /^kosmos2_text_step$/ },
  "florence-2": { encoder: /^florence2_vision_/, decode: /^florence2_decoder_step$/ },
};

/** What `sightline bench --json` adds to each architecture's row. */
export interface EfficiencyFields {
  roofline: { gemmGflops: number; streamGBs: number };
  /** Encoder GFLOP/s over the GEMM peak (0–1). */
  encoderEfficiency: number;
  /** Decode step GB/s over the streaming rate (0–1). */
  decodeEfficiency: number;
  stages: { encoder: StageFigures; decode: StageFigures };
  /** The same ratios per second of process CPU time (stage and limits alike): less disturbed by other load. */
  cpuEfficiency?: { encoder: number; decode: number };
  threads: number;
  /** Load average (1, 5, 15 min) before and after the run: the machine may be shared. */
  loadAverage: { before: number[]; after: number[] };
}

interface TracedRun {
  feeds: Record<string, InputSpec>;
  ms: number;
  cpuMs: number;
}

/** Shapes of the feeds, with the values of small integer tensors (graph/cost.ts follows shape arithmetic). */
function specOf(feeds: Readonly<Record<string, Tensor>>): Record<string, InputSpec> {
  const out: Record<string, InputSpec> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const dims = [...t.dims];
    if ((t.type === "int64" || t.type === "int32") && t.size <= 64) {
      out[name] = { dims, values: Array.from(t.data as ArrayLike<number | bigint>, Number) };
    } else out[name] = dims;
  }
  return out;
}

let untimedDepth = 0;

/**
 * Runs `f` with its ORT runs left out of every stage's figures: the throughput measurement runs many
 * captions at once, whose encoder runs share the cores and would count as slow single runs.
 */
export async function untimed<T>(f: () => Promise<T>): Promise<T> {
  untimedDepth++;
  try {
    return await f();
  } finally {
    untimedDepth--;
  }
}

/** Records the graphs and runs of every session created between start() and stop(). */
export class StageRecorder {
  readonly graphs = new Map<
    string,
    {
      graph: Graph;
      store: WeightStore | undefined;
      runs: TracedRun[];
      /** The feeds of the last run that `keepFeeds` selected (bench/threads.ts replays them). */
      kept?: Record<string, Tensor>;
    }
  >();

  /** `keepFeeds(graph, feeds)`: whether to hold on to these feeds (they stay referenced until dropped). */
  constructor(
    private readonly keepFeeds?: (graph: string, feeds: Readonly<Record<string, Tensor>>) => boolean,
  ) {}

  start(): void {
    traceSessions({
      created: (graph, store) => {
        if (!this.graphs.has(graph.name)) this.graphs.set(graph.name, { graph, store, runs: [] });
      },
      ran: (graph, feeds, time) => {
        const entry = this.graphs.get(graph.name);
        if (!entry || untimedDepth > 0) return;
        entry.runs.push({ feeds: specOf(feeds), ms: time.wallMs, cpuMs: time.cpuMs });
        if (this.keepFeeds?.(graph.name, feeds)) entry.kept = { ...feeds };
      },
    });
  }

  stop(): void {
    traceSessions(undefined);
  }

  /** The stage whose graph name matches, over the runs `keep` selects (first run of a session excluded when others exist). */
  stage(pattern: RegExp, keep: (run: TracedRun) => boolean = () => true): StageFigures {
    const entry = [...this.graphs.values()].find((e) => pattern.test(e.graph.name));
    if (!entry) throw new Error(`no session for a graph matching ${pattern}`);
    const runs = entry.runs.filter(keep);
    if (runs.length === 0) throw new Error(`${entry.graph.name}: no runs to measure`);
    const cost = graphCost(entry.graph, runs[0].feeds);
    // The first run of a session pays one-time allocations: leave it out when there are others.
    const timed = runs.length > 1 && runs[0] === entry.runs[0] ? runs.slice(1) : runs;
    const ms = median(timed.map((r) => r.ms));
    return {
      graph: entry.graph.name,
      runs: timed.length,
      ms,
      cpuMs: median(timed.map((r) => r.cpuMs)),
      gflop: cost.flops / 1e9,
      weightGB: cost.weightBytes / 1e9,
      gflops: cost.flops / 1e9 / (ms / 1000),
      GBs: cost.weightBytes / 1e9 / (ms / 1000),
    };
  }
}

/** A decode step of one row and one new token (greedy after the prompt): what streams the weights once. */
export const oneTokenStep = (run: TracedRun): boolean => {
  const ids = run.feeds.input_ids;
  const dims = Array.isArray(ids) ? ids : ids?.dims;
  return dims !== undefined && dims[0] === 1 && dims[1] === 1;
};

/** Each stage's figures against the measured limits. */
export function efficiencyFields(
  recorder: StageRecorder,
  arch: Arch,
  roofline: Pick<Roofline, "gemmGflops" | "streamGBs"> & Partial<Pick<Roofline, "cpu">>,
): Pick<
  EfficiencyFields,
  "roofline" | "encoderEfficiency" | "decodeEfficiency" | "stages" | "cpuEfficiency"
> {
  const names = STAGE_GRAPHS[arch];
  const encoder = recorder.stage(names.encoder);
  const decode = recorder.stage(names.decode, oneTokenStep);
  const fields = {
    roofline: { gemmGflops: roofline.gemmGflops, streamGBs: roofline.streamGBs },
    encoderEfficiency: encoder.gflops / roofline.gemmGflops,
    decodeEfficiency: decode.GBs / roofline.streamGBs,
    stages: { encoder, decode },
  };
  if (!roofline.cpu) return fields;
  // The same ratios per second of CPU time: what a machine shared with other work disturbs least.
  return {
    ...fields,
    cpuEfficiency: {
      encoder: encoder.gflop / (encoder.cpuMs / 1000) / roofline.cpu.gemmGflops,
      decode: decode.weightGB / (decode.cpuMs / 1000) / roofline.cpu.streamGBs,
    },
  };
}

const loadNow = () => loadavg().map((l) => Math.round(l * 100) / 100);

/**
 * Runs the architecture's benchmark with its sessions traced, measures the roofline in the same process
 * at the same thread count, and returns the benchmark's row with the efficiency fields added.
 */
export async function runMeasured(
  arch: Arch,
  options: BenchOptions & { profile?: boolean },
): Promise<BenchResult & EfficiencyFields & { profile?: { encoder: OpTime[]; decode: OpTime[] } }> {
  const bench = (await import(`../${arch}.ts`)) as { run(o: BenchOptions): Promise<BenchResult> };
  const threads = options.threads ?? defaultThreads();
  const log = options.verbose === false ? () => {} : console.log;
  const before = loadNow();
  const roofline = await measureRoofline(threads);
  log(
    `roofline at ${threads} thread(s): fp32 GEMM ${roofline.gemmGflops.toFixed(1)} GFLOP/s, ` +
      `weight streaming ${roofline.streamGBs.toFixed(1)} GB/s (load average ${before.join(" ")})`,
  );
  const names = STAGE_GRAPHS[arch];
  const recorder = new StageRecorder(
    options.profile
      ? (graph, feeds) =>
          names.encoder.test(graph) || (names.decode.test(graph) && feeds.input_ids?.size === 1)
      : undefined,
  );
  recorder.start();
  let row: BenchResult;
  try {
    // Profiling runs the stages again afterwards: the checkpoint must outlive the benchmark.
    row = await bench.run({ ...options, threads, keep: options.keep || options.profile });
  } finally {
    recorder.stop();
  }
  const fields = efficiencyFields(recorder, arch, roofline);
  const { encoder, decode } = fields.stages;
  log(
    `encoder ${encoder.graph}: ${encoder.gflop.toFixed(1)} GFLOP in ${encoder.ms.toFixed(0)} ms = ` +
      `${encoder.gflops.toFixed(1)} GFLOP/s, ${fmtShare(fields.encoderEfficiency)} of the GEMM peak`,
  );
  log(
    `decode step ${decode.graph}: ${(decode.weightGB * 1000).toFixed(0)} MB of weights in ${decode.ms.toFixed(1)} ms = ` +
      `${decode.GBs.toFixed(1)} GB/s, ${fmtShare(fields.decodeEfficiency)} of streaming`,
  );
  const after = loadNow();
  if (!options.profile) return { ...row, ...fields, threads, loadAverage: { before, after } };
  const profile = { encoder: [] as OpTime[], decode: [] as OpTime[] };
  let folder: string | undefined;
  for (const stage of ["encoder", "decode"] as const) {
    const entry = [...recorder.graphs.values()].find((e) => names[stage].test(e.graph.name));
    if (!entry?.kept) continue;
    folder = entry.store?.dataFolder();
    profile[stage] = await profileStage(
      entry.graph,
      entry.store,
      entry.kept,
      threads,
      stage === "encoder" ? 1 : 5,
    );
    log(`ORT profile, ${stage} ${entry.graph.name}: ${opSummary(profile[stage])}`);
  }
  // Kosmos-2's checkpoint is deleted after its benchmark unless --keep (bench/kosmos-2.ts); the same here.
  if (arch === "kosmos-2" && !options.keep && folder) rmSync(folder, { recursive: true, force: true });
  return { ...row, ...fields, threads, loadAverage: { before, after }, profile };
}

const fmtShare = (x: number) => `${(x * 100).toFixed(0)} %`;
