// The try-it page's routes without a browser: static files (types, no traversal, open without
// the API key), the model list, the task list and the caption endpoint on the fixture models.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const fixtures = fileURLToPath(new URL("../../../shared/fixtures/", import.meta.url));
const vitGpt2 = join(fixtures, "vit-gpt2");
const key = "test-key-123";
const auth = { authorization: `Bearer ${key}` };

let app: FastifyInstance;
let runtime: Runtime;

before(async () => {
  runtime = new Runtime({
    models: { "vit-gpt2-image-captioning": vitGpt2, "florence-2": join(fixtures, "florence-2") },
    defaultModel: "vit-gpt2-image-captioning",
    threads: 1,
    idleUnloadSeconds: 0,
  });
  app = await build({ runtime, apiKey: key });
});

after(async () => {
  await app.close();
  await runtime.close();
});

test("GET / is the page, open without the API key, with a strict CSP", async () => {
  const res = await app.inject({ method: "GET", url: "/" });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /^text\/html; charset=utf-8/);
  assert.match(res.body, /<script type="module" src="\/web\/app\.js">/);
  assert.match(String(res.headers["content-security-policy"]), /default-src 'self'/);
  assert.equal(res.headers["x-content-type-options"], "nosniff");
});

test("GET /web/<file>: the page's files with their content types", async () => {
  for (const [file, type] of [
    ["app.js", "text/javascript; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["index.html", "text/html; charset=utf-8"],
  ]) {
    const res = await app.inject({ method: "GET", url: `/web/${file}` });
    assert.equal(res.statusCode, 200, file);
    assert.equal(res.headers["content-type"], type);
    assert.equal(res.body, readFileSync(new URL(`../../web/${file}`, import.meta.url), "utf8"));
  }
  const head = await app.inject({ method: "HEAD", url: "/web/style.css" });
  assert.equal(head.statusCode, 200);
});

test("GET /web/…: nothing outside web/, no hidden or unknown files", async () => {
  for (const url of [
    "/web/../package.json",
    "/web/%2e%2e/package.json",
    "/web/%2e%2e%2fpackage.json",
    "/web/..%2f..%2fetc%2fpasswd",
    "/web/..%5cpackage.json",
    "/web/%2fetc%2fpasswd",
    "/web//etc/passwd",
    "/web/",
    "/web/.",
    "/web/missing.js",
    "/web/.hidden.js",
    "/web/app.js%00.css",
    "/web/index.html/",
    "/web/.git/config",
    "/web/sub/.env.js",
  ]) {
    const res = await app.inject({ method: "GET", url });
    // Dot segments are resolved before routing (to a route that needs the key, or none: 401/404).
    assert.ok([400, 401, 404].includes(res.statusCode), `${url}: ${res.statusCode}`);
    assert.doesNotMatch(res.body, /"name": "sightline"|root:/, url);
  }
  const res = await app.inject({ method: "GET", url: "/web/%2e%2e%2fpackage.json" });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, "ROUTE_NOT_FOUND");
});

test("the JSON routes need the API key", async () => {
  const res = await app.inject({ method: "GET", url: "/api/v1/web/models" });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().code, "UNAUTHORIZED");
});

test("GET /api/v1/web/models: the models the server was given, the default, which are Florence-2", async () => {
  const res = await app.inject({ method: "GET", url: "/api/v1/web/models", headers: auth });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.default, "vit-gpt2-image-captioning");
  assert.equal(body.florence, "florence-2");
  const byName = new Map(body.models.map((m: { name: string }) => [m.name, m]));
  assert.deepEqual(byName.get("vit-gpt2-image-captioning"), {
    name: "vit-gpt2-image-captioning",
    version: "latest",
    modelType: "vision-encoder-decoder",
    florence: false,
  });
  assert.equal((byName.get("florence-2") as { florence: boolean }).florence, true);
  // Only what was given: no seed names the server could not serve.
  assert.deepEqual([...byName.keys()], ["vit-gpt2-image-captioning", "florence-2"]);
});

