// Text generation with the semantics of Hugging Face transformers v4.40 `generate()`: greedy search
// (`_greedy_search`) and beam search (`_beam_search` + BeamSearchScorer), over any decoder that can
// run one step with a KV cache. The generation config is resolved the way HF resolves it from
// generation_config.json / config.json (GenerationConfig defaults, `from_model_config`).
import { fail } from "../errors.js";
import { beamSearch } from "./beam-search.js";
import { buildLogitsProcessors, type LogitsProcessor } from "./logits-processors.js";

/**
 * One decoder step over `rows` sequences. At the first step (cache null) each row is a whole prompt
 * (every row the same prompt for beam search); afterwards each row is the one token just chosen.
 * `logits` holds, per row, the logits at that row's last position (rows × vocab, row-major); generate()
 * only reads them (processors work on a copy), so the decoder may hand out its own buffer. `reorder` is
 * called between beam steps only when the beam order changes, never after the last step.
 */
export interface DecoderSession<C> {
  step(inputIds: number[][], cache: C | null): Promise<{ logits: Float32Array; cache: C }>;
  /** The cache whose row i is row `rows[i]` of `cache` (beam reordering; rows may repeat). */
  reorder(cache: C, rows: number[]): C | Promise<C>;
}

export interface GenerateResult {
  /** What HF generate() returns for batch 1: prompt / decoder start included. */
  sequence: number[];
  /** Beam search only: HF's `sequences_scores` (sum of log-probs / generated_len ** length_penalty). */
  score?: number;
  /** Decoder calls made (= tokens generated). */
  steps: number;
}

/** The resolved generation settings (HF GenerationConfig fields, camelCase; token lists normalised). */
export interface GenerationConfig {
  maxLength: number;
  /** When set, max_length = prompt length + maxNewTokens (HF `_prepare_generated_length`). */
  maxNewTokens: number | null;
  minLength: number;
  minNewTokens: number | null;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: boolean | "never";
  noRepeatNgramSize: number;
  repetitionPenalty: number;
  badWordsIds: number[][] | null;
  suppressTokens: number[] | null;
  beginSuppressTokens: number[] | null;
  forcedBosTokenId: number | null;
  forcedEosTokenId: number[] | null;
  forcedDecoderIds: [number, number][] | null;
  removeInvalidValues: boolean;
  exponentialDecayLengthPenalty: [number, number] | null;
  bosTokenId: number | null;
  eosTokenId: number[];
  /** Defaults to the first EOS id, as HF generate() does. */
  padTokenId: number | null;
  decoderStartTokenId: number | null;
}

/** HF generation kwargs / generation_config.json fields (snake_case), as `generate(**kwargs)` takes them. */
export type GenerationOverrides = Record<string, unknown>;

/** transformers 4.40 GenerationConfig defaults for the fields Sightline implements. */
export const HF_GENERATION_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  max_length: 20,
  max_new_tokens: null,
  min_length: 0,
  min_new_tokens: null,
  early_stopping: false,
  do_sample: false,
  num_beams: 1,
  num_beam_groups: 1,
  length_penalty: 1.0,
  no_repeat_ngram_size: 0,
  repetition_penalty: 1.0,
  bad_words_ids: null,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  remove_invalid_values: false,
  exponential_decay_length_penalty: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
  forced_decoder_ids: null,
  num_return_sequences: 1,
  pad_token_id: null,
  bos_token_id: null,
  eos_token_id: null,
  decoder_start_token_id: null,
});

/** PretrainedConfig generation parameters whose non-default value triggers HF's legacy path. */
const MODEL_CONFIG_GENERATION_DEFAULTS: Readonly<Record<string, unknown>> = {
  max_length: 20,
  min_length: 0,
  do_sample: false,
  early_stopping: false,
  num_beams: 1,
  num_beam_groups: 1,
  diversity_penalty: 0.0,
  temperature: 1.0,
  top_k: 50,
  top_p: 1.0,
  typical_p: 1.0,
  repetition_penalty: 1.0,
  length_penalty: 1.0,
  no_repeat_ngram_size: 0,
  encoder_no_repeat_ngram_size: 0,
  bad_words_ids: null,
  num_return_sequences: 1,
  output_scores: false,
  return_dict_in_generate: false,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  remove_invalid_values: false,
  exponential_decay_length_penalty: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
};

