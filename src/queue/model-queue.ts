// One model's FIFO queue and the worker process that serves it.
//
// Requests for a model are answered strictly in arrival order: one caption runs at a time in the
// model's worker, the rest wait here (at most `maxQueue` of them; past that QUEUE_FULL). The model
// is loaded on first use — every request that arrives meanwhile waits for that one load — and the
// worker is ended after `idleUnloadMs` with nothing queued or running (ending the process is what
// really returns a model's memory to the OS). A worker that dies fails only the request it was
// running; the next request starts a fresh worker. With a resident-model cap (`slots`), a load
// first takes a slot, which may end another model's idle worker (resident-models.ts).
//
// A request whose client went away, or that ran out of time, is answered at once. Waiting, it
// leaves the queue; running, its generation is cancelled in the worker, which stops between
// decoder steps, stays loaded and takes the next request. Only a worker that does not stop within
// `cancelGraceMs` of being cancelled (a hung model) is ended and started afresh.
//
// Batching (`maxBatch` > 1, for a worker whose model can batch): up to maxBatch requests run in the
// worker at once, sharing its decoder steps; the oldest waiting one joins as soon as one finishes.
import { fail, failWith, isSightlineError, SightlineError } from "../errors.js";
import type { CaptionOptions, CaptionResult, RgbImage } from "../models/types.js";
import type { LoadSlots, ResidentModel } from "./resident-models.js";
import type { WorkerLoad } from "./protocol.js";
import { WorkerProcess } from "./worker-process.js";

export interface ModelQueueOptions {
  /** Model name, for messages and metrics. */
  name: string;
  /** Where the model's folder is; called at each load (a hub download may happen here). */
  resolveFolder: () => Promise<string>;
  loaderModule?: string;
  threads?: number;
  /** Weight-only quantization of this model (`--quantize`); default float32. */
  quantize?: WorkerLoad["quantize"];
  /** Requests allowed to wait behind the running one. */
  maxQueue: number;
  /** End the worker after this long idle; 0 = never. */
  idleUnloadMs: number;
  /** A caption that runs longer than this in the worker is cancelled (TIMEOUT). */
  runTimeoutMs: number;
  /** A worker still running a caption this long after it was cancelled is ended (default 15 s). */
  cancelGraceMs?: number;
  /** Requests run together in the worker when its model can batch them (default 1: one at a time). */
  maxBatch?: number;
  /** A model load that takes longer is given up (default 10 minutes). */
  loadTimeoutMs?: number;
  /** The resident-model cap shared by all queues (`--max-loaded-models`); none: no cap. */
  slots?: LoadSlots;
  events?: ModelQueueEvents;
}

/** What the queue reports, for metrics and logs. */
export interface ModelQueueEvents {
  loaded?(model: string, info: { loadMs: number; rssBytes: number; pid?: number }): void;
  unloaded?(model: string, info: { reason: string; rssBytes: number }): void;
  crashed?(model: string, detail: string): void;
  depth?(model: string, waiting: number, running: boolean): void;
  done?(
    model: string,
    info: { queueMs: number; loadWaitMs: number; runMs: number; result?: CaptionResult; error?: unknown },
  ): void;
}

export interface SubmitOptions {
  /** Total time the caller waits (queue + run), ms; past it TIMEOUT, and the run is cancelled. */
  timeoutMs?: number;
  /** The client went away: a waiting request leaves the queue, a running one is cancelled. */
  signal?: AbortSignal;
}

export interface QueuedCaption {
  result: CaptionResult;
  /** Waiting behind other requests (not counting loadWaitMs). */
  queueMs: number;
  /** Waiting for the model to load (0 when it was loaded). */
  loadWaitMs: number;
  runMs: number;
}

export interface ModelInfo {
  arch: string;
  taskPrompts?: Record<string, string>;
}

export type QueueState = "unloaded" | "loading" | "ready";

interface Job {
  image: RgbImage;
  options: CaptionOptions;
  /** Aborted to stop the job's model run. */
  cancel: AbortController;
  enqueuedAt: number;
  startedAt?: number;
  /** Ends a worker that did not stop after this job was cancelled. */
  graceTimer?: NodeJS.Timeout;
  settled: boolean;
  resolve(r: QueuedCaption): void;
  reject(e: Error): void;
  cleanup(): void;
}

/** Orders uses across all queues for least-recently-used eviction (clock ticks can tie). */
let useCounter = 0;

