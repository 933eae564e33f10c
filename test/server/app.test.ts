// Both seed APIs request for request (with the fake model in real worker processes), image
// input kinds, auth, operations routes. inject() everywhere except the local image server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import type { Runtime } from "../../src/server/runtime.js";
import { fakeModelDir, fakeRuntime, jpeg, png } from "./helpers.js";

let app: FastifyInstance;
let runtime: Runtime;
let images: Server;
let base: string;
let photo: Buffer;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

before(async () => {
  photo = await png(12, 9, [1, 2, 3]);
  const jpg = await jpeg(20, 10);
  images = createServer((req, res) => {
    if (req.url === "/cat.png") return res.writeHead(200, { "content-type": "image/png" }).end(photo);
    if (req.url === "/cat.jpg") return res.writeHead(200, { "content-type": "image/jpeg" }).end(jpg);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => images.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  const plain = fakeModelDir();
  runtime = fakeRuntime({
    models: {
      "kosmos-2": plain,
      "vit-gpt2-image-captioning": plain,
      mine: plain,
      florence: fakeModelDir({
        model_type: "florence2",
        task_prompts: {
          "<CAPTION>": "What does the image describe?",
          "<OD>": "Locate the objects",
          "<CRASH>": "",
        },
      }),
    },
  });
  app = await build({ runtime, allowPrivateUrls: true });
});

after(async () => {
  await app.close();
  await runtime.close();
  images.close();
});

test("describe GET with url: default model kosmos-2 patch14-224, a new UUID id", async () => {
  const res = await app.inject({
    method: "GET",
    url: `/api/v1/vision/describe?url=${encodeURIComponent(base + "/cat.png")}`,
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.match(body.id, uuid);
  assert.deepEqual(body.model, { name: "kosmos-2", version: "patch14-224" });
  assert.match(body.result.caption, /^fake 12x9 rgb\(1,2,3\) #\d+ pid \d+$/);
  assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
  assert.ok(res.headers["x-request-id"]);
});

test("describe POST JSON: id echo, model selection, per-model endpoints", async () => {
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { url: `${base}/cat.jpg`, id: "photo-123", model: "vit-gpt2-image-captioning" },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().id, "photo-123");
  assert.deepEqual(res.json().model, { name: "vit-gpt2-image-captioning", version: "latest" });
  assert.match(res.json().result.caption, /^fake 20x10 /);

  const numeric = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { url: `${base}/cat.png`, id: 42 },
  });
  assert.equal(numeric.json().id, "42");

  for (const [path, name, version] of [
    ["/api/v1/vision/describe/kosmos-2/patch14-224", "kosmos-2", "patch14-224"],
    ["/api/v1/vision/describe/vit-gpt2-image-captioning", "vit-gpt2-image-captioning", "latest"],
    ["/api/v1/vision/describe/mine", "mine", "latest"],
  ]) {
    const get = await app.inject({
      method: "GET",
      url: `${path}?url=${encodeURIComponent(base + "/cat.png")}&id=a1`,
    });
    assert.equal(get.statusCode, 200, `${path}: ${get.body}`);
    assert.deepEqual(get.json().model, { name, version });
    assert.equal(get.json().id, "a1");
    const post = await app.inject({ method: "POST", url: path!, payload: { url: `${base}/cat.png` } });
    assert.equal(post.statusCode, 200, post.body);
    assert.match(post.json().id, uuid);
  }
});

test("describe errors: missing url, non-JSON POST, unknown model or version — JSON errors, never 200", async () => {
  const missing = await app.inject({ method: "GET", url: "/api/v1/vision/describe" });
  assert.equal(missing.statusCode, 400);
  assert.deepEqual(missing.json(), { error: "URL is required", code: "URL_REQUIRED" });
  const missingPost = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { id: "x" },
  });
  assert.deepEqual(missingPost.json(), { error: "URL is required", code: "URL_REQUIRED" });
  const text = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    headers: { "content-type": "text/plain" },
    payload: "url=http://x",
  });
  assert.equal(text.statusCode, 400);
  assert.deepEqual(text.json(), { error: "Request must be JSON", code: "NOT_JSON" });
  const form = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: "url=http://x",
  });
  assert.deepEqual(form.json(), { error: "Request must be JSON", code: "NOT_JSON" });
  const unknown = await app.inject({
    method: "GET",
    url: `/api/v1/vision/describe?model=gpt-9&url=${base}/cat.png`,
  });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, "MODEL_NOT_FOUND");
  const version = await app.inject({
    method: "GET",
    url: `/api/v1/vision/describe/kosmos-2/patch16-999?url=${base}/cat.png`,
  });
  assert.equal(version.statusCode, 404);
});

test("image input kinds: data: URL, base64, multipart upload, raw image body", async () => {
  const b64 = photo.toString("base64");
  const viaDataUrl = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { url: `data:image/png;base64,${b64}` },
  });
  assert.match(viaDataUrl.json().result.caption, /^fake 12x9 /);
  const viaBase64 = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { image: b64 },
  });
  assert.match(viaBase64.json().result.caption, /^fake 12x9 /);

  const boundary = "----sightline-test";
  const multipartBody = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\nmp-1\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nmine\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cat.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    photo,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const mp = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    payload: multipartBody,
  });
  assert.equal(mp.statusCode, 200, mp.body);
  assert.equal(mp.json().id, "mp-1");
  assert.equal(mp.json().model.name, "mine");
  assert.match(mp.json().result.caption, /^fake 12x9 /);

  const raw = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe?id=raw",
    headers: { "content-type": "image/png" },
    payload: photo,
  });
  assert.equal(raw.statusCode, 200, raw.body);
  assert.equal(raw.json().id, "raw");
});

