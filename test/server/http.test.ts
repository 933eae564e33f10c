// Scheduling seen through real sockets: arrival order under 20 concurrent requests, 429 +
// Retry-After when a model's queue is full, idle unload ending the worker and a reload after it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import type { Runtime } from "../../src/server/runtime.js";
import { alive, captionGate, fakeModelDir, fakeRuntime, png, queueDepth, waitFor } from "./helpers.js";

let app: FastifyInstance;
let runtime: Runtime;
let base: string;
const images: string[] = [];
const gate = captionGate();

before(async () => {
  runtime = fakeRuntime({
    models: {
      "kosmos-2": fakeModelDir({ caption_delay_ms: 40 }),
      gated: fakeModelDir({ caption_gate: gate.dir }),
      idle: fakeModelDir(),
    },
    idleUnloadSeconds: 0,
  });
  runtime.setIdleUnload("idle", 0.4);
  app = await build({ runtime });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
  for (let i = 1; i <= 20; i++) images.push((await png(i, 3)).toString("base64"));
});

after(async () => {
  await app.close();
  await runtime.close();
});

async function describe(image: string, model?: string, server = base) {
  const res = await fetch(`${server}/api/v1/vision/describe`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image, model }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any, at: performance.now() };
}

/** An HTTP/1.1 POST over an already-open socket; resolves with the answer when the server closes. */
function rawPost(
  socket: Socket,
  path: string,
  body: string,
): Promise<{ status: number; body: any; at: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const [head, ...rest] = text.split("\r\n\r\n");
      resolve({
        status: Number(head!.split(" ")[1]),
        body: JSON.parse(rest.join("\r\n\r\n")),
        at: performance.now(),
      });
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

test("20 concurrent requests to one model are answered in arrival order", async () => {
  // 20 connections opened up front, so connection set-up cannot reorder the requests; then each
  // request is written once the one before it has reached the model's queue (the first one is
  // running, held by the gate, the others wait), and the gate opens when all 20 are queued.
  const { port } = new URL(base);
  const sockets = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(Number(port), "127.0.0.1", () => resolve(s));
          s.once("error", reject);
        }),
    ),
  );
  const pending: ReturnType<typeof rawPost>[] = [];
  for (let i = 0; i < 20; i++) {
    pending.push(
      rawPost(sockets[i]!, "/api/v1/vision/describe", JSON.stringify({ image: images[i], model: "gated" })),
    );
    await waitFor(
      async () => (i === 0 ? gate.started(1) : (await queueDepth(runtime, "gated")) === i),
      120_000,
    );
  }
  gate.open();
  const answers = await Promise.all(pending);
  const seqs = answers.map((a) => {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const m = /^fake (\d+)x3 .* #(\d+) /.exec(a.body.result.caption)!;
    return { width: Number(m[1]), seq: Number(m[2]), at: a.at };
  });
  seqs.forEach((s, i) => assert.equal(s.width, i + 1, "each answer belongs to its request"));
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(
      seqs[i]!.seq > seqs[i - 1]!.seq,
      `request ${i} ran after request ${i - 1}: ${JSON.stringify(seqs)}`,
    );
    assert.ok(seqs[i]!.at >= seqs[i - 1]!.at, `request ${i} answered after request ${i - 1}`);
  }
});

test("past --max-queue: 429 QUEUE_FULL with Retry-After; the others are served", async (t) => {
  const slowGate = captionGate();
  const small = fakeRuntime({ models: { slow: fakeModelDir({ caption_gate: slowGate.dir }) }, maxQueue: 3 });
  const smallApp = await build({ runtime: small });
  t.after(async () => {
    await smallApp.close();
    await small.close();
  });
  const server = await smallApp.listen({ host: "127.0.0.1", port: 0 });
  slowGate.open();
  await describe(images[0]!, "slow", server); // loaded
  slowGate.close();
  // One runs (held by the gate), three wait, three are refused at once; then the gate opens.
  let answered = 0;
  const pending = Array.from({ length: 7 }, (_, i) =>
    describe(images[i]!, "slow", server).then((r) => {
      answered++;
      return r;
    }),
  );
  await waitFor(
    async () => slowGate.started(2) && (await queueDepth(small, "slow")) === 3 && answered === 3,
    120_000,
  );
  slowGate.open();
  const burst = await Promise.all(pending);
  const ok = burst.filter((r) => r.status === 200);
  const full = burst.filter((r) => r.status === 429);
  assert.equal(ok.length, 4, "1 running + 3 waiting");
  assert.equal(full.length, 3);
  for (const r of full) {
    assert.equal(r.body.code, "QUEUE_FULL");
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
  }
  const later = await describe(images[0]!, "slow", server);
  assert.equal(later.status, 200);
});

test("idle unload ends the worker process after the idle time; the next request reloads", async () => {
  const first = await describe(images[1]!, "idle");
  assert.equal(first.status, 200);
  const pid = Number(/pid (\d+)/.exec(first.body.result.caption)![1]);
  assert.ok(alive(pid));
  assert.deepEqual(
    runtime
      .loaded()
      .map((m) => m.name)
      .includes("idle"),
    true,
  );
  await waitFor(() => !alive(pid), 4000);
  assert.equal(
    runtime.loaded().some((m) => m.name === "idle"),
    false,
  );
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /sightline_model_loaded\{model="idle"\} 0/);
  const again = await describe(images[2]!, "idle");
  assert.equal(again.status, 200);
  const pid2 = Number(/pid (\d+)/.exec(again.body.result.caption)![1]);
  assert.notEqual(pid2, pid);
  assert.match(again.body.result.caption, / #1 /, "a freshly loaded model");
});
