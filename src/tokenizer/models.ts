// Tokenizer models of HF `tokenizers` (BPE, WordPiece, Unigram), matching the Rust library's output.
import { fail } from "../errors.js";
import type { ComponentJson } from "./tokenizer-json.js";

export interface TokenizerModel {
  /** Token strings of one pre-tokenized piece. */
  tokenize(piece: string): string[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Number of entries (max id + 1) in the model's own vocabulary. */
  readonly size: number;
  /** The id for tokens tokenize() returned that are not in the vocabulary (fused unknowns). */
  readonly unkId: number | undefined;
}

export function createModel(config: ComponentJson): TokenizerModel {
  const type = config.type ?? inferModelType(config);
  switch (type) {
    case "BPE":
      return new BpeModel(config);
    case "WordPiece":
      return new WordPieceModel(config);
    case "Unigram":
      return new UnigramModel(config);
    default:
      throw fail("TOKENIZER_INVALID", `model type ${type} is not supported`);
  }
}

// Old tokenizer.json files may omit model.type; Rust then guesses from the fields.
function inferModelType(config: Record<string, unknown>): string {
  if ("merges" in config) return "BPE";
  if (Array.isArray(config.vocab)) return "Unigram";
  return "WordPiece";
}

function vocabTables(vocab: Record<string, number>): {
  byToken: Map<string, number>;
  byId: (string | undefined)[];
} {
  const byToken = new Map<string, number>();
  let maxId = -1;
  for (const token in vocab) {
    const id = vocab[token]!;
    byToken.set(token, id);
    if (id > maxId) maxId = id;
  }
  // Filled up front: assigning ids out of order into a growing array turns it into a slow dictionary.
  const byId = new Array<string | undefined>(maxId + 1).fill(undefined);
  for (const [token, id] of byToken) byId[id] = token;
  return { byToken, byId };
}

/** Byte-pair encoding: merges applied lowest rank first, leftmost first on ties (Rust Word::merge_all). */
export class BpeModel implements TokenizerModel {
  private readonly vocab: Map<string, number>;
  private readonly vocabR: (string | undefined)[];
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly unkToken: string | null;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  readonly unkId: number | undefined;

  constructor(config: ComponentJson) {
    const { byToken, byId } = vocabTables(config.vocab as Record<string, number>);
    this.vocab = byToken;
    this.vocabR = byId;
    const merges = (config.merges ?? []) as (string | [string, string])[];
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === "string" ? splitMerge(m) : m;
      if (!this.ranks.has(`${a} ${b}`)) this.ranks.set(`${a} ${b}`, rank);
    });
    this.prefix = (config.continuing_subword_prefix as string | null) ?? "";
    this.suffix = (config.end_of_word_suffix as string | null) ?? "";
    this.unkToken = (config.unk_token as string | null) ?? null;
    this.fuseUnk = config.fuse_unk === true;
    this.byteFallback = config.byte_fallback === true;
    this.ignoreMerges = config.ignore_merges === true;
    this.unkId = this.unkToken === null ? undefined : this.vocab.get(this.unkToken);
  }

  get size(): number {
    return this.vocabR.length;
  }
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.vocabR[id];
  }

  tokenize(word: string): string[] {
    if (word.length === 0) return [];
    const cached = this.cache.get(word);
    if (cached) return cached;
    const result = this.ignoreMerges && this.vocab.has(word) ? [word] : this.mergeWord(word);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(word, result);
    return result;
  }

  private mergeWord(word: string): string[] {
    const chars = Array.from(word);
    const symbols: string[] = [];
    let unk: string | null = null; // pending unknown symbol (fused when fuse_unk)
    chars.forEach((ch, i) => {
      let s = ch;
      if (i > 0 && this.prefix) s = this.prefix + s;
      if (i === chars.length - 1 && this.suffix) s = s + this.suffix;
      if (this.vocab.has(s)) {
        if (unk !== null) symbols.push(unk);
        unk = null;
        symbols.push(s);
        return;
      }
      if (this.byteFallback) {
        const bytes = Array.from(
          new TextEncoder().encode(s),
          (b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
        );
        if (bytes.every((b) => this.vocab.has(b))) {
          symbols.push(...bytes);
          return;
        }
      }
      if (this.unkToken !== null) {
        if (unk !== null && this.fuseUnk) return;
        if (unk !== null) symbols.push(unk);
        unk = this.unkToken;
      }
    });
    if (unk !== null) symbols.push(unk);

    return this.mergeAll(symbols);
  }

  // Repeatedly merges the adjacent pair with the lowest rank, leftmost on ties (what Rust's heap of
  // (rank, position) does), over a linked list so long words stay O(n²) in cheap steps.
  private mergeAll(symbols: string[]): string[] {
    const n = symbols.length;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const rankOf = (i: number): number => {
      const j = next[i]!;
      if (j < 0) return Infinity;
      const rank = this.ranks.get(`${symbols[i]} ${symbols[j]}`);
      return rank !== undefined && this.vocab.has(symbols[i]! + symbols[j]!) ? rank : Infinity;
    };
    const ranks = Float64Array.from({ length: n }, (_, i) => rankOf(i));
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i >= 0; i = next[i]!) {
        if (ranks[i]! < bestRank) {
          bestRank = ranks[i]!;
          best = i;
        }
      }
      if (best < 0) break;
      const right = next[best]!;
      symbols[best] = symbols[best]! + symbols[right]!;
      next[best] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = best;
      ranks[best] = rankOf(best);
      if (prev[best]! >= 0) ranks[prev[best]!] = rankOf(prev[best]!);
    }
    const out: string[] = [];
    for (let i = 0; i >= 0 && n > 0; i = next[i]!) out.push(symbols[i]!);
    return out;
  }
}

