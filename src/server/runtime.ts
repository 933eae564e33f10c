// Everything long-lived in a server, in one place: the model registry, one queue (and worker)
// per model, the metrics. The app factory takes a Runtime (or builds one); tests build their own
// with a fake model loader and drive the same code paths.
import { fail, isSightlineError, withStatus } from "../errors.js";
import { quantizedCacheDir, type QuantizeMode } from "../graph/quantize.js";
import { defaultModelsDir } from "../hub/settings.js";
import type { NsfwVariant } from "../nsfw/bundled.js";
import { NsfwDetector } from "../nsfw/detector.js";
import type { CaptionOptions, RgbImage } from "../models/types.js";
import {
  ModelQueue,
  type ModelInfo,
  type ModelQueueEvents,
  type ModelQueueOptions,
  type QueuedCaption,
} from "../queue/model-queue.js";
import { ResidentModels } from "../queue/resident-models.js";
import { DEFAULT_MAX_BATCH } from "../queue/batching.js";
import { Metrics } from "./metrics.js";
import {
  folderResolver,
  ModelRegistry,
  type HubResolve,
  type ModelEntry,
  type ModelResolver,
} from "./models.js";

export interface RuntimeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface RuntimeOptions {
  /** NAME → folder or hub reference (`--model NAME=DIR`). */
  models?: Record<string, string>;
  modelsDir?: string;
  defaultModel?: string;
  florenceModel?: string;
  /** How a model entry becomes a folder; default: local folders, then `hub` when given. */
  resolver?: ModelResolver;
  hub?: HubResolve;
  offline?: boolean;
  /** `--allow-pull`: requests may download seed and alias models (see models.ts). */
  allowPull?: boolean;
  /** Refuse model folders whose only weights are PyTorch pickles (`--safetensors-only`). */
  safetensorsOnly?: boolean;
  /** Module exporting loadModel() for the workers (tests: a fake model); default src/models. */
  loaderModule?: string;
  /** ORT threads per worker. */
  threads?: number;
  /** Model name → weight quantization (`--quantize`; "*": every other model); default float32. */
  quantize?: Record<string, QuantizeMode | "none">;
  /** Requests waiting per model beyond the running one (default 32). */
  maxQueue?: number;
  /** Requests a model's worker runs together, sharing decoder steps (default 8; 1 = one at a time). */
  maxBatch?: number;
  /** Seconds idle before a worker ends (default 300; 0 = never). */
  idleUnloadSeconds?: number;
  /** Seconds a request may wait for its answer, queue included (default 600; 0 = no limit). */
  requestTimeoutSeconds?: number;
  /** HTTP status of a full queue: 429 (default, what PhotoPrism retries) or 503 (Ollama's). */
  busyStatus?: 429 | 503;
  /** The NSFW classifier (nsfwjs' MobileNetV2 unless set), or "off" for none. */
  nsfwModel?: NsfwVariant | "off";
  /** Unsafe at or above this score (default 0.75). */
  nsfwThreshold?: number;
  /** Worker loader module of the NSFW classifier (tests). */
  nsfwLoaderModule?: string;
  /** Models loaded by preload() at start (`--preload`); not ready until they are; never idle-unloaded. */
  preload?: string[];
  /** Most models resident at once; the least recently used idle one makes room (0 = no cap). */
  maxLoadedModels?: number;
  metrics?: Metrics;
  logger?: RuntimeLogger;
}

export interface RuntimeCaption extends QueuedCaption {
  model: ModelEntry;
}

export interface LoadedModel {
  name: string;
  arch?: string;
  pid?: number;
  rssBytes?: number;
  /** ms since epoch when idle unload will end it, if scheduled. */
  expiresAt?: number;
  lastUsedAt?: number;
  state: string;
  waiting: number;
}

const silent: RuntimeLogger = { info() {}, warn() {} };

