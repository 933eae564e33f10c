// The OpenAI API, as the `openai` clients, OpenAI vision wrappers and PhotoPrism's `openai` engine
// speak it:
//   POST /v1/chat/completions  messages with `text` and `image_url` parts (data: or https URLs);
//                              stream (SSE chunks, then `data: [DONE]`), max_tokens /
//                              max_completion_tokens, response_format json_object / json_schema
//   POST /v1/responses         input_text + input_image parts (PhotoPrism's payload), text.format
//                              json_schema / json_object, max_output_tokens, stream (SSE events)
//   GET  /v1/models, GET /v1/models/:model
// Prompts map to the model's task (chat/tasks.ts); a JSON format answers labels JSON
// (chat/json-answer.ts). Sampling settings are accepted and ignored (deterministic decoding).
// Errors: `{"error": {"message", "type", "param", "code"}}`.
import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { clip, fail, type SightlineError } from "../../errors.js";
import { jsonShapeOf, jsonText, streamPieces, type JsonShape } from "../chat/json-answer.js";
import { asksForSingleWords } from "../chat/labels.js";
import { asksForNsfwLabels } from "../chat/nsfw.js";
import { runVision, type VisionAnswer } from "../chat/vision.js";
import { replyError } from "../errors.js";
import {
  clientGone,
  jsonObject,
  jsonWhateverTheType,
  optionalInt,
  optionalString,
  type Fields,
} from "../request.js";
import { modelNotFound } from "../models.js";
import type { ImageSource } from "../service.js";
import type { Dialect, DialectContext } from "./dialect.js";

const newId = (prefix: string) => `${prefix}${randomBytes(12).toString("hex")}`;
const now = () => Math.floor(Date.now() / 1000);

/** Catalogue error → OpenAI error type, code and param. */
function openaiError(e: SightlineError): { type: string; code: string | null; param: string | null } {
  switch (e.code) {
    case "UNAUTHORIZED":
      return { type: "invalid_request_error", code: "invalid_api_key", param: null };
    case "MODEL_NOT_FOUND":
    case "MODEL_NOT_CONFIGURED":
      return { type: "invalid_request_error", code: "model_not_found", param: "model" };
    case "QUEUE_FULL":
    case "SHUTTING_DOWN":
      return { type: "server_error", code: e.code.toLowerCase(), param: null };
    case "IMAGE_INVALID":
    case "IMAGE_UNSUPPORTED":
    case "IMAGE_TOO_LARGE":
    case "IMAGE_REQUIRED":
    case "URL_INVALID":
    case "URL_FORBIDDEN":
    case "URL_FETCH_FAILED":
      return { type: "invalid_request_error", code: e.code.toLowerCase(), param: "messages" };
  }
  return {
    type: e.status >= 500 ? "server_error" : "invalid_request_error",
    code: e.code.toLowerCase(),
    param: null,
  };
}

/** An image_url / input_image reference: data: URLs and http(s) URLs (fetched under the server's rules). */
function imageRef(value: unknown, where: string): ImageSource {
  const url =
    typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Fields).url : value;
  if (typeof url !== "string" || url.trim() === "")
    throw fail("INVALID_ARGUMENT", `${where} must be an image URL`);
  return { kind: "url", url: url.trim() };
}

interface Turn {
  prompt: string;
  images: ImageSource[];
  /** The system (or developer) instructions, for what they ask of labels. */
  system?: string;
}

/** The text of a message's content: a string or its text parts. */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) =>
      p && typeof p === "object" && typeof (p as Fields).text === "string" ? (p as Fields).text : "",
    )
    .join("\n");
}

