// The Hugging Face transformers PyTorch fp32 figures `sightline bench` sets beside its own: measured by
// bench/hf/reference.py (HF's own code on the same random checkpoints) into bench/hf/reference-<arch>.json,
// or, where no such file exists yet, the fixed figures issue 16 quotes, which were measured on another VM.
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { HfReferenceSource } from "../../src/cli/commands/bench.js";
import type { BenchResult } from "./result.js";

type Steps = BenchResult["reference"];
const STEPS = ["encoder", "greedy20", "beam3"] as const;
const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** bench/hf/reference-<arch>.json */
export function referenceFile(arch: BenchResult["arch"]): string {
  return fileURLToPath(new URL(`../hf/reference-${arch}.json`, import.meta.url));
}

/** What reference.py writes (the fields used here; the file holds more: per thread count, runs, RSS). */
interface ReferenceReport {
  arch: string;
  reference: Steps;
  bestThreads?: HfReferenceSource["threads"];
  measuredAt?: string;
  machine?: HfReferenceSource["machine"];
  software?: HfReferenceSource["software"];
}

/**
 * The figures and where they come from: the measured file when there is one, else `fixed` (the issue's
 * figures from another VM). A file that cannot be used is said in the description, not thrown: the
 * bench's own figures still stand.
 */
export function hfReference(
  arch: BenchResult["arch"],
  fixed: Steps,
  file = referenceFile(arch),
): { reference: Steps; referenceSource: HfReferenceSource } {
  const name = relative(REPO, file);
  const fallback = (why: string) => ({
    reference: fixed,
    referenceSource: {
      measured: false,
      description: `fixed figures measured on another VM, not on this machine (${why}; measure here with bench/hf/reference.py, see bench/hf/README.md)`,
    },
  });
  if (!existsSync(file)) return fallback(`no ${name}`);
  let report: ReferenceReport;
  try {
    report = JSON.parse(readFileSync(file, "utf8")) as ReferenceReport;
  } catch (e) {
    return fallback(`${name} unreadable: ${(e as Error).message}`);
  }
  if (report.arch !== arch || !STEPS.every((k) => Number.isFinite(report.reference?.[k]))) {
    return fallback(`${name} is not a ${arch} reference`);
  }
  const machine = report.machine;
  const here = cpus();
  const sameMachine =
    machine !== undefined && machine.cpu === here[0]?.model.trim() && machine.cpus === here.length;
  const threads = report.bestThreads;
  const description = [
    `${name}: transformers ${report.software?.transformers ?? "?"}, torch ${report.software?.torch ?? "?"}`,
    `measured ${report.measuredAt ?? "(no date)"}`,
    machine
      ? `on ${machine.cpu} (${machine.cpus} CPUs${machine.avx512f ? ", AVX-512" : machine.avx2 ? ", AVX2" : ""})` +
        (sameMachine
          ? ", this machine's CPU"
          : `, not this machine's CPU (${here[0]?.model.trim()} × ${here.length})`)
      : "on an unrecorded machine",
    threads
      ? `torch threads encoder ${threads.encoder}, greedy ${threads.greedy20}, beams ${threads.beam3}`
      : "",
  ]
    .filter(Boolean)
    .join(", ");
  return {
    reference: {
      encoder: report.reference.encoder,
      greedy20: report.reference.greedy20,
      beam3: report.reference.beam3,
    },
    referenceSource: {
      measured: true,
      file: name,
      measuredAt: report.measuredAt,
      machine,
      threads,
      software: report.software && {
        transformers: report.software.transformers,
        torch: report.software.torch,
      },
      sameMachine,
      description,
    },
  };
}
