// Qwen3VLConfig (transformers 5.12 configuration_qwen3_vl.py): a vision tower config, a Qwen3 text
// decoder config and the vision token ids, with the defaults HF's classes write out. Both layouts
// load: the real repo's (transformers 4.57: text_config.rope_scaling {mrope_section,
// mrope_interleaved} + rope_theta, vision model_type "qwen3_vl") and the one transformers 5 saves
// (text_config.rope_parameters {rope_theta, mrope_section, …}, vision model_type "qwen3_vl_vision").
import { checkHeadsDivide, configValue as pick, positiveInt, type Json } from "./config-values.js";
import { fail } from "../../errors.js";

/** Qwen3VLVisionConfig: a ViT over 2×16×16 video patches with a 2×2 merger into text width. */
export interface Qwen3VLVisionConfig {
  depth: number;
  hiddenSize: number;
  hiddenAct: string;
  intermediateSize: number;
  numHeads: number;
  inChannels: number;
  patchSize: number;
  spatialMergeSize: number;
  temporalPatchSize: number;
  /** The merger's output width: the text decoder's hidden size. */
  outHiddenSize: number;
  /** Learned position embeddings: a √n × √n grid, bilinearly interpolated to each image's grid. */
  numPositionEmbeddings: number;
  /** Vision blocks whose output (through its own merger) is added to the text hidden states. */
  deepstackVisualIndexes: number[];
}

/** The text decoder's rotary setting (rope_parameters, or the legacy rope_scaling + rope_theta). */
export interface Qwen3VLRope {
  ropeType: string;
  ropeTheta: number;
  /** Frequencies per axis (t, h, w); with the interleaved layout t/h/w alternate by frequency index. */
  mropeSection: [number, number, number];
  /** Informational: transformers' Qwen3-VL always interleaves (apply_interleaved_mrope). */
  mropeInterleaved: boolean;
}

/** Qwen3VLTextConfig: a Qwen3 decoder (GQA, q/k RMS norms, SwiGLU). */
export interface Qwen3VLTextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  hiddenAct: string;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  attentionBias: boolean;
  tieWordEmbeddings: boolean;
  rope: Qwen3VLRope;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
}

export interface Qwen3VLConfig {
  vision: Qwen3VLVisionConfig;
  text: Qwen3VLTextConfig;
  imageTokenId: number;
  videoTokenId: number;
  visionStartTokenId: number;
  visionEndTokenId: number;
  /**
   * Whether lm_head is the token embedding: transformers 5 reads the top-level config's
   * tie_word_embeddings (Qwen3VLConfig default false), not text_config's.
   */
  tieWordEmbeddings: boolean;
}

/** HF Qwen3VLVisionConfig defaults. */
export const VISION_DEFAULTS = {
  depth: 27,
  hidden_size: 1152,
  hidden_act: "gelu_pytorch_tanh",
  intermediate_size: 4304,
  num_heads: 16,
  in_channels: 3,
  patch_size: 16,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  out_hidden_size: 3584,
  num_position_embeddings: 2304,
  deepstack_visual_indexes: [8, 16, 24],
} as const;

/** HF Qwen3VLTextConfig defaults (rope: default_theta and the rotary embedding's mrope_section). */
export const TEXT_DEFAULTS = {
  vocab_size: 151936,
  hidden_size: 4096,
  intermediate_size: 22016,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  head_dim: 128,
  hidden_act: "silu",
  max_position_embeddings: 128000,
  rms_norm_eps: 1e-6,
  attention_bias: false,
  tie_word_embeddings: false,
  rope_theta: 500000.0,
  mrope_section: [24, 20, 20],
} as const;

/** HF Qwen3VLConfig defaults. */
export const TOP_DEFAULTS = {
  image_token_id: 151655,
  video_token_id: 151656,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
  tie_word_embeddings: false,
} as const;

const VISION_MODEL_TYPES = new Set(["qwen3_vl", "qwen3_vl_vision"]);

function invalid(detail: string): never {
  throw fail("MODEL_CONFIG_INVALID", detail);
}

function subConfig(json: Json, key: string): Json {
  const v = json[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    invalid(`${key} should be an object, got ${JSON.stringify(v)}`);
  return v as Json;
}

function intList(json: Json, key: string, fallback: readonly number[], where: string): number[] {
  const v = json[key] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    invalid(`${where}.${key} should be a list of non-negative integers, got ${JSON.stringify(json[key])}`);
  }
  return [...v] as number[];
}

