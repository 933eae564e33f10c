// Pre-tokenizers of HF `tokenizers`, matching the Rust library's splits (empty pieces are dropped,
// as PreTokenizedString::split does).
import { fail } from "../errors.js";
import { type ComponentJson, WHITESPACE_CLASS, isWhitespaceCode, patternToRegExp } from "./tokenizer-json.js";

/** A piece of text still to be tokenized; `atStart` = it begins at offset 0 of the original input. */
export interface Piece {
  text: string;
  atStart: boolean;
}

export type PreTokenizer = (pieces: Piece[]) => Piece[];

type Behavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/** Finds the matches [start, end) of a pattern in `text`, in order, calling `onMatch` for each. */
type Matcher = (text: string, onMatch: (start: number, end: number) => void) => void;

/**
 * Splits `piece` at the matches of `matcher` following SplitDelimiterBehavior and appends the parts
 * to `out`. Streams over the spans (matches and the gaps between them): a piece can hold megabytes.
 */
function splitAt(piece: Piece, matcher: Matcher, behavior: Behavior, out: Piece[], invert = false): void {
  const text = piece.text;
  const emit = (s: number, e: number) => {
    if (e > s) out.push({ text: text.slice(s, e), atStart: piece.atStart && s === 0 });
  };
  // A part grows while the next span continues it (Contiguous: same flag; MergedWithPrevious: a
  // match after a non-match; MergedWithNext: a non-match after a match).
  const joins =
    behavior === "Contiguous"
      ? (prev: boolean, cur: boolean) => prev === cur
      : behavior === "MergedWithPrevious"
        ? (prev: boolean, cur: boolean) => cur && !prev
        : (prev: boolean, cur: boolean) => prev && !cur;
  let partStart = -1;
  let prevMatch = false;
  const span = (s: number, e: number, isMatch: boolean) => {
    if (behavior === "Removed") {
      if (!isMatch) emit(s, e);
    } else if (behavior === "Isolated") emit(s, e);
    else {
      if (partStart < 0 || !joins(prevMatch, isMatch)) {
        if (partStart >= 0) emit(partStart, s);
        partStart = s;
      }
      prevMatch = isMatch;
    }
  };
  // All spans in order with their match flag (Pattern::find_matches): gaps are non-matches.
  let last = 0;
  let spans = 0;
  matcher(text, (s, e) => {
    if (s > last) span(last, s, invert);
    span(s, e, !invert);
    spans++;
    last = e;
  });
  if (last < text.length || spans === 0) span(last, text.length, invert);
  if (partStart >= 0) emit(partStart, text.length);
}

/** Matches the single code points that pass `test` (given the code point). */
function codePointMatcher(test: (cp: number) => boolean): Matcher {
  return (text, onMatch) => {
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const next = i + (cp > 0xffff ? 2 : 1);
      if (test(cp)) onMatch(i, next);
      i = next;
    }
  };
}

/** Matches of a global regex; empty matches are skipped. */
function regexMatcher(re: RegExp): Matcher {
  return (text, onMatch) => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const length = m[0].length;
      if (length > 0) onMatch(m.index, m.index + length);
      else re.lastIndex = m.index + (isSurrogatePairAt(text, m.index) ? 2 : 1);
    }
  };
}

function isSurrogatePairAt(s: string, i: number): boolean {
  const u = s.charCodeAt(i);
  return u >= 0xd800 && u <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
}

// GPT-2's split regex (Rust tokenizers ByteLevel), with \s as Unicode White_Space.
const WS = WHITESPACE_CLASS;
const GPT2_SPLIT = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  "gu",
);

/** GPT-2's byte → printable character table (bytes_char in Rust). */
export const BYTES_TO_CHARS: string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table: string[] = new Array(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  return table;
})();

/** The text's UTF-8 bytes as GPT-2's byte characters (a lone surrogate as U+FFFD, as TextEncoder). */
export function byteLevelEncode(text: string): string {
  const chars = BYTES_TO_CHARS;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      out += chars[cp];
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      if (cp <= 0xdbff && isSurrogatePairAt(text, i)) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      } else cp = 0xfffd;
    }
    if (cp < 0x800) out += chars[0xc0 | (cp >> 6)]! + chars[0x80 | (cp & 0x3f)]!;
    else if (cp < 0x10000) {
      out += chars[0xe0 | (cp >> 12)]! + chars[0x80 | ((cp >> 6) & 0x3f)]! + chars[0x80 | (cp & 0x3f)]!;
    } else {
      out +=
        chars[0xf0 | (cp >> 18)]! +
        chars[0x80 | ((cp >> 12) & 0x3f)]! +
        chars[0x80 | ((cp >> 6) & 0x3f)]! +
        chars[0x80 | (cp & 0x3f)]!;
    }
  }
  return out;
}

