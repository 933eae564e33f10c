// Beam search with the semantics of transformers v4.40 (`GenerationMixin._beam_search`,
// `BeamSearchScorer`, `BeamHypotheses`) for one input (batch 1, num_return_sequences 1).
// Scores are float32 like PyTorch's: log-softmax, processors, then + the beam's running score.
import { fail } from "../errors.js";
import type { GenerationConfig } from "./config.js";
import {
  throwIfCancelled,
  type DecoderSession,
  type GenerateOptions,
  type GenerateResult,
} from "./decoder-session.js";
import type { LogitsProcessor } from "./logits-processors.js";

const f32 = Math.fround;

// 2^k for k in [-127, 0]: the exponent part of expNonPositive.
const POW2 = Float64Array.from({ length: 128 }, (_, i) => 2 ** (i - 127));

/**
 * e^d for d ≤ 0, relative error < 1e-8 (far below float32's 6e-8): 2^k · e^r with |r| ≤ ln2/2 and a
 * degree-7 Taylor polynomial. About 4× faster than Math.exp over a 50k vocabulary; terms below e^-87
 * (< float32's smallest normal) are dropped.
 */
export function expNonPositive(d: number): number {
  if (d < -87) return 0;
  const k = (d * Math.LOG2E - 0.5) | 0; // round to nearest (d ≤ 0)
  const r = d - k * Math.LN2;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r / 5040))))));
  return p * POW2[k + 127];
}

/** Row-wise log-softmax of rows × vocab logits into a new array (float32 arithmetic like torch's CPU kernel). */
export function logSoftmaxRows(logits: Float32Array, rows: number, vocab: number): Float32Array {
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const base = r * vocab;
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (logits[base + i] > max) max = logits[base + i];
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += expNonPositive(logits[base + i] - max);
    const logSum = f32(Math.log(sum));
    for (let i = 0; i < vocab; i++) out[base + i] = f32(f32(logits[base + i] - max) - logSum);
  }
  return out;
}

interface Candidate {
  score: number;
  token: number;
  beam: number;
}

/**
 * The `n` best (scores[r, t] + beamScores[r]) over all rows, best first; on equal values the lower
 * flat index first. A plain pass with a small sorted buffer: no sort of the vocabulary.
 */
export function topCandidates(
  scores: Float32Array,
  beamScores: Float32Array,
  vocab: number,
  n: number,
): Candidate[] {
  const values = new Float64Array(n).fill(-Infinity);
  const index = new Int32Array(n).fill(-1);
  let filled = 0;
  const rows = beamScores.length;
  for (let r = 0; r < rows; r++) {
    const base = r * vocab;
    const add = beamScores[r];
    for (let t = 0; t < vocab; t++) {
      const v = f32(scores[base + t] + add);
      if (filled === n && !(v > values[n - 1])) continue;
      // Insert after every value >= v (keeps earlier indices first on ties).
      let pos = filled < n ? filled : n - 1;
      while (pos > 0 && values[pos - 1] < v) {
        values[pos] = values[pos - 1];
        index[pos] = index[pos - 1];
        pos--;
      }
      values[pos] = v;
      index[pos] = base + t;
      if (filled < n) filled++;
    }
  }
  const out: Candidate[] = [];
  for (let i = 0; i < filled; i++) {
    out.push({ score: values[i], token: index[i] % vocab, beam: Math.floor(index[i] / vocab) });
  }
  return out;
}

interface Hypothesis {
  score: number;
  tokens: number[];
}

