// The server's NSFW detector: one nsfwjs classifier in its own worker process, behind its own
// FIFO queue (src/queue), loaded on first use and ended when idle like the captioning models, so
// inference never blocks the server's event loop. Requests with several images (PhotoPrism sends
// 1–3) are classified one image after another in that queue.
import { fileURLToPath } from "node:url";
import { fail } from "../errors.js";
import type { RgbImage } from "../images/rgb-image.js";
import { ModelQueue, type ModelQueueEvents } from "../queue/model-queue.js";
import { defaultNsfwVariant, nsfwClasses, type NsfwVariant } from "./bundled.js";
import type { NsfwScores } from "./classifier.js";
import { defaultNsfwThreshold } from "./verdict.js";

export interface NsfwDetectorOptions {
  variant?: NsfwVariant;
  /** Unsafe at or above this max(Porn, Sexy, Hentai) (default 0.75, PhotoPrism's). */
  threshold?: number;
  threads?: number;
  maxQueue: number;
  idleUnloadMs: number;
  runTimeoutMs: number;
  /** Worker loader module (default ./loader). */
  loaderModule?: string;
  events?: ModelQueueEvents;
}

export interface DetectedScores {
  scores: NsfwScores;
  queueMs: number;
  loadWaitMs: number;
  runMs: number;
}

/** ./loader as the worker must import it: the .ts source under tsx, the built .js otherwise. */
function defaultLoader(): string {
  const here = fileURLToPath(import.meta.url);
  return here.replace(/detector\.(ts|js)$/, "loader.$1");
}

export class NsfwDetector {
  readonly variant: NsfwVariant;
  readonly threshold: number;
  readonly queue: ModelQueue;

  constructor(options: NsfwDetectorOptions) {
    this.variant = options.variant ?? defaultNsfwVariant;
    this.threshold = options.threshold ?? defaultNsfwThreshold;
    if (!(this.threshold > 0 && this.threshold <= 1)) {
      throw fail(
        "INVALID_ARGUMENT",
        `the NSFW threshold must be above 0 and at most 1, got ${this.threshold}`,
      );
    }
    this.queue = new ModelQueue({
      name: this.name,
      resolveFolder: async () => this.variant,
      loaderModule: options.loaderModule ?? defaultLoader(),
      threads: options.threads,
      maxQueue: options.maxQueue,
      idleUnloadMs: options.idleUnloadMs,
      runTimeoutMs: options.runTimeoutMs,
      events: options.events,
    });
  }

  /** The name it has in metrics, logs and answers. */
  get name(): string {
    return `nsfwjs-${this.variant.toLowerCase()}`;
  }

  async classify(
    image: RgbImage,
    submit: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<DetectedScores> {
    const out = await this.queue.submit(image, {}, submit);
    const r = out.result.result as Record<string, unknown> | undefined;
    if (!r || nsfwClasses.some((c) => typeof r[c] !== "number")) {
      throw fail("INTERNAL", "the NSFW worker answered without class scores");
    }
    return { scores: r as NsfwScores, queueMs: out.queueMs, loadWaitMs: out.loadWaitMs, runMs: out.runMs };
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
