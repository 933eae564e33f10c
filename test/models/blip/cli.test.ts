// `sightline caption` on the BLIP fixture as a user runs it (a child process through src/cli/main.ts):
// unconditional captioning with the text decoder's defaults, and a prompt prefix with beam search.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FIXTURE, cases } from "./fixture.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function sightline(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", `${ROOT}src/cli/main.ts`, ...args],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1" } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const unconditional = cases.find((c) => c.prompt === null)!;
const conditional = cases.find((c) => c.prompt !== null)!;

test("caption --json without a prompt: the seed call (text decoder defaults)", async () => {
  const seed = unconditional.generations.find((g) => g.name === "seed")!;
  const r = await sightline("caption", `${FIXTURE}${unconditional.image}`, "--model", FIXTURE, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.token_ids, seed.sequences[0]);
  assert.equal(out.text, seed.text[0].trim());
});

test("caption --prompt (text prefix) --num-beams 3 --max-new-tokens 20 --suppress-tokens", async () => {
  const beam = conditional.generations.find((g) => g.name === "beam3_fixed")!;
  const r = await sightline(
    "caption",
    `${FIXTURE}${conditional.image}`,
    "--model",
    FIXTURE,
    "--json",
    "--prompt",
    conditional.prompt!,
    "--num-beams",
    "3",
    "--max-new-tokens",
    "20",
    "--suppress-tokens",
    beam.kwargs.suppress_tokens.join(","),
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.token_ids, beam.sequences[0]);
  assert.equal(out.text, beam.text[0].trim());
});
