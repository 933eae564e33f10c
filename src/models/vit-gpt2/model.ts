// ViT-GPT2 on the engine: three ORT sessions (ViT encoder, cross K/V projection, GPT-2 step) and
// generation from pixel values. Text in/out (tokenizer, image processor) lives in index.ts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, failWith } from "../../errors.js";
import {
  decoderStartTokenId,
  effectiveMaxLength,
  generate,
  resolveGenerationConfig,
  type GenerateResult,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/generate.js";
import { WeightStore } from "../../graph/safetensors.js";
import { Tensor, createSession, float32Tensor, type Session } from "../../graph/session.js";
import type { LoadOptions } from "../types.js";
import { parseVitGpt2Config, type VitGpt2Config } from "./config.js";
import { Gpt2DecoderSession, type StepObserver } from "./decoder-session.js";
import { crossKvGraph, decoderStepGraph } from "./gpt2.js";
import { vitEncoderGraph } from "./vit.js";

/** What the application seeds use when the folder's generation config does not say (nlpconnect's model card). */
export const SEED_GENERATION_DEFAULTS: GenerationOverrides = { max_length: 16, num_beams: 4 };

/** One image's encoder output and the cross K/V the decoder attends to. */
export interface EncodedImage {
  lastHiddenState: Float32Array;
  dims: number[];
  cross: Record<string, Tensor>;
  /** Wall time of the two sessions (ms). */
  ms: { encoder: number; crossKv: number };
}

export class VitGpt2 {
  private constructor(
    readonly folder: string,
    readonly config: VitGpt2Config,
    private readonly generationConfigJson: Record<string, any> | undefined,
    private readonly encoder: Session,
    private readonly crossKv: Session,
    private readonly decoderStep: Session,
  ) {}

  static async create(
    folder: string,
    rawConfig: Record<string, any>,
    options: LoadOptions = {},
  ): Promise<VitGpt2> {
    const config = parseVitGpt2Config(rawConfig);
    const store = WeightStore.open(folder);
    const generationConfigJson = readGenerationConfigJson(folder);
    // Every graph first: a missing or mis-shaped weight fails here, before any session exists.
    const graphs = [
      vitEncoderGraph(config.encoder, store),
      crossKvGraph(config.decoder, config.encoder.hiddenSize, store),
      decoderStepGraph(config.decoder, store),
    ];
    const settled = await Promise.allSettled(
      graphs.map((g) => createSession(g, store, { threads: options.threads })),
    );
    const sessions = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure) {
      await Promise.all(sessions.map((s) => s.release()));
      throw failure.reason;
    }
    const [encoder, crossKv, decoderStep] = sessions;
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
    const cross = await this.crossKv.run({ encoder_hidden_states: hidden });
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

  decoderFor(image: EncodedImage, observe?: StepObserver): Gpt2DecoderSession {
    return new Gpt2DecoderSession(this.decoderStep, this.config.decoder, image.cross, observe);
  }

  /** The decoder input HF starts from: decoder_start_token_id, then the prompt's tokens (if any). */
  decoderPrompt(cfg: GenerationConfig, promptTokens: number[] = []): number[] {
    return [decoderStartTokenId(cfg), ...promptTokens];
  }

  /** Greedy or beam search for an encoded image. */
  async generate(
    image: EncodedImage,
    promptIds: number[],
    cfg: GenerationConfig,
    observe?: StepObserver,
  ): Promise<GenerateResult> {
    // At least one token is generated even when the prompt already reaches max_length.
    const maxLength = Math.max(effectiveMaxLength(cfg, promptIds.length), promptIds.length + 1);
    if (maxLength > this.config.decoder.nPositions) {
      throw fail(
        "INVALID_ARGUMENT",
        `max length ${maxLength} exceeds the decoder's n_positions ${this.config.decoder.nPositions}`,
      );
    }
    return generate(this.decoderFor(image, observe), promptIds, cfg);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.encoder.release(), this.crossKv.release(), this.decoderStep.release()]);
  }
}

/** generation_config.json of the folder, if it has one. */
export function readGenerationConfigJson(folder: string): Record<string, any> | undefined {
  const path = join(folder, "generation_config.json");
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw failWith(e, "MODEL_CONFIG_INVALID", `${path}: ${(e as Error).message}`);
  }
}
