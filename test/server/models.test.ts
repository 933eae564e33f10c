// What a server offers and when it may download: --model names only those (the first is the
// default), no --model offers the seed names that are in the models folder, --allow-pull lets
// requests download seed and alias models. Without it a fake hub sees no request whatever clients
// send (issue 18, finding 2; issue 17, item 1). A configured folder that is missing fails at start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { tempDir } from "../helpers/temp-dir.js";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, InjectOptions } from "fastify";
import { build } from "../../src/server/app.js";
import { resolveModel } from "../../src/hub/index.js";
import { ModelRegistry } from "../../src/server/models.js";
import { Runtime, type RuntimeOptions } from "../../src/server/runtime.js";
import { startFakeHub, type FakeHub } from "../helpers/hub-server.js";
import { fakeLoader, fakeModelDir, png } from "./helpers.js";

const mainTs = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** A tiny hub repo the fake model loads (it reads config.json only). */
const tinyRepo = (modelType: string) => ({
  files: {
    "config.json": JSON.stringify({ model_type: modelType }),
    "model.safetensors": Buffer.alloc(64, 1),
    "tokenizer.json": "{}",
  },
});

async function withHub<T>(fn: (hub: FakeHub) => Promise<T>): Promise<T> {
  const hub = await startFakeHub({
    "microsoft/kosmos-2-patch14-224": tinyRepo("kosmos-2"),
    "nlpconnect/vit-gpt2-image-captioning": tinyRepo("vision-encoder-decoder"),
    "Salesforce/blip-image-captioning-large": tinyRepo("blip"),
    "microsoft/Florence-2-base-ft": tinyRepo("florence2"),
    "someone/model": tinyRepo("blip"),
  });
  try {
    return await fn(hub);
  } finally {
    await hub.close();
  }
}

/** A Runtime whose hub is the fake one, with its own empty models folder. */
function hubRuntime(hub: FakeHub, options: Partial<RuntimeOptions> = {}): Runtime {
  const modelsDir = tempDir("sightline-models-");
  return new Runtime({
    loaderModule: fakeLoader,
    idleUnloadSeconds: 0,
    threads: 1,
    modelsDir,
    hub: (ref, o) => resolveModel(ref, { ...o, endpoint: hub.endpoint, token: "", retryDelayMs: 5 }),
    ...options,
  });
}

async function listed(app: FastifyInstance): Promise<{ tags: string[]; openai: string[]; web: string[] }> {
  const tags = (await app.inject({ method: "GET", url: "/api/tags" })).json();
  const openai = (await app.inject({ method: "GET", url: "/v1/models" })).json();
  const web = (await app.inject({ method: "GET", url: "/api/v1/web/models" })).json();
  return {
    tags: tags.models.map((m: { name: string }) => m.name),
    openai: openai.data.map((m: { id: string }) => m.id),
    web: web.models.map((m: { name: string }) => m.name),
  };
}

/** Every route that takes a model name, asking for `name` ("" = the default model). */
function requestsNaming(name: string, image: string): InjectOptions[] {
  const dataUrl = `data:image/png;base64,${image}`;
  const m = name ? { model: name } : {};
  const q = name ? `?model=${encodeURIComponent(name)}` : "";
  return [
    { method: "POST", url: "/api/v1/vision/describe", payload: { image, ...m } },
    { method: "POST", url: `/api/v1/vision/describe${q}`, payload: { image } },
    { method: "GET", url: `/api/v1/vision/describe${q}${q ? "&" : "?"}url=${encodeURIComponent(dataUrl)}` },
    ...(name
      ? [
          {
            method: "GET",
            url: `/api/v1/vision/describe/${encodeURIComponent(name)}?url=${encodeURIComponent(dataUrl)}`,
          },
          {
            method: "POST",
            url: `/api/v1/vision/caption/${encodeURIComponent(name)}`,
            payload: { images: [dataUrl] },
          },
        ]
      : []),
    { method: "POST", url: "/api/v1/vision/caption", payload: { images: [dataUrl], ...m } },
    { method: "POST", url: "/api/v1/vision/labels", payload: { images: [dataUrl], ...m } },
    {
      method: "POST",
      url: "/api/generate",
      payload: { model: name || "kosmos-2", prompt: "hi", images: [image], stream: false },
    },
    { method: "POST", url: "/api/generate", payload: { model: name || "kosmos-2" } }, // load only
    {
      method: "POST",
      url: "/api/chat",
      payload: {
        model: name || "kosmos-2",
        messages: [{ role: "user", content: "x", images: [image] }],
        stream: false,
      },
    },
    { method: "POST", url: "/api/show", payload: { model: name || "kosmos-2" } },
    {
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: name || "kosmos-2",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: dataUrl } }] }],
      },
    },
    {
      method: "POST",
      url: "/v1/responses",
      payload: {
        model: name || "kosmos-2",
        input: [{ role: "user", content: [{ type: "input_image", image_url: dataUrl }] }],
      },
    },
    { method: "GET", url: `/v1/models/${encodeURIComponent(name || "kosmos-2")}` },
    { method: "POST", url: `/api/v1/web/caption${q}`, payload: { image } },
    { method: "GET", url: `/api/v1/web/prompts${q}` },
    // The Florence API names no model: it answers with the server's Florence (else default) model.
    ...(name
      ? []
      : [
          { method: "POST", url: "/process_image", payload: { image, prompt: "<CAPTION>" } },
          { method: "GET", url: "/prompts" },
        ]),
  ] as InjectOptions[];
}

