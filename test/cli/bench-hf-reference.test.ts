// sightline bench's Hugging Face PyTorch figures: read from bench/hf/reference-<arch>.json (written by
// bench/hf/reference.py) when present, else the fixed figures, and labelled with where they come
// from. The Python harness itself needs Debian's torch and a transformers checkout: its fixture check runs
// here only where SIGHTLINE_HF_TRANSFORMERS names one (scripts/hf-reference-deps.sh, bench/hf/README.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hfReference, referenceFile } from "../../bench/lib/hf-reference.js";
import { ARCHES, formatTable } from "../../src/cli/commands/bench.js";
import { benchRow } from "../helpers/bench-row.js";
import { tempDir } from "../helpers/temp-dir.js";

const FIXED = { encoder: 3486, greedy20: 8498, beam3: 14320 };

/** A report as reference.py writes it (the fields the bench reads, plus some it ignores). */
function report(arch: string, cpu = cpus()[0].model.trim(), count = cpus().length) {
  return {
    arch,
    reference: { encoder: 2101, greedy20: 7400, beam3: 12050 },
    bestThreads: { encoder: 2, greedy20: 1, beam3: 1 },
    byThreads: { "1": { peakRssMiB: 2400 } },
    measuredAt: "2026-11-29T10:00:00+00:00",
    machine: { cpu, cpus: count, avx2: true, avx512f: false, memGiB: 23.4 },
    software: { transformers: "4.40.2", torch: "1.13.0a0", python: "3.11.2", blas: [] },
  };
}

test("hf reference: without a measured file, the issue's fixed figures, said to be from another VM", () => {
  const dir = tempDir("sightline-hf-ref-");
  const r = hfReference("blip", FIXED, join(dir, "reference-blip.json"));
  assert.deepEqual(r.reference, FIXED);
  assert.equal(r.referenceSource.measured, false);
  assert.match(r.referenceSource.description, /fixed figures measured on another VM, not on this machine/);
  assert.match(r.referenceSource.description, /bench\/hf\/reference\.py/);
});

test("hf reference: a measured file's figures, date, machine and thread counts", () => {
  const dir = tempDir("sightline-hf-ref-");
  const file = join(dir, "reference-blip.json");
  writeFileSync(file, JSON.stringify(report("blip")));
  const r = hfReference("blip", FIXED, file);
  assert.deepEqual(r.reference, { encoder: 2101, greedy20: 7400, beam3: 12050 });
  const s = r.referenceSource;
  assert.equal(s.measured, true);
  assert.equal(s.sameMachine, true);
  assert.deepEqual(s.threads, { encoder: 2, greedy20: 1, beam3: 1 });
  assert.match(s.description, /transformers 4\.40\.2, torch 1\.13\.0a0, measured 2026-11-29T10:00:00/);
  assert.match(s.description, /this machine's CPU, torch threads encoder 2, greedy 1, beams 1/);

  writeFileSync(file, JSON.stringify(report("blip", "Some Other CPU", 64)));
  const other = hfReference("blip", FIXED, file).referenceSource;
  assert.equal(other.sameMachine, false);
  assert.match(other.description, /on Some Other CPU \(64 CPUs, AVX2\), not this machine's CPU/);

  // Another architecture's file, or one without the three figures, is not used.
  writeFileSync(file, JSON.stringify(report("kosmos-2")));
  assert.deepEqual(hfReference("blip", FIXED, file).reference, FIXED);
  assert.match(hfReference("blip", FIXED, file).referenceSource.description, /is not a blip reference/);
  writeFileSync(file, "{ not json");
  assert.match(hfReference("blip", FIXED, file).referenceSource.description, /unreadable/);
});

test("hf reference: committed reference files are complete", () => {
  for (const arch of ARCHES) {
    const file = referenceFile(arch);
    if (!existsSync(file)) continue;
    const r = hfReference(arch, FIXED, file);
    assert.equal(r.referenceSource.measured, true, r.referenceSource.description);
    assert.ok(
      r.referenceSource.machine?.cpu && r.referenceSource.measuredAt && r.referenceSource.threads,
      arch,
    );
  }
});

test("bench table: the HF row says whether its figures were measured, and a line per model says how", () => {
  const base = benchRow();
  const dir = tempDir("sightline-hf-ref-");
  const file = join(dir, "reference-vit-gpt2.json");
  writeFileSync(file, JSON.stringify(report("vit-gpt2")));
  const measured = { ...base, ...hfReference("vit-gpt2", base.reference, file) };
  const fixed = { ...base, arch: "blip", ...hfReference("blip", base.reference, join(dir, "none.json")) };
  const table = formatTable([measured, fixed]);
  assert.match(table, /^ {2}HF PyTorch \(measured 2026-11-29\)\s+2101 ms\s+7400 ms\s+12\.1 s$/m);
  assert.match(table, /^ {2}HF PyTorch \(fixed, other VM\)\s+332 ms\s+3974 ms\s+6249 ms$/m);
  assert.match(table, /vit-gpt2\s.*750 ms \(cpu 1400 ms\) 9\.9×/);
  assert.match(table, /^HF PyTorch, vit-gpt2: .*reference-vit-gpt2\.json: transformers 4\.40\.2/m);
  assert.match(table, /^HF PyTorch, blip: fixed figures measured on another VM/m);
});

const PYTHON = "/usr/bin/python3";
const transformers = process.env.SIGHTLINE_HF_TRANSFORMERS;
const florence = process.env.SIGHTLINE_HF_FLORENCE2_CODE;
const torchThere =
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import torch, PIL"], { stdio: "ignore" }).status === 0;

test(
  "bench/hf/reference.py check: HF's code gives every fixture's pixel values, encoder output and token ids",
  {
    skip: !transformers
      ? "SIGHTLINE_HF_TRANSFORMERS is not set"
      : !torchThere
        ? "Debian's python3-torch is not installed (scripts/hf-reference-deps.sh)"
        : false,
  },
  () => {
    const script = fileURLToPath(new URL("../../bench/hf/reference.py", import.meta.url));
    const arches = florence ? [...ARCHES] : ARCHES.filter((a) => a !== "florence-2");
    const r = spawnSync(PYTHON, [script, "check", ...arches], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    for (const arch of arches) assert.match(r.stderr, new RegExp(`^${arch}: (\\d+)/\\1 checks equal`, "m"));
  },
);
