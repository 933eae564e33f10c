// Logits processors with the semantics of transformers v4.40 (generation/logits_process.py), in the
// order `GenerationMixin._get_logits_processor` builds them, and sampling's warpers (temperature, top-k,
// top-p) after them as transformers 5 orders them. Each works in place on a rows × vocab
// Float32Array and sees every row's whole sequence so far (prompt / decoder start included), as
// HF's `input_ids` are. Greedy search applies them to raw logits, beam search to log-softmax scores.
import type { GenerationConfig } from "./config.js";

/** Rewrites `scores` (rows × vocab) in place; `sequences[r]` is row r's sequence so far. */
export type LogitsProcessor = (sequences: readonly number[][], scores: Float32Array, vocab: number) => void;

const NEG_INF = -Infinity;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The processors HF would run for `cfg`. `promptLength` is HF's `input_ids_seq_length` (the decoder
 * input it starts from); `maxLength` the effective max_length after max_new_tokens.
 */
export function buildLogitsProcessors(
  cfg: GenerationConfig,
  promptLength: number,
  maxLength: number,
): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  const eos = cfg.eosTokenId;
  if (cfg.repetitionPenalty !== 1.0) list.push(repetitionPenalty(cfg.repetitionPenalty));
  if (cfg.noRepeatNgramSize > 0) list.push(noRepeatNgram(cfg.noRepeatNgramSize));
  if (cfg.badWordsIds) list.push(noBadWords(cfg.badWordsIds, eos));
  if (cfg.minLength > 0 && eos.length > 0) list.push(minLength(cfg.minLength, eos));
  if (cfg.minNewTokens !== null && cfg.minNewTokens > 0 && eos.length > 0) {
    list.push(minNewTokens(promptLength, cfg.minNewTokens, eos));
  }
  if (cfg.forcedBosTokenId !== null) list.push(forcedBos(cfg.forcedBosTokenId));
  if (cfg.forcedEosTokenId !== null) list.push(forcedEos(maxLength, cfg.forcedEosTokenId));
  if (cfg.removeInvalidValues) list.push(removeInvalidValues());
  if (cfg.exponentialDecayLengthPenalty) {
    const [start, factor] = cfg.exponentialDecayLengthPenalty;
    list.push(exponentialDecayLengthPenalty(start + promptLength, factor, eos));
  }
  if (cfg.suppressTokens) list.push(suppressTokens(cfg.suppressTokens));
  if (cfg.beginSuppressTokens) {
    let beginIndex = promptLength > 1 || cfg.forcedBosTokenId === null ? promptLength : promptLength + 1;
    if (cfg.forcedDecoderIds && cfg.forcedDecoderIds.length > 0) {
      beginIndex += cfg.forcedDecoderIds[cfg.forcedDecoderIds.length - 1][0];
    }
    list.push(suppressTokensAtBegin(cfg.beginSuppressTokens, beginIndex));
  }
  if (cfg.forcedDecoderIds && cfg.forcedDecoderIds.length > 0) list.push(forceTokens(cfg.forcedDecoderIds));
  // Sampling's warpers come last, in HF's order (transformers 5 appends them to the same list).
  if (cfg.doSample) {
    if (cfg.temperature !== 1.0) list.push(temperature(cfg.temperature));
    if (cfg.topK !== 0) list.push(topK(cfg.topK));
    if (cfg.topP < 1.0) list.push(topP(cfg.topP));
  }
  return list;
}

/** RepetitionPenaltyLogitsProcessor: every token already in the row is divided (positive) or multiplied (negative). */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      const base = r * vocab;
      for (const token of new Set(seq)) {
        const s = scores[base + token];
        scores[base + token] = s < 0 ? s * penalty : s / penalty;
      }
    });
  };
}

/** NoRepeatNGramLogitsProcessor: bans tokens that would repeat an n-gram already in the row. */
export function noRepeatNgram(n: number): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      const curLen = seq.length;
      if (curLen + 1 < n) return;
      // The (n-1)-token suffix the next token would extend.
      const prefix = seq.slice(curLen + 1 - n, curLen);
      for (let i = 0; i + n <= curLen; i++) {
        let same = true;
        for (let j = 0; j < n - 1 && same; j++) same = seq[i + j] === prefix[j];
        if (same) scores[r * vocab + seq[i + n - 1]] = NEG_INF;
      }
    });
  };
}

/**
 * NoBadWordsLogitsProcessor (a SequenceBias of -inf): single-token entries are always banned, longer ones
 * ban their last token when the row ends with the rest. Entries equal to [eos] are dropped, as HF does.
 */
export function noBadWords(badWordsIds: number[][], eos: number[]): LogitsProcessor {
  const words = badWordsIds.filter((w) => !(w.length === 1 && eos.includes(w[0])));
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      for (const word of words) {
        if (word.length === 0 || (word.length > 1 && word.length > seq.length)) continue;
        const prefixLen = word.length - 1;
        let match = true;
        for (let j = 0; j < prefixLen && match; j++) match = seq[seq.length - prefixLen + j] === word[j];
        if (match) scores[r * vocab + word[prefixLen]] = NEG_INF;
      }
    });
  };
}

/** MinLengthLogitsProcessor: EOS banned while the whole sequence is shorter than min_length. */
export function minLength(min: number, eos: number[]): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      if (seq.length < min) for (const e of eos) scores[r * vocab + e] = NEG_INF;
    });
  };
}

