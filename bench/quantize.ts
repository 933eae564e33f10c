// Benchmark of quantized weights against float32, in the same run, on the full-size random checkpoints of
// the architecture benchmarks (bench/<arch>.ts write them into the temp folder). Each variant (fp32, then
// each mode) runs in its own process, one after another, so that its memory figure is its own:
//   load (with the quantizing, unless the quantized cache already holds it), RSS after the runs and the
//   peak, the vision encoder, a greedy caption of 20 tokens (EOS suppressed), one decode step
//   ((decode of 20 tokens − decode of 2) / 18), and the top-1 agreement over 20 greedy steps: the float32
//   model's greedy tokens are fed to the quantized model step by step (teacher forcing) and its argmax is
//   compared at each step. The load average is printed with each figure: the machine may be shared.
// Figures from different processes move with the machine's load (decode steps by 10–20 % on a shared VM),
// so each quantized variant also loads the float32 model beside its own, after its memory was measured,
// and times their decode steps in turn (ABBA, 10 tokens into a caption, same cache every time): the
// "paired" step ratio, the one to quote.
//
//   node --import tsx bench/quantize.ts ARCH [--quantize q8,q4] [--block-size N] [--runs N] [--threads N]
//   (or `sightline bench ARCH --quantize q8,q4`, which calls run())
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseQuantizeMode, type QuantizeMode } from "../src/graph/quantize.js";
import { readImageFile } from "../src/images/decode.js";
import { loadModel } from "../src/models/index.js";
import { benchCheckpoint } from "./lib/checkpoints.js";
import type { RgbImage } from "../src/models/types.js";
import { alternate } from "./lib/alternate.js";
import { agreement, decoderRow, repeatableStep, stepAlong, type DecoderRow } from "./lib/decoder-rows.js";
import { median } from "./lib/random-safetensors.js";
import { DEFAULT_IMAGE, isMain, rssMiB, timed } from "./lib/result.js";

export const QUANT_ARCHES = ["vit-gpt2", "blip", "kosmos-2", "florence-2"] as const;
export type QuantArch = (typeof QUANT_ARCHES)[number];

export interface QuantBenchOptions {
  modes?: QuantizeMode[];
  blockSize?: number;
  encoders?: "int8" | "blocks";
  runs?: number;
  threads?: number;
  image?: string;
  /** Keep Kosmos-2's 3.3 GB checkpoint afterwards. */
  keep?: boolean;
}

/** A quantized variant's decode step timed in turn with float32's, in one process (medians, ms). */
export interface PairedStep {
  ms: number;
  fp32Ms: number;
  /** fp32Ms / ms. */
  speedup: number;
  rounds: number;
}

/** One variant's figures (ms unless named otherwise). */
export interface VariantResult {
  variant: "fp32" | QuantizeMode;
  blockSize?: number;
  encoders?: string;
  loadMs: number;
  /** Quantized weights came from the cache (the load did not quantize). */
  cached?: boolean;
  encoderMs: number;
  greedy20Ms: number;
  decodeStepMs: number;
  rssMiB: number;
  peakRssMiB: number;
  /** Teacher-forced top-1 agreement with float32 over 20 greedy steps (0–1); 1 for fp32 itself. */
  top1Agreement: number;
  /** Free-running greedy: tokens equal to float32's before the first difference. */
  greedyPrefix: number;
  /** 1-minute load average before and after the variant ran. */
  load: [number, number];
  /** Quantized variants: the decode step against float32's, timed in turn in one process. */
  pairedStep?: PairedStep;
}

/** Quantized weights of the bench checkpoints are kept here between runs (like the models folder's cache). */
const CACHE = join(tmpdir(), "sightline-bench-quantized");

