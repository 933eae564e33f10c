// Logits processors with the semantics of transformers v4.40 (generation/logits_process.py), in the
// order `GenerationMixin._get_logits_processor` builds them. Each works in place on a rows × vocab
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
