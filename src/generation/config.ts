// The generation settings, resolved the way transformers v4.40 resolves them: GenerationConfig
// defaults, generation_config.json or `from_model_config(config)` (with HF's legacy rule), the
// application's per-architecture seeds, then the request's kwargs.
import { fail } from "../errors.js";

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
  /** Multinomial sampling instead of greedy search (only when a request asks: see resolveGenerationConfig). */
  doSample: boolean;
  /** Sampling's warpers (HF TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper). */
  temperature: number;
  topK: number;
  topP: number;
  /** Sightline's own: the sampler's seed (null: a random one). */
  seed: number | null;
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
  temperature: 1.0,
  top_k: 50,
  top_p: 1.0,
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
 * A folder that samples by default (Qwen3-VL's do_sample) still decodes deterministically: only
 * `overrides` turn sampling on; its temperature / top_k / top_p then default to the folder's.
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
  values.do_sample = false;
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
  const doSample = values.do_sample === true;
  if (doSample && numBeams > 1)
    throw fail("INVALID_ARGUMENT", "sampling draws one sequence: num_beams must be 1 when sampling");
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
    doSample,
    ...samplingSettings(values, doSample),
  };
}

/** temperature, top_k, top_p and seed, checked as HF's warpers check them when they are used. */
function samplingSettings(values: Record<string, unknown>, doSample: boolean) {
  const number = (key: string, fallback: number): number => {
    const v = values[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw fail("INVALID_ARGUMENT", `${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const temperature = number("temperature", 1.0);
  const topK = intOrNull(values, "top_k") ?? 0;
  const topP = number("top_p", 1.0);
  const seed = intOrNull(values, "seed");
  if (doSample) {
    if (!(temperature > 0))
      throw fail("INVALID_ARGUMENT", `temperature must be above 0 when sampling, got ${temperature}`);
    if (topK < 0) throw fail("INVALID_ARGUMENT", `top_k must be 0 (off) or more, got ${topK}`);
    if (!(topP >= 0 && topP <= 1)) throw fail("INVALID_ARGUMENT", `top_p must be in [0, 1], got ${topP}`);
  }
  if (seed !== null && !Number.isSafeInteger(seed))
    throw fail("INVALID_ARGUMENT", `seed must be a whole number, got ${seed}`);
  return { temperature, topK, topP, seed };
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
