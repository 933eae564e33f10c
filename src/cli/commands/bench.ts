// sightline bench [ARCH|all] — full-size random-weight benchmarks of each architecture (bench/*.ts),
// printed as one table next to HF transformers PyTorch's figures for the same steps (bench/lib/hf-reference.ts
// says where those come from).
// The benchmark modules live in the source checkout's bench/ folder (TypeScript, loaded through tsx);
// they are not part of the compiled package.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fail } from "../../errors.js";

export const ARCHES = ["vit-gpt2", "blip", "kosmos-2", "florence-2"] as const;
export type BenchArch = (typeof ARCHES)[number];

const help = `usage: sightline bench [vit-gpt2|blip|kosmos-2|florence-2|all] [options]
       sightline bench kernels [--threads N] [--runs N] [--json]

Builds a random-weight checkpoint at the real model's size once (in the temp folder), loads it and
times: load, vision encoder, a caption of 20 greedy tokens and one with 3 beams (EOS suppressed, so
always 20 tokens). Prints wall time, process CPU time and resident memory beside HF transformers'
PyTorch fp32 figures for the same steps: those bench/hf/reference.py measured into
bench/hf/reference-ARCH.json (the table says when and on which CPU), or where there is no such file,
fixed figures from another machine (labelled so). In the same process it measures the machine's
limits through ONNX Runtime (fp32 GEMMs of encoder shapes: peak GFLOP/s; a batch-1 product over a
1 GiB weight: GB/s streamed), counts the vision encoder's FLOPs and the decode step's weight bytes
from their graphs, and prints each stage's rate as a fraction of that limit. "all" (the default) runs each
architecture in its own process, one after another. Kosmos-2 writes a 3.3 GB fp16 checkpoint and
deletes it afterwards unless --keep.

options:
  --threads N     ORT intra-op threads (default: one per physical core, or SIGHTLINE_THREADS)
  --runs N        timed repetitions; figures are medians (default: per benchmark, 1-3)
  --image FILE    the image to caption (default: ../shared/images/gps/DSCN0010.jpg)
  --keep          keep Kosmos-2's checkpoint for the next run
  --concurrency N also time captions/s with 1 client and with N at once (requests batched as in
                  serve --max-batch N) and the latency at N: JSON throughput {c1, cN}, latency
  --profile       run the encoder and a decode step once more under ORT's profiler and print
                  (and add to --json) the share of kernel time per op type
  --quantize q8[,q4]  instead: float32 against these quantized weights in the same run, each in its
                  own process (load, encoder, greedy caption, decode step, RSS, top-1 agreement over
                  20 greedy steps with the float32 tokens fed back); bench/quantize.ts
  --block-size N  with --quantize: inputs per scale of the 8/4-bit blocks (default 32)
  --json          print the results as JSON instead of a table

"kernels" times what bounds batching and quantizing here instead: ONNX Runtime's products of 1, 2, 4
and 8 rows with a 1 GiB stack of float32, q8 and q4 weights at Kosmos-2's MLP sizes, all variants
taking turns (--runs rounds, default 7): ms, GB/s of weights read, the gain of 8 rows over 1 and of
each format over float32 (bench/kernels.ts).`;