/** Runs one variant in this process. `teacher`: float32's greedy tokens (absent for fp32 itself). */
async function runVariant(
  arch: QuantArch,
  variant: "fp32" | QuantizeMode,
  options: QuantBenchOptions,
  teacher: number[] | undefined,
): Promise<VariantResult & { tokens: number[] }> {
  const before = loadavg()[0];
  const folder = await benchCheckpoint(arch);
  const runs = options.runs ?? 3;
  let quantized = false;
  const quantize =
    variant === "fp32"
      ? undefined
      : {
          mode: variant,
          blockSize: options.blockSize,
          encoders: options.encoders,
          cacheDir: CACHE,
          onProgress: () => (quantized = true),
        };
  const loaded = await timed(() => loadModel(folder, { threads: options.threads, quantize }));
  const model = loaded.value;
  try {
    const image = await readImageFile(options.image ?? DEFAULT_IMAGE);
    const row = await decoderRow(model, image);
    const caption = (maxNewTokens: number) =>
      model.caption(image, { maxNewTokens, numBeams: 1, suppressTokens: [row.eos] });
    await caption(2); // warm-up
    const encode: number[] = [];
    const whole: number[] = [];
    const decode20: number[] = [];
    const decode2: number[] = [];
    for (let r = 0; r < runs; r++) {
      const { value, timing } = await timed(() => caption(20));
      whole.push(timing.wallMs);
      encode.push(value.timings.encode);
      decode20.push(value.timings.decode);
      decode2.push((await caption(2)).timings.decode);
    }
    const tokens = await stepAlong(row, 20);
    const forced = teacher ? await stepAlong(row, 20, teacher) : tokens;
    const reference = teacher ?? tokens;
    let prefix = 0;
    while (prefix < tokens.length && tokens[prefix] === reference[prefix]) prefix++;
    const rss = rssMiB();
    const peakRss = process.resourceUsage().maxRSS / 1024;
    const pairedStep =
      variant === "fp32" ? undefined : await stepBesideFp32(row, folder, image, options, PAIRED_ROUNDS);
    return {
      variant,
      blockSize: variant === "fp32" ? undefined : options.blockSize,
      encoders: variant === "fp32" ? undefined : options.encoders,
      loadMs: loaded.timing.wallMs,
      cached: variant === "fp32" ? undefined : !quantized,
      encoderMs: median(encode),
      greedy20Ms: median(whole),
      decodeStepMs: (median(decode20) - median(decode2)) / 18,
      rssMiB: rss,
      peakRssMiB: peakRss,
      top1Agreement: agreement(forced, reference),
      greedyPrefix: prefix,
      load: [before, loadavg()[0]],
      pairedStep,
      tokens,
    };
  } finally {
    await model.dispose();
  }
}

/** Rounds of the paired decode-step timing: each step of the pair runs once per round. */
const PAIRED_ROUNDS = 10;

/** `row`'s decode step and float32's, in turn (ABBA), 10 tokens into a caption. */
async function stepBesideFp32(
  row: DecoderRow,
  folder: string,
  image: RgbImage,
  options: QuantBenchOptions,
  rounds: number,
): Promise<PairedStep> {
  const fp32 = await loadModel(folder, { threads: options.threads });
  try {
    const steps = [await repeatableStep(row, 10), await repeatableStep(await decoderRow(fp32, image), 10)];
    const [ms, fp32Ms] = (await alternate(steps, rounds)).map(median);
    return { ms, fp32Ms, speedup: fp32Ms / ms, rounds };
  } finally {
    await fp32.dispose();
  }
}

const MARK = "SIGHTLINE_QUANT_RESULT ";

