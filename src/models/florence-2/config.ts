// Florence2Config (configuration_florence2.py of microsoft/Florence-2-*): a DaViT vision config and a
// BART-style language config, one field table each with the reference defaults.
import { fail } from "../../errors.js";
import { f, parseFields, section, type ConfigOf, type Json } from "../config.js";

/** The DaViT vision config (`vision_config`). */
const DAVIT = {
  patchSize: f.ints("patch_size", [7, 3, 3, 3]),
  patchStride: f.ints("patch_stride", [4, 2, 2, 2]),
  patchPadding: f.ints("patch_padding", [3, 1, 1, 1]),
  patchPrenorm: f.booleans("patch_prenorm", [false, true, true, true]),
  dimEmbed: f.ints("dim_embed", [256, 512, 1024, 2048]),
  numHeads: f.ints("num_heads", [8, 16, 32, 64]),
  numGroups: f.ints("num_groups", [8, 16, 32, 64]),
  depths: f.ints("depths", [1, 1, 9, 1]),
  windowSize: f.size("window_size", 12),
  /** Width of the image features handed to the language model (also read from the top level). */
  projectionDim: f.optionalInt("projection_dim", null),
  mlpRatio: f.number("mlp_ratio", 4.0),
  /** Only "learned_abs_2d" exists in the reference code. */
  imagePosEmbed: f.object("image_pos_embed", {
    type: f.string("type", "learned_abs_2d"),
    maxPosEmbeddings: f.size("max_pos_embeddings", 50),
  }),
  /** Only "COSINE" exists in the reference code. */
  visualTemporalEmbedding: f.object("visual_temporal_embedding", {
    type: f.string("type", "COSINE"),
    maxTemporalEmbeddings: f.size("max_temporal_embeddings", 100),
  }),
  /** Pooled views concatenated along the token axis: spatial_avg_pool, temporal_avg_pool, last_frame. */
  imageFeatureSource: f.strings("image_feature_source", ["spatial_avg_pool", "temporal_avg_pool"]),
};

/** Florence2LanguageConfig (`text_config`). */
const LANGUAGE = {
  vocabSize: f.size("vocab_size", 51289),
  dModel: f.size("d_model", 1024),
  encoderLayers: f.size("encoder_layers", 12),
  decoderLayers: f.size("decoder_layers", 12),
  encoderAttentionHeads: f.heads("encoder_attention_heads", 16, "dModel"),
  decoderAttentionHeads: f.heads("decoder_attention_heads", 16, "dModel"),
  encoderFfnDim: f.size("encoder_ffn_dim", 4096),
  decoderFfnDim: f.size("decoder_ffn_dim", 4096),
  maxPositionEmbeddings: f.size("max_position_embeddings", 1024),
  activationFunction: f.string("activation_function", "gelu"),
  /** Multiplies the decoder's token embeddings by √d_model (the encoder gets raw `shared` rows). */
  scaleEmbedding: f.boolean("scale_embedding", false),
  padTokenId: f.int("pad_token_id", 1),
  bosTokenId: f.int("bos_token_id", 0),
  eosTokenId: f.int("eos_token_id", 2),
  decoderStartTokenId: f.int("decoder_start_token_id", 2),
  forcedEosTokenId: f.optionalInt("forced_eos_token_id", 2),
};

export type DavitConfig = Omit<ConfigOf<typeof DAVIT>, "projectionDim"> & { projectionDim: number };

export type Florence2LanguageConfig = ConfigOf<typeof LANGUAGE> & {
  /** nn.LayerNorm's default: the reference code never passes an eps. */
  layerNormEps: number;
  /** The raw text_config: language_model.generation_config is built from it (from_model_config). */
  raw: Json;
};

export interface Florence2Config {
  vision: DavitConfig;
  text: Florence2LanguageConfig;
}

const IMAGE_FEATURE_SOURCES = new Set(["spatial_avg_pool", "temporal_avg_pool", "last_frame"]);

export function parseFlorence2Config(config: Json): Florence2Config {
  const v = section(config, "vision_config");
  if (v.model_type !== undefined && v.model_type !== "davit") {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `Florence-2 vision_config.model_type "${v.model_type}" (only davit)`,
    );
  }
  const davit = parseFields(v, DAVIT, "vision_config");
  const topProjection = parseFields(config, { projectionDim: f.size("projection_dim", 1024) }, "config");
  const vision: DavitConfig = { ...davit, projectionDim: davit.projectionDim ?? topProjection.projectionDim };
  const stages = vision.dimEmbed.length;
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

  const t = section(config, "text_config");
  const text: Florence2LanguageConfig = {
    ...parseFields(t, LANGUAGE, "text_config"),
    layerNormEps: 1e-5,
    raw: t,
  };
  return { vision, text };
}

/**
 * The generation settings of `language_model.generation_config` (GenerationConfig.from_model_config of
 * text_config), with the language config's own defaults for the fields Florence2LanguageConfig sets.
 */
export function languageModelGenerationSource(text: Florence2LanguageConfig): Json {
  return {
    pad_token_id: text.padTokenId,
    bos_token_id: text.bosTokenId,
    eos_token_id: text.eosTokenId,
    decoder_start_token_id: text.decoderStartTokenId,
    forced_eos_token_id: text.forcedEosTokenId,
    ...text.raw,
  };
}
