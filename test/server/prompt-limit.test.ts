// A megabyte of prompt on every route that takes a prompt is refused with 400 PROMPT_TOO_LONG before
// anything reaches the model's queue, and the next normal request is answered as usual (the
// Florence-2 fixture in a real worker). A prompt under the character bound but over the model's
// positions is refused by the worker, which stays up.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance, InjectOptions } from "fastify";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { fixturesDir } from "./helpers.js";

const folder = join(fixturesDir, "florence-2");
const image = readFileSync(join(folder, "image1.png")).toString("base64");
const dataUrl = `data:image/png;base64,${image}`;
const megabyte = "<CAPTION_TO_PHRASE_GROUNDING>" + "b".repeat(1_000_000);

let app: FastifyInstance;
let runtime: Runtime;
let queued = 0;

before(async () => {
  runtime = new Runtime({ models: { flo: folder }, threads: 1, idleUnloadSeconds: 0 });
  // Counts what reaches the model queues.
  const caption = runtime.caption.bind(runtime);
  runtime.caption = (...args) => {
    queued++;
    return caption(...args);
  };
  app = await build({ runtime, florenceMaxNewTokens: 20 });
});

after(async () => {
  await app.close();
  await runtime.close();
});

const post = (url: string, payload: object): InjectOptions => ({ method: "POST", url, payload });

/** Each route that takes a prompt, with `prompt` in its own request shape. */
const routes = (prompt: string): [string, InjectOptions][] => [
  ["web", post("/api/v1/web/caption", { model: "flo", image: dataUrl, prompt })],
  ["Florence", post("/process_image", { image, prompt })],
  ["Ollama", post("/api/generate", { model: "flo", prompt, images: [image], stream: false })],
  [
    "OpenAI",
    post("/v1/chat/completions", {
      model: "flo",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: prompt },
            { type: "image_url", image_url: { url: dataUrl } },
          ],
        },
      ],
    }),
  ],
  ["PhotoPrism", post("/api/v1/vision/caption", { id: "p1", model: "flo", images: [dataUrl], prompt })],
];

async function normalCaption(): Promise<{ ms: number; pid: number | undefined }> {
  const started = performance.now();
  const res = await app.inject(post("/process_image", { image, prompt: "<CAPTION>" }));
  const ms = performance.now() - started;
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(typeof res.json().result, "string");
  return { ms, pid: runtime.loaded()[0]?.pid };
}

test("a megabyte of prompt is refused before the queue on every route; the next request is served", async (t) => {
  const first = await normalCaption(); // loads the model
  const warm = await normalCaption();
  const before = queued;
  for (const [name, request] of routes(megabyte)) {
    const started = performance.now();
    const res = await app.inject(request);
    const ms = performance.now() - started;
    t.diagnostic(`${name}: ${res.statusCode} in ${ms.toFixed(0)} ms`);
    assert.equal(res.statusCode, 400, `${name}: ${res.body.slice(0, 300)}`);
    assert.match(res.body, /prompt is too long: 1000029 characters/, name);
    assert.ok(res.body.length < 1000, `${name}: the answer does not echo the prompt`);
    assert.ok(ms < 2000, `${name}: refused in ${ms.toFixed(0)} ms`);
  }
  assert.equal(queued, before, "nothing reached the model queue");
  const next = await normalCaption();
  assert.equal(next.pid, warm.pid, "the same worker answers");
  t.diagnostic(
    `normal request: first ${first.ms.toFixed(0)} ms (load), warm ${warm.ms.toFixed(0)} ms, after ${next.ms.toFixed(0)} ms`,
  );
});

test("a prompt under the character bound but over the positions is refused by the worker, which stays up", async () => {
  const { pid } = await normalCaption();
  // 1500 words: far under the 131k-character bound, over the 1019 positions left beside the image.
  const res = await app.inject(
    post("/api/v1/web/caption", {
      model: "flo",
      image: dataUrl,
      prompt: "<CAPTION_TO_PHRASE_GROUNDING>" + "a ".repeat(1500),
    }),
  );
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().code, "PROMPT_TOO_LONG");
  assert.match(res.json().error, /it needs \d+ text positions; this model has 1019 for a prompt/);
  assert.equal((await normalCaption()).pid, pid);
});
