// Qwen3-VL (Qwen/Qwen3-VL-2B-Instruct) as a Sightline captioner: the prompt (and a system message)
// go through the chat template as one user turn with the image first, the image through the dynamic
// resolution processor and the vision tower, then greedy / beam search (or sampling when asked) until
// <|im_end|> / <|endoftext|>. The caption is the generated tokens decoded with special tokens skipped.
import { performance } from "node:perf_hooks";
import { checkGenerationLength } from "../../generation/generate.js";
import { throwIfCancelled } from "../../generation/decoder-session.js";
import { generationOverrides } from "../generation-overrides.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import type { Captioner, CaptionOptions, CaptionResult, Loader, RgbImage } from "../types.js";
import { parseQwen3VLConfig } from "./config.js";
import { Qwen3VLModel } from "./model.js";
import { Qwen3VLProcessor } from "./processor.js";

/** The prompt of a request that gives none. */
export const DEFAULT_PROMPT = "Describe this image.";

/**
 * The most pixels an image is resized to when a request sets no cap (a cap only ever lowers the
 * folder's max_pixels): a 720 × 540 photo (PhotoPrism's thumbnails) keeps its size, about 380 image
 * tokens. The real repo's max_pixels (16.7 M, 16 k image tokens) is meant for GPUs.
 */
export const DEFAULT_MAX_PIXELS = 640 * 640;

export class Qwen3VLCaptioner implements Captioner {
  constructor(
    readonly folder: string,
    readonly model: Qwen3VLModel,
    readonly processor: Qwen3VLProcessor,
    /** The cap when a request sets none. */
    readonly defaultMaxPixels: number = DEFAULT_MAX_PIXELS,
  ) {}

  async caption(image: RgbImage, options: CaptionOptions = {}): Promise<CaptionResult> {
    await checkPromptLength(this.folder, options.prompt);
    await checkPromptLength(this.folder, options.system);
    // Options first: a bad request fails before any inference.
    const config = this.model.generationConfig(generationOverrides(options));
    const t0 = performance.now();
    const bounds = this.processor.imageProcessor.config;
    const maxPixels = Math.min(bounds.maxPixels, options.maxPixels ?? this.defaultMaxPixels);
    const inputs = this.processor.imagePrompt(image, options.prompt ?? DEFAULT_PROMPT, {
      system: options.system,
      maxPixels,
      // A cap below the folder's floor lowers the floor with it.
      minPixels: Math.min(bounds.minPixels, maxPixels),
    });
    await checkPromptTokens(this.folder, inputs.inputIds.length);
    checkGenerationLength(inputs.inputIds.length, config, this.model.kvDecoder.spec.maxPositions);
    throwIfCancelled(options.signal);
    const t1 = performance.now();
    const source = await this.model.promptSource(inputs);
    const t2 = performance.now();
    const { sequence } = await this.model.generate(source, inputs.inputIds, config, {
      signal: options.signal,
    });
    const t3 = performance.now();
    const generated = sequence.slice(inputs.inputIds.length);
    const text = this.processor.tokenizer.decode(generated, { skipSpecialTokens: true }).trim();
    return {
      text,
      tokenIds: sequence,
      promptLength: inputs.inputIds.length,
      timings: { preprocess: t1 - t0, encode: t2 - t1, decode: t3 - t2 },
    };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

/** The loader registered for config.json `model_type: "qwen3_vl"`. */
export const load: Loader = async (folder, config, options = {}) => {
  // Files first: a folder without a tokenizer, processor config or chat template fails before any session.
  const processor = await Qwen3VLProcessor.load(folder, parseQwen3VLConfig(config));
  const model = await Qwen3VLModel.load(folder, config, options);
  return new Qwen3VLCaptioner(folder, model, processor);
};
