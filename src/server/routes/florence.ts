// The Florence-2 vision server's API (seed 001), serving one model (--florence-model, else the
// first configured Florence-2 model, else the default model):
//   GET  /model           → "<model name>"
//   GET  /prompts         → ["<CAPTION>", …]  (the model's task prompts)
//   POST /process_image   {"image": <base64>, "prompt": "<CAPTION>"} → {"result": …}
// The prompt is upper-cased; an unknown prompt or an invalid image is a 400. The result is the
// task's post-processed value (a string for captioning tasks, an object for <OD> and the like).
import type { FastifyReply, FastifyRequest } from "fastify";
import { clip, fail } from "../../errors.js";
import { clientGone, jsonObject, optionalString } from "../request.js";
import type { Dialect, DialectContext } from "./dialect.js";

/** What a model without task prompts (not Florence-2) answers to: plain captioning. */
const captionOnly = ["<CAPTION>"];

// MiaoshouAI's PromptGen fine-tunes (the seed server's default model) add these; they are not in
// Florence2Processor's table and reach the model as plain text, so any Florence-2 accepts them.
const promptGenTasks = ["<GENERATE_TAGS>", "<ANALYZE>", "<MIXED_CAPTION>", "<MIXED_CAPTION_PLUS>"];

async function prompts(ctx: DialectContext): Promise<string[]> {
  const info = await ctx.service.info(ctx.service.florenceModel);
  const table = info.taskPrompts;
  if (!table || Object.keys(table).length === 0) return captionOnly;
  return [...new Set([...Object.keys(table), ...promptGenTasks])];
}

/** The value the seed returned: `post_process_generation(...)[task]`. */
function taskResult(result: unknown, task: string, text: string): unknown {
  if (result && typeof result === "object" && !Array.isArray(result) && task in result) {
    return (result as Record<string, unknown>)[task];
  }
  return result ?? text;
}

async function processImage(ctx: DialectContext, req: FastifyRequest, reply: FastifyReply) {
  const body = jsonObject(req.body);
  const image = optionalString(body, "image");
  const rawPrompt = optionalString(body, "prompt");
  if (!image) throw fail("IMAGE_INVALID", "image (base64) is required");
  if (!rawPrompt) throw fail("UNKNOWN_PROMPT", "(none given)");
  await ctx.service.checkPrompt(ctx.service.florenceModel, rawPrompt);
  const task = rawPrompt.trim().toUpperCase();
  const known = await prompts(ctx);
  if (!known.includes(task))
    throw fail("UNKNOWN_PROMPT", `${clip(task)} (this model knows ${known.join(", ")})`);
  const hasTasks = known !== captionOnly;
  const out = await ctx.service.caption({
    model: ctx.service.florenceModel,
    image: { kind: "base64", data: image },
    prompt: hasTasks ? task : undefined,
    maxNewTokens: hasTasks ? ctx.florenceMaxNewTokens : undefined,
    signal: clientGone(reply),
  });
  return { result: taskResult(out.result, task, out.text) };
}

export const florenceDialect: Dialect = {
  name: "florence",
  register(app, ctx) {
    app.get("/model", async (_req, reply) =>
      reply.type("application/json").send(JSON.stringify(ctx.service.florenceModel)),
    );
    app.get("/prompts", async () => prompts(ctx));
    app.post("/process_image", (req, reply) => processImage(ctx, req, reply));
  },
};