export class Runtime {
  readonly registry: ModelRegistry;
  readonly metrics: Metrics;
  readonly maxQueue: number;
  readonly requestTimeoutMs: number;
  readonly busyStatus: 429 | 503;
  /** The NSFW detector; undefined with nsfwModel "off". */
  readonly nsfw: NsfwDetector | undefined;
  private readonly idleUnloadMs: number;
  private readonly queues = new Map<string, ModelQueue>();
  private readonly resolver: ModelResolver;
  private readonly log: RuntimeLogger;
  private draining = false;
  private closedPromise: Promise<void> | undefined;
  private readonly resident: ResidentModels;
  private readonly preloadNames: string[];
  private preloadState: "pending" | "done" | "failed";

  constructor(private readonly options: RuntimeOptions = {}) {
    this.resolver =
      options.resolver ??
      folderResolver({
        modelsDir: options.modelsDir,
        hub: options.hub,
        safetensorsOnly: options.safetensorsOnly,
      });
    this.registry = new ModelRegistry({
      models: options.models,
      defaultModel: options.defaultModel,
      florenceModel: options.florenceModel,
      allowPull: options.allowPull,
      offline: options.offline,
      preload: options.preload,
    });
    this.metrics = options.metrics ?? new Metrics();
    this.maxQueue = options.maxQueue ?? 32;
    this.idleUnloadMs = (options.idleUnloadSeconds ?? 300) * 1000;
    this.requestTimeoutMs = (options.requestTimeoutSeconds ?? 600) * 1000;
    this.busyStatus = options.busyStatus ?? 429;
    this.log = options.logger ?? silent;
    this.nsfw =
      options.nsfwModel === "off"
        ? undefined
        : new NsfwDetector({
            variant: options.nsfwModel,
            threshold: options.nsfwThreshold,
            threads: options.threads,
            maxQueue: this.maxQueue,
            idleUnloadMs: this.idleUnloadMs,
            runTimeoutMs: this.requestTimeoutMs > 0 ? this.requestTimeoutMs : 2 ** 31 - 1,
            loaderModule: options.nsfwLoaderModule,
            events: this.queueEvents(),
          });
    this.resident = new ResidentModels(options.maxLoadedModels ?? 0, (victim, forModel) =>
      this.log.info(
        { model: victim.name, for: forModel.name, maxLoadedModels: options.maxLoadedModels },
        "ending the least recently used idle model to make room",
      ),
    );
    // Unknown names fail here, at startup, not when the first request comes.
    this.preloadNames = [...new Set((options.preload ?? []).map((name) => this.registry.get(name).name))];
    const max = options.maxLoadedModels ?? 0;
    if (max > 0 && this.preloadNames.length > max) {
      throw fail(
        "INVALID_ARGUMENT",
        `--preload names ${this.preloadNames.length} models but --max-loaded-models is ${max}`,
      );
    }
    this.preloadState = this.preloadNames.length > 0 ? "pending" : "done";
  }

  /**
   * Ready for work: not draining, and every --preload model loaded. "loading" until preload() is
   * done, "failed" when it failed.
   */
  get readiness(): "ready" | "loading" | "failed" | "draining" {
    if (this.draining) return "draining";
    return this.preloadState === "done" ? "ready" : this.preloadState === "pending" ? "loading" : "failed";
  }

  /** The --preload models, in the order given. */
  get preloads(): readonly string[] {
    return this.preloadNames;
  }

  /** Loads the --preload models one after another and keeps them loaded (no idle unload). */
  async preload(): Promise<void> {
    for (const name of this.preloadNames) {
      const queue = this.queue(name);
      queue.setIdleUnload(0);
      try {
        await queue.load();
      } catch (e) {
        this.preloadState = "failed";
        this.log.warn({ model: name, err: e }, `preloading ${name} failed`);
        throw e;
      }
    }
    this.preloadState = "done";
  }

  /** A full queue answers with the configured busy status. */
  busy(e: unknown): unknown {
    return isSightlineError(e) && e.code === "QUEUE_FULL" ? withStatus(e, this.busyStatus) : e;
  }

