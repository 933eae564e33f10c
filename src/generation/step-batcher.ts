// Batching across requests: the generate() loops of several requests (greedy or beam search, any
// settings) share one KvDecoder run. Each request's loop gets a DecoderSession from the batcher; the
// steps they ask for are gathered and run as one decoder step whose rows are all their rows (beams).
// A request that stops asking (finished, cancelled between steps, failed) has its rows dropped at the
// next step; a request that arrives while others run has its prompt run in a step of its own (with the
// other newcomers) and its cache joined to the running batch, so nobody waits for a batch to drain.
// Every row gives the tokens it gives alone: the decoder masks left padding and other rows' images.
//
// When the batch steps: a step is gathered once the loops it answered have asked again (they do so
// synchronously after their await, so by the next turn of the event loop) — a loop that has not asked
// by then has ended and leaves the batch.
import { fail } from "../errors.js";
import type { DecoderSession, StepOutput } from "./decoder-session.js";
import { joinCaches, type KvCache } from "./kv-cache.js";
import type { KvDecoder, RowSource, StepObserver } from "./kv-decoder.js";

/** What one request's generate() holds as its cache: a ticket for its rows in the shared batch. */
export interface BatchedRows {
  readonly batchRequest: number;
}

/** One batched step, as tests and benchmarks see it. */
export interface BatchStep {
  /** Requests whose rows the step ran (joining ones included), rows in all. */
  requests: number;
  rows: number;
  /** Requests whose prompt was run (they joined at this step) and requests that left before it. */
  joined: number;
  left: number;
}

interface PendingStep {
  tokens: number[][];
  resolve(out: StepOutput<BatchedRows>): void;
  reject(e: unknown): void;
}

interface Member<S> {
  readonly id: number;
  readonly source: S;
  readonly observe?: StepObserver;
  readonly ticket: BatchedRows;
  /** Rows it holds in the batch's cache (set by its first step). */
  rows: number;
  /** Beam reordering asked for since its last step: row i continues its row reorder[i]. */
  reorder?: number[];
  pending?: PendingStep;
  ended: boolean;
}

let nextRequest = 1;

export class StepBatcher<S extends RowSource> {
  /** Requests with rows in `cache`, in row order. */
  private members: Member<S>[] = [];
  /** Requests whose first step waits for the next batched step. */
  private arrivals: Member<S>[] = [];
  /** Requests in the step now running. */
  private stepping: Member<S>[] = [];
  private cache: KvCache<S> | null = null;
  private running = false;
  private scheduled = false;
  /** Called after each batched step. */
  onStep?: (step: BatchStep) => void;

  constructor(private readonly decoder: KvDecoder<S>) {}

  /** Requests now in the batch or about to join it. */
  get requests(): number {
    const live = [...this.members, ...this.stepping].filter((m) => !m.ended);
    return new Set(live).size + this.arrivals.length;
  }