const sameValue = (a: unknown, b: unknown): boolean =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** HF `GenerationConfig.from_model_config`: the config's own fields, then a sub-decoder's for those still default. */
export function generationConfigFromModelConfig(modelConfig: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...HF_GENERATION_DEFAULTS };
  for (const key of Object.keys(out)) if (key in modelConfig) out[key] = modelConfig[key];
  for (const sub of ["decoder", "generator", "text_config"]) {
    const decoder = modelConfig[sub];
    if (!decoder || typeof decoder !== "object") continue;
    for (const key of Object.keys(out)) {
      if (key in decoder && sameValue(out[key], HF_GENERATION_DEFAULTS[key])) out[key] = decoder[key];
    }
  }
  return out;
}

/** HF `PretrainedConfig._has_non_default_generation_parameters` (top level only). */
function hasNonDefaultGenerationParameters(modelConfig: Record<string, any>): boolean {
  return Object.entries(MODEL_CONFIG_GENERATION_DEFAULTS).some(
    ([key, value]) => key in modelConfig && !sameValue(modelConfig[key], value),
  );
}

/**
 * The generation config HF's `generate()` would start from: generation_config.json when the folder has
 * one (unless it was derived from a model config that has since gained generation parameters, HF's
 * legacy rule), else `from_model_config(config)`. `explicit` names the fields the folder sets itself.
 */
export function modelGenerationConfig(
  modelConfig: Record<string, any>,
  generationConfigJson: Record<string, any> | undefined,
): { values: Record<string, unknown>; explicit: Set<string> } {
  const useJson =
    generationConfigJson !== undefined &&
    !(generationConfigJson._from_model_config === true && hasNonDefaultGenerationParameters(modelConfig));
  if (useJson) {
    const values: Record<string, unknown> = { ...HF_GENERATION_DEFAULTS };
    const explicit = new Set<string>();
    for (const [key, value] of Object.entries(generationConfigJson)) {
      if (key.startsWith("_") || key === "transformers_version") continue;
      values[key] = value;
      explicit.add(key);
    }
    return { values, explicit };
  }
  const values = generationConfigFromModelConfig(modelConfig);
  const explicit = new Set(
    Object.keys(values).filter((k) => !sameValue(values[k], HF_GENERATION_DEFAULTS[k])),
  );
  return { values, explicit };
}

/**
 * Resolves the generation settings: the model's own (see modelGenerationConfig), then `appDefaults`
 * for fields the folder does not set (Sightline's per-architecture seed settings, e.g. ViT-GPT2
 * max_length 16 / num_beams 4), then `overrides` (the request's kwargs; undefined values ignored).
 */
