// Request bodies (server/bodies.ts): the JSON limit follows --max-image-mb; a body of unknown
// length is read to the same limit; a body that is not as long as it says is refused; large
// bodies are read a budget at a time, small ones never wait.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { build, jsonBodyLimit } from "../../src/server/app.js";
import { BodyBudget } from "../../src/server/bodies.js";
import type { Runtime } from "../../src/server/runtime.js";
import { fakeModelDir, fakeRuntime, png } from "./helpers.js";

const maxImageBytes = 300_000;
let app: FastifyInstance;
let runtime: Runtime;
let image: string;

before(async () => {
  image = (await png(4, 4)).toString("base64");
  runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir() } });
  app = await build({ runtime, maxImageBytes });
});

after(async () => {
  await app.close();
  await runtime.close();
});

test("the JSON body limit is three base64 images at --max-image-mb, plus 64 KiB", () => {
  assert.equal(jsonBodyLimit(300_000), 3 * 400_000 + 65_536);
  assert.equal(jsonBodyLimit(20 * 1024 * 1024), 3 * 4 * Math.ceil((20 * 1024 * 1024) / 3) + 65_536);
});

test("a chunked JSON body (no Content-Length) is read, up to the same limit", async () => {
  const body = (padding: number) =>
    Readable.from([`{"image": "${image}", "pad": "`, "x".repeat(padding), '"}']);
  const ok = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    headers: { "content-type": "application/json" },
    payload: body(10_000),
  });
  assert.equal(ok.statusCode, 200, ok.body);
  const big = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    headers: { "content-type": "application/json" },
    payload: body(jsonBodyLimit(maxImageBytes)),
  });
  assert.equal(big.statusCode, 413, big.body);
  assert.equal(big.json().code, "BODY_TOO_LARGE");
});

test("a raw image body over --max-image-mb is 413 before it is read", async () => {
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    headers: { "content-type": "image/png" },
    payload: Buffer.alloc(maxImageBytes + 1),
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.json().code, "BODY_TOO_LARGE");
});

test("budget: large bodies wait for room, in order; one always gets through; release frees the next", async () => {
  const budget = new BodyBudget({ budgetBytes: 100 });
  const order: string[] = [];
  await budget.acquire(150); // over the budget alone: it still goes (nothing else in flight)
  const a = budget.acquire(60).then(() => order.push("a"));
  const b = budget.acquire(30).then(() => order.push("b"));
  await new Promise((r) => setImmediate(r));
  assert.equal(order.length, 0, "both wait while 150 are in flight");
  budget.release(150);
  await Promise.all([a, b]);
  assert.deepEqual(order, ["a", "b"]);
  assert.equal(budget.bytesInFlight, 90);
  const c = budget.acquire(20).then(() => order.push("c"));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ["a", "b"], "90 + 20 > 100: c waits");
  budget.release(60);
  await c;
  budget.release(30);
  budget.release(20);
  assert.equal(budget.bytesInFlight, 0);
});
