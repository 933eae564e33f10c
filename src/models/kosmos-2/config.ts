// Kosmos-2 config.json (HF Kosmos2Config / Kosmos2TextConfig / Kosmos2VisionConfig, transformers
// 4.40), parsed once with the defaults HF's classes write out.
import { fail } from "../../errors.js";

export interface Kosmos2VisionConfig {
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

export interface Kosmos2TextConfig {
  vocabSize: number;
  embedDim: number;
  layers: number;
  ffnDim: number;
  attentionHeads: number;
  activationFunction: string;
  maxPositionEmbeddings: number;
  /** embed_scale = sqrt(embed_dim) when true. */
  scaleEmbedding: boolean;
  layerNormEps: number;
  /** Also the padding index of the sinusoidal positions. */
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
}

export interface Kosmos2Config {
  /** Number of image placeholder positions (latent queries of the image-to-text connector). */
  latentQueryNum: number;
  vision: Kosmos2VisionConfig;
  text: Kosmos2TextConfig;
}

type Json = Record<string, any>;

function pick<T>(obj: Json, key: string, fallback: T): T {
  const v = obj[key];
  return v === undefined || v === null ? fallback : (v as T);
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw fail(
      "MODEL_CONFIG_INVALID",
      `kosmos-2 ${name} must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function parseKosmos2Config(json: Json): Kosmos2Config {
  const v: Json = json.vision_config ?? {};
  const t: Json = json.text_config ?? {};
  const vision: Kosmos2VisionConfig = {
    hiddenSize: positiveInt(pick(v, "hidden_size", 1024), "vision_config.hidden_size"),
    intermediateSize: positiveInt(pick(v, "intermediate_size", 4096), "vision_config.intermediate_size"),
    numHiddenLayers: positiveInt(pick(v, "num_hidden_layers", 24), "vision_config.num_hidden_layers"),
    numAttentionHeads: positiveInt(pick(v, "num_attention_heads", 16), "vision_config.num_attention_heads"),
    numChannels: positiveInt(pick(v, "num_channels", 3), "vision_config.num_channels"),
    imageSize: positiveInt(pick(v, "image_size", 224), "vision_config.image_size"),
    patchSize: positiveInt(pick(v, "patch_size", 14), "vision_config.patch_size"),
    hiddenAct: pick(v, "hidden_act", "quick_gelu"),
    layerNormEps: pick(v, "layer_norm_eps", 1e-5),
  };
  const text: Kosmos2TextConfig = {
    vocabSize: positiveInt(pick(t, "vocab_size", 65037), "text_config.vocab_size"),
    embedDim: positiveInt(pick(t, "embed_dim", 2048), "text_config.embed_dim"),
    layers: positiveInt(pick(t, "layers", 24), "text_config.layers"),
    ffnDim: positiveInt(pick(t, "ffn_dim", 8192), "text_config.ffn_dim"),
    attentionHeads: positiveInt(pick(t, "attention_heads", 32), "text_config.attention_heads"),
    activationFunction: pick(t, "activation_function", "gelu"),
    maxPositionEmbeddings: positiveInt(
      pick(t, "max_position_embeddings", 2048),
      "text_config.max_position_embeddings",
    ),
    scaleEmbedding: pick(t, "scale_embedding", true),
    layerNormEps: pick(t, "layer_norm_eps", 1e-5),
    padTokenId: pick(t, "pad_token_id", 1),
    bosTokenId: pick(t, "bos_token_id", 0),
    eosTokenId: pick(t, "eos_token_id", 2),
  };
  if (vision.hiddenSize % vision.numAttentionHeads !== 0) {
    throw fail("MODEL_CONFIG_INVALID", "kosmos-2 vision hidden_size is not divisible by num_attention_heads");
  }
  if (text.embedDim % text.attentionHeads !== 0) {
    throw fail("MODEL_CONFIG_INVALID", "kosmos-2 text embed_dim is not divisible by attention_heads");
  }
  return {
    latentQueryNum: positiveInt(pick(json, "latent_query_num", 64), "latent_query_num"),
    vision,
    text,
  };
}
