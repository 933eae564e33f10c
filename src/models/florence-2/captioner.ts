// Florence-2 (and PromptGen) as a Sightline captioner: Florence2Processor (image processor, task prompts,
// BART tokenizer with the processor's 1024 added tokens), the model, and post_process_generation.
import { throwIfCancelled } from "../../generation/decoder-session.js";
import { checkGenerationLength } from "../../generation/generate.js";
import { loadImageProcessor, type ImageProcessor } from "../../images/image-processor.js";
import { loadTokenizer, type TextTokenizer } from "../../tokenizer/tokenizer.js";
import type { Captioner, CaptionOptions, CaptionResult, Loader, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { Florence2, SEED_GENERATION_DEFAULTS } from "./model.js";
import { postProcessGeneration } from "./post-process.js";
import { PROCESSOR_ADDED_TOKENS, constructPrompt, taskOfPrompt, taskPromptTable } from "./tasks.js";
import { generationOverrides } from "../generation-overrides.js";

/** The task a caption request runs when it names none. */
export const DEFAULT_TASK = "<CAPTION>";

/** Florence2Processor's text side: the folder's BART tokenizer plus the processor's special tokens. */
export async function loadFlorence2Tokenizer(folder: string): Promise<TextTokenizer> {
  const tokenizer = await loadTokenizer(folder);
  tokenizer.addTokens(PROCESSOR_ADDED_TOKENS, true);
  return tokenizer;
}

export class Florence2Captioner implements Captioner {
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
    const cfg = this.model.generationConfig({
      ...SEED_GENERATION_DEFAULTS,
      ...generationOverrides(options),
    });
    checkGenerationLength(1, cfg, this.model.kvDecoder.spec.maxPositions);
    throwIfCancelled(options.signal);
    const t1 = performance.now();
    const features = await this.model.encodeImage(pixelValues, dims);
    const encoded = await this.model.encodePrompt(features, inputIds);
    const t2 = performance.now();
    const { sequence } = await this.model.generate(encoded, cfg, { signal: options.signal });
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

/** The loader registered for config.json `model_type: "florence2"`. */
export const load: Loader = async (folder, config, options = {}) => {
  // Files first: a folder without a tokenizer or processor fails before any session exists.
  const imageProcessor = loadImageProcessor(folder);
  const tokenizer = await loadFlorence2Tokenizer(folder);
  const model = await Florence2.load(folder, config, options);
  return new Florence2Captioner(model, tokenizer, imageProcessor);
};
