// Thread count: all cores by default, SIGHTLINE_THREADS overrides it (the CLI's --threads, serve's
// --threads and caption-folder's --threads pass an explicit number that wins over both).
import { test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { defaultThreads } from "../../src/graph/session.js";

test("defaultThreads: all cores, SIGHTLINE_THREADS when it is a positive integer", () => {
  const saved = process.env.SIGHTLINE_THREADS;
  try {
    delete process.env.SIGHTLINE_THREADS;
    assert.equal(defaultThreads(), availableParallelism());
    process.env.SIGHTLINE_THREADS = "1";
    assert.equal(defaultThreads(), 1);
    process.env.SIGHTLINE_THREADS = "3";
    assert.equal(defaultThreads(), 3);
    for (const bad of ["0", "-2", "1.5", "many", ""]) {
      process.env.SIGHTLINE_THREADS = bad;
      assert.equal(defaultThreads(), availableParallelism(), bad);
    }
  } finally {
    if (saved === undefined) delete process.env.SIGHTLINE_THREADS;
    else process.env.SIGHTLINE_THREADS = saved;
  }
});
