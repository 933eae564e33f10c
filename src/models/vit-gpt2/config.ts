// config.json of a VisionEncoderDecoderModel with a ViT encoder and a GPT-2 decoder, parsed once with
// the defaults transformers 4.40 uses (ViTConfig, GPT2Config) written out.
import { checkHeadsDivide, configValue as pick } from "../config-values.js";
import { fail } from "../../errors.js";

/** HF ViTConfig (`encoder` in config.json). */
export interface VitConfig {
  hiddenSize: number; // hidden_size 768
  numHiddenLayers: number; // num_hidden_layers 12
  numAttentionHeads: number; // num_attention_heads 12
  intermediateSize: number; // intermediate_size 3072
  hiddenAct: string; // hidden_act "gelu"
  layerNormEps: number; // layer_norm_eps 1e-12
  imageSize: number; // image_size 224
  patchSize: number; // patch_size 16
  numChannels: number; // num_channels 3
  qkvBias: boolean; // qkv_bias true
}

/** HF GPT2Config (`decoder` in config.json). */
export interface Gpt2Config {
  vocabSize: number; // vocab_size 50257
  nPositions: number; // n_positions 1024
  nEmbd: number; // n_embd 768
  nLayer: number; // n_layer 12
  nHead: number; // n_head 12
  nInner: number; // n_inner null → 4 · n_embd
  activationFunction: string; // activation_function "gelu_new"
  layerNormEpsilon: number; // layer_norm_epsilon 1e-5
  scaleAttnWeights: boolean; // scale_attn_weights true
  scaleAttnByInverseLayerIdx: boolean; // scale_attn_by_inverse_layer_idx false
  addCrossAttention: boolean; // add_cross_attention false (VisionEncoderDecoder saves true)
  crossAttentionHiddenSize: number | null; // cross_attention_hidden_size null
}

export interface VitGpt2Config {
  encoder: VitConfig;
  decoder: Gpt2Config;
  /** The raw config.json (generation settings are resolved from it). */
  raw: Record<string, any>;
}

type Json = Record<string, any>;

export function parseVitConfig(raw: Json): VitConfig {
  const p = <T>(key: string, fallback: T) => pick(raw, key, fallback, "encoder");
  const cfg: VitConfig = {
    hiddenSize: p("hidden_size", 768),
    numHiddenLayers: p("num_hidden_layers", 12),
    numAttentionHeads: p("num_attention_heads", 12),
    intermediateSize: p("intermediate_size", 3072),
    hiddenAct: p("hidden_act", "gelu"),
    layerNormEps: p("layer_norm_eps", 1e-12),
    imageSize: p("image_size", 224),
    patchSize: p("patch_size", 16),
    numChannels: p("num_channels", 3),
    qkvBias: p("qkv_bias", true),
  };
  checkHeadsDivide(cfg.hiddenSize, cfg.numAttentionHeads, "encoder.hidden_size", "num_attention_heads");
  return cfg;
}

export function parseGpt2Config(raw: Json): Gpt2Config {
  const p = <T>(key: string, fallback: T) => pick(raw, key, fallback, "decoder");
  const nEmbd = p("n_embd", 768);
  const cfg: Gpt2Config = {
    vocabSize: p("vocab_size", 50257),
    nPositions: p("n_positions", 1024),
    nEmbd,
    nLayer: p("n_layer", 12),
    nHead: p("n_head", 12),
    nInner: p("n_inner", 4 * nEmbd),
    activationFunction: p("activation_function", "gelu_new"),
    layerNormEpsilon: p("layer_norm_epsilon", 1e-5),
    scaleAttnWeights: p("scale_attn_weights", true),
    scaleAttnByInverseLayerIdx: p("scale_attn_by_inverse_layer_idx", false),
    addCrossAttention: p("add_cross_attention", false),
    crossAttentionHiddenSize:
      typeof raw.cross_attention_hidden_size === "number" ? raw.cross_attention_hidden_size : null,
  };
  checkHeadsDivide(nEmbd, cfg.nHead, "decoder.n_embd", "n_head");
  return cfg;
}

/** Parses a VisionEncoderDecoder config.json; only ViT encoders and GPT-2 decoders are supported here. */
export function parseVitGpt2Config(raw: Json): VitGpt2Config {
  const encoder = raw.encoder as Json | undefined;
  const decoder = raw.decoder as Json | undefined;
  if (!encoder || !decoder)
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
  return { encoder: parseVitConfig(encoder), decoder: parseGpt2Config(decoder), raw };
}
