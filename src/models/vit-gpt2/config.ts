// config.json of a VisionEncoderDecoderModel with a ViT encoder and a GPT-2 decoder: one field table per
// section with the defaults transformers 4.40 writes out (ViTConfig, GPT2Config).
import { fail } from "../../errors.js";
import { f, parseFields, section, type ConfigOf, type Json } from "../config.js";

/** HF ViTConfig (`encoder` in config.json). */
const VIT = {
  hiddenSize: f.size("hidden_size", 768),
  numHiddenLayers: f.size("num_hidden_layers", 12),
  numAttentionHeads: f.heads("num_attention_heads", 12, "hiddenSize"),
  intermediateSize: f.size("intermediate_size", 3072),
  hiddenAct: f.string("hidden_act", "gelu"),
  layerNormEps: f.number("layer_norm_eps", 1e-12),
  imageSize: f.size("image_size", 224),
  patchSize: f.size("patch_size", 16),
  numChannels: f.size("num_channels", 3),
  qkvBias: f.boolean("qkv_bias", true),
};

/** HF GPT2Config (`decoder` in config.json). */
const GPT2 = {
  vocabSize: f.size("vocab_size", 50257),
  nPositions: f.size("n_positions", 1024),
  nEmbd: f.size("n_embd", 768),
  nLayer: f.size("n_layer", 12),
  nHead: f.heads("n_head", 12, "nEmbd"),
  nInner: f.size("n_inner", (c) => 4 * c.nEmbd), // None → 4 · n_embd
  activationFunction: f.string("activation_function", "gelu_new"),
  layerNormEpsilon: f.number("layer_norm_epsilon", 1e-5),
  scaleAttnWeights: f.boolean("scale_attn_weights", true),
  scaleAttnByInverseLayerIdx: f.boolean("scale_attn_by_inverse_layer_idx", false),
  addCrossAttention: f.boolean("add_cross_attention", false), // VisionEncoderDecoder saves true
  crossAttentionHiddenSize: f.optionalInt("cross_attention_hidden_size", null),
};

export type VitConfig = ConfigOf<typeof VIT>;
export type Gpt2Config = ConfigOf<typeof GPT2>;

export interface VitGpt2Config {
  encoder: VitConfig;
  decoder: Gpt2Config;
  /** The raw config.json (generation settings are resolved from it). */
  raw: Json;
}

/** Parses a VisionEncoderDecoder config.json; only ViT encoders and GPT-2 decoders are supported here. */
export function parseVitGpt2Config(raw: Json): VitGpt2Config {
  const encoder = section(raw, "encoder");
  const decoder = section(raw, "decoder");
  if (raw.encoder === undefined || raw.decoder === undefined)
    throw fail("MODEL_CONFIG_INVALID", "vision-encoder-decoder config needs `encoder` and `decoder`");
  if (encoder.model_type !== "vit") {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `vision-encoder-decoder with encoder model_type "${encoder.model_type}" (supported: vit)`,
    );
  }
  if (decoder.model_type !== "gpt2") {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `vision-encoder-decoder with decoder model_type "${decoder.model_type}" (supported: gpt2)`,
    );
  }
  return {
    encoder: parseFields(encoder, VIT, "encoder"),
    decoder: parseFields(decoder, GPT2, "decoder"),
    raw,
  };
}
