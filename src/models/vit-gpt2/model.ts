// ViT-GPT2 on the engine: three ORT sessions (ViT encoder, cross K/V projection, GPT-2 step) and
// generation from pixel values. Text in/out (tokenizer, image processor) lives in captioner.ts.
import { fail } from "../../errors.js";
import {
  decoderStartTokenId,
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/config.js";
import type { GenerateOptions, GenerateResult } from "../../generation/decoder-session.js";
import { generate } from "../../generation/generate.js";
import { KvDecoder, type RowSource, type StepObserver } from "../../generation/kv-decoder.js";
import { WeightStore } from "../../graph/safetensors.js";
import { createSessions, float32Tensor, type Session } from "../../graph/session.js";
import { crossKvFromOutputs, type CrossKv } from "../../graph/step-graph.js";
import { readOptionalJson, type Json } from "../config.js";
import type { LoadOptions } from "../types.js";
import { parseVitGpt2Config, type VitGpt2Config } from "./config.js";
import { crossKvGraph, decoderStepGraph, gpt2DecoderSpec } from "./gpt2.js";
import { vitEncoderGraph } from "./vit.js";

/** What the application seeds use when the folder's generation config does not say (nlpconnect's model card). */
export const SEED_GENERATION_DEFAULTS: GenerationOverrides = { max_length: 16, num_beams: 4 };

/** One image's encoder output and the cross K/V the decoder attends to. */
export interface EncodedImage extends RowSource {
  lastHiddenState: Float32Array;
  dims: number[];
  cross: CrossKv;
  /** Wall time of the two sessions (ms). */
  ms: { encoder: number; crossKv: number };
}

export class VitGpt2 {
  /** The decoder step with its cache: `kvDecoder.sessionFor(source)` is a DecoderSession for generate(). */
  readonly kvDecoder: KvDecoder<EncodedImage>;

  private constructor(
    readonly folder: string,
    readonly config: VitGpt2Config,
    private readonly generationConfigJson: Json | undefined,
    private readonly encoder: Session,
    private readonly crossKv: Session,
    decoderStep: Session,
  ) {
    this.kvDecoder = new KvDecoder<EncodedImage>(decoderStep, gpt2DecoderSpec(config.decoder));
  }

  static async load(folder: string, rawConfig: Json, options: LoadOptions = {}): Promise<VitGpt2> {
    const config = parseVitGpt2Config(rawConfig);
    const store = WeightStore.open(folder);
    const generationConfigJson = readOptionalJson(folder, "generation_config.json");
    // Every graph first: a missing or mis-shaped weight fails here, before any session exists.
    const graphs = [
      vitEncoderGraph(config.encoder, store),
      crossKvGraph(config.decoder, config.encoder.hiddenSize, store),
      decoderStepGraph(config.decoder, store),
    ];
    const [encoder, crossKv, decoderStep] = await createSessions(graphs, store, {
      threads: options.threads,
      quantize: options.quantize,
    });
    return new VitGpt2(folder, config, generationConfigJson, encoder, crossKv, decoderStep);
  }

  /** ViT forward + the cross K/V of every decoder layer. `dims` = [1, C, H, W]. */
  async encode(pixelValues: Float32Array, dims: number[]): Promise<EncodedImage> {
    const { imageSize, numChannels } = this.config.encoder;
    if (
      dims.length !== 4 ||
      dims[0] !== 1 ||
      dims[1] !== numChannels ||
      dims[2] !== imageSize ||
      dims[3] !== imageSize
    ) {
      // HF's ViTEmbeddings refuses other sizes too (no position-embedding interpolation by default).
      throw fail(
        "MODEL_CONFIG_INVALID",
        `pixel_values are [${dims}] but the ViT encoder of ${this.folder} expects [1, ${numChannels}, ${imageSize}, ${imageSize}]`,
      );
    }
    const t0 = performance.now();
    const { last_hidden_state: hidden } = await this.encoder.run({
      pixel_values: float32Tensor(pixelValues, dims),
    });
    const t1 = performance.now();
    const cross = crossKvFromOutputs(
      await this.crossKv.run({ encoder_hidden_states: hidden }),
      this.config.decoder.nLayer,
    );
    const ms = { encoder: t1 - t0, crossKv: performance.now() - t1 };
    return { lastHiddenState: hidden.data as Float32Array, dims: hidden.dims.slice(), cross, ms };
  }

  /** The generation settings for a request: the folder's, then the seed defaults, then `overrides`. */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    return resolveGenerationConfig(
      this.config.raw,
      this.generationConfigJson,
      overrides,
      SEED_GENERATION_DEFAULTS,
    );
  }

  /** The decoder input HF starts from: decoder_start_token_id, then the prompt's tokens (if any). */
  decoderPrompt(cfg: GenerationConfig, promptTokens: number[] = []): number[] {
    return [decoderStartTokenId(cfg), ...promptTokens];
  }

  /** Greedy or beam search for an encoded image. */
  generate(
    image: EncodedImage,
    promptIds: number[],
    cfg: GenerationConfig,
    options: GenerateOptions & { observe?: StepObserver } = {},
  ): Promise<GenerateResult> {
    return generate(this.kvDecoder.sessionFor(image, options.observe), promptIds, cfg, options);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.encoder.release(), this.crossKv.release(), this.kvDecoder.release()]);
  }
}
