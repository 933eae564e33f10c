import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { planDownload, shardNames } from "../../src/hub/files.js";
import { shardFileNames } from "../../src/graph/weight-files.js";
import { resolveModel } from "../../src/hub/index.js";
import { isSightlineError } from "../../src/errors.js";
import { startFakeHub } from "../helpers/hub-server.js";
import { withTempDir } from "./fixture-files.js";

const names = (xs: { name: string }[]) => xs.map((x) => x.name);
const listing = (...files: string[]) => files.map((name) => ({ name }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isSightlineError(e) ? e.code : String(e);
  }
  return undefined;
}

test("only configs, tokenizer files and safetensors weights are planned", () => {
  const plan = planDownload(
    listing(
      ".gitattributes",
      "README.md",
      "config.json",
      "generation_config.json",
      "preprocessor_config.json",
      "tokenizer.json",
      "vocab.txt",
      "special_tokens_map.json",
      "pytorch_model.bin",
      "tf_model.h5",
      "model.safetensors",
      "modeling_florence2.py",
      "onnx/model.onnx",
    ),
    "x/y@main",
  );
  assert.deepEqual(names(plan.files).sort(), [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "vocab.txt",
  ]);
  assert.equal(plan.shardIndex, undefined);
});

test("sharded safetensors: the index is planned and names the shards", () => {
  const plan = planDownload(
    listing("config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors"),
    "x",
  );
  assert.equal(plan.shardIndex?.name, "model.safetensors.index.json");
  const index = JSON.stringify({
    metadata: { total_size: 10 },
    weight_map: {
      a: "model-00001-of-00002.safetensors",
      b: "model-00002-of-00002.safetensors",
      c: "model-00001-of-00002.safetensors",
    },
  });
  assert.deepEqual(shardNames(index, "x"), [
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
  ]);
  assert.equal(
    codeOf(() => shardNames(JSON.stringify({ weight_map: { a: "../../etc/passwd.safetensors" } }), "x")),
    "SAFETENSORS_INVALID",
  );
  assert.equal(
    codeOf(() => shardNames("not json", "x")),
    "SAFETENSORS_INVALID",
  );
});

test("pickle-only repos: the .bin (or its index) is planned; safetensors stay preferred", () => {
  const single = planDownload(listing("config.json", "vocab.json", "pytorch_model.bin", "tf_model.h5"), "x");
  assert.deepEqual(names(single.files).sort(), ["config.json", "pytorch_model.bin", "vocab.json"]);
  assert.equal(single.weights, "pytorch");
  const sharded = planDownload(
    listing("config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"),
    "x",
  );
  assert.equal(sharded.shardIndex?.name, "pytorch_model.bin.index.json");
  assert.equal(sharded.weights, "pytorch");
  const index = JSON.stringify({
    weight_map: { a: "pytorch_model-00001-of-00002.bin", b: "pytorch_model-00002-of-00002.bin" },
  });
  assert.deepEqual(shardFileNames(index, "pytorch", "x"), [
    "pytorch_model-00001-of-00002.bin",
    "pytorch_model-00002-of-00002.bin",
  ]);
  assert.equal(
    codeOf(() => shardFileNames(JSON.stringify({ weight_map: { a: "../evil.bin" } }), "pytorch", "x")),
    "CHECKPOINT_INVALID",
  );
  const both = planDownload(listing("config.json", "pytorch_model.bin", "model.safetensors"), "x");
  assert.deepEqual(names(both.files).sort(), ["config.json", "model.safetensors"]);
  assert.equal(both.weights, "safetensors");
});

test("pickle-only repos under safetensorsOnly, weightless and config-less repos are refused with their own codes", () => {
  const strict = { safetensorsOnly: true };
  assert.equal(
    codeOf(() => planDownload(listing("config.json", "pytorch_model.bin"), "x", strict)),
    "MODEL_WEIGHTS_PICKLE_ONLY",
  );
  assert.equal(
    codeOf(() =>
      planDownload(
        listing("config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"),
        "x",
        strict,
      ),
    ),
    "MODEL_WEIGHTS_PICKLE_ONLY",
  );
  assert.equal(
    codeOf(() => planDownload(listing("config.json", "model.safetensors"), "x", strict)),
    undefined,
  );
  assert.equal(
    codeOf(() => planDownload(listing("config.json", "tf_model.h5"), "x")),
    "MODEL_WEIGHTS_MISSING",
  );
  assert.equal(
    codeOf(() => planDownload(listing("model.safetensors"), "x")),
    "MODEL_CONFIG_MISSING",
  );
});

test("a sharded repo is pulled as index + the shards it names, nothing else", async () => {
  const shard1 = Buffer.alloc(300_000, 1);
  const shard2 = Buffer.alloc(200_000, 2);
  const index = JSON.stringify({
    metadata: { total_size: 500_000 },
    weight_map: {
      "a.weight": "model-00001-of-00002.safetensors",
      "b.weight": "model-00002-of-00002.safetensors",
    },
  });
  const hub = await startFakeHub({
    "big/sharded": {
      files: {
        "config.json": '{"model_type": "blip"}',
        "tokenizer.json": "{}",
        "model.safetensors.index.json": index,
        "model-00001-of-00002.safetensors": shard1,
        "model-00002-of-00002.safetensors": shard2,
        "model.fp16-00001-of-00001.safetensors": Buffer.alloc(10, 3),
        "pytorch_model.bin": Buffer.alloc(10, 4),
      },
    },
  });
  try {
    await withTempDir(async (cacheDir) => {
      const dir = await resolveModel("big/sharded", {
        endpoint: hub.endpoint,
        cacheDir,
        offline: false,
        token: "",
      });
      assert.deepEqual((await readdir(dir)).sort(), [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "tokenizer.json",
      ]);
      assert.ok((await readFile(join(dir, "model-00001-of-00002.safetensors"))).equals(shard1));
      assert.ok((await readFile(join(dir, "model-00002-of-00002.safetensors"))).equals(shard2));
      assert.ok(!hub.log.some((e) => /fp16|pytorch_model/.test(e.path)));
    });
  } finally {
    await hub.close();
  }
});
