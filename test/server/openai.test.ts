// The OpenAI API (routes/openai.ts) through the official `openai` npm client, unmodified, pointed at
// a server on 127.0.0.1 with fixture models (ViT-GPT2, Florence-2) in worker processes: chat
// completions with an image (stream and not), the Responses API with PhotoPrism's payload, models;
// errors in OpenAI's shape.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import OpenAI from "openai";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { fixturesDir } from "./helpers.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const folders = { "vit-gpt2": join(fixturesDir, "vit-gpt2"), "florence-2": join(fixturesDir, "florence-2") };
const dataUrl = (arch: keyof typeof folders, n: 1 | 2 = 1) =>
  `data:image/png;base64,${readFileSync(join(folders[arch], `image${n}.png`)).toString("base64")}`;
const expected = (arch: keyof typeof folders): { cases: any[] } =>
  parsePythonJson(readFileSync(join(folders[arch], "expected.json"), "utf8"));
function seed(arch: keyof typeof folders, img: string, task?: string) {
  const c = expected(arch).cases.find((x) => x.image === img && (task === undefined || x.task === task));
  return c.generations.find((g: { name: string }) => g.name === "seed");
}
const vitSeed = (img = "image1.png") => String(seed("vit-gpt2", img).text[0]).trim();

// PhotoPrism's label schema (strict style, spec 3.2).
const labelSchema = {
  type: "object",
  additionalProperties: false,
  required: ["labels"],
  properties: {
    labels: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "confidence", "topicality"],
        properties: {
          name: { type: "string", minLength: 1 },
          confidence: { type: "number", minimum: 0, maximum: 1 },
          topicality: { type: "number", minimum: 0, maximum: 1 },
        },
      },
    },
  },
};

let runtime: Runtime;
let app: FastifyInstance;
let base = "";
let client: OpenAI;

before(async () => {
  runtime = new Runtime({ models: folders, threads: 1, idleUnloadSeconds: 0 });
  app = await build({ runtime, apiKey: "oa-key" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "oa-key", maxRetries: 0 });
});

after(async () => {
  await app.close();
  await runtime.close();
});

const userImage = (text: string, url: string): OpenAI.Chat.ChatCompletionMessageParam => ({
  role: "user",
  content: [
    { type: "text", text },
    { type: "image_url", image_url: { url, detail: "low" } },
  ],
});

test("chat completion with an image: the caption, finish_reason, usage", async () => {
  const res = await client.chat.completions.create({
    model: "vit-gpt2",
    messages: [
      { role: "system", content: "You describe images." },
      userImage("What is in this image?", dataUrl("vit-gpt2")),
    ],
    max_tokens: 300,
  });
  assert.equal(res.object, "chat.completion");
  assert.equal(res.model, "vit-gpt2");
  assert.equal(res.choices.length, 1);
  assert.equal(res.choices[0]!.message.role, "assistant");
  assert.equal(res.choices[0]!.message.content, vitSeed());
  // The random-weight model never emits EOS: it stops at its own length limit (max_length 16).
  assert.equal(res.choices[0]!.finish_reason, "length");
  assert.equal(res.usage?.completion_tokens, 15);
  assert.ok(
    res.usage &&
      res.usage.completion_tokens > 0 &&
      res.usage.total_tokens === res.usage.prompt_tokens + res.usage.completion_tokens,
  );
});

test("chat completion streamed: SSE chunks that add up to the same text, a finish_reason, usage on request, [DONE]", async () => {
  const stream = await client.chat.completions.create({
    model: "vit-gpt2",
    messages: [userImage("Describe.", dataUrl("vit-gpt2", 2))],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    text += chunk.choices[0]?.delta.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  assert.ok(chunks > 3);
  assert.equal(text, vitSeed("image2.png"));
  assert.equal(finish, "length");
  assert.ok(usage && usage.completion_tokens > 0);
  // The raw stream ends with data: [DONE].
  const raw = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer oa-key" },
    body: JSON.stringify({
      model: "vit-gpt2",
      stream: true,
      messages: [userImage("x", dataUrl("vit-gpt2"))],
    }),
  });
  assert.match(String(raw.headers.get("content-type")), /^text\/event-stream/);
  assert.match(await raw.text(), /data: \[DONE\]\n\n$/);
});

test("max_completion_tokens limits generation (finish_reason length); Florence-2 task tokens in the text part", async () => {
  const res = await client.chat.completions.create({
    model: "florence-2",
    messages: [userImage("<CAPTION>", dataUrl("florence-2"))],
    max_completion_tokens: 20,
  });
  assert.equal(
    res.choices[0]!.message.content,
    String(seed("florence-2", "image1.png", "<CAPTION>").text[0]).trim(),
  );
  assert.equal(res.choices[0]!.finish_reason, "length");
  assert.equal(res.usage?.completion_tokens, 20);
  const labels = await client.chat.completions.create({
    model: "vit-gpt2",
    messages: [userImage("Label this image.", dataUrl("vit-gpt2"))],
    response_format: {
      type: "json_schema",
      json_schema: { name: "photoprism_vision_labels_v1", schema: labelSchema, strict: true },
    },
  });
  assert.ok(Array.isArray(JSON.parse(labels.choices[0]!.message.content ?? "").labels));
});

