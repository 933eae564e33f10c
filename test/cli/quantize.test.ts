// `--quantize` on the commands that load a model in this process: a bad value is a usage error (exit 2)
// before anything loads; q8 captions through the --json contract and caches its weights in the models
// folder's .quantized, never in the model's own folder; a second run reads the cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = join(ROOT, "../shared/fixtures/vit-gpt2");

function sightline(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1", ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("caption --quantize: bad value → exit 2; q8 → JSON caption, weights cached beside the models", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-cli-quantize-"));
  try {
    const model = join(dir, "my-model");
    cpSync(FIXTURE, model, { recursive: true });
    const before = readdirSync(model).sort();
    const env = { SIGHTLINE_MODELS_DIR: join(dir, "models") };
    const image = join(model, "image1.png");
    const bad = await sightline(env, "caption", image, "--model", model, "--quantize", "int4");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error INVALID_ARGUMENT: --quantize must be q8, q4 or none, not "int4"/);
    const folder = await sightline(
      env,
      "caption-folder",
      dir,
      "--server",
      "http://127.0.0.1:1",
      "--quantize",
      "q8",
    );
    assert.equal(folder.code, 2, folder.stderr);

    for (let run = 0; run < 2; run++) {
      const r = await sightline(env, "caption", image, "--model", model, "--json", "--quantize", "q8");
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.token_ids[0], 50256);
      assert.equal(typeof out.text, "string");
      const cached = readdirSync(join(dir, "models", ".quantized"));
      assert.equal(cached.filter((f) => f.endsWith(".safetensors")).length, 1, cached.join(", "));
    }
    assert.deepEqual(readdirSync(model).sort(), before, "nothing written into the model's folder");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
