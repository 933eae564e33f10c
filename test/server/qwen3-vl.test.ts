// Qwen3-VL behind the chat dialects: the fixture model in a worker process answers a caption prompt
// on the Ollama, OpenAI and PhotoPrism routes (official `ollama` / `openai` clients) with HF's greedy
// tokens for that prompt, and a label prompt with labels. A stand-in model of kind qwen3_vl shows
// what the dialects hand an instruction-following model: the client's prompt and system message,
// the sampling it asked for (and none otherwise), and labels read from its JSON answer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { labelsFromJsonAnswer } from "../../src/server/chat/labels.js";
import { fakeModelDir, fakeRuntime, fixturesDir } from "./helpers.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const folder = join(fixturesDir, "qwen3-vl");
const expected = parsePythonJson(readFileSync(join(folder, "expected.json"), "utf8"));
const jpeg = readFileSync(join(folder, "image1.jpg"));
const describe = expected.cases.find((c: any) => c.image === "image1.jpg" && c.prompt_name === "describe");
const photoprism = expected.cases.find(
  (c: any) => c.image === "image1.jpg" && c.prompt_name === "photoprism_caption",
);
const greedy = (c: any) => String(c.generations.find((g: any) => g.name === "greedy").text[0]).trim();

let runtime: Runtime;
let app: FastifyInstance;
let base = "";

before(async () => {
  runtime = new Runtime({ models: { qwen: folder }, threads: 1, idleUnloadSeconds: 0 });
  app = await build({ runtime });
  await app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
  await runtime.close();
});

test("Ollama generate and chat pass the prompt through the chat template: HF's greedy answer", async () => {
  const ollama = new Ollama({ host: base });
  const res = await ollama.generate({
    model: "qwen:latest",
    prompt: describe.prompt_text,
    images: [jpeg],
    options: { num_predict: 20 },
  });
  assert.equal(res.response, greedy(describe));
  assert.equal(res.eval_count, 20);
  assert.equal(res.prompt_eval_count, describe.input_ids[0].length);
  const chat = await ollama.chat({
    model: "qwen",
    messages: [{ role: "user", content: photoprism.prompt_text, images: [jpeg.toString("base64")] }],
    options: { num_predict: 20, temperature: 0 },
  });
  assert.equal(chat.message.content, greedy(photoprism));
});

test("OpenAI chat completion: HF's greedy answer for the user's text, usage from the prompt length", async () => {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "none", maxRetries: 0 });
  const res = await client.chat.completions.create({
    model: "qwen",
    messages: [
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: `data:image/jpeg;base64,${jpeg.toString("base64")}` } },
          { type: "text", text: photoprism.prompt_text },
        ],
      },
    ],
    max_tokens: 20,
  });
  assert.equal(res.choices[0]!.message.content, greedy(photoprism));
  assert.equal(res.usage?.prompt_tokens, photoprism.input_ids[0].length);
  assert.equal(res.usage?.completion_tokens, 20);
});

test("PhotoPrism caption and labels answer with this model", async () => {
  const image = `data:image/jpeg;base64,${jpeg.toString("base64")}`;
  const caption = await app.inject({
    method: "POST",
    url: "/api/v1/vision/caption",
    payload: { model: "qwen", images: [image], prompt: describe.prompt_text, options: { num_predict: 20 } },
  });
  assert.equal(caption.statusCode, 200, caption.body);
  assert.equal(caption.json().result.caption.text, greedy(describe));
  const labels = await app.inject({
    method: "POST",
    url: "/api/v1/vision/labels",
    payload: { model: "qwen", images: [image], options: { num_predict: 8 } },
  });
  assert.equal(labels.statusCode, 200, labels.body);
  assert.ok(Array.isArray(labels.json().result.labels));
});

test("labels come from the first {labels: [...]} object of an answer, fenced or not", () => {
  const answer =
    'Sure:\n```json\n{"labels":[{"name":"dogs","confidence":0.9,"topicality":0.8},{"name":"Red car"},' +
    '{"name":""}]}\n```';
  assert.deepEqual(labelsFromJsonAnswer(answer), [
    { name: "Dog", confidence: 0.9, topicality: 0.8 },
    { name: "Red Car", confidence: 0.5, topicality: 0.5 },
  ]);
  assert.equal(labelsFromJsonAnswer("a dog on a sofa"), undefined);
  assert.equal(labelsFromJsonAnswer('{"labels": [unterminated'), undefined);
});

test("the dialects hand an instruction-following model the prompt, system message and sampling", async () => {
  const fake = fakeRuntime({ models: { vlm: fakeModelDir({ model_type: "qwen3_vl", echo_options: true }) } });
  const fakeApp = await build({ runtime: fake });
  try {
    const { png } = await import("./helpers.js");
    const b64 = (await png(8, 8, [10, 20, 30])).toString("base64");
    const gen = await fakeApp.inject({
      method: "POST",
      url: "/api/generate",
      payload: {
        model: "vlm",
        prompt: "Describe it.",
        system: "Answer in German.",
        images: [b64],
        stream: false,
        options: { temperature: 0.5, top_k: 5, seed: 3 },
      },
    });
    assert.equal(gen.statusCode, 200, gen.body);
    const text = gen.json().response as string;
    assert.match(text, /Describe it\. options=/);
    assert.deepEqual(JSON.parse(text.split("options=")[1]!), {
      system: "Answer in German.",
      sample: { temperature: 0.5, topK: 5, seed: 3 },
    });
    // No sampling settings (or temperature 0): greedy.
    const plain = await fakeApp.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: {
        model: "vlm",
        temperature: 0,
        messages: [
          { role: "system", content: "Be brief." },
          {
            role: "user",
            content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${b64}` } }],
          },
        ],
      },
    });
    assert.equal(plain.statusCode, 200, plain.body);
    const content = plain.json().choices[0].message.content as string;
    assert.deepEqual(JSON.parse(content.split("options=")[1]!), { system: "Be brief." });
    // Labels from the model's JSON answer (the stand-in echoes the prompt, which holds one).
    const labels = await fakeApp.inject({
      method: "POST",
      url: "/api/v1/vision/labels",
      payload: {
        model: "vlm",
        images: [`data:image/png;base64,${b64}`],
        prompt: 'Return {"labels":[{"name":"cats","confidence":0.8,"topicality":0.7}]}',
      },
    });
    assert.equal(labels.statusCode, 200, labels.body);
    assert.deepEqual(
      labels.json().result.labels.map((l: any) => [l.name, l.confidence, l.topicality]),
      [["Cat", 0.8, 0.7]],
    );
    // A bad sampling value is refused for this kind of model.
    const bad = await fakeApp.inject({
      method: "POST",
      url: "/api/generate",
      payload: { model: "vlm", prompt: "x", images: [b64], stream: false, options: { top_p: 3 } },
    });
    assert.equal(bad.statusCode, 400, bad.body);
  } finally {
    await fakeApp.close();
    await fake.close();
  }
});
