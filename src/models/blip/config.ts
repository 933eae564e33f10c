// BlipConfig (transformers 4.40 configuration_blip.py): a vision tower config and a text decoder
// config, each with the defaults HF's __init__ writes out. Parsed once, validated here.
import { checkHeadsDivide, configValue as pick, positiveInt } from "../config-values.js";
import { fail } from "../../errors.js";

/** BlipVisionConfig: a ViT with a fused qkv projection and a final layer norm. */
export interface BlipVisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numChannels: number;
  imageSize: number;
  patchSize: number;
  hiddenAct: string;
  layerNormEps: number;
}

/** BlipTextConfig: a BERT-style decoder with cross-attention to the image embeddings. */
export interface BlipTextConfig {
  vocabSize: number;
  hiddenSize: number;
  /** Width of the image embeddings; BlipConfig overwrites it with the vision hidden size. */
  encoderHiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  maxPositionEmbeddings: number;
  hiddenAct: string;
  layerNormEps: number;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  sepTokenId: number;
}

export interface BlipConfig {
  vision: BlipVisionConfig;
  text: BlipTextConfig;
  /** The raw text_config (with HF defaults filled in): the text decoder's generation config comes from it. */
  textConfigJson: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export function parseBlipVisionConfig(json: Json): BlipVisionConfig {
  const w = "vision_config";
  const cfg: BlipVisionConfig = {
    hiddenSize: pick(json, "hidden_size", 768, w),
    intermediateSize: pick(json, "intermediate_size", 3072, w),
    numHiddenLayers: pick(json, "num_hidden_layers", 12, w),
    numAttentionHeads: pick(json, "num_attention_heads", 12, w),
    numChannels: pick(json, "num_channels", 3, w),
    imageSize: pick(json, "image_size", 384, w),
    patchSize: pick(json, "patch_size", 16, w),
    hiddenAct: pick(json, "hidden_act", "gelu", w),
    layerNormEps: pick(json, "layer_norm_eps", 1e-5, w),
  };
  for (const k of [
    "hiddenSize",
    "intermediateSize",
    "numHiddenLayers",
    "numAttentionHeads",
    "imageSize",
    "patchSize",
  ] as const) {
    positiveInt(cfg[k], `${w}.${k}`);
  }
  checkHeadsDivide(cfg.hiddenSize, cfg.numAttentionHeads, `${w}.hidden_size`, "num_attention_heads");
  return cfg;
}

/** HF BlipTextConfig defaults (also what generation settings are derived from). */
const TEXT_DEFAULTS = {
  vocab_size: 30524,
  hidden_size: 768,
  encoder_hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 512,
  hidden_act: "gelu",
  layer_norm_eps: 1e-12,
  bos_token_id: 30522,
  eos_token_id: 2,
  pad_token_id: 0,
  sep_token_id: 102,
} as const;

export function parseBlipTextConfig(json: Json, encoderHiddenSize?: number): BlipTextConfig {
  const w = "text_config";
  const d = TEXT_DEFAULTS;
  const cfg: BlipTextConfig = {
    vocabSize: pick(json, "vocab_size", d.vocab_size, w),
    hiddenSize: pick(json, "hidden_size", d.hidden_size, w),
    encoderHiddenSize: encoderHiddenSize ?? pick(json, "encoder_hidden_size", d.encoder_hidden_size, w),
    intermediateSize: pick(json, "intermediate_size", d.intermediate_size, w),
    numHiddenLayers: pick(json, "num_hidden_layers", d.num_hidden_layers, w),
    numAttentionHeads: pick(json, "num_attention_heads", d.num_attention_heads, w),
    maxPositionEmbeddings: pick(json, "max_position_embeddings", d.max_position_embeddings, w),
    hiddenAct: pick(json, "hidden_act", d.hidden_act, w),
    layerNormEps: pick(json, "layer_norm_eps", d.layer_norm_eps, w),
    bosTokenId: pick(json, "bos_token_id", d.bos_token_id, w),
    eosTokenId: pick(json, "eos_token_id", d.eos_token_id, w),
    padTokenId: pick(json, "pad_token_id", d.pad_token_id, w),
    sepTokenId: pick(json, "sep_token_id", d.sep_token_id, w),
  };
  for (const k of [
    "vocabSize",
    "hiddenSize",
    "encoderHiddenSize",
    "intermediateSize",
    "numHiddenLayers",
    "numAttentionHeads",
    "maxPositionEmbeddings",
  ] as const) {
    positiveInt(cfg[k], `${w}.${k}`);
  }
  checkHeadsDivide(cfg.hiddenSize, cfg.numAttentionHeads, `${w}.hidden_size`, "num_attention_heads");
  return cfg;
}

/** BlipConfig from config.json (`model_type: "blip"`). */
export function parseBlipConfig(config: Json): BlipConfig {
  const visionJson = (config.vision_config ?? {}) as Json;
  const textJson = (config.text_config ?? {}) as Json;
  if (typeof visionJson !== "object" || typeof textJson !== "object") {
    throw fail("MODEL_CONFIG_INVALID", "vision_config and text_config must be objects");
  }
  const vision = parseBlipVisionConfig(visionJson);
  // BlipConfig.__init__: text_config.encoder_hidden_size = vision_config.hidden_size.
  const text = parseBlipTextConfig(textJson, vision.hiddenSize);
  return { vision, text, textConfigJson: { ...TEXT_DEFAULTS, ...textJson } };
}