  /** True once shutdown began: new work is refused. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** The `--quantize` setting of model `name`; quantized weights are cached beside the downloaded models. */
  private quantizeFor(name: string): ModelQueueOptions["quantize"] {
    const mode = this.options.quantize?.[name] ?? this.options.quantize?.["*"];
    if (!mode || mode === "none") return undefined;
    return { mode, cacheDir: quantizedCacheDir(this.options.modelsDir ?? defaultModelsDir()) };
  }

  /** The queue of a configured model (created on first use). */
  queue(name?: string): ModelQueue {
    const entry = this.registry.get(name);
    let q = this.queues.get(entry.name);
    if (!q) {
      q = new ModelQueue({
        name: entry.name,
        resolveFolder: () => this.locate(entry),
        loaderModule: this.options.loaderModule,
        threads: this.options.threads,
        quantize: this.quantizeFor(entry.name),
        maxQueue: this.maxQueue,
        maxBatch: this.options.maxBatch ?? DEFAULT_MAX_BATCH,
        idleUnloadMs: this.idleUnloadMs,
        runTimeoutMs: this.requestTimeoutMs > 0 ? this.requestTimeoutMs : 2 ** 31 - 1,
        slots: this.resident,
        events: this.queueEvents(),
      });
      this.queues.set(entry.name, q);
    }
    return q;
  }

  /** What the queues report, as metrics and log lines. */
  private queueEvents(): ModelQueueEvents {
    const m = this.metrics;
    return {
      loaded: (model, info) => {
        m.modelLoaded.set({ model }, 1);
        m.workerRss.set({ model }, info.rssBytes);
        m.stageDuration.observe({ model, stage: "load" }, info.loadMs / 1000);
        this.log.info({ model, ...info }, "model loaded");
      },
      unloaded: (model, info) => {
        m.modelLoaded.set({ model }, 0);
        m.workerRss.set({ model }, 0);
        this.log.info({ model, ...info }, "model unloaded, worker process ended");
      },
      crashed: (model, detail) => {
        m.modelLoaded.set({ model }, 0);
        m.workerRestarts.inc({ model });
        this.log.warn({ model, detail }, "model worker died");
      },
      depth: (model, waiting) => m.queueDepth.set({ model }, waiting),
      done: (model, info) => {
        const cancelled = isSightlineError(info.error) && info.error.code === "REQUEST_CANCELLED";
        const outcome = cancelled ? "cancelled" : info.error ? "error" : "ok";
        m.captions.inc({ model, outcome });
        m.stageDuration.observe({ model, stage: "queue" }, info.queueMs / 1000);
        if (info.loadWaitMs > 0)
          m.stageDuration.observe({ model, stage: "load_wait" }, info.loadWaitMs / 1000);
        // Where the time went, per request: waiting for a load, waiting behind others, running. At
        // debug: the request's own log line (logging.ts) is the one line per request at info.
        this.log.debug?.(
          {
            model,
            loadWaitMs: Math.round(info.loadWaitMs),
            queueMs: Math.round(info.queueMs),
            runMs: Math.round(info.runMs),
            outcome,
          },
          "model request done",
        );
        if (info.result) {
          m.stageDuration.observe({ model, stage: "run" }, info.runMs / 1000);
          const t = info.result.timings;
          if (t) {
            m.stageDuration.observe({ model, stage: "preprocess" }, t.preprocess / 1000);
            m.stageDuration.observe({ model, stage: "encode" }, t.encode / 1000);
            m.stageDuration.observe({ model, stage: "decode" }, t.decode / 1000);
          }
        }
      },
    };
  }

