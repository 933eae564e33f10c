// The Rust `tokenizers` Tokenizer in TypeScript: added vocabulary → normalizer → pre-tokenizer →
// model → post-processor, and decode through the decoder. Built from a tokenizer.json object.
import type { AddedTokenJson, TokenizerJson } from "./tokenizer-json.js";
import {
  endsWithWord,
  leadingWhitespaceEnd,
  startsWithWord,
  trailingWhitespaceStart,
} from "./tokenizer-json.js";
import { PairTable } from "./int-tables.js";
import { type TokenizerModel, createModel } from "./models.js";
import { type Normalizer, createNormalizer } from "./normalizers.js";
import { type Decoder, type PostProcessor, createDecoder, createPostProcessor } from "./post-processors.js";
import { type Piece, type PreTokenizer, createPreTokenizer } from "./pre-tokenizers.js";

export type AddedTokenSpec = Omit<AddedTokenJson, "id">;

/** Leftmost-longest matcher over added-token contents (the Aho-Corasick automaton in Rust). */
class TokenMatcher {
  // A trie over UTF-16 code units: edges (node, unit) → child, tokenIds[node] (−1: no pattern ends).
  private readonly edges = new PairTable();
  private readonly tokenIds: number[] = [-1];
  // Code units that start some pattern: other positions are skipped at once.
  private readonly firstUnits = new Uint8Array(0x10000);

  /** Patterns with their token ids; for equal patterns the first one wins (as in Aho-Corasick). */
  constructor(entries: [string, number][]) {
    for (const [pattern, id] of entries) {
      if (pattern.length === 0) continue;
      this.firstUnits[pattern.charCodeAt(0)] = 1;
      let node = 0;
      for (let k = 0; k < pattern.length; k++) {
        const child = this.edges.addIfAbsent(node, pattern.charCodeAt(k), this.tokenIds.length);
        if (child === this.tokenIds.length) this.tokenIds.push(-1);
        node = child;
      }
      if (this.tokenIds[node]! < 0) this.tokenIds[node] = id;
    }
  }

  /** Non-overlapping leftmost-longest matches: [start, end, token id]. */
  matches(text: string): [number, number, number][] {
    const out: [number, number, number][] = [];
    if (this.edges.size === 0) return out;
    let i = 0;
    while (i < text.length) {
      if (this.firstUnits[text.charCodeAt(i)] === 0) {
        i++;
        continue;
      }
      let bestEnd = -1;
      let bestId = -1;
      for (let j = i, node = 0; j < text.length; j++) {
        node = this.edges.get(node, text.charCodeAt(j));
        if (node < 0) break;
        if (this.tokenIds[node]! >= 0) {
          bestEnd = j + 1;
          bestId = this.tokenIds[node]!;
        }
      }
      if (bestEnd >= 0) {
        out.push([i, bestEnd, bestId]);
        i = bestEnd;
      } else i++;
    }
    return out;
  }
}

type Split = { kind: "text"; piece: Piece } | { kind: "token"; id: number };

export class TokenizerPipeline {
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizer | null;
  readonly model: TokenizerModel;
  readonly postProcessor: PostProcessor | null;
  readonly decoder: Decoder | null;
  // The Rust AddedVocabulary: content → id, id → current token (flags), and the special / plain token
  // lists the matchers are built from. Re-adding a token with other flags replaces its flags but, as in
  // Rust, its earlier entry stays in the lists (its pattern may still match; the current flags apply).
  private readonly addedByContent = new Map<string, number>();
  private readonly addedById = new Map<number, AddedTokenJson>();
  private readonly specialContents = new Set<string>();
  private readonly specialList: AddedTokenJson[] = [];
  private readonly plainList: AddedTokenJson[] = [];
  private rawMatcher!: TokenMatcher;
  private normalizedMatcher!: TokenMatcher;

  constructor(json: TokenizerJson) {
    this.normalizer = createNormalizer(json.normalizer);
    this.preTokenizer = createPreTokenizer(json.pre_tokenizer);
    this.model = createModel(json.model);
    this.postProcessor = createPostProcessor(json.post_processor);
    this.decoder = createDecoder(json.decoder);
    for (const t of json.added_tokens) this.register(t.id, t);
    this.refresh();
  }

  /** All added tokens with their ids, in id order. */
  addedTokens(): AddedTokenJson[] {
    return [...this.addedById.values()].sort((a, b) => a.id - b.id);
  }

  get vocabSize(): number {
    let size = this.model.size;
    for (const id of this.addedById.keys()) size = Math.max(size, id + 1);
    return size;
  }

  isSpecial(id: number): boolean {
    const t = this.addedById.get(id);
    return t !== undefined && this.specialContents.has(t.content);
  }

  specialIds(): number[] {
    return [...this.addedById.values()].filter((t) => this.specialContents.has(t.content)).map((t) => t.id);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.model.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken(id);
  }

