// sightline caption IMAGE --model DIR|NAME — caption one image with a model folder, an alias or a hub
// repo (downloaded first when missing). Prints the caption, or with --json one object:
//   {"text", "caption", "token_ids", "timings": {"preprocess", "encode", "decode"} (ms), "entities"?, "result"?}
// Errors are thrown as SightlineErrors; main.ts prints them as one `error CODE: message` line.
import { parseArgs } from "node:util";
import { fail, failWith } from "../../errors.js";
import { readImageFile } from "../../images/decode.js";
import { loadModel } from "../../models/index.js";
import { checkPromptLength } from "../../models/prompt-limit.js";
import type { CaptionOptions, CaptionResult } from "../../models/types.js";
import { modelAliases } from "../../hub/model-ref.js";
import { modelFolder, quantizeOption, withLoadingLine } from "../model-folder.js";

const help = `usage: sightline caption IMAGE --model DIR|NAME [options]

Captions IMAGE (JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC/HEIF, AVIF) with a model.

options:
  --model DIR|NAME        the model (required): a Hugging Face model folder (config.json,
                          model.safetensors, tokenizer), an alias (${Object.keys(modelAliases).join(", ")})
                          or a hub repo owner/name[@revision]; names are downloaded once into
                          the models folder (see sightline models --help)
  --models-dir DIR        where names are downloaded (default $SIGHTLINE_MODELS_DIR, else
                          ~/.cache/sightline/models)
  --offline               never contact the hub: a name must be downloaded already
                          (also HF_HUB_OFFLINE=1)
  --prompt TEXT           text prefix (BLIP, ViT-GPT2), grounding prompt (Kosmos-2), task token (Florence-2)
                          or the instruction Qwen3-VL answers (default "Describe this image.")
  --system TEXT           a system message before the prompt (Qwen3-VL)
  --max-pixels N          most pixels Qwen3-VL resizes the image to (default 409600 = 640×640;
                          never more than the model's own max_pixels)
  --max-new-tokens N      generate at most N tokens (default: the model's generation config)
  --num-beams N           beam search width; 1 = greedy (default: the model's generation config)
  --suppress-tokens IDS   comma-separated token ids that are never generated
  --repetition-penalty X  HF repetition_penalty (1 = none, the default)
  --sample                draw tokens instead of greedy / beam search, with the model's temperature,
                          top-k and top-p unless given below
  --temperature X         sampling temperature (> 0)
  --top-k N               keep the N most likely tokens (0 = all)
  --top-p X               keep the most likely tokens whose probabilities sum to X (0–1)
  --seed N                the sampler's seed: the same seed gives the same answer (default random)
  --json                  print one JSON object: {"text", "caption", "token_ids", "timings", …}
  --threads N             inference threads (default: one per physical core)
  --quantize q8|q4|none   8- or 4-bit weights for the linear layers (faster, smaller, slightly
                          different output; default none: float32 as in the checkpoint); quantized
                          once and cached in the models folder's .quantized
  --safetensors-only      refuse pytorch_model.bin (pickle) weights (also SIGHTLINE_SAFETENSORS_ONLY=1)
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
        "models-dir": { type: "string" },
        offline: { type: "boolean" },
        prompt: { type: "string" },
        "max-new-tokens": { type: "string" },
        "num-beams": { type: "string" },
        "suppress-tokens": { type: "string" },
        system: { type: "string" },
        "max-pixels": { type: "string" },
        "repetition-penalty": { type: "string" },
        sample: { type: "boolean", default: false },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean", default: false },
        threads: { type: "string" },
        quantize: { type: "string" },
        "safetensors-only": { type: "boolean" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw failWith(e, "INVALID_ARGUMENT", `${(e as Error).message} (see sightline caption --help)`);
  }
}

function number(value: string | undefined, flag: string, ok: (n: number) => boolean, what: string) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !ok(n)) {
    throw fail("INVALID_ARGUMENT", `${flag} must be ${what}, not "${value}"`);
  }
  return n;
}

/** --sample and its settings; a setting without --sample is refused rather than ignored. */
function samplingOptions(values: ReturnType<typeof parse>["values"]): CaptionOptions["sample"] {
  const sample = {
    temperature: number(values.temperature, "--temperature", (n) => n > 0, "a number above 0"),
    topK: number(
      values["top-k"],
      "--top-k",
      (n) => Number.isSafeInteger(n) && n >= 0,
      "0 or a positive integer",
    ),
    topP: number(values["top-p"], "--top-p", (n) => n > 0 && n <= 1, "a number in (0, 1]"),
    seed: number(values.seed, "--seed", (n) => Number.isSafeInteger(n) && n >= 0, "a whole number ≥ 0"),
  };
  const given = Object.entries(sample).filter(([, v]) => v !== undefined);
  if (!values.sample) {
    if (given.length > 0) {
      const flags = given.map(([k]) => `--${k.replace("topK", "top-k").replace("topP", "top-p")}`);
      throw fail("INVALID_ARGUMENT", `${flags.join(", ")} ${flags.length === 1 ? "needs" : "need"} --sample`);
    }
    return undefined;
  }
  return Object.fromEntries(given);
}

/** The --json shape (snake_case keys, ms rounded to 0.1). */
export function captionJson(result: CaptionResult): Record<string, unknown> {
  const ms = (v: number) => Math.round(v * 10) / 10;
  const out: Record<string, unknown> = {
    // The contract: `text` is the decode with special tokens skipped, stripped; `caption` is the
    // caption as the model's processor post-processes it (Kosmos-2 drops its grounding markup;
    // for the other models the two are the same, Florence-2's parsed task answer is `result`).
    text: result.decodedText ?? result.text,
    caption: result.text,
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
  if (!values.model)
    throw fail("INVALID_ARGUMENT", "--model DIR|NAME is required (see sightline caption --help)");
  const options: CaptionOptions = {
    prompt: values.prompt,
    maxNewTokens: positiveInt(values["max-new-tokens"], "--max-new-tokens"),
    numBeams: positiveInt(values["num-beams"], "--num-beams"),
    suppressTokens: tokenIds(values["suppress-tokens"]),
    system: values.system,
    maxPixels: positiveInt(values["max-pixels"], "--max-pixels"),
    repetitionPenalty: number(
      values["repetition-penalty"],
      "--repetition-penalty",
      (n) => n > 0,
      "a number above 0",
    ),
    sample: samplingOptions(values),
  };
  const threads = positiveInt(values.threads, "--threads");
  const quantize = quantizeOption(values.quantize, values["models-dir"]);

  // The image first: a bad file fails fast, before a model is loaded.
  const image = await readImageFile(positionals[0]);
  const folder = await modelFolder(values.model, {
    offline: values.offline,
    modelsDir: values["models-dir"],
    safetensorsOnly: values["safetensors-only"],
  });
  await checkPromptLength(folder, options.prompt); // before the model loads
  const model = await withLoadingLine(values.model, () => loadModel(folder, { threads, quantize }));
  try {
    const result = await model.caption(image, options);
    console.log(values.json ? JSON.stringify(captionJson(result)) : result.text);
  } finally {
    await model.dispose();
  }
  return 0;
}