  /** A DecoderSession for one request's generate(): its rows all read `source`. */
  session(source: S, observe?: StepObserver): DecoderSession<BatchedRows> {
    const id = nextRequest++;
    const member: Member<S> = { id, source, observe, ticket: { batchRequest: id }, rows: 0, ended: false };
    const maxPositions = this.decoder.spec.maxPositions;
    return {
      maxPositions: Number.isFinite(maxPositions) ? maxPositions : undefined,
      step: (inputIds, cache) =>
        new Promise<StepOutput<BatchedRows>>((resolve, reject) => {
          const first = cache === null;
          if (member.ended || member.pending || first !== (member.rows === 0)) {
            return reject(fail("INTERNAL", "a batched decoder session was stepped out of turn"));
          }
          member.pending = { tokens: inputIds, resolve, reject };
          if (first) this.arrivals.push(member);
          this.schedule();
        }),
      reorder: (_cache, rows) => {
        const before = member.reorder;
        member.reorder = before ? rows.map((r) => before[r]) : rows.slice();
        return member.ticket;
      },
    };
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runStep();
    });
  }

  /** One decoder step for every request that asked; drops the rows of those that did not. */
  private async runStep(): Promise<void> {
    if (this.running) return;
    const staying = this.members.filter((m) => m.pending);
    const leaving = this.members.filter((m) => !m.pending);
    for (const m of leaving) m.ended = true;
    const arrivals = this.arrivals.splice(0);
    if (staying.length === 0 && arrivals.length === 0) {
      this.members = [];
      this.cache = null;
      return;
    }
    this.running = true;
    const stepping = [...staying, ...arrivals];
    this.stepping = stepping;
    try {
      const observe: StepObserver = (ms, rows, length) => {
        for (const m of stepping) m.observe?.(ms, rows, length);
      };
      const continued = staying.length > 0 ? await this.continueRows(staying, observe) : undefined;
      const joined = arrivals.length > 0 ? await this.firstRows(arrivals, observe) : undefined;
      const cache =
        continued && joined ? joinCaches(continued.cache, joined.cache) : (continued?.cache ?? joined!.cache);
      const logits = [...(continued?.logits ?? []), ...(joined?.logits ?? [])];
      this.members = stepping;
      this.cache = cache;
      const rows = stepping.reduce((n, m) => n + m.pending!.tokens.length, 0);
      stepping.forEach((m, i) => {
        const pending = m.pending!;
        m.rows = pending.tokens.length;
        m.reorder = undefined;
        m.pending = undefined;
        pending.resolve({ logits: logits[i], cache: m.ticket });
      });
      this.onStep?.({ requests: stepping.length, rows, joined: arrivals.length, left: leaving.length });
    } catch (e) {
      // A failed step leaves no usable cache: every request in it gets the error.
      this.members = [];
      this.cache = null;
      for (const m of stepping) {
        m.ended = true;
        const pending = m.pending;
        m.pending = undefined;
        pending?.reject(e);
      }
    } finally {
      this.running = false;
      this.stepping = [];
      if (this.arrivals.length > 0 || this.members.some((m) => m.pending)) this.schedule();
    }
  }

  /** The next token of every row of the requests already in the batch (beam reorders applied). */
  private async continueRows(
    staying: Member<S>[],
    observe: StepObserver,
  ): Promise<{ cache: KvCache<S>; logits: Float32Array[] }> {
    const cache = this.cache!;
    const rows: number[] = [];
    const tokens: number[][] = [];
    let offset = 0;
    for (const m of this.members) {
      if (m.pending) {
        const own = m.reorder ?? Array.from({ length: m.rows }, (_, r) => r);
        if (own.length !== m.pending.tokens.length)
          throw fail("INTERNAL", "a batched request stepped a different number of rows");
        rows.push(...own.map((r) => offset + r));
        tokens.push(...m.pending.tokens);
      }
      offset += m.rows;
    }
    const unchanged = rows.length === cache.rows.length && rows.every((r, i) => r === i);
    const out = await this.decoder.step(tokens, unchanged ? cache : this.decoder.reorder(cache, rows), {
      observe,
    });
    return { cache: out.cache, logits: split(out.logits, staying, tokens.length) };
  }

  /** The prompts of joining requests, in one step; a request whose rows share one prompt runs it once. */
  private async firstRows(
    arrivals: Member<S>[],
    observe: StepObserver,
  ): Promise<{ cache: KvCache<S>; logits: Float32Array[] }> {
    const distinct = arrivals.map((m) => {
      const t = m.pending!.tokens;
      return t.every((row) => sameTokens(row, t[0])) ? [t[0]] : t;
    });
    const out = await this.decoder.step(distinct.flat(), null, {
      sources: arrivals.flatMap((m, i) => distinct[i].map(() => m.source)),
      observe,
    });
    // Row r of a request continues its prompt row (the one prompt, or its own).
    const expand: number[] = [];
    let base = 0;
    arrivals.forEach((m, i) => {
      const own = distinct[i].length;
      for (let r = 0; r < m.pending!.tokens.length; r++) expand.push(base + (own === 1 ? 0 : r));
      base += own;
    });
    const vocab = out.logits.length / base;
    const logits = new Float32Array(expand.length * vocab);
    expand.forEach((src, r) => logits.set(out.logits.subarray(src * vocab, (src + 1) * vocab), r * vocab));
    const cache = expand.every((src, r) => src === r) ? out.cache : this.decoder.reorder(out.cache, expand);
    return { cache, logits: split(logits, arrivals, expand.length) };
  }
}

/** Each member's rows of a [rows × vocab] logits array (copies: the members' loops own them). */
function split(logits: Float32Array, members: Member<unknown>[], rows: number): Float32Array[] {
  const vocab = logits.length / rows;
  let row = 0;
  return members.map((m) => {
    const n = m.pending!.tokens.length;
    const part = logits.slice(row * vocab, (row + n) * vocab);
    row += n;
    return part;
  });
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