function runChild(
  arch: QuantArch,
  variant: string,
  options: QuantBenchOptions,
  teacherFile: string,
): Promise<VariantResult & { tokens: number[] }> {
  // Started from the compiled CLI (tsImport), the process has no TypeScript loader for the child to inherit.
  const loader = process.execArgv.some((a) => a.includes("tsx"))
    ? []
    : ["--import", import.meta.resolve("tsx")];
  const args = [
    ...process.execArgv,
    ...loader,
    fileURLToPath(import.meta.url),
    arch,
    "--variant",
    variant,
    "--teacher",
    teacherFile,
    ...(options.blockSize ? ["--block-size", String(options.blockSize)] : []),
    ...(options.encoders ? ["--encoders", options.encoders] : []),
    ...(options.runs ? ["--runs", String(options.runs)] : []),
    ...(options.threads ? ["--threads", String(options.threads)] : []),
    ...(options.image ? ["--image", options.image] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith(MARK)) resolve(JSON.parse(line.slice(MARK.length)));
        else process.stdout.write(`[${arch} ${variant}] ${line}\n`);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${arch} ${variant}: the benchmark exited with status ${code}`));
    });
  });
}

/** fp32 and each mode, one process each; the table and the rows. */
export async function run(arch: QuantArch, options: QuantBenchOptions = {}): Promise<VariantResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "sl-quant-bench-"));
  const teacherFile = join(dir, "fp32-tokens.json");
  const rows: VariantResult[] = [];
  // Kosmos-2's 3.3 GB checkpoint is removed afterwards unless --keep, but only when this run wrote it
  // (another benchmark may be using it).
  const kosmosFolder = join(tmpdir(), "sightline-bench-kosmos2-fp16");
  const kosmosThere = existsSync(kosmosFolder);
  try {
    for (const variant of ["fp32", ...(options.modes ?? ["q8", "q4"])]) {
      const { tokens, ...row } = await runChild(arch, variant, options, teacherFile);
      if (variant === "fp32") writeFileSync(teacherFile, JSON.stringify(tokens));
      rows.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (arch === "kosmos-2" && !options.keep && !kosmosThere)
      rmSync(kosmosFolder, { recursive: true, force: true });
  }
  console.log(formatQuantTable(arch, rows));
  return rows;
}

const pairedCell = (p: PairedStep) =>
  `${p.ms.toFixed(1)} (${p.fp32Ms.toFixed(1)}) ms ${p.speedup.toFixed(2)}×`;

export function formatQuantTable(arch: string, rows: VariantResult[]): string {
  const fp32 = rows.find((r) => r.variant === "fp32");
  const x = (ref: number | undefined, v: number) => (ref ? ` ${(ref / v).toFixed(2)}×` : "");
  const lines = [
    `${arch}: weights   load          encoder         greedy 20       decode step     paired step (fp32)      RSS (peak) MiB   top-1  prefix  load avg`,
  ];
  for (const r of rows) {
    const name =
      r.variant === "fp32" ? "fp32" : `${r.variant}/b${r.blockSize ?? "def"}/${r.encoders ?? "def"}`;
    lines.push(
      [
        `  ${name.padEnd(14)}`,
        `${r.loadMs.toFixed(0)} ms${r.cached ? " (cached)" : ""}`.padEnd(14),
        `${r.encoderMs.toFixed(0)} ms${x(fp32?.encoderMs, r.encoderMs)}`.padEnd(16),
        `${r.greedy20Ms.toFixed(0)} ms${x(fp32?.greedy20Ms, r.greedy20Ms)}`.padEnd(16),
        `${r.decodeStepMs.toFixed(1)} ms${x(fp32?.decodeStepMs, r.decodeStepMs)}`.padEnd(16),
        (r.pairedStep ? pairedCell(r.pairedStep) : "").padEnd(24),
        `${r.rssMiB.toFixed(0)} (${r.peakRssMiB.toFixed(0)})`.padEnd(17),
        `${(100 * r.top1Agreement).toFixed(0)} %`.padEnd(7),
        `${r.greedyPrefix}/20`.padEnd(8),
        `${r.load[0].toFixed(1)}→${r.load[1].toFixed(1)}`,
      ].join(""),
    );
  }
  return lines.join("\n");
}

if (isMain(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quantize: { type: "string" },
      "block-size": { type: "string" },
      encoders: { type: "string" },
      runs: { type: "string" },
      threads: { type: "string" },
      image: { type: "string" },
      keep: { type: "boolean" },
      variant: { type: "string" },
      teacher: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const arch = positionals[0] as QuantArch;
  if (!QUANT_ARCHES.includes(arch)) throw new Error(`give one of ${QUANT_ARCHES.join(", ")}`);
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const options: QuantBenchOptions = {
    modes: values.quantize
      ?.split(",")
      .map((m) => parseQuantizeMode(m))
      .filter((m): m is QuantizeMode => m !== undefined),
    blockSize: num(values["block-size"]),
    encoders: values.encoders as QuantBenchOptions["encoders"],
    runs: num(values.runs),
    threads: num(values.threads),
    image: values.image,
    keep: values.keep,
  };
  if (values.variant) {
    const teacher =
      values.variant === "fp32" ? undefined : (JSON.parse(readFileSync(values.teacher!, "utf8")) as number[]);
    const result = await runVariant(arch, values.variant as VariantResult["variant"], options, teacher);
    console.log(MARK + JSON.stringify(result));
  } else {
    const rows = await run(arch, options);
    if (values.json) console.log(JSON.stringify(rows, null, 2));
  }
}
