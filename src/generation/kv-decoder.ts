// The one KV decoder: runs an architecture's step graph (graph/step-graph.ts) over rows of tokens. It
// left-pads rows of different lengths, builds the attention mask over cache + new positions and each
// row's positions (what HF gives the row run alone), keeps the self-attention cache between steps,
// reorders it for beam search, feeds every row its image's cross-attention K/V, and checks the position
// limit. Rows may come from different requests: each row has a source (its request's image, prompt
// extras), and rows of one source share it without copies.
import { fail } from "../errors.js";
import { stepNames, type CrossKv, type StepGraphShape } from "../graph/step-graph.js";
import { Tensor, type Session } from "../graph/session.js";
import { checkPositions, type DecoderSession, type StepOutput } from "./decoder-session.js";
import {
  crossBatch,
  crossLayout,
  gatherCache,
  GatherBuffers,
  inRowOrder,
  reorderCache,
  type KvCache,
} from "./kv-cache.js";

/** What a row brings from its request. */
export interface RowSource {
  /** Cross-attention K/V of the row's image / encoder output (encoder-decoder architectures). */
  readonly cross?: CrossKv;
}

/** A step as the architecture's own feeds see it. */
export interface StepContext<S> {
  /** B rows, T new positions per row (rows shorter than T are left-padded). */
  rows: number;
  length: number;
  /** Per row: its new tokens (unpadded), their positions (HF's, the row run alone), tokens before them. */
  tokens: readonly (readonly number[])[];
  positions: readonly number[][];
  past: readonly number[];
  sources: readonly S[];
}

/** An architecture's decoder, as data: the step graph's shape plus how it numbers positions. */
export interface DecoderSpec<S extends RowSource = RowSource> extends StepGraphShape {
  /** Positions the decoder can number (max_position_embeddings, n_positions); Infinity when unbounded. */
  maxPositions: number;
  /** HF's position ids of one row run alone: its new `tokens` after `past` earlier ones. Default past + i. */
  positions?(tokens: readonly number[], past: number): number[];
  /** The step graph's other inputs (Kosmos-2's image features and sinusoidal positions). */
  extraFeeds?(step: StepContext<S>): Record<string, Tensor>;
}

/** Timing of one step (the benches' breakdown): wall ms, rows, new positions per row. */
export type StepObserver = (ms: number, rows: number, length: number) => void;

export interface StepOptions<S> {
  /** One source per row; required when `cache` is null (the rows' first step). */
  sources?: readonly S[];
  observe?: StepObserver;
}

/** Every left-padding slot gets this token: its embedding is computed, then masked out of attention. */
const PAD_ID = 0;

const defaultPositions = (tokens: readonly number[], past: number): number[] =>
  tokens.map((_, i) => past + i);

/** Where sessionFor() sends a request's steps when requests are batched (generation/step-batcher.ts). */
export interface SharedBatch<S> {
  session(source: S, observe?: StepObserver): DecoderSession<unknown>;
}

export class KvDecoder<S extends RowSource = RowSource> {
  /** Set by a worker that batches requests: every generate() then joins this shared batch. */
  batch?: SharedBatch<S>;
  private readonly gatherBuffers = new GatherBuffers();

  constructor(
    private readonly stepSession: Session,
    readonly spec: DecoderSpec<S>,
  ) {}

