// The request the chat-style dialects (PhotoPrism Vision API, Ollama, OpenAI) all make: "describe
// these images" or "label these images", with a free-text prompt. It maps the prompt to the model's
// task (tasks.ts), runs one CaptionService request per image (the same queue, limits and image
// rules as every other dialect), and builds labels (labels.ts). Each dialect only parses its wire
// format into a VisionRequest and writes the VisionAnswer back in its own shape.
import { fail } from "../../errors.js";
import type { ModelEntry } from "../models.js";
import type { CaptionResponse, CaptionService, ImageSource } from "../service.js";
import { labelsOf, labelTaskFor, mergeLabels, singleWord, type Label } from "./labels.js";
import { detectNsfw, withNsfwFields, type NsfwAnswer } from "./nsfw.js";
import { archOfModelType, modelPromptFor, taskTokenIn, type ModelKind } from "./tasks.js";

export interface LabelSettings {
  /** Model that answers label requests that name no model (`--labels-model`). */
  model?: string;
  /** Florence-2 task used for labels (`--labels-task`, default by model: see labelTaskFor). */
  task?: string;
}

export interface VisionRequest {
  /** Model name as the client wrote it (Ollama `name:tag` accepted); default model when empty. */
  model?: string;
  images: ImageSource[];
  prompt?: string;
  want: "caption" | "labels";
  /** Labels: one-word names (the client's prompt asks for them). */
  singleWord?: boolean;
  /** Labels: add PhotoPrism's nsfw / nsfw_confidence fields (runs the NSFW detector too). */
  nsfw?: boolean;
  maxNewTokens?: number;
  signal?: AbortSignal;
}

export interface VisionAnswer {
  model: ModelEntry;
  kind: ModelKind;
  /** Florence-2 task that ran. */
  task?: string;
  /** The caption (want: caption), or the first image's caption text (want: labels). */
  text: string;
  labels?: Label[];
  /** The NSFW detector's answer, when the labels asked for NSFW fields. */
  nsfw?: NsfwAnswer;
  /** Tokens generation started from, summed over images (approximate: see usageOf). */
  promptTokens: number;
  /** Tokens generated, summed over images. */
  completionTokens: number;
  /** "length" when generation stopped at maxNewTokens. */
  finishReason: "stop" | "length";
  outputs: CaptionResponse[];
  /** ms from the request to the answer, and of model runs. */
  durations: { total: number; run: number; load: number; queue: number; image: number };
}

/** Most images one request may carry (PhotoPrism sends 1–3). */
export const maxImages = 8;

/**
 * A model entry for a name the way clients spell it, in any case: the name, or Ollama's `name:tag`
 * with tag `latest` or the entry's version.
 */
export function resolveModel(service: CaptionService, name: string | undefined): ModelEntry {
  const wanted = name?.trim() || undefined;
  if (wanted === undefined) return service.model();
  if (service.runtime.registry.has(wanted)) return service.model(wanted);
  const colon = wanted.lastIndexOf(":");
  if (colon > 0) {
    const base = wanted.slice(0, colon);
    const tag = wanted.slice(colon + 1);
    if (service.runtime.registry.has(base)) {
      const entry = service.model(base);
      if (/^latest$/i.test(tag) || tag.toLowerCase() === entry.version.toLowerCase()) return entry;
    }
  }
  return service.model(wanted); // throws MODEL_NOT_FOUND naming it and where models are listed
}

/** The model's kind, from its config.json when the folder is known, else from the loaded model. */
export async function kindOf(service: CaptionService, entry: ModelEntry): Promise<ModelKind> {
  const arch = entry.modelType ? archOfModelType[entry.modelType] : undefined;
  if (arch) return { arch, taskTokens: arch === "florence-2" };
  const info = await service.info(entry.name);
  return {
    arch: info.arch,
    taskTokens: info.arch === "florence-2" || Object.keys(info.taskPrompts ?? {}).length > 0,
  };
}

/**
 * Tokens a run started from vs generated. The sequence a model returns starts with what generation
 * was started from: one decoder start token for the encoder-decoders (Florence-2, ViT-GPT2, BLIP
 * without a text prefix); Kosmos-2's whole prompt (<s>, <image>, its latent image slots, </image>,
 * the text prompt), estimated from its default prompt (71 tokens on microsoft/kosmos-2-patch14-224).
 */
export function usageOf(arch: string, tokenIds: number[]): { prompt: number; completion: number } {
  const start = arch === "kosmos-2" ? Math.min(71, tokenIds.length - 1) : 1;
  const prompt = Math.max(0, Math.min(start, tokenIds.length));
  return { prompt, completion: Math.max(0, tokenIds.length - prompt) };
}