export class ModelQueue implements ResidentModel {
  readonly name: string;
  idleUnloadMs: number;
  private readonly waiting: Job[] = [];
  /** Jobs sent to the worker and not answered yet (more than one only when it batches). */
  private readonly running = new Set<Job>();
  private worker: WorkerProcess | undefined;
  private loading: Promise<WorkerProcess> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private unloadWhenIdle = false;
  private closed = false;
  private avgRunMs = 1000;
  /** The latest model load, ms on the performance clock (for load-wait times and Retry-After). */
  private lastLoad: { start: number; end?: number } | undefined;
  private info: ModelInfo | undefined;
  private idleWaiters: (() => void)[] = [];
  /** When the worker will be ended if nothing arrives (ms since epoch), for status pages. */
  expiresAt: number | undefined;
  lastUsedAt: number | undefined;
  /** Grows with each load and finished request of any queue: higher = used more recently. */
  lastUse = 0;

  constructor(private readonly options: ModelQueueOptions) {
    this.name = options.name;
    this.idleUnloadMs = options.idleUnloadMs;
  }

  get state(): QueueState {
    if (this.worker?.alive) return "ready";
    return this.loading ? "loading" : "unloaded";
  }

  /** Requests waiting (not counting the running one). */
  get depth(): number {
    return this.waiting.length;
  }

  /** Requests running in the worker now (more than one when it batches them). */
  get runningCount(): number {
    return this.running.size;
  }

  get busy(): boolean {
    return this.running.size > 0 || this.waiting.length > 0;
  }

