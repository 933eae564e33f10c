// The bad-input corpus: each malformed request gets its documented 4xx and a JSON error body;
// the server stays up, and a normal request right after each one still succeeds.
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

const maxImageBytes = 200_000;

interface Case {
  name: string;
  request: InjectOptions;
  status: number;
  code?: string;
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
      name: "SVG image",
      request: json({ image: b64(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')) }),
      status: 400,
      code: "IMAGE_INVALID",
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
});

after(async () => {
  await app.close();
  await runtime.close();
});

test("at least 40 bad requests, each with its documented 4xx; a normal request succeeds after each", async () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  for (const c of cases) {
    const res = await app.inject(c.request);
    assert.equal(res.statusCode, c.status, `${c.name}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    const body = res.json();
    assert.equal(typeof body.error, "string", `${c.name}: error message`);
    assert.equal(typeof body.code, "string", `${c.name}: error code`);
    if (c.code) assert.equal(body.code, c.code, `${c.name}: ${body.error}`);
    const ok = await app.inject(json({ image: good }));
    assert.equal(ok.statusCode, 200, `normal request after "${c.name}": ${ok.body}`);
    assert.match(ok.json().result.caption, /^fake 16x12 /);
  }
  const florenceOk = await app.inject(florence({ image: good, prompt: "<CAPTION>" }));
  assert.equal(florenceOk.statusCode, 200, florenceOk.body);
});
