// Florence2ForConditionalGeneration on the engine: three ORT sessions (DaViT + image projection,
// BART encoder over [image features ; prompt], BART decoder step) and generation exactly as the
// reference's generate(): the language model's own generation config (from text_config).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../../errors.js";
import {
  decoderStartTokenId,
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/config.js";
import type { GenerateOptions, GenerateResult } from "../../generation/decoder-session.js";
import { generate } from "../../generation/generate.js";
import { KvDecoder, type RowSource } from "../../generation/kv-decoder.js";
import { Graph } from "../../graph/graph.js";
import { WeightStore } from "../../graph/safetensors.js";
import {
  Tensor,
  createSession,
  createSessions,
  float32Tensor,
  int64Tensor,
  type Session,
} from "../../graph/session.js";
import { crossKvFromOutputs, type CrossKv } from "../../graph/step-graph.js";
import { VarBuilder } from "../../graph/var-builder.js";
import { fixedOutputSize, readImageProcessorConfig, type HeightWidth } from "../../images/image-processor.js";
import type { Json } from "../config.js";
import type { LoadOptions } from "../types.js";
import { bartDecoderSpec, buildDecoderStep, buildEncoder } from "./bart.js";
import { languageModelGenerationSource, parseFlorence2Config, type Florence2Config } from "./config.js";
import { encodeImage } from "./davit.js";

/** What the seed server passes to generate() besides the model's own settings. */
export const SEED_GENERATION_DEFAULTS: GenerationOverrides = {
  num_beams: 3,
  max_new_tokens: 1024,
  do_sample: false,
};

/** The encoder side of one (image, prompt) pair. */
export interface EncodedPrompt extends RowSource {
  /** BART encoder output [1, image tokens + prompt tokens, d_model]. */
  hidden: Tensor;
  cross: CrossKv;
}

export class Florence2 {
  /** Vision sessions by input size: the graph's reshapes are static, so each size has its own. */
  private readonly vision = new Map<string, Promise<Session>>();
  /** The decoder step with its cache: `kvDecoder.sessionFor(source)` is a DecoderSession for generate(). */
  readonly kvDecoder: KvDecoder<EncodedPrompt>;

  private constructor(
    readonly folder: string,
    readonly config: Florence2Config,
    private readonly store: WeightStore,
    private readonly options: LoadOptions,
    private readonly encoder: Session,
    decoderStep: Session,
  ) {
    this.kvDecoder = new KvDecoder<EncodedPrompt>(decoderStep, bartDecoderSpec(config.text));
  }

  /**
   * Builds the encoder and decoder-step sessions, and the vision session for the image processor's fixed
   * output size (real checkpoints resize to one square size, 768×768); other sizes get theirs on first use.
   */
  static async load(folder: string, rawConfig: Json, options: LoadOptions = {}): Promise<Florence2> {
    const config = parseFlorence2Config(rawConfig);
    const store = WeightStore.open(folder);
    const lm = (g: Graph) => new VarBuilder(g, store).pp("language_model");
    const encoder = new Graph("florence2_encoder");
    buildEncoder(encoder, config.text, lm(encoder));
    const decoder = new Graph("florence2_decoder_step");
    buildDecoderStep(decoder, config.text, lm(decoder));
    const hasProcessor = existsSync(join(folder, "preprocessor_config.json"));
    const size = hasProcessor ? fixedOutputSize(readImageProcessorConfig(folder)) : null;
    const graphs = size ? [encoder, decoder, visionGraph(config, store, size)] : [encoder, decoder];
    const [e, d, vision] = await createSessions(graphs, store, {
      threads: options.threads,
      quantize: options.quantize,
    });
    const model = new Florence2(folder, config, store, options, e, d);
    if (size && vision) model.vision.set(sizeKey(size), Promise.resolve(vision));
    return model;
  }

  private visionSession(height: number, width: number): Promise<Session> {
    const key = sizeKey({ height, width });
    let session = this.vision.get(key);
    if (!session) {
      session = createSession(visionGraph(this.config, this.store, { height, width }), this.store, {
        threads: this.options.threads,
        quantize: this.options.quantize,
      });
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
    return {
      hidden: out.encoder_hidden_states,
      cross: crossKvFromOutputs(out, this.config.text.decoderLayers),
    };
  }

  /**
   * language_model.generation_config (built from text_config; the folder's generation_config.json is not
   * what the reference's inner generate() uses), then `overrides` (generate() kwargs).
   */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    return resolveGenerationConfig(languageModelGenerationSource(this.config.text), undefined, overrides);
  }

  /** The decoder input generation starts from: decoder_start_token_id. */
  decoderPrompt(cfg: GenerationConfig): number[] {
    return [decoderStartTokenId(cfg)];
  }

  /** Greedy or beam search from decoder_start_token_id. */
  generate(
    encoded: EncodedPrompt,
    cfg: GenerationConfig,
    options: GenerateOptions = {},
  ): Promise<GenerateResult> {
    return generate(this.kvDecoder.sessionFor(encoded), this.decoderPrompt(cfg), cfg, options);
  }

  async dispose(): Promise<void> {
    const vision = await Promise.allSettled(this.vision.values());
    this.vision.clear();
    await Promise.all([
      ...vision.map((v) => (v.status === "fulfilled" ? v.value.release() : undefined)),
      this.encoder.release(),
      this.kvDecoder.release(),
    ]);
  }
}

const sizeKey = (size: HeightWidth) => `${size.height}x${size.width}`;

/** DaViT + projection for one input size: pixel_values [1, 3, H, W] → image_features. */
function visionGraph(config: Florence2Config, store: WeightStore, size: HeightWidth): Graph {
  const g = new Graph(`florence2_vision_${sizeKey(size)}`);
  const pixels = g.input("pixel_values", "float32", [1, 3, size.height, size.width]);
  const features = encodeImage(
    g,
    pixels,
    { h: size.height, w: size.width },
    config.vision,
    new VarBuilder(g, store),
  );
  g.output(features, "image_features");
  return g;
}
