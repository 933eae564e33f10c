// Kosmos2ForConditionalGeneration on ONNX Runtime: the image session (run once per image) and the text
// decoder step with its KV cache (generation's KvDecoder).
import { fail } from "../../errors.js";
import type { GenerateOptions, GenerateResult } from "../../generation/decoder-session.js";
import { generate } from "../../generation/generate.js";
import type { GenerationConfig } from "../../generation/config.js";
import { KvDecoder } from "../../generation/kv-decoder.js";
import { Graph } from "../../graph/graph.js";
import { WeightStore } from "../../graph/safetensors.js";
import { createSessions, float32Tensor, type Session } from "../../graph/session.js";
import { VarBuilder } from "../../graph/var-builder.js";
import type { Json } from "../config.js";
import type { LoadOptions } from "../types.js";
import { parseKosmos2Config, type Kosmos2Config } from "./config.js";
import { buildTextStepGraph, kosmos2DecoderSpec, type PromptImage } from "./text.js";
import { buildVisionGraph } from "./vision.js";

export interface ImageEncoding {
  /** Vision encoder output before post_layernorm, [1, N + 1, Dv]. */
  visionLastHiddenState: Float32Array;
  /** Connector output fed to the text model, [1, Q, Dt] (Q = latent_query_num). */
  imageEmbeds: Float32Array;
}

export class Kosmos2Model {
  /** The decoder step with its cache: `kvDecoder.sessionFor(source)` is a DecoderSession for generate(). */
  readonly kvDecoder: KvDecoder<PromptImage>;

  private constructor(
    readonly config: Kosmos2Config,
    private readonly vision: Session,
    text: Session,
  ) {
    this.kvDecoder = new KvDecoder(text, kosmos2DecoderSpec(config.text));
  }

  static async load(folder: string, rawConfig: Json, options: LoadOptions = {}): Promise<Kosmos2Model> {
    const config = parseKosmos2Config(rawConfig);
    const store = WeightStore.open(folder);
    const vg = new Graph("kosmos2_vision");
    buildVisionGraph(vg, config, new VarBuilder(vg, store));
    const tg = new Graph("kosmos2_text_step");
    buildTextStepGraph(tg, config.text, new VarBuilder(tg, store));
    const [vision, text] = await createSessions([vg, tg], store, {
      threads: options.threads,
      quantize: options.quantize,
    });
    return new Kosmos2Model(config, vision, text);
  }

  async encodeImage(pixelValues: Float32Array, dims: readonly number[]): Promise<ImageEncoding> {
    const size = this.config.vision.imageSize;
    if (dims[2] !== size || dims[3] !== size) {
      throw fail(
        "INVALID_ARGUMENT",
        `kosmos-2 expects ${size}x${size} pixel values, got ${dims[3]}x${dims[2]}`,
      );
    }
    const out = await this.vision.run({ pixel_values: float32Tensor(pixelValues, [...dims]) });
    return {
      visionLastHiddenState: out.vision_last_hidden_state!.data as Float32Array,
      imageEmbeds: out.image_embeds!.data as Float32Array,
    };
  }

  /**
   * What a prompt's rows bring to the decoder: `imageEmbeds` [Q, Dt] go, in order, to the prompt
   * positions where `imageMask` is 1 (HF's image_embeds_position_mask).
   */
  promptImage(imageEmbeds: Float32Array, imageMask: readonly number[]): PromptImage {
    const d = this.config.text.embedDim;
    const slots = imageMask.filter((m) => m === 1).length;
    if (slots * d !== imageEmbeds.length) {
      throw fail(
        "INVALID_ARGUMENT",
        `the prompt has ${slots} image positions for ${imageEmbeds.length / d} image embeddings`,
      );
    }
    return { imageEmbeds, imageMask };
  }

  /** Greedy or beam search from the processed prompt `inputIds`. */
  generate(
    image: PromptImage,
    inputIds: number[],
    config: GenerationConfig,
    options: GenerateOptions = {},
  ): Promise<GenerateResult> {
    return generate(this.kvDecoder.sessionFor(image), inputIds, config, options);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.kvDecoder.release()]);
  }
}
