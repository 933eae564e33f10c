// BlipConfig (transformers 4.40 configuration_blip.py): a vision tower config and a text decoder
// config, one field table each with the defaults HF's __init__ writes out.
import { f, fieldDefaults, parseFields, section, type ConfigOf, type Json } from "../config.js";

/** BlipVisionConfig: a ViT with a fused qkv projection and a final layer norm. */
const VISION = {
  hiddenSize: f.size("hidden_size", 768),
  intermediateSize: f.size("intermediate_size", 3072),
  numHiddenLayers: f.size("num_hidden_layers", 12),
  numAttentionHeads: f.heads("num_attention_heads", 12, "hiddenSize"),
  numChannels: f.size("num_channels", 3),
  imageSize: f.size("image_size", 384),
  patchSize: f.size("patch_size", 16),
  hiddenAct: f.string("hidden_act", "gelu"),
  layerNormEps: f.number("layer_norm_eps", 1e-5),
};

/** BlipTextConfig: a BERT-style decoder with cross-attention to the image embeddings. */
const TEXT = {
  vocabSize: f.size("vocab_size", 30524),
  hiddenSize: f.size("hidden_size", 768),
  /** Width of the image embeddings; BlipConfig overwrites it with the vision hidden size. */
  encoderHiddenSize: f.size("encoder_hidden_size", 768),
  intermediateSize: f.size("intermediate_size", 3072),
  numHiddenLayers: f.size("num_hidden_layers", 12),
  numAttentionHeads: f.heads("num_attention_heads", 8, "hiddenSize"),
  maxPositionEmbeddings: f.size("max_position_embeddings", 512),
  hiddenAct: f.string("hidden_act", "gelu"),
  layerNormEps: f.number("layer_norm_eps", 1e-12),
  bosTokenId: f.int("bos_token_id", 30522),
  eosTokenId: f.int("eos_token_id", 2),
  padTokenId: f.int("pad_token_id", 0),
  sepTokenId: f.int("sep_token_id", 102),
};

export type BlipVisionConfig = ConfigOf<typeof VISION>;
export type BlipTextConfig = ConfigOf<typeof TEXT>;

export interface BlipConfig {
  vision: BlipVisionConfig;
  text: BlipTextConfig;
  /** The raw text_config (with HF defaults filled in): the text decoder's generation config comes from it. */
  textConfigJson: Json;
}

/** BlipConfig from config.json (`model_type: "blip"`). */
export function parseBlipConfig(config: Json): BlipConfig {
  const textJson = section(config, "text_config");
  const vision = parseFields(section(config, "vision_config"), VISION, "vision_config");
  // BlipConfig.__init__: text_config.encoder_hidden_size = vision_config.hidden_size.
  const text = { ...parseFields(textJson, TEXT, "text_config"), encoderHiddenSize: vision.hiddenSize };
  return { vision, text, textConfigJson: { ...fieldDefaults(TEXT), ...textJson } };
}
