// ViT-GPT2 image captioning (nlpconnect/vit-gpt2-image-captioning and any VisionEncoderDecoder folder
// with a ViT encoder and a GPT-2 decoder) as a Sightline CaptionModel. An optional `prompt` is a text
// prefix: the decoder starts from [decoder_start_token_id, …prompt tokens] and keeps them in the output.
import { loadImageProcessor, type ImageProcessor } from "../../images/image-processor.js";
import { loadTokenizer, type TextTokenizer } from "../../tokenizer/tokenizer.js";
import type { CaptionModel, CaptionOptions, CaptionResult, LoadOptions, RgbImage } from "../types.js";
import { checkPromptLength, checkPromptTokens } from "../prompt-limit.js";
import { VitGpt2 } from "./model.js";

export class VitGpt2Captioner implements CaptionModel {
  readonly arch = "vit-gpt2";

  constructor(
    readonly folder: string,
    readonly model: VitGpt2,
    private readonly processor: ImageProcessor,
    private readonly tokenizer: TextTokenizer,
  ) {}

  async caption(image: RgbImage, options: CaptionOptions = {}): Promise<CaptionResult> {
    // Options first: a bad request fails before any inference.
    const cfg = this.model.generationConfig({
      max_new_tokens: options.maxNewTokens,
      num_beams: options.numBeams,
      suppress_tokens: options.suppressTokens,
    });
    await checkPromptLength(this.folder, options.prompt);
    const promptTokens = options.prompt
      ? this.tokenizer.encode(options.prompt, { addSpecialTokens: false })
      : [];
    await checkPromptTokens(this.folder, promptTokens.length + 1); // after the decoder start token
    const t0 = performance.now();
    const { pixelValues, dims } = this.processor.preprocess(image);
    const t1 = performance.now();
    const encoded = await this.model.encode(pixelValues, dims);
    const t2 = performance.now();
    const result = await this.model.generate(encoded, this.model.decoderPrompt(cfg, promptTokens), cfg);
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

export async function load(
  folder: string,
  config: Record<string, any>,
  options: LoadOptions = {},
): Promise<CaptionModel> {
  const model = await VitGpt2.create(folder, config, options);
  try {
    const processor = loadImageProcessor(folder);
    const tokenizer = await loadTokenizer(folder);
    return new VitGpt2Captioner(folder, model, processor, tokenizer);
  } catch (e) {
    await model.dispose();
    throw e;
  }
}