  /**
   * AddedVocabulary::add_tokens: a token already known (added or in the model) keeps its id, a new one
   * gets the next id after the model vocabulary and the added tokens. Returns how many were added.
   */
  addTokens(tokens: AddedTokenSpec[]): number {
    let nextId = this.model.size;
    for (const id of this.addedById.keys()) if (id >= nextId) nextId = id + 1;
    let added = 0;
    for (const spec of tokens) {
      if (spec.content.length === 0) continue;
      const existing = this.addedByContent.get(spec.content);
      if (existing !== undefined && sameFlags(this.addedById.get(existing)!, spec)) continue;
      const id = this.tokenToId(spec.content) ?? nextId++;
      this.register(id, { id, ...spec });
      added++;
    }
    this.refresh();
    return added;
  }

  private register(id: number, token: AddedTokenJson): void {
    const t = { ...token, id };
    if (t.special && !this.specialContents.has(t.content)) {
      this.specialContents.add(t.content);
      this.specialList.push(t);
    }
    this.addedByContent.set(t.content, id);
    this.addedById.set(id, t);
    if (!this.specialContents.has(t.content)) this.plainList.push(t);
  }

  private refresh(): void {
    const raw: [string, number][] = [];
    const normalized: [string, number][] = [];
    for (const t of [...this.specialList, ...this.plainList]) {
      const id = this.addedByContent.get(t.content)!;
      if (t.normalized) normalized.push([this.normalizer ? this.normalizer(t.content) : t.content, id]);
      else raw.push([t.content, id]);
    }
    this.rawMatcher = new TokenMatcher(raw);
    this.normalizedMatcher = new TokenMatcher(normalized);
  }

  /** Token ids of `text`, with the post-processor's special tokens when `addSpecialTokens`. */
  encode(text: string, addSpecialTokens = true): number[] {
    const ids: number[] = [];
    for (const split of this.splitAddedTokens(text)) {
      if (split.kind === "token") {
        ids.push(split.id);
        continue;
      }
      const pieces = this.preTokenizer ? this.preTokenizer([split.piece]) : [split.piece];
      for (const piece of pieces) for (const id of this.model.encode(piece.text)) ids.push(id);
    }
    return this.postProcessor ? this.postProcessor(ids, addSpecialTokens) : ids;
  }

  /** Token strings of `text` without special tokens (HF `tokenize`). */
  tokenize(text: string): string[] {
    return this.encode(text, false).map((id) => this.idToToken(id) ?? "");
  }

  // AddedVocabulary::extract_and_normalize: split out non-normalized added tokens on the raw text,
  // normalize the rest, then split out normalized added tokens.
  private splitAddedTokens(text: string): Split[] {
    const out: Split[] = [];
    const flags = (id: number) => this.addedById.get(id)!;
    for (const first of findTokens(text, this.rawMatcher, flags, true)) {
      if (first.kind === "token") {
        out.push(first);
        continue;
      }
      const normalizedText = this.normalizer ? this.normalizer(first.piece.text) : first.piece.text;
      if (normalizedText.length === 0) continue;
      for (const split of findTokens(normalizedText, this.normalizedMatcher, flags, first.piece.atStart)) {
        out.push(split);
      }
    }
    return out;
  }

  /** Rust Tokenizer::decode: token strings (skipping special tokens if asked) through the decoder. */
  decode(ids: number[], skipSpecialTokens: boolean): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const token = this.idToToken(id);
      if (token === undefined) continue;
      if (skipSpecialTokens && this.specialContents.has(token)) continue;
      tokens.push(token);
    }
    return this.decoder ? this.decoder(tokens).join("") : tokens.join(" ");
  }
}

function sameFlags(a: AddedTokenSpec, b: AddedTokenSpec): boolean {
  return (
    a.content === b.content &&
    a.single_word === b.single_word &&
    a.lstrip === b.lstrip &&
    a.rstrip === b.rstrip &&
    a.normalized === b.normalized &&
    a.special === b.special
  );
}

// AddedVocabulary::find_matches: matches honour single_word, and lstrip/rstrip swallow the whitespace
// next to the token. Empty text pieces are dropped (as PreTokenizedString::split does).
function findTokens(
  text: string,
  matcher: TokenMatcher,
  flags: (id: number) => AddedTokenJson,
  atStart: boolean,
): Split[] {
  const out: Split[] = [];
  let offset = 0;
  const pushText = (s: number, e: number) => {
    if (e > s) out.push({ kind: "text", piece: { text: text.slice(s, e), atStart: atStart && s === 0 } });
  };
  for (const [matchStart, matchEnd, id] of matcher.matches(text)) {
    const token = flags(id);
    let start = matchStart;
    let stop = matchEnd;
    if (token.single_word) {
      const startSpace = start === 0 || !endsWithWord(text, start);
      const stopSpace = stop === text.length || !startsWithWord(text, stop);
      if (!startSpace || !stopSpace) continue;
    }
    // Whitespace an earlier match took is not taken again.
    if (token.lstrip) start = Math.max(trailingWhitespaceStart(text, start, Math.min(offset, start)), offset);
    if (token.rstrip) stop = leadingWhitespaceEnd(text, stop);
    pushText(offset, start);
    out.push({ kind: "token", id: token.id });
    offset = stop;
  }
  pushText(offset, text.length);
  return out;
}
