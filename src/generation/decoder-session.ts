// The contract between the search loops (greedy, beam search) and a decoder: what one step takes and
// returns, what a finished search returns, and the two checks every loop makes (the decoder's position
// limit, cancellation between steps).
import { fail } from "../errors.js";

/** What one decoder step returns. */
export interface StepOutput<C> {
  /** Per row, the logits at that row's last position (rows × vocab, row-major). */
  logits: Float32Array;
  cache: C;
}

/**
 * One decoder step over `rows` sequences. At the first step (cache null) each row is a whole prompt
 * (every row the same prompt for beam search); afterwards each row is the one token just chosen.
 * generate() only reads `logits` (processors work on a copy), so the decoder may hand out its own
 * buffer. `reorder` is called between beam steps only when the beam order changes, never after the
 * last step.
 */
export interface DecoderSession<C> {
  step(inputIds: number[][], cache: C | null): Promise<StepOutput<C>>;
  /** The cache whose row i is row `rows[i]` of `cache` (beam reordering; rows may repeat). */
  reorder(cache: C, rows: number[]): C | Promise<C>;
  /** Positions the decoder can number (HF max_position_embeddings); absent when unbounded. */
  readonly maxPositions?: number;
}

export interface GenerateResult {
  /** What HF generate() returns for batch 1: prompt / decoder start included. */
  sequence: number[];
  /** Beam search only: HF's `sequences_scores` (sum of log-probs / generated_len ** length_penalty). */
  score?: number;
  /** Decoder calls made (= tokens generated). */
  steps: number;
}

export interface GenerateOptions {
  /** Checked between decoder steps: once aborted, generation stops with REQUEST_CANCELLED. */
  signal?: AbortSignal;
}

/** Refuses a sequence that needs more decoder positions than the model has: the one position error. */
export function checkPositions(needed: number, maxPositions: number | undefined): void {
  if (maxPositions !== undefined && needed > maxPositions) {
    throw fail(
      "INVALID_ARGUMENT",
      `the sequence needs ${needed} decoder positions, the model has ${maxPositions} (max_position_embeddings)`,
    );
  }
}

/** Throws REQUEST_CANCELLED once `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "");
    throw fail("REQUEST_CANCELLED", reason || "stopped between decoder steps");
  }
}
