// Florence-2 (and PromptGen) as a CaptionModel: Florence2Processor (image processor, task prompts,
// BART tokenizer with the processor's 1024 added tokens), the model, and post_process_generation.
import { fixedOutputSize, loadImageProcessor, type ImageProcessor } from "../../images/image-processor.js";
import { loadTokenizer, type TextTokenizer } from "../../tokenizer/tokenizer.js";
import type { CaptionModel, CaptionOptions, CaptionResult, LoadOptions, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { Florence2, SEED_GENERATION_DEFAULTS } from "./model.js";
import { postProcessGeneration } from "./post-process.js";
import { PROCESSOR_ADDED_TOKENS, constructPrompt, taskOfPrompt, taskPromptTable } from "./tasks.js";

/** The task a caption request runs when it names none. */
export const DEFAULT_TASK = "<CAPTION>";

/** Florence2Processor's text side: the folder's BART tokenizer plus the processor's special tokens. */
export async function loadFlorence2Tokenizer(folder: string): Promise<TextTokenizer> {
  const tokenizer = await loadTokenizer(folder);
  tokenizer.addTokens(PROCESSOR_ADDED_TOKENS, true);
  return tokenizer;
}

export class Florence2CaptionModel implements CaptionModel {
  readonly arch = "florence-2";

  constructor(
    readonly model: Florence2,
    readonly tokenizer: TextTokenizer,
    readonly imageProcessor: ImageProcessor,
  ) {}

  get folder(): string {
    return this.model.folder;
  }

  /** Prompt text → input_ids as Florence2Processor builds them (task token → prompt, <s> … </s>). */
  promptIds(prompt: string): number[] {
    return this.tokenizer.encode(constructPrompt(prompt));
  }

  async caption(image: RgbImage, options: CaptionOptions = {}): Promise<CaptionResult> {
    const prompt = options.prompt ?? DEFAULT_TASK;
    await checkPromptLength(this.folder, prompt);
    const t0 = performance.now();
    const { pixelValues, dims } = this.imageProcessor.preprocess(image);
    const inputIds = this.promptIds(prompt);
    await checkPromptTokens(this.folder, inputIds.length);
    const t1 = performance.now();
    const features = await this.model.encodeImage(pixelValues, dims);
    const encoded = await this.model.encodePrompt(features, inputIds);
    const t2 = performance.now();
    const cfg = this.model.generationConfig({
      ...SEED_GENERATION_DEFAULTS,
      ...(options.maxNewTokens !== undefined ? { max_new_tokens: options.maxNewTokens } : {}),
      ...(options.numBeams !== undefined ? { num_beams: options.numBeams } : {}),
      ...(options.suppressTokens !== undefined ? { suppress_tokens: options.suppressTokens } : {}),
    });
    const { sequence } = await this.model.generate(encoded, cfg);
    const t3 = performance.now();
    const withSpecial = this.tokenizer.decode(sequence, { skipSpecialTokens: false });
    const task = taskOfPrompt(prompt);
    return {
      text: this.tokenizer.decode(sequence, { skipSpecialTokens: true }).trim(),
      tokenIds: sequence,
      timings: { preprocess: t1 - t0, encode: t2 - t1, decode: t3 - t2 },
      result: postProcessGeneration(withSpecial, task, [image.width, image.height]),
    };
  }

  taskPrompts(): Record<string, string> {
    return taskPromptTable();
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

export async function load(
  folder: string,
  config: Record<string, any>,
  options: LoadOptions = {},
): Promise<CaptionModel> {
  const imageProcessor = loadImageProcessor(folder);
  // Real checkpoints resize to one square size (768×768): its vision graph is built now.
  const size = fixedOutputSize(imageProcessor.config);
  const [model, tokenizer] = await Promise.all([
    Florence2.create(folder, config, size, options),
    loadFlorence2Tokenizer(folder),
  ]);
  return new Florence2CaptionModel(model, tokenizer, imageProcessor);
}
