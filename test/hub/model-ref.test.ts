import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { modelAliases, parseModelRef } from "../../src/hub/model-ref.js";
import { defaultModelsDir, hubSettings } from "../../src/hub/settings.js";
import { resolveModel } from "../../src/hub/index.js";
import { isSightlineError } from "../../src/errors.js";
import { withTempDir } from "./fixture-files.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isSightlineError(e) ? e.code : String(e);
  }
  return undefined;
}

test("the seed models' aliases, and Qwen3-VL's", () => {
  assert.deepEqual(Object.fromEntries(Object.entries(modelAliases).map(([k, v]) => [k, v.repo])), {
    "kosmos-2": "microsoft/kosmos-2-patch14-224",
    "vit-gpt2-image-captioning": "nlpconnect/vit-gpt2-image-captioning",
    "blip-image-captioning-large": "Salesforce/blip-image-captioning-large",
    "florence-2-promptgen-large": "MiaoshouAI/Florence-2-large-PromptGen-v2.0",
    "florence-2-promptgen-base": "MiaoshouAI/Florence-2-base-PromptGen-v2.0",
    "florence-2-base": "microsoft/Florence-2-base-ft",
    "florence-2-large": "microsoft/Florence-2-large-ft",
    "qwen3-vl-2b": "Qwen/Qwen3-VL-2B-Instruct",
  });
  assert.deepEqual(parseModelRef("kosmos-2", "/nonexistent"), {
    kind: "hub",
    repo: "microsoft/kosmos-2-patch14-224",
    revision: "main",
    name: "kosmos-2",
  });
  assert.deepEqual(parseModelRef("florence-2-base@refs/pr/6", "/nonexistent"), {
    kind: "hub",
    repo: "microsoft/Florence-2-base-ft",
    revision: "refs/pr/6",
    name: "florence-2-base@refs/pr/6",
  });
});

test("repo ids with and without revision; bad names", () => {
  assert.deepEqual(parseModelRef("Salesforce/blip-image-captioning-large@abc123", "/nonexistent"), {
    kind: "hub",
    repo: "Salesforce/blip-image-captioning-large",
    revision: "abc123",
    name: "Salesforce/blip-image-captioning-large@abc123",
  });
  assert.equal(parseModelRef("gpt2", "/nonexistent").kind, "hub");
  assert.equal(
    codeOf(() => parseModelRef("a/b/c", "/nonexistent")),
    "MODEL_NOT_FOUND",
  );
  assert.equal(
    codeOf(() => parseModelRef("a--b/c", "/nonexistent")),
    "MODEL_NOT_FOUND",
  );
  assert.equal(
    codeOf(() => parseModelRef("./missing-folder", "/nonexistent")),
    "MODEL_NOT_FOUND",
  );
  assert.equal(
    codeOf(() => parseModelRef("a/b@../x", "/nonexistent")),
    "INVALID_ARGUMENT",
  );
  assert.equal(
    codeOf(() => parseModelRef("a/b@", "/nonexistent")),
    "INVALID_ARGUMENT",
  );
  assert.equal(
    codeOf(() => parseModelRef("  ", "/nonexistent")),
    "INVALID_ARGUMENT",
  );
});

test("an existing folder wins over a repo id and is returned as is, even offline", async () => {
  await withTempDir(async (cwd) => {
    await mkdir(join(cwd, "Salesforce", "blip-image-captioning-large"), { recursive: true });
    assert.deepEqual(parseModelRef("Salesforce/blip-image-captioning-large", cwd), {
      kind: "folder",
      path: join(cwd, "Salesforce", "blip-image-captioning-large"),
    });
    assert.equal(await resolveModel(cwd, { offline: true }), cwd);
  });
});

test("settings come from options, then HF_* / SIGHTLINE_* variables, then defaults", () => {
  const env = {
    HF_ENDPOINT: "http://mirror.local/",
    HF_TOKEN: "t",
    HF_HUB_OFFLINE: "1",
    SIGHTLINE_MODELS_DIR: "/m",
  };
  assert.deepEqual(hubSettings({}, env), {
    endpoint: "http://mirror.local",
    token: "t",
    offline: true,
    modelsDir: "/m",
    safetensorsOnly: false,
  });
  assert.deepEqual(hubSettings({ offline: false, cacheDir: "/x", endpoint: "http://e", token: "u" }, env), {
    endpoint: "http://e",
    token: "u",
    offline: false,
    modelsDir: "/x",
    safetensorsOnly: false,
  });
  assert.equal(hubSettings({}, { SIGHTLINE_SAFETENSORS_ONLY: "1" }).safetensorsOnly, true);
  assert.equal(
    hubSettings({ safetensorsOnly: false }, { SIGHTLINE_SAFETENSORS_ONLY: "1" }).safetensorsOnly,
    false,
  );
  assert.deepEqual(hubSettings({}, {}).endpoint, "https://huggingface.co");
  assert.equal(hubSettings({}, { HF_HUB_OFFLINE: "0" }).offline, false);
  assert.equal(defaultModelsDir({ XDG_CACHE_HOME: "/c" }), "/c/sightline/models");
  assert.match(defaultModelsDir({}), /\.cache\/sightline\/models$/);
});

test("pull and rm mean the hub even when a folder of that name exists here", async () => {
  await withTempDir(async (cwd) => {
    await mkdir(join(cwd, "kosmos-2"));
    assert.equal(parseModelRef("kosmos-2", cwd).kind, "folder");
    assert.deepEqual(parseModelRef("kosmos-2", cwd, { folders: false }), {
      kind: "hub",
      repo: "microsoft/kosmos-2-patch14-224",
      revision: "main",
      name: "kosmos-2",
    });
  });
});
