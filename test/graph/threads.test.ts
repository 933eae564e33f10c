// Thread count: one per physical core by default, SIGHTLINE_THREADS overrides it (the CLI's --threads, serve's
// --threads and caption-folder's --threads pass an explicit number that wins over both).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { defaultThreads, physicalCores } from "../../src/graph/session.js";

const coresDefault = () => Math.min(availableParallelism(), physicalCores() ?? availableParallelism());

test("physicalCores: distinct package and core ids; SMT siblings and offline CPUs count once", () => {
  const root = mkdtempSync(join(tmpdir(), "sightline-cpu-"));
  try {
    // 2 packages × 2 cores × 2 SMT threads, plus cpu8 offline (no topology) and a cpufreq folder.
    for (let cpu = 0; cpu < 8; cpu++) {
      const topology = join(root, `cpu${cpu}`, "topology");
      mkdirSync(topology, { recursive: true });
      writeFileSync(join(topology, "physical_package_id"), `${cpu >> 2}\n`);
      writeFileSync(join(topology, "core_id"), `${(cpu >> 1) & 1}\n`);
    }
    mkdirSync(join(root, "cpu8"));
    mkdirSync(join(root, "cpufreq"));
    assert.equal(physicalCores(root), 4);
    assert.equal(physicalCores(join(root, "missing")), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("defaultThreads: one per physical core (at most the usable CPUs), SIGHTLINE_THREADS when it is a positive integer", () => {
  const saved = process.env.SIGHTLINE_THREADS;
  try {
    delete process.env.SIGHTLINE_THREADS;
    assert.equal(defaultThreads(), coresDefault());
    assert.ok(defaultThreads() >= 1 && defaultThreads() <= availableParallelism());
    process.env.SIGHTLINE_THREADS = "1";
    assert.equal(defaultThreads(), 1);
    process.env.SIGHTLINE_THREADS = "3";
    assert.equal(defaultThreads(), 3);
    for (const bad of ["0", "-2", "1.5", "many", ""]) {
      process.env.SIGHTLINE_THREADS = bad;
      assert.equal(defaultThreads(), coresDefault(), bad);
    }
  } finally {
    if (saved === undefined) delete process.env.SIGHTLINE_THREADS;
    else process.env.SIGHTLINE_THREADS = saved;
  }
});
