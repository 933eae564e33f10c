// Sampling settings as the chat dialects spell them (Ollama `options`, OpenAI's top-level fields,
// PhotoPrism's `options`) → the model's SamplingOptions. A request that names none, or a temperature
// of 0 (Ollama's and OpenAI's "always the most likely token"), decodes greedily: captions stay
// deterministic unless a client asks otherwise. Only instruction-following models use them (vision.ts).
import { fail } from "../../errors.js";
import type { SamplingOptions } from "../../models/types.js";
import type { Fields } from "../request.js";

export interface SamplingKeys {
  temperature: string;
  topP: string;
  topK?: string;
  seed: string;
  where: string;
}

export const ollamaSampling: SamplingKeys = {
  temperature: "temperature",
  topP: "top_p",
  topK: "top_k",
  seed: "seed",
  where: "options",
};
export const openaiSampling: SamplingKeys = {
  temperature: "temperature",
  topP: "top_p",
  seed: "seed",
  where: "",
};

function numberField(
  fields: Fields,
  key: string,
  where: string,
  ok: (n: number) => boolean,
): number | undefined {
  const v = fields[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
    throw fail(
      "INVALID_ARGUMENT",
      `${where ? `${where}.` : ""}${key} is out of range: ${JSON.stringify(v).slice(0, 40)}`,
    );
  }
  return v;
}

/** The sampling a request asks for, or undefined for greedy / beam search. */
export function samplingOf(fields: unknown, keys: SamplingKeys): SamplingOptions | undefined {
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return undefined;
  const f = fields as Fields;
  const temperature = numberField(f, keys.temperature, keys.where, (n) => n >= 0 && n <= 2);
  const topP = numberField(f, keys.topP, keys.where, (n) => n > 0 && n <= 1);
  const topK = keys.topK
    ? numberField(f, keys.topK, keys.where, (n) => Number.isInteger(n) && n >= 0)
    : undefined;
  const seed = numberField(f, keys.seed, keys.where, (n) => Number.isSafeInteger(n));
  if (temperature === 0) return undefined;
  if ([temperature, topP, topK, seed].every((v) => v === undefined)) return undefined;
  const out: SamplingOptions = {};
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.topP = topP;
  if (topK !== undefined) out.topK = topK;
  if (seed !== undefined) out.seed = Math.abs(seed);
  return out;
}
