// The adversarial corpus, one table for every route: each bad request gets its documented status
// and code in its dialect's error shape, an answer that quotes at most ~100 characters of what was
// sent (no megabyte echoes), no filesystem path; the server stays up, and a normal request right
// after each one still succeeds. Every finding of the hardening passes (issue 18) is a row here,
// except what needs more than one request (cancellation, downloads, logs: model-queue,
// cancel.test.ts, models.test.ts, logging.test.ts). Add a row with each route or finding.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { FastifyInstance, InjectOptions } from "fastify";
import { build } from "../../src/server/app.js";
import type { Runtime } from "../../src/server/runtime.js";
import { fakeModelDir, fakeRuntime, jpeg, png } from "./helpers.js";

let app: FastifyInstance;
let runtime: Runtime;
let good: string;
let servers: Record<Server, FastifyInstance>;
const key = "corpus-key";

const maxImageBytes = 200_000;

/** Which server a row goes to: the corpus server, one with an API key, one with --allow-private-urls, one with the default (large) limits. */
type Server = "main" | "keyed" | "private" | "roomy";

/** How the route writes errors (routes/*.ts): where the catalogue code is. */
type Shape = "default" | "photoprism" | "ollama" | "openai";

interface Case {
  name: string;
  request: InjectOptions;
  status: number;
  code?: string;
  /** Default "main". */
  server?: Server;
  /** Default "default". */
  shape?: Shape;
  /** The answer's text must (not) match. */
  says?: RegExp;
  saysNot?: RegExp;
  /** Why the row cannot run yet (it belongs to work on another branch). */
  pending?: string;
}

const describeUrl = "/api/v1/vision/describe";
const json = (payload: unknown): InjectOptions => ({
  method: "POST",
  url: describeUrl,
  payload: payload as object,
});
const raw = (body: string | Buffer, type = "application/json", url = describeUrl): InjectOptions => ({
  method: "POST",
  url,
  headers: { "content-type": type },
  payload: body,
});
const florence = (payload: unknown): InjectOptions => ({
  method: "POST",
  url: "/process_image",
  payload: payload as object,
});

function multipart(
  parts: { name: string; value: string | Buffer; filename?: string }[],
  boundary = "XbOuNdArY",
): InjectOptions {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ""}`;
    const type = p.filename ? "\r\nContent-Type: application/octet-stream" : "";
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`),
      Buffer.from(p.value),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return raw(Buffer.concat(chunks), `multipart/form-data; boundary=${boundary}`);
}

let cases: Case[] = [];