// A merges.txt / tokenizer.json merge line "a b" (tokens never contain a plain space).
function splitMerge(line: string): [string, string] {
  const i = line.indexOf(" ", 1);
  return [line.slice(0, i), line.slice(i + 1)];
}

/** WordPiece: greedy longest-match-first with "##" continuations; an unmatchable word is one [UNK]. */
export class WordPieceModel implements TokenizerModel {
  private readonly vocab: Map<string, number>;
  private readonly vocabR: (string | undefined)[];
  private readonly unkToken: string;
  private readonly prefix: string;
  private readonly maxChars: number;
  readonly unkId: number | undefined;

  constructor(config: ComponentJson) {
    const { byToken, byId } = vocabTables(config.vocab as Record<string, number>);
    this.vocab = byToken;
    this.vocabR = byId;
    this.unkToken = (config.unk_token as string | undefined) ?? "[UNK]";
    this.prefix = (config.continuing_subword_prefix as string | undefined) ?? "##";
    this.maxChars = (config.max_input_chars_per_word as number | undefined) ?? 100;
    this.unkId = this.vocab.get(this.unkToken);
  }

  get size(): number {
    return this.vocabR.length;
  }
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.vocabR[id];
  }

  tokenize(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.maxChars) return [this.unkToken];
    const out: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | null = null;
      while (start < end) {
        let sub = chars.slice(start, end).join("");
        if (start > 0) sub = this.prefix + sub;
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === null) return [this.unkToken];
      out.push(found);
      start = end;
    }
    return out;
  }
}

/**
 * Unigram (SentencePiece): Viterbi best path over the vocabulary's pieces with their log scores; a
 * character no piece covers gets the unknown score (min score − 10), and runs of unknowns are fused into
 * one token (Rust Unigram::encode_optimized).
 */
export class UnigramModel implements TokenizerModel {
  private readonly pieces: [string, number][];
  private readonly vocab = new Map<string, number>();
  // Longest piece in code points: candidate pieces at a position are looked up by length instead of
  // walking a trie (a trie of 64k pieces costs far more to build than these lookups cost).
  private readonly maxPieceChars: number;
  private readonly minScore: number;
  private readonly byteFallback: boolean;
  private readonly cache = new Map<string, string[]>();
  readonly unkId: number | undefined;

  constructor(config: ComponentJson) {
    this.pieces = config.vocab as [string, number][];
    let minScore = Infinity;
    let maxChars = 0;
    this.pieces.forEach(([token, score], id) => {
      this.vocab.set(token, id);
      maxChars = Math.max(maxChars, token.length); // UTF-16 length bounds the code point count
      if (score < minScore) minScore = score;
    });
    this.minScore = minScore;
    this.maxPieceChars = maxChars;
    this.unkId = (config.unk_id as number | null | undefined) ?? undefined;
    this.byteFallback = config.byte_fallback === true;
  }

  get size(): number {
    return this.pieces.length;
  }
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.pieces[id]?.[0];
  }

  tokenize(sentence: string): string[] {
    if (sentence.length === 0) return [];
    const cached = this.cache.get(sentence);
    if (cached) return cached;
    const tokens = this.viterbi(sentence).flatMap((t) => this.byteFallbackPieces(t));
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(sentence, tokens);
    return tokens;
  }

  private byteFallbackPieces(token: string): string[] {
    if (!this.byteFallback || this.vocab.has(token)) return [token];
    const bytes = Array.from(
      new TextEncoder().encode(token),
      (b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
    );
    return bytes.every((b) => this.vocab.has(b)) ? bytes : [token];
  }

  private viterbi(sentence: string): string[] {
    const chars = Array.from(sentence);
    const n = chars.length;
    const unkScore = this.minScore - 10;
    // best[i]: best path ending at char i (score, start char, token id)
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1);
    for (let start = 0; start < n; start++) {
      const base = bestScore[start]!;
      let hasSingle = false;
      let candidate = "";
      const last = Math.min(n, start + this.maxPieceChars);
      for (let end = start; end < last; end++) {
        candidate += chars[end]!;
        const id = this.vocab.get(candidate);
        if (id === undefined) continue;
        const score = this.pieces[id]![1] + base;
        const at = end + 1;
        if (bestStart[at] === -1 || score > bestScore[at]!) {
          bestScore[at] = score;
          bestStart[at] = start;
          bestId[at] = id;
        }
        if (end === start) hasSingle = true;
      }
      if (!hasSingle) {
        if (this.unkId === undefined)
          throw fail("TOKENIZER_INVALID", "Unigram model has no unk_id for an unknown character");
        const at = start + 1;
        const score = unkScore + base;
        if (bestStart[at] === -1 || score > bestScore[at]!) {
          bestScore[at] = score;
          bestStart[at] = start;
          bestId[at] = this.unkId;
        }
      }
    }
    const out: string[] = [];
    let unkRun: string[] = [];
    for (let end = n; end > 0;) {
      const start = bestStart[end]!;
      const piece = chars.slice(start, end).join("");
      if (bestId[end] === this.unkId) unkRun.push(piece);
      else {
        if (unkRun.length > 0) out.push(unkRun.reverse().join(""));
        unkRun = [];
        out.push(piece);
      }
      end = start;
    }
    if (unkRun.length > 0) out.push(unkRun.reverse().join(""));
    return out.reverse();
  }
}
