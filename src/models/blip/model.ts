// BlipForConditionalGeneration on the engine: the vision tower, the cross-attention K/V projection and
// the text decoder step as three ORT sessions, and generation exactly as HF's
// `BlipForConditionalGeneration.generate()` drives `text_decoder.generate()`.
import { Graph } from "../../graph/graph.js";
import {
  type GenerateResult,
  type GenerationConfig,
  type GenerationOverrides,
  generate,
  resolveGenerationConfig,
} from "../../generation/generate.js";
import { WeightStore } from "../../graph/safetensors.js";
import { type Session, Tensor, createSession } from "../../graph/session.js";
import { VarBuilder } from "../../graph/var-builder.js";
import { fail } from "../../errors.js";
import type { LoadOptions } from "../types.js";
import { type BlipConfig, parseBlipConfig } from "./config.js";
import { BlipDecoderSession, type CrossKv } from "./decoder-session.js";
import { buildCrossKvGraph, buildStepGraph, crossKey, crossValue } from "./text-decoder.js";
import { buildVisionGraph } from "./vision.js";

/** What the vision side produces for one image. */
export interface EncodedImage {
  /** BlipVisionModel last_hidden_state [1, 1 + patches, D] (the decoder's encoder_hidden_states). */
  imageEmbeds: Tensor;
  cross: CrossKv;
}

export class BlipModel {
  private constructor(
    readonly folder: string,
    readonly config: BlipConfig,
    private readonly vision: Session,
    private readonly crossKv: Session,
    private readonly step: Session,
  ) {}

  static async load(
    folder: string,
    rawConfig: Record<string, any>,
    options: LoadOptions = {},
  ): Promise<BlipModel> {
    const config = parseBlipConfig(rawConfig);
    const store = WeightStore.open(folder);
    const sessionOptions = { threads: options.threads };
    const build = (name: string, prefix: string, body: (g: Graph, vb: VarBuilder) => void): Graph => {
      const g = new Graph(name);
      body(g, new VarBuilder(g, store).pp(prefix));
      return g;
    };
    const visionGraph = build("blip-vision", "vision_model", (g, vb) =>
      buildVisionGraph(g, config.vision, vb),
    );
    const crossGraph = build("blip-cross-kv", "text_decoder", (g, vb) =>
      buildCrossKvGraph(g, config.text, vb),
    );
    const stepGraph = build("blip-text-step", "text_decoder", (g, vb) => buildStepGraph(g, config.text, vb));
    const sessions: Session[] = [];
    try {
      for (const g of [visionGraph, crossGraph, stepGraph])
        sessions.push(await createSession(g, store, sessionOptions));
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release()));
      throw e;
    }
    const [vision, crossKv, step] = sessions;
    return new BlipModel(folder, config, vision, crossKv, step);
  }

  /** Refuses pixel values with more patches than the vision tower has position embeddings (HF would fail too). */
  private checkImageSize(dims: readonly number[]): void {
    const { patchSize, imageSize, numChannels } = this.config.vision;
    const [, c, h, w] = dims;
    const tokens = Math.floor(h / patchSize) * Math.floor(w / patchSize) + 1;
    const available = (imageSize / patchSize) ** 2 + 1;
    if (c !== numChannels || tokens > available) {
      throw fail(
        "INVALID_ARGUMENT",
        `pixel_values [${dims}] do not fit the vision tower (${numChannels} channels, ${imageSize}px)`,
      );
    }
  }

  /** Vision tower + cross-attention K/V for one image's pixel_values [1, C, H, W]. */
  async encodeImage(pixelValues: Float32Array, dims: readonly number[]): Promise<EncodedImage> {
    this.checkImageSize(dims);
    const { image_embeds: imageEmbeds } = await this.vision.run({
      pixel_values: new Tensor("float32", pixelValues, dims as number[]),
    });
    const out = await this.crossKv.run({ image_embeds: imageEmbeds });
    const L = this.config.text.numHiddenLayers;
    const cross: CrossKv = {
      keys: Array.from({ length: L }, (_, i) => out[crossKey(i)]),
      values: Array.from({ length: L }, (_, i) => out[crossValue(i)]),
    };
    return { imageEmbeds, cross };
  }

  /**
   * The decoder start: generate() replaces input_ids[:, 0] ([CLS]) by bos_token_id ([DEC]) and drops the
   * last token ([SEP]); without a prompt it starts from [bos] alone. `promptIds` = the tokenizer's ids
   * of the prompt with special tokens ([CLS] … [SEP]).
   */
  decoderInputIds(promptIds: number[] | null): number[] {
    const bos = this.config.text.bosTokenId;
    if (promptIds === null) return [bos];
    if (promptIds.length < 2) throw fail("INVALID_ARGUMENT", "a BLIP prompt needs [CLS] … [SEP] token ids");
    const ids = [bos, ...promptIds.slice(1, -1)];
    // Checked before any inference: the decoder has a fixed table of positions.
    if (ids.length >= this.config.text.maxPositionEmbeddings) {
      throw fail(
        "INVALID_ARGUMENT",
        `the prompt is ${ids.length} tokens; the BLIP text decoder has ${this.config.text.maxPositionEmbeddings} positions`,
      );
    }
    return ids;
  }

  /**
   * The text decoder's generation config (GenerationConfig.from_model_config(text_config)), with the
   * eos/pad generate() passes itself (sep_token_id, pad_token_id) and the caller's overrides.
   */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    const t = this.config.text;
    return resolveGenerationConfig(this.config.textConfigJson, undefined, {
      eos_token_id: t.sepTokenId,
      pad_token_id: t.padTokenId,
      ...overrides,
    });
  }

  /** text_decoder.generate() from `decoderIds` against one encoded image. */
  async generate(
    image: EncodedImage,
    decoderIds: number[],
    config: GenerationConfig,
  ): Promise<GenerateResult> {
    const decoder = new BlipDecoderSession(this.step, this.config.text, image.cross);
    return generate(decoder, decoderIds, config);
  }

  /** Logits at the last position of `decoderIds` (the first generation step), for checks. */
  async firstStepLogits(image: EncodedImage, decoderIds: number[]): Promise<Float32Array> {
    const decoder = new BlipDecoderSession(this.step, this.config.text, image.cross);
    return (await decoder.step([decoderIds], null)).logits;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.crossKv.release(), this.step.release()]);
  }
}
