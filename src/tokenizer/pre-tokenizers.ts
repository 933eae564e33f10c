// Pre-tokenizers of HF `tokenizers`, matching the Rust library's splits (empty pieces are dropped,
// as PreTokenizedString::split does).
import { fail } from "../errors.js";
import { type ComponentJson, WHITESPACE_CLASS, isWhitespace, patternToRegExp } from "./tokenizer-json.js";

/** A piece of text still to be tokenized; `atStart` = it begins at offset 0 of the original input. */
export interface Piece {
  text: string;
  atStart: boolean;
}

export type PreTokenizer = (pieces: Piece[]) => Piece[];

type Behavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/** Splits `text` at the given matches [start, end) following SplitDelimiterBehavior. */
function splitAt(piece: Piece, matches: [number, number][], behavior: Behavior, invert = false): Piece[] {
  const text = piece.text;
  // All spans in order with their match flag (Pattern::find_matches): gaps are non-matches.
  const spans: [number, number, boolean][] = [];
  let last = 0;
  for (const [s, e] of matches) {
    if (s > last) spans.push([last, s, false]);
    spans.push([s, e, true]);
    last = e;
  }
  if (last < text.length || spans.length === 0) spans.push([last, text.length, false]);
  if (invert) for (const span of spans) span[2] = !span[2];

  let parts: [number, number, boolean][] = []; // [start, end, remove]
  switch (behavior) {
    case "Removed":
      parts = spans.map(([s, e, m]) => [s, e, m]);
      break;
    case "Isolated":
      parts = spans.map(([s, e]) => [s, e, false]);
      break;
    case "Contiguous": {
      let prev = false;
      for (const [s, e, m] of spans) {
        const lastPart = parts[parts.length - 1];
        if (m === prev && lastPart) lastPart[1] = e;
        else parts.push([s, e, false]);
        prev = m;
      }
      break;
    }
    case "MergedWithPrevious": {
      let prev = false;
      for (const [s, e, m] of spans) {
        const lastPart = parts[parts.length - 1];
        if (m && !prev && lastPart) lastPart[1] = e;
        else parts.push([s, e, false]);
        prev = m;
      }
      break;
    }
    case "MergedWithNext": {
      let prev = false;
      for (let i = spans.length - 1; i >= 0; i--) {
        const [s, e, m] = spans[i]!;
        const lastPart = parts[parts.length - 1];
        if (m && !prev && lastPart) lastPart[0] = s;
        else parts.push([s, e, false]);
        prev = m;
      }
      parts.reverse();
      break;
    }
  }
  return parts
    .filter(([s, e, remove]) => !remove && e > s)
    .map(([s, e]) => ({ text: text.slice(s, e), atStart: piece.atStart && s === 0 }));
}

function charMatches(text: string, test: (ch: string) => boolean): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  for (const ch of text) {
    if (test(ch)) out.push([i, i + ch.length]);
    i += ch.length;
  }
  return out;
}

function regexMatches(text: string, re: RegExp): [number, number][] {
  const out: [number, number][] = [];
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    out.push([m.index, m.index + m[0].length]);
  }
  return out;
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

const utf8 = new TextEncoder();
export function byteLevelEncode(text: string): string {
  let out = "";
  for (const b of utf8.encode(text)) out += BYTES_TO_CHARS[b];
  return out;
}

const isAsciiPunct = (ch: string) => /^[!-/:-@[-`{-~]$/.test(ch);
const PUNCT_RE = /^\p{P}$/u;
const isBertPunct = (ch: string) => isAsciiPunct(ch) || PUNCT_RE.test(ch);

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
      return (pieces) =>
        pieces
          .flatMap((piece) => {
            let p = piece;
            if (addPrefixSpace && !p.text.startsWith(" ")) p = { ...p, text: " " + p.text };
            return useRegex ? splitAt(p, regexMatches(p.text, GPT2_SPLIT), "Isolated") : [p];
          })
          .map((p) => ({ ...p, text: byteLevelEncode(p.text) }));
    }
    case "BertPreTokenizer":
      return (pieces) =>
        pieces
          .flatMap((p) => splitAt(p, charMatches(p.text, isWhitespace), "Removed"))
          .flatMap((p) => splitAt(p, charMatches(p.text, isBertPunct), "Isolated"));
    case "Whitespace": {
      const word = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
      const re = new RegExp(`[${word}]+|[^${word}${WS}]+`, "gu");
      return (pieces) => pieces.flatMap((p) => splitAt(p, regexMatches(p.text, re), "Removed", true));
    }
    case "WhitespaceSplit":
      return (pieces) => pieces.flatMap((p) => splitAt(p, charMatches(p.text, isWhitespace), "Removed"));
    case "Punctuation": {
      const behavior = (config.behavior as Behavior | undefined) ?? "Isolated";
      return (pieces) => pieces.flatMap((p) => splitAt(p, charMatches(p.text, isBertPunct), behavior));
    }
    case "Split": {
      const re = patternToRegExp(config.pattern);
      const behavior = config.behavior as Behavior;
      const invert = config.invert === true;
      return (pieces) => pieces.flatMap((p) => splitAt(p, regexMatches(p.text, re), behavior, invert));
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
  return (pieces) =>
    pieces.flatMap((piece) => {
      let text = piece.text.replaceAll(" ", replacement);
      // NormalizedString::prepend does nothing on an empty string.
      const prepend = scheme === "always" || (scheme === "first" && piece.atStart);
      if (prepend && text.length > 0 && !text.startsWith(replacement)) text = replacement + text;
      const p = { text, atStart: piece.atStart };
      return split
        ? splitAt(
            p,
            charMatches(text, (ch) => ch === replacement),
            "MergedWithNext",
          )
        : [p];
    });
}
