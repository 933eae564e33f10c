// `sightline caption IMAGE --model <kosmos-2 folder> --json` in a child process: the seed's ids, the
// cleaned caption and the entities.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FIXTURE, expected } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function sightline(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1" } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("caption --json on the Kosmos-2 fixture gives the seed's run with entities", async () => {
  const c = expected.cases[1];
  const seed = c.generations.find((r: any) => r.name === "seed");
  const r = await sightline("caption", join(FIXTURE, c.image), "--model", FIXTURE, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.token_ids, seed.sequences[0]);
  assert.equal(out.text, seed.text[0].trim()); // batch_decode(skip_special_tokens=True), stripped
  assert.equal(out.caption, seed.post_process[0].caption);
  assert.deepEqual(out.entities, []);
  assert.deepEqual(Object.keys(out.timings).sort(), ["decode", "encode", "preprocess"]);
});

test("caption (plain) prints the cleaned caption", async () => {
  const c = expected.cases[0];
  const run = c.generations.find((r: any) => r.name === "greedy");
  const r = await sightline("caption", join(FIXTURE, c.image), "--model", FIXTURE, "--max-new-tokens", "20");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), run.post_process[0].caption);
});
