// `sightline caption --prompt` past the model's limit: the same one-line PROMPT_TOO_LONG error the
// server answers, by characters before the model loads and by tokens before any inference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BLIP = join(ROOT, "../shared/fixtures/blip");

function caption(prompt: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli/main.ts"),
        "caption",
        join(BLIP, "image1.png"),
        "--model",
        BLIP,
        "--prompt",
        prompt,
      ],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1" } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function assertOneLine(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, message);
}

test("caption --prompt longer than any prompt the model takes: one line, before loading", async () => {
  // BLIP's 512 positions: at most 511 tokens, 9709 characters.
  assertOneLine(
    await caption("b".repeat(20_000)),
    /^error PROMPT_TOO_LONG: prompt is too long: 20000 characters; /,
  );
});

test("caption --prompt over the model's positions in tokens: one line", async () => {
  assertOneLine(
    await caption("a ".repeat(600)),
    /^error PROMPT_TOO_LONG: prompt is too long: it needs 601 text positions; /,
  );
});
