// How long a prompt a model takes. In tokens: the text positions of its config.json less what its
// architecture keeps of them (image features, generated tokens). In characters: what no prompt
// within that many tokens can exceed, so that refusing a megabyte costs nothing — it is checked
// before anything is tokenised or queued, and the token count after tokenising.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fail } from "../errors.js";
import { longestTokenLength } from "../tokenizer/tokenizer.js";

export interface PromptLimit {
  /** Text positions the prompt's token sequence (as the architecture builds it) may take. */
  tokens: number;
  /** Characters no prompt within `tokens` has (tokens × (longest token + 1)). */
  chars: number;
  /** Where `tokens` comes from, for messages: "1024 text positions less 577 for the image". */
  reason: string;
}

/**
 * Until a model's folder is on disk its limit is unknown; the server refuses longer prompts at once
 * (above every supported checkpoint's own character limit) and the model checks its exact one.
 */
export const MAX_PROMPT_CHARS = 200_000;

type Json = Record<string, any>;

interface TextPositions {
  positions: number;
  reserved: number;
  reservedFor?: string;
}

/**
 * config.json model_type → the positions the prompt shares and what the architecture keeps of them.
 * The prompt's token sequence is what the model is fed: Florence-2 its encoder ids (<s> … </s>),
 * BLIP and ViT-GPT2 the decoder start plus the prompt, Kosmos-2 <s><image>…</image> plus the prompt.
 */
const architectures: Record<string, (config: Json, folder: string) => TextPositions> = {
  // The BART encoder runs over [image features ; prompt]; generation has the decoder's own positions.
  florence2: (c, folder) => ({
    positions: c.text_config?.max_position_embeddings ?? 1024,
    reserved: imageSeqLength(folder),
    reservedFor: "the image",
  }),
  // Generation continues the prompt; the default max_length counts the prompt, so one new token.
  blip: (c) => ({
    positions: c.text_config?.max_position_embeddings ?? 512,
    reserved: 1,
    reservedFor: "a generated token",
  }),
  "vision-encoder-decoder": (c) => ({
    positions: c.decoder?.n_positions ?? c.decoder?.max_position_embeddings ?? 1024,
    reserved: 1,
    reservedFor: "a generated token",
  }),
  // Generation continues the prompt for max_new_tokens, 128 by default (the seed's setting).
  "kosmos-2": (c) => ({
    positions: c.text_config?.max_position_embeddings ?? 2048,
    reserved: 128,
    reservedFor: "128 generated tokens",
  }),
};

// Florence2Processor's image_seq_length: the image features ahead of the prompt (577 at 768×768).
function imageSeqLength(folder: string): number {
  const n = readJson(join(folder, "preprocessor_config.json"))?.image_seq_length;
  return Number.isInteger(n) && n > 0 ? n : 0;
}

function readJson(path: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Json;
  } catch {
    return undefined;
  }
}

/** The limit of a model from its config.json and its tokenizer's longest token; undefined if unknown. */
export function promptLimitOf(config: Json, folder: string, longestToken: number): PromptLimit | undefined {
  const rule = architectures[String(config.model_type ?? "")];
  const text = config.text_config ?? config.decoder ?? config;
  const { positions, reserved, reservedFor } = rule
    ? rule(config, folder)
    : { positions: text.max_position_embeddings ?? text.n_positions, reserved: 0, reservedFor: undefined };
  if (!Number.isInteger(positions) || positions <= reserved) return undefined;
  const tokens = positions - reserved;
  const reason =
    reserved > 0
      ? `${positions} text positions less ${reserved} for ${reservedFor}`
      : `${positions} text positions`;
  return { tokens, chars: tokens * (longestToken + 1), reason };
}

const limits = new Map<string, Promise<PromptLimit | undefined>>();

/** The limit of the model in `folder` (read once per folder); undefined when the folder has none. */
export function promptLimit(folder: string): Promise<PromptLimit | undefined> {
  const key = resolve(folder);
  let limit = limits.get(key);
  if (!limit) {
    limit = (async () => {
      const config = readJson(join(key, "config.json"));
      // Without a readable config or tokenizer the model does not load either; that says why.
      const longest = await longestTokenLength(key).catch(() => undefined);
      return config && longest !== undefined ? promptLimitOf(config, key, longest) : undefined;
    })();
    limits.set(key, limit);
  }
  return limit;
}

function isModelFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, "config.json"));
  } catch {
    return false;
  }
}

/**
 * PROMPT_TOO_LONG when `prompt` has more characters than any prompt the model takes. `folder` is the
 * model's folder, or anything else (a hub name) when it is not on disk yet: then MAX_PROMPT_CHARS.
 */
export async function checkPromptLength(
  folder: string | undefined,
  prompt: string | undefined,
): Promise<void> {
  if (!prompt) return;
  const limit = folder && isModelFolder(folder) ? await promptLimit(folder) : undefined;
  const chars = limit?.chars ?? MAX_PROMPT_CHARS;
  if (prompt.length <= chars) return;
  const takes = limit ? `${limit.tokens} tokens (${limit.reason}), ` : "";
  throw fail(
    "PROMPT_TOO_LONG",
    `${prompt.length} characters; this model takes at most ${takes}${chars} characters`,
  );
}

/** PROMPT_TOO_LONG when the prompt's token sequence needs more text positions than the model gives it. */
export async function checkPromptTokens(folder: string, tokens: number): Promise<void> {
  const limit = await promptLimit(folder);
  if (!limit || tokens <= limit.tokens) return;
  throw fail(
    "PROMPT_TOO_LONG",
    `it needs ${tokens} text positions; this model has ${limit.tokens} for a prompt (${limit.reason})`,
  );
}