/** HF `BeamHypotheses`: the n best finished hypotheses, scored sum_logprobs / generated_len ** length_penalty. */
export class BeamHypotheses {
  readonly beams: Hypothesis[] = [];
  private worstScore = 1e9;

  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty: number,
    private readonly earlyStopping: boolean | "never",
    private readonly maxLength: number,
  ) {}

  get size(): number {
    return this.beams.length;
  }

  add(tokens: number[], sumLogprobs: number, generatedLen: number): void {
    const score = sumLogprobs / generatedLen ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push({ score, tokens });
      if (this.beams.length > this.numBeams) {
        // Python sorts (score, index) tuples: ties go to the lower index.
        const order = this.beams
          .map((b, i) => [b.score, i] as const)
          .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(order[0][1], 1);
        this.worstScore = order[1][0];
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }

  /** Whether no running beam can still beat the worst kept hypothesis (HF's `is_done`). */
  isDone(bestSumLogprobs: number, curLen: number, promptLength: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    let denominator = curLen - promptLength;
    if (this.earlyStopping === "never" && this.lengthPenalty > 0) {
      if (this.maxLength <= promptLength)
        throw fail("INVALID_ARGUMENT", "max_length is not larger than the prompt length");
      denominator = this.maxLength - promptLength;
    }
    return this.worstScore >= bestSumLogprobs / denominator ** this.lengthPenalty;
  }

  /** The best hypothesis; on equal scores the later added one (Python's sorted(...).pop()). */
  best(): Hypothesis {
    let best = this.beams[0];
    for (const b of this.beams) if (b.score >= best.score) best = b;
    return best;
  }
}

export async function beamSearch<C>(
  decoder: DecoderSession<C>,
  promptIds: number[],
  cfg: GenerationConfig,
  maxLength: number,
  processors: LogitsProcessor[],
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  const numBeams = cfg.numBeams;
  const eos = cfg.eosTokenId;
  const promptLength = promptIds.length;
  const hypotheses = new BeamHypotheses(numBeams, cfg.lengthPenalty, cfg.earlyStopping, maxLength);
  // Only beam 0 is live at first: all rows hold the same prompt.
  let beamScores = new Float32Array(numBeams).fill(-1e9);
  beamScores[0] = 0;
  let sequences = Array.from({ length: numBeams }, () => promptIds.slice());
  let input: number[][] = sequences.map((s) => s.slice());
  let cache: C | null = null;
  let steps = 0;
  let done: boolean;
  // At least one non-EOS candidate per beam survives: 2 per beam, or 1 + number of EOS ids.
  const candidatesWanted = Math.max(2, 1 + eos.length) * numBeams;
  for (;;) {
    throwIfCancelled(options.signal);
    const out = await decoder.step(input, cache);
    cache = out.cache;
    steps++;
    const vocab = out.logits.length / numBeams;
    const scores = logSoftmaxRows(out.logits, numBeams, vocab);
    for (const p of processors) p(sequences, scores, vocab);
    const candidates = topCandidates(scores, beamScores, vocab, candidatesWanted);

    // BeamSearchScorer.process: cur_len counts the token being scored.
    const curLen = sequences[0].length + 1;
    const next: Candidate[] = [];
    for (let rank = 0; rank < candidates.length && next.length < numBeams; rank++) {
      const c = candidates[rank];
      if (eos.includes(c.token)) {
        // An EOS outside the top num_beams candidates does not finish a hypothesis.
        if (rank >= numBeams) continue;
        hypotheses.add(sequences[c.beam].slice(), c.score, curLen - promptLength);
      } else {
        next.push(c);
      }
    }
    if (next.length < numBeams) throw fail("INTERNAL", "beam search found fewer live candidates than beams");
    done = hypotheses.isDone(candidates[0].score, curLen, promptLength);

    const rows = next.map((c) => c.beam);
    sequences = next.map((c) => [...sequences[c.beam], c.token]);
    beamScores = Float32Array.from(next, (c) => c.score);
    // MaxLengthCriteria (an EOS criterion can never hold for live beams: EOS leaves the beam).
    if (done || sequences[0].length >= maxLength) break;
    if (!rows.every((r, i) => r === i)) cache = await decoder.reorder(cache, rows);
    input = next.map((c) => [c.token]);
  }

  // BeamSearchScorer.finalize: open beams compete with the finished ones unless already done.
  if (!done) {
    for (let b = 0; b < numBeams; b++) {
      hypotheses.add(sequences[b], beamScores[b], sequences[b].length - promptLength);
    }
  }
  const best = hypotheses.best();
  const sequence = best.tokens.slice();
  // A hypothesis finished by EOS was stored without it: HF appends the first EOS id if it fits.
  if (sequence.length < maxLength && eos.length > 0) sequence.push(eos[0]);
  return { sequence, score: f32(best.score), steps };
}
