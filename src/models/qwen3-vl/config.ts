// Qwen3VLConfig (transformers 5.12 configuration_qwen3_vl.py): a vision tower config, a Qwen3 text
// decoder config and the vision token ids, one field table each with the defaults HF's classes write
// out. Both layouts load: the real repo's (transformers 4.57: text_config.rope_scaling {mrope_section,
// mrope_interleaved} + rope_theta, vision model_type "qwen3_vl") and the one transformers 5 saves
// (text_config.rope_parameters {rope_theta, mrope_section, …}, vision model_type "qwen3_vl_vision").
import { fail } from "../../errors.js";
import { f, parseFields, section, type ConfigOf, type Field, type Json } from "../config.js";

/** Qwen3VLVisionConfig: a ViT over 2×16×16 video patches with a 2×2 merger into text width. */
const VISION = {
  depth: f.size("depth", 27),
  hiddenSize: f.size("hidden_size", 1152),
  hiddenAct: f.string("hidden_act", "gelu_pytorch_tanh"),
  intermediateSize: f.size("intermediate_size", 4304),
  numHeads: f.heads("num_heads", 16, "hiddenSize"),
  inChannels: f.size("in_channels", 3),
  patchSize: f.size("patch_size", 16),
  spatialMergeSize: f.size("spatial_merge_size", 2),
  temporalPatchSize: f.size("temporal_patch_size", 2),
  /** The merger's output width: the text decoder's hidden size. */
  outHiddenSize: f.size("out_hidden_size", 3584),
  /** Learned position embeddings: a √n × √n grid, bilinearly interpolated to each image's grid. */
  numPositionEmbeddings: f.size("num_position_embeddings", 2304),
  /** Vision blocks whose output (through its own merger) is added to the text hidden states. */
  deepstackVisualIndexes: f.ints("deepstack_visual_indexes", [8, 16, 24]),
};

/** Qwen3VLTextConfig: a Qwen3 decoder (GQA, q/k RMS norms, SwiGLU). */
const TEXT = {
  vocabSize: f.size("vocab_size", 151936),
  hiddenSize: f.size("hidden_size", 4096),
  intermediateSize: f.size("intermediate_size", 22016),
  numHiddenLayers: f.size("num_hidden_layers", 32),
  numAttentionHeads: f.size("num_attention_heads", 32),
  // None → num_attention_heads; the query heads come in whole groups per key/value head.
  numKeyValueHeads: {
    ...f.size("num_key_value_heads", (c) => c.numAttentionHeads),
    divides: "numAttentionHeads",
  } as Field<number>,
  headDim: f.size("head_dim", 128),
  hiddenAct: f.string("hidden_act", "silu"),
  maxPositionEmbeddings: f.size("max_position_embeddings", 128000),
  rmsNormEps: f.number("rms_norm_eps", 1e-6),
  attentionBias: f.boolean("attention_bias", false),
  tieWordEmbeddings: f.boolean("tie_word_embeddings", false),
  /** The legacy layout's rope_theta beside rope_scaling; Qwen3VLTextConfig.default_theta otherwise. */
  ropeTheta: f.number("rope_theta", 500000),
  bosTokenId: f.optionalInt("bos_token_id", null),
  eosTokenId: f.tokenIds("eos_token_id", null),
  padTokenId: f.optionalInt("pad_token_id", null),
};

/** The rotary settings dict (rope_scaling or rope_parameters); `theta` is where rope_theta falls back to. */
const rope = (theta: number) => ({
  /** The legacy "type" key names the rope type when rope_type is missing. */
  legacyType: f.string("type", "default"),
  ropeType: f.string("rope_type", (c) => c.legacyType),
  ropeTheta: f.number("rope_theta", theta),
  /** Frequencies per axis (t, h, w); with the interleaved layout t/h/w alternate by frequency index. */
  mropeSection: f.ints("mrope_section", [24, 20, 20]),
  /** Informational: transformers' Qwen3-VL always interleaves (apply_interleaved_mrope). */
  mropeInterleaved: f.boolean("mrope_interleaved", true),
});

/** Qwen3VLConfig's own fields. */
const TOP = {
  imageTokenId: f.int("image_token_id", 151655),
  videoTokenId: f.int("video_token_id", 151656),
  visionStartTokenId: f.int("vision_start_token_id", 151652),
  visionEndTokenId: f.int("vision_end_token_id", 151653),
  /**
   * Whether lm_head is the token embedding: transformers 5 reads the top-level config's
   * tie_word_embeddings (Qwen3VLConfig default false), not text_config's.
   */
  tieWordEmbeddings: f.boolean("tie_word_embeddings", false),
};

export type Qwen3VLVisionConfig = ConfigOf<typeof VISION>;