/** The text of a run: a structured task result (<OD> boxes, grounding, OCR regions) as JSON text. */
function answerText(out: CaptionResponse, task: string | undefined): string {
  const value =
    task && out.result && typeof out.result === "object"
      ? (out.result as Record<string, unknown>)[task]
      : undefined;
  return value !== null && typeof value === "object" ? JSON.stringify(value) : out.text;
}

/**
 * New tokens each architecture generates by default (its HF seed settings: ViT-GPT2 max_length 16,
 * BLIP max_length 20, Kosmos-2 max_new_tokens 128, Florence-2 1024). Clients' limits (OpenAI
 * max_tokens, Ollama num_predict, PhotoPrism's max_output_tokens of 512/1024) are upper bounds: one
 * below the default is applied, a larger one leaves the model's own setting, which also keeps a
 * decoder within its position table (ViT-GPT2's 1024).
 */
export const defaultNewTokens: Readonly<Record<string, number>> = {
  "vit-gpt2": 15,
  blip: 19,
  "kosmos-2": 128,
  "florence-2": 1024,
};

export function effectiveMaxNewTokens(arch: string, clientLimit: number | undefined): number | undefined {
  const own = defaultNewTokens[arch];
  if (clientLimit === undefined || own === undefined) return clientLimit;
  return clientLimit < own ? clientLimit : undefined;
}

function labelsFor(
  outputs: CaptionResponse[],
  task: string | undefined,
  request: VisionRequest,
  nsfw: NsfwAnswer | undefined,
  service: CaptionService,
): Label[] {
  const labels = mergeLabels(
    outputs.map((o) => {
      const own = labelsOf({ task, text: o.text, result: o.result, entities: o.entities, image: o.image });
      return request.singleWord ? own.map(singleWord) : own;
    }),
  );
  return nsfw ? withNsfwFields(labels, nsfw, service.runtime.nsfw!.threshold) : labels;
}

export async function runVision(
  service: CaptionService,
  labels: LabelSettings,
  request: VisionRequest,
): Promise<VisionAnswer> {
  const started = performance.now();
  if (request.images.length === 0) throw fail("IMAGE_REQUIRED", "send at least one image");
  if (request.images.length > maxImages) {
    throw fail("INVALID_ARGUMENT", `at most ${maxImages} images per request, got ${request.images.length}`);
  }
  const wantLabels = request.want === "labels";
  const entry = resolveModel(service, request.model || (wantLabels ? labels.model : undefined));
  await service.checkPrompt(entry.name, request.prompt);
  const kind = await kindOf(service, entry);

  let modelPrompt: { prompt?: string; task?: string };
  if (wantLabels) {
    const task = labelTaskFor({
      taskTokens: kind.taskTokens,
      promptTask: taskTokenIn(request.prompt)?.task,
      configuredTask: labels.task,
      modelNames: [entry.name, entry.source, entry.hubRepo ?? ""],
    });
    modelPrompt = task ? { prompt: task, task } : {};
  } else {
    modelPrompt = modelPromptFor(kind, request.prompt);
  }

  const maxNewTokens = effectiveMaxNewTokens(kind.arch, request.maxNewTokens);
  const limit = maxNewTokens ?? defaultNewTokens[kind.arch];
  // Captions describe the first image; labels come from every image and are merged.
  let images = wantLabels ? request.images : request.images.slice(0, 1);
  let nsfw: NsfwAnswer | undefined;
  if (wantLabels && request.nsfw) {
    // Fetched once for both the labels model and the NSFW detector.
    images = await Promise.all(images.map((i) => service.readBytes(i)));
    nsfw = await detectNsfw(service, images, request.signal);
  }
  const outputs: CaptionResponse[] = [];
  for (const image of images) {
    outputs.push(
      await service.caption({
        model: entry.name,
        image,
        prompt: modelPrompt.prompt,
        maxNewTokens,
        signal: request.signal,
      }),
    );
  }

  let promptTokens = 0;
  let completionTokens = 0;
  let hitLimit = false;
  for (const out of outputs) {
    const u = usageOf(kind.arch, out.tokenIds);
    promptTokens += u.prompt;
    completionTokens += u.completion;
    if (limit !== undefined && u.completion >= limit) hitLimit = true;
  }
  const sum = (f: (o: CaptionResponse) => number) => outputs.reduce((s, o) => s + f(o), 0);
  return {
    model: entry,
    kind,
    task: modelPrompt.task,
    text: answerText(outputs[0]!, modelPrompt.task),
    labels: wantLabels ? labelsFor(outputs, modelPrompt.task, request, nsfw, service) : undefined,
    nsfw,
    promptTokens,
    completionTokens,
    finishReason: hitLimit ? "length" : "stop",
    outputs,
    durations: {
      total: performance.now() - started,
      run: sum((o) => o.timings.run),
      load: sum((o) => o.timings.load),
      queue: sum((o) => o.timings.queue),
      image: sum((o) => o.timings.image),
    },
  };
}
