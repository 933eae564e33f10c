// PhotoPrism's Vision API (routes/photoprism.ts) with requests built exactly as PhotoPrism's client
// builds them (../shared/specs/photoprism-vision.md): caption with one data-URL thumbnail, labels
// with 3 tiles and the JSON-schema prompt, https image URLs from a local TLS server, bearer key;
// the response fields and types PhotoPrism parses; the error statuses and bodies it gets.
// Real fixture models (Kosmos-2, Florence-2) in worker processes, one server for the file.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, InjectOptions } from "fastify";
import sharp from "sharp";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { labelsOf, mergeLabels, priorityFromTopicality, singleWord } from "../../src/server/chat/labels.js";
import { captionGate, fakeModelDir, fakeRuntime, fixturesDir, queueDepth, waitFor } from "./helpers.js";
import { parsePythonJson } from "../helpers/fixtures.js";

const key = "pp-secret";
const auth = { authorization: `Bearer ${key}` };
const folders = { "kosmos-2": join(fixturesDir, "kosmos-2"), "florence-2": join(fixturesDir, "florence-2") };
const png = (arch: keyof typeof folders, n: 1 | 2) => readFileSync(join(folders[arch], `image${n}.png`));
const dataUrl = (bytes: Buffer, type = "image/png") => `data:${type};base64,${bytes.toString("base64")}`;

type Expected = { cases: any[] };
const expected = (arch: keyof typeof folders): Expected =>
  parsePythonJson(readFileSync(join(folders[arch], "expected.json"), "utf8"));
/** The `seed` generation of a fixture case (Kosmos-2: its post-processed caption; Florence-2: the text). */
function seedText(arch: keyof typeof folders, image: string, task?: string): string {
  const c = expected(arch).cases.find((x) => x.image === image && (task === undefined || x.task === task));
  const seed = c.generations.find((g: { name: string }) => g.name === "seed");
  return arch === "kosmos-2" ? seed.post_process[0].caption.trim() : String(seed.text[0]).trim();
}

// PhotoPrism's label prompt: the instructions, a blank line, the schema reminder (spec 2.3).
const labelSystem =
  "You are a PhotoPrism vision model. Output concise JSON that matches the schema. Each label name MUST be a single-word noun in its canonical singular form.";
const labelPrompt =
  "Analyze the image and return label objects with name, confidence (0-1), and topicality (0-1).\n\n" +
  'Return JSON that matches this schema:\n{"labels":[{"name":"","confidence":0,"topicality":0}]}';
const captionPrompt =
  "Write exactly one sentence in the active voice that describes the main visual content of the image.";

let runtime: Runtime;
let app: FastifyInstance; // private URLs allowed, the test CA trusted
let strict: FastifyInstance; // server defaults (plus a small body limit)
let tls: Server | undefined;
let tlsBase = "";
let tlsDir = "";
const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

