// The Runtime API other dialects use for model lifetime (Ollama's keep_alive, /api/ps):
// load, unload, per-model idle time, the list of loaded models, drain on close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isSightlineError } from "../../src/errors.js";
import { alive, fakeModelDir, fakeRuntime, rgb, waitFor } from "./helpers.js";

test("load, loaded(), setIdleUnload, unload; names resolve through the registry", async () => {
  const runtime = fakeRuntime({
    models: { a: fakeModelDir({ task_prompts: { "<X>": "x" } }), b: fakeModelDir() },
    defaultModel: "b",
  });
  try {
    assert.deepEqual(runtime.loaded(), []);
    const info = await runtime.load("a");
    assert.equal(info.arch, "fake");
    assert.deepEqual(info.taskPrompts, { "<X>": "x" });
    const [a] = runtime.loaded();
    assert.equal(a!.name, "a");
    assert.ok(alive(a!.pid));
    assert.equal(a!.expiresAt, undefined, "idle unload off in this runtime");
    runtime.setIdleUnload("a", 0.4); // an idle model's countdown starts at once
    assert.ok(runtime.loaded()[0]!.expiresAt! > Date.now());
    await runtime.caption("a", rgb(2, 2));
    assert.ok(runtime.loaded()[0]!.expiresAt! > Date.now());
    await waitFor(() => runtime.loaded().length === 0, 3000);
    await waitFor(() => !alive(a!.pid));
    // default model when no name is given
    const out = await runtime.caption(undefined, rgb(3, 2));
    assert.equal(out.model.name, "b");
    runtime.unload("b");
    await waitFor(() => runtime.loaded().length === 0);
    await assert.rejects(
      runtime.caption("zzz", rgb(2, 2)),
      (e) => isSightlineError(e) && e.code === "MODEL_NOT_FOUND",
    );
  } finally {
    await runtime.close();
  }
});

test("close(drainMs) lets queued work finish, then refuses new work", async () => {
  const runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir({ caption_delay_ms: 100 }) } });
  const jobs = [runtime.caption(undefined, rgb(2, 2)), runtime.caption(undefined, rgb(2, 2))];
  const closing = runtime.close(5000);
  assert.equal(runtime.isDraining, true);
  await assert.rejects(
    runtime.caption(undefined, rgb(2, 2)),
    (e) => isSightlineError(e) && e.code === "SHUTTING_DOWN",
  );
  const results = await Promise.all(jobs);
  assert.equal(results.length, 2);
  await closing;
  assert.deepEqual(runtime.loaded(), []);
});
