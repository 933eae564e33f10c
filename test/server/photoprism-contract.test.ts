// PhotoPrism as it really calls us: the request bodies its vision client builds (caption, labels,
// labels with the NSFW schema, nsfw, face) on its three engines (Vision API, Ollama, OpenAI),
// replayed against one server on 127.0.0.1, and every answer run through the parse rules that
// client applies (test/helpers/photoprism-client.ts). The captioning model is the fake one (its
// text is not the point here); the NSFW detector is the real nsfwjs MobileNetV2 in its worker.
// Also: model names in any case, Basic auth with the key, load wait apart from queue in /metrics.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { build } from "../../src/server/app.js";
import { ModelRegistry } from "../../src/server/models.js";
import type { Runtime } from "../../src/server/runtime.js";
import {
  captionPrompt,
  labelPrompt,
  labelPromptNsfw,
  labelsJsonSchema,
  labelsJsonTemplate,
  labelsJsonTemplateNsfw,
  labelSystem,
  parseOllama,
  parseOpenAI,
  parseVision,
  parseVisionNsfw,
  withSchema,
} from "../helpers/photoprism-client.js";
import { fakeModelDir, fakeRuntime } from "./helpers.js";

const key = "pp-contract-key";
const photo = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../shared/images/${name}`, import.meta.url)));

let runtime: Runtime;
let app: FastifyInstance;
let base = "";
let thumb720: Buffer; // fit_720
let tiles: Buffer[]; // tile_224, left_224, right_224

async function post(path: string, body: unknown, authorization = `Bearer ${key}`) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify(body),
    redirect: "manual",
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const dataUrl = (b: Buffer) => `data:image/jpeg;base64,${b.toString("base64")}`;

/** ApiRequest as the vision engine serializes it (suffix and stream always present). */
function visionRequest(fields: Record<string, unknown>) {
  return {
    id: crypto.randomUUID(),
    model: "Kosmos-2",
    version: "latest",
    suffix: "",
    stream: false,
    ...fields,
  };
}

before(async () => {
  // PhotoPrism keeps vision.yml's case: the served name is lower case here.
  // A known model_type, so requests queue at once (no info() load first) and wait for the load there.
  runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir({ model_type: "blip" }) } });
  app = await build({ runtime, apiKey: key });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const source = photo("mobile/jolla.jpg");
  thumb720 = await sharp(source).resize(720, 720, { fit: "inside" }).jpeg().toBuffer();
  const meta = await sharp(source).metadata();
  const side = Math.min(meta.width!, meta.height!);
  const crop = (left: number) =>
    sharp(source).extract({ left, top: 0, width: side, height: side }).resize(224, 224).jpeg().toBuffer();
  tiles = await Promise.all([crop(Math.floor((meta.width! - side) / 2)), crop(0), crop(meta.width! - side)]);
});

after(async () => {
  await app?.close();
  await runtime?.close();
});

test("Vision API caption: one fit_720 data URL, model named in another case → result.caption an object", async () => {
  const res = await post(
    "/api/v1/vision/caption",
    visionRequest({ prompt: captionPrompt, options: { temperature: 0.1 }, images: [dataUrl(thumb720)] }),
  );
  const parsed = parseVision(res.status, res.text, "caption");
  assert.match(parsed.caption!, /^fake 720x/);
  assert.equal(JSON.parse(res.text).model.name, "kosmos-2");
});

test("Vision API labels: three 224 px tiles, the Ollama label system prompt → one list of single words", async () => {
  const res = await post(
    "/api/v1/vision/labels",
    visionRequest({
      system: labelSystem,
      prompt: withSchema(labelPrompt, labelsJsonTemplate),
      options: {},
      images: tiles.map(dataUrl),
    }),
  );
  const { labels } = parseVision(res.status, res.text, "labels");
  assert.ok(labels!.length > 0);
  for (const l of labels!) {
    assert.doesNotMatch(l.name, /[\s_-]/, "single words");
    assert.equal(l.nsfw, undefined, "no NSFW fields unless the schema asks");
    assert.equal(typeof l.priority, "number");
  }
});

test("Vision API labels with the NSFW schema: every label carries nsfw and nsfw_confidence", async () => {
  const res = await post(
    "/api/v1/vision/labels",
    visionRequest({
      system: labelSystem,
      prompt: withSchema(labelPromptNsfw, labelsJsonTemplateNsfw),
      images: [dataUrl(thumb720)],
    }),
  );
  const { labels } = parseVision(res.status, res.text, "labels");
  assert.ok(labels!.length > 0);
  for (const l of labels!) {
    assert.equal(l.nsfw, false, "a safe photo");
    assert.ok(typeof l.nsfw_confidence === "number" && l.nsfw_confidence < 0.75);
  }
});

test("Vision API nsfw: two photos → two entries in order, each decided as PhotoPrism decides it", async () => {
  const second = await sharp(photo("cameras/Nikon_D70.jpg")).jpeg().toBuffer();
  const res = await post(
    "/api/v1/vision/nsfw",
    visionRequest({ model: "", images: [dataUrl(thumb720), dataUrl(second)] }),
  );
  const entries = parseVisionNsfw(res.status, res.text, 2);
  const body = JSON.parse(res.text);
  assert.deepEqual(
    entries.map((e) => e.status),
    ["safe", "safe"],
  );
  body.result.nsfw.forEach((r: { status: string; score: number; threshold: number }, i: number) => {
    assert.equal(r.status, entries[i]!.status, "our status is PhotoPrism's at the same threshold");
    assert.equal(r.threshold, 0.75);
    assert.ok(Math.abs(r.score - entries[i]!.score!) < 1e-9);
  });
  assert.equal(body.model.type, "nsfw");
  // Deterministic: the same photo again gives the same numbers.
  const again = await post("/api/v1/vision/nsfw", visionRequest({ images: [dataUrl(thumb720)] }));
  assert.deepEqual(JSON.parse(again.text).result.nsfw[0], body.result.nsfw[0]);
  // An image reference that cannot be read fails the request (PhotoPrism's handler: 400).
  const bad = await post("/api/v1/vision/nsfw", visionRequest({ images: ["data:image/jpeg;base64,AAAA"] }));
  assert.equal(bad.status, 400, bad.text);
});

test("Vision API face: 501 with a message that says to keep faces local", async () => {
  const crop = await sharp(thumb720).resize(160, 160).jpeg().toBuffer();
  const res = await post("/api/v1/vision/face", visionRequest({ model: "facenet", images: [dataUrl(crop)] }));
  assert.equal(res.status, 501);
  assert.match(JSON.parse(res.text).message, /FaceNet.*keep faces local/);
});

test("Ollama engine: labels (format json, raw base64, think false, its options) and a caption", async () => {
  const common = {
    model: "KOSMOS-2:latest",
    id: crypto.randomUUID(),
    suffix: "",
    stream: false,
    think: false,
    images: [thumb720.toString("base64")],
  };
  const labels = await post("/api/generate", {
    ...common,
    system: labelSystem,
    prompt: withSchema(labelPrompt, labelsJsonTemplate),
    format: "json",
    options: { temperature: 0.1, top_p: 0.9, stop: ["\n\n"] },
  });
  const parsedLabels = parseOllama(labels.status, labels.text);
  assert.ok(parsedLabels.labels && parsedLabels.labels.length > 0, labels.text);
  for (const l of parsedLabels.labels!) assert.doesNotMatch(l.name, /[\s_-]/);
  const nsfw = await post("/api/generate", {
    ...common,
    system: labelSystem,
    prompt: withSchema(labelPromptNsfw, labelsJsonTemplateNsfw),
    format: "json",
    options: { temperature: 0.1 },
  });
  for (const l of parseOllama(nsfw.status, nsfw.text).labels!) {
    assert.equal(l.nsfw, false);
    assert.equal(typeof l.nsfw_confidence, "number");
  }
  const caption = await post("/api/generate", {
    ...common,
    prompt: captionPrompt,
    options: { temperature: 0.1 },
  });
  assert.match(parseOllama(caption.status, caption.text).caption!, /^fake 720x/);
});

test("OpenAI engine: Responses API labels (json_schema, NSFW variant) and a caption", async () => {
  const input = (prompt: string, system: string) => [
    { role: "system", type: "message", content: [{ type: "input_text", text: system }] },
    {
      role: "user",
      type: "message",
      content: [
        { type: "input_text", text: prompt },
        { type: "input_image", image_url: dataUrl(thumb720), detail: "low" },
      ],
    },
  ];
  for (const nsfw of [false, true]) {
    const res = await post("/v1/responses", {
      model: "Kosmos-2",
      input: input(nsfw ? labelPromptNsfw : labelPrompt, labelSystem),
      text: {
        format: {
          type: "json_schema",
          name: "photoprism_vision_labels_v1",
          schema: labelsJsonSchema(nsfw),
          strict: true,
        },
      },
      reasoning: { effort: "low" },
      max_output_tokens: 1024,
    });
    const { labels } = parseOpenAI(res.status, res.text);
    assert.ok(labels && labels.length > 0, res.text);
    for (const l of labels!) {
      assert.doesNotMatch(l.name, /[\s_-]/);
      assert.equal(l.nsfw, nsfw ? false : undefined);
    }
  }
  const caption = await post("/v1/responses", {
    model: "kosmos-2",
    input: input(captionPrompt, "You are a PhotoPrism vision model. Write concise, user-friendly captions."),
    max_output_tokens: 512,
  });
  assert.match(parseOpenAI(caption.status, caption.text).caption!, /^fake 720x/);
});

test("auth as PhotoPrism sends it: Bearer or Basic (any user, the key as password); wrong ones are 401", async () => {
  const body = visionRequest({ prompt: captionPrompt, images: [dataUrl(tiles[0]!)] });
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  assert.equal((await post("/api/v1/vision/caption", body, basic("photoprism", key))).status, 200);
  assert.equal((await post("/api/v1/vision/caption", body, basic("", key))).status, 200);
  for (const wrong of [basic("photoprism", "nope"), basic(key, ""), `Basic ${key}`, `Bearer nope`, ""]) {
    const res = await post("/api/v1/vision/caption", body, wrong);
    assert.equal(res.status, 401, wrong);
  }
});

test("model names in any case; two served names that differ only in case are a start-up error", async () => {
  for (const model of ["kosmos-2", "Kosmos-2", "KOSMOS-2", "kosmos-2:LATEST"]) {
    const res = await post("/api/v1/vision/caption", visionRequest({ model, images: [dataUrl(tiles[0]!)] }));
    assert.equal(JSON.parse(res.text).model.name, "kosmos-2", `${model}: ${res.text}`);
  }
  assert.throws(
    () => new ModelRegistry({ models: { Mine: "/a", MINE: "/b" }, checkFolders: false }),
    (e: Error) => /differ only in case/.test(e.message),
  );
  assert.equal(
    new ModelRegistry({ models: { Mine: "/a" }, defaultModel: "mine", checkFolders: false }).defaultModel,
    "Mine",
  );
});

test("/metrics: the wait for a model load is its own stage, apart from queue and run", async () => {
  const metrics = await (
    await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } })
  ).text();
  for (const stage of ["load_wait", "queue", "run"]) {
    assert.match(
      metrics,
      new RegExp(`sightline_stage_duration_seconds_count\\{model="kosmos-2",stage="${stage}"\\} [1-9]`),
      stage,
    );
  }
  assert.match(
    metrics,
    /sightline_stage_duration_seconds_count\{model="nsfwjs-mobilenetv2",stage="load_wait"\} 1/,
  );
  // The loaded NSFW detector shows in /readyz (to a request with the key: issue 18 item 5); Ollama's
  // /api/ps lists only models a client can name.
  const ready = (await (
    await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as { loaded: string[] };
  assert.ok(ready.loaded.includes("nsfwjs-mobilenetv2"), JSON.stringify(ready));
  const ps = await fetch(`${base}/api/ps`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(ps.status, 200);
  assert.deepEqual(
    ((await ps.json()) as { models: { name: string }[] }).models.map((m: { name: string }) => m.name),
    ["kosmos-2:latest"],
  );
});