  /** Loaded with nothing queued, running or loading: ending it now loses no work. */
  get evictable(): boolean {
    return Boolean(this.worker?.alive) && !this.busy && !this.loading && !this.closed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get pid(): number | undefined {
    return this.worker?.alive ? this.worker.pid : undefined;
  }

  get rssBytes(): number | undefined {
    return this.worker?.alive ? this.worker.rssBytes : undefined;
  }

  /** The model's architecture and task prompts, known after its first load (kept across unloads). */
  get knownInfo(): ModelInfo | undefined {
    return this.info;
  }

  /**
   * Seconds a client should wait before retrying when the queue is full: the work ahead (what waits
   * plus the running request, at the recent average run time) and a model load still to come.
   */
  retryAfterSeconds(): number {
    const load = this.worker?.alive || !this.lastLoad?.end ? 0 : this.lastLoad.end - this.lastLoad.start;
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * this.avgRunMs + load) / 1000));
  }

  /** How much of [from, to] a job spent waiting for the model to load. */
  private loadWaitBetween(from: number, to: number): number {
    if (!this.lastLoad) return 0;
    const end = this.lastLoad.end ?? to;
    return Math.max(0, Math.min(to, end) - Math.max(from, this.lastLoad.start));
  }

  submit(
    image: RgbImage,
    captionOptions: CaptionOptions,
    submit: SubmitOptions = {},
  ): Promise<QueuedCaption> {
    if (this.closed) return Promise.reject(fail("SHUTTING_DOWN"));
    if (this.waiting.length >= this.options.maxQueue) {
      const e = fail("QUEUE_FULL", this.name);
      e.retryAfter = this.retryAfterSeconds();
      return Promise.reject(e);
    }
    return new Promise<QueuedCaption>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.abandon(job, fail("REQUEST_CANCELLED", "the client closed the connection"));
      const job: Job = {
        image,
        options: captionOptions,
        cancel: new AbortController(),
        enqueuedAt: performance.now(),
        settled: false,
        resolve,
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          submit.signal?.removeEventListener("abort", onAbort);
        },
      };
      if (submit.timeoutMs && submit.timeoutMs > 0) {
        const seconds = submit.timeoutMs / 1000;
        timer = setTimeout(
          () => this.abandon(job, fail("TIMEOUT", `no answer from ${this.name} within ${seconds} s`)),
          submit.timeoutMs,
        );
      }
      if (submit.signal) {
        if (submit.signal.aborted) return onAbort();
        submit.signal.addEventListener("abort", onAbort, { once: true });
      }
      this.waiting.push(job);
      this.reportDepth();
      this.pump();
    });
  }

  /** Changes the idle time (Ollama's keep_alive); an idle worker's countdown restarts with it. */
  setIdleUnload(ms: number): void {
    this.idleUnloadMs = ms;
    if (!this.busy && !this.loading) this.scheduleIdle();
  }

  /** Loads the model now if it is not loaded (concurrent callers share one load). */
  async load(): Promise<ModelInfo> {
    if (this.closed) throw fail("SHUTTING_DOWN");
    await this.ensureWorker();
    if (!this.busy) this.scheduleIdle();
    return this.info!;
  }

  /** Ends the worker now if idle, else as soon as the work queued so far is done. */
  unload(reason = "requested"): void {
    if (this.busy || this.loading) {
      this.unloadWhenIdle = true;
      return;
    }
    this.endWorker(reason);
  }

  /** Ends the worker to make room for another model, if it is still idle; resolves on its exit. */
  async evict(): Promise<void> {
    if (!this.evictable) return;
    const worker = this.worker!;
    this.endWorker("evicted");
    await worker.waitExit();
  }

  /** Resolves once nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new work, fails what still waits, ends the worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) this.settle(job, fail("SHUTTING_DOWN"));
    this.reportDepth();
    this.options.slots?.notify(); // a load of ours waiting for room gives up
    if (this.loading) await this.loading.catch(() => {});
    const worker = this.worker;
    this.endWorker("shutdown");
    await worker?.waitExit();
  }

  /** Answers `job` with `error` now: out of the queue if it waits, cancelled in the worker if it runs. */
  private abandon(job: Job, error: Error): void {
    if (job.settled) return;
    const i = this.waiting.indexOf(job);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.reportDepth();
    } else if (this.running.has(job)) {
      this.cancelRunning(job, error.message);
    }
    this.settle(job, error);
  }

  /**
   * Tells the worker to stop `job` (it answers within a decoder step and takes the next request);
   * a worker that has not answered `cancelGraceMs` later is hung and is ended.
   */
  private cancelRunning(job: Job, reason: string): void {
    if (job.cancel.signal.aborted) return;
    job.cancel.abort(reason);
    const graceMs = this.options.cancelGraceMs ?? 15_000;
    const worker = this.worker;
    clearTimeout(job.graceTimer);
    job.graceTimer = setTimeout(() => {
      if (this.running.has(job)) worker?.stop("unresponsive");
    }, graceMs);
  }

  private settle(job: Job, outcome: QueuedCaption | Error): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }

  private ensureWorker(): Promise<WorkerProcess> {
    if (this.worker?.alive) return Promise.resolve(this.worker);
    if (!this.loading) {
      this.clearIdle();
      const load = { start: performance.now() } as { start: number; end?: number };
      this.lastLoad = load;
      this.loading = (async () => {
        const slots = this.options.slots;
        await slots?.acquire(this);
        // Until a process exists, a failure here gives the slot back; after, the exit does.
        let processStarted = false;
        try {
          if (this.closed) throw fail("SHUTTING_DOWN");
          const folder = await this.options.resolveFolder();
          const started = performance.now();
          let worker: WorkerProcess | undefined = undefined;
          const starting = WorkerProcess.start({
            folder,
            loaderModule: this.options.loaderModule,
            threads: this.options.threads,
            maxBatch: this.options.maxBatch,
            quantize: this.options.quantize,
            loadTimeoutMs: this.options.loadTimeoutMs,
            onExit: (detail, stoppedFor) => {
              this.onWorkerExit(worker, detail, stoppedFor);
              slots?.release(this);
            },
          });
          processStarted = true;
          worker = await starting;
          this.worker = worker;
          this.lastUse = ++useCounter;
          this.info = { arch: worker.info.arch, taskPrompts: worker.info.taskPrompts };
          this.options.events?.loaded?.(this.name, {
            loadMs: performance.now() - started,
            rssBytes: worker.rssBytes,
            pid: worker.pid,
          });
          return worker;
        } catch (e) {
          if (!processStarted) slots?.release(this);
          throw withoutPaths(e, this.name);
        }
      })().finally(() => {
        load.end = performance.now();
        this.loading = undefined;
        if (!this.busy) this.options.slots?.notify(); // loaded and idle (a preload): evictable now
      });
    }
    return this.loading;
  }

  private onWorkerExit(
    worker: WorkerProcess | undefined,
    detail: string,
    stoppedFor: string | undefined,
  ): void {
    if (!worker) return; // failed during load: the load's rejection reports it
    if (this.worker === worker) this.worker = undefined;
    this.expiresAt = undefined;
    if (stoppedFor === undefined) this.options.events?.crashed?.(this.name, detail);
    else if (stoppedFor === "unresponsive") {
      const graceS = (this.options.cancelGraceMs ?? 15_000) / 1000;
      this.options.events?.crashed?.(
        this.name,
        `did not stop within ${graceS} s of being cancelled; ended it`,
      );
    }
  }

  private async pump(): Promise<void> {
    if (this.running.size >= this.capacity() || this.waiting.length === 0) return;
    const job = this.waiting.shift()!;
    this.running.add(job);
    this.clearIdle();
    this.reportDepth();
    try {
      let worker: WorkerProcess;
      try {
        worker = await this.ensureWorker();
      } catch (e) {
        // Everyone waiting was waiting for this load: they all get its error.
        const error = e instanceof Error ? e : fail("INTERNAL", String(e));
        this.settle(job, error);
        for (const other of this.waiting.splice(0)) this.settle(other, error);
        const waited = performance.now() - job.enqueuedAt;
        const loadWaitMs = this.loadWaitBetween(job.enqueuedAt, performance.now());
        this.options.events?.done?.(this.name, {
          queueMs: waited - loadWaitMs,
          loadWaitMs,
          runMs: 0,
          error,
        });
        return;
      }
      if (job.settled) return; // timed out or abandoned while the model loaded
      if (this.closed) return this.settle(job, fail("SHUTTING_DOWN"));
      void this.pump(); // a batching worker takes more requests beside this one
      job.startedAt = performance.now();
      const loadWaitMs = this.loadWaitBetween(job.enqueuedAt, job.startedAt);
      const queueMs = job.startedAt - job.enqueuedAt - loadWaitMs;
      const runLimitS = this.options.runTimeoutMs / 1000;
      const guard = setTimeout(
        () =>
          this.abandon(job, fail("TIMEOUT", `${this.name} ran longer than ${runLimitS} s; it was stopped`)),
        this.options.runTimeoutMs,
      );
      try {
        const result = await worker.caption(job.image, { ...job.options, signal: job.cancel.signal });
        const runMs = performance.now() - job.startedAt;
        this.avgRunMs = 0.8 * this.avgRunMs + 0.2 * runMs;
        this.settle(job, { result, queueMs, loadWaitMs, runMs });
        this.options.events?.done?.(this.name, { queueMs, loadWaitMs, runMs, result });
      } catch (e) {
        const runMs = performance.now() - job.startedAt;
        const error = e instanceof Error ? e : fail("INTERNAL", String(e));
        this.settle(job, error); // no-op when the job was answered already (cancelled, timed out)
        this.options.events?.done?.(this.name, { queueMs, loadWaitMs, runMs, error });
      } finally {
        clearTimeout(guard);
        clearTimeout(job.graceTimer);
      }
    } finally {
      this.running.delete(job);
      this.lastUsedAt = Date.now();
      this.lastUse = ++useCounter;
      this.reportDepth();
      if (this.waiting.length > 0) {
        void this.pump();
      } else if (this.running.size === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
        this.options.slots?.notify();
        if (this.unloadWhenIdle) {
          this.unloadWhenIdle = false;
          this.endWorker("requested");
        } else {
          this.scheduleIdle();
        }
      }
    }
  }

  private scheduleIdle(): void {
    this.clearIdle();
    if (!this.worker?.alive || this.idleUnloadMs <= 0 || this.closed) return;
    this.expiresAt = Date.now() + this.idleUnloadMs;
    this.idleTimer = setTimeout(() => {
      if (!this.busy && !this.loading) this.endWorker("idle");
    }, this.idleUnloadMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.expiresAt = undefined;
  }

  private endWorker(reason: string): void {
    this.clearIdle();
    this.unloadWhenIdle = false;
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const rssBytes = worker.rssBytes;
    worker.stop(reason);
    this.options.events?.unloaded?.(this.name, { reason, rssBytes });
  }

  private reportDepth(): void {
    this.options.events?.depth?.(this.name, this.waiting.length, this.running.size > 0);
  }

  /** Jobs the worker may run at once: maxBatch once a loaded worker says it can batch, else 1. */
  private capacity(): number {
    const worker = this.worker?.alive ? this.worker : undefined;
    return Math.max(1, Math.min(this.options.maxBatch ?? 1, worker?.info.maxBatch ?? 1));
  }
}

// An absolute path (POSIX or Windows) standing where a message names a file or folder.
const absolutePath = /(^|[\s"'(=])((?:[A-Za-z]:)?[\\/][^\s"'(),;]*)/g;

/**
 * A load failure as clients may see it: the model's folder (and any other absolute path) named by
 * the model instead; the original error, paths and all, stays as the cause for the server's log.
 */
function withoutPaths(e: unknown, model: string): Error {
  const message = e instanceof Error ? e.message : String(e);
  const hidden = message.replace(absolutePath, `$1<folder of ${model}>`);
  if (hidden === message && e instanceof Error) return e;
  if (isSightlineError(e)) {
    return new SightlineError(e.code, hidden, { cause: e, status: e.status, retryAfter: e.retryAfter });
  }
  return failWith(e, "INTERNAL", hidden);
}