/** Wall and process CPU (all threads) milliseconds. */
export interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** What each bench/<arch>.ts run() returns (bench/lib/result.ts has the full description). */
export interface BenchRow {
  arch: string;
  load: Timing;
  encoder: Timing;
  greedy20: Timing;
  beam3: Timing;
  rssMiB: number;
  reference: { encoder: number; greedy20: number; beam3: number };
  /** Where `reference` comes from (bench/lib/hf-reference.ts); absent in rows from older benches. */
  referenceSource?: HfReferenceSource;
  /** With --concurrency N: captions/s at 1 and N clients (c1, cN), latency at N, load average. */
  throughput?: Record<string, number>;
  latency?: { concurrency: number; p50Ms: number; p95Ms: number };
  cpuMsPerCaption?: Record<string, number>;
  throughputLoadAverage?: [number, number];
  /** The machine's limits measured in the same process (bench/lib/roofline.ts). */
  roofline?: { gemmGflops: number; streamGBs: number };
  /** Vision encoder GFLOP/s over the GEMM peak, and a one-token decode step's weight GB/s over streaming. */
  encoderEfficiency?: number;
  decodeEfficiency?: number;
  /** Per stage: graph, median ms over its runs, GFLOP, weight GB, and the rates (bench/lib/efficiency.ts). */
  stages?: Record<"encoder" | "decode", StageFigures>;
  /** The same ratios per second of CPU time: less disturbed when the machine is shared. */
  cpuEfficiency?: { encoder: number; decode: number };
  threads?: number;
  loadAverage?: { before: number[]; after: number[] };
  /** With --profile: kernel ms per run and share per op type, from ORT's profiler. */
  profile?: Record<"encoder" | "decode", { op: string; ms: number; share: number }[]>;
}

/**
 * Where a row's Hugging Face PyTorch figures come from: measured by bench/hf/reference.py into
 * bench/hf/reference-<arch>.json, or (no such file) the fixed figures quoted in issue 16.
 */
export interface HfReferenceSource {
  measured: boolean;
  /** The JSON file read, relative to the source checkout. */
  file?: string;
  /** When and on what it was measured (from the file). */
  measuredAt?: string;
  machine?: { cpu: string; cpus: number; avx2: boolean; avx512f: boolean };
  /** The torch thread count that gave each figure (the faster of those measured). */
  threads?: { encoder: number; greedy20: number; beam3: number };
  software?: { transformers?: string; torch?: string };
  /** Whether this machine's CPU model and count are those it was measured on. */
  sameMachine?: boolean;
  /** One line saying all of the above. */
  description: string;
}

/** One stage as measured: its graph's work and its median run. */
export interface StageFigures {
  graph: string;
  /** Runs the median is over. */
  runs: number;
  ms: number;
  /** Median process CPU time of the runs (all threads). */
  cpuMs: number;
  /** FLOPs of the matrix products and convolutions, GFLOP (1e9). */
  gflop: number;
  /** Weight bytes one run reads, GB (1e9). */
  weightGB: number;
  /** gflop / seconds. */
  gflops: number;
  /** weightGB / seconds. */
  GBs: number;
}

interface MeasuredBench {
  runMeasured(
    arch: BenchArch,
    options: Parameters<BenchModule["run"]>[0] & { profile?: boolean },
  ): Promise<BenchRow>;
}

interface BenchModule {
  run(options: {
    image?: string;
    runs?: number;
    threads?: number;
    keep?: boolean;
    verbose?: boolean;
    concurrency?: number;
  }): Promise<BenchRow>;
}

const BENCH_DIR = new URL("../../../bench/", import.meta.url);
const JSON_MARK = "SIGHTLINE_BENCH_RESULT ";

/** bench/lib/efficiency.ts: runs an architecture's benchmark with the roofline and per-stage figures. */
function loadMeasured(): Promise<MeasuredBench> {
  return loadBenchFile<MeasuredBench>("lib/efficiency.ts");
}

async function loadBenchFile<T>(file: string): Promise<T> {
  const url = new URL(file, BENCH_DIR);
  if (!existsSync(url)) {
    throw fail("FILE_NOT_FOUND", `${fileURLToPath(url)} (the benchmarks come with the source checkout)`);
  }
  // Running from TypeScript (tsx) already: a plain import. From the compiled CLI: through tsx's API.
  if (import.meta.url.endsWith(".ts")) return (await import(url.href)) as T;
  const { tsImport } = await import("tsx/esm/api");
  return (await tsImport(url.href, import.meta.url)) as T;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw fail("INVALID_ARGUMENT", `${flag} must be a positive integer`);
  return n;
}

