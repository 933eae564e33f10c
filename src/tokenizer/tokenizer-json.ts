// The tokenizer.json layout of Hugging Face `tokenizers` (the Rust library), as far as Sightline reads
// it, plus the Unicode character classes its components use. Components take these plain objects, so a
// tokenizer built in memory from vocab.json / vocab.txt / a SentencePiece model goes through exactly the
// same code as one read from tokenizer.json.

/** One component config ({"type": "...", ...}); the fields depend on the type. */
export type ComponentJson = { type: string } & Record<string, unknown>;

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: ComponentJson | null;
  pre_tokenizer: ComponentJson | null;
  post_processor: ComponentJson | null;
  decoder: ComponentJson | null;
  model: ComponentJson;
}

/** tokenizer_config.json: only the keys Sightline reads are typed. */
export interface TokenizerConfigJson {
  tokenizer_class?: string;
  clean_up_tokenization_spaces?: boolean;
  add_prefix_space?: boolean;
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  added_tokens_decoder?: Record<string, Omit<AddedTokenJson, "id">>;
  additional_special_tokens?: (string | { content: string })[];
  [key: string]: unknown;
}

// Rust `char::is_whitespace` (Unicode White_Space). JavaScript's \s differs (it has U+FEFF, lacks U+0085).
export const WHITESPACE_CLASS = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
export function isWhitespace(ch: string): boolean {
  return ch.length === 1 && isWhitespaceCode(ch.charCodeAt(0));
}

/** isWhitespace for a code point: the characters of WHITESPACE_CLASS. */
export function isWhitespaceCode(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** Start of the whitespace run that ends at `end` in `s`, not before `floor` (Rust regex `\s*$`). */
export function trailingWhitespaceStart(s: string, end = s.length, floor = 0): number {
  let i = end;
  while (i > floor && isWhitespaceCode(s.charCodeAt(i - 1))) i--;
  return i;
}

/** End of the whitespace run that starts at `start` in `s` (Rust regex `^\s*`). */
export function leadingWhitespaceEnd(s: string, start = 0): number {
  let i = start;
  while (i < s.length && isWhitespaceCode(s.charCodeAt(i))) i++;
  return i;
}

// Rust regex `\w` (Unicode word character).
const WORD_RE = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
function isWordChar(ch: string): boolean {
  return WORD_RE.test(ch);
}

/** Whether the code point at `at` in `s` is a word character (Rust `^\w` on s[at..]). */
export function startsWithWord(s: string, at = 0): boolean {
  if (at >= s.length) return false;
  return isWordChar(String.fromCodePoint(s.codePointAt(at)!));
}

/** Whether the code point ending at `end` in `s` is a word character (Rust `\w$` on s[..end]). */
export function endsWithWord(s: string, end = s.length): boolean {
  if (end <= 0) return false;
  const low = s.charCodeAt(end - 1);
  const pair = end >= 2 && (low & 0xfc00) === 0xdc00 && (s.charCodeAt(end - 2) & 0xfc00) === 0xd800;
  return isWordChar(s.slice(pair ? end - 2 : end - 1, end));
}

/** Splits a string into code points (one string per Unicode scalar). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/**
 * Rust `char::to_lowercase` per character. String.toLowerCase maps each character on its own except
 * capital sigma, which becomes ς at the end of a word; Rust always gives σ.
 */
export function lowercasePerChar(s: string): string {
  if (!s.includes("\u03a3")) return s.toLowerCase();
  return s
    .split("\u03a3")
    .map((part) => part.toLowerCase())
    .join("\u03c3");
}

/** Translates the regex flavours found in tokenizer.json patterns (Oniguruma) to a global JS RegExp. */
export function patternToRegExp(pattern: unknown): RegExp {
  const p = pattern as { String?: string; Regex?: string };
  if (typeof p.String === "string") return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  if (typeof p.Regex === "string")
    return new RegExp(onigurumaWhitespace(caseInsensitiveGroups(p.Regex)), "gu");
  throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
}

// \s and \S follow Unicode White_Space in Oniguruma; rewrite them, minding character classes.
function onigurumaWhitespace(source: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === "\\" && i + 1 < source.length) {
      const next = source[i + 1]!;
      i++;
      if (next === "s") out += inClass ? WHITESPACE_CLASS : `[${WHITESPACE_CLASS}]`;
      else if (next === "S" && !inClass) out += `[^${WHITESPACE_CLASS}]`;
      else out += ch + next;
      continue;
    }
    if (ch === "[" && !inClass) inClass = true;
    else if (ch === "]" && inClass) inClass = false;
    out += ch;
  }
  return out;
}

// Characters whose case folding reaches a letter that neither toLowerCase nor toUpperCase does
// (LONG S → s, KELVIN SIGN → k, ANGSTROM SIGN → å, …); Oniguruma's (?i) matches them.
const EXTRA_FOLDS =
  "\u017f\u212a\u212b\u1e9e\u2126\u03c2\u03d0\u03d1\u03d5\u03d6\u03f0\u03f1\u03f5\u1fbe\u00b5";

/** Every character that matches the letter `ch` case-insensitively (Unicode simple case folding). */
function caseVariants(ch: string): string[] {
  const fold = new RegExp(`^${ch}$`, "iu");
  const candidates = new Set([ch, ch.toLowerCase(), ch.toUpperCase(), ...EXTRA_FOLDS]);
  for (const c of [...candidates]) {
    candidates.add(c.toLowerCase());
    candidates.add(c.toUpperCase());
  }
  return [...candidates].filter((c) => [...c].length === 1 && fold.test(c));
}

/**
 * Rewrites Oniguruma's scoped case-insensitive groups `(?i:…)`, which this Node's RegExp lacks, as
 * groups whose letters are character classes of their case variants: `(?i:'s|'t)` → `(?:'[sSſ]|'[tT])`.
 * Character classes inside such a group are not supported, nor multi-character folds (ß ↔ ss); the
 * groups in tokenizer.json files are English contractions.
 */
export function caseInsensitiveGroups(source: string): string {
  if (!source.includes("(?i:")) return source;
  let out = "";
  let i = 0;
  while (i < source.length) {
    if (source.startsWith("(?i:", i) && !isEscaped(source, i)) {
      i += 4;
      out += "(?:";
      let depth = 0;
      for (; i < source.length; i++) {
        const ch = source[i]!;
        if (ch === "\\") {
          // An escape is copied as it is, a property escape (\p{Lu}) whole.
          const property = /^\\[pP]\{[^}]*\}/.exec(source.slice(i));
          const escape = property ? property[0] : ch + (source[i + 1] ?? "");
          out += escape;
          i += escape.length - 1;
          continue;
        }
        if (ch === "[") throw new Error(`unsupported character class in a (?i:…) group: ${source}`);
        if (ch === "(") depth++;
        if (ch === ")" && depth-- === 0) break;
        const variants = /\p{L}/u.test(ch) ? caseVariants(ch) : [ch];
        out += variants.length > 1 ? `[${variants.join("")}]` : ch;
      }
      out += ")";
      i++;
      continue;
    }
    out += source[i]!;
    i++;
  }
  return out;
}

function isEscaped(source: string, i: number): boolean {
  let backslashes = 0;
  for (let k = i - 1; k >= 0 && source[k] === "\\"; k--) backslashes++;
  return backslashes % 2 === 1;
}
