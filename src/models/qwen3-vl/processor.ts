// Qwen3VLProcessor for images (transformers 5.12 processing_qwen3_vl.py): the chat-templated prompt,
// each `<|image_pad|>` expanded to the image's token count (grid_t·grid_h·grid_w / merge²), tokenised
// with the folder's tokenizer, mm_token_type_ids marking the image tokens, the image's pixel values,
// and the M-RoPE positions the text decoder needs.
import { fail } from "../../errors.js";
import type { RgbImage } from "../../images/rgb-image.js";
import { type TextTokenizer, loadTokenizer } from "../../tokenizer/tokenizer.js";
import { type ChatMessage, ChatTemplate, imagePromptMessages } from "./chat-template.js";
import type { Qwen3VLConfig } from "./config.js";
import { type ImagePatches, type PreprocessOptions, Qwen2VLImageProcessor } from "./image-processor.js";
import { type MropePositions, mropePositionIds } from "./rope-index.js";

export const IMAGE_PAD = "<|image_pad|>";

/** The model inputs of one prompt (batch of one), as the HF processor returns them. */
export interface Qwen3VLInputs {
  /** The chat-templated prompt before `<|image_pad|>` expansion. */
  text: string;
  inputIds: number[];
  attentionMask: number[];
  /** 0 text, 1 image token. */
  mmTokenTypeIds: number[];
  /** One entry per image, in prompt order. */
  images: ImagePatches[];
  /** M-RoPE positions [3][seq] and rope_deltas (get_rope_index). */
  rope: MropePositions;
}

export interface PromptOptions extends PreprocessOptions {
  /** A system message before the user turn. */
  system?: string;
}

export class Qwen3VLProcessor {
  constructor(
    readonly config: Qwen3VLConfig,
    readonly tokenizer: TextTokenizer,
    readonly imageProcessor: Qwen2VLImageProcessor,
    readonly chatTemplate: ChatTemplate,
  ) {
    const id = tokenizer.tokenToId(IMAGE_PAD);
    if (id !== config.imageTokenId) {
      throw fail(
        "MODEL_CONFIG_INVALID",
        `the tokenizer's ${IMAGE_PAD} is ${id ?? "missing"}, config.json's image_token_id is ${config.imageTokenId}`,
      );
    }
  }

  /** Tokenizer, image processor and chat template of a model folder. */
  static async load(folder: string, config: Qwen3VLConfig): Promise<Qwen3VLProcessor> {
    const tokenizer = await loadTokenizer(folder);
    return new Qwen3VLProcessor(
      config,
      tokenizer,
      Qwen2VLImageProcessor.load(folder),
      ChatTemplate.load(folder),
    );
  }

  /** Image tokens per image: grid_t·grid_h·grid_w / merge_size². */
  imageTokenCount(gridThw: readonly [number, number, number]): number {
    const merge = this.imageProcessor.config.mergeSize;
    return (gridThw[0] * gridThw[1] * gridThw[2]) / (merge * merge);
  }

  /**
   * Expands the `<|image_pad|>` of `text` (one per image, in order) to each image's token count and
   * tokenises the result; the image tokens' positions come from their grids.
   */
  encode(text: string, images: ImagePatches[]): Qwen3VLInputs {
    const parts = text.split(IMAGE_PAD);
    if (parts.length - 1 !== images.length) {
      throw fail(
        "INVALID_ARGUMENT",
        `the prompt has ${parts.length - 1} ${IMAGE_PAD} for ${images.length} image${images.length === 1 ? "" : "s"}`,
      );
    }
    let expanded = parts[0]!;
    images.forEach((img, i) => {
      expanded += IMAGE_PAD.repeat(this.imageTokenCount(img.gridThw)) + parts[i + 1]!;
    });
    const inputIds = this.tokenizer.encode(expanded, { addSpecialTokens: true });
    const imageId = this.config.imageTokenId;
    const mmTokenTypeIds = inputIds.map((id) => (id === imageId ? 1 : 0));
    const rope = mropePositionIds(
      mmTokenTypeIds,
      images.map((img) => img.gridThw),
      { spatialMergeSize: this.imageProcessor.config.mergeSize },
    );
    return { text, inputIds, attentionMask: inputIds.map(() => 1), mmTokenTypeIds, images, rope };
  }

  /** The chat template applied to `messages` (add_generation_prompt by default). */
  applyChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
    return this.chatTemplate.render(messages, { addGenerationPrompt });
  }

  /**
   * A caption request as the CLI contract defines it: one user turn (image first, then `prompt`),
   * optionally after a system message, with the generation prompt; then the model inputs.
   */
  imagePrompt(image: RgbImage, prompt: string, opts: PromptOptions = {}): Qwen3VLInputs {
    const text = this.applyChatTemplate(imagePromptMessages(prompt, opts.system));
    const patches = this.imageProcessor.preprocess(image, opts);
    return this.encode(text, [patches]);
  }
}