/** A token id or null (HF leaves unset ids as None). */
function optionalId(json: Json, key: string, where: string): number | null {
  const v = json[key];
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v)) invalid(`${where}.${key} should be an integer, got ${JSON.stringify(v)}`);
  return v as number;
}

export function parseQwen3VLVisionConfig(json: Json): Qwen3VLVisionConfig {
  const w = "vision_config";
  const d = VISION_DEFAULTS;
  const modelType = json.model_type;
  if (modelType !== undefined && modelType !== null && !VISION_MODEL_TYPES.has(modelType as string)) {
    throw fail("MODEL_UNSUPPORTED_ARCH", `Qwen3-VL ${w}.model_type ${JSON.stringify(modelType)}`);
  }
  const cfg: Qwen3VLVisionConfig = {
    depth: pick(json, "depth", d.depth, w),
    hiddenSize: pick(json, "hidden_size", d.hidden_size, w),
    hiddenAct: pick(json, "hidden_act", d.hidden_act, w),
    intermediateSize: pick(json, "intermediate_size", d.intermediate_size, w),
    numHeads: pick(json, "num_heads", d.num_heads, w),
    inChannels: pick(json, "in_channels", d.in_channels, w),
    patchSize: pick(json, "patch_size", d.patch_size, w),
    spatialMergeSize: pick(json, "spatial_merge_size", d.spatial_merge_size, w),
    temporalPatchSize: pick(json, "temporal_patch_size", d.temporal_patch_size, w),
    outHiddenSize: pick(json, "out_hidden_size", d.out_hidden_size, w),
    numPositionEmbeddings: pick(json, "num_position_embeddings", d.num_position_embeddings, w),
    deepstackVisualIndexes: intList(json, "deepstack_visual_indexes", d.deepstack_visual_indexes, w),
  };
  const ints = {
    depth: cfg.depth,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_heads: cfg.numHeads,
    in_channels: cfg.inChannels,
    patch_size: cfg.patchSize,
    spatial_merge_size: cfg.spatialMergeSize,
    temporal_patch_size: cfg.temporalPatchSize,
    out_hidden_size: cfg.outHiddenSize,
    num_position_embeddings: cfg.numPositionEmbeddings,
  };
  for (const [k, v] of Object.entries(ints)) positiveInt(v, `${w}.${k}`);
  checkHeadsDivide(cfg.hiddenSize, cfg.numHeads, `${w}.hidden_size`, "num_heads");
  // The 2-D rotary embedding splits each head in four (rows, columns; cos and sin halves).
  if ((cfg.hiddenSize / cfg.numHeads) % 4 !== 0) {
    invalid(`${w}: head size ${cfg.hiddenSize / cfg.numHeads} is not a multiple of 4`);
  }
  const side = Math.round(Math.sqrt(cfg.numPositionEmbeddings));
  if (side * side !== cfg.numPositionEmbeddings) {
    invalid(`${w}.num_position_embeddings ${cfg.numPositionEmbeddings} is not a square`);
  }
  for (const i of cfg.deepstackVisualIndexes) {
    if (i >= cfg.depth) invalid(`${w}.deepstack_visual_indexes: ${i} is not a block (depth ${cfg.depth})`);
  }
  return cfg;
}

/**
 * PreTrainedConfig.convert_rope_params_to_dict (transformers 5): rope_scaling, when present, wins
 * over rope_parameters; rope_theta comes from that dict, else the config's rope_theta, else
 * Qwen3VLTextConfig.default_theta; the legacy "type" key names the rope type.
 */
function parseRope(json: Json, where: string): Qwen3VLRope {
  const raw = json.rope_scaling ?? json.rope_parameters ?? {};
  const key = json.rope_scaling != null ? "rope_scaling" : "rope_parameters";
  if (typeof raw !== "object" || Array.isArray(raw)) {
    invalid(`${where}.${key} should be an object, got ${JSON.stringify(raw)}`);
  }
  const r = raw as Json;
  const at = `${where}.${key}`;
  const ropeType = pick(r, "rope_type", pick(r, "type", "default", at), at);
  const ropeTheta = pick(r, "rope_theta", pick(json, "rope_theta", TEXT_DEFAULTS.rope_theta, where), at);
  if (!(ropeTheta > 0)) invalid(`${at}.rope_theta should be positive, got ${ropeTheta}`);
  const section = intList(r, "mrope_section", TEXT_DEFAULTS.mrope_section, at);
  if (section.length !== 3)
    invalid(`${at}.mrope_section should have 3 entries (t, h, w), got ${section.length}`);
  if (ropeType !== "default") {
    throw fail("MODEL_UNSUPPORTED_ARCH", `Qwen3-VL ${at}.rope_type "${ropeType}" (only "default")`);
  }
  return {
    ropeType,
    ropeTheta,
    mropeSection: section as [number, number, number],
    mropeInterleaved: pick(r, "mrope_interleaved", true, at),
  };
}

