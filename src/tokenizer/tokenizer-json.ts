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
const WHITESPACE_RE = new RegExp(`^[${WHITESPACE_CLASS}]$`, "u");
export function isWhitespace(ch: string): boolean {
  return WHITESPACE_RE.test(ch);
}

/** Length of the whitespace run at the end of `s` (Rust regex `\s*$`). */
export function trailingWhitespaceStart(s: string): number {
  let i = s.length;
  while (i > 0 && isWhitespace(s[i - 1]!)) i--;
  return i;
}

/** End of the whitespace run at the start of `s` (Rust regex `^\s*`). */
export function leadingWhitespaceEnd(s: string): number {
  let i = 0;
  while (i < s.length && isWhitespace(s[i]!)) i++;
  return i;
}

// Rust regex `\w` (Unicode word character).
const WORD_START_RE = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const WORD_END_RE = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
export const startsWithWord = (s: string): boolean => WORD_START_RE.test(s);
export const endsWithWord = (s: string): boolean => WORD_END_RE.test(s);

/** Splits a string into code points (one string per Unicode scalar). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/** Rust `char::to_lowercase` per character: no context rules (final sigma stays σ), unlike String.toLowerCase. */
export function lowercasePerChar(s: string): string {
  let out = "";
  for (const ch of s) out += ch.toLowerCase();
  return out;
}

/** Translates the regex flavours found in tokenizer.json patterns (Oniguruma) to a global JS RegExp. */
export function patternToRegExp(pattern: unknown): RegExp {
  const p = pattern as { String?: string; Regex?: string };
  if (typeof p.String === "string") return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  if (typeof p.Regex === "string")
    return new RegExp(onigurumaWhitespace(inlineCaseInsensitive(p.Regex)), "gu");
  throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
}

// Node 20's RegExp has no inline modifiers: `(?i:'s|'t|…)` (Qwen2/Qwen3's pre-tokenizer) becomes a plain group
// whose ASCII letters are classes of their Unicode simple case folds (s also matches ſ, k also K).
function inlineCaseInsensitive(source: string): string {
  const folds: Record<string, string> = { s: "sS\u017f", k: "kK\u212a" };
  let out = "";
  for (let i = 0; i < source.length; i++) {
    if (!source.startsWith("(?i:", i)) {
      out += source[i];
      continue;
    }
    out += "(?:";
    let depth = 1;
    for (i += 4; i < source.length && depth > 0; i++) {
      const ch = source[i]!;
      if (ch === "\\") {
        // An escape (\p{…} whole) is copied as it is.
        const m = /^\\[pP]\{[^}]*\}/.exec(source.slice(i));
        const esc = m ? m[0] : source.slice(i, i + 2);
        out += esc;
        i += esc.length - 1;
        continue;
      }
      if (ch === "[") {
        // A character class is copied as it is (its letters stay case-sensitive).
        const end = source.indexOf("]", i + 2);
        out += source.slice(i, end + 1);
        i = end;
        continue;
      }
      if (ch === "(") depth++;
      if (ch === ")") depth--;
      const lower = ch.toLowerCase();
      out += /[a-z]/.test(lower) ? `[${folds[lower] ?? lower + lower.toUpperCase()}]` : ch;
    }
    i--;
  }
  return out;
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