// A step not measured comes back as NaN (null through JSON).
const missing = (ms: number | null) => typeof ms !== "number" || !Number.isFinite(ms);
const cell = (ms: number) =>
  missing(ms) ? "—" : ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;

/** "wall (cpu) / HF ×speed-up" for one step. */
function stepCell(t: Timing, reference: number): string {
  if (missing(t.wallMs)) return "—";
  return `${cell(t.wallMs)} (cpu ${cell(t.cpuMs)}) ${(reference / t.wallMs).toFixed(1)}×`;
}

/** The results as a plain-text table: ours (wall, CPU) and HF PyTorch's figure per step. */
export function formatTable(rows: BenchRow[]): string {
  const header = ["model", "load", "encoder", "20 greedy tokens", "3 beams", "RSS"];
  const lines: string[][] = [header];
  for (const r of rows) {
    lines.push([
      r.arch,
      `${cell(r.load.wallMs)} (cpu ${cell(r.load.cpuMs)})`,
      stepCell(r.encoder, r.reference.encoder),
      stepCell(r.greedy20, r.reference.greedy20),
      stepCell(r.beam3, r.reference.beam3),
      `${(r.rssMiB / 1024).toFixed(2)} GiB`,
    ]);
    lines.push([
      `  HF PyTorch${referenceTag(r.referenceSource)}`,
      "",
      cell(r.reference.encoder),
      cell(r.reference.greedy20),
      cell(r.reference.beam3),
      "",
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) =>
    l
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [fmt(lines[0]), widths.map((w) => "-".repeat(w)).join("  "), ...lines.slice(1).map(fmt)];
  for (const r of rows) if (r.throughput && r.latency) out.push(throughputLine(r));
  out.push(
    "",
    "wall time (process CPU time over all threads) and speed-up over HF transformers PyTorch fp32;",
    "captions are whole calls (preprocess + encoder + decode); RSS after the runs.",
  );
  const sources = rows.filter((r) => r.referenceSource);
  if (sources.length)
    out.push(...sources.map((r) => `HF PyTorch, ${r.arch}: ${r.referenceSource!.description}`));
  const measured = rows.filter((r) => r.roofline && r.stages);
  if (measured.length) out.push("", ...efficiencyLines(measured));
  return out.join("\n");
}

/** The HF row's label: measured (on this machine or another) or the fixed figures. */
function referenceTag(source: HfReferenceSource | undefined): string {
  if (!source) return "";
  if (!source.measured) return " (fixed, other VM)";
  const day = source.measuredAt?.slice(0, 10) ?? "";
  return source.sameMachine ? ` (measured ${day})` : ` (measured ${day}, other CPU)`;
}

/** "vit-gpt2: 1 client 0.9 captions/s, 8 clients 3.1/s (3.4×), latency at 8 p50 …" (--concurrency). */
function throughputLine(r: BenchRow): string {
  const { concurrency, p50Ms, p95Ms } = r.latency!;
  const c1 = r.throughput!.c1;
  const cn = r.throughput![`c${concurrency}`];
  const load = r.throughputLoadAverage
    ? `; load average ${r.throughputLoadAverage.map((l) => l.toFixed(1)).join(" → ")}`
    : "";
  return (
    `${r.arch}: 1 client ${c1.toFixed(2)} captions/s, ${concurrency} clients ${cn.toFixed(2)}/s ` +
    `(${(cn / c1).toFixed(2)}×), latency at ${concurrency} p50 ${cell(p50Ms)}, p95 ${cell(p95Ms)}${load}`
  );
}

const share = (x: number) => `${(x * 100).toFixed(0)} %`;

/** Per architecture: the limits measured in its run and each stage's rate as a share of them. */
export function efficiencyLines(rows: BenchRow[]): string[] {
  const lines = ["against the limits measured in the same run (ORT fp32 GEMM peak; 1 GiB weight streaming):"];
  for (const r of rows) {
    const { encoder, decode } = r.stages!;
    const load = r.loadAverage ? `, load average ${r.loadAverage.before[0]}→${r.loadAverage.after[0]}` : "";
    lines.push(
      `${r.arch} (${r.threads ?? "?"} threads${load}): GEMM ${r.roofline!.gemmGflops.toFixed(1)} GFLOP/s, ` +
        `streaming ${r.roofline!.streamGBs.toFixed(1)} GB/s`,
      `  encoder      ${encoder.gflop.toFixed(1)} GFLOP in ${encoder.ms.toFixed(0)} ms = ` +
        `${encoder.gflops.toFixed(1)} GFLOP/s = ${share(r.encoderEfficiency!)} of peak`,
      `  decode step  ${(decode.weightGB * 1000).toFixed(0)} MB weights in ${decode.ms.toFixed(1)} ms = ` +
        `${decode.GBs.toFixed(1)} GB/s = ${share(r.decodeEfficiency!)} of streaming`,
    );
    for (const stage of ["encoder", "decode"] as const) {
      const ops = r.profile?.[stage];
      if (!ops?.length) continue;
      const top = ops
        .slice(0, 6)
        .map((o) => `${o.op} ${(o.share * 100).toFixed(0)} %`)
        .join(", ");
      lines.push(`  ORT profile, ${stage === "encoder" ? "encoder" : "decode step"}: ${top}`);
    }
    if (r.cpuEfficiency) {
      lines.push(
        `  per CPU second: encoder ${share(r.cpuEfficiency.encoder)}, decode step ${share(r.cpuEfficiency.decode)}`,
      );
    }
  }
  return lines;
}

/** Runs one architecture in a child process (a clean RSS figure per model) and returns its result. */
function runInChild(arch: BenchArch, argv: string[]): Promise<BenchRow> {
  const script = process.argv[1];
  // Started as bench/run.ts the arguments have no command name; as the CLI they start with "bench".
  const viaRunScript = /bench[\\/]run\.ts$/.test(script);
  const args = [...process.execArgv, script, ...(viaRunScript ? [] : ["bench"]), arch, ...argv, "--child"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let result: BenchRow | undefined;
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith(JSON_MARK)) result = JSON.parse(line.slice(JSON_MARK.length)) as BenchRow;
        else console.log(`[${arch}] ${line}`);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0 && result) resolve(result);
      else reject(fail("INTERNAL", `the ${arch} benchmark exited with status ${code}`));
    });
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      threads: { type: "string" },
      runs: { type: "string" },
      image: { type: "string" },
      keep: { type: "boolean", default: false },
      concurrency: { type: "string" },
      quantize: { type: "string" },
      "block-size": { type: "string" },
      json: { type: "boolean", default: false },
      child: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length > 1) throw fail("INVALID_ARGUMENT", "give one architecture or all (see --help)");
  const which = positionals[0] ?? "all";
  if (which !== "all" && which !== "kernels" && !(ARCHES as readonly string[]).includes(which)) {
    throw fail(
      "INVALID_ARGUMENT",
      `unknown architecture "${which}": one of ${ARCHES.join(", ")} or all (or kernels)`,
    );
  }
  // With --json, stdout carries the JSON alone (for scripts); the progress and detail lines go to stderr.
  const printJson = console.log; // Node's console methods are bound: safe to call detached
  if (values.json && !values.child) console.log = console.error;
  try {
    if (which === "kernels") return await runKernels(values, printJson);
    if (values.quantize !== undefined) return await runQuantized(which, values, printJson);
    return await runMeasured(which, argv, values, printJson);
  } finally {
    console.log = printJson;
  }
}

