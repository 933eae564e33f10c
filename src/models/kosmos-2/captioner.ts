// Kosmos-2 (microsoft/kosmos-2-patch14-224) as a Sightline captioner: image → CLIPImageProcessor
// pixel values → vision tower + connector → grounded generation from `<grounding>An image of` →
// post_process_generation (clean caption + entities with normalised boxes).
import { performance } from "node:perf_hooks";
import {
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/config.js";
import { throwIfCancelled } from "../../generation/decoder-session.js";
import { type ImageProcessor, loadImageProcessor } from "../../images/image-processor.js";
import { type TextTokenizer, loadTokenizer } from "../../tokenizer/tokenizer.js";
import { readOptionalJson, section, type Json } from "../config.js";
import type { Captioner, CaptionOptions, CaptionResult, Loader, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { Kosmos2Model } from "./model.js";
import { captionAfterImage, postProcessGeneration } from "./post-process.js";
import { addKosmos2Tokens, Kosmos2Processor } from "./processor.js";
import { generationOverrides } from "../generation-overrides.js";

/** The prompt and settings the describe service's seed used. */
export const DEFAULT_PROMPT = "<grounding>An image of";
export const SEED_GENERATION_DEFAULTS: GenerationOverrides = { max_new_tokens: 128 };

export class Kosmos2Captioner implements Captioner {
  constructor(
    readonly folder: string,
    private readonly rawConfig: Json,
    readonly model: Kosmos2Model,
    readonly imageProcessor: ImageProcessor,
    readonly tokenizer: TextTokenizer,
    readonly processor: Kosmos2Processor,
  ) {}

  /** Kosmos2ForConditionalGeneration.generate uses text_model.generation_config, built from text_config. */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    return resolveGenerationConfig(
      section(this.rawConfig, "text_config"),
      undefined,
      overrides,
      SEED_GENERATION_DEFAULTS,
    );
  }

  async caption(image: RgbImage, options: CaptionOptions = {}): Promise<CaptionResult> {
    await checkPromptLength(this.folder, options.prompt);
    const t0 = performance.now();
    const { pixelValues, dims } = this.imageProcessor.preprocess(image);
    const prompt = this.processor.process(options.prompt ?? DEFAULT_PROMPT, {
      numImageTokens: this.model.config.latentQueryNum,
    });
    await checkPromptTokens(this.folder, prompt.inputIds.length);
    const config = this.generationConfig(generationOverrides(options));
    throwIfCancelled(options.signal);
    const t1 = performance.now();
    const { imageEmbeds } = await this.model.encodeImage(pixelValues, dims);
    const t2 = performance.now();
    const promptImage = this.model.promptImage(imageEmbeds, prompt.imageEmbedsPositionMask!);
    const { sequence } = await this.model.generate(promptImage, prompt.inputIds, config, {
      signal: options.signal,
    });
    const t3 = performance.now();
    // The seed: batch_decode(skip_special_tokens=True) then post_process_generation.
    const decoded = this.tokenizer.decode(sequence, { skipSpecialTokens: true });
    const { caption, entities } = postProcessGeneration(decoded);
    return {
      text: caption,
      decodedText: decoded.trim(),
      tokenIds: sequence,
      timings: { preprocess: t1 - t0, encode: t2 - t1, decode: t3 - t2 },
      entities,
      // The caption with its grounding tags (post_process_generation(cleanup_and_extract=False)).
      result: { groundedText: captionAfterImage(decoded) },
    };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

/** The loader registered for config.json `model_type: "kosmos-2"`. */
export const load: Loader = async (folder, config, options = {}) => {
  // Files first: a folder without a tokenizer or processor fails before any session exists.
  const tokenizer = await loadTokenizer(folder);
  const numPatchIndexTokens =
    readOptionalJson(folder, "processor_config.json")?.num_patch_index_tokens ?? 1024;
  // A bare SentencePiece folder lacks the processor's tokens; HF's processor adds them at load.
  addKosmos2Tokens(tokenizer, numPatchIndexTokens);
  const imageProcessor = loadImageProcessor(folder);
  const processor = new Kosmos2Processor(tokenizer, numPatchIndexTokens);
  const model = await Kosmos2Model.load(folder, config, options);
  return new Kosmos2Captioner(folder, config, model, imageProcessor, tokenizer, processor);
};