export function resolveGenerationConfig(
  modelConfig: Record<string, any>,
  generationConfigJson: Record<string, any> | undefined,
  overrides: GenerationOverrides = {},
  appDefaults: GenerationOverrides = {},
): GenerationConfig {
  const { values, explicit } = modelGenerationConfig(modelConfig, generationConfigJson);
  for (const [key, value] of Object.entries(appDefaults)) {
    if (value !== undefined && !explicit.has(key)) values[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) values[key] = value;
  return normaliseConfig(values);
}

function intOrNull(values: Record<string, unknown>, key: string): number | null {
  const v = values[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw fail("INVALID_ARGUMENT", `${key} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

function idList(values: Record<string, unknown>, key: string): number[] | null {
  const v = values[key];
  if (v === null || v === undefined) return null;
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)) {
    throw fail(
      "INVALID_ARGUMENT",
      `${key} must be a token id or a list of token ids, got ${JSON.stringify(v)}`,
    );
  }
  return list as number[];
}

function normaliseConfig(values: Record<string, unknown>): GenerationConfig {
  const num = (key: string): number => {
    const v = values[key];
    if (typeof v !== "number" || !Number.isFinite(v))
      throw fail("INVALID_ARGUMENT", `${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const maxLength = intOrNull(values, "max_length") ?? 20;
  const maxNewTokens = intOrNull(values, "max_new_tokens");
  if (maxNewTokens !== null && maxNewTokens <= 0)
    throw fail("INVALID_ARGUMENT", `max_new_tokens must be greater than 0, got ${maxNewTokens}`);
  const numBeams = intOrNull(values, "num_beams") ?? 1;
  if (numBeams < 1) throw fail("INVALID_ARGUMENT", `num_beams must be at least 1, got ${numBeams}`);
  if ((intOrNull(values, "num_beam_groups") ?? 1) !== 1)
    throw fail("INVALID_ARGUMENT", "diverse (group) beam search is not supported");
  if ((intOrNull(values, "num_return_sequences") ?? 1) !== 1)
    throw fail("INVALID_ARGUMENT", "num_return_sequences > 1 is not supported");
  const early = values.early_stopping;
  if (early !== true && early !== false && early !== "never" && early !== null && early !== undefined) {
    throw fail(
      "INVALID_ARGUMENT",
      `early_stopping must be true, false or "never", got ${JSON.stringify(early)}`,
    );
  }
  const eosTokenId = idList(values, "eos_token_id") ?? [];
  const bad = values.bad_words_ids;
  const decay = values.exponential_decay_length_penalty;
  const forcedDecoder = values.forced_decoder_ids;
  return {
    maxLength,
    maxNewTokens,
    minLength: intOrNull(values, "min_length") ?? 0,
    minNewTokens: intOrNull(values, "min_new_tokens"),
    numBeams,
    lengthPenalty: num("length_penalty"),
    earlyStopping: (early ?? false) as boolean | "never",
    noRepeatNgramSize: intOrNull(values, "no_repeat_ngram_size") ?? 0,
    repetitionPenalty: num("repetition_penalty"),
    badWordsIds: Array.isArray(bad) ? (bad as number[][]) : null,
    suppressTokens: idList(values, "suppress_tokens"),
    beginSuppressTokens: idList(values, "begin_suppress_tokens"),
    forcedBosTokenId: intOrNull(values, "forced_bos_token_id"),
    forcedEosTokenId: idList(values, "forced_eos_token_id"),
    forcedDecoderIds: Array.isArray(forcedDecoder) ? (forcedDecoder as [number, number][]) : null,
    removeInvalidValues: values.remove_invalid_values === true,
    exponentialDecayLengthPenalty: Array.isArray(decay) ? (decay as [number, number]) : null,
    bosTokenId: intOrNull(values, "bos_token_id"),
    eosTokenId,
    padTokenId: intOrNull(values, "pad_token_id") ?? eosTokenId[0] ?? null,
    decoderStartTokenId: intOrNull(values, "decoder_start_token_id"),
  };
}

/** HF `_get_decoder_start_token_id`: decoder_start_token_id, else bos_token_id. */
export function decoderStartTokenId(cfg: GenerationConfig): number {
  const id = cfg.decoderStartTokenId ?? cfg.bosTokenId;
  if (id === null)
    throw fail("MODEL_CONFIG_INVALID", "neither decoder_start_token_id nor bos_token_id is defined");
  return id;
}

/** max_length after max_new_tokens (which wins when both are set, as in HF). */
export function effectiveMaxLength(cfg: GenerationConfig, promptLength: number): number {
  return cfg.maxNewTokens !== null ? promptLength + cfg.maxNewTokens : cfg.maxLength;
}

/** Runs greedy search (num_beams 1) or beam search over `decoder`, starting from `promptIds`. */
export async function generate<C>(
  decoder: DecoderSession<C>,
  promptIds: number[],
  config: GenerationConfig,
): Promise<GenerateResult> {
  if (promptIds.length === 0) throw fail("INVALID_ARGUMENT", "generation needs at least one start token");
  const maxLength = effectiveMaxLength(config, promptIds.length);
  // HF replaces min_length when min_new_tokens is given (and also runs the min-new-tokens processor).
  const cfg =
    config.minNewTokens !== null ? { ...config, minLength: promptIds.length + config.minNewTokens } : config;
  const processors = buildLogitsProcessors(cfg, promptIds.length, maxLength);
  if (cfg.numBeams > 1) return beamSearch(decoder, promptIds, cfg, maxLength, processors);
  return greedySearch(decoder, promptIds, cfg, maxLength, processors);
}

/** Index of the largest value in data[start, start + n) (the first one on ties, like torch.argmax). */
export function argmax(data: Float32Array, start: number, n: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[start + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

async function greedySearch<C>(
  decoder: DecoderSession<C>,
  promptIds: number[],
  cfg: GenerationConfig,
  maxLength: number,
  processors: LogitsProcessor[],
): Promise<GenerateResult> {
  const sequence = promptIds.slice();
  let input: number[][] = [promptIds.slice()];
  let cache: C | null = null;
  let steps = 0;
  for (;;) {
    const out = await decoder.step(input, cache);
    cache = out.cache;
    steps++;
    const vocab = out.logits.length;
    // Processors write in place; the decoder's buffer stays untouched.
    const scores = processors.length > 0 ? out.logits.slice() : out.logits;
    for (const p of processors) p([sequence], scores, vocab);
    const next = argmax(scores, 0, vocab);
    sequence.push(next);
    // MaxLengthCriteria, then EosTokenCriteria (the EOS itself stays in the output).
    if (sequence.length >= maxLength || cfg.eosTokenId.includes(next)) break;
    input = [[next]];
  }
  return { sequence, steps };
}
