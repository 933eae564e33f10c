// Florence2Config (configuration_florence2.py of microsoft/Florence-2-*): a DaViT vision config and a
// BART-style language config, parsed once with the reference defaults written out.
import { checkHeadsDivide } from "../config-values.js";
import { fail } from "../../errors.js";

export interface DavitConfig {
  patchSize: number[];
  patchStride: number[];
  patchPadding: number[];
  patchPrenorm: boolean[];
  dimEmbed: number[];
  numHeads: number[];
  numGroups: number[];
  depths: number[];
  windowSize: number;
  /** Width of the image features handed to the language model. */
  projectionDim: number;
  mlpRatio: number;
  /** Only "learned_abs_2d" exists in the reference code. */
  imagePosEmbed: { type: string; maxPosEmbeddings: number };
  /** Only "COSINE" exists in the reference code. */
  visualTemporalEmbedding: { type: string; maxTemporalEmbeddings: number };
  /** Pooled views concatenated along the token axis: spatial_avg_pool, temporal_avg_pool, last_frame. */
  imageFeatureSource: string[];
}

export interface Florence2LanguageConfig {
  vocabSize: number;
  dModel: number;
  encoderLayers: number;
  decoderLayers: number;
  encoderAttentionHeads: number;
  decoderAttentionHeads: number;
  encoderFfnDim: number;
  decoderFfnDim: number;
  maxPositionEmbeddings: number;
  activationFunction: string;
  /** Multiplies the decoder's token embeddings by √d_model (the encoder gets raw `shared` rows). */
  scaleEmbedding: boolean;
  layerNormEps: number;
  padTokenId: number;
  /** The raw text_config: language_model.generation_config is built from it (from_model_config). */
  raw: Record<string, any>;
}

export interface Florence2Config {
  vision: DavitConfig;
  text: Florence2LanguageConfig;
}

const IMAGE_FEATURE_SOURCES = new Set(["spatial_avg_pool", "temporal_avg_pool", "last_frame"]);

function intList(v: unknown, name: string, fallback: number[]): number[] {
  const list = v ?? fallback;
  if (!Array.isArray(list) || !list.every((x) => Number.isInteger(x))) {
    throw fail("MODEL_CONFIG_INVALID", `vision_config.${name} must be a list of integers`);
  }
  return list as number[];
}

export function parseFlorence2Config(config: Record<string, any>): Florence2Config {
  const v = config.vision_config ?? {};
  if (v.model_type !== undefined && v.model_type !== "davit") {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `Florence-2 vision_config.model_type "${v.model_type}" (only davit)`,
    );
  }
  const dimEmbed = intList(v.dim_embed, "dim_embed", [256, 512, 1024, 2048]);
  const stages = dimEmbed.length;
  const vision: DavitConfig = {
    patchSize: intList(v.patch_size, "patch_size", [7, 3, 3, 3]),
    patchStride: intList(v.patch_stride, "patch_stride", [4, 2, 2, 2]),
    patchPadding: intList(v.patch_padding, "patch_padding", [3, 1, 1, 1]),
    patchPrenorm: (v.patch_prenorm ?? [false, true, true, true]).map(Boolean),
    dimEmbed,
    numHeads: intList(v.num_heads, "num_heads", [8, 16, 32, 64]),
    numGroups: intList(v.num_groups, "num_groups", [8, 16, 32, 64]),
    depths: intList(v.depths, "depths", [1, 1, 9, 1]),
    windowSize: v.window_size ?? 12,
    projectionDim: v.projection_dim ?? config.projection_dim ?? 1024,
    mlpRatio: v.mlp_ratio ?? 4.0,
    imagePosEmbed: {
      type: v.image_pos_embed?.type ?? "learned_abs_2d",
      maxPosEmbeddings: v.image_pos_embed?.max_pos_embeddings ?? 50,
    },
    visualTemporalEmbedding: {
      type: v.visual_temporal_embedding?.type ?? "COSINE",
      maxTemporalEmbeddings: v.visual_temporal_embedding?.max_temporal_embeddings ?? 100,
    },
    imageFeatureSource: v.image_feature_source ?? ["spatial_avg_pool", "temporal_avg_pool"],
  };
  for (const [name, list] of Object.entries({
    patch_size: vision.patchSize,
    patch_stride: vision.patchStride,
    patch_padding: vision.patchPadding,
    patch_prenorm: vision.patchPrenorm,
    num_heads: vision.numHeads,
    num_groups: vision.numGroups,
    depths: vision.depths,
  })) {
    if (list.length !== stages) {
      throw fail(
        "MODEL_CONFIG_INVALID",
        `vision_config.${name} has ${list.length} entries for ${stages} stages`,
      );
    }
  }
  if (vision.imagePosEmbed.type !== "learned_abs_2d") {
    throw fail("MODEL_UNSUPPORTED_ARCH", `Florence-2 image_pos_embed type "${vision.imagePosEmbed.type}"`);
  }
  if (vision.visualTemporalEmbedding.type !== "COSINE") {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `Florence-2 visual_temporal_embedding type "${vision.visualTemporalEmbedding.type}"`,
    );
  }
  for (const s of vision.imageFeatureSource) {
    if (!IMAGE_FEATURE_SOURCES.has(s))
      throw fail("MODEL_CONFIG_INVALID", `invalid image feature source: ${s}`);
  }

  const t = config.text_config ?? {};
  const text: Florence2LanguageConfig = {
    vocabSize: t.vocab_size ?? 51289,
    dModel: t.d_model ?? 1024,
    encoderLayers: t.encoder_layers ?? 12,
    decoderLayers: t.decoder_layers ?? 12,
    encoderAttentionHeads: t.encoder_attention_heads ?? 16,
    decoderAttentionHeads: t.decoder_attention_heads ?? 16,
    encoderFfnDim: t.encoder_ffn_dim ?? 4096,
    decoderFfnDim: t.decoder_ffn_dim ?? 4096,
    maxPositionEmbeddings: t.max_position_embeddings ?? 1024,
    activationFunction: t.activation_function ?? "gelu",
    scaleEmbedding: t.scale_embedding ?? false,
    // nn.LayerNorm's default: the reference code never passes an eps.
    layerNormEps: 1e-5,
    padTokenId: t.pad_token_id ?? 1,
    raw: t,
  };
  checkHeadsDivide(text.dModel, text.encoderAttentionHeads, "text_config.d_model", "encoder_attention_heads");
  checkHeadsDivide(text.dModel, text.decoderAttentionHeads, "text_config.d_model", "decoder_attention_heads");
  return { vision, text };
}

/**
 * The generation settings of `language_model.generation_config` (GenerationConfig.from_model_config of
 * text_config), with the language config's own defaults for the fields Florence2LanguageConfig sets.
 */
export function languageModelGenerationSource(text: Florence2LanguageConfig): Record<string, any> {
  return {
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    decoder_start_token_id: 2,
    forced_eos_token_id: 2,
    ...text.raw,
  };
}
