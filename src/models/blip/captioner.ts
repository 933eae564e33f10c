// BLIP image captioning (Salesforce/blip-image-captioning-base / -large) as a Sightline captioner:
// image → BlipImageProcessor pixel values → vision tower → text decoder generation → BERT decode.
// Conditional captioning takes a text prefix (`prompt`, e.g. "a photography of"), kept in the output
// as HF's generate() keeps it.
import { performance } from "node:perf_hooks";
import { throwIfCancelled } from "../../generation/decoder-session.js";
import { checkGenerationLength } from "../../generation/generate.js";
import { type ImageProcessor, loadImageProcessor } from "../../images/image-processor.js";
import { type TextTokenizer, loadTokenizer } from "../../tokenizer/tokenizer.js";
import type { Captioner, CaptionOptions, CaptionResult, Loader, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { BlipModel } from "./model.js";
import { generationOverrides } from "../generation-overrides.js";

export class BlipCaptioner implements Captioner {
  constructor(
    readonly folder: string,
    readonly model: BlipModel,
    readonly imageProcessor: ImageProcessor,
    readonly tokenizer: TextTokenizer,
  ) {}

  async caption(image: RgbImage, options: CaptionOptions = {}): Promise<CaptionResult> {
    await checkPromptLength(this.folder, options.prompt);
    const t0 = performance.now();
    const { pixelValues, dims } = this.imageProcessor.preprocess(image);
    // BlipProcessor tokenizes the prompt with the tokenizer's special tokens ([CLS] … [SEP]).
    const promptIds =
      options.prompt === undefined ? null : this.tokenizer.encode(options.prompt, { addSpecialTokens: true });
    if (promptIds) await checkPromptTokens(this.folder, promptIds.length - 1); // [bos] replaces [CLS], no [SEP]
    const decoderIds = this.model.decoderInputIds(promptIds);
    const config = this.model.generationConfig(generationOverrides(options));
    // Checked before any inference: the decoder has a fixed table of positions.
    checkGenerationLength(decoderIds.length, config, this.model.kvDecoder.spec.maxPositions);
    throwIfCancelled(options.signal);
    const t1 = performance.now();
    const encoded = await this.model.encodeImage(pixelValues, dims);
    const t2 = performance.now();
    const { sequence } = await this.model.generate(encoded, decoderIds, config, { signal: options.signal });
    const t3 = performance.now();
    return {
      text: this.tokenizer.decode(sequence, { skipSpecialTokens: true }).trim(),
      tokenIds: sequence,
      timings: { preprocess: t1 - t0, encode: t2 - t1, decode: t3 - t2 },
    };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

/** The loader registered for config.json `model_type: "blip"`. */
export const load: Loader = async (folder, config, options = {}) => {
  // Files first: a folder without a tokenizer or processor fails before any session exists.
  const tokenizer = await loadTokenizer(folder);
  const imageProcessor = loadImageProcessor(folder);
  const model = await BlipModel.load(folder, config, options);
  return new BlipCaptioner(folder, model, imageProcessor, tokenizer);
};
