// A full queue is "busy": 429 + Retry-After (estimated from the queue) on every route, the one
// status PhotoPrism retries; `busyStatus: 503` (--busy-status 503) keeps Ollama's 503. The queue is
// filled by state (one request running, one waiting), not by timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { build } from "../../src/server/app.js";
import { fakeModelDir, fakeRuntime, png, waitFor } from "./helpers.js";

async function saturated(busyStatus?: 429 | 503) {
  // The running request sleeps far longer than the test takes; closing the runtime ends it.
  const runtime = fakeRuntime({
    models: { slow: fakeModelDir({ model_type: "blip", caption_delay_ms: 120_000 }) },
    maxQueue: 1,
    busyStatus,
  });
  const app = await build({ runtime });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const image = (await png(8, 8)).toString("base64");
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const queue = runtime.queue("slow");
  const pending = [post("/api/generate", { model: "slow", prompt: "x", images: [image], stream: false })];
  await waitFor(() => queue.busy && queue.depth === 0, 60_000);
  pending.push(post("/api/generate", { model: "slow", prompt: "x", images: [image], stream: false }));
  await waitFor(() => queue.depth === 1, 60_000);
  const close = async () => {
    await runtime.close();
    await Promise.allSettled(pending);
    await app.close();
  };
  return { post, image, close };
}

test("a full queue answers 429 + Retry-After on the Vision API, Ollama, OpenAI and describe routes", async () => {
  const { post, image, close } = await saturated();
  try {
    const dataUrl = `data:image/png;base64,${image}`;
    const requests: [string, unknown, (body: any) => void][] = [
      [
        "/api/v1/vision/caption",
        { id: "B", model: "slow", images: [dataUrl] },
        (b) => assert.deepEqual([b.id, b.code, b.error], ["B", 429, "Too Many Requests"]),
      ],
      [
        "/api/v1/vision/labels",
        { id: "B", model: "slow", images: [dataUrl, dataUrl, dataUrl] },
        (b) => assert.equal(b.code, 429),
      ],
      [
        "/api/generate",
        { model: "slow", prompt: "x", images: [image], stream: false },
        (b) => assert.match(b.error, /too many/),
      ],
      [
        "/v1/responses",
        { model: "slow", input: [{ role: "user", content: [{ type: "input_image", image_url: dataUrl }] }] },
        (b) => assert.equal(b.error.code, "queue_full"),
      ],
      [
        "/v1/chat/completions",
        {
          model: "slow",
          messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: dataUrl } }] }],
        },
        (b) => assert.equal(b.error.code, "queue_full"),
      ],
      ["/api/v1/vision/describe", { model: "slow", url: dataUrl }, (b) => assert.equal(b.code, "QUEUE_FULL")],
    ];
    for (const [path, body, check] of requests) {
      const res = await post(path, body);
      assert.equal(res.status, 429, path);
      // One waiting and one running ahead, at the queue's run-time estimate: at least 1 s.
      assert.ok(Number(res.headers.get("retry-after")) >= 1, `${path}: Retry-After`);
      check(await res.json());
    }
  } finally {
    await close();
  }
});

test("busyStatus 503 (--busy-status 503) answers 503 + Retry-After instead", async () => {
  const { post, image, close } = await saturated(503);
  try {
    for (const path of ["/api/generate", "/api/v1/vision/caption"]) {
      const body =
        path === "/api/generate"
          ? { model: "slow", prompt: "x", images: [image], stream: false }
          : { model: "slow", images: [`data:image/png;base64,${image}`] };
      const res = await post(path, body);
      assert.equal(res.status, 503, path);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
    }
  } finally {
    await close();
  }
});
