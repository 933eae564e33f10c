// Pickle-only repos on the (fake) hub: pytorch_model.bin (or its shards and index) is downloaded when
// a repo has no safetensors, read by the restricted reader before the snapshot counts as complete,
// and captions like HF; safetensors stay preferred; the malicious checkpoint is refused and leaves
// nothing that counts as a snapshot; --safetensors-only refuses before downloading anything.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isSightlineError } from "../../src/errors.js";
import { listInstalled, pullModel, resolveModel, RepoCache } from "../../src/hub/index.js";
import { WeightStore } from "../../src/graph/safetensors.js";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import { readExpected } from "../helpers/fixtures.js";
import { startFakeHub, type FakeHub } from "../helpers/hub-server.js";
import { fixture, folderDifferences, withTempDir } from "./fixture-files.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CANARY = "/tmp/sightline-evil-pickle-ran";

async function withHub<T>(fn: (hub: FakeHub) => Promise<T>): Promise<T> {
  const hub = await startFakeHub({
    "tiny/vit-gpt2-bin": { dir: fixture("pickle/vit-gpt2-bin") },
    "tiny/florence-2-bin": { dir: fixture("pickle/florence-2-bin") },
    "tiny/blip-bin": { dir: fixture("pickle/blip-bin") },
    // Both kinds of weights, as many repos have them: only the safetensors come down.
    "tiny/both": {
      dir: fixture("vit-gpt2"),
      include: (n) => n !== "expected.json",
      files: { "pytorch_model.bin": Buffer.alloc(4096, 1) },
    },
    "evil/bin": { dir: fixture("pickle/evil-bin") },
  });
  try {
    return await fn(hub);
  } finally {
    await hub.close();
  }
}

const opts = (hub: FakeHub, cacheDir: string, extra: Record<string, unknown> = {}) => ({
  endpoint: hub.endpoint,
  cacheDir,
  offline: false,
  token: "",
  retryDelayMs: 5,
  ...extra,
});

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isSightlineError(e), String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test("pickle-only repos are pulled (single, sharded, legacy) and caption like HF", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      for (const arch of ["vit-gpt2-bin", "florence-2-bin", "blip-bin"]) {
        const dir = await resolveModel(`tiny/${arch}`, opts(hub, cacheDir));
        assert.deepEqual(await folderDifferences(fixture(`pickle/${arch}`), dir), [], arch);
        assert.ok(WeightStore.open(dir).names().length > 0);
      }
      // Sharded: the index first, then the four shards it names, each once.
      for (let i = 1; i <= 4; i++) {
        const shard = `tiny/florence-2-bin/pytorch_model-0000${i}-of-00004.bin`;
        assert.equal(hub.contentRequests(shard).length, 1, shard);
      }
      const dir = await resolveModel("tiny/vit-gpt2-bin", opts(hub, cacheDir));
      const c = readExpected("pickle/vit-gpt2-bin").cases[0];
      const greedy = c.generations.find((g: { name: string }) => g.name === "greedy");
      const model = await loadModel(dir, { threads: 1 });
      try {
        const r = await model.caption(await readImageFile(join(fixture("pickle/vit-gpt2-bin"), c.image)), {
          maxNewTokens: 20,
          numBeams: 1,
        });
        assert.deepEqual(r.tokenIds, greedy.sequences[0]);
        assert.equal(r.text, greedy.text[0].trim());
      } finally {
        await model.dispose();
      }
    }),
  );
});

test("a repo with safetensors and pytorch_model.bin: only the safetensors are downloaded", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const dir = await resolveModel("tiny/both", opts(hub, cacheDir));
      assert.ok(existsSync(join(dir, "model.safetensors")));
      assert.ok(!existsSync(join(dir, "pytorch_model.bin")));
      assert.ok(!hub.log.some((e) => e.path.includes("pytorch_model")));
    }),
  );
});

test("evil-bin on the hub: refused naming the global, nothing left that counts as a snapshot", async () => {
  rmSync(CANARY, { force: true });
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      await rejectsWith(
        resolveModel("evil/bin", opts(hub, cacheDir)),
        "MODEL_WEIGHTS_UNSAFE",
        /posix\.system/,
      );
      await rejectsWith(pullModel("evil/bin", opts(hub, cacheDir)), "MODEL_WEIGHTS_UNSAFE", /posix\.system/);
      const cache = new RepoCache(cacheDir, "evil/bin");
      assert.deepEqual(await cache.readRefs(), {});
      assert.deepEqual(await readdir(join(cache.dir, "snapshots")), []);
      assert.deepEqual(await readdir(join(cache.dir, "manifests")).catch(() => []), []);
      assert.deepEqual(
        (await listInstalled(cacheDir)).filter((m) => m.complete),
        [],
      );
      await rejectsWith(resolveModel("evil/bin", { cacheDir, offline: true }), "MODEL_NOT_DOWNLOADED");
      assert.equal(existsSync(CANARY), false, "the pickle's os.system ran");
    }),
  );
});

test("safetensorsOnly: refused before any download, and a pickle snapshot pulled earlier is refused too", async () => {
  await withHub(async (hub) =>
    withTempDir(async (cacheDir) => {
      const strict = opts(hub, cacheDir, { safetensorsOnly: true });
      await rejectsWith(
        resolveModel("tiny/vit-gpt2-bin", strict),
        "MODEL_WEIGHTS_PICKLE_ONLY",
        /--safetensors-only/,
      );
      assert.ok(hub.log.every((e) => e.path.startsWith("/api/")));
      assert.deepEqual(await readdir(cacheDir), []);
      await resolveModel("tiny/vit-gpt2-bin", opts(hub, cacheDir));
      await rejectsWith(resolveModel("tiny/vit-gpt2-bin", strict), "MODEL_WEIGHTS_PICKLE_ONLY");
      await rejectsWith(
        resolveModel("tiny/vit-gpt2-bin", { cacheDir, offline: true, safetensorsOnly: true }),
        "MODEL_WEIGHTS_PICKLE_ONLY",
      );
      await rejectsWith(pullModel("tiny/vit-gpt2-bin", strict), "MODEL_WEIGHTS_PICKLE_ONLY");
      // safetensors repos are unaffected
      assert.ok(existsSync(join(await resolveModel("tiny/both", strict), "model.safetensors")));
    }),
  );
});

function sightline(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test("models pull through the CLI: evil-bin refused in one line, SIGHTLINE_SAFETENSORS_ONLY honoured", async () => {
  rmSync(CANARY, { force: true });
  await withHub(async (hub) =>
    withTempDir(async (modelsDir) => {
      const env = { HF_ENDPOINT: hub.endpoint, SIGHTLINE_MODELS_DIR: modelsDir };
      const [evil, strict] = await Promise.all([
        sightline(["models", "pull", "evil/bin"], env),
        sightline(["models", "pull", "tiny/vit-gpt2-bin"], { ...env, SIGHTLINE_SAFETENSORS_ONLY: "1" }),
      ]);
      assert.equal(evil.code, 1);
      assert.match(evil.stderr, /^error MODEL_WEIGHTS_UNSAFE: refused to load .*imports posix\.system/m);
      assert.doesNotMatch(evil.stderr, /\n\s+at /);
      assert.equal(strict.code, 1);
      assert.match(
        strict.stderr,
        /^error MODEL_WEIGHTS_PICKLE_ONLY: tiny\/vit-gpt2-bin@main has only pytorch_model\.bin/m,
      );
      assert.equal(existsSync(CANARY), false);
    }),
  );
});
