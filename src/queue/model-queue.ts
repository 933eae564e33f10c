// One model's FIFO queue and the worker process that serves it.
//
// Requests for a model are answered strictly in arrival order: one caption runs at a time in the
// model's worker, the rest wait here (at most `maxQueue` of them; past that QUEUE_FULL). The model
// is loaded on first use — every request that arrives meanwhile waits for that one load — and the
// worker is ended after `idleUnloadMs` with nothing queued or running (ending the process is what
// really returns a model's memory to the OS). A worker that dies fails only the request it was
// running; the next request starts a fresh worker.
//
// A request whose client went away, or that ran out of time, is answered at once. Waiting, it
// leaves the queue; running, its generation is cancelled in the worker, which stops between
// decoder steps, stays loaded and takes the next request. Only a worker that does not stop within
// `cancelGraceMs` of being cancelled (a hung model) is ended and started afresh.
import { fail, failWith, isSightlineError, SightlineError } from "../errors.js";
import type { CaptionOptions, CaptionResult, RgbImage } from "../models/types.js";
import { WorkerProcess } from "./worker-process.js";

export interface ModelQueueOptions {
  /** Model name, for messages and metrics. */
  name: string;
  /** Where the model's folder is; called at each load (a hub download may happen here). */
  resolveFolder: () => Promise<string>;
  loaderModule?: string;
  threads?: number;
  /** Requests allowed to wait behind the running one. */
  maxQueue: number;
  /** End the worker after this long idle; 0 = never. */
  idleUnloadMs: number;
  /** A caption that runs longer than this in the worker is cancelled (TIMEOUT). */
  runTimeoutMs: number;
  /** A worker still running a caption this long after it was cancelled is ended (default 15 s). */
  cancelGraceMs?: number;
  /** A model load that takes longer is given up (default 10 minutes). */
  loadTimeoutMs?: number;
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
    info: { queueMs: number; runMs: number; result?: CaptionResult; error?: unknown },
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
  queueMs: number;
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
  settled: boolean;
  resolve(r: QueuedCaption): void;
  reject(e: Error): void;
  cleanup(): void;
}

export class ModelQueue {
  readonly name: string;
  idleUnloadMs: number;
  private readonly waiting: Job[] = [];
  private running: Job | undefined;
  /** Ends a worker that did not stop after its caption was cancelled. */
  private graceTimer: NodeJS.Timeout | undefined;
  private worker: WorkerProcess | undefined;
  private loading: Promise<WorkerProcess> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private unloadWhenIdle = false;
  private closed = false;
  private avgRunMs = 1000;
  private info: ModelInfo | undefined;
  private idleWaiters: (() => void)[] = [];
  /** When the worker will be ended if nothing arrives (ms since epoch), for status pages. */
  expiresAt: number | undefined;
  lastUsedAt: number | undefined;

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

  get busy(): boolean {
    return this.running !== undefined || this.waiting.length > 0;
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

  /** Seconds a client should wait before retrying when the queue is full. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * this.avgRunMs) / 1000));
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
    } else if (this.running === job) {
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
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      if (this.running === job) worker?.stop("unresponsive");
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
      this.loading = (async () => {
        const started = performance.now();
        let worker: WorkerProcess | undefined = undefined;
        try {
          const folder = await this.options.resolveFolder();
          worker = await WorkerProcess.start({
            folder,
            loaderModule: this.options.loaderModule,
            threads: this.options.threads,
            loadTimeoutMs: this.options.loadTimeoutMs,
            onExit: (detail, stoppedFor) => this.onWorkerExit(worker, detail, stoppedFor),
          });
        } catch (e) {
          throw withoutPaths(e, this.name);
        }
        this.worker = worker;
        this.info = { arch: worker.info.arch, taskPrompts: worker.info.taskPrompts };
        this.options.events?.loaded?.(this.name, {
          loadMs: performance.now() - started,
          rssBytes: worker.rssBytes,
          pid: worker.pid,
        });
        return worker;
      })().finally(() => {
        this.loading = undefined;
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
    if (this.running || this.waiting.length === 0) return;
    const job = this.waiting.shift()!;
    this.running = job;
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
        this.options.events?.done?.(this.name, {
          queueMs: performance.now() - job.enqueuedAt,
          runMs: 0,
          error,
        });
        return;
      }
      if (job.settled) return; // timed out or abandoned while the model loaded
      if (this.closed) return this.settle(job, fail("SHUTTING_DOWN"));
      job.startedAt = performance.now();
      const queueMs = job.startedAt - job.enqueuedAt;
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
        this.settle(job, { result, queueMs, runMs });
        this.options.events?.done?.(this.name, { queueMs, runMs, result });
      } catch (e) {
        const runMs = performance.now() - job.startedAt;
        const error = e instanceof Error ? e : fail("INTERNAL", String(e));
        this.settle(job, error); // no-op when the job was answered already (cancelled, timed out)
        this.options.events?.done?.(this.name, { queueMs, runMs, error });
      } finally {
        clearTimeout(guard);
        clearTimeout(this.graceTimer);
      }
    } finally {
      this.running = undefined;
      this.lastUsedAt = Date.now();
      this.reportDepth();
      if (this.waiting.length > 0) {
        void this.pump();
      } else {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
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
    this.options.events?.depth?.(this.name, this.waiting.length, this.running !== undefined);
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
    return new SightlineError(e.code, hidden, { cause: e, retryAfter: e.retryAfter });
  }
  return failWith(e, "INTERNAL", hidden);
}