export function parseQwen3VLTextConfig(json: Json): Qwen3VLTextConfig {
  const w = "text_config";
  const d = TEXT_DEFAULTS;
  const numAttentionHeads = pick(json, "num_attention_heads", d.num_attention_heads, w);
  const eos = json.eos_token_id;
  if (eos !== undefined && eos !== null && !Number.isInteger(eos)) {
    if (!Array.isArray(eos) || !eos.every((x) => Number.isInteger(x))) {
      invalid(`${w}.eos_token_id should be an integer or a list of integers, got ${JSON.stringify(eos)}`);
    }
  }
  const cfg: Qwen3VLTextConfig = {
    vocabSize: pick(json, "vocab_size", d.vocab_size, w),
    hiddenSize: pick(json, "hidden_size", d.hidden_size, w),
    intermediateSize: pick(json, "intermediate_size", d.intermediate_size, w),
    numHiddenLayers: pick(json, "num_hidden_layers", d.num_hidden_layers, w),
    numAttentionHeads,
    // Qwen3VLTextConfig: num_key_value_heads None → num_attention_heads.
    numKeyValueHeads: pick(json, "num_key_value_heads", numAttentionHeads, w),
    headDim: pick(json, "head_dim", d.head_dim, w),
    hiddenAct: pick(json, "hidden_act", d.hidden_act, w),
    maxPositionEmbeddings: pick(json, "max_position_embeddings", d.max_position_embeddings, w),
    rmsNormEps: pick(json, "rms_norm_eps", d.rms_norm_eps, w),
    attentionBias: pick(json, "attention_bias", d.attention_bias, w),
    tieWordEmbeddings: pick(json, "tie_word_embeddings", d.tie_word_embeddings, w),
    rope: parseRope(json, w),
    bosTokenId: optionalId(json, "bos_token_id", w),
    eosTokenId: (eos ?? null) as number | number[] | null,
    padTokenId: optionalId(json, "pad_token_id", w),
  };
  const ints = {
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    num_key_value_heads: cfg.numKeyValueHeads,
    head_dim: cfg.headDim,
    max_position_embeddings: cfg.maxPositionEmbeddings,
  };
  for (const [k, v] of Object.entries(ints)) positiveInt(v, `${w}.${k}`);
  checkHeadsDivide(
    cfg.numAttentionHeads,
    cfg.numKeyValueHeads,
    `${w}.num_attention_heads`,
    "num_key_value_heads",
  );
  if (cfg.headDim % 2 !== 0) invalid(`${w}.head_dim ${cfg.headDim} is odd (rotary pairs halves)`);
  return cfg;
}

/** Qwen3VLConfig from config.json (`model_type: "qwen3_vl"`). */
export function parseQwen3VLConfig(config: Json): Qwen3VLConfig {
  const vision = parseQwen3VLVisionConfig(subConfig(config, "vision_config"));
  const text = parseQwen3VLTextConfig(subConfig(config, "text_config"));
  if (vision.outHiddenSize !== text.hiddenSize) {
    invalid(
      `vision_config.out_hidden_size ${vision.outHiddenSize} differs from text_config.hidden_size ${text.hiddenSize}`,
    );
  }
  const d = TOP_DEFAULTS;
  const ids = {
    image_token_id: pick(config, "image_token_id", d.image_token_id, "config"),
    video_token_id: pick(config, "video_token_id", d.video_token_id, "config"),
    vision_start_token_id: pick(config, "vision_start_token_id", d.vision_start_token_id, "config"),
    vision_end_token_id: pick(config, "vision_end_token_id", d.vision_end_token_id, "config"),
  };
  for (const [k, v] of Object.entries(ids)) {
    if (!Number.isInteger(v) || v < 0) invalid(`config.${k} should be a token id, got ${JSON.stringify(v)}`);
  }
  return {
    vision,
    text,
    imageTokenId: ids.image_token_id,
    videoTokenId: ids.video_token_id,
    visionStartTokenId: ids.vision_start_token_id,
    visionEndTokenId: ids.vision_end_token_id,
    tieWordEmbeddings: pick(config, "tie_word_embeddings", d.tie_word_embeddings, "config"),
  };
}