  /**
   * One step: `tokens[r]` are row r's new tokens (its prompt at the first step, then one token). Returns
   * each row's logits at its last position and the cache for the next step.
   */
  async step(
    tokens: readonly (readonly number[])[],
    cache: KvCache<S> | null,
    options: StepOptions<S> = {},
  ): Promise<StepOutput<KvCache<S>>> {
    const rows = tokens.length;
    // Rows that moved (beam reordering, finished requests leaving) are gathered here, and only then: a
    // Gather in the graph would copy the whole cache at every step (≈ 4 % of a q8 Kosmos-2 greedy step).
    const gathered = cache && !inRowOrder(cache) ? gatherCache(cache, this.gatherBuffers.take) : undefined;
    if (gathered) cache = gathered;
    const sources = cache ? cache.sources : options.sources;
    if (!sources || sources.length !== rows)
      throw fail("INTERNAL", "a decoder step needs one source per row (and one token list per cache row)");
    // Beam search starts every row from the same prompt: run it once, the rows share its cache.
    if (!cache && rows > 1 && tokens.every((t, r) => sameTokens(t, tokens[0]) && sources[r] === sources[0])) {
      const one = await this.step([tokens[0]], null, { sources: [sources[0]], observe: options.observe });
      const logits = new Float32Array(rows * one.logits.length);
      for (let r = 0; r < rows; r++) logits.set(one.logits, r * one.logits.length);
      return { logits, cache: reorderCache(one.cache, new Array<number>(rows).fill(0)) };
    }
    const start = performance.now();
    const past = cache ? cache.past : new Array<number>(rows).fill(0);
    if (tokens.some((t) => t.length === 0))
      throw fail("INTERNAL", "every row of a decoder step needs a token");
    const length = Math.max(...tokens.map((t) => t.length));
    const positions = tokens.map((t, r) => {
      checkPositions(past[r] + t.length, this.spec.maxPositions);
      return (this.spec.positions ?? defaultPositions)(t, past[r]);
    });

    const pastLength = cache ? cache.length : 0;
    const pastMask = cache?.mask;
    const total = pastLength + length;
    const ids = new BigInt64Array(rows * length).fill(BigInt(PAD_ID));
    const positionIds = new BigInt64Array(rows * length);
    const mask = new Uint8Array(rows * total);
    tokens.forEach((t, r) => {
      const pad = length - t.length;
      t.forEach((id, i) => {
        ids[r * length + pad + i] = BigInt(id);
        positionIds[r * length + pad + i] = BigInt(positions[r][i]);
      });
      if (pastMask) mask.set(pastMask.subarray(r * pastLength, (r + 1) * pastLength), r * total);
      mask.fill(1, r * total + pastLength + pad, (r + 1) * total);
    });
    const feeds: Record<string, Tensor> = {
      [stepNames.inputIds]: new Tensor("int64", ids, [rows, length]),
      [stepNames.attentionMask]: new Tensor("bool", mask, [rows, total]),
    };
    if (this.spec.positionIds)
      feeds[stepNames.positionIds] = new Tensor("int64", positionIds, [rows, length]);
    const { kvHeads, headDim, layers } = this.spec;
    const empty = new Tensor("float32", new Float32Array(0), [rows, kvHeads, 0, headDim]);
    for (let i = 0; i < layers; i++) {
      feeds[stepNames.pastKey(i)] = cache ? cache.keys[i] : empty;
      feeds[stepNames.pastValue(i)] = cache ? cache.values[i] : empty;
    }
    const cross = this.spec.cross ? this.crossFeeds(sources, cache?.cross, feeds) : undefined;
    if (this.spec.extraFeeds) {
      Object.assign(feeds, this.spec.extraFeeds({ rows, length, tokens, positions, past, sources }));
    }

    let out: Record<string, Tensor>;
    try {
      out = await this.stepSession.run(feeds);
    } finally {
      if (gathered) this.gatherBuffers.give([...gathered.keys, ...gathered.values]);
    }
    options.observe?.(performance.now() - start, rows, length);
    return {
      logits: out[stepNames.logits].data as Float32Array,
      cache: {
        keys: Array.from({ length: layers }, (_, i) => out[stepNames.presentKey(i)]),
        values: Array.from({ length: layers }, (_, i) => out[stepNames.presentValue(i)]),
        mask,
        length: total,
        rows: Array.from({ length: rows }, (_, r) => r),
        past: tokens.map((t, r) => past[r] + t.length),
        sources: [...sources],
        cross,
      },
    };
  }

  release(): Promise<void> {
    return this.stepSession.release();
  }

  /** The cache whose row i is row rows[i] of `cache`: beam reordering, or dropping finished rows. */
  reorder(cache: KvCache<S>, rows: readonly number[]): KvCache<S> {
    return reorderCache(cache, rows);
  }

  /** A DecoderSession for generate() in which every row belongs to `source` (in the shared batch if any). */
  sessionFor(source: S, observe?: StepObserver): DecoderSession<unknown> {
    if (this.batch) return this.batch.session(source, observe);
    const alone: DecoderSession<KvCache<S>> = {
      maxPositions: Number.isFinite(this.spec.maxPositions) ? this.spec.maxPositions : undefined,
      step: (ids, cache) =>
        this.step(ids, cache, { sources: cache ? undefined : ids.map(() => source), observe }),
      reorder: (cache, rows) => this.reorder(cache, rows),
    };
    return alone as DecoderSession<unknown>;
  }

  /** cross_key_i / cross_value_i of the rows' distinct images, and which rows attend which. */
  private crossFeeds(
    sources: readonly S[],
    previous: KvCache<S>["cross"],
    feeds: Record<string, Tensor>,
  ): KvCache<S>["cross"] {
    const images = sources.map((s) => {
      if (!s.cross) throw fail("INTERNAL", "a row of a cross-attention decoder has no image K/V");
      return s.cross;
    });
    const batch = crossBatch([...new Set(images)], previous);
    const rowImages = images.map((image) => batch.images.indexOf(image));
    for (let i = 0; i < this.spec.layers; i++) {
      feeds[stepNames.crossKey(i)] = batch.keys[i];
      feeds[stepNames.crossValue(i)] = batch.values[i];
    }
    const layout = crossLayout(batch, rowImages);
    feeds[stepNames.crossBias] = layout.bias;
    feeds[stepNames.crossRows] = layout.rows;
    feeds[stepNames.crossSlots] = layout.slots;
    return batch;
  }
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
