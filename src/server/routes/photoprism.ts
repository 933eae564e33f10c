// PhotoPrism's current Vision API (engine / request format `vision`), as its client sends it
// (../shared/specs/photoprism-vision.md, sections 1 and 4):
//   POST /api/v1/vision/caption  {id, model, version, images: [data: or https: URL…], prompt, …}
//        → {id, code: 200, model: {type, name, version}, result: {caption: {text, source, confidence}}}
//   POST /api/v1/vision/labels   same request, 1–3 images → result: {labels: [{name, confidence, topicality}]}
//        (one merged, de-duplicated list for all images)
//        (+ priority -2..5; nsfw / nsfw_confidence when the prompt carries PhotoPrism's NSFW schema;
//        one-word names when the system prompt asks for single words)
//   POST /api/v1/vision/nsfw     same request, N images → result: {nsfw: [{status, score, threshold,
//        Drawing, Hentai, Neutral, Porn, Sexy}, …]} one per image, in order (nsfwjs on our engine)
//   POST /api/v1/vision/face     → 501: no model in PhotoPrism's FaceNet embedding space ships on npm
// `/caption/<model>[/<version>]` and `/labels/<model>[/<version>]` name the model in the path.
// Legacy `{"id", "url"}` requests are accepted too. Unknown fields (system, suffix, stream, options,
// format, think, context) are ignored. Errors: `{id, code, error: <HTTP status text>, message}`
// with the HTTP status deciding, as PhotoPrism's own server answers; an overloaded model answers
// 429 + Retry-After (the only status PhotoPrism retries).
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { fail } from "../../errors.js";
import { asksForSingleWords, priorityFromTopicality } from "../chat/labels.js";
import { asksForNsfwLabels, detectNsfw } from "../chat/nsfw.js";
import { maxImages, runVision } from "../chat/vision.js";
import { replyError } from "../errors.js";
import { clientGone, jsonObject, optionalInt, optionalString, requestId, type Fields } from "../request.js";
import type { ImageSource } from "../service.js";
import type { Dialect, DialectContext } from "./dialect.js";

const base = "/api/v1/vision";

/** The id an error answer echoes: the request's when it follows the id rule, else a fresh one. */
function errorId(body: unknown): string {
  if (body && typeof body === "object" && !Array.isArray(body) && !Buffer.isBuffer(body)) {
    try {
      return requestId(body as Fields);
    } catch {
      // the id itself was the mistake
    }
  }
  return randomUUID();
}

/** An image reference PhotoPrism sends: a data: URL or an https URL. Anything else fails closed. */
function imageRef(ref: unknown, index: number): ImageSource {
  if (typeof ref !== "string" || ref.trim() === "") {
    throw fail("INVALID_ARGUMENT", `images[${index}] must be a data: URL or an https URL`);
  }
  const text = ref.trim();
  if (/^data:/i.test(text)) return { kind: "url", url: text };
  if (/^https:\/\//i.test(text)) return { kind: "url", url: text };
  throw fail("URL_INVALID", `images[${index}]: only data: and https: references are accepted`);
}

function imagesOf(fields: Fields): ImageSource[] {
  const images = fields.images;
  if (images !== undefined && images !== null) {
    if (!Array.isArray(images))
      throw fail("INVALID_ARGUMENT", "images must be a list of data: or https URLs");
    if (images.length > 0) return images.map(imageRef);
  }
  const url = optionalString(fields, "url");
  if (url) return [imageRef(url, 0)];
  throw fail("IMAGE_REQUIRED", "images is missing or empty (and no url)");
}

/** options.num_predict (Ollama style) or options.max_output_tokens limit the new tokens; other options are ignored. */
function maxNewTokensOf(options: unknown): number | undefined {
  if (!options || typeof options !== "object" || Array.isArray(options)) return undefined;
  const fields = options as Fields;
  const n =
    optionalInt(fields, "num_predict", -2, 1 << 20) ?? optionalInt(fields, "max_output_tokens", 0, 1 << 20);
  return n !== undefined && n > 0 ? n : undefined;
}

async function handle(
  ctx: DialectContext,
  type: "caption" | "labels",
  req: FastifyRequest,
  reply: FastifyReply,
) {
  const fields = jsonObject(req.body);
  const id = requestId(fields);
  const images = imagesOf(fields);
  const params = (req.params ?? {}) as { model?: string };
  const prompt = optionalString(fields, "prompt");
  const system = optionalString(fields, "system");
  const answer = await runVision(ctx.service, ctx.labels, {
    model: params.model ?? optionalString(fields, "model"),
    images,
    prompt,
    want: type,
    singleWord: asksForSingleWords(system, prompt),
    nsfw: type === "labels" && asksForNsfwLabels(prompt, system, fields.format, fields.schema),
    maxNewTokens: maxNewTokensOf(fields.options),
    signal: clientGone(reply),
  });
  const model = { type, name: answer.model.name, version: answer.model.version };
  if (type === "caption") {
    const text = answer.text;
    // The models give no calibrated score: a caption is the model's answer (1), an empty one is nothing.
    return { id, code: 200, model, result: { caption: { text, source: "image", confidence: text ? 1 : 0 } } };
  }
  const labels = (answer.labels ?? []).map((l) => ({ ...l, priority: priorityFromTopicality(l.topicality) }));
  return { id, code: 200, model, result: { labels } };
}

/** One verdict per image, in order; any image that cannot be read fails the request (400), as PhotoPrism's own handler does. */
async function nsfw(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const fields = jsonObject(req.body);
  const id = requestId(fields);
  const images = imagesOf(fields);
  if (images.length > maxImages) {
    throw fail("INVALID_ARGUMENT", `at most ${maxImages} images per request, got ${images.length}`);
  }
  const answer = await detectNsfw(ctx.service, images, clientGone(reply));
  return {
    id,
    code: 200,
    model: { type: "nsfw", name: answer.model.name, version: "latest" },
    result: { nsfw: answer.verdicts },
  };
}

export const photoprismDialect: Dialect = {
  name: "photoprism",
  register(app, ctx) {
    app.setErrorHandler((err, req, reply) =>
      replyError(reply, err, (e) => {
        // PhotoPrism retries 429 only; an overloaded queue is exactly that case.
        // (--busy-status 503 applies here too: QUEUE_FULL carries the configured status.)
        const status = e.code === "SHUTTING_DOWN" ? 429 : e.status === 415 ? 400 : e.status;
        const body = {
          id: errorId(req.body),
          code: status,
          error: STATUS_CODES[status] ?? "Error",
          message: e.message,
        };
        return { status, body };
      }),
    );
    for (const type of ["caption", "labels"] as const) {
      // Per-model URLs as the Vision Playground serves them: /caption/<model>[/<version>].
      for (const path of [`${base}/${type}`, `${base}/${type}/:model`, `${base}/${type}/:model/:version`]) {
        app.post(path, (req, reply) => handle(ctx, type, req, reply));
      }
    }
    app.post(`${base}/nsfw`, (req, reply) => nsfw(ctx, req, reply));
    app.post(`${base}/face`, async (req) => {
      jsonObject(req.body);
      throw fail("FACE_NOT_CONFIGURED");
    });
  },
};