test("no --allow-pull: whatever clients send, the hub sees no request; lists show what can be served", async () => {
  await withHub(async (hub) => {
    const image = (await png(4, 4)).toString("base64");
    // No --model: the seed names, none downloaded; a configured folder beside them in a second server.
    for (const models of [undefined, { mine: fakeModelDir() }]) {
      const runtime = hubRuntime(hub, { models });
      const app = await build({ runtime });
      try {
        const names = [
          "",
          "kosmos-2",
          "vit-gpt2-image-captioning",
          "blip-image-captioning-large",
          "florence-2-base",
          "microsoft/kosmos-2-patch14-224",
          "someone/model",
          "kosmos-2:latest",
        ];
        for (const name of names) {
          for (const request of requestsNaming(name, image)) {
            const res = await app.inject(request);
            const what = `${request.method} ${request.url} (${name || "default"})`;
            if (models && name === "") {
              assert.ok(res.statusCode < 500, `${what}: ${res.statusCode} ${res.body}`);
            } else {
              assert.equal(res.statusCode, 404, `${what}: ${res.body}`);
              assert.match(res.body, /model not found|not in this server's models folder/, what);
            }
          }
        }
        const lists = await listed(app);
        const expected = models ? ["mine"] : [];
        assert.deepEqual(
          lists.tags,
          expected.map((n) => `${n}:latest`),
        );
        assert.deepEqual(lists.openai, expected);
        assert.deepEqual(lists.web, expected);
      } finally {
        await app.close();
        await runtime.close();
      }
    }
    assert.deepEqual(hub.log, [], "no request reached the hub");
  });
});

test("a seed model already in the models folder is listed and served without --allow-pull, with no hub traffic", async () => {
  await withHub(async (hub) => {
    const modelsDir = tempDir("sightline-models-");
    const runtime = hubRuntime(hub, { modelsDir });
    // What `sightline models pull vit-gpt2-image-captioning` leaves in the models folder.
    await resolveModel("vit-gpt2-image-captioning", {
      endpoint: hub.endpoint,
      cacheDir: modelsDir,
      token: "",
    });
    const pulled = hub.log.length;
    const app = await build({ runtime });
    try {
      assert.deepEqual((await listed(app)).openai, ["vit-gpt2-image-captioning"]);
      const image = (await png(4, 4)).toString("base64");
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/vision/describe",
        payload: { image, model: "vit-gpt2-image-captioning" },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(hub.log.length, pulled, "served from the models folder");
    } finally {
      await app.close();
      await runtime.close();
    }
  });
});

test("--allow-pull: every alias is listed and a request downloads it; --offline still downloads nothing", async () => {
  await withHub(async (hub) => {
    const image = (await png(4, 4)).toString("base64");
    const runtime = hubRuntime(hub, { allowPull: true });
    const app = await build({ runtime });
    try {
      const lists = await listed(app);
      for (const name of [
        "kosmos-2",
        "blip-image-captioning-large",
        "florence-2-base",
        "florence-2-promptgen-large",
      ]) {
        assert.ok(lists.openai.includes(name), name);
      }
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/vision/describe",
        payload: { image, model: "florence-2-base" },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(hub.log.some((e) => e.path.includes("microsoft/Florence-2-base-ft")));
      // Still only known aliases: a repo id is no model name.
      const other = await app.inject({
        method: "POST",
        url: "/api/v1/vision/describe",
        payload: { image, model: "someone/model" },
      });
      assert.equal(other.statusCode, 404);
      assert.ok(!hub.log.some((e) => e.path.includes("someone/model")));
    } finally {
      await app.close();
      await runtime.close();
    }
    const before = hub.log.length;
    const offline = hubRuntime(hub, { allowPull: true, offline: true });
    const offlineApp = await build({ runtime: offline });
    try {
      assert.deepEqual((await listed(offlineApp)).openai, []);
      const res = await offlineApp.inject({
        method: "POST",
        url: "/api/v1/vision/describe",
        payload: { image, model: "kosmos-2" },
      });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(hub.log.length, before);
    } finally {
      await offlineApp.close();
      await offline.close();
    }
  });
});

test("--model NAME=ALIAS is configured: the operator asked for it, so its first use downloads it", async () => {
  await withHub(async (hub) => {
    const runtime = hubRuntime(hub, { models: { kosmos: "kosmos-2" } });
    const app = await build({ runtime });
    try {
      assert.deepEqual((await listed(app)).openai, ["kosmos"]);
      const image = (await png(4, 4)).toString("base64");
      const res = await app.inject({ method: "POST", url: "/api/v1/vision/describe", payload: { image } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().model.name, "kosmos");
      assert.ok(hub.log.some((e) => e.path.includes("microsoft/kosmos-2-patch14-224")));
    } finally {
      await app.close();
      await runtime.close();
    }
  });
});

test("--offline: a configured hub reference not yet downloaded is not listed and answers 503 with a true hint", async () => {
  await withHub(async (hub) => {
    const runtime = hubRuntime(hub, { models: { kosmos: "kosmos-2", mine: fakeModelDir() }, offline: true });
    const app = await build({ runtime });
    try {
      assert.deepEqual((await listed(app)).openai, ["mine"]);
      const image = (await png(4, 4)).toString("base64");
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/vision/describe",
        payload: { image, model: "kosmos" },
      });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().code, "MODEL_NOT_DOWNLOADED");
      assert.match(res.json().error, /offline mode is on; fetch it with `sightline models pull kosmos-2`/);
      assert.deepEqual(hub.log, []);
    } finally {
      await app.close();
      await runtime.close();
    }
  });
});

