// ViT-GPT2 image captioning (nlpconnect/vit-gpt2-image-captioning and any VisionEncoderDecoder folder
// with a ViT encoder and a GPT-2 decoder) as a Sightline captioner. An optional `prompt` is a text
// prefix: the decoder starts from [decoder_start_token_id, …prompt tokens] and keeps them in the output.
import { throwIfCancelled } from "../../generation/decoder-session.js";
import { loadImageProcessor, type ImageProcessor } from "../../images/image-processor.js";
import { loadTokenizer, type TextTokenizer } from "../../tokenizer/tokenizer.js";
import type { Captioner, CaptionOptions, CaptionResult, Loader, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { VitGpt2 } from "./model.js";
import { generationOverrides } from "../generation-overrides.js";

export class VitGpt2Captioner implements Captioner {
  constructor(
    readonly folder: string,
    readonly model: VitGpt2,
    readonly imageProcessor: ImageProcessor,
    readonly tokenizer: TextTokenizer,
  ) {}

  async caption(image: RgbImage, options: CaptionOptions = {}): Promise<CaptionResult> {
    await checkPromptLength(this.folder, options.prompt);
    // Options first: a bad request fails before any inference.
    const cfg = this.model.generationConfig(generationOverrides(options));
    const promptTokens = options.prompt
      ? this.tokenizer.encode(options.prompt, { addSpecialTokens: false })
      : [];
    await checkPromptTokens(this.folder, promptTokens.length + 1); // after the decoder start token
    throwIfCancelled(options.signal);
    const t0 = performance.now();
    const { pixelValues, dims } = this.imageProcessor.preprocess(image);
    const t1 = performance.now();
    const encoded = await this.model.encode(pixelValues, dims);
    const t2 = performance.now();
    const prompt = this.model.decoderPrompt(cfg, promptTokens);
    const result = await this.model.generate(encoded, prompt, cfg, { signal: options.signal });
    const t3 = performance.now();
    return {
      text: this.tokenizer.decode(result.sequence, { skipSpecialTokens: true }).trim(),
      tokenIds: result.sequence,
      timings: { preprocess: t1 - t0, encode: t2 - t1, decode: t3 - t2 },
    };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

/** The loader registered for config.json `model_type: "vision-encoder-decoder"`. */
export const load: Loader = async (folder, config, options = {}) => {
  // Files first: a folder without a tokenizer or processor fails before any session exists.
  const imageProcessor = loadImageProcessor(folder);
  const tokenizer = await loadTokenizer(folder);
  const model = await VitGpt2.load(folder, config, options);
  return new VitGpt2Captioner(folder, model, imageProcessor, tokenizer);
};