test("Responses API with PhotoPrism's payload: labels as json_schema output_text; a caption without text.format", async () => {
  const input = (prompt: string) => [
    {
      role: "system" as const,
      type: "message" as const,
      content: [{ type: "input_text" as const, text: "You are a PhotoPrism vision model." }],
    },
    {
      role: "user" as const,
      type: "message" as const,
      content: [
        { type: "input_text" as const, text: prompt },
        { type: "input_image" as const, image_url: dataUrl("vit-gpt2"), detail: "low" as const },
      ],
    },
  ];
  const labels = await client.responses.create({
    model: "vit-gpt2",
    input: input(
      'Analyze the image.\n\nReturn JSON that matches this schema:\n{"labels":[{"name":"","confidence":0,"topicality":0}]}',
    ),
    text: {
      format: { type: "json_schema", name: "photoprism_vision_labels_v1", schema: labelSchema, strict: true },
    },
    max_output_tokens: 1024,
    service_tier: "flex",
  });
  assert.equal(labels.object, "response");
  assert.equal(labels.model, "vit-gpt2");
  assert.equal(typeof labels.id, "string");
  const part = (labels.output[0] as { content: { type: string; text: string }[] }).content[0]!;
  assert.equal(part.type, "output_text");
  const parsed = JSON.parse(part.text);
  assert.ok(parsed.labels.length > 0);
  for (const l of parsed.labels)
    assert.ok(
      typeof l.name === "string" &&
        l.confidence >= 0 &&
        l.confidence <= 1 &&
        l.topicality >= 0 &&
        l.topicality <= 1,
    );
  assert.equal(labels.output_text, part.text);
  assert.ok(labels.usage && labels.usage.output_tokens > 0);

  const caption = await client.responses.create({
    model: "vit-gpt2",
    input: input("Write one sentence about the image."),
    max_output_tokens: 512,
  });
  assert.equal(caption.output_text, vitSeed());
  assert.equal(caption.status, "completed");
});

test("Responses API streamed: text deltas and a completed response", async () => {
  const stream = await client.responses.create({
    model: "vit-gpt2",
    input: [
      {
        role: "user",
        content: [
          { type: "input_text", text: "Describe." },
          { type: "input_image", image_url: dataUrl("vit-gpt2"), detail: "auto" },
        ],
      },
    ],
    stream: true,
  });
  let text = "";
  let completed: OpenAI.Responses.Response | undefined;
  for await (const event of stream) {
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed") completed = event.response;
  }
  assert.equal(text, vitSeed());
  assert.equal(completed?.output_text ?? "", vitSeed());
});

test("models list and retrieve", async () => {
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const id of ["vit-gpt2", "florence-2"]) assert.ok(ids.includes(id), ids.join(","));
  assert.equal((await client.models.retrieve("florence-2")).id, "florence-2");
  await assert.rejects(
    client.models.retrieve("owner/missing"),
    (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404,
  );
});

test("errors in OpenAI's shape: unknown model, no image, non-image data URL, private URL, bad JSON, no key", async () => {
  const rejects = async (p: Promise<unknown>, status: number, code: string) => {
    await assert.rejects(p, (e: InstanceType<typeof OpenAI.APIError>) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal(e.status, status, e.message);
      assert.equal(e.code, code, e.message);
      assert.equal(typeof (e.error as { message?: string }).message, "string");
      assert.equal(e.type, status >= 500 ? "server_error" : "invalid_request_error");
      return true;
    });
  };
  await rejects(
    client.chat.completions.create({ model: "gpt-4o", messages: [userImage("hi", dataUrl("vit-gpt2"))] }),
    404,
    "model_not_found",
  );
  await rejects(
    client.chat.completions.create({ model: "vit-gpt2", messages: [{ role: "user", content: "hi" }] }),
    400,
    "image_required",
  );
  await rejects(
    client.chat.completions.create({
      model: "vit-gpt2",
      messages: [userImage("hi", "data:text/plain;base64,aGVsbG8=")],
    }),
    400,
    "image_invalid",
  );
  await rejects(
    client.chat.completions.create({
      model: "vit-gpt2",
      messages: [userImage("hi", "https://10.0.0.1/cat.jpg")],
    }),
    400,
    "url_forbidden",
  );
  await rejects(client.responses.create({ model: "vit-gpt2", input: "hello" }), 400, "image_required");
  await rejects(
    new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 }).models.list(),
    401,
    "invalid_api_key",
  );
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer oa-key" },
    body: "{oops",
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(body.error.type, "invalid_request_error");
});