before(async () => {
  const pngBytes = await png(16, 12);
  const jpgBytes = await jpeg(40, 30);
  good = pngBytes.toString("base64");
  const b64 = (b: Buffer) => b.toString("base64");
  const tooManyPixels = await png(1200, 1000); // 1.2 MP > maxPixels below, small file
  const heic = readFileSync(new URL("../../../shared/images/heic/samplefilehub.heif", import.meta.url));
  const bigImage = Buffer.concat([pngBytes, Buffer.alloc(maxImageBytes)]);

  cases = [
    // malformed bodies
    { name: "malformed JSON", request: raw('{"url": '), status: 400, code: "JSON_INVALID" },
    { name: "JSON with a trailing comma", request: raw('{"url": "x",}'), status: 400, code: "JSON_INVALID" },
    { name: "empty JSON body", request: raw(""), status: 400, code: "JSON_INVALID" },
    { name: "JSON array", request: raw("[1, 2]"), status: 400, code: "NOT_JSON" },
    { name: "JSON string", request: raw('"http://x/y.png"'), status: 400, code: "NOT_JSON" },
    { name: "JSON null", request: raw("null"), status: 400, code: "NOT_JSON" },
    {
      name: "text/plain body",
      request: raw("url=http://x/y.png", "text/plain"),
      status: 400,
      code: "NOT_JSON",
    },
    {
      name: "form-urlencoded body",
      request: raw("url=http://x/y.png", "application/x-www-form-urlencoded"),
      status: 400,
      code: "NOT_JSON",
    },
    { name: "XML body", request: raw("<url>x</url>", "application/xml"), status: 400, code: "NOT_JSON" },
    { name: "prototype poisoning", request: raw('{"__proto__": {"url": "x"}}'), status: 400 },
    {
      name: "body over the limit",
      request: raw(JSON.stringify({ image: "A".repeat(3_000_000) })),
      status: 413,
      code: "BODY_TOO_LARGE",
    },
    // wrong types
    { name: "url is a number", request: json({ url: 123 }), status: 400, code: "INVALID_ARGUMENT" },
    {
      name: "url is an array",
      request: json({ url: ["http://a/b.png"] }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "url is an object",
      request: json({ url: { href: "x" } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    { name: "image is a number", request: json({ image: 12 }), status: 400, code: "INVALID_ARGUMENT" },
    {
      name: "model is a number",
      request: json({ image: good, model: 5 }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "id is an object",
      request: json({ image: good, id: {} }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "id is too long",
      request: json({ image: good, id: "x".repeat(300) }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "GET with url given twice",
      request: { method: "GET", url: `${describeUrl}?url=a&url=b` },
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    // missing or unusable URLs
    {
      name: "GET without url",
      request: { method: "GET", url: describeUrl },
      status: 400,
      code: "URL_REQUIRED",
    },
    { name: "POST without url", request: json({ id: "1" }), status: 400, code: "URL_REQUIRED" },
    { name: "empty url", request: json({ url: "" }), status: 400, code: "URL_REQUIRED" },
    { name: "ftp url", request: json({ url: "ftp://example.com/a.png" }), status: 400, code: "URL_INVALID" },
    { name: "file url", request: json({ url: "file:///etc/passwd" }), status: 400, code: "URL_INVALID" },
    { name: "not a url", request: json({ url: "just words" }), status: 400, code: "URL_INVALID" },
    {
      name: "loopback url",
      request: json({ url: "http://127.0.0.1:1/a.png" }),
      status: 400,
      code: "URL_FORBIDDEN",
    },
    {
      name: "localhost url",
      request: json({ url: "http://localhost:1/a.png" }),
      status: 400,
      code: "URL_FORBIDDEN",
    },
    {
      name: "IPv6 loopback url",
      request: json({ url: "http://[::1]:1/a.png" }),
      status: 400,
      code: "URL_FORBIDDEN",
    },
    {
      name: "decimal loopback url",
      request: json({ url: "http://2130706433:1/a.png" }),
      status: 400,
      code: "URL_FORBIDDEN",
    },
    // bad image data
    {
      name: "bad base64",
      request: json({ image: "@@@ not base64 @@@" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "base64 of text",
      request: json({ image: b64(Buffer.from("hello, this is not an image at all")) }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "truncated PNG",
      request: json({ image: b64(pngBytes.subarray(0, pngBytes.length - 20)) }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "PNG header only",
      request: json({ image: b64(pngBytes.subarray(0, 33)) }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "truncated JPEG",
      request: json({ image: b64(jpgBytes.subarray(0, 200)) }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "SVG image (a format we know and refuse: 415)",
      request: json({ image: b64(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')) }),
      status: 415,
      code: "IMAGE_UNSUPPORTED",
    },
    {
      name: "SVG as a raw body",
      request: raw(
        Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
        "image/svg+xml",
      ),
      status: 415,
      code: "IMAGE_UNSUPPORTED",
    },
    {
      name: "empty data URL",
      request: json({ url: "data:image/png;base64," }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "data URL with bad base64",
      request: json({ url: "data:image/png;base64,!!!!" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "text data URL",
      request: json({ url: "data:text/plain,hello%20world" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "malformed data URL",
      request: json({ image: "data:image/png;base64" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "truncated HEIC photo",
      request: json({ image: b64(heic.subarray(0, 4000)) }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "too many pixels",
      request: json({ image: b64(tooManyPixels) }),
      status: 413,
      code: "IMAGE_TOO_LARGE",
    },
    {
      name: "image over the byte limit",
      request: json({ image: b64(bigImage) }),
      status: 413,
      code: "IMAGE_TOO_LARGE",
    },
    {
      name: "raw body that is no image",
      request: raw(Buffer.from("GIF-ish nonsense bytes here"), "image/png"),
      status: 400,
      code: "IMAGE_INVALID",
    },
    // multipart
    {
      name: "multipart without file or url",
      request: multipart([{ name: "id", value: "7" }]),
      status: 400,
      code: "URL_REQUIRED",
    },
    {
      name: "multipart with a truncated file",
      request: multipart([{ name: "file", value: pngBytes.subarray(0, 60), filename: "a.png" }]),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "multipart cut short",
      request: raw(
        Buffer.from(
          '--XbOuNdArY\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc',
        ),
        "multipart/form-data; boundary=XbOuNdArY",
      ),
      status: 400,
    },
    // models and routes
    {
      name: "unknown model",
      request: json({ image: good, model: "gpt-9" }),
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "unknown model endpoint",
      request: { method: "GET", url: `${describeUrl}/gpt-9?url=x` },
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "unknown model version",
      request: { method: "GET", url: `${describeUrl}/kosmos-2/v9?url=x` },
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "unknown route",
      request: { method: "GET", url: "/api/v2/anything" },
      status: 404,
      code: "ROUTE_NOT_FOUND",
    },
    {
      name: "wrong method",
      request: { method: "DELETE", url: describeUrl },
      status: 404,
      code: "ROUTE_NOT_FOUND",
    },
    // Florence API
    {
      name: "florence malformed JSON",
      request: raw('{"image": "', "application/json", "/process_image"),
      status: 400,
      code: "JSON_INVALID",
    },
    {
      name: "florence text body",
      request: raw("hello", "text/plain", "/process_image"),
      status: 400,
      code: "NOT_JSON",
    },
    {
      name: "florence without image",
      request: florence({ prompt: "<CAPTION>" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "florence without prompt",
      request: florence({ image: good }),
      status: 400,
      code: "UNKNOWN_PROMPT",
    },
    {
      name: "florence unknown prompt",
      request: florence({ image: good, prompt: "<MAKE_COFFEE>" }),
      status: 400,
      code: "UNKNOWN_PROMPT",
    },
    {
      name: "florence prompt not a string",
      request: florence({ image: good, prompt: 7 }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "florence image not base64",
      request: florence({ image: "%%%%", prompt: "<CAPTION>" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    {
      name: "florence image not an image",
      request: florence({ image: b64(Buffer.from("plain text, no pixels")), prompt: "<CAPTION>" }),
      status: 400,
      code: "IMAGE_INVALID",
    },
    ...findings(),
  ];

  runtime = fakeRuntime({
    models: {
      "kosmos-2": fakeModelDir(),
      florence: fakeModelDir({
        model_type: "florence2",
        task_prompts: { "<CAPTION>": "What does the image describe?" },
      }),
    },
  });
  app = await build({ runtime, maxImageBytes, maxPixels: 1_000_000 });
  servers = {
    main: app,
    keyed: await build({ runtime, maxImageBytes, apiKey: key }),
    private: await build({ runtime, maxImageBytes, allowPrivateUrls: true }),
    roomy: await build({ runtime }),
  };
});

after(async () => {
  for (const server of Object.values(servers)) await server.close();
  await runtime.close();
});

/** The catalogue code in an error answer of `shape` (Ollama's carries none). */
function codeIn(shape: Shape, body: Record<string, unknown>, status: number): string | undefined {
  switch (shape) {
    case "default":
      assert.equal(typeof body.error, "string", "error message");
      return body.code as string;
    case "photoprism":
      assert.equal(body.code, status, "PhotoPrism's code is the HTTP status");
      assert.equal(typeof body.message, "string");
      return undefined;
    case "ollama":
      assert.equal(typeof body.error, "string");
      return undefined;
    case "openai": {
      const error = body.error as { message: string; code: string };
      assert.equal(typeof error.message, "string");
      return error.code?.toUpperCase();
    }
  }
}

test("the adversarial corpus: each bad request gets its documented answer, short, in its dialect's shape", async (t) => {
  assert.ok(cases.length >= 80, `${cases.length} cases`);
  for (const c of cases) {
    await t.test(c.name, { skip: c.pending }, async () => {
      const server = servers[c.server ?? "main"];
      const res = await server.inject(c.request);
      assert.equal(res.statusCode, c.status, `${res.statusCode} ${res.body.slice(0, 300)}`);
      // Bounded echo: whatever was sent, the answer stays small and names no path of the server's.
      assert.ok(
        res.body.length < 1500,
        `answer of ${res.body.length} characters: ${res.body.slice(0, 200)}…`,
      );
      assert.doesNotMatch(res.body, /\/tmp\/|sightline-fake-|\/home\//, "no filesystem path");
      if (c.says) assert.match(res.body, c.says);
      if (c.saysNot) assert.doesNotMatch(res.body, c.saysNot);
      if (c.status >= 400) {
        const body = res.json() as Record<string, unknown>;
        const code = codeIn(c.shape ?? "default", body, c.status);
        if (c.code && code !== undefined) assert.equal(code, c.code, res.body.slice(0, 300));
      }
      const ok = await app.inject(json({ image: good }));
      assert.equal(ok.statusCode, 200, `normal request after it: ${ok.body}`);
      assert.match(ok.json().result.caption, /^fake 16x12 /);
    });
  }
  const florenceOk = await app.inject(florence({ image: good, prompt: "<CAPTION>" }));
  assert.equal(florenceOk.statusCode, 200, florenceOk.body);
});

/** A string of `n` characters: what an attacker sends to make the server echo megabytes. */
const huge = (n: number, c = "x") => c.repeat(n);

/** The rows of issue 18's findings, on every route they concern. */
function findings(): Case[] {
  const dataUrl = `data:image/png;base64,${good}`;
  const mb10 = huge(10_000_000);
  const post = (
    url: string,
    payload: unknown,
    server: Server = "main",
  ): Pick<Case, "request" | "server"> => ({
    request: { method: "POST", url, payload: payload as object },
    server,
  });
  const chat = (model: string) => ({
    model,
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: dataUrl } }] }],
  });
  return [
    // Finding 1: a long prompt ties up a model (the cap is PROMPT_TOO_LONG, from the tokenizer work).
    {
      name: "finding 1: a 1 MB prompt is refused before queueing",
      ...post(
        "/api/v1/web/caption",
        { image: good, model: "florence", prompt: "<CAPTION>" + huge(1_000_000, "b") },
        "roomy",
      ),
      status: 400,
      code: "PROMPT_TOO_LONG",
    },
    // Finding 2: a name the operator did not configure is a 404 naming it and how to list models.
    ...(
      ["florence-2-base", "blip-image-captioning-large", "microsoft/kosmos-2-patch14-224"] as const
    ).flatMap((name): Case[] => [
      {
        name: `finding 2: unconfigured ${name} (describe)`,
        ...post("/api/v1/vision/describe", { image: good, model: name }),
        status: 404,
        code: "MODEL_NOT_FOUND",
        says: /GET \/v1\/models or \/api\/tags lists/,
        saysNot: /kosmos-2, florence|known:/,
      },
      {
        name: `finding 2: unconfigured ${name} (OpenAI)`,
        ...post("/v1/chat/completions", chat(name)),
        shape: "openai",
        status: 404,
        code: "MODEL_NOT_FOUND",
      },
      {
        name: `finding 2: unconfigured ${name} (Ollama)`,
        ...post("/api/generate", { model: name, prompt: "x", images: [good], stream: false }),
        shape: "ollama",
        status: 404,
        says: new RegExp(`model not found: ${name.replace("/", "\\/")}`),
      },
    ]),
    {
      name: "finding 2: query ?model=nope on a JSON POST is a 404 too",
      ...post("/api/v1/vision/describe?model=nope", { image: good }),
      status: 404,
      code: "MODEL_NOT_FOUND",
      says: /model not found: nope/,
    },
    {
      name: "issue 17: query fields apply to a JSON POST (model and id from the query)",
      ...post("/api/v1/vision/describe?model=florence&id=q1", { image: good }),
      status: 200,
      says: /^\{"id":"q1","model":\{"name":"florence"/,
    },
    {
      name: "issue 17: the body wins over the query",
      ...post("/api/v1/vision/describe?model=florence&id=q1", { image: good, model: "kosmos-2", id: "b2" }),
      status: 200,
      says: /^\{"id":"b2","model":\{"name":"kosmos-2"/,
    },
    // Finding 3: input echoed at full size.
    {
      name: "finding 3: 10 MB model name (describe)",
      ...post("/api/v1/vision/describe", { image: good, model: mb10 }, "roomy"),
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "finding 3: 10 MB model name (PhotoPrism)",
      ...post("/api/v1/vision/caption", { images: [dataUrl], model: mb10 }, "roomy"),
      shape: "photoprism",
      status: 404,
    },
    {
      name: "finding 3: 10 MB model name (Ollama)",
      ...post("/api/chat", { model: mb10, messages: [{ role: "user", images: [good] }] }, "roomy"),
      shape: "ollama",
      status: 404,
    },
    {
      name: "finding 3: 10 MB model name (OpenAI)",
      ...post("/v1/chat/completions", chat(mb10), "roomy"),
      shape: "openai",
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "finding 3: 10 MB model name (Ollama /api/show)",
      ...post("/api/show", { model: mb10 }, "roomy"),
      shape: "ollama",
      status: 404,
    },
    {
      name: "finding 3: 10 MB model name (try-it caption)",
      ...post("/api/v1/web/caption", { image: good, model: mb10 }, "roomy"),
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "finding 3: 10 MB Florence prompt",
      ...post("/process_image", { image: good, prompt: mb10 }, "roomy"),
      status: 400,
      // The length cap (issue 18 item 1) answers before the prompt is looked up as a task.
      code: "PROMPT_TOO_LONG",
    },
    {
      name: "finding 3: 1 MB image URL that is no URL",
      ...post("/api/v1/vision/describe", { url: huge(1_000_000) }, "roomy"),
      status: 400,
      code: "URL_INVALID",
    },
    {
      name: "finding 3: 1 MB content part type (OpenAI)",
      ...post(
        "/v1/chat/completions",
        { model: "kosmos-2", messages: [{ role: "user", content: [{ type: huge(1_000_000) }] }] },
        "roomy",
      ),
      shape: "openai",
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "finding 3: malformed JSON after 1 MB of text",
      request: raw(`{"model": "${huge(1_000_000)}" x}`),
      server: "roomy",
      status: 400,
      code: "JSON_INVALID",
    },
    {
      name: "finding 3: 8 kB describe version",
      request: { method: "GET", url: `${describeUrl}/kosmos-2/${huge(8000)}?url=x` },
      status: 400,
      code: "BAD_REQUEST",
    },
    {
      name: "finding 3: 90-character describe version",
      request: { method: "GET", url: `${describeUrl}/kosmos-2/${huge(90)}?url=x` },
      status: 404,
      code: "MODEL_NOT_FOUND",
    },
    {
      name: "finding 3: a malformed URL",
      request: { method: "GET", url: `/api/v1/vision/describe/%E0%A4%A/x?url=${huge(5000)}` },
      status: 400,
      code: "BAD_REQUEST",
    },
    {
      name: "finding 3: 8 kB unknown route",
      request: { method: "GET", url: `/api/${huge(8000)}` },
      status: 404,
      code: "ROUTE_NOT_FOUND",
    },
    // Finding 4: a hub answer that is not JSON (test/hub/hub-answers.test.ts, the hub client).
    // Finding 6: SVG (above), ids, paths, /readyz, 404s, refusal hints.
    ...(["/api/v1/vision/describe", "/api/v1/vision/caption"] as const).flatMap((url): Case[] => {
      const shape: Shape = url.endsWith("caption") ? "photoprism" : "default";
      const body = (id: unknown) =>
        shape === "photoprism" ? { images: [dataUrl], id } : { image: good, id };
      return [
        {
          name: `finding 6: a 300-character id is refused (${url})`,
          ...post(url, body(huge(300))),
          shape,
          status: 400,
          code: "INVALID_ARGUMENT",
        },
        {
          name: `finding 6: an object id is refused (${url})`,
          ...post(url, body({ a: 1 })),
          shape,
          status: 400,
          code: "INVALID_ARGUMENT",
        },
        {
          name: `finding 6: an id number JSON cannot carry exactly is refused (${url})`,
          request: {
            method: "POST",
            url,
            headers: { "content-type": "application/json" },
            payload: JSON.stringify(body(0)).replace('"id":0', '"id":12345678901234567890'),
          },
          shape,
          status: 400,
          code: "INVALID_ARGUMENT",
        },
        {
          name: `finding 6: a number id comes back as sent (${url})`,
          ...post(url, body(12345678)),
          status: 200,
          says: /"id":"12345678"/,
        },
      ];
    }),
    {
      name: "finding 6: /api/show names no folder of the server's",
      ...post("/api/show", { model: "kosmos-2" }),
      status: 200,
      saysNot: /FROM \//,
    },
    {
      name: "finding 6: /readyz without the key says ready, lists no model",
      request: { method: "GET", url: "/readyz" },
      server: "keyed",
      status: 200,
      says: /^\{"status":"ready"\}$/,
    },
    {
      name: "finding 6: /readyz with the key lists the loaded models",
      request: { method: "GET", url: "/readyz", headers: { authorization: `Bearer ${key}` } },
      server: "keyed",
      status: 200,
      says: /"loaded":\[/,
    },
    {
      name: "finding 6: a private address hints at --allow-private-urls when it is off",
      ...post("/api/v1/vision/describe", { url: "http://10.0.0.1/a.png" }),
      status: 400,
      code: "URL_FORBIDDEN",
      says: /--allow-private-urls/,
    },
    ...(["169.254.169.254", "0.0.0.0", "[::]"] as const).flatMap((host): Case[] =>
      (["main", "private"] as const).map((server) => ({
        name: `finding 6: ${host} is refused without a false hint (${server})`,
        ...post("/api/v1/vision/describe", { url: `http://${host}/a.png` }, server),
        status: 400,
        code: "URL_FORBIDDEN",
        saysNot: /--allow-private-urls/,
      })),
    ),
    {
      name: "finding 6: loopback with --allow-private-urls on is fetched (and fails to connect), no hint",
      ...post("/api/v1/vision/describe", { url: "http://127.0.0.1:1/a.png" }, "private"),
      status: 400,
      code: "URL_FETCH_FAILED",
      saysNot: /--allow-private-urls/,
    },
    // Finding 7: the JSON body limit follows --max-image-mb (3 images, base64).
    {
      name: "finding 7: three base64 images at the image limit fit in one JSON body",
      ...post("/api/v1/vision/caption", {
        images: [dataUrl, dataUrl, dataUrl],
        padding: huge(3 * Math.floor((maxImageBytes * 4) / 3) - 3 * dataUrl.length),
      }),
      status: 200,
    },
    {
      name: "finding 7: a JSON body over 3 base64 images at the image limit is 413",
      request: raw(
        JSON.stringify({ image: good, padding: huge(Math.ceil((maxImageBytes * 4 * 3) / 3) + 70_000) }),
      ),
      status: 413,
      code: "BODY_TOO_LARGE",
    },
    // Issue 17: Ollama and OpenAI take JSON without Content-Type: application/json.
    ...(["application/x-www-form-urlencoded", "text/plain", undefined] as const).flatMap((type): Case[] => [
      {
        name: `Ollama takes a JSON body sent as ${type ?? "no Content-Type"}`,
        request: {
          method: "POST",
          url: "/api/generate",
          headers: type ? { "content-type": type } : {},
          payload: JSON.stringify({ model: "kosmos-2", prompt: "x", images: [good], stream: false }),
        },
        status: 200,
      },
      {
        name: `OpenAI takes a JSON body sent as ${type ?? "no Content-Type"}`,
        request: {
          method: "POST",
          url: "/v1/chat/completions",
          headers: type ? { "content-type": type } : {},
          payload: JSON.stringify(chat("kosmos-2")),
        },
        status: 200,
      },
      {
        name: `Ollama refuses malformed JSON sent as ${type ?? "no Content-Type"}`,
        request: {
          method: "POST",
          url: "/api/generate",
          headers: type ? { "content-type": type } : {},
          payload: '{"model": ',
        },
        shape: "ollama",
        status: 400,
      },
    ]),
    {
      name: "the Ollama and OpenAI JSON parsers refuse prototype poisoning too",
      request: {
        method: "POST",
        url: "/api/generate",
        headers: { "content-type": "text/plain" },
        payload: '{"__proto__": {"model": "x"}}',
      },
      shape: "ollama",
      status: 400,
    },
  ];
}
