// Benchmark: loading a full-size ViT-GPT2 (0.96 GB fp32, the bench/vit-gpt2.ts random checkpoint)
// from pytorch_model.bin, two ways, beside the same model from model.safetensors:
//   - safetensors: the bench folder as it is;
//   - pickle in place: the same weights re-saved as torch.save's zip (pytorch_model.bin, tied LM head
//     like HF's pickles), read by the restricted reader, tensors bound into the graphs as byte ranges
//     of the .bin — what Sightline does;
//   - pickle → safetensors: converted once into a cache folder (streaming), then loaded from there.
// Each load runs in a fresh child process (peak RSS is that process's own), rounds alternate, and
// every variant captions the same image to the same 5 tokens.
//
//   node --import tsx bench/pickle-load.ts [--rounds N] [--threads N] [--keep]
//
// The checkpoints are written into the OS temp folder (never committed): the safetensors one is kept
// for the other benches, the pickle twin and the converted copy are deleted unless --keep.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readImageFile } from "../src/images/decode.js";
import { WeightStore } from "../src/graph/safetensors.js";
import { loadModel } from "../src/models/index.js";
import { convertToSafetensors, writePickleTwin } from "./lib/pickle-checkpoints.js";
import { cachedModelFolder, median } from "./lib/random-safetensors.js";
import { DEFAULT_IMAGE, cpuMs } from "./lib/result.js";
import { benchModelFolder } from "./vit-gpt2.js";

type Mode = "safetensors" | "pickle" | "convert";

interface ChildResult {
  mode: Mode;
  convertMs?: number;
  convertCpuMs?: number;
  /** Bytes of the converted model.safetensors. */
  convertedBytes?: number;
  /** WeightStore.open alone: reading the safetensors header or the pickle(s). */
  openMs: number;
  loadMs: number;
  loadCpuMs: number;
  peakRssMiB: number;
  rssAfterLoadMiB: number;
  tokens: number[];
}

const MARK = "PICKLE_LOAD_RESULT ";
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

async function child(mode: Mode, folder: string, threads: number | undefined): Promise<ChildResult> {
  let convertMs: number | undefined;
  let convertCpuMs: number | undefined;
  let convertedBytes: number | undefined;
  let from = folder;
  if (mode === "convert") {
    const cacheDir = join(tmpdir(), "sightline-bench-vit-gpt2-converted");
    rmSync(cacheDir, { recursive: true, force: true });
    const c = cpuMs();
    const t = performance.now();
    convertToSafetensors(folder, cacheDir);
    convertMs = performance.now() - t;
    convertCpuMs = cpuMs() - c;
    convertedBytes = statSync(join(cacheDir, "model.safetensors")).size;
    from = cacheDir;
  }
  const o = performance.now();
  WeightStore.open(from);
  const openMs = performance.now() - o;
  const c = cpuMs();
  const t = performance.now();
  const model = await loadModel(from, { threads });
  const loadMs = performance.now() - t;
  const loadCpuMs = cpuMs() - c;
  const rssAfterLoadMiB = process.memoryUsage().rss / 2 ** 20;
  const r = await model.caption(await readImageFile(DEFAULT_IMAGE), { maxNewTokens: 5, numBeams: 1 });
  await model.dispose();
  return {
    mode,
    convertMs,
    convertCpuMs,
    convertedBytes,
    openMs,
    loadMs,
    loadCpuMs,
    peakRssMiB: peakRssMiB(),
    rssAfterLoadMiB,
    tokens: r.tokenIds,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "2" },
      threads: { type: "string" },
      keep: { type: "boolean", default: false },
      child: { type: "string" },
      folder: { type: "string" },
    },
  });
  const threads = values.threads ? Number(values.threads) : undefined;
  if (values.child) {
    const r = await child(values.child as Mode, values.folder!, threads);
    console.log(MARK + JSON.stringify(r));
    return;
  }

  const safetensors = benchModelFolder();
  const pickle = cachedModelFolder("sightline-bench-vit-gpt2-bin-v1", (out) => {
    console.log(`writing ${out}/pytorch_model.bin (torch zip layout) …`);
    const t = performance.now();
    writePickleTwin(safetensors, out, {
      name: "decoder.lm_head.weight",
      of: "decoder.transformer.wte.weight",
    });
    console.log(`  ${((performance.now() - t) / 1000).toFixed(1)} s`);
  });
  const gb = (f: string) => (statSync(f).size / 1e9).toFixed(2);
  console.log(
    `model.safetensors ${gb(join(safetensors, "model.safetensors"))} GB, pytorch_model.bin ${gb(join(pickle, "pytorch_model.bin"))} GB`,
  );

  const script = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of ["safetensors", "pickle", "convert"] as const) {
      const folder = mode === "safetensors" ? safetensors : pickle;
      const args = ["--import", "tsx", script, "--child", mode, "--folder", folder];
      if (threads) args.push("--threads", String(threads));
      const p = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
      const line = p.stdout.split("\n").find((l) => l.startsWith(MARK));
      if (p.status !== 0 || !line) throw new Error(`${mode} child failed (${p.status}): ${p.stderr}`);
      const r = JSON.parse(line.slice(MARK.length)) as ChildResult;
      results.push(r);
      const conv =
        r.convertMs !== undefined
          ? `convert ${(r.convertMs / 1000).toFixed(2)} s (cpu ${(r.convertCpuMs! / 1000).toFixed(2)} s, ` +
            `${(r.convertedBytes! / 1e9).toFixed(2)} GB written) + `
          : "";
      console.log(
        `round ${round + 1} ${mode.padEnd(11)} ${conv}open weights ${r.openMs.toFixed(0)} ms, load ${(r.loadMs / 1000).toFixed(2)} s (cpu ${(r.loadCpuMs / 1000).toFixed(2)} s), ` +
          `RSS after load ${r.rssAfterLoadMiB.toFixed(0)} MiB, peak ${r.peakRssMiB.toFixed(0)} MiB, tokens ${r.tokens.join(",")}`,
      );
    }
  }
  const tokens = new Set(results.map((r) => r.tokens.join(",")));
  if (tokens.size !== 1) throw new Error(`the variants captioned differently: ${[...tokens].join(" | ")}`);

  console.log("\nmedian over rounds:");
  for (const mode of ["safetensors", "pickle", "convert"] as const) {
    const rs = results.filter((r) => r.mode === mode);
    const m = (f: (r: ChildResult) => number) => median(rs.map(f));
    const conv =
      mode === "convert"
        ? `convert ${(m((r) => r.convertMs!) / 1000).toFixed(2)} s (cpu ${(m((r) => r.convertCpuMs!) / 1000).toFixed(2)} s), then `
        : "";
    console.log(
      `  ${mode.padEnd(11)} ${conv}open weights ${m((r) => r.openMs).toFixed(0)} ms, load ${(m((r) => r.loadMs) / 1000).toFixed(2)} s (cpu ${(m((r) => r.loadCpuMs) / 1000).toFixed(2)} s), ` +
        `peak RSS ${m((r) => r.peakRssMiB).toFixed(0)} MiB`,
    );
  }
  if (!values.keep) {
    rmSync(pickle, { recursive: true, force: true });
    rmSync(join(tmpdir(), "sightline-bench-vit-gpt2-converted"), { recursive: true, force: true });
  } else if (existsSync(pickle)) console.log(`kept ${pickle}`);
}

await main();