  /** Captions `image` with model `name` (default model when absent), in that model's FIFO order. */
  async caption(
    name: string | undefined,
    image: RgbImage,
    options: CaptionOptions = {},
    extra: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<RuntimeCaption> {
    if (this.draining) throw fail("SHUTTING_DOWN");
    const model = this.registry.get(name);
    const queued = await this.queue(model.name)
      .submit(image, options, { signal: extra.signal, timeoutMs: extra.timeoutMs ?? this.requestTimeoutMs })
      .catch((e) => Promise.reject(this.busy(e)));
    return { model, ...queued };
  }

  /**
   * The models a client can use now: configured ones, and seed or alias names that are in the
   * models folder or may be downloaded (--allow-pull). What /v1/models, /api/tags and the try-it
   * page list. Looks at local folders only, never at the hub.
   */
  async servable(): Promise<ModelEntry[]> {
    const entries = this.registry.list();
    const usable = await Promise.all(
      entries.map((entry) =>
        this.checkServable(entry).then(
          () => true,
          () => false,
        ),
      ),
    );
    return entries.filter((_, i) => usable[i]);
  }

  /**
   * Throws when `entry` is not in the models folder and may not be downloaded (MODEL_NOT_FOUND for
   * a seed or alias name, MODEL_NOT_DOWNLOADED for a configured one on an offline server); cheap
   * (local folders only), so requests fail before any image is read.
   */
  async checkServable(entry: ModelEntry): Promise<void> {
    if (this.registry.mayDownload(entry)) return;
    if (this.queues.get(entry.name)?.knownInfo) return; // loaded before
    await this.locate(entry);
  }

  /** The folder of `entry`, downloading it only when this server may (see ModelRegistry.mayDownload). */
  private async locate(entry: ModelEntry): Promise<string> {
    const download = this.registry.mayDownload(entry);
    try {
      return await this.resolver(entry, { download });
    } catch (e) {
      if (!download && isSightlineError(e) && e.code === "MODEL_NOT_DOWNLOADED") {
        throw this.registry.notDownloaded(entry);
      }
      throw e;
    }
  }

  /** Architecture and task prompts; loads the model if it was never loaded. */
  async modelInfo(name?: string): Promise<ModelInfo> {
    const q = this.queue(name);
    return q.knownInfo ?? (await q.load());
  }

  /** Loads a model now (Ollama's keep_alive preload). */
  async load(name?: string): Promise<ModelInfo> {
    if (this.draining) throw fail("SHUTTING_DOWN");
    return this.queue(name).load();
  }

  /** Ends a model's worker now, or after the work already queued for it. */
  unload(name?: string): void {
    this.queue(name).unload();
  }

  /** Changes how long a model stays loaded when idle (Ollama's keep_alive); 0 = never unload. */
  setIdleUnload(name: string | undefined, seconds: number): void {
    this.queue(name).setIdleUnload(seconds * 1000);
  }

  /** Models with a running (or starting) worker. */
  loaded(): LoadedModel[] {
    return [...this.queues.values(), ...(this.nsfw ? [this.nsfw.queue] : [])]
      .filter((q) => q.state !== "unloaded")
      .map((q) => ({
        name: q.name,
        arch: q.knownInfo?.arch,
        pid: q.pid,
        rssBytes: q.rssBytes,
        expiresAt: q.expiresAt,
        lastUsedAt: q.lastUsedAt,
        state: q.state,
        waiting: q.depth,
      }));
  }

  /**
   * Shutdown: refuse new work, let what is queued finish for at most `drainMs`, then fail what is
   * left and end every worker. Safe to call more than once.
   */
  close(drainMs = 0): Promise<void> {
    this.draining = true;
    this.closedPromise ??= (async () => {
      const queues = [...this.queues.values()];
      if (drainMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...queues, ...(this.nsfw ? [this.nsfw.queue] : [])].map((q) => q.whenIdle())),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
        ]);
        clearTimeout(timer);
      }
      await Promise.all([...queues.map((q) => q.close()), this.nsfw?.close()]);
    })();
    return this.closedPromise;
  }

  /** Refuses new work from now on (the HTTP side is closing); queued work continues. */
  beginDrain(): void {
    this.draining = true;
  }
}
