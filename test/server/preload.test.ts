// --preload and --max-loaded-models through the Runtime and /readyz (inject), and through the
// real `sightline serve` process: /readyz is 503 until the preload models are loaded, 503 again
// as soon as draining starts; a failed preload ends the server with exit code 1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../../src/server/app.js";
import { parseServeConfig } from "../../src/server/config.js";
import { isSightlineError } from "../../src/errors.js";
import { fakeLoader, fakeModelDir, fakeRuntime, rgb, waitFor } from "./helpers.js";

const mainTs = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

test("readyz: 503 loading until every --preload model is loaded, then 200; preloaded models stay", async () => {
  const gate = join(fakeModelDir(), "open");
  const runtime = fakeRuntime({
    models: { a: fakeModelDir(), b: fakeModelDir({ load_gate: gate }), c: fakeModelDir() },
    defaultModel: "c",
    preload: ["a", "b", "a"],
    idleUnloadSeconds: 1,
  });
  const app = await build({ runtime });
  try {
    assert.deepEqual(runtime.preloads, ["a", "b"]);
    const before = await app.inject({ url: "/readyz" });
    assert.equal(before.statusCode, 503);
    assert.equal(before.json().status, "loading");
    assert.equal((await app.inject({ url: "/healthz" })).statusCode, 200, "alive while loading");
    const preloading = runtime.preload();
    await waitFor(() => runtime.loaded().some((m) => m.name === "b" && m.state === "loading"));
    assert.equal((await app.inject({ url: "/readyz" })).statusCode, 503, "a loaded, b not yet");
    writeFileSync(gate, "");
    await preloading;
    const ready = await app.inject({ url: "/readyz" });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json().loaded.sort(), ["a", "b"]);
    // Preloaded models are kept: no idle countdown, unlike a model loaded on demand.
    await runtime.caption("c", rgb(2, 2));
    const byName = new Map(runtime.loaded().map((m) => [m.name, m]));
    assert.equal(byName.get("a")!.expiresAt, undefined);
    assert.equal(byName.get("b")!.expiresAt, undefined);
    assert.ok(byName.get("c")!.expiresAt! > Date.now());
  } finally {
    await app.close();
    await runtime.close();
  }
});

test("readyz: 503 draining as soon as draining begins, while queued work still finishes", async () => {
  const runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir({ caption_delay_ms: 300 }) } });
  const app = await build({ runtime });
  try {
    assert.equal((await app.inject({ url: "/readyz" })).statusCode, 200, "no preload: ready at once");
    const job = runtime.caption(undefined, rgb(2, 2));
    await waitFor(() => runtime.loaded().length === 1);
    runtime.beginDrain();
    const draining = await app.inject({ url: "/readyz" });
    assert.equal(draining.statusCode, 503);
    assert.equal(draining.json().status, "draining");
    assert.match((await job).result.text, /^fake 2x2 /);
  } finally {
    await app.close();
    await runtime.close();
  }
});

test("a failed preload: readyz 503 failed and preload() rejects with the load error", async () => {
  const runtime = fakeRuntime({ models: { bad: fakeModelDir({ fail_load: true }) }, preload: ["bad"] });
  const app = await build({ runtime });
  try {
    await assert.rejects(runtime.preload(), /fake load failure/);
    const res = await app.inject({ url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().status, "failed");
  } finally {
    await app.close();
    await runtime.close();
  }
});

test("preload names are checked at start: unknown name, more than --max-loaded-models", () => {
  const models = { a: fakeModelDir(), b: fakeModelDir() };
  assert.throws(
    () => fakeRuntime({ models, preload: ["nope"] }),
    (e) => isSightlineError(e) && e.code === "MODEL_NOT_FOUND",
  );
  assert.throws(
    () => fakeRuntime({ models, preload: ["a", "b"], maxLoadedModels: 1 }),
    (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT" && /max-loaded-models/.test(e.message),
  );
});

test("the runtime's cap: a third model ends the least recently used idle one", async () => {
  const runtime = fakeRuntime({
    models: { a: fakeModelDir(), b: fakeModelDir(), c: fakeModelDir() },
    maxLoadedModels: 2,
  });
  try {
    await runtime.caption("a", rgb(2, 2));
    await runtime.caption("b", rgb(2, 2));
    await runtime.caption("a", rgb(2, 2));
    await runtime.caption("c", rgb(2, 2));
    assert.deepEqual(
      runtime
        .loaded()
        .map((m) => m.name)
        .sort(),
      ["a", "c"],
    );
  } finally {
    await runtime.close();
  }
});

test("settings: --preload repeatable (env and config: a list), --max-loaded-models", () => {
  const c = parseServeConfig(["--preload", "a", "--preload=b", "--max-loaded-models", "2"], {});
  assert.deepEqual(c.preload, ["a", "b"]);
  assert.equal(c.maxLoadedModels, 2);
  const env = parseServeConfig([], { SIGHTLINE_PRELOAD: "x, y", SIGHTLINE_MAX_LOADED_MODELS: "3" });
  assert.deepEqual(env.preload, ["x", "y"]);
  assert.equal(env.maxLoadedModels, 3);
  const none = parseServeConfig([], {});
  assert.deepEqual(none.preload, []);
  assert.equal(none.maxLoadedModels, 0);
  assert.throws(() => parseServeConfig(["--max-loaded-models", "-1"], {}), /whole number/);
});

test("sightline serve --preload: /readyz 503 until loaded, then 200; a failed preload exits 1", async () => {
  const gate = join(fakeModelDir(), "open");
  const good = fakeModelDir({ load_gate: gate });
  const bad = fakeModelDir({ fail_load: true });
  const run = (args: string[]) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", mainTs, "serve", "--port", "0", "--worker-loader", fakeLoader, ...args],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const logs: string[] = [];
    child.stdout!.on("data", (b: Buffer) => logs.push(b.toString()));
    child.stderr!.on("data", (b: Buffer) => logs.push(b.toString()));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const base = async () => {
      await waitFor(() => /sightline listening on/.test(logs.join("")), 30_000);
      return /sightline listening on (http:\/\/[^"]+)"/.exec(logs.join(""))![1]!;
    };
    return { child, logs, exit, base };
  };

  const s = run(["--model", `kosmos-2=${good}`, "--preload", "kosmos-2"]);
  try {
    const base = await s.base();
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    writeFileSync(gate, "");
    await waitFor(() => /preloaded, ready/.test(s.logs.join("")), 30_000);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal(await s.exit, 0, s.logs.join(""));

  const f = run(["--model", `kosmos-2=${bad}`, "--preload", "kosmos-2"]);
  assert.equal(await f.exit, 1, f.logs.join(""));
  assert.match(f.logs.join(""), /preloading kosmos-2 failed/);
  assert.match(f.logs.join(""), /--preload failed: .*fake load failure/);
});
