// The server's handle on one model worker process: start it, load the model, send captions (and
// cancel them), end it, notice when it dies. One caption at a time, or up to `info.maxBatch` when
// the worker batches them; the ModelQueue decides what to send when.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isAbsolute } from "node:path";
import { fail, SightlineError, errorCatalogue, type ErrorCode } from "../errors.js";
import type { CaptionOptions, CaptionResult, RgbImage } from "../models/types.js";
import type { FromWorker, WireError, WorkerLoad, WorkerLoaded } from "./protocol.js";

export interface WorkerStartOptions {
  folder: string;
  /** Module path or URL exporting loadModel (tests point this at a fake model). */
  loaderModule?: string;
  threads?: number;
  /** Captions run together when the model can batch them (default 1). */
  maxBatch?: number;
  quantize?: WorkerLoad["quantize"];
  /** A load that takes longer is given up and its process ended (default 10 minutes). */
  loadTimeoutMs?: number;
  /**
   * Called once when the process ends for any reason: `stoppedFor` is the reason given to stop(),
   * undefined when the process died on its own (a crash).
   */
  onExit?: (detail: string, stoppedFor: string | undefined) => void;
}

/** Rebuilds a catalogue error that crossed the process boundary. */
export function fromWire(error: WireError): SightlineError {
  const e =
    error.code && error.code in errorCatalogue
      ? new SightlineError(error.code as ErrorCode, error.message)
      : fail("INTERNAL", error.message);
  // The worker's stack says where it failed; this process's would only say where the answer arrived.
  if (error.stack) e.stack = `${error.stack}\n    (in the model worker process)`;
  return e;
}

/** Worker entry and node flags: the .ts source under tsx when we run from sources, else dist JS. */
function workerEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) {
    return { file: here.replace(/worker-process\.ts$/, "worker.ts"), execArgv: ["--import", "tsx"] };
  }
  const js = here.replace(/worker-process\.js$/, "worker.js");
  if (!existsSync(js)) throw fail("INTERNAL", `worker entry ${js} is missing`);
  return { file: js, execArgv: [] };
}

function loaderUrl(loaderModule: string | undefined): string | undefined {
  if (!loaderModule) return undefined;
  return isAbsolute(loaderModule) ? pathToFileURL(loaderModule).href : loaderModule;
}

interface Pending {
  resolve: (r: CaptionResult) => void;
  reject: (e: Error) => void;
}

export class WorkerProcess {
  readonly info: WorkerLoaded;
  /** Resident memory of the worker as it last reported it. */
  rssBytes: number;
  private nextId = 1;
  private stoppedFor: string | undefined;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    info: WorkerLoaded,
  ) {
    this.info = info;
    this.rssBytes = info.rssBytes;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Forks a worker and loads the model in it; rejects (and ends the process) if loading fails. */
  static start(options: WorkerStartOptions): Promise<WorkerProcess> {
    const { file, execArgv } = workerEntry();
    const child = fork(file, [], {
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: process.env,
    });
    return new Promise((resolve, reject) => {
      let worker: WorkerProcess | undefined;
      let exitDetail = "";
      const loadTimeoutMs = options.loadTimeoutMs ?? 600_000;
      const loadTimer = setTimeout(() => {
        exitDetail = `loading took longer than ${loadTimeoutMs / 1000} s`;
        child.kill("SIGKILL");
      }, loadTimeoutMs);
      const onMessage = (m: FromWorker) => {
        if (!worker) {
          if (m.type === "loaded") {
            clearTimeout(loadTimer);
            worker = new WorkerProcess(child, m);
            resolve(worker);
          } else if (m.type === "load-error") {
            clearTimeout(loadTimer);
            child.kill("SIGKILL");
            reject(fromWire(m.error));
          }
          return;
        }
        worker.onMessage(m);
      };
      child.on("message", onMessage);
      child.on("error", (e) => {
        exitDetail = e.message;
      });
      child.on("exit", (code, signal) => {
        clearTimeout(loadTimer);
        const detail = exitDetail || (signal ? `killed by ${signal}` : `exited with code ${code}`);
        if (worker) worker.onExit(detail);
        else reject(fail("WORKER_CRASHED", `while loading the model: ${detail}`));
        options.onExit?.(detail, worker?.stoppedFor);
      });
      child.send({
        type: "load",
        folder: options.folder,
        loaderModule: loaderUrl(options.loaderModule),
        threads: options.threads,
        maxBatch: options.maxBatch,
        quantize: options.quantize,
      });
    });
  }

  /**
   * Captions `image`. When `options.signal` aborts, the worker is told to stop this caption; it
   * answers (REQUEST_CANCELLED, or the result if the model finished first) and takes the next one.
   */
  caption(image: RgbImage, options: CaptionOptions): Promise<CaptionResult> {
    if (this.exited) return Promise.reject(fail("WORKER_CRASHED", "the worker is not running"));
    const id = this.nextId++;
    const { signal, ...wire } = options;
    return new Promise<CaptionResult>((resolve, reject) => {
      const onAbort = () => {
        if (this.pending.has(id) && !this.exited) {
          this.child.send({ type: "cancel", id, reason: String(signal?.reason ?? "cancelled") });
        }
      };
      const forget = () => signal?.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        resolve: (r) => (forget(), resolve(r)),
        reject: (e) => (forget(), reject(e)),
      });
      this.child.send({
        type: "caption",
        id,
        image: { data: image.data, width: image.width, height: image.height },
        options: wire,
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Ends the process on purpose (idle unload, shutdown, an unresponsive model), with SIGKILL: a
   * model mid-inference does not need to be asked twice. onExit reports `reason`.
   */
  stop(reason: string): void {
    if (this.exited) return;
    this.stoppedFor ??= reason;
    this.child.kill("SIGKILL");
  }

  /** Resolves when the process has exited. */
  waitExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  private onMessage(m: FromWorker): void {
    if (m.type !== "result" && m.type !== "error") return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === "result") {
      this.rssBytes = m.rssBytes;
      p.resolve(m.result);
    } else {
      p.reject(fromWire(m.error));
    }
  }

  private onExit(detail: string): void {
    this.exited = true;
    for (const p of this.pending.values()) p.reject(fail("WORKER_CRASHED", detail));
    this.pending.clear();
  }
}
