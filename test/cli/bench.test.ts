// sightline bench: argument checks and the results table (the benchmarks themselves take minutes and
// gigabytes; bench/*.ts are run by hand or `npm run bench`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTable, run, type BenchRow } from "../../src/cli/commands/bench.js";
import { isSightlineError } from "../../src/errors.js";
import { benchRow } from "../helpers/bench-row.js";
import { captureStdout } from "../helpers/stdout.js";

const row = benchRow({ beam3: { wallMs: NaN, cpuMs: NaN } });

test("bench table: ours with CPU time and speed-up, HF PyTorch beneath, unmeasured steps as a dash", () => {
  const table = formatTable([row]);
  const lines = table.split("\n");
  assert.match(lines[0], /^model\s+load\s+encoder\s+20 greedy tokens\s+3 beams\s+RSS$/);
  const ours = lines.find((l) => l.startsWith("vit-gpt2"))!;
  assert.match(ours, /1973 ms \(cpu 1678 ms\)/);
  assert.match(ours, /166 ms \(cpu 320 ms\) 2\.0×/);
  assert.match(ours, /750 ms \(cpu 1400 ms\) 5\.3×/);
  assert.match(ours, /—/);
  assert.match(ours, /1\.30 GiB/);
  const hf = lines[lines.indexOf(ours) + 1];
  assert.match(hf, /HF PyTorch\s+332 ms\s+3974 ms\s+6249 ms/);
  // Through JSON (from a child process) NaN arrives as null: still a dash.
  const viaJson = JSON.parse(JSON.stringify(row)) as BenchRow;
  assert.match(formatTable([viaJson]), /—/);
});

test("bench: unknown architecture and bad numbers are INVALID_ARGUMENT; --help exits 0", async () => {
  for (const argv of [
    ["gpt-5"],
    ["blip", "--runs", "0"],
    ["blip", "--threads", "two"],
    ["blip", "kosmos-2"],
  ]) {
    await assert.rejects(
      run(argv),
      (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT",
      argv.join(" "),
    );
  }
  const printed = await captureStdout(async () => assert.equal(await run(["--help"]), 0));
  assert.match(printed, /vit-gpt2\|blip\|kosmos-2\|florence-2\|all/);
});

test("bench --json keeps stdout for the JSON: detail lines go to stderr, and console.log is itself again afterwards", async () => {
  const log = console.log;
  await assert.rejects(
    run(["vit-gpt2", "--quantize", "q8", "--block-size", "7", "--json"]),
    (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT",
  );
  assert.equal(console.log, log);
});

test("bench kernels: in --help; --quantize, --concurrency and a bad --runs are refused before anything runs", async () => {
  const printed = await captureStdout(async () => assert.equal(await run(["--help"]), 0));
  assert.match(printed, /sightline bench kernels/);
  for (const args of [
    ["kernels", "--quantize", "q8"],
    ["kernels", "--concurrency", "8"],
    ["kernels", "--runs", "0"],
  ])
    await assert.rejects(run(args), (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT");
  await assert.rejects(run(["kernel"]), (e) => isSightlineError(e) && /or kernels/.test(e.message));
});