test("Florence API: /model, /prompts, /process_image with an upper-cased prompt", async () => {
  const model = await app.inject({ method: "GET", url: "/model" });
  assert.equal(model.statusCode, 200);
  assert.equal(model.json(), "florence");
  const prompts = await app.inject({ method: "GET", url: "/prompts" });
  assert.deepEqual(prompts.json(), [
    "<CAPTION>",
    "<OD>",
    "<CRASH>",
    "<GENERATE_TAGS>",
    "<ANALYZE>",
    "<MIXED_CAPTION>",
    "<MIXED_CAPTION_PLUS>",
  ]);
  const res = await app.inject({
    method: "POST",
    url: "/process_image",
    payload: { image: photo.toString("base64"), prompt: "<caption>" },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.json().result, /^fake 12x9 .* <CAPTION>$/);
  const unknown = await app.inject({
    method: "POST",
    url: "/process_image",
    payload: { image: photo.toString("base64"), prompt: "<NOPE>" },
  });
  assert.equal(unknown.statusCode, 400);
  assert.equal(unknown.json().code, "UNKNOWN_PROMPT");
  const invalid = await app.inject({
    method: "POST",
    url: "/process_image",
    payload: { image: "aGVsbG8gd29ybGQ=", prompt: "<CAPTION>" },
  });
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().code, "IMAGE_INVALID");
});

test("a worker crash answers 500 WORKER_CRASHED; the next request is served by a fresh worker", async () => {
  const crash = await app.inject({
    method: "POST",
    url: "/process_image",
    payload: { image: photo.toString("base64"), prompt: "<CRASH>" },
  });
  assert.equal(crash.statusCode, 500);
  assert.equal(crash.json().code, "WORKER_CRASHED");
  const next = await app.inject({
    method: "POST",
    url: "/process_image",
    payload: { image: photo.toString("base64"), prompt: "<CAPTION>" },
  });
  assert.equal(next.statusCode, 200, next.body);
  const metrics = await app.inject({ method: "GET", url: "/metrics" });
  assert.match(metrics.body, /sightline_worker_restarts_total\{model="florence"\} 1/);
});

test("operations: /healthz, /readyz, /metrics (requests, stage latency, queue depth, loaded models)", async () => {
  assert.deepEqual((await app.inject({ method: "GET", url: "/healthz" })).json(), { status: "ok" });
  const ready = await app.inject({ method: "GET", url: "/readyz" });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, "ready");
  const m = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(m.statusCode, 200);
  assert.match(m.headers["content-type"] as string, /text\/plain/);
  for (const name of [
    'sightline_http_requests_total{method="GET",route="/api/v1/vision/describe",status="200"}',
    'sightline_stage_duration_seconds_bucket{le="0.005",model="kosmos-2",stage="queue"}',
    'sightline_stage_duration_seconds_count{model="kosmos-2",stage="image"}',
    'sightline_stage_duration_seconds_count{model="kosmos-2",stage="load"} 1',
    'sightline_queue_depth{model="kosmos-2"} 0',
    'sightline_model_loaded{model="kosmos-2"} 1',
    "sightline_http_request_duration_seconds_bucket",
    "sightline_process_resident_memory_bytes",
  ]) {
    assert.ok(m.body.includes(name), `metrics lack ${name}`);
  }
  const notFound = await app.inject({ method: "GET", url: "/nope" });
  assert.equal(notFound.statusCode, 404);
  assert.equal(notFound.json().code, "ROUTE_NOT_FOUND");
});

test("API key: bearer required on every route but /healthz and /readyz", async () => {
  const keyed = await build({ runtime, apiKey: "s3cret", allowPrivateUrls: true });
  try {
    const url = `/api/v1/vision/describe?url=${encodeURIComponent(base + "/cat.png")}`;
    const none = await keyed.inject({ method: "GET", url });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, "UNAUTHORIZED");
    assert.match(none.headers["www-authenticate"] as string, /Bearer/);
    const wrong = await keyed.inject({ method: "GET", url, headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.statusCode, 401);
    const right = await keyed.inject({ method: "GET", url, headers: { authorization: "Bearer s3cret" } });
    assert.equal(right.statusCode, 200, right.body);
    for (const path of ["/metrics", "/prompts", "/model"]) {
      assert.equal((await keyed.inject({ method: "GET", url: path })).statusCode, 401, path);
    }
    assert.equal(
      (await keyed.inject({ method: "POST", url: "/process_image", payload: {} })).statusCode,
      401,
    );
    assert.equal((await keyed.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    assert.equal((await keyed.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
  } finally {
    await keyed.close();
  }
});

test("without --allow-private-urls a loopback image URL is refused with URL_FORBIDDEN", async () => {
  const strict = await build({ runtime });
  try {
    const res = await strict.inject({
      method: "GET",
      url: `/api/v1/vision/describe?url=${encodeURIComponent(base + "/cat.png")}`,
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, "URL_FORBIDDEN");
  } finally {
    await strict.close();
  }
});
