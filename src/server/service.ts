// The one internal request and response every HTTP dialect translates to and from. A dialect
// (server/routes/<dialect>.ts) parses its wire format into a CaptionRequest, calls
// service.caption(), and writes the CaptionResponse back in its own shape; it never touches
// model queues or workers itself.
import type { Entity, RgbImage, Timings } from "../models/types.js";
import { checkPromptLength } from "../models/prompt-limit.js";
import {
  decodeImageBytes,
  readImageBytes,
  readImageInput,
  type DecodeImage,
  type ImageInputOptions,
  type ImageSource,
} from "../images/input.js";
import type { ModelInfo } from "../queue/model-queue.js";
import type { ModelEntry } from "./models.js";
import type { LoadedModel, Runtime } from "./runtime.js";

export type { ImageSource } from "../images/input.js";

export interface CaptionRequest {
  /** Model name; the server's default model when absent. */
  model?: string;
  image: ImageSource;
  /** Text prefix (BLIP), grounding prompt (Kosmos-2) or task token (Florence-2). */
  prompt?: string;
  maxNewTokens?: number;
  numBeams?: number;
  /** Aborted when the client goes away (a request still waiting is dropped). */
  signal?: AbortSignal;
}

export interface CaptionResponse {
  model: ModelEntry;
  /** Caption text, stripped. */
  text: string;
  tokenIds: number[];
  entities?: Entity[];
  /** Florence-2's structured task result. */
  result?: unknown;
  image: { width: number; height: number };
  /** ms per stage: image (fetch + decode), load (waiting for the model to load), queue, run, and the model's own timings. */
  timings: Timings & { image: number; load: number; queue: number; run: number };
}

export class CaptionService {
  constructor(
    readonly runtime: Runtime,
    private readonly imageOptions: ImageInputOptions = {},
    private readonly decode?: DecodeImage,
  ) {}

  /** Per model: the admission of the latest request (see caption()). */
  private readonly admission = new Map<string, Promise<void>>();

  /** The bytes of a request's image, fetched/checked under the server's limits (to use them twice). */
  async readBytes(source: ImageSource): Promise<ImageSource> {
    return { kind: "bytes", bytes: await readImageBytes(source, this.imageOptions) };
  }

  /** The image of a request, fetched/decoded under the server's limits. */
  async readImage(source: ImageSource): Promise<RgbImage> {
    return readImageInput(source, this.imageOptions, this.decode);
  }

  async caption(request: CaptionRequest): Promise<CaptionResponse> {
    // Unknown model names (and names this server cannot serve now) fail before any image is fetched.
    const entry = this.runtime.registry.get(request.model);
    await this.runtime.checkServable(entry);
    if (request.prompt) await this.checkPrompt(entry.name, request.prompt);
    const started = performance.now();
    const bytes = await readImageBytes(request.image, this.imageOptions);
    // Decoding runs in parallel across requests and would let a small image overtake a large one
    // that arrived first; per model, images are decoded and queued one after another in the order
    // their bytes were in hand, so answers come back in arrival order.
    const previous = this.admission.get(entry.name) ?? Promise.resolve();
    const admitted = previous.then(async () => {
      const image = await decodeImageBytes(bytes, this.imageOptions, this.decode);
      const imageMs = performance.now() - started;
      this.runtime.metrics.stageDuration.observe({ model: entry.name, stage: "image" }, imageMs / 1000);
      const queued = this.runtime.caption(
        entry.name,
        image,
        { prompt: request.prompt, maxNewTokens: request.maxNewTokens, numBeams: request.numBeams },
        { signal: request.signal },
      );
      return { image, imageMs, queued };
    });
    const settled = admitted.then(
      () => undefined,
      () => undefined,
    );
    this.admission.set(entry.name, settled);
    void settled.then(() => {
      if (this.admission.get(entry.name) === settled) this.admission.delete(entry.name);
    });
    const { image, imageMs, queued } = await admitted;
    const out = await queued;
    const r = out.result;
    return {
      model: out.model,
      text: (r.text ?? "").trim(),
      tokenIds: r.tokenIds,
      entities: r.entities,
      result: r.result,
      image: { width: image.width, height: image.height },
      timings: { ...r.timings, image: imageMs, load: out.loadWaitMs, queue: out.queueMs, run: out.runMs },
    };
  }

  /** PROMPT_TOO_LONG, before any image or queue, for a prompt longer than the model takes. */
  async checkPrompt(model: string | undefined, prompt: string | undefined): Promise<void> {
    await checkPromptLength(this.runtime.registry.get(model).source, prompt);
  }

  /** Model entry by name (default model when absent); MODEL_NOT_FOUND otherwise. */
  model(name?: string): ModelEntry {
    return this.runtime.registry.get(name);
  }

  /** Every model name this server knows. */
  models(): ModelEntry[] {
    return this.runtime.registry.list();
  }

  /** The models a client can use now (what model lists show). */
  servable(): Promise<ModelEntry[]> {
    return this.runtime.servable();
  }

  get defaultModel(): string {
    return this.runtime.registry.defaultModel;
  }

  get florenceModel(): string {
    return this.runtime.registry.florenceModel;
  }

  /** Architecture and task prompts (loads the model the first time). */
  info(name?: string): Promise<ModelInfo> {
    return this.runtime.modelInfo(name);
  }

  load(name?: string): Promise<ModelInfo> {
    return this.runtime.load(name);
  }

  unload(name?: string): void {
    this.runtime.unload(name);
  }

  setIdleUnload(name: string | undefined, seconds: number): void {
    this.runtime.setIdleUnload(name, seconds);
  }

  loaded(): LoadedModel[] {
    return this.runtime.loaded();
  }
}
