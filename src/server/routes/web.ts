// The try-it page (web/): static files plus the small JSON API the page talks to.
//   GET  /                           → web/index.html
//   GET  /web/<file>                 → web/<file> (no directories, no traversal)
//   GET  /api/v1/web/models          → {default, florence, models: [{name, version, modelType, florence}]}
//   GET  /api/v1/web/prompts?model=  → ["<CAPTION>", …] (a Florence-2 model's tasks; [] otherwise)
//   POST /api/v1/web/caption?model=&prompt=   raw image body (image/* or octet-stream),
//        or JSON {image: base64 | data: URL, model, prompt}
//        → {model: {name, version}, text, result, entities, image: {width, height}, timings}
// The page needs every model's structured answer (Florence-2 boxes, Kosmos-2 entities) and the
// timings, which no other dialect returns; the caption goes through the same CaptionService path.
// The static files are served without the API key (a browser cannot send one when it navigates);
// the JSON routes need it like every other route.
import { readFile } from "node:fs/promises";
import { extname, resolve as resolvePath, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyReply, FastifyRequest } from "fastify";
import { fail } from "../../errors.js";
import { clientGone, jsonObject, optionalString, type Fields } from "../request.js";
import type { ModelEntry } from "../models.js";
import type { ImageSource } from "../service.js";
import type { Dialect, DialectContext } from "./dialect.js";

/** The web/ folder at the repository root (from src/server/routes or dist/server/routes alike). */
export const webRoot = fileURLToPath(new URL("../../../web/", import.meta.url));

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

// Only the page's own files: blob: previews and data: images, nothing fetched from elsewhere.
const contentSecurityPolicy =
  "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Plain names per segment (letters, digits, dot, dash, underscore), none starting with a dot. */
const safePath = /^[\w-][\w.-]*(?:\/[\w-][\w.-]*)*$/;

/** web/<relative>, or NOT_FOUND for anything outside web/ or of a type not served. */
async function staticFile(relative: string): Promise<{ body: Buffer; type: string }> {
  const type = contentTypes[extname(relative).toLowerCase()];
  if (!safePath.test(relative) || !type) throw fail("ROUTE_NOT_FOUND", `GET /web/${relative}`);
  const path = resolvePath(webRoot, relative);
  // Belt and braces: the resolved path must still be inside web/.
  if (!path.startsWith(resolvePath(webRoot) + sep)) throw fail("ROUTE_NOT_FOUND", `GET /web/${relative}`);
  try {
    return { body: await readFile(path), type };
  } catch {
    throw fail("ROUTE_NOT_FOUND", `GET /web/${relative}`);
  }
}

async function sendStatic(reply: FastifyReply, relative: string): Promise<FastifyReply> {
  const file = await staticFile(relative);
  return reply
    .type(file.type)
    .header("cache-control", "no-cache")
    .header("x-content-type-options", "nosniff")
    .header("content-security-policy", contentSecurityPolicy)
    .send(file.body);
}

/** Like the registry's florenceModel choice: config.json's model_type, else the name or hub reference. */
function isFlorence(entry: ModelEntry): boolean {
  return /florence/i.test(entry.modelType ?? `${entry.name} ${entry.source}`);
}

async function models(ctx: DialectContext) {
  const { service } = ctx;
  return {
    default: service.defaultModel,
    florence: service.florenceModel,
    models: (await service.servable()).map((m) => ({
      name: m.name,
      version: m.version,
      modelType: m.modelType ?? null,
      // Not florenceModel: without a Florence-2 model configured that is the default model.
      florence: isFlorence(m),
    })),
  };
}

async function prompts(ctx: DialectContext, req: FastifyRequest): Promise<string[]> {
  const name = optionalString((req.query ?? {}) as Fields, "model");
  const info = await ctx.service.info(name || undefined);
  return Object.keys(info.taskPrompts ?? {});
}

async function caption(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const query = (req.query ?? {}) as Fields;
  let fields: Fields = query;
  let image: ImageSource;
  if (Buffer.isBuffer(req.body)) {
    image = { kind: "bytes", bytes: req.body };
  } else {
    fields = { ...query, ...jsonObject(req.body) };
    const data = optionalString(fields, "image");
    if (!data)
      throw fail("IMAGE_REQUIRED", "send the image as the body, or JSON {image: base64 or a data: URL}");
    image = { kind: "base64", data };
  }
  const model = optionalString(fields, "model") || undefined;
  const prompt = optionalString(fields, "prompt")?.trim() || undefined;
  const out = await ctx.service.caption({ model, image, prompt, signal: clientGone(reply) });
  return {
    model: { name: out.model.name, version: out.model.version },
    text: out.text,
    result: out.result ?? null,
    entities: out.entities ?? null,
    image: out.image,
    timings: out.timings,
  };
}

export const webDialect: Dialect = {
  name: "web",
  register(app, ctx) {
    app.get("/", (_req, reply) => sendStatic(reply, "index.html"));
    app.get("/web/*", (req, reply) => sendStatic(reply, (req.params as { "*": string })["*"]));
    app.get("/api/v1/web/models", async () => models(ctx));
    app.get("/api/v1/web/prompts", (req) => prompts(ctx, req));
    app.post("/api/v1/web/caption", (req, reply) => caption(ctx, req, reply));
  },
};
