import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeHub, type FakeHub } from "../helpers/hub-server.js";
import { fixture, folderDifferences, withTempDir } from "./fixture-files.js";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function sightline(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test("models pull / list / rm through the CLI", async () => {
  const hub: FakeHub = await startFakeHub({
    "tiny/vit-gpt2": { dir: fixture("vit-gpt2") },
    "legacy/pickle-only": { files: { "config.json": "{}", "pytorch_model.bin": "x" } },
  });
  try {
    await withTempDir(async (modelsDir) => {
      const env = { HF_ENDPOINT: hub.endpoint };
      const pulled = await sightline(["models", "pull", "tiny/vit-gpt2", "--models-dir", modelsDir], env);
      assert.equal(pulled.code, 0, pulled.stderr);
      // Not a terminal: plain lines, one per file, no bar.
      assert.match(pulled.stderr, /tiny\/vit-gpt2@main \([0-9a-f]{7}\), 9 files, [\d.]+ MB/);
      assert.match(pulled.stderr, /^ {2}model\.safetensors {2}6\.8 MB/m);
      assert.match(pulled.stdout, /downloaded [\d.]+ MB → .*tiny--vit-gpt2\/snapshots\/[0-9a-f]{40}/);
      const dir = pulled.stdout.trim().split("→ ")[1];
      assert.deepEqual(await folderDifferences(fixture("vit-gpt2"), dir), []);

      const again = await sightline(["models", "pull", "tiny/vit-gpt2"], {
        ...env,
        SIGHTLINE_MODELS_DIR: modelsDir,
      });
      assert.match(again.stdout, /already complete/);

      const listed = await sightline(["models", "list", "--models-dir", modelsDir], {});
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /^NAME\s+REVISION\s+COMMIT\s+SIZE\s+ARCHITECTURE$/m);
      assert.match(
        listed.stdout,
        /^tiny\/vit-gpt2\s+main\s+[0-9a-f]{7}\s+9\.7 MB\s+VisionEncoderDecoderModel$/m,
      );

      const offline = await sightline(
        ["models", "pull", "kosmos-2", "--offline", "--models-dir", modelsDir],
        env,
      );
      assert.equal(offline.code, 1); // --offline only checks what is there
      assert.match(offline.stderr, /^error MODEL_NOT_DOWNLOADED: /m);

      const pickle = await sightline(
        ["models", "pull", "legacy/pickle-only", "--models-dir", modelsDir, "--safetensors-only"],
        env,
      );
      assert.equal(pickle.code, 1);
      assert.match(
        pickle.stderr,
        /^error MODEL_WEIGHTS_PICKLE_ONLY: legacy\/pickle-only@main has only pytorch_model\.bin/m,
      );

      const removed = await sightline(["models", "rm", "tiny/vit-gpt2", "--models-dir", modelsDir], {});
      assert.equal(removed.code, 0, removed.stderr);
      assert.deepEqual(await readdir(modelsDir), []);
      const empty = await sightline(["models", "list", "--models-dir", modelsDir], {});
      assert.match(empty.stdout, /no models in/);
      const missing = await sightline(["models", "rm", "tiny/vit-gpt2", "--models-dir", modelsDir], {});
      assert.match(missing.stderr, /^error MODEL_NOT_FOUND/m);
    });
  } finally {
    await hub.close();
  }
});

test("models rm NAME@REV removes only that snapshot", async () => {
  const hub = await startFakeHub({
    "tiny/blip": { dir: fixture("blip"), revisions: { "refs/pr/2": "2".repeat(40) } },
  });
  try {
    await withTempDir(async (modelsDir) => {
      const env = { HF_ENDPOINT: hub.endpoint };
      const r = await sightline(
        ["models", "pull", "tiny/blip", "tiny/blip@refs/pr/2", "--models-dir", modelsDir],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await readdir(join(modelsDir, "tiny--blip", "snapshots"))).length, 2);
      const rm = await sightline(["models", "rm", "tiny/blip@refs/pr/2", "--models-dir", modelsDir], {});
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal((await readdir(join(modelsDir, "tiny--blip", "snapshots"))).length, 1);
      const listed = await sightline(["models", "list", "--models-dir", modelsDir], {});
      assert.match(listed.stdout, /^tiny\/blip\s+main\s/m);
      assert.doesNotMatch(listed.stdout, /refs\/pr\/2/);
    });
  } finally {
    await hub.close();
  }
});