before(async () => {
  runtime = new Runtime({ models: folders, threads: 1, idleUnloadSeconds: 0 });
  let ca: Buffer | undefined;
  if (hasOpenssl) {
    // A self-signed certificate for 127.0.0.1, trusted by this test's server only.
    tlsDir = mkdtempSync(join(tmpdir(), "sightline-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(tlsDir, "key.pem"),
        "-out",
        join(tlsDir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    ca = readFileSync(join(tlsDir, "cert.pem"));
    const images: Record<string, Buffer> = { "/thumb/1": png("kosmos-2", 1), "/thumb/2": png("kosmos-2", 2) };
    tls = createServer({ key: readFileSync(join(tlsDir, "key.pem")), cert: ca }, (req, res) => {
      const body = images[req.url ?? ""];
      if (req.url === "/page")
        return void res.writeHead(200, { "content-type": "text/html" }).end("<html>hi</html>");
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "image/png" }).end(body);
    });
    await new Promise<void>((resolve) => tls!.listen(0, "127.0.0.1", resolve));
    tlsBase = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  }
  app = await build({
    runtime,
    apiKey: key,
    allowPrivateUrls: true,
    fetchCa: ca,
    labelsModel: "kosmos-2",
    labelsTask: "<GENERATE_TAGS>",
  });
  strict = await build({ runtime, apiKey: key, bodyLimit: 64 * 1024 });
});

after(async () => {
  await app?.close();
  await strict?.close();
  await runtime?.close();
  await new Promise((resolve) => (tls ? tls.close(resolve) : resolve(undefined)));
  if (tlsDir && existsSync(tlsDir)) rmSync(tlsDir, { recursive: true, force: true });
});

const post = (path: string, payload: unknown, headers: Record<string, string> = auth): InjectOptions => ({
  method: "POST",
  url: `/api/v1/vision/${path}`,
  headers,
  payload: payload as object,
});

/** The request PhotoPrism's vision engine sends (ApiRequest, spec 1.3). */
function photoprismRequest(fields: Record<string, unknown>) {
  return {
    id: "0f7c1a52-3d0e-4c59-9a61-2b7d0c1e9a10",
    model: "kosmos-2",
    version: "latest",
    suffix: "",
    stream: false,
    options: {},
    ...fields,
  };
}

/** What PhotoPrism's client checks on every success (spec 1.4, P1, P2). */
function assertEnvelope(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  type: string,
) {
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body = JSON.parse(res.body);
  assert.equal(typeof body.id, "string");
  assert.equal(body.code, 200);
  assert.equal(typeof body.model, "object");
  assert.equal(body.model.type, type);
  assert.equal(typeof body.model.name, "string");
  assert.equal(typeof body.model.version, "string");
  assert.equal(typeof body.result, "object");
  return body;
}

test("V1: caption with one JPEG data-URL thumbnail → {id, code, model{type,name,version}, result.caption{text,source,confidence}}", async () => {
  const jpeg = await sharp(png("kosmos-2", 1)).jpeg().toBuffer();
  const res = await app.inject(
    post("caption", photoprismRequest({ prompt: captionPrompt, images: [dataUrl(jpeg, "image/jpeg")] })),
  );
  const body = assertEnvelope(res, "caption");
  assert.equal(body.id, "0f7c1a52-3d0e-4c59-9a61-2b7d0c1e9a10");
  assert.deepEqual(body.model, { type: "caption", name: "kosmos-2", version: "patch14-224" });
  const caption = body.result.caption;
  assert.equal(typeof caption, "object");
  assert.ok(typeof caption.text === "string" && caption.text.length > 0);
  assert.equal(typeof caption.source, "string");
  assert.ok(typeof caption.confidence === "number" && caption.confidence >= 0 && caption.confidence <= 1);
});

test("caption text is the model's own caption (the fixture's seed generation), whatever the free-text prompt says", async () => {
  const res = await app.inject(
    post("caption", photoprismRequest({ prompt: captionPrompt, images: [dataUrl(png("kosmos-2", 1))] })),
  );
  assert.equal(res.json().result.caption.text, seedText("kosmos-2", "image1.png"));
  // Florence-2 runs <CAPTION> for free text; options.num_predict limits the new tokens (20 = the seed's).
  const fl = await app.inject(
    post(
      "caption",
      photoprismRequest({
        model: "florence-2",
        prompt: captionPrompt,
        options: { num_predict: 20, temperature: 0.1 },
        images: [dataUrl(png("florence-2", 1))],
      }),
    ),
  );
  assert.equal(fl.statusCode, 200, fl.body);
  assert.equal(fl.json().result.caption.text, seedText("florence-2", "image1.png", "<CAPTION>"));
  assert.deepEqual(fl.json().model, { type: "caption", name: "florence-2", version: "latest" });
});

test("V2: no id → a fresh UUID", async () => {
  const { id, ...rest } = photoprismRequest({ images: [dataUrl(png("kosmos-2", 1))] });
  void id;
  const body = assertEnvelope(await app.inject(post("caption", rest)), "caption");
  assert.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

test(
  "V3/V4: https image URLs (FileScheme https, and the legacy {id, url} format) are fetched",
  { skip: !hasOpenssl && "no openssl" },
  async () => {
    const res = await app.inject(
      post("caption", photoprismRequest({ id: "https-1", images: [`${tlsBase}/thumb/1`] })),
    );
    const body = assertEnvelope(res, "caption");
    assert.equal(body.id, "https-1");
    assert.equal(body.result.caption.text, seedText("kosmos-2", "image1.png"));
    const legacy = await app.inject(post("caption", { id: "B", url: `${tlsBase}/thumb/2` }));
    assert.equal(assertEnvelope(legacy, "caption").result.caption.text, seedText("kosmos-2", "image2.png"));
    // Not an image, missing, or a self-signed host the server does not trust / a private address by default.
    for (const [server, url] of [
      [app, `${tlsBase}/page`],
      [app, `${tlsBase}/missing`],
      [strict, `${tlsBase}/thumb/1`],
    ] as const) {
      const bad = await server.inject(post("caption", photoprismRequest({ id: "C", images: [url] })));
      assert.equal(bad.statusCode, 400, `${url}: ${bad.body}`);
      assert.deepEqual(
        { ...(bad.json() as object), message: undefined },
        { id: "C", code: 400, error: "Bad Request", message: undefined },
      );
    }
  },
);

test("V5/V6/V8: labels with 3 tiles, the JSON-schema prompt and every extra field → one merged, Title-Case list", async () => {
  const tiles = [png("kosmos-2", 1), png("kosmos-2", 2), png("kosmos-2", 1)];
  const res = await app.inject(
    post(
      "labels",
      photoprismRequest({
        system: labelSystem,
        prompt: labelPrompt,
        format: "json",
        think: false,
        context: [1, 2],
        options: { temperature: 0.1, top_p: 0.9, stop: ["\n\n"] },
        images: tiles.map((t) => dataUrl(t)),
      }),
    ),
  );
  const body = assertEnvelope(res, "labels");
  assert.deepEqual(body.model, { type: "labels", name: "kosmos-2", version: "patch14-224" });
  const labels = body.result.labels as { name: string; confidence: number; topicality: number }[];
  assert.ok(Array.isArray(labels) && labels.length > 0);
  const names = labels.map((l) => l.name.toLowerCase());
  assert.equal(new Set(names).size, names.length, "de-duplicated");
  for (const l of labels) {
    assert.match(l.name, /^\p{Lu}/u);
    // The system prompt asks for single-word nouns.
    assert.doesNotMatch(l.name, /[\s-]/);
    assert.ok(typeof l.confidence === "number" && l.confidence > 0 && l.confidence <= 1);
    assert.ok(typeof l.topicality === "number" && l.topicality >= 0 && l.topicality <= 1);
  }
  // Kosmos-2 found no grounded entities in these random-weight captions: the captions' nouns, merged,
  // with PhotoPrism's priority for their topicality.
  const per = ["image1.png", "image2.png", "image1.png"].map((img) =>
    labelsOf({ text: seedText("kosmos-2", img), image: { width: 1, height: 1 } }).map(singleWord),
  );
  assert.deepEqual(
    labels,
    mergeLabels(per).map((l) => ({ ...l, priority: priorityFromTopicality(l.topicality) })),
  );
});

test("labels: the configured task on Florence-2 (<GENERATE_TAGS>), the labels model when none is named", async () => {
  const res = await app.inject(
    post(
      "labels",
      photoprismRequest({
        model: "florence-2",
        prompt: labelPrompt,
        options: { num_predict: 20 },
        images: [dataUrl(png("florence-2", 1))],
      }),
    ),
  );
  const body = assertEnvelope(res, "labels");
  const tags = seedText("florence-2", "image1.png", "<GENERATE_TAGS>");
  assert.deepEqual(
    body.result.labels,
    mergeLabels([labelsOf({ task: "<GENERATE_TAGS>", text: tags, image: { width: 64, height: 48 } })]),
  );
  const unnamed = await app.inject(
    post("labels", photoprismRequest({ model: "", images: [dataUrl(png("kosmos-2", 1))] })),
  );
  assert.equal(assertEnvelope(unnamed, "labels").model.name, "kosmos-2");
});

test("face: 501 with the error body, saying why (no model in PhotoPrism's FaceNet space on npm)", async () => {
  const res = await app.inject(
    post("face", photoprismRequest({ id: "N", images: [dataUrl(png("kosmos-2", 1))] })),
  );
  assert.equal(res.statusCode, 501, res.body);
  assert.equal(res.json().id, "N");
  assert.equal(res.json().code, 501);
  assert.equal(res.json().error, "Not Implemented");
  assert.match(res.json().message, /FaceNet.*keep faces local/);
});

test("E1–E9: errors are {id, code, error} with the status PhotoPrism expects", async () => {
  const good = dataUrl(png("kosmos-2", 1));
  const boundary = "ppBoundary";
  const cases: { name: string; req: InjectOptions; status: number; server?: FastifyInstance }[] = [
    { name: "no images", req: post("caption", { id: "E", model: "kosmos-2" }), status: 400 },
    { name: "empty images", req: post("labels", { id: "E", images: [] }), status: 400 },
    { name: "images not a list", req: post("labels", { id: "E", images: good }), status: 400 },
    {
      name: "not JSON",
      req: {
        method: "POST",
        url: "/api/v1/vision/caption",
        headers: { ...auth, "content-type": "application/json" },
        payload: "{nope",
      },
      status: 400,
    },
    {
      name: "multipart upload",
      req: {
        method: "POST",
        url: "/api/v1/vision/caption",
        headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}` },
        payload: `--${boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\nE\r\n--${boundary}--\r\n`,
      },
      status: 400,
    },
    {
      name: "not an image",
      req: post("caption", { id: "E", images: ["data:text/plain;base64,aGVsbG8gd29ybGQ="] }),
      status: 400,
    },
    {
      name: "broken base64",
      req: post("caption", { id: "E", images: ["data:image/jpeg;base64,@@@"] }),
      status: 400,
    },
    {
      name: "raw base64",
      req: post("caption", { id: "E", images: [png("kosmos-2", 1).toString("base64")] }),
      status: 400,
    },
    { name: "file: URL", req: post("caption", { id: "E", images: ["file:///etc/passwd"] }), status: 400 },
    { name: "local path", req: post("caption", { id: "E", images: ["/etc/passwd"] }), status: 400 },
    {
      name: "plain http",
      req: post("caption", { id: "E", images: ["http://example.com/a.jpg"] }),
      status: 400,
    },
    {
      name: "private https",
      req: post("caption", { id: "E", images: ["https://10.1.2.3/a.jpg"] }),
      status: 400,
      server: strict,
    },
    { name: "no key", req: post("caption", { id: "E", images: [good] }, {}), status: 401 },
    {
      name: "wrong key",
      req: post("caption", { id: "E", images: [good] }, { authorization: "Bearer nope" }),
      status: 401,
    },
    {
      name: "too large",
      req: post("caption", { id: "E", images: [`data:image/png;base64,${"A".repeat(100_000)}`] }),
      status: 413,
      server: strict,
    },
    { name: "unknown model", req: post("caption", { id: "E", model: "gpt-9", images: [good] }), status: 404 },
  ];
  for (const c of cases) {
    const res = await (c.server ?? app).inject(c.req);
    assert.equal(res.statusCode, c.status, `${c.name}: ${res.body}`);
    const body = res.json();
    assert.equal(body.code, c.status, c.name);
    assert.equal(typeof body.error, "string", c.name);
    assert.equal(typeof body.id, "string", c.name);
    // The key is checked (and the body read) only after the id could be: those get a fresh one.
    if (!["not JSON", "multipart upload", "too large", "no key", "wrong key"].includes(c.name))
      assert.equal(body.id, "E", c.name);
  }
  assert.equal((await app.inject(post("caption", { images: [] }, {}))).json().error, "Unauthorized");
  assert.equal((await app.inject(post("labels", { id: "E", images: [] }))).json().error, "Bad Request");
});

test("E8: an overloaded model answers 429 + Retry-After (the status PhotoPrism retries)", async () => {
  const gate = captionGate();
  const slow = fakeRuntime({ models: { slow: fakeModelDir({ caption_gate: gate.dir }) }, maxQueue: 1 });
  const server = await build({ runtime: slow });
  try {
    const req = post("caption", { id: "Q", model: "slow", images: [dataUrl(png("kosmos-2", 1))] }, {});
    const running = server.inject(req);
    await waitFor(() => gate.started(1), 120_000);
    const waiting = server.inject(req);
    await waitFor(async () => (await queueDepth(slow, "slow")) === 1, 120_000);
    const busy = await server.inject(req); // the queue (1 waiting) is full
    gate.open();
    const done = await Promise.all([running, waiting]);
    for (const d of done) assert.equal(d.statusCode, 200, d.body);
    assert.equal(busy.statusCode, 429, busy.body);
    assert.ok(Number(busy.headers["retry-after"]) >= 1);
    assert.deepEqual(
      { ...(busy.json() as object), message: undefined },
      { id: "Q", code: 429, error: "Too Many Requests", message: undefined },
    );
  } finally {
    await server.close();
    await slow.close();
  }
});

test("the model can be named in the path: /caption/<model>/<version>, /labels/<model>", async () => {
  const image = dataUrl(png("kosmos-2", 1));
  const res = await app.inject(post("caption/kosmos-2/patch14-224", { id: "P", images: [image] }));
  const body = assertEnvelope(res, "caption");
  assert.equal(body.model.name, "kosmos-2");
  assert.equal(body.result.caption.text, seedText("kosmos-2", "image1.png"));
  const labels = await app.inject(post("labels/kosmos-2", { id: "P", images: [image] }));
  assert.equal(assertEnvelope(labels, "labels").model.name, "kosmos-2");
  const unknown = await app.inject(post("caption/nope", { id: "P", images: [image] }));
  assert.equal(unknown.statusCode, 404);
});

test("an unknown --labels-model fails when the app is built", async () => {
  await assert.rejects(build({ runtime, labelsModel: "nope" }), /model not found: nope/);
});
