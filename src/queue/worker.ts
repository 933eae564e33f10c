// Model worker process: holds one loaded model and captions images for the server (one at a time, or
// several together when it batches requests: queue/batching.ts).
// Started by WorkerProcess (worker-process.ts) with child_process.fork; ending the process is
// how a model's memory goes back to the operating system. A cancel message aborts the signal the
// running caption was given (the model stops between decoder steps: ORT runs each step from
// setImmediate, so the message is read between steps); the worker stays loaded for the next one.
import { fail, isSightlineError } from "../errors.js";
import type { CaptionModel, LoadOptions } from "../models/types.js";
import { batchRequests } from "./batching.js";
import type { FromWorker, ToWorker, WireError } from "./protocol.js";

type LoadModel = (folder: string, options?: LoadOptions) => Promise<CaptionModel>;

let model: CaptionModel | undefined;
/** Captions run together (1: one after another). */
let maxBatch = 1;

/** Captions received and not yet answered, by id, with the signal their model run is given. */
const captions = new Map<number, AbortController>();

function send(message: FromWorker): void {
  process.send!(message);
}

function toWire(e: unknown): WireError {
  const stack = e instanceof Error ? e.stack : undefined;
  if (isSightlineError(e)) return { code: e.code, message: e.message, stack };
  // Errors from another copy of errors.ts (a loader module loaded by URL) still carry a code.
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  if (err && err.name === "SightlineError" && typeof err.code === "string") {
    return { code: err.code, message: String(err.message), stack };
  }
  return { message: e instanceof Error ? e.message : String(e), stack };
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === "load") {
    const started = performance.now();
    try {
      const mod = (await import(message.loaderModule ?? "../models/index.js")) as { loadModel: LoadModel };
      model = await mod.loadModel(message.folder, {
        threads: message.threads,
        quantize: message.quantize,
      });
      maxBatch = batchRequests(model, message.maxBatch ?? 1);
      send({
        type: "loaded",
        arch: model.arch,
        taskPrompts: model.taskPrompts?.(),
        rssBytes: process.memoryUsage().rss,
        loadMs: performance.now() - started,
        maxBatch,
      });
    } catch (e) {
      send({ type: "load-error", error: toWire(e) });
    }
    return;
  }
  if (message.type === "caption") {
    const controller = captions.get(message.id) ?? new AbortController();
    try {
      if (!model) throw fail("INTERNAL", "caption before the model was loaded");
      if (controller.signal.aborted) throw fail("REQUEST_CANCELLED", String(controller.signal.reason));
      const { data, width, height } = message.image;
      const result = await model.caption(
        { data, width, height },
        { ...message.options, signal: controller.signal },
      );
      send({ type: "result", id: message.id, result, rssBytes: process.memoryUsage().rss });
    } catch (e) {
      send({ type: "error", id: message.id, error: toWire(e) });
    } finally {
      captions.delete(message.id);
    }
  }
}

// Loads and captions are handled strictly one after another (the parent sends one caption at a
// time anyway) unless the model batches: then captions run together once the model is loaded, and
// their decoder steps are shared. A cancel is acted on at once, for a caption running or still
// waiting here.
let chain: Promise<void> = Promise.resolve();
process.on("message", (message: ToWorker) => {
  if (message.type === "cancel") {
    captions.get(message.id)?.abort(message.reason);
    return;
  }
  if (message.type === "caption") {
    captions.set(message.id, new AbortController());
    if (maxBatch > 1) {
      void chain.then(() => handle(message));
      return;
    }
  }
  chain = chain.then(() => handle(message));
});
// The parent went away (server killed): nothing left to serve.
process.on("disconnect", () => process.exit(0));
// Ctrl-C (SIGINT to the whole process group) or a group-wide SIGTERM must not end a worker under
// a draining server: the server ends its workers itself once the queue is done.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