/** Text and images of the user turns: the last user text is the prompt, every user image is used. */
function userTurns(items: unknown[], where: string, contentKey: "content"): Turn {
  const turn: Turn = { prompt: "", images: [] };
  items.forEach((m, i) => {
    if (!m || typeof m !== "object" || Array.isArray(m))
      throw fail("INVALID_ARGUMENT", `${where}[${i}] must be an object`);
    const msg = m as Fields;
    const role = msg.role ?? "user";
    // Bare input_image / input_text items (Responses input without a message wrapper).
    if (msg.type === "input_image") {
      turn.images.push(imageRef(msg.image_url, `${where}[${i}].image_url`));
      return;
    }
    if (msg.type === "input_text" && typeof msg.text === "string") {
      turn.prompt = msg.text;
      return;
    }
    if (role === "system" || role === "developer") {
      turn.system = [turn.system, contentText(msg[contentKey])].filter(Boolean).join("\n");
      return;
    }
    if (role !== "user") return;
    const content = msg[contentKey];
    if (typeof content === "string") {
      turn.prompt = content;
      return;
    }
    if (!Array.isArray(content))
      throw fail("INVALID_ARGUMENT", `${where}[${i}].content must be text or a list of parts`);
    const texts: string[] = [];
    content.forEach((p, j) => {
      const part = (p ?? {}) as Fields;
      const at = `${where}[${i}].content[${j}]`;
      switch (part.type) {
        case "text":
        case "input_text":
          if (typeof part.text !== "string") throw fail("INVALID_ARGUMENT", `${at}.text must be a string`);
          texts.push(part.text);
          break;
        case "image_url":
        case "input_image":
          if (part.image_url === undefined && part.file_id !== undefined) {
            throw fail("INVALID_ARGUMENT", `${at}: file_id images are not supported, send image_url`);
          }
          turn.images.push(imageRef(part.image_url, `${at}.image_url`));
          break;
        default:
          throw fail(
            "INVALID_ARGUMENT",
            `${at}: unsupported content part type ${clip(JSON.stringify(part.type) ?? "undefined")}`,
          );
      }
    });
    if (texts.length > 0) turn.prompt = texts.join("\n");
  });
  return turn;
}

/** JSON output requested by a response_format / text.format, or undefined for plain text. */
function jsonFormat(format: unknown, where: string): JsonShape | undefined {
  if (format === undefined || format === null) return undefined;
  if (typeof format !== "object" || Array.isArray(format))
    throw fail("INVALID_ARGUMENT", `${where} must be an object`);
  const f = format as Fields;
  switch (f.type) {
    case "text":
      return undefined;
    case "json_object":
      return "labels";
    case "json_schema": {
      // Chat completions nest the schema under json_schema; the Responses API puts it on the format.
      const inner = (f.json_schema && typeof f.json_schema === "object" ? (f.json_schema as Fields) : f)
        .schema;
      return jsonShapeOf(inner);
    }
    default:
      throw fail("INVALID_ARGUMENT", `${where}.type must be text, json_object or json_schema`);
  }
}

function modelOf(body: Fields): string {
  const model = optionalString(body, "model");
  if (!model) throw fail("INVALID_ARGUMENT", "model is required");
  return model;
}

async function answer(
  ctx: DialectContext,
  model: string,
  turn: Turn,
  shape: JsonShape | undefined,
  maxNewTokens: number | undefined,
  reply: FastifyReply,
  format?: unknown,
): Promise<{ answer: VisionAnswer; text: string }> {
  if (turn.images.length === 0) {
    throw fail("IMAGE_REQUIRED", "this server describes images: add an image_url part to a user message");
  }
  const a = await runVision(ctx.service, ctx.labels, {
    model,
    images: turn.images,
    prompt: turn.prompt,
    want: shape === "labels" ? "labels" : "caption",
    singleWord: asksForSingleWords(turn.system, turn.prompt),
    // PhotoPrism's NSFW label schema (text.format) or prompt names the nsfw fields.
    nsfw: shape === "labels" && asksForNsfwLabels(turn.prompt, format),
    maxNewTokens,
    signal: clientGone(reply),
  });
  return { answer: a, text: shape ? jsonText(shape, a) : a.text };
}

const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;

async function chatCompletions(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const body = jsonObject(req.body);
  const model = modelOf(body);
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw fail("INVALID_ARGUMENT", "messages must be a non-empty list");
  }
  const n = optionalInt(body, "n", 1, 128);
  if (n !== undefined && n > 1) throw fail("INVALID_ARGUMENT", "n: this server returns one choice (n = 1)");
  const maxNewTokens =
    optionalInt(body, "max_completion_tokens", 1, 1 << 20) ?? optionalInt(body, "max_tokens", 1, 1 << 20);
  const shape = jsonFormat(body.response_format, "response_format");
  const stream = body.stream === true;
  const turn = userTurns(body.messages, "messages", "content");
  const { answer: a, text } = await answer(
    ctx,
    model,
    turn,
    shape,
    maxNewTokens,
    reply,
    body.response_format,
  );
  const id = newId("chatcmpl-");
  const created = now();
  const usage = {
    prompt_tokens: a.promptTokens,
    completion_tokens: a.completionTokens,
    total_tokens: a.promptTokens + a.completionTokens,
  };
  const modelName = model;
  if (!stream) {
    return {
      id,
      object: "chat.completion",
      created,
      model: modelName,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text, refusal: null },
          logprobs: null,
          finish_reason: a.finishReason,
        },
      ],
      usage,
    };
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model: modelName,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const includeUsage = Boolean((body.stream_options as Fields | undefined)?.include_usage);
  const events = [
    sse(chunk({ role: "assistant", content: "" }, null)),
    ...streamPieces(text).map((t) => sse(chunk({ content: t }, null))),
    sse(chunk({}, a.finishReason)),
    ...(includeUsage
      ? [sse({ id, object: "chat.completion.chunk", created, model: modelName, choices: [], usage })]
      : []),
    "data: [DONE]\n\n",
  ];
  return reply.type("text/event-stream").header("cache-control", "no-cache").send(events.join(""));
}

