// `serve --quantize`: one mode for every model, or per model name; from flags, the environment and the
// config file; bad values are usage errors. The runtime hands each model's setting to its worker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseServeConfig } from "../../src/server/config.js";

test("serve --quantize: a bare mode for every model, NAME=MODE per model, later flags win", () => {
  assert.deepEqual(parseServeConfig([], {}).quantize, {});
  assert.deepEqual(parseServeConfig(["--quantize", "q8"], {}).quantize, { "*": "q8" });
  assert.deepEqual(
    parseServeConfig(["--quantize", "q4", "--quantize", "kosmos=q8", "--quantize=blip=none"], {}).quantize,
    { "*": "q4", kosmos: "q8", blip: "none" },
  );
  assert.deepEqual(parseServeConfig(["--quantize", "a=q8,b=Q4"], {}).quantize, { a: "q8", b: "q4" });
});

test("serve --quantize: environment and config file (string or object), flag > env > file", () => {
  assert.deepEqual(parseServeConfig([], { SIGHTLINE_QUANTIZE: "kosmos=q8" }).quantize, { kosmos: "q8" });
  const dir = mkdtempSync(join(tmpdir(), "sl-quant-config-"));
  try {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ quantize: { "*": "q4", florence: "q8" } }));
    assert.deepEqual(parseServeConfig(["--config", file], {}).quantize, { "*": "q4", florence: "q8" });
    assert.deepEqual(parseServeConfig(["--config", file], { SIGHTLINE_QUANTIZE: "q8" }).quantize, {
      "*": "q8",
    });
    writeFileSync(file, JSON.stringify({ quantize: "q8" }));
    assert.deepEqual(parseServeConfig(["--config", file, "--quantize", "none"], {}).quantize, {
      "*": "none",
    });
    writeFileSync(file, JSON.stringify({ quantize: { blip: "int4" } }));
    assert.throws(() => parseServeConfig(["--config", file], {}), {
      code: "INVALID_ARGUMENT",
      message: /q8, q4 or none/,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve --quantize: bad values are INVALID_ARGUMENT", () => {
  for (const argv of [
    ["--quantize", "q5"],
    ["--quantize", "=q8"],
    ["--quantize", "kosmos=fp16"],
    ["--quantize"],
  ]) {
    assert.throws(() => parseServeConfig(argv, {}), { code: "INVALID_ARGUMENT" }, argv.join(" "));
  }
});