test("registry: --model given → only those, the first the default; none → the seed names", () => {
  const florence = fakeModelDir({ model_type: "florence2" });
  const given = new Runtime({ models: { mine: fakeModelDir(), fl: florence } });
  assert.deepEqual(
    given.registry.list().map((m) => [m.name, m.version]),
    [
      ["mine", "latest"],
      ["fl", "latest"],
    ],
  );
  assert.equal(given.registry.defaultModel, "mine");
  assert.equal(given.registry.florenceModel, "fl", "first configured Florence-2 model");
  const chosen = new Runtime({
    models: { mine: fakeModelDir(), "kosmos-2": fakeModelDir() },
    defaultModel: "kosmos-2",
    florenceModel: "mine",
  });
  assert.equal(chosen.registry.defaultModel, "kosmos-2");
  assert.equal(chosen.registry.florenceModel, "mine");
  assert.equal(chosen.registry.get("kosmos-2").version, "patch14-224", "a seed name keeps its version");
  const seeds = new Runtime({});
  assert.deepEqual(
    seeds.registry.list().map((m) => m.name),
    ["kosmos-2", "vit-gpt2-image-captioning", "blip-image-captioning-large"],
  );
  assert.equal(seeds.registry.defaultModel, "kosmos-2");
  assert.throws(
    () => new Runtime({ models: { mine: fakeModelDir() }, defaultModel: "kosmos-2" }),
    /model not found: kosmos-2 \(--default-model; this server offers mine\)/,
  );
  assert.throws(() => new Runtime({ defaultModel: "nope" }), /model not found/);
});

test("registry: --preload names are configured (they may be downloaded), seed and alias names included", () => {
  const registry = new ModelRegistry({ models: { mine: fakeModelDir() }, preload: ["florence-2-base"] });
  assert.deepEqual(
    registry.list().map((e) => [e.name, e.origin]),
    [
      ["mine", "configured"],
      ["florence-2-base", "configured"],
    ],
  );
  assert.equal(registry.mayDownload(registry.get("florence-2-base")), true);
  const seeds = new ModelRegistry({ preload: ["kosmos-2"] });
  assert.equal(seeds.mayDownload(seeds.get("kosmos-2")), true);
  assert.equal(seeds.mayDownload(seeds.get("vit-gpt2-image-captioning")), false);
  assert.throws(() => new ModelRegistry({ preload: ["nope"] }), /nope \(--preload/);
});

/** Runs `sightline serve ARGS` to its exit. */
function serveExit(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", mainTs, "serve", "--port", "0", ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d));
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

test("serve --model NAME=DIR with a missing folder, or one without config.json, fails at start with one line", async () => {
  const empty = tempDir("sightline-empty-");
  const cases = [
    ["/nope", /^error MODEL_NOT_FOUND: .*--model vit=\/nope: there is no folder \/nope\n$/],
    ["./no/such/dir", /^error MODEL_NOT_FOUND: .*there is no folder .*no\/such\/dir\n$/],
    [empty, /^error MODEL_CONFIG_MISSING: no config.json in model folder .* \(--model vit\)\n$/],
  ] as const;
  const runs = await Promise.all(cases.map(([source]) => serveExit(["--model", `vit=${source}`])));
  runs.forEach((r, i) => {
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, cases[i]![1]);
    assert.equal(r.stdout, "", "nothing else printed, no server started");
  });
});
