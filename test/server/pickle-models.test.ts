// The server with PyTorch pickle checkpoints (real worker processes): the seed's ViT-GPT2 as
// pytorch_model.bin answers the describe API with HF's seed caption; the malicious checkpoint fails
// its request with the catalogue error and runs nothing; --safetensors-only refuses pickle-only
// folders before a worker starts; the setting comes from flag, environment or config file.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import { parseServeConfig } from "../../src/server/config.js";
import { Runtime } from "../../src/server/runtime.js";
import { fixtureDir, seedText } from "../helpers/fixtures.js";

const CANARY = "/tmp/sightline-evil-pickle-ran";
const vitBin = join(fixtureDir("pickle"), "vit-gpt2-bin");
const evil = join(fixtureDir("pickle"), "evil-bin");
const image = readFileSync(join(vitBin, "image1.png")).toString("base64");

let app: FastifyInstance;
let runtime: Runtime;

before(async () => {
  rmSync(CANARY, { force: true });
  runtime = new Runtime({
    models: { "vit-gpt2-image-captioning": vitBin, evil },
    threads: 1,
    idleUnloadSeconds: 0,
  });
  app = await build({ runtime });
});

after(async () => {
  await app.close();
  await runtime.close();
});

test("describe API: the seed's ViT-GPT2 from pytorch_model.bin gives the seed caption", async () => {
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe/vit-gpt2-image-captioning",
    payload: { image },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().result.caption, seedText("pickle/vit-gpt2-bin"));
});

test("describe API: evil-bin fails the request with MODEL_WEIGHTS_UNSAFE and runs nothing", async () => {
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { image, model: "evil" },
  });
  assert.equal(res.statusCode, 500, res.body);
  const body = res.json();
  assert.equal(body.code, "MODEL_WEIGHTS_UNSAFE");
  assert.match(body.error, /imports posix\.system/);
  assert.doesNotMatch(body.error, /\n/);
  assert.equal(existsSync(CANARY), false, "the pickle's os.system ran");
  // The server itself is fine: the next request for a good model still works.
  const ok = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { image, model: "vit-gpt2-image-captioning" },
  });
  assert.equal(ok.statusCode, 200, ok.body);
});

test("safetensorsOnly: a pickle-only folder is refused with MODEL_WEIGHTS_PICKLE_ONLY, no worker", async () => {
  const strict = new Runtime({
    models: { vit: vitBin, safe: fixtureDir("vit-gpt2") },
    safetensorsOnly: true,
    threads: 1,
  });
  const strictApp = await build({ runtime: strict });
  try {
    const res = await strictApp.inject({
      method: "POST",
      url: "/api/v1/vision/describe",
      payload: { image, model: "vit" },
    });
    assert.equal(res.statusCode, 500, res.body);
    assert.equal(res.json().code, "MODEL_WEIGHTS_PICKLE_ONLY");
    assert.deepEqual(strict.loaded(), []);
  } finally {
    await strictApp.close();
    await strict.close();
  }
});

test("serve --safetensors-only: flag, SIGHTLINE_SAFETENSORS_ONLY, config file; default off", () => {
  assert.equal(parseServeConfig([], {}).safetensorsOnly, false);
  assert.equal(parseServeConfig(["--safetensors-only"], {}).safetensorsOnly, true);
  assert.equal(parseServeConfig([], { SIGHTLINE_SAFETENSORS_ONLY: "1" }).safetensorsOnly, true);
  assert.equal(
    parseServeConfig(["--no-safetensors-only"], { SIGHTLINE_SAFETENSORS_ONLY: "1" }).safetensorsOnly,
    false,
  );
  const dir = mkdtempSync(join(tmpdir(), "sl-serve-config-"));
  try {
    for (const key of ["safetensors-only", "safetensorsOnly"]) {
      writeFileSync(join(dir, "c.json"), JSON.stringify({ [key]: true }));
      assert.equal(parseServeConfig(["--config", join(dir, "c.json")], {}).safetensorsOnly, true, key);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
