// BlipForConditionalGeneration on the engine: the vision tower, the cross-attention K/V projection and
// the text decoder step as three ORT sessions, and generation exactly as HF's
// `BlipForConditionalGeneration.generate()` drives `text_decoder.generate()`.
import { fail } from "../../errors.js";
import {
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/config.js";
import type { GenerateOptions, GenerateResult } from "../../generation/decoder-session.js";
import { generate } from "../../generation/generate.js";
import { KvDecoder, type RowSource } from "../../generation/kv-decoder.js";
import { Graph } from "../../graph/graph.js";
import { WeightStore } from "../../graph/safetensors.js";
import { createSessions, Tensor, type Session } from "../../graph/session.js";
import { crossKvFromOutputs, type CrossKv } from "../../graph/step-graph.js";
import { VarBuilder } from "../../graph/var-builder.js";
import type { Json } from "../config.js";
import type { LoadOptions } from "../types.js";
import { type BlipConfig, parseBlipConfig } from "./config.js";
import { blipDecoderSpec, buildCrossKvGraph, buildStepGraph } from "./text-decoder.js";
import { buildVisionGraph } from "./vision.js";

/** What the vision side produces for one image. */
export interface EncodedImage extends RowSource {
  /** BlipVisionModel last_hidden_state [1, 1 + patches, D] (the decoder's encoder_hidden_states). */
  imageEmbeds: Tensor;
  cross: CrossKv;
}

export class BlipModel {
  /** The decoder step with its cache: `kvDecoder.sessionFor(source)` is a DecoderSession for generate(). */
  readonly kvDecoder: KvDecoder<EncodedImage>;

  private constructor(
    readonly folder: string,
    readonly config: BlipConfig,
    private readonly vision: Session,
    private readonly crossKv: Session,
    step: Session,
  ) {
    this.kvDecoder = new KvDecoder<EncodedImage>(step, blipDecoderSpec(config.text));
  }

  static async load(folder: string, rawConfig: Json, options: LoadOptions = {}): Promise<BlipModel> {
    const config = parseBlipConfig(rawConfig);
    const store = WeightStore.open(folder);
    const build = (name: string, prefix: string, body: (g: Graph, vb: VarBuilder) => void): Graph => {
      const g = new Graph(name);
      body(g, new VarBuilder(g, store).pp(prefix));
      return g;
    };
    // Every graph first: a missing or mis-shaped weight fails here, before any session exists.
    const graphs = [
      build("blip-vision", "vision_model", (g, vb) => buildVisionGraph(g, config.vision, vb)),
      build("blip-cross-kv", "text_decoder", (g, vb) => buildCrossKvGraph(g, config.text, vb)),
      build("blip-text-step", "text_decoder", (g, vb) => buildStepGraph(g, config.text, vb)),
    ];
    const [vision, crossKv, step] = await createSessions(graphs, store, {
      threads: options.threads,
      quantize: options.quantize,
    });
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
    return { imageEmbeds, cross: crossKvFromOutputs(out, this.config.text.numHiddenLayers) };
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
    return [bos, ...promptIds.slice(1, -1)];
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
  generate(
    image: EncodedImage,
    decoderIds: number[],
    config: GenerationConfig,
    options: GenerateOptions = {},
  ): Promise<GenerateResult> {
    return generate(this.kvDecoder.sessionFor(image), decoderIds, config, options);
  }

  /** Logits at the last position of `decoderIds` (the first generation step), for checks. */
  async firstStepLogits(image: EncodedImage, decoderIds: number[]): Promise<Float32Array> {
    return (await this.kvDecoder.sessionFor(image).step([decoderIds], null)).logits;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.crossKv.release(), this.kvDecoder.release()]);
  }
}
