// What every architecture offers the rest of Sightline (CLI, queue workers, server).

import type { QuantizeOptions } from "../graph/quantize.js";
import type { RgbImage } from "../images/rgb-image.js";

export type { RgbImage };

/**
 * Sampling instead of the deterministic search, when a request asks for it (HF do_sample with its
 * warpers). Unset fields take the model's generation config (HF's defaults: 1.0, 50, 1.0).
 */
export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  /** The same seed, image and settings give the same answer; unset: a random seed. */
  seed?: number;
}

export interface CaptionOptions {
  /**
   * Text prefix (BLIP), grounding prompt (Kosmos-2), task token (Florence-2) or the instruction an
   * instruction-following model (Qwen3-VL) answers.
   */
  prompt?: string;
  /** A system message before the prompt (instruction-following models). */
  system?: string;
  maxNewTokens?: number;
  numBeams?: number;
  /** Token ids whose logits are set to -inf at every step (HF suppress_tokens). */
  suppressTokens?: number[];
  /** HF repetition_penalty (1 = none), in greedy, beam search and sampling alike. */
  repetitionPenalty?: number;
  /** Draw tokens instead of searching (greedy / beam search is the default). */
  sample?: SamplingOptions;
  /** Most pixels a dynamic-resolution model (Qwen3-VL) resizes an image to; default its CPU cap. */
  maxPixels?: number;
  /** Once aborted, generation stops between decoder steps with REQUEST_CANCELLED. */
  signal?: AbortSignal;
}

export interface Timings {
  preprocess: number; // ms
  encode: number; // ms
  decode: number; // ms
}

export interface Entity {
  phrase: string;
  span: [number, number];
  boxes: [number, number, number, number][];
}

export interface CaptionResult {
  /** The caption: decoded text, special tokens skipped, stripped (Kosmos-2: post-processed). */
  text: string;
  /**
   * The plain decode (batch_decode with skip_special_tokens, stripped) where the caption is
   * post-processed from it (Kosmos-2); the CLI's --json `text`, as the contract defines it.
   */
  decodedText?: string;
  /** Exactly the sequence HF generate() returns (start/prompt tokens included). */
  tokenIds: number[];
  /** How many of tokenIds are the prompt (decoder-only models that know it: Qwen3-VL). */
  promptLength?: number;
  timings: Timings;
  /** Kosmos-2 grounded phrases. */
  entities?: Entity[];
  /** Florence-2 structured post-processed result for the task. */
  result?: unknown;
}

export interface CaptionModel {
  /** The architecture's name in the registry (models/index.ts): "vit-gpt2" | "blip" | "kosmos-2" | "florence-2". */
  readonly arch: string;
  readonly folder: string;
  caption(image: RgbImage, options?: CaptionOptions): Promise<CaptionResult>;
  /** Task prompts the model understands (Florence-2), else undefined. */
  taskPrompts?(): Record<string, string>;
  dispose(): Promise<void>;
}

/** What an architecture's load() returns: a CaptionModel before the registry names its architecture. */
export type Captioner = Omit<CaptionModel, "arch">;

export interface LoadOptions {
  /** ORT intra-op threads (default: one per physical core). */
  threads?: number;
  /** Weight-only quantization of the linear layers (`--quantize q8|q4`); default: float32 as stored. */
  quantize?: QuantizeOptions;
}

/** The one loading signature: a model folder, its parsed config.json, options. */
export type Loader = (
  folder: string,
  config: Record<string, any>,
  options?: LoadOptions,
) => Promise<Captioner>;

/** One line of the registry: config.json model_type → architecture name and loader. */
export interface Architecture {
  modelType: string;
  arch: string;
  load: Loader;
}
