// The Ollama API (what PhotoPrism's `ollama` engine and the `ollama` npm client speak):
//   POST /api/generate  {model, prompt, images: [raw base64…], stream, format, options, keep_alive}
//   POST /api/chat      {model, messages: [{role, content, images}], stream, format, options, keep_alive}
//   GET  /api/tags, GET /api/ps, POST /api/show, GET /api/version
// Models are listed as `<name>:latest`; `<name>`, `<name>:latest` and `<name>:<version>` all work.
// The prompt is mapped to the model's task (chat/tasks.ts); `format: "json"` (or a JSON schema)
// answers `{"labels":[…]}` JSON (chat/json-answer.ts). `options.num_predict` limits new tokens;
// sampling options (temperature, top_p, seed, …) are accepted and ignored: decoding is the model's
// deterministic greedy/beam search. `stream` (default true, as Ollama) answers NDJSON, the caption cut
// into word pieces once it is complete. `keep_alive`: 0 unloads the model after the answer, a
// negative value keeps it loaded, a duration ("5m", 300) sets its idle unload; an empty prompt with
// no images only loads (or, with keep_alive 0, unloads) the model. Errors: `{"error": message}`.
import type { FastifyReply, FastifyRequest } from "fastify";
import { fail } from "../../errors.js";
import { jsonShapeOf, jsonText, streamPieces } from "../chat/json-answer.js";
import { asksForSingleWords } from "../chat/labels.js";
import { asksForNsfwLabels } from "../chat/nsfw.js";
import { kindOf, resolveModel, runVision, type VisionAnswer } from "../chat/vision.js";
import { replyError } from "../errors.js";
import type { ModelEntry } from "../models.js";
import {
  clientGone,
  jsonObject,
  jsonWhateverTheType,
  optionalInt,
  optionalString,
  type Fields,
} from "../request.js";
import type { ImageSource } from "../service.js";
import type { Dialect, DialectContext } from "./dialect.js";

/** The Ollama version reported (clients gate features on it; this API matches 0.12's). */
export const ollamaVersion = "0.12.0";

const ns = (ms: number) => Math.round(ms * 1e6);

/** Ollama's name for a model entry. */
export function ollamaName(entry: ModelEntry): string {
  return entry.name.includes(":") ? entry.name : `${entry.name}:latest`;
}

const durationUnits: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** keep_alive → seconds (negative: forever); a number is seconds, a string a Go duration ("5m", "1h30m"). */
export function parseKeepAlive(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") {
    const text = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    const m = /^(-?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
    if (m) {
      let seconds = 0;
      for (const part of m[2]!.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
        seconds += Number(part[1]) * durationUnits[part[2]!]!;
      }
      return m[1] ? -seconds : seconds;
    }
  }
  throw fail("INVALID_ARGUMENT", `keep_alive must be a duration such as "5m" or a number of seconds`);
}

/** Raw base64 images (Ollama's wire format); data: URLs are tolerated. */
function imagesOf(list: unknown, where: string): ImageSource[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw fail("INVALID_ARGUMENT", `${where} must be a list of base64 images`);
  return list.map((item, i) => {
    if (typeof item !== "string" || item.trim() === "") {
      throw fail("INVALID_ARGUMENT", `${where}[${i}] must be a base64 string`);
    }
    return { kind: "base64", data: item } as const;
  });
}

interface Common {
  entry: ModelEntry;
  stream: boolean;
  keepAlive?: number;
  format: unknown;
  maxNewTokens?: number;
}

function common(ctx: DialectContext, body: Fields): Common {
  const name = optionalString(body, "model");
  if (!name) throw fail("INVALID_ARGUMENT", "model is required");
  const entry = resolveModel(ctx.service, name);
  const stream = body.stream === undefined || body.stream === null ? true : body.stream;
  if (typeof stream !== "boolean") throw fail("INVALID_ARGUMENT", "stream must be true or false");
  const options = body.options ?? {};
  if (typeof options !== "object" || Array.isArray(options))
    throw fail("INVALID_ARGUMENT", "options must be an object");
  const numPredict = optionalInt(options as Fields, "num_predict", -2, 1 << 20);
  return {
    entry,
    stream,
    keepAlive: parseKeepAlive(body.keep_alive),
    format: body.format === "" ? undefined : body.format,
    // Ollama: -1 = no limit, -2 = fill the context; both mean the model's own limit here.
    maxNewTokens: numPredict !== undefined && numPredict > 0 ? numPredict : undefined,
  };
}

