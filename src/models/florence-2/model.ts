// Florence2ForConditionalGeneration on the engine: three ORT sessions (DaViT + image projection,
// BART encoder over [image features ; prompt], BART decoder step) and generation exactly as the
// reference's generate(): the language model's own generation config (from text_config).
import { fail } from "../../errors.js";
import {
  decoderStartTokenId,
  effectiveMaxLength,
  generate,
  resolveGenerationConfig,
  type GenerateResult,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/generate.js";
import { Graph } from "../../graph/graph.js";
import { WeightStore } from "../../graph/safetensors.js";
import { Tensor, createSession, float32Tensor, int64Tensor, type Session } from "../../graph/session.js";
import { VarBuilder } from "../../graph/var-builder.js";
import type { LoadOptions } from "../types.js";
import { buildDecoderStep, buildEncoder } from "./bart.js";
import { languageModelGenerationSource, parseFlorence2Config, type Florence2Config } from "./config.js";
import { encodeImage } from "./davit.js";
import { BartDecoderSession } from "./decoder-session.js";

/** What the seed server passes to generate() besides the model's own settings. */
export const SEED_GENERATION_DEFAULTS: GenerationOverrides = {
  num_beams: 3,
  max_new_tokens: 1024,
  do_sample: false,
};

/** The encoder side of one (image, prompt) pair. */
export interface EncodedPrompt {
  /** BART encoder output [1, image tokens + prompt tokens, d_model]. */
  hidden: Tensor;
  cross: Record<string, Tensor>;
}

export class Florence2 {
  /** Vision sessions by input size: the graph's reshapes are static, so each size has its own. */
  private readonly vision = new Map<string, Promise<Session>>();

  private constructor(
    readonly folder: string,
    readonly config: Florence2Config,
    private readonly store: WeightStore,
    private readonly options: LoadOptions,
    private readonly encoder: Session,
    private readonly decoderStep: Session,
  ) {}

  /**
   * Builds the encoder and decoder-step sessions, and the vision session for `imageSize` (the image
   * processor's fixed output size) when given; other sizes get theirs on first use.
   */
  static async create(
    folder: string,
    rawConfig: Record<string, any>,
    imageSize: { height: number; width: number } | null,
    options: LoadOptions = {},
  ): Promise<Florence2> {
    const config = parseFlorence2Config(rawConfig);
    const store = WeightStore.open(folder);
    const encoder = new Graph("florence2_encoder");
    buildEncoder(encoder, config.text, new VarBuilder(encoder, store).pp("language_model"));
    const decoder = new Graph("florence2_decoder_step");
    buildDecoderStep(decoder, config.text, new VarBuilder(decoder, store).pp("language_model"));
    const [e, d] = await Promise.all([
      createSession(encoder, store, { threads: options.threads }),
      createSession(decoder, store, { threads: options.threads }),
    ]);
    const model = new Florence2(folder, config, store, options, e, d);
    if (imageSize) await model.visionSession(imageSize.height, imageSize.width);
    return model;
  }

  private visionSession(height: number, width: number): Promise<Session> {
    const key = `${height}x${width}`;
    let session = this.vision.get(key);
    if (!session) {
      const g = new Graph(`florence2_vision_${key}`);
      const pixels = g.input("pixel_values", "float32", [1, 3, height, width]);
      const features = encodeImage(
        g,
        pixels,
        { h: height, w: width },
        this.config.vision,
        new VarBuilder(g, this.store),
      );
      g.output(features, "image_features");
      session = createSession(g, this.store, { threads: this.options.threads });
      this.vision.set(key, session);
    }
    return session;
  }

  /** _encode_image: pixel values [1, 3, H, W] → image features [1, image tokens, d_model]. */
  async encodeImage(pixelValues: Float32Array, dims: readonly number[]): Promise<Tensor> {
    if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 3 || pixelValues.length !== dims[2] * dims[3] * 3) {
      throw fail("INVALID_ARGUMENT", `pixel_values of shape [${dims}] are not one RGB image`);
    }
    const session = await this.visionSession(dims[2], dims[3]);
    const out = await session.run({ pixel_values: float32Tensor(pixelValues, [1, 3, dims[2], dims[3]]) });
    return out.image_features;
  }

  /** The BART encoder over [image features ; embedded prompt ids] and the decoder's cross K/V. */
  async encodePrompt(imageFeatures: Tensor, inputIds: readonly number[]): Promise<EncodedPrompt> {
    const total = imageFeatures.dims[1] + inputIds.length;
    if (total > this.config.text.maxPositionEmbeddings) {
      throw fail(
        "INVALID_ARGUMENT",
        `${total} encoder positions exceed max_position_embeddings ${this.config.text.maxPositionEmbeddings}`,
      );
    }
    const out = await this.encoder.run({
      image_features: imageFeatures,
      input_ids: int64Tensor(inputIds, [1, inputIds.length]),
    });
    const { encoder_hidden_states: hidden, ...cross } = out;
    return { hidden, cross };
  }

  /**
   * language_model.generation_config (built from text_config; the folder's generation_config.json is not
   * what the reference's inner generate() uses), then `overrides` (generate() kwargs).
   */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    return resolveGenerationConfig(languageModelGenerationSource(this.config.text), undefined, overrides);
  }

  /** Greedy or beam search from decoder_start_token_id. */
  async generate(encoded: EncodedPrompt, cfg: GenerationConfig): Promise<GenerateResult> {
    const start = [decoderStartTokenId(cfg)];
    // The last generated token is never fed back: positions 0 … max_length − 2 are used.
    const maxLength = effectiveMaxLength(cfg, start.length);
    if (maxLength - 1 > this.config.text.maxPositionEmbeddings) {
      throw fail(
        "INVALID_ARGUMENT",
        `max length ${maxLength} exceeds the decoder's ${this.config.text.maxPositionEmbeddings} positions`,
      );
    }
    return generate(this.decoderFor(encoded), start, cfg);
  }

  /** A decoder step session over this prompt's cross K/V. */
  decoderFor(encoded: EncodedPrompt): BartDecoderSession {
    return new BartDecoderSession(this.decoderStep, this.config.text, encoded.cross);
  }

  async dispose(): Promise<void> {
    const vision = await Promise.allSettled(this.vision.values());
    this.vision.clear();
    await Promise.all([
      ...vision.map((v) => (v.status === "fulfilled" ? v.value.release() : undefined)),
      this.encoder.release(),
      this.decoderStep.release(),
    ]);
  }
}