/** The float32 benchmark of one architecture, or of each in its own process ("all"). */
async function runMeasured(
  which: string,
  argv: string[],
  values: {
    threads?: string;
    runs?: string;
    image?: string;
    keep?: boolean;
    concurrency?: string;
    profile?: boolean;
    json?: boolean;
    child?: boolean;
  },
  printJson: (text: string) => void,
): Promise<number> {
  const options = {
    threads: positiveInt(values.threads, "--threads"),
    runs: positiveInt(values.runs, "--runs"),
    image: values.image,
    keep: values.keep,
    concurrency: positiveInt(values.concurrency, "--concurrency"),
    profile: values.profile,
  };
  const rows: BenchRow[] = [];
  if (which === "all") {
    const passOn = argv.filter((a) => a !== "all" && a !== "--json");
    for (const arch of ARCHES) rows.push(await runInChild(arch, passOn));
  } else {
    const row = await (await loadMeasured()).runMeasured(which as BenchArch, options);
    if (values.child) {
      console.log(JSON_MARK + JSON.stringify(row));
      return 0;
    }
    rows.push(row);
  }
  if (values.json) printJson(JSON.stringify(rows, null, 2));
  else console.log(`\n${formatTable(rows)}`);
  return 0;
}

/** `--quantize`: bench/quantize.ts for one architecture or each in turn. */
async function runQuantized(
  which: string,
  values: {
    quantize?: string;
    "block-size"?: string;
    runs?: string;
    threads?: string;
    image?: string;
    keep?: boolean;
    json?: boolean;
  },
  printJson: (text: string) => void,
): Promise<number> {
  const { parseQuantizeMode, quantizeScheme } = await import("../../graph/quantize.js");
  const modes = values
    .quantize!.split(",")
    .map((m) => parseQuantizeMode(m))
    .filter((m) => m !== undefined);
  if (modes.length === 0) throw fail("INVALID_ARGUMENT", "--quantize needs q8, q4 or both (q8,q4)");
  const blockSize = positiveInt(values["block-size"], "--block-size");
  if (blockSize !== undefined) quantizeScheme({ mode: modes[0], blockSize }); // a power of two ≥ 16
  type QuantBench = { run(arch: string, options: Record<string, unknown>): Promise<unknown> };
  const bench = await loadBenchFile<QuantBench>("quantize.ts");
  const rows: Record<string, unknown> = {};
  for (const arch of which === "all" ? ARCHES : [which as BenchArch]) {
    rows[arch] = await bench.run(arch, {
      modes,
      blockSize,
      runs: positiveInt(values.runs, "--runs"),
      threads: positiveInt(values.threads, "--threads"),
      image: values.image,
      keep: values.keep,
    });
  }
  if (values.json) printJson(JSON.stringify(rows, null, 2));
  return 0;
}

/** `kernels`: bench/kernels.ts, the weight-product rates by format and rows. */
async function runKernels(
  values: { threads?: string; runs?: string; json?: boolean; quantize?: string; concurrency?: string },
  printJson: (text: string) => void,
): Promise<number> {
  if (values.quantize !== undefined || values.concurrency !== undefined)
    throw fail(
      "INVALID_ARGUMENT",
      "bench kernels measures every format with 1-8 rows: no --quantize or --concurrency",
    );
  type KernelBench = {
    measureKernels(options: Record<string, unknown>): Promise<unknown[]>;
    kernelTable(rates: unknown[]): string[];
  };
  const bench = await loadBenchFile<KernelBench>("kernels.ts");
  const before = loadavg();
  const rates = await bench.measureKernels({
    threads: positiveInt(values.threads, "--threads"),
    rounds: positiveInt(values.runs, "--runs"),
    log: console.log,
  });
  const loadAverage = { before, after: loadavg() };
  if (values.json) printJson(JSON.stringify({ rates, loadAverage }, null, 2));
  else
    for (const line of [
      ...bench.kernelTable(rates),
      `load average ${before[0].toFixed(2)} → ${loadAverage.after[0].toFixed(2)}`,
    ])
      console.log(line);
  return 0;
}
