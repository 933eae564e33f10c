// serve --quantize reaches the model workers: each model loads with its own setting (NAME=MODE over the
// bare mode, none = float32), and the quantized cache is the models folder's .quantized.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fakeModelDir, fakeRuntime, rgb } from "./helpers.js";

test("each model's worker loads with its --quantize setting", async () => {
  const dirs = { a: fakeModelDir(), b: fakeModelDir(), c: fakeModelDir() };
  const runtime = fakeRuntime({
    models: dirs,
    modelsDir: "/srv/models",
    quantize: { "*": "q4", a: "q8", c: "none" },
  });
  try {
    for (const name of Object.keys(dirs)) await runtime.caption(name, rgb(2, 2));
    const loaded = (dir: string) => JSON.parse(readFileSync(join(dir, "load-options.json"), "utf8"));
    assert.deepEqual(loaded(dirs.a).quantize, { mode: "q8", cacheDir: "/srv/models/.quantized" });
    assert.equal(loaded(dirs.b).quantize.mode, "q4");
    assert.equal(loaded(dirs.c).quantize, undefined);
  } finally {
    await runtime.close();
  }
});