// BERT's punctuation: ASCII symbols and Unicode P*; BMP answers are remembered (0 unknown, 1 yes, 2 no).
const PUNCT_RE = /^\p{P}$/u;
const bmpPunct = new Uint8Array(0x10000);
function isBertPunct(cp: number): boolean {
  if (cp < 0x80) {
    return (
      (cp >= 0x21 && cp <= 0x2f) ||
      (cp >= 0x3a && cp <= 0x40) ||
      (cp >= 0x5b && cp <= 0x60) ||
      (cp >= 0x7b && cp <= 0x7e)
    );
  }
  if (cp > 0xffff) return PUNCT_RE.test(String.fromCodePoint(cp));
  if (bmpPunct[cp] === 0) bmpPunct[cp] = PUNCT_RE.test(String.fromCharCode(cp)) ? 1 : 2;
  return bmpPunct[cp] === 1;
}

// BertPreTokenizer in one pass: whitespace splits (and is dropped), punctuation is a piece of its own.
function bertSplit(piece: Piece, out: Piece[]): void {
  const text = piece.text;
  let word = 0;
  const emit = (s: number, e: number) => {
    if (e > s) out.push({ text: text.slice(s, e), atStart: piece.atStart && s === 0 });
  };
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!;
    const next = i + (cp > 0xffff ? 2 : 1);
    if (isWhitespaceCode(cp)) {
      emit(word, i);
      word = next;
    } else if (isBertPunct(cp)) {
      emit(word, i);
      emit(i, next);
      word = next;
    }
    i = next;
  }
  emit(word, text.length);
}

/** Applies `split` to every piece, collecting the parts. */
function eachPiece(split: (piece: Piece, out: Piece[]) => void): PreTokenizer {
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) split(piece, out);
    return out;
  };
}

export function createPreTokenizer(config: ComponentJson | null): PreTokenizer | null {
  if (config === null) return null;
  switch (config.type) {
    case "Sequence": {
      const parts = (config.pretokenizers as ComponentJson[]).map((c) => createPreTokenizer(c)!);
      return (pieces) => parts.reduce((p, pre) => pre(p), pieces);
    }
    case "ByteLevel": {
      const addPrefixSpace = config.add_prefix_space === true;
      const useRegex = config.use_regex !== false;
      const gpt2Split = regexMatcher(GPT2_SPLIT);
      return (pieces) => {
        const split: Piece[] = [];
        for (const piece of pieces) {
          let p = piece;
          if (addPrefixSpace && !p.text.startsWith(" ")) p = { ...p, text: " " + p.text };
          if (useRegex) splitAt(p, gpt2Split, "Isolated", split);
          else split.push(p);
        }
        for (const p of split) p.text = byteLevelEncode(p.text);
        return split;
      };
    }
    case "BertPreTokenizer":
      return eachPiece(bertSplit);
    case "Whitespace": {
      const word = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
      const words = regexMatcher(new RegExp(`[${word}]+|[^${word}${WS}]+`, "gu"));
      return eachPiece((p, out) => splitAt(p, words, "Removed", out, true));
    }
    case "WhitespaceSplit": {
      const whitespace = codePointMatcher(isWhitespaceCode);
      return eachPiece((p, out) => splitAt(p, whitespace, "Removed", out));
    }
    case "Punctuation": {
      const behavior = (config.behavior as Behavior | undefined) ?? "Isolated";
      const punctuation = codePointMatcher(isBertPunct);
      return eachPiece((p, out) => splitAt(p, punctuation, behavior, out));
    }
    case "Split": {
      const pattern = regexMatcher(patternToRegExp(config.pattern));
      const behavior = config.behavior as Behavior;
      const invert = config.invert === true;
      return eachPiece((p, out) => splitAt(p, pattern, behavior, out, invert));
    }
    case "Metaspace":
      return metaspace(config);
    default:
      throw fail("TOKENIZER_INVALID", `pre-tokenizer type ${config.type} is not supported`);
  }
}

export type PrependScheme = "always" | "first" | "never";

export function metaspaceScheme(config: ComponentJson): PrependScheme {
  if (config.add_prefix_space === false) return "never";
  return (config.prepend_scheme as PrependScheme | undefined) ?? "always";
}

// Metaspace: spaces → "▁", prepend "▁" (always / only at the input's start), split before each "▁".
function metaspace(config: ComponentJson): PreTokenizer {
  const replacement = String(config.replacement ?? "▁");
  const scheme = metaspaceScheme(config);
  const split = config.split !== false;
  const mark = replacement.codePointAt(0);
  const marks = codePointMatcher((cp) => cp === mark);
  return eachPiece((piece, out) => {
    let text = piece.text.replaceAll(" ", replacement);
    // NormalizedString::prepend does nothing on an empty string.
    const prepend = scheme === "always" || (scheme === "first" && piece.atStart);
    if (prepend && text.length > 0 && !text.startsWith(replacement)) text = replacement + text;
    const p = { text, atStart: piece.atStart };
    if (split) splitAt(p, marks, "MergedWithNext", out);
    else out.push(p);
  });
}
