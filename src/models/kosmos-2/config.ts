// Kosmos-2 config.json (HF Kosmos2Config / Kosmos2TextConfig / Kosmos2VisionConfig, transformers
// 4.40), parsed once with the defaults HF's classes write out.
import { checkHeadsDivide, configValue as pick, positiveInt, type Json } from "../config-values.js";

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

export function parseKosmos2Config(json: Json): Kosmos2Config {
  const v: Json = json.vision_config ?? {};
  const t: Json = json.text_config ?? {};
  const visionInt = (key: string, fallback: number) =>
    positiveInt(pick(v, key, fallback, "vision_config"), `vision_config.${key}`);
  const textInt = (key: string, fallback: number) =>
    positiveInt(pick(t, key, fallback, "text_config"), `text_config.${key}`);
  const vision: Kosmos2VisionConfig = {
    hiddenSize: visionInt("hidden_size", 1024),
    intermediateSize: visionInt("intermediate_size", 4096),
    numHiddenLayers: visionInt("num_hidden_layers", 24),
    numAttentionHeads: visionInt("num_attention_heads", 16),
    numChannels: visionInt("num_channels", 3),
    imageSize: visionInt("image_size", 224),
    patchSize: visionInt("patch_size", 14),
    hiddenAct: pick(v, "hidden_act", "quick_gelu", "vision_config"),
    layerNormEps: pick(v, "layer_norm_eps", 1e-5, "vision_config"),
  };
  const text: Kosmos2TextConfig = {
    vocabSize: textInt("vocab_size", 65037),
    embedDim: textInt("embed_dim", 2048),
    layers: textInt("layers", 24),
    ffnDim: textInt("ffn_dim", 8192),
    attentionHeads: textInt("attention_heads", 32),
    activationFunction: pick(t, "activation_function", "gelu", "text_config"),
    maxPositionEmbeddings: textInt("max_position_embeddings", 2048),
    scaleEmbedding: pick(t, "scale_embedding", true, "text_config"),
    layerNormEps: pick(t, "layer_norm_eps", 1e-5, "text_config"),
    padTokenId: pick(t, "pad_token_id", 1, "text_config"),
    bosTokenId: pick(t, "bos_token_id", 0, "text_config"),
    eosTokenId: pick(t, "eos_token_id", 2, "text_config"),
  };
  checkHeadsDivide(
    vision.hiddenSize,
    vision.numAttentionHeads,
    "vision_config.hidden_size",
    "num_attention_heads",
  );
  checkHeadsDivide(text.embedDim, text.attentionHeads, "text_config.embed_dim", "attention_heads");
  return {
    latentQueryNum: positiveInt(pick(json, "latent_query_num", 64, "config"), "latent_query_num"),
    vision,
    text,
  };
}