/** The text decoder's rotary setting (rope_parameters, or the legacy rope_scaling + rope_theta). */
export interface Qwen3VLRope {
  ropeType: string;
  ropeTheta: number;
  mropeSection: [number, number, number];
  mropeInterleaved: boolean;
}

export type Qwen3VLTextConfig = Omit<ConfigOf<typeof TEXT>, "ropeTheta"> & { rope: Qwen3VLRope };

export interface Qwen3VLConfig extends ConfigOf<typeof TOP> {
  vision: Qwen3VLVisionConfig;
  text: Qwen3VLTextConfig;
}

const VISION_MODEL_TYPES = new Set(["qwen3_vl", "qwen3_vl_vision"]);

function invalid(detail: string): never {
  throw fail("MODEL_CONFIG_INVALID", detail);
}

export function parseQwen3VLVisionConfig(json: Json): Qwen3VLVisionConfig {
  const w = "vision_config";
  const modelType = json.model_type;
  if (modelType !== undefined && modelType !== null && !VISION_MODEL_TYPES.has(modelType as string)) {
    throw fail("MODEL_UNSUPPORTED_ARCH", `Qwen3-VL ${w}.model_type ${JSON.stringify(modelType)}`);
  }
  const cfg = parseFields(json, VISION, w);
  // The 2-D rotary embedding splits each head in four (rows, columns; cos and sin halves).
  if ((cfg.hiddenSize / cfg.numHeads) % 4 !== 0) {
    invalid(`${w}: head size ${cfg.hiddenSize / cfg.numHeads} is not a multiple of 4`);
  }
  const side = Math.round(Math.sqrt(cfg.numPositionEmbeddings));
  if (side * side !== cfg.numPositionEmbeddings) {
    invalid(`${w}.num_position_embeddings ${cfg.numPositionEmbeddings} is not a square`);
  }
  for (const i of cfg.deepstackVisualIndexes) {
    if (i < 0 || i >= cfg.depth)
      invalid(`${w}.deepstack_visual_indexes: ${i} is not a block (depth ${cfg.depth})`);
  }
  return cfg;
}

/**
 * PreTrainedConfig.convert_rope_params_to_dict (transformers 5): rope_scaling, when present, wins
 * over rope_parameters; rope_theta comes from that dict, else the config's rope_theta, else
 * Qwen3VLTextConfig.default_theta; the legacy "type" key names the rope type.
 */
function parseRope(json: Json, theta: number, where: string): Qwen3VLRope {
  const key = json.rope_scaling != null ? "rope_scaling" : "rope_parameters";
  const at = `${where}.${key}`;
  const r = parseFields(section(json, key, where), rope(theta), at);
  if (!(r.ropeTheta > 0)) invalid(`${at}.rope_theta should be positive, got ${r.ropeTheta}`);
  if (r.mropeSection.length !== 3 || r.mropeSection.some((n) => n < 0)) {
    invalid(`${at}.mrope_section should be 3 counts (t, h, w), got ${JSON.stringify(r.mropeSection)}`);
  }
  if (r.ropeType !== "default") {
    throw fail("MODEL_UNSUPPORTED_ARCH", `Qwen3-VL ${at}.rope_type "${r.ropeType}" (only "default")`);
  }
  return {
    ropeType: r.ropeType,
    ropeTheta: r.ropeTheta,
    mropeSection: r.mropeSection as [number, number, number],
    mropeInterleaved: r.mropeInterleaved,
  };
}

export function parseQwen3VLTextConfig(json: Json): Qwen3VLTextConfig {
  const w = "text_config";
  const { ropeTheta, ...cfg } = parseFields(json, TEXT, w);
  if (cfg.headDim % 2 !== 0) invalid(`${w}.head_dim ${cfg.headDim} is odd (rotary pairs halves)`);
  return { ...cfg, rope: parseRope(json, ropeTheta, w) };
}

/** Qwen3VLConfig from config.json (`model_type: "qwen3_vl"`). */
export function parseQwen3VLConfig(config: Json): Qwen3VLConfig {
  const vision = parseQwen3VLVisionConfig(section(config, "vision_config"));
  const text = parseQwen3VLTextConfig(section(config, "text_config"));
  if (vision.outHiddenSize !== text.hiddenSize) {
    invalid(
      `vision_config.out_hidden_size ${vision.outHiddenSize} differs from text_config.hidden_size ${text.hiddenSize}`,
    );
  }
  const top = parseFields(config, TOP, "config");
  for (const [name, id] of Object.entries(top)) {
    if (typeof id === "number" && id < 0) invalid(`config.${name}: token id ${id} is negative`);
  }
  return { ...top, vision, text };
}
