// Kosmos-2 config.json (HF Kosmos2Config / Kosmos2TextConfig / Kosmos2VisionConfig, transformers
// 4.40): one field table per section with the defaults HF's classes write out.
import { f, parseFields, section, type ConfigOf, type Json } from "../config.js";

/** Kosmos2VisionConfig (a CLIP ViT). */
const VISION = {
  hiddenSize: f.size("hidden_size", 1024),
  intermediateSize: f.size("intermediate_size", 4096),
  numHiddenLayers: f.size("num_hidden_layers", 24),
  numAttentionHeads: f.heads("num_attention_heads", 16, "hiddenSize"),
  numChannels: f.size("num_channels", 3),
  imageSize: f.size("image_size", 224),
  patchSize: f.size("patch_size", 14),
  hiddenAct: f.string("hidden_act", "quick_gelu"),
  layerNormEps: f.number("layer_norm_eps", 1e-5),
};

/** Kosmos2TextConfig (a Magneto decoder). */
const TEXT = {
  vocabSize: f.size("vocab_size", 65037),
  embedDim: f.size("embed_dim", 2048),
  layers: f.size("layers", 24),
  ffnDim: f.size("ffn_dim", 8192),
  attentionHeads: f.heads("attention_heads", 32, "embedDim"),
  activationFunction: f.string("activation_function", "gelu"),
  maxPositionEmbeddings: f.size("max_position_embeddings", 2048),
  /** embed_scale = sqrt(embed_dim) when true. */
  scaleEmbedding: f.boolean("scale_embedding", true),
  layerNormEps: f.number("layer_norm_eps", 1e-5),
  /** Also the padding index of the sinusoidal positions. */
  padTokenId: f.int("pad_token_id", 1),
  bosTokenId: f.int("bos_token_id", 0),
  eosTokenId: f.int("eos_token_id", 2),
};

const TOP = {
  /** Number of image placeholder positions (latent queries of the image-to-text connector). */
  latentQueryNum: f.size("latent_query_num", 64),
};

export type Kosmos2VisionConfig = ConfigOf<typeof VISION>;
export type Kosmos2TextConfig = ConfigOf<typeof TEXT>;

export interface Kosmos2Config extends ConfigOf<typeof TOP> {
  vision: Kosmos2VisionConfig;
  text: Kosmos2TextConfig;
}

export function parseKosmos2Config(json: Json): Kosmos2Config {
  const vision = parseFields(section(json, "vision_config"), VISION, "vision_config");
  const text = parseFields(section(json, "text_config"), TEXT, "text_config");
  return { ...parseFields(json, TOP, "config"), vision, text };
}
