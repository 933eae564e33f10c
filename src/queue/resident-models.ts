// The cap on how many models are resident at once (`--max-loaded-models`, Ollama's
// OLLAMA_MAX_LOADED_MODELS). A model's queue takes a slot before it starts a worker and gives it
// back when that worker process has exited. When every slot is taken, the least recently used
// idle model's worker is ended to make room; a model with queued or running work is never ended
// for another: the load waits until one goes idle (bounded by the request's own timeout).
import { fail } from "../errors.js";

/** What the cap needs to know of a model's queue. */
export interface ResidentModel {
  readonly name: string;
  /** Loaded, nothing queued or running, not loading: ending its worker loses no work. */
  readonly evictable: boolean;
  /** The queue no longer takes work (shutdown): a load waiting for a slot gives up. */
  readonly isClosed: boolean;
  /** Grows with each load or finished request of any model: lowest = least recently used. */
  readonly lastUse: number;
  /** Ends the worker if still evictable; resolves once the process has exited. */
  evict(): Promise<void>;
}

/** How a ModelQueue asks for room before it loads (see ResidentModels). */
export interface LoadSlots {
  /** Resolves when `model` may start a worker; may end another model's idle worker first. */
  acquire(model: ResidentModel): Promise<void>;
  /** `model`'s worker process is gone (or its load failed): its slot is free. */
  release(model: ResidentModel): void;
  /** Something changed (a model went idle, a queue closed): waiting loads look again. */
  notify(): void;
}

export class ResidentModels implements LoadSlots {
  private readonly resident = new Set<ResidentModel>();
  private waiters: (() => void)[] = [];

  /** `max` ≤ 0: no cap. */
  constructor(
    readonly max: number,
    private readonly onEvict?: (victim: ResidentModel, forModel: ResidentModel) => void,
  ) {}

  /** Models holding a slot (loaded or loading), for tests and status. */
  get count(): number {
    return this.resident.size;
  }

  async acquire(model: ResidentModel): Promise<void> {
    for (;;) {
      if (model.isClosed) throw fail("SHUTTING_DOWN");
      if (this.max <= 0 || this.resident.size < this.max) {
        this.resident.add(model);
        return;
      }
      const victim = this.leastRecentlyUsedIdle();
      if (victim) {
        this.onEvict?.(victim, model);
        // Its slot comes back through release() when the process has exited; another waiting load
        // may take it first, so look again rather than assume it is ours.
        await victim.evict();
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(model: ResidentModel): void {
    if (this.resident.delete(model)) this.notify();
  }

  notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private leastRecentlyUsedIdle(): ResidentModel | undefined {
    let best: ResidentModel | undefined;
    for (const m of this.resident) {
      if (!m.evictable) continue;
      if (!best || m.lastUse < best.lastUse) best = m;
    }
    return best;
  }
}