/** MinNewTokensLengthLogitsProcessor: EOS banned until min_new_tokens tokens follow the prompt. */
export function minNewTokens(promptLength: number, min: number, eos: number[]): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      if (seq.length - promptLength < min) for (const e of eos) scores[r * vocab + e] = NEG_INF;
    });
  };
}

function forceOnly(scores: Float32Array, r: number, vocab: number, tokens: number[]): void {
  scores.fill(NEG_INF, r * vocab, (r + 1) * vocab);
  for (const t of tokens) scores[r * vocab + t] = 0;
}

/** ForcedBOSTokenLogitsProcessor: the first generated token (sequence length 1) is `bos`. */
export function forcedBos(bos: number): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      if (seq.length === 1) forceOnly(scores, r, vocab, [bos]);
    });
  };
}

/** ForcedEOSTokenLogitsProcessor: the token that reaches max_length is an EOS. */
export function forcedEos(maxLength: number, eos: number[]): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      if (seq.length === maxLength - 1) forceOnly(scores, r, vocab, eos);
    });
  };
}

/** InfNanRemoveLogitsProcessor: NaN → 0, ±inf → ±float32 max. */
export function removeInvalidValues(): LogitsProcessor {
  return (_sequences, scores) => {
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i];
      if (s !== s) scores[i] = 0;
      else if (s === Infinity) scores[i] = FLOAT32_MAX;
      else if (s === NEG_INF) scores[i] = -FLOAT32_MAX;
    }
  };
}

/** ExponentialDecayLengthPenalty: raises EOS scores once the sequence passes `regulationStart`. */
export function exponentialDecayLengthPenalty(
  regulationStart: number,
  factor: number,
  eos: number[],
): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      if (seq.length <= regulationStart) return;
      const grow = Math.pow(factor, seq.length - regulationStart) - 1;
      for (const e of eos) {
        const s = scores[r * vocab + e];
        scores[r * vocab + e] = s + Math.fround(Math.abs(s) * grow);
      }
    });
  };
}

/** SuppressTokensLogitsProcessor: these tokens are -inf at every step. */
export function suppressTokens(tokens: number[]): LogitsProcessor {
  return (sequences, scores, vocab) => {
    for (let r = 0; r < sequences.length; r++) for (const t of tokens) scores[r * vocab + t] = NEG_INF;
  };
}

/** SuppressTokensAtBeginLogitsProcessor: these tokens are -inf when the sequence length is `beginIndex`. */
export function suppressTokensAtBegin(tokens: number[], beginIndex: number): LogitsProcessor {
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      if (seq.length === beginIndex) for (const t of tokens) scores[r * vocab + t] = NEG_INF;
    });
  };
}

/** ForceTokensLogitsProcessor: forced_decoder_ids [[index, token], …] keyed by sequence length. */
export function forceTokens(forced: [number, number][]): LogitsProcessor {
  const map = new Map(forced);
  return (sequences, scores, vocab) => {
    sequences.forEach((seq, r) => {
      const token = map.get(seq.length);
      if (token !== undefined && token !== null) forceOnly(scores, r, vocab, [token]);
    });
  };
}

/** TemperatureLogitsWarper: scores / temperature. */
export function temperature(t: number): LogitsProcessor {
  return (_sequences, scores) => {
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / t;
  };
}

/**
 * TopKLogitsWarper (min_tokens_to_keep 1): every score below the k-th largest of its row is -inf;
 * ties with the k-th are kept, as `scores < topk(scores, k)[..., -1]` keeps them.
 */
export function topK(k: number): LogitsProcessor {
  return (sequences, scores, vocab) => {
    const keep = Math.min(k, vocab);
    for (let r = 0; r < sequences.length; r++) {
      const row = scores.subarray(r * vocab, (r + 1) * vocab);
      const kth = kthLargest(row, keep);
      for (let i = 0; i < vocab; i++) if (row[i] < kth) row[i] = NEG_INF;
    }
  };
}

/** The k-th largest value of `row` (a pass with a small sorted buffer). */
function kthLargest(row: Float32Array, k: number): number {
  const best = new Float64Array(k).fill(NEG_INF);
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (!(v > best[k - 1])) continue;
    let pos = k - 1;
    while (pos > 0 && best[pos - 1] < v) {
      best[pos] = best[pos - 1];
      pos--;
    }
    best[pos] = v;
  }
  return best[k - 1];
}

/**
 * TopPLogitsWarper (min_tokens_to_keep 1): sorted ascending, the tokens whose cumulative probability
 * stays ≤ 1 − top_p are -inf; the most likely token always stays. Float32 softmax and sums, as torch.
 */
export function topP(p: number): LogitsProcessor {
  const limit = Math.fround(1 - p);
  return (sequences, scores, vocab) => {
    for (let r = 0; r < sequences.length; r++) {
      const row = scores.subarray(r * vocab, (r + 1) * vocab);
      // -inf tokens have probability 0 and are removed anyway: only the finite ones are sorted.
      const order: number[] = [];
      for (let i = 0; i < vocab; i++) if (row[i] !== NEG_INF) order.push(i);
      order.sort((a, b) => row[a] - row[b] || a - b);
      const max = row[order[order.length - 1]];
      let sum = 0;
      const exps = order.map((i) => {
        const e = Math.fround(Math.exp(row[i] - max));
        sum = Math.fround(sum + e);
        return e;
      });
      let cumulative = 0;
      for (let j = 0; j < order.length - 1; j++) {
        cumulative = Math.fround(cumulative + Math.fround(exps[j] / sum));
        if (cumulative > limit) break;
        row[order[j]] = NEG_INF;
      }
    }
  };
}
