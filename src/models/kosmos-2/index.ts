// Kosmos-2 (microsoft/kosmos-2-patch14-224) as a Sightline CaptionModel: image → CLIPImageProcessor
// pixel values → vision tower + connector → grounded generation from `<grounding>An image of` →
// post_process_generation (clean caption + entities with normalised boxes).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  generate,
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOverrides,
} from "../../generation/generate.js";
import { type ImageProcessor, loadImageProcessor } from "../../images/image-processor.js";
import { WeightStore } from "../../graph/safetensors.js";
import { type TextTokenizer, loadTokenizer } from "../../tokenizer/tokenizer.js";
import { failWith } from "../../errors.js";
import type { CaptionModel, CaptionOptions, CaptionResult, LoadOptions, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { parseKosmos2Config } from "./config.js";
import { Kosmos2Model } from "./model.js";
import { captionAfterImage, postProcessGeneration } from "./post-process.js";
import { addKosmos2Tokens, Kosmos2Processor } from "./processor.js";

/** The prompt and settings the describe service's seed used. */
export const DEFAULT_PROMPT = "<grounding>An image of";
export const SEED_GENERATION_DEFAULTS: GenerationOverrides = { max_new_tokens: 128 };

export class Kosmos2Captioner implements CaptionModel {
  readonly arch = "kosmos-2";

  private constructor(
    readonly folder: string,
    private readonly rawConfig: Record<string, any>,
    readonly model: Kosmos2Model,
    readonly tokenizer: TextTokenizer,
    readonly processor: Kosmos2Processor,
    readonly imageProcessor: ImageProcessor,
  ) {}

  static async load(
    folder: string,
    rawConfig: Record<string, any>,
    options: LoadOptions = {},
  ): Promise<Kosmos2Captioner> {
    const config = parseKosmos2Config(rawConfig);
    // Files first: a folder without a tokenizer or processor fails before the sessions are built.
    const tokenizer = await loadTokenizer(folder);
    const numPatchIndexTokens = readProcessorConfig(folder).num_patch_index_tokens ?? 1024;
    // A bare SentencePiece folder lacks the processor's tokens; HF's processor adds them at load.
    addKosmos2Tokens(tokenizer, numPatchIndexTokens);
    const imageProcessor = loadImageProcessor(folder);
    const model = await Kosmos2Model.create(WeightStore.open(folder), config, options.threads);
    const processor = new Kosmos2Processor(tokenizer, numPatchIndexTokens);
    return new Kosmos2Captioner(folder, rawConfig, model, tokenizer, processor, imageProcessor);
  }

  /** Kosmos2ForConditionalGeneration.generate uses text_model.generation_config, built from text_config. */
  generationConfig(overrides: GenerationOverrides = {}): GenerationConfig {
    return resolveGenerationConfig(
      this.rawConfig.text_config ?? {},
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
    const config = this.generationConfig({
      max_new_tokens: options.maxNewTokens,
      num_beams: options.numBeams,
      suppress_tokens: options.suppressTokens,
    });
    const t1 = performance.now();
    const { imageEmbeds } = await this.model.encodeImage(pixelValues, dims);
    const t2 = performance.now();
    const decoder = this.model.decoder(imageEmbeds, prompt.imageEmbedsPositionMask!);
    const { sequence } = await generate(decoder, prompt.inputIds, config);
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

function readProcessorConfig(folder: string): Record<string, any> {
  const path = join(folder, "processor_config.json");
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw failWith(e, "MODEL_CONFIG_INVALID", `${path}: ${(e as Error).message}`);
  }
}

/** The loader registered for config.json `model_type: "kosmos-2"`. */
export function load(
  folder: string,
  config: Record<string, any>,
  options: LoadOptions,
): Promise<CaptionModel> {
  return Kosmos2Captioner.load(folder, config, options);
}
