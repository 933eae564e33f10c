// PhotoPrism's describe API (seed 000):
//   GET|POST /api/v1/vision/describe            url (required), model, id
//   GET|POST /api/v1/vision/describe/:model[/:version]
// → {"id": <id or a new UUID>, "model": {"name", "version"}, "result": {"caption": "…"}}
// POST takes JSON ({"url", "model", "id"}); beyond the seed it also takes "image" (base64 or a
// data: URL), a data: URL in "url", a multipart upload (file + the same fields) or a raw image
// body (Content-Type image/*, fields in the query string).
import type { FastifyReply, FastifyRequest } from "fastify";
import { clip, fail } from "../../errors.js";
import { clientGone, jsonObject, optionalString, readMultipart, requestId, type Fields } from "../request.js";
import type { CaptionRequest, ImageSource } from "../service.js";
import type { Dialect, DialectContext } from "./dialect.js";

interface DescribeParams {
  model?: string;
  version?: string;
}

/** Request → what to caption, which model, and the id to echo. */
async function parse(req: FastifyRequest): Promise<{ fields: Fields; image: ImageSource }> {
  const query = (req.query ?? {}) as Fields;
  if (req.method === "GET") {
    const url = optionalString(query, "url");
    if (!url) throw fail("URL_REQUIRED");
    return { fields: query, image: { kind: "url", url } };
  }
  if (req.isMultipart()) {
    const form = await readMultipart(req);
    const fields: Fields = { ...query, ...form.fields };
    if (form.file) return { fields, image: { kind: "bytes", bytes: form.file } };
    return { fields, image: imageFromFields(fields) };
  }
  if (Buffer.isBuffer(req.body)) return { fields: query, image: { kind: "bytes", bytes: req.body } };
  // Query fields apply to a JSON POST too; the body wins where both name one.
  const fields = { ...query, ...jsonObject(req.body) };
  return { fields, image: imageFromFields(fields) };
}

function imageFromFields(fields: Fields): ImageSource {
  const url = optionalString(fields, "url");
  if (url) return { kind: "url", url };
  const image = optionalString(fields, "image");
  if (image) return { kind: "base64", data: image };
  throw fail("URL_REQUIRED");
}

async function describe(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const params = (req.params ?? {}) as DescribeParams;
  const { fields, image } = await parse(req);
  const id = requestId(fields);
  const name = params.model ?? optionalString(fields, "model");
  const entry = ctx.service.model(name || undefined);
  const version = params.version?.toLowerCase();
  if (version && version !== entry.version.toLowerCase() && version !== "latest") {
    throw fail(
      "MODEL_NOT_FOUND",
      `${entry.name} version ${clip(params.version ?? "")} (this server has ${entry.version})`,
    );
  }
  const request: CaptionRequest = { model: entry.name, image, signal: clientGone(reply) };
  const out = await ctx.service.caption(request);
  return { id, model: { name: out.model.name, version: out.model.version }, result: { caption: out.text } };
}

export const describeDialect: Dialect = {
  name: "describe",
  register(app, ctx) {
    const handler = (req: FastifyRequest, reply: FastifyReply) => describe(ctx, req, reply);
    for (const path of [
      "/api/v1/vision/describe",
      "/api/v1/vision/describe/:model",
      "/api/v1/vision/describe/:model/:version",
    ]) {
      app.get(path, handler);
      app.post(path, handler);
    }
  },
};
