// The Ollama API (routes/ollama.ts) through the official `ollama` npm client, unmodified, pointed at
// a server on 127.0.0.1 with fixture models (ViT-GPT2, Florence-2) in worker processes; plus the
// request PhotoPrism's ollama engine sends and the error shape.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Ollama } from "ollama";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { fixturesDir } from "./helpers.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const folders = { "vit-gpt2": join(fixturesDir, "vit-gpt2"), "florence-2": join(fixturesDir, "florence-2") };
const image = (arch: keyof typeof folders, n: 1 | 2 = 1) =>
  readFileSync(join(folders[arch], `image${n}.png`));
const expected = (arch: keyof typeof folders): { cases: any[] } =>
  parsePythonJson(readFileSync(join(folders[arch], "expected.json"), "utf8"));
function seed(arch: keyof typeof folders, img: string, task?: string) {
  const c = expected(arch).cases.find((x) => x.image === img && (task === undefined || x.task === task));
  return c.generations.find((g: { name: string }) => g.name === "seed");
}

let runtime: Runtime;
let app: FastifyInstance;
let base = "";
let ollama: Ollama;

before(async () => {
  runtime = new Runtime({ models: folders, threads: 1, idleUnloadSeconds: 0 });
  app = await build({ runtime, apiKey: "ol-key" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  ollama = new Ollama({ host: base, headers: { Authorization: "Bearer ol-key" } });
});

after(async () => {
  await app.close();
  await runtime.close();
});

const vitSeed = () => String(seed("vit-gpt2", "image1.png").text[0]).trim();

test("generate with an image: the model's caption, done, token counts; stream gives the same text as NDJSON", async () => {
  const res = await ollama.generate({
    model: "vit-gpt2:latest",
    prompt: "Describe this image.",
    images: [image("vit-gpt2")],
  });
  assert.equal(res.response, vitSeed());
  assert.equal(res.done, true);
  assert.equal(res.model, "vit-gpt2:latest");
  assert.ok(res.eval_count > 0 && res.prompt_eval_count >= 1 && res.total_duration > 0);
  const parts: string[] = [];
  let last: { done: boolean; done_reason?: string } | undefined;
  for await (const part of await ollama.generate({
    model: "vit-gpt2",
    prompt: "Describe.",
    images: [image("vit-gpt2")],
    stream: true,
  })) {
    parts.push(part.response ?? "");
    last = part;
  }
  assert.ok(parts.length > 2);
  assert.equal(parts.join(""), vitSeed());
  assert.equal(last?.done, true);
  // The random-weight model never emits EOS: it stops at its own length limit.
  assert.equal(last?.done_reason, "length");
});

test("chat with images in the user message, stream and not", async () => {
  const messages = [
    { role: "system", content: "You describe photos." },
    { role: "user", content: "What is in this picture?", images: [image("vit-gpt2").toString("base64")] },
  ];
  const res = await ollama.chat({ model: "vit-gpt2", messages });
  assert.equal(res.message.role, "assistant");
  assert.equal(res.message.content, vitSeed());
  let text = "";
  for await (const part of await ollama.chat({ model: "vit-gpt2", messages, stream: true }))
    text += part.message.content ?? "";
  assert.equal(text, vitSeed());
});

test("Florence-2: a task token selects the task (<OD> answers its boxes as JSON); num_predict limits tokens", async () => {
  const od = await ollama.generate({
    model: "florence-2",
    prompt: "<OD>",
    images: [image("florence-2")],
    options: { num_predict: 20 },
  });
  assert.deepEqual(
    JSON.parse(od.response ?? ""),
    seed("florence-2", "image1.png", "<OD>").post_process[0]["<OD>"],
  );
  const cap = await ollama.generate({
    model: "florence-2",
    prompt: "Describe the image in one sentence.",
    images: [image("florence-2")],
    options: { num_predict: 20, temperature: 0.1 },
  });
  assert.equal(cap.response, String(seed("florence-2", "image1.png", "<CAPTION>").text[0]).trim());
});

test("format json (PhotoPrism's labels request, with its extra fields) → one object whose response is labels JSON", async () => {
  const res = await fetch(`${base}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer ol-key" },
    body: JSON.stringify({
      id: "3c1f",
      model: "vit-gpt2:latest",
      system: "You are a PhotoPrism vision model. Output concise JSON.",
      prompt:
        'Analyze the image.\n\nReturn JSON that matches this schema:\n{"labels":[{"name":"","confidence":0,"topicality":0}]}',
      suffix: "",
      format: "json",
      think: false,
      stream: false,
      options: { temperature: 0.1, top_p: 0.9, stop: ["\n\n"] },
      images: [image("vit-gpt2").toString("base64")],
    }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as any;
  assert.equal(body.done, true);
  const parsed = JSON.parse(body.response);
  assert.ok(Array.isArray(parsed.labels) && parsed.labels.length > 0);
  for (const l of parsed.labels) {
    assert.equal(typeof l.name, "string");
    assert.ok(l.confidence >= 0 && l.confidence <= 1 && l.topicality >= 0 && l.topicality <= 1);
  }
});

test("tags, show, version", async () => {
  const tags = await ollama.list();
  const names = tags.models.map((m) => m.name);
  for (const n of ["vit-gpt2:latest", "florence-2:latest"]) assert.ok(names.includes(n), names.join(","));
  const show = await ollama.show({ model: "florence-2:latest" });
  assert.ok(show.capabilities.includes("vision"));
  assert.equal(show.details.family, "florence-2");
  assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+$/);
});

test("keep_alive: an empty prompt loads, keep_alive 0 unloads (after a request too); ps lists what is loaded", async () => {
  const loaded = await ollama.generate({ model: "vit-gpt2", prompt: "" });
  assert.equal(loaded.done_reason, "load");
  let ps = await ollama.ps();
  const entry = ps.models.find((m) => m.name === "vit-gpt2:latest");
  assert.ok(entry, JSON.stringify(ps));
  assert.ok(!Number.isNaN(new Date(entry.expires_at).getTime()));
  const pid = runtime.loaded().find((m) => m.name === "vit-gpt2")?.pid;
  assert.ok(pid);

  const res = await ollama.generate({
    model: "vit-gpt2",
    prompt: "Describe.",
    images: [image("vit-gpt2")],
    keep_alive: 0,
  });
  assert.equal(res.response, vitSeed());
  ps = await ollama.ps();
  assert.ok(!ps.models.some((m) => m.name === "vit-gpt2:latest"), JSON.stringify(ps));

  await ollama.generate({ model: "vit-gpt2", prompt: "", keep_alive: "10m" });
  assert.ok((await ollama.ps()).models.some((m) => m.name === "vit-gpt2:latest"));
  const unloaded = await ollama.generate({ model: "vit-gpt2", prompt: "", keep_alive: 0 });
  assert.equal(unloaded.done_reason, "unload");
  assert.ok(!(await ollama.ps()).models.some((m) => m.name === "vit-gpt2:latest"));
});

test("errors: {error} with a 4xx status (unknown model, no images, not an image, bad JSON, bad keep_alive, no key)", async () => {
  const rejects = async (p: Promise<unknown>, status: number, message: RegExp) => {
    await assert.rejects(p, (e: { status_code?: number; error?: string }) => {
      assert.equal(e.status_code, status);
      assert.match(String(e.error), message);
      return true;
    });
  };
  await rejects(
    ollama.generate({ model: "llava:7b", prompt: "hi", images: [image("vit-gpt2")] }),
    404,
    /model not found/,
  );
  await rejects(ollama.generate({ model: "vit-gpt2", prompt: "hi" }), 400, /no image/);
  await rejects(
    ollama.chat({ model: "vit-gpt2", messages: [{ role: "user", content: "hi" }] }),
    400,
    /no image/,
  );
  await rejects(
    ollama.generate({ model: "vit-gpt2", prompt: "hi", images: [Buffer.from("hello, not an image")] }),
    400,
    /not an image|invalid/,
  );
  await rejects(ollama.generate({ model: "vit-gpt2", prompt: "hi", images: ["%%%"] }), 400, /base64/);
  await rejects(ollama.generate({ model: "vit-gpt2", prompt: "", keep_alive: "soon" }), 400, /keep_alive/);
  const raw = async (body: string, headers: Record<string, string> = { authorization: "Bearer ol-key" }) => {
    const res = await fetch(`${base}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const bad = await raw("{not json");
  assert.equal(bad.status, 400);
  assert.equal(typeof bad.body.error, "string");
  const noKey = await raw(JSON.stringify({ model: "vit-gpt2", prompt: "" }), {});
  assert.equal(noKey.status, 401);
  assert.equal(typeof noKey.body.error, "string");
});