/** Applies keep_alive after a request, as Ollama does. */
function applyKeepAlive(ctx: DialectContext, entry: ModelEntry, keepAlive: number | undefined): void {
  if (keepAlive === undefined) return;
  if (keepAlive === 0) ctx.service.unload(entry.name);
  else ctx.service.setIdleUnload(entry.name, keepAlive < 0 ? 0 : keepAlive);
}

function wantsJson(format: unknown): boolean {
  if (format === undefined || format === null) return false;
  if (format === "json" || (typeof format === "object" && !Array.isArray(format))) return true;
  throw fail("INVALID_ARGUMENT", `format must be "json" or a JSON schema object`);
}

async function answerFor(
  ctx: DialectContext,
  c: Common,
  images: ImageSource[],
  prompt: string,
  system: string | undefined,
  reply: FastifyReply,
) {
  const json = wantsJson(c.format);
  const answer = await runVision(ctx.service, ctx.labels, {
    model: c.entry.name,
    images,
    prompt,
    want: json ? "labels" : "caption",
    singleWord: asksForSingleWords(system, prompt),
    // PhotoPrism's Ollama engine puts its (NSFW) label schema into the prompt as text.
    nsfw: json && asksForNsfwLabels(prompt, system, c.format),
    maxNewTokens: c.maxNewTokens,
    signal: clientGone(reply),
  });
  const text = json ? jsonText(jsonShapeOf(c.format), answer) : answer.text;
  return { answer, text };
}

function stats(answer: VisionAnswer) {
  return {
    total_duration: ns(answer.durations.total),
    load_duration: ns(answer.durations.load),
    prompt_eval_count: answer.promptTokens,
    prompt_eval_duration: ns(answer.durations.image + answer.durations.queue),
    eval_count: answer.completionTokens,
    eval_duration: ns(answer.durations.run),
  };
}

/** Sends one object, or NDJSON: the pieces (done: false) then the final object (done: true). */
function send(
  reply: FastifyReply,
  stream: boolean,
  text: string,
  piece: (t: string) => Record<string, unknown>,
  final: Record<string, unknown>,
) {
  if (!stream) return reply.type("application/json").send(final);
  const lines = [
    ...streamPieces(text).map((t) => JSON.stringify({ ...piece(t), done: false })),
    JSON.stringify(final),
  ];
  return reply.type("application/x-ndjson").send(lines.join("\n") + "\n");
}

/** No images and no prompt: Ollama loads (or unloads, keep_alive 0) the model and answers at once. */
async function loadOnly(ctx: DialectContext, c: Common): Promise<"load" | "unload"> {
  if (c.keepAlive === 0) {
    ctx.service.unload(c.entry.name);
    return "unload";
  }
  await ctx.service.load(c.entry.name);
  applyKeepAlive(ctx, c.entry, c.keepAlive);
  return "load";
}

async function generate(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const body = jsonObject(req.body);
  const c = common(ctx, body);
  const prompt = optionalString(body, "prompt") ?? "";
  const images = imagesOf(body.images, "images");
  const model = ollamaName(c.entry);
  const createdAt = () => new Date().toISOString();
  if (images.length === 0 && prompt.trim() === "") {
    const reason = await loadOnly(ctx, c);
    return reply.send({ model, created_at: createdAt(), response: "", done: true, done_reason: reason });
  }
  if (images.length === 0) throw fail("IMAGE_REQUIRED", "this server describes images: send images (base64)");
  const system = optionalString(body, "system");
  const { answer, text } = await answerFor(ctx, c, images, prompt, system, reply);
  applyKeepAlive(ctx, c.entry, c.keepAlive);
  const final = {
    model,
    created_at: createdAt(),
    response: c.stream ? "" : text,
    done: true,
    done_reason: answer.finishReason,
    ...stats(answer),
  };
  return send(reply, c.stream, text, (t) => ({ model, created_at: createdAt(), response: t }), final);
}

