// sightline caption IMAGE --model DIR — caption one image with a local model folder (any architecture
// in the loader table). Prints the caption, or with --json one object:
//   {"text", "token_ids", "timings": {"preprocess", "encode", "decode"} (ms), "caption"?, "entities"?, "result"?}
// Errors are thrown as SightlineErrors; main.ts prints them as one `error CODE: message` line.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { fail, failWith } from "../../errors.js";
import { readImageFile } from "../../images/decode.js";
import { loadModel } from "../../models/index.js";
import { checkPromptLength } from "../../models/prompt-limit.js";
import type { CaptionOptions, CaptionResult } from "../../models/types.js";

export const summary = "caption one image with a local model folder";

const help = `usage: sightline caption IMAGE --model DIR [options]

Captions IMAGE (JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF) with the model in DIR (a Hugging Face
folder with config.json and model.safetensors; a hub name or alias also works).

options:
  --model DIR             model folder (required)
  --prompt TEXT           text prefix (BLIP, ViT-GPT2), grounding prompt (Kosmos-2) or task token (Florence-2)
  --max-new-tokens N      generate at most N tokens (default: the model's generation config)
  --num-beams N           beam search width; 1 = greedy (default: the model's generation config)
  --suppress-tokens IDS   comma-separated token ids that are never generated
  --json                  print {"text", "token_ids", "timings", …} as one JSON object
  --threads N             inference threads (default: all cores)
  --verbose               stack traces on errors
  --help                  this text`;

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw fail("INVALID_ARGUMENT", `${flag} must be a positive integer, not "${value}"`);
  }
  return n;
}

function tokenIds(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0 || parts.some((s) => !/^\d+$/.test(s))) {
    throw fail("INVALID_ARGUMENT", `--suppress-tokens must be comma-separated token ids, not "${value}"`);
  }
  return parts.map(Number);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        prompt: { type: "string" },
        "max-new-tokens": { type: "string" },
        "num-beams": { type: "string" },
        "suppress-tokens": { type: "string" },
        json: { type: "boolean", default: false },
        threads: { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw failWith(e, "INVALID_ARGUMENT", `${(e as Error).message} (see sightline caption --help)`);
  }
}

async function resolveModelFolder(ref: string): Promise<string> {
  if (existsSync(ref)) return ref;
  const { resolveModel } = await import("../../hub/index.js");
  return resolveModel(ref);
}

/** The --json shape (snake_case keys, ms rounded to 0.1). */
export function captionJson(result: CaptionResult): Record<string, unknown> {
  const ms = (v: number) => Math.round(v * 10) / 10;
  const out: Record<string, unknown> = {
    // The contract: `text` is the decode with special tokens skipped, stripped; a post-processed
    // caption (Kosmos-2) comes beside it as `caption`.
    text: result.decodedText ?? result.text,
    ...(result.decodedText !== undefined ? { caption: result.text } : {}),
    token_ids: result.tokenIds,
    timings: {
      preprocess: ms(result.timings.preprocess),
      encode: ms(result.timings.encode),
      decode: ms(result.timings.decode),
    },
  };
  if (result.entities !== undefined) out.entities = result.entities;
  if (result.result !== undefined) out.result = result.result;
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 1) {
    throw fail(
      "INVALID_ARGUMENT",
      `expected exactly one IMAGE, got ${positionals.length} (see sightline caption --help)`,
    );
  }
  if (!values.model) throw fail("INVALID_ARGUMENT", "--model DIR is required (see sightline caption --help)");
  const options: CaptionOptions = {
    prompt: values.prompt,
    maxNewTokens: positiveInt(values["max-new-tokens"], "--max-new-tokens"),
    numBeams: positiveInt(values["num-beams"], "--num-beams"),
    suppressTokens: tokenIds(values["suppress-tokens"]),
  };
  const threads = positiveInt(values.threads, "--threads");

  // The image first: a bad file fails fast, before a model is loaded.
  const image = await readImageFile(positionals[0]);
  const folder = await resolveModelFolder(values.model);
  await checkPromptLength(folder, options.prompt); // before the model loads
  const model = await loadModel(folder, { threads });
  try {
    const result = await model.caption(image, options);
    console.log(values.json ? JSON.stringify(captionJson(result)) : result.text);
  } finally {
    await model.dispose();
  }
  return 0;
}
