import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { acquireLock } from "../../src/hub/lock.js";
import { resolveModel } from "../../src/hub/index.js";
import { startFakeHub } from "../helpers/hub-server.js";
import { waitFor } from "../server/helpers.js";
import { fixture, folderDifferences, withTempDir } from "./fixture-files.js";

function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  return r.pid!;
}

interface Child {
  ready: Promise<void>;
  go(): void;
  result: Promise<{ dir: string; events: string[] }>;
}

function startChild(args: string[]): Child {
  const script = fileURLToPath(new URL("./pull-child.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  child.stdout.on("data", (d) => {
    out += d;
    if (out.startsWith("ready\n")) markReady();
  });
  child.stderr.on("data", (d) => (err += d));
  const result = new Promise<{ dir: string; events: string[] }>((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.slice("ready\n".length)))
        : reject(new Error(`child failed (${code}): ${err}`)),
    ),
  );
  return { ready, go: () => child.stdin.end("go\n"), result };
}

test("the second holder waits until the first releases", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, ".lock");
    const first = await acquireLock(path);
    let waited = false;
    let secondHeld = false;
    const second = acquireLock(path, { pollMs: 10, onWait: () => (waited = true) }).then((l) => {
      secondHeld = true;
      return l;
    });
    await waitFor(() => waited); // the second found the lock taken and waits
    assert.equal(secondHeld, false);
    await first.release();
    const l2 = await second;
    assert.equal(secondHeld, true);
    const holder = JSON.parse(await readFile(path, "utf8"));
    assert.equal(holder.pid, process.pid);
    await l2.release();
    await assert.rejects(stat(path));
  });
});

test("a lock left by a dead process is broken", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, ".lock");
    await writeFile(
      path,
      JSON.stringify({ pid: deadPid(), host: hostname(), since: new Date().toISOString(), nonce: "x" }),
    );
    const lock = await acquireLock(path, { timeoutMs: 2000 });
    assert.equal(JSON.parse(await readFile(path, "utf8")).pid, process.pid);
    await lock.release();
  });
});

test("a lock nobody refreshed for staleAfterMs is broken even if its pid lives", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, ".lock");
    await writeFile(path, JSON.stringify({ pid: process.pid, host: "elsewhere", since: "x", nonce: "y" }));
    const old = new Date(Date.now() - 10_000);
    await utimes(path, old, old);
    const lock = await acquireLock(path, { staleAfterMs: 5_000, timeoutMs: 2000 });
    await lock.release();
    // A fresh foreign lock is respected.
    await writeFile(path, JSON.stringify({ pid: process.pid, host: "elsewhere", since: "x", nonce: "y" }));
    await assert.rejects(acquireLock(path, { staleAfterMs: 5_000, timeoutMs: 200, pollMs: 20 }), /timed out/);
  });
});

test("the holder keeps its lock fresh while it works", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, ".lock");
    const lock = await acquireLock(path, { heartbeatMs: 20 });
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    // The heartbeat touches it again (a stale lock would stay an hour old).
    await waitFor(async () => Date.now() - (await stat(path)).mtimeMs < 1000);
    await lock.release();
  });
});

test("two processes pulling one model: one downloads, the other waits and finds it complete", async () => {
  const hub = await startFakeHub({ "tiny/vit-gpt2": { dir: fixture("vit-gpt2") } });
  try {
    await withTempDir(async (cacheDir) => {
      hub.setChunkDelay(15); // ~1.5 s for the weights, so the two pulls overlap
      const children = [0, 1].map(() => startChild([hub.endpoint, cacheDir, "tiny/vit-gpt2"]));
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      const [a, b] = await Promise.all(children.map((c) => c.result));
      assert.equal(a.dir, b.dir);
      assert.equal(hub.contentRequests("tiny/vit-gpt2/model.safetensors").length, 1);
      const downloaded = [a, b].filter((r) => r.events.includes("file-done"));
      const waited = [a, b].filter((r) => r.events.includes("waiting"));
      assert.equal(downloaded.length, 1);
      assert.equal(waited.length, 1);
      assert.deepEqual(await folderDifferences(fixture("vit-gpt2"), a.dir), []);
      await assert.rejects(stat(join(cacheDir, "tiny--vit-gpt2", ".lock")));
      // And in-process, a later resolve reuses it.
      assert.equal(
        await resolveModel("tiny/vit-gpt2", { endpoint: hub.endpoint, cacheDir, offline: false }),
        a.dir,
      );
    });
  } finally {
    await hub.close();
  }
});
