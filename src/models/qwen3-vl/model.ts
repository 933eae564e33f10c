// Qwen3VLForConditionalGeneration on ONNX Runtime: the vision tower (run once per image) and the text
// decoder step with its KV cache (generation's KvDecoder). Weights are read in place from the
// checkpoint (bf16 in the real repo).
import { fail } from "../../errors.js";
import type { GenerateOptions, GenerateResult } from "../../generation/decoder-session.js";
import { generate } from "../../generation/generate.js";
import {
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/config.js";
import { KvDecoder } from "../../generation/kv-decoder.js";
import { Graph } from "../../graph/graph.js";
import { WeightStore } from "../../graph/safetensors.js";
import { createSession } from "../../graph/session.js";
import { VarBuilder } from "../../graph/var-builder.js";
import { readOptionalJson, type Json } from "../config.js";
import type { LoadOptions } from "../types.js";
import { parseQwen3VLConfig, type Qwen3VLConfig } from "./config.js";
import type { Qwen3VLInputs } from "./processor.js";
import { buildTextStepGraph, qwen3VLDecoderSpec, type Qwen3VLPrompt } from "./text.js";
import { Qwen3VLVisionTower } from "./vision.js";

/** Tokens a caption may take when neither the request nor the folder says. */
export const DEFAULT_MAX_NEW_TOKENS = 256;

export class Qwen3VLModel {
  /** The decoder step with its cache: `kvDecoder.sessionFor(prompt)` is a DecoderSession for generate(). */
  readonly kvDecoder: KvDecoder<Qwen3VLPrompt>;

  private constructor(
    readonly config: Qwen3VLConfig,
    private readonly rawConfig: Json,
    private readonly generationConfigJson: Json | undefined,
    readonly vision: Qwen3VLVisionTower,
    text: Awaited<ReturnType<typeof createSession>>,
  ) {
    this.kvDecoder = new KvDecoder(text, qwen3VLDecoderSpec(config));
  }

  static async load(folder: string, rawConfig: Json, options: LoadOptions = {}): Promise<Qwen3VLModel> {
    const config = parseQwen3VLConfig(rawConfig);
    const store = WeightStore.open(folder);
    const tg = new Graph("qwen3-vl-text-step");
    buildTextStepGraph(tg, config, new VarBuilder(tg, store));
    const vision = await Qwen3VLVisionTower.load(folder, config, {
      threads: options.threads,
      quantize: options.quantize,
      store,
    });
    try {
      const text = await createSession(tg, store, { threads: options.threads, quantize: options.quantize });
      return new Qwen3VLModel(
        config,
        rawConfig,
        readOptionalJson(folder, "generation_config.json"),
        vision,
        text,
      );
    } catch (e) {
      await vision.release();
      throw e;
    }
  }

  /**
   * generation_config.json (as generate() reads it), then `overrides`. The folder samples (do_sample,
   * like the real repo); Sightline decodes greedily unless a request asks for sampling. The real repo
   * sets no length, and HF's max_length 20 counts the prompt (with the image tokens): a folder without
   * a length of its own gets DEFAULT_MAX_NEW_TOKENS.
   */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    const json = this.generationConfigJson ?? {};
    const ownLength = json.max_length !== undefined || json.max_new_tokens !== undefined;
    const appDefaults = ownLength ? {} : { max_new_tokens: DEFAULT_MAX_NEW_TOKENS };
    return resolveGenerationConfig(this.rawConfig, this.generationConfigJson, overrides, appDefaults);
  }

  /** What a processed prompt's rows bring to the decoder: the image features and M-RoPE positions. */
  async promptSource(inputs: Qwen3VLInputs): Promise<Qwen3VLPrompt> {
    if (inputs.images.length !== 1)
      throw fail("INVALID_ARGUMENT", `one image per prompt, got ${inputs.images.length}`);
    const features = await this.vision.encode(inputs.images[0]!);
    const d = this.config.text.hiddenSize;
    const slots = inputs.mmTokenTypeIds.filter((m) => m === 1).length;
    const imageEmbeds = features.imageEmbeds.data as Float32Array;
    if (slots * d !== imageEmbeds.length) {
      throw fail(
        "INTERNAL",
        `the prompt has ${slots} image tokens for ${imageEmbeds.length / d} image embeddings`,
      );
    }
    return {
      imageEmbeds,
      deepstack: features.deepstack.map((t) => t.data as Float32Array),
      imageMask: inputs.mmTokenTypeIds,
      rope: inputs.rope,
    };
  }

  /** Greedy search, beam search or sampling from the processed prompt. */
  generate(
    source: Qwen3VLPrompt,
    inputIds: number[],
    config: GenerationConfig,
    options: GenerateOptions = {},
  ): Promise<GenerateResult> {
    return generate(this.kvDecoder.sessionFor(source), inputIds, config, options);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.kvDecoder.release()]);
  }
}
