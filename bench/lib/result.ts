// What every architecture's benchmark takes and returns, so `sightline bench` and bench/run.ts can run
// them one after another and print one table.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { HfReferenceSource } from "../../src/cli/commands/bench.js";
import type { CaptionOptions } from "../../src/models/types.js";
import type { ThroughputResult } from "./throughput.js";

export interface BenchOptions {
  /** Image to caption (default: ../shared/images/gps/DSCN0010.jpg). */
  image?: string;
  /** Timed repetitions of each measurement (the figures are the median). */
  runs?: number;
  /** ORT intra-op threads (default: the engine's default, one per physical core or SIGHTLINE_THREADS). */
  threads?: number;
  /** Keep a random checkpoint that the benchmark would otherwise delete (Kosmos-2's 3.3 GB). */
  keep?: boolean;
  /** Also measure captions/s with 1 and with this many concurrent clients (batched; lib/throughput.ts). */
  concurrency?: number;
  /** Print the per-architecture detail lines (default true). */
  verbose?: boolean;
}

/** Milliseconds as wall time and process CPU time (user + system, all threads). */
export interface Timing {
  wallMs: number;
  cpuMs: number;
}

export interface BenchResult {
  arch: "vit-gpt2" | "blip" | "kosmos-2" | "florence-2";
  /** Graphs built and ORT sessions created. */
  load: Timing;
  /** Vision encoder (with whatever per-image precomputation the decoder needs, e.g. cross K/V). */
  encoder: Timing;
  /** Whole caption call, 20 greedy tokens (EOS suppressed). */
  greedy20: Timing;
  /** Whole caption call, 3 beams, 20 tokens (EOS suppressed). */
  beam3: Timing;
  /** Process resident memory after loading and running, MiB. */
  rssMiB: number;
  /** The same steps in HF transformers PyTorch fp32, ms (median wall time; lib/hf-reference.ts). */
  reference: { encoder: number; greedy20: number; beam3: number };
  /** Where `reference` comes from: measured by bench/hf/reference.py, or the fixed figures. */
  referenceSource: HfReferenceSource;
  /** With `concurrency`: captions/s at 1 and N clients, latency at N, load average (lib/throughput.ts). */
  throughput?: ThroughputResult["throughput"];
  latency?: ThroughputResult["latency"];
  cpuMsPerCaption?: ThroughputResult["cpuMsPerCaption"];
  throughputLoadAverage?: ThroughputResult["throughputLoadAverage"];
}

export const DEFAULT_IMAGE = fileURLToPath(
  new URL("../../../shared/images/gps/DSCN0010.jpg", import.meta.url),
);

/** Process CPU milliseconds so far. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Time `f` as wall and CPU milliseconds. */
export async function timed<T>(f: () => Promise<T>): Promise<{ value: T; timing: Timing }> {
  const c = cpuMs();
  const t = performance.now();
  const value = await f();
  return { value, timing: { wallMs: performance.now() - t, cpuMs: cpuMs() - c } };
}

/** Median by wall time of several timings (the CPU figure comes from the same run). */
export function medianTiming(timings: Timing[]): Timing {
  const sorted = [...timings].sort((a, b) => a.wallMs - b.wallMs);
  return sorted[(sorted.length - 1) >> 1];
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  const path = fileURLToPath(moduleUrl);
  const given = resolve(script);
  return given === path || given === path.replace(/\.ts$/, "") || given + ".ts" === path;
}

/** The common flags of the bench scripts: [image] [--runs N] [--threads N] [--keep]. */
export function optionsFromArgv(argv = process.argv.slice(2), defaults: BenchOptions = {}): BenchOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      runs: { type: "string" },
      threads: { type: "string" },
      image: { type: "string" },
      keep: { type: "boolean" },
      concurrency: { type: "string" },
    },
  });
  const num = (v: unknown) => (typeof v === "string" ? Number(v) : undefined);
  return {
    ...defaults,
    image: (values.image as string | undefined) ?? positionals[0] ?? defaults.image,
    runs: num(values.runs) ?? defaults.runs,
    threads: num(values.threads) ?? defaults.threads,
    keep: (values.keep as boolean | undefined) ?? defaults.keep,
    concurrency: num(values.concurrency) ?? defaults.concurrency,
  };
}

/** Wall and CPU time per named step over several runs, reported as medians in one table. */
export class StepTimings {
  private readonly steps = new Map<string, Timing[]>();

  add(step: string, timing: Timing): void {
    const list = this.steps.get(step);
    if (list) list.push(timing);
    else this.steps.set(step, [timing]);
  }

  /** Runs `f`, keeping its timing under `step`. */
  async time<T>(step: string, f: () => Promise<T>): Promise<T> {
    const { value, timing } = await timed(f);
    this.add(step, timing);
    return value;
  }

  median(step: string): Timing {
    const list = this.steps.get(step);
    if (!list) throw new Error(`no timings for ${step}`);
    return medianTiming(list);
  }

  /** The table of medians (a NaN CPU time, for figures taken from inside a call, is left out). */
  print(log: (line: string) => void): void {
    const width = Math.max(...[...this.steps.keys()].map((k) => k.length)) + 2;
    for (const step of this.steps.keys()) {
      const m = this.median(step);
      const cpu = Number.isNaN(m.cpuMs) ? "" : `   cpu ${m.cpuMs.toFixed(0).padStart(6)} ms`;
      log(`  ${step.padEnd(width)} wall ${m.wallMs.toFixed(0).padStart(6)} ms${cpu}`);
    }
  }
}

/** The line with Hugging Face PyTorch's figures for the same work and where they come from. */
export function referenceLine(
  reference: BenchResult["reference"],
  source: BenchResult["referenceSource"],
): string {
  return (
    `HF PyTorch fp32 reference: vision ${reference.encoder} ms, greedy 20 ${reference.greedy20} ms, ` +
    `3 beams ${reference.beam3} ms\n  (${source.description})`
  );
}

/** The benchmarks' caption: always 20 tokens (`eos` suppressed), greedy or with `numBeams` beams. */
export function caption20(eos: number, numBeams = 1, prompt?: string): CaptionOptions {
  return { ...(prompt === undefined ? {} : { prompt }), maxNewTokens: 20, numBeams, suppressTokens: [eos] };
}
