// How a new dialect plugs in (the pattern issue 7's PhotoPrism/Ollama/OpenAI routes follow): a
// Dialect module with its own routes and its own error shape, using only the CaptionService.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import { normalizeError } from "../../src/server/errors.js";
import { jsonObject, optionalString } from "../../src/server/request.js";
import { defaultDialects, type Dialect } from "../../src/server/routes/index.js";
import type { Runtime } from "../../src/server/runtime.js";
import { fakeModelDir, fakeRuntime, png } from "./helpers.js";

// A toy dialect: POST /v1/toy {"model", "image": data URL} → {"text"}; errors as {"error": {"message", "type"}}.
const toyDialect: Dialect = {
  name: "toy",
  register(app, { service }) {
    app.setErrorHandler((err, _req, reply) => {
      const e = normalizeError(err);
      reply.code(e.status).send({ error: { message: e.message, type: e.code.toLowerCase() } });
    });
    app.post("/v1/toy", async (req) => {
      const body = jsonObject(req.body);
      const image = optionalString(body, "image") ?? "";
      const out = await service.caption({
        model: optionalString(body, "model"),
        image: { kind: "url", url: image },
      });
      return { text: out.text, model: out.model.name, width: out.image.width };
    });
    app.get("/v1/toy/models", async () => service.models().map((m) => m.name));
  },
};

let app: FastifyInstance;
let runtime: Runtime;
let dataUrl: string;

before(async () => {
  dataUrl = `data:image/png;base64,${(await png(6, 5)).toString("base64")}`;
  runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir() } });
  app = await build({ runtime, apiKey: "k", dialects: [...defaultDialects, toyDialect] });
});

after(async () => {
  await app.close();
  await runtime.close();
});

const auth = { authorization: "Bearer k" };

test("a dialect module serves its routes through the CaptionService", async () => {
  const res = await app.inject({
    method: "POST",
    url: "/v1/toy",
    headers: auth,
    payload: { image: dataUrl },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().model, "kosmos-2");
  assert.equal(res.json().width, 6);
  assert.ok(
    (await app.inject({ method: "GET", url: "/v1/toy/models", headers: auth })).json().includes("kosmos-2"),
  );
});

test("its errors (auth, bad JSON, bad image, unknown model) come in its own shape; other dialects keep theirs", async () => {
  const cases = [
    {
      req: { method: "POST" as const, url: "/v1/toy", payload: { image: dataUrl } },
      status: 401,
      type: "unauthorized",
    },
    {
      req: {
        method: "POST" as const,
        url: "/v1/toy",
        headers: { ...auth, "content-type": "application/json" },
        payload: "{",
      },
      status: 400,
      type: "json_invalid",
    },
    {
      req: {
        method: "POST" as const,
        url: "/v1/toy",
        headers: auth,
        payload: { image: "data:image/png;base64,AAAA" },
      },
      status: 400,
      type: "image_invalid",
    },
    {
      req: {
        method: "POST" as const,
        url: "/v1/toy",
        headers: auth,
        payload: { image: dataUrl, model: "nope" },
      },
      status: 404,
      type: "model_not_found",
    },
  ];
  for (const c of cases) {
    const res = await app.inject(c.req);
    assert.equal(res.statusCode, c.status, res.body);
    assert.equal(res.json().error.type, c.type, res.body);
  }
  const describe = await app.inject({ method: "GET", url: "/api/v1/vision/describe", headers: auth });
  assert.deepEqual(describe.json(), { error: "URL is required", code: "URL_REQUIRED" });
});
