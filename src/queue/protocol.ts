// Messages between the server process and a model worker process (child_process IPC with the
// "advanced" serialization, so image bytes travel as a Uint8Array, not as JSON).
import type { QuantizeOptions } from "../graph/quantize.js";
import type { CaptionOptions, CaptionResult } from "../models/types.js";

export interface WorkerLoad {
  type: "load";
  folder: string;
  /** Module exporting `loadModel(folder, options)`; default: src/models/index (tests use a fake). */
  loaderModule?: string;
  threads?: number;
  /** Captions the worker may run together (batching across requests); default 1. */
  maxBatch?: number;
  /** Weight-only quantization (`--quantize`); progress callbacks do not cross the process boundary. */
  quantize?: Omit<QuantizeOptions, "onProgress">;
}

export interface WorkerCaption {
  type: "caption";
  id: number;
  image: { data: Uint8Array; width: number; height: number };
  /** An AbortSignal cannot cross the process boundary: cancellation is its own message. */
  options: Omit<CaptionOptions, "signal">;
}

/** Stop caption `id` (client gone, timeout): the model gives up between decoder steps. */
export interface WorkerCancel {
  type: "cancel";
  id: number;
  reason: string;
}

export type ToWorker = WorkerLoad | WorkerCaption | WorkerCancel;

/** A failure as it crosses the process boundary: catalogue code when there is one. */
export interface WireError {
  code?: string;
  message: string;
  /** Where it failed in the worker, for the server's log. */
  stack?: string;
}

export interface WorkerLoaded {
  type: "loaded";
  arch: string;
  taskPrompts?: Record<string, string>;
  rssBytes: number;
  loadMs: number;
  /** Captions it runs together: the load's maxBatch when the model can batch, else 1. */
  maxBatch?: number;
}

export type FromWorker =
  | WorkerLoaded
  | { type: "load-error"; error: WireError }
  | { type: "result"; id: number; result: CaptionResult; rssBytes: number }
  | { type: "error"; id: number; error: WireError };
