// Tokenizer models of HF `tokenizers` (BPE, WordPiece, Unigram), matching the Rust library's output.
import { fail } from "../errors.js";
import { PairHeap, PairTable } from "./int-tables.js";
import type { ComponentJson } from "./tokenizer-json.js";

export interface TokenizerModel {
  /** Token ids of one pre-tokenized piece (tokens outside the vocabulary are left out). */
  encode(piece: string): number[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Number of entries (max id + 1) in the model's own vocabulary. */
  readonly size: number;
  /** The unknown token's id, if the vocabulary has one. */
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
  // Merges by the ids of their pair → rank; mergedId[rank] is the id of the merged token. Merges whose
  // parts or result are not in the vocabulary never apply; of repeated pairs the first counts.
  private readonly mergeRanks: PairTable;
  private readonly mergedId: Int32Array;
  private readonly cache = new Map<string, number[]>();
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
    this.mergedId = new Int32Array(merges.length);
    this.mergeRanks = new PairTable(merges.length);
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === "string" ? splitMerge(m) : m;
      const left = byToken.get(a);
      const right = byToken.get(b);
      const merged = byToken.get(a + b);
      if (left === undefined || right === undefined || merged === undefined) return;
      if (this.mergeRanks.addIfAbsent(left, right, rank) === rank) this.mergedId[rank] = merged;
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

  encode(word: string): number[] {
    if (word.length === 0) return [];
    const cached = this.cache.get(word);
    if (cached) return cached;
    const known = this.ignoreMerges ? this.vocab.get(word) : undefined;
    // An unknown token the vocabulary lacks (NO_ID) is left out.
    const result = known !== undefined ? [known] : this.mergeAll(this.symbols(word)).filter((id) => id >= 0);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(word, result);
    return result;
  }

  // The word's characters as vocabulary ids (with the continuing-subword prefix and end-of-word
  // suffix), byte fallback and unknown tokens (fused when fuse_unk).
  private symbols(word: string): number[] {
    const symbols: number[] = [];
    let unk: number | null = null; // pending unknown symbol (fused when fuse_unk)
    const unkSymbol = this.unkId ?? NO_ID;
    const plain = !this.prefix && !this.suffix;
    for (let i = 0; i < word.length;) {
      const cp = word.codePointAt(i)!;
      const next = i + (cp > 0xffff ? 2 : 1);
      let s: string | undefined;
      let id: number | undefined;
      if (plain && cp <= 0xffff) {
        id = this.unitId(cp);
      } else {
        s = word.slice(i, next);
        if (i > 0 && this.prefix) s = this.prefix + s;
        if (next === word.length && this.suffix) s = s + this.suffix;
        id = this.vocab.get(s);
      }
      i = next;
      if (id !== undefined) {
        if (unk !== null) symbols.push(unk);
        unk = null;
        symbols.push(id);
        continue;
      }
      s ??= String.fromCharCode(cp);
      if (this.byteFallback) {
        const bytes = Array.from(utf8.encode(s), (b) =>
          this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
        );
        if (bytes.every((b) => b !== undefined)) {
          symbols.push(...(bytes as number[]));
          continue;
        }
      }
      if (this.unkToken !== null) {
        if (unk !== null && this.fuseUnk) continue;
        if (unk !== null) symbols.push(unk);
        unk = unkSymbol;
      }
    }
    if (unk !== null) symbols.push(unk);
    return symbols;
  }

  // The vocabulary id of a one-code-unit token, remembered per unit (−2: not looked up yet).
  private unitIds: Int32Array | undefined;
  private unitId(unit: number): number | undefined {
    this.unitIds ??= new Int32Array(0x10000).fill(-2);
    let id = this.unitIds[unit]!;
    if (id === -2) id = this.unitIds[unit] = this.vocab.get(String.fromCharCode(unit)) ?? -1;
    return id >= 0 ? id : undefined;
  }

  // Merges the adjacent pair with the lowest rank, leftmost on ties, until none is left. As in Rust:
  // a heap of (rank, position) entries over a linked list of symbols; an entry whose pair has changed
  // since it was pushed is skipped when it comes up. O(n log n) in the word's length.
  private mergeAll(ids: number[]): number[] {
    const n = ids.length;
    if (n < 2) return ids;
    const symbol = Int32Array.from(ids);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const rankAt = (i: number): number => {
      const j = next[i]!;
      if (j < 0 || symbol[i]! < 0 || symbol[j]! < 0) return -1;
      return this.mergeRanks.get(symbol[i]!, symbol[j]!);
    };
    const heap = new PairHeap(n, this.mergedId.length);
    for (let i = 0; i + 1 < n; i++) {
      const rank = rankAt(i);
      if (rank >= 0) heap.push(rank, i);
    }
    while (heap.size > 0) {
      const rank = heap.topRank();
      const i = heap.pop();
      if (symbol[i] === MERGED || rankAt(i) !== rank) continue;
      const j = next[i]!;
      symbol[i] = this.mergedId[rank]!;
      symbol[j] = MERGED;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      const before = prev[i]!;
      if (before >= 0) {
        const r = rankAt(before);
        if (r >= 0) heap.push(r, before);
      }
      const after = rankAt(i);
      if (after >= 0) heap.push(after, i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(symbol[i]!);
    return out;
  }
}

const utf8 = new TextEncoder();
/** A symbol for the unknown token when the vocabulary lacks it. */
const NO_ID = -1;
/** A symbol merged into the one on its left. */
const MERGED = -2;

// A merges.txt / tokenizer.json merge line "a b" (tokens never contain a plain space).
function splitMerge(line: string): [string, string] {
  const i = line.indexOf(" ", 1);
  return [line.slice(0, i), line.slice(i + 1)];
}

/** WordPiece: greedy longest-match-first with "##" continuations; an unmatchable word is one [UNK]. */
export class WordPieceModel implements TokenizerModel {
  private readonly vocab: Map<string, number>;
  private readonly vocabR: (string | undefined)[];
  private readonly prefix: string;
  private readonly maxChars: number;
  private readonly maxTokenLength: number;
  private readonly cache = new Map<string, number[]>();
  readonly unkId: number | undefined;

  constructor(config: ComponentJson) {
    const { byToken, byId } = vocabTables(config.vocab as Record<string, number>);
    this.vocab = byToken;
    this.vocabR = byId;
    const unkToken = (config.unk_token as string | undefined) ?? "[UNK]";
    this.prefix = (config.continuing_subword_prefix as string | undefined) ?? "##";
    this.maxChars = (config.max_input_chars_per_word as number | undefined) ?? 100;
    this.unkId = this.vocab.get(unkToken);
    let longest = 0;
    for (const token of byToken.keys()) longest = Math.max(longest, token.length);
    this.maxTokenLength = longest; // UTF-16 length bounds the code point count
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

  encode(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.greedy(word);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  // Longest vocabulary match first, from the left; a word with an unmatchable part is one unknown token.
  private greedy(word: string): number[] {
    const chars = Array.from(word);
    const unk = this.unkId === undefined ? [] : [this.unkId];
    if (chars.length > this.maxChars) return unk;
    const out: number[] = [];
    let start = 0;
    while (start < chars.length) {
      // No vocabulary entry is longer than maxTokenLength, so longer candidates are not tried.
      let end = Math.min(chars.length, start + this.maxTokenLength);
      let found: number | undefined;
      while (start < end) {
        let sub = chars.slice(start, end).join("");
        if (start > 0) sub = this.prefix + sub;
        found = this.vocab.get(sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return unk;
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
  // Built on the first encode: loading stays as cheap as reading the pieces.
  private trieOfPieces: PieceTrie | undefined;
  private readonly minScore: number;
  private readonly byteFallback: boolean;
  private readonly cache = new Map<string, number[]>();
  readonly unkId: number | undefined;

  constructor(config: ComponentJson) {
    this.pieces = config.vocab as [string, number][];
    let minScore = Infinity;
    this.pieces.forEach(([token, score], id) => {
      this.vocab.set(token, id);
      if (score < minScore) minScore = score;
    });
    this.minScore = minScore;
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

  encode(sentence: string): number[] {
    if (sentence.length === 0) return [];
    const cached = this.cache.get(sentence);
    if (cached) return cached;
    const ids = this.viterbi(sentence);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(sentence, ids);
    return ids;
  }

  // A run of unknown characters as one token: its bytes with byte fallback (if all are pieces), else
  // the unknown token.
  private pushUnknown(token: string, ids: number[]): void {
    if (this.byteFallback && !this.vocab.has(token)) {
      const bytes = Array.from(utf8.encode(token), (b) =>
        this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
      );
      if (bytes.every((b) => b !== undefined)) {
        for (const b of bytes as number[]) ids.push(b);
        return;
      }
    }
    const id = this.vocab.get(token) ?? this.unkId;
    if (id !== undefined) ids.push(id);
  }

  /** The best segmentation's token ids (Viterbi over the pieces' log scores). */
  private viterbi(sentence: string): number[] {
    // Positions are UTF-16 offsets; paths only start and end on code point boundaries.
    const n = sentence.length;
    const unkScore = this.minScore - 10;
    // best*[i]: the best path ending at offset i (score, start offset, token id)
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1);
    const trie = (this.trieOfPieces ??= new PieceTrie(this.pieces));
    for (let start = 0; start < n;) {
      const base = bestScore[start]!;
      const single = start + (isSurrogatePairAt(sentence, start) ? 2 : 1);
      let hasSingle = false;
      // Every piece that starts here, shortest first (the trie's common-prefix search).
      for (let node = 0, end = start; end < n;) {
        node = trie.child(node, sentence.charCodeAt(end++));
        if (node < 0) break;
        const id = trie.pieceAt(node);
        if (id < 0) continue;
        const score = this.pieces[id]![1] + base;
        if (bestStart[end] === -1 || score > bestScore[end]!) {
          bestScore[end] = score;
          bestStart[end] = start;
          bestId[end] = id;
        }
        if (end === single) hasSingle = true;
      }
      if (!hasSingle) {
        if (this.unkId === undefined)
          throw fail("TOKENIZER_INVALID", "Unigram model has no unk_id for an unknown character");
        const score = unkScore + base;
        if (bestStart[single] === -1 || score > bestScore[single]!) {
          bestScore[single] = score;
          bestStart[single] = start;
          bestId[single] = this.unkId;
        }
      }
      start = single;
    }
    const ends: number[] = [];
    for (let end = n; end > 0; end = bestStart[end]!) ends.push(end);
    // Consecutive unknown pieces are fused into one token.
    const ids: number[] = [];
    let start = 0;
    let unknownFrom = -1;
    for (let k = ends.length - 1; k >= 0; k--) {
      const end = ends[k]!;
      if (bestId[end] === this.unkId) {
        if (unknownFrom < 0) unknownFrom = start;
      } else {
        if (unknownFrom >= 0) this.pushUnknown(sentence.slice(unknownFrom, start), ids);
        unknownFrom = -1;
        ids.push(bestId[end]!);
      }
      start = end;
    }
    if (unknownFrom >= 0) this.pushUnknown(sentence.slice(unknownFrom, n), ids);
    return ids;
  }
}

function isSurrogatePairAt(s: string, i: number): boolean {
  const u = s.charCodeAt(i);
  return u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
}

/**
 * A trie over the UTF-16 code units of the pieces, its edges in one hash table of (node, code unit) →
 * child node: cheap to build for a large vocabulary, and a walk stops as soon as no piece continues.
 */
class PieceTrie {
  private readonly edges: PairTable;
  private readonly pieceIds: Int32Array;

  constructor(pieces: readonly [string, number][]) {
    let total = 0;
    for (const [piece] of pieces) total += piece.length;
    this.edges = new PairTable(total);
    const pieceIds = new Int32Array(total + 1).fill(-1);
    let nodes = 1; // node 0 is the root
    pieces.forEach(([piece], id) => {
      let node = 0;
      for (let k = 0; k < piece.length; k++) {
        const child = this.edges.addIfAbsent(node, piece.charCodeAt(k), nodes);
        if (child === nodes) nodes++;
        node = child;
      }
      // As in a dictionary built from the list, the last piece with the same text wins.
      if (piece.length > 0) pieceIds[node] = id;
    });
    this.pieceIds = pieceIds;
  }

  /** The child of `node` by `unit`, or −1. */
  child(node: number, unit: number): number {
    return this.edges.get(node, unit);
  }

  /** The id of the piece ending at `node`, or −1. */
  pieceAt(node: number): number {
    return this.pieceIds[node]!;
  }
}