async function chat(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const body = jsonObject(req.body);
  const c = common(ctx, body);
  const messages = body.messages ?? [];
  if (!Array.isArray(messages)) throw fail("INVALID_ARGUMENT", "messages must be a list");
  const model = ollamaName(c.entry);
  const createdAt = () => new Date().toISOString();
  if (messages.length === 0) {
    const reason = await loadOnly(ctx, c);
    return reply.send({
      model,
      created_at: createdAt(),
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: reason,
    });
  }
  // The images of the conversation's user turns, and the last user turn's text as the prompt.
  const images: ImageSource[] = [];
  let prompt = "";
  let system: string | undefined;
  messages.forEach((m, i) => {
    if (!m || typeof m !== "object" || Array.isArray(m))
      throw fail("INVALID_ARGUMENT", `messages[${i}] must be an object`);
    const msg = m as Fields;
    if (msg.role === "system" && typeof msg.content === "string") system = msg.content;
    if ((msg.role ?? "user") !== "user") return;
    const content = optionalString(msg, "content");
    if (content !== undefined) prompt = content;
    images.push(...imagesOf(msg.images, `messages[${i}].images`));
  });
  if (images.length === 0)
    throw fail("IMAGE_REQUIRED", "this server describes images: add images to a user message");
  const { answer, text } = await answerFor(ctx, c, images, prompt, system, reply);
  applyKeepAlive(ctx, c.entry, c.keepAlive);
  const final = {
    model,
    created_at: createdAt(),
    message: { role: "assistant", content: c.stream ? "" : text },
    done: true,
    done_reason: answer.finishReason,
    ...stats(answer),
  };
  return send(
    reply,
    c.stream,
    text,
    (t) => ({ model, created_at: createdAt(), message: { role: "assistant", content: t } }),
    final,
  );
}

/** What /api/tags, /api/ps and /api/show say about a model. */
function details(arch: string | undefined) {
  return {
    parent_model: "",
    format: "safetensors",
    family: arch ?? "",
    families: arch ? [arch] : null,
    parameter_size: "",
    quantization_level: "F32",
  };
}

function modelListing(entry: ModelEntry, arch?: string) {
  return {
    name: ollamaName(entry),
    model: ollamaName(entry),
    modified_at: new Date(0).toISOString(),
    size: 0,
    digest: "",
    details: details(arch),
  };
}

export const ollamaDialect: Dialect = {
  name: "ollama",
  register(app, ctx) {
    app.setErrorHandler((err, _req, reply) =>
      replyError(reply, err, (e) => ({ body: { error: e.message } })),
    );
    jsonWhateverTheType(app);
    app.post("/api/generate", (req, reply) => generate(ctx, req, reply));
    app.post("/api/chat", (req, reply) => chat(ctx, req, reply));
    app.get("/api/version", async () => ({ version: ollamaVersion }));
    app.get("/api/tags", async () => {
      const loaded = new Map(ctx.service.loaded().map((m) => [m.name, m.arch]));
      const models = await ctx.service.servable();
      return { models: models.map((e) => modelListing(e, loaded.get(e.name))) };
    });
    app.get("/api/ps", async () => ({
      // Captioning models only: the NSFW detector is no model a client can name here.
      models: ctx.service
        .loaded()
        .filter((m) => ctx.service.runtime.registry.has(m.name))
        .map((m) => {
          const entry = ctx.service.model(m.name);
          return {
            ...modelListing(entry, m.arch),
            size: m.rssBytes ?? 0,
            // No idle unload scheduled (busy, or keep_alive < 0): Ollama shows a far-future time.
            expires_at: new Date(m.expiresAt ?? Date.UTC(2318, 0, 1)).toISOString(),
            size_vram: 0,
          };
        }),
    }));
    app.post("/api/show", async (req) => {
      const body = jsonObject(req.body);
      const name = optionalString(body, "model") ?? optionalString(body, "name");
      if (!name) throw fail("INVALID_ARGUMENT", "model is required");
      const entry = resolveModel(ctx.service, name);
      const kind = await kindOf(ctx.service, entry);
      return {
        license: "",
        // The hub repo a model stands for, never a folder of the server's.
        modelfile: `# Sightline model ${entry.name}\nFROM ${entry.hubRepo ?? entry.name}\n`,
        parameters: "",
        template: "",
        details: details(kind.arch),
        model_info: { "general.architecture": kind.arch, "general.basename": entry.name },
        capabilities: ["completion", "vision"],
        modified_at: new Date(0).toISOString(),
      };
    });
  },
};