test("GET /api/v1/web/prompts: a Florence-2 model's tasks; none for other models", async () => {
  const florence = await app.inject({
    method: "GET",
    url: "/api/v1/web/prompts?model=florence-2",
    headers: auth,
  });
  assert.equal(florence.statusCode, 200);
  const tasks = florence.json() as string[];
  for (const t of ["<CAPTION>", "<OD>", "<DENSE_REGION_CAPTION>"]) assert.ok(tasks.includes(t), t);
  const other = await app.inject({
    method: "GET",
    url: "/api/v1/web/prompts?model=vit-gpt2-image-captioning",
    headers: auth,
  });
  assert.deepEqual(other.json(), []);
  const unknown = await app.inject({ method: "GET", url: "/api/v1/web/prompts?model=nope", headers: auth });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, "MODEL_NOT_FOUND");
});

test("POST /api/v1/web/caption: raw image body → caption, image size, timings", async () => {
  const image = readFileSync(join(vitGpt2, "image1.png"));
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/web/caption?model=vit-gpt2-image-captioning",
    headers: { ...auth, "content-type": "image/png" },
    body: image,
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  const expected = parsePythonJson(readFileSync(join(vitGpt2, "expected.json"), "utf8"));
  const seed = expected.cases[0].generations.find((g: { name: string }) => g.name === "seed");
  assert.equal(body.text, String(seed.text[0]).trim());
  assert.deepEqual(body.model, { name: "vit-gpt2-image-captioning", version: "latest" });
  assert.deepEqual(body.image, { width: 64, height: 48 });
  for (const stage of ["image", "load", "queue", "run", "preprocess", "encode", "decode"]) {
    assert.equal(typeof body.timings[stage], "number", stage);
  }

  // The same as JSON with a data: URL.
  const json = await app.inject({
    method: "POST",
    url: "/api/v1/web/caption",
    headers: auth,
    payload: {
      model: "vit-gpt2-image-captioning",
      image: `data:image/png;base64,${image.toString("base64")}`,
    },
  });
  assert.equal(json.statusCode, 200, json.body);
  assert.equal(json.json().text, body.text);
});

test("POST /api/v1/web/caption: errors in the server's {error, code} shape", async () => {
  const none = await app.inject({ method: "POST", url: "/api/v1/web/caption", headers: auth, payload: {} });
  assert.equal(none.statusCode, 400);
  assert.equal(none.json().code, "IMAGE_REQUIRED");
  const bad = await app.inject({
    method: "POST",
    url: "/api/v1/web/caption",
    headers: { ...auth, "content-type": "image/png" },
    body: Buffer.from("not a png"),
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, "IMAGE_INVALID");
  const model = await app.inject({
    method: "POST",
    url: "/api/v1/web/caption?model=nope",
    headers: { ...auth, "content-type": "image/png" },
    body: readFileSync(join(vitGpt2, "image1.png")),
  });
  assert.equal(model.statusCode, 404);
  assert.equal(model.json().code, "MODEL_NOT_FOUND");
});

test("POST /api/v1/web/caption: the shared HEIC phone photos are captioned by a real model", async () => {
  const heic = fileURLToPath(new URL("../../../shared/images/heic/", import.meta.url));
  for (const [name, size] of [
    ["IMG_5195.HEIC", { width: 2566, height: 3313 }],
    ["samplefilehub.heif", { width: 640, height: 426 }],
  ] as const) {
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/web/caption?model=vit-gpt2-image-captioning",
      // What a browser sends for a .heic file it has no type for.
      headers: { ...auth, "content-type": "application/octet-stream" },
      body: readFileSync(join(heic, name)),
    });
    assert.equal(res.statusCode, 200, `${name}: ${res.body}`);
    assert.deepEqual(res.json().image, size, name);
    assert.ok(res.json().text.length > 0, name);
  }
});

test("the page says where images and models come from, and takes HEIC files", async () => {
  const page = (await app.inject({ method: "GET", url: "/" })).body;
  assert.doesNotMatch(page, /Nothing leaves this server/);
  assert.match(page, /fetched from the Hugging Face hub the first time/);
  assert.match(page, /accept="image\/\*,\.heic,\.heif"/);
});