async function responses(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const body = jsonObject(req.body);
  const model = modelOf(body);
  const input = body.input;
  let turn: Turn;
  if (typeof input === "string") turn = { prompt: input, images: [] };
  else if (Array.isArray(input) && input.length > 0) turn = userTurns(input, "input", "content");
  else throw fail("INVALID_ARGUMENT", "input must be text or a non-empty list of input items");
  const maxNewTokens = optionalInt(body, "max_output_tokens", 1, 1 << 20);
  const text = body.text as Fields | undefined;
  const shape = jsonFormat(text && typeof text === "object" ? text.format : undefined, "text.format");
  const { answer: a, text: out } = await answer(ctx, model, turn, shape, maxNewTokens, reply, text?.format);
  // Incomplete only when the client's max_output_tokens cut the answer (not the model's own limit).
  const incomplete = maxNewTokens !== undefined && a.completionTokens >= maxNewTokens * a.outputs.length;
  const message = {
    type: "message",
    id: newId("msg_"),
    status: incomplete ? "incomplete" : "completed",
    role: "assistant",
    content: [{ type: "output_text", text: out, annotations: [] }],
  };
  const response = {
    id: newId("resp_"),
    object: "response",
    created_at: now(),
    status: incomplete ? "incomplete" : "completed",
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    error: null,
    model,
    output: [message],
    output_text: out,
    max_output_tokens: maxNewTokens ?? null,
    text: { format: text?.format ?? { type: "text" } },
    usage: {
      input_tokens: a.promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: a.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: a.promptTokens + a.completionTokens,
    },
  };
  if (body.stream !== true) return response;
  // The Responses streaming events a client needs: created, text deltas, done, completed.
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) =>
    sse({ type, sequence_number: seq++, ...data }, type);
  const where = { item_id: message.id, output_index: 0, content_index: 0 };
  const pending = { ...response, status: "in_progress", output: [], output_text: "" };
  const events = [
    ev("response.created", { response: pending }),
    ev("response.output_item.added", {
      output_index: 0,
      item: { ...message, status: "in_progress", content: [] },
    }),
    ev("response.content_part.added", { ...where, part: { type: "output_text", text: "", annotations: [] } }),
    ...streamPieces(out).map((t) => ev("response.output_text.delta", { ...where, delta: t })),
    ev("response.output_text.done", { ...where, text: out }),
    ev("response.content_part.done", { ...where, part: message.content[0] }),
    ev("response.output_item.done", { output_index: 0, item: message }),
    ev(incomplete ? "response.incomplete" : "response.completed", { response }),
  ];
  return reply.type("text/event-stream").header("cache-control", "no-cache").send(events.join(""));
}

function modelObject(name: string) {
  return { id: name, object: "model", created: 0, owned_by: "sightline" };
}

export const openaiDialect: Dialect = {
  name: "openai",
  register(app, ctx) {
    app.setErrorHandler((err, _req, reply) =>
      replyError(reply, err, (e) => ({ body: { error: { message: e.message, ...openaiError(e) } } })),
    );
    jsonWhateverTheType(app);
    app.post("/v1/chat/completions", (req, reply) => chatCompletions(ctx, req, reply));
    app.post("/v1/responses", (req, reply) => responses(ctx, req, reply));
    app.get("/v1/models", async () => ({
      object: "list",
      data: (await ctx.service.servable()).map((m) => modelObject(m.name)),
    }));
    // Model names may contain slashes (owner/name).
    app.get("/v1/models/*", async (req) => {
      const name = (req.params as { "*": string })["*"];
      const entry = ctx.service.model(name);
      if (!(await ctx.service.servable()).includes(entry)) throw modelNotFound(name);
      return modelObject(entry.name);
    });
  },
};
