// Normalizers of HF `tokenizers`, reimplemented to match the Rust library (0.22) character for
// character. Only the normalized text matters to Sightline (no offsets are tracked).
import { fail } from "../errors.js";
import {
  type ComponentJson,
  isWhitespace,
  isWhitespaceCode,
  lowercasePerChar,
  patternToRegExp,
  trailingWhitespaceStart,
} from "./tokenizer-json.js";

export type Normalizer = (text: string) => string;

export function createNormalizer(config: ComponentJson | null): Normalizer | null {
  if (config === null) return null;
  switch (config.type) {
    case "Sequence": {
      const parts = (config.normalizers as ComponentJson[]).map((c) => createNormalizer(c)!);
      return (text) => parts.reduce((t, n) => n(t), text);
    }
    case "BertNormalizer":
      return bertNormalizer(config);
    case "Precompiled":
      return precompiledNormalizer(config.precompiled_charsmap as string | null);
    case "Strip": {
      const left = config.strip_left !== false;
      const right = config.strip_right !== false;
      return (text) => {
        let end = text.length;
        if (right) end = trailingWhitespaceStart(text);
        let start = 0;
        if (left) while (start < end && isWhitespace(text[start]!)) start++;
        return text.slice(start, end);
      };
    }
    case "Replace": {
      const re = patternToRegExp(config.pattern);
      const content = String(config.content ?? "");
      return (text) => text.replace(re, () => content);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = config.type;
      return (text) => text.normalize(form);
    }
    case "Lowercase":
      return lowercasePerChar;
    case "StripAccents":
      // Rust removes nonspacing marks only; it expects an NFD normalizer before it.
      return (text) => text.replace(/\p{Mn}/gu, "");
    case "Prepend": {
      const prepend = String(config.prepend);
      return (text) => (text.length > 0 ? prepend + text : text);
    }
    default:
      throw fail("TOKENIZER_INVALID", `normalizer type ${config.type} is not supported`);
  }
}

// BertNormalizer: clean text (drop NUL, U+FFFD and control chars; whitespace → space), pad CJK
// ideographs with spaces, strip accents (NFD, drop Mn) when lowercasing unless told otherwise, lowercase.
// Rust `is_other` (unicode_categories): Cc, Cf, Co, Cs; unassigned code points (Cn) are kept.
const CONTROL_RE = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function bertNormalizer(config: ComponentJson): Normalizer {
  const cleanText = config.clean_text !== false;
  const handleChinese = config.handle_chinese_chars !== false;
  const lowercase = config.lowercase !== false;
  const stripAccents = (config.strip_accents as boolean | null | undefined) ?? lowercase;
  return (text) => {
    // Unchanged stretches are copied in one slice; `kept` is where the current one began.
    let out = "";
    let kept = 0;
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const next = i + (cp > 0xffff ? 2 : 1);
      let replacement: string | undefined;
      if (isChineseChar(cp)) {
        if (handleChinese) replacement = ` ${text.slice(i, next)} `;
      } else if (cleanText) {
        // Control characters go first, so the ones that are also whitespace (VT, FF, NEL) are dropped.
        const tabOrNewline = cp === 0x09 || cp === 0x0a || cp === 0x0d;
        if (cp === 0 || cp === 0xfffd || (!tabOrNewline && isOther(cp))) replacement = "";
        else if (tabOrNewline || (cp !== 0x20 && isWhitespaceCode(cp))) replacement = " ";
      }
      if (replacement !== undefined) {
        out += text.slice(kept, i) + replacement;
        kept = next;
      }
      i = next;
    }
    out += text.slice(kept);
    if (stripAccents) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
    if (lowercase) out = lowercasePerChar(out);
    return out;
  };
}

function isOther(cp: number): boolean {
  if (cp < 0x80) return cp < 0x20 || cp === 0x7f;
  return CONTROL_RE.test(String.fromCodePoint(cp));
}

/**
 * SentencePiece's precompiled charsmap (spm_precompiled): a Darts double-array trie over UTF-8 bytes
 * whose values are offsets into a blob of NUL-terminated replacement strings. Applied like the Rust
 * library does: per extended grapheme cluster (if shorter than 6 UTF-8 bytes) with the *shortest*
 * prefix match replacing the whole cluster, else per character.
 */
export class PrecompiledCharsmap {
  private readonly trie: Uint32Array;
  private readonly normalized: Uint8Array;
  private readonly cache = new Map<string, string | null>();
  private static readonly encoder = new TextEncoder();
  private static readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(bytes: Uint8Array) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieSize = view.getUint32(0, true);
    const units = trieSize >>> 2;
    this.trie = new Uint32Array(units);
    for (let i = 0; i < units; i++) this.trie[i] = view.getUint32(4 + i * 4, true);
    this.normalized = bytes.subarray(4 + trieSize);
  }

  /** The replacement for `chunk`, or null when the charsmap has no entry for any prefix of it. */
  transform(chunk: string): string | null {
    const cached = this.cache.get(chunk);
    if (cached !== undefined) return cached;
    const key = PrecompiledCharsmap.encoder.encode(chunk);
    const value = this.firstPrefixValue(key);
    let result: string | null = null;
    if (value >= 0) {
      let end = value;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      result = PrecompiledCharsmap.decoder.decode(this.normalized.subarray(value, end));
    }
    if (this.cache.size < 100_000) this.cache.set(chunk, result);
    return result;
  }

  // Darts common-prefix search, returning the value of the shortest matching prefix (-1 if none).
  private firstPrefixValue(key: Uint8Array): number {
    const a = this.trie;
    const offset = (u: number) => (u >>> 10) << ((u & (1 << 9)) >>> 6);
    let pos = 0;
    pos ^= offset(a[pos]!);
    for (const c of key) {
      if (c === 0) break;
      pos ^= c;
      const unit = a[pos];
      if (unit === undefined || (unit & ((1 << 31) | 0xff)) >>> 0 !== c) return -1;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) return a[pos]! & 0x7fffffff;
    }
    return -1;
  }
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

// Code units of characters that no grapheme break rule joins to a neighbour of the same kind: ASCII and
// the common letters, symbols and punctuation of Latin, Greek, Cyrillic, CJK, kana and Hangul syllables
// (no combining marks, Prepend, jamo, regional indicators or surrogates). Between two of them there is
// always a cluster boundary, except CR LF.
const SIMPLE_UNITS = (() => {
  const table = new Uint8Array(0x10000);
  const ranges: [number, number][] = [
    [0x0000, 0x007f],
    [0x00a0, 0x02ff],
    [0x0370, 0x0482],
    [0x048a, 0x052f],
    [0x2010, 0x2027],
    [0x2030, 0x205f],
    [0x3000, 0x3029],
    [0x3030, 0x303f],
    [0x3041, 0x3096],
    [0x309b, 0x30ff],
    [0x3400, 0x4dbf],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xf900, 0xfaff],
    [0xff01, 0xff9d],
  ];
  for (const [from, to] of ranges) table.fill(1, from, to + 1);
  return table;
})();

/** Whether a cluster boundary lies between the code units at `at − 1` and `at` for certain. */
function surelyBoundary(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  return SIMPLE_UNITS[before] === 1 && before !== 0x0d && SIMPLE_UNITS[text.charCodeAt(at)] === 1;
}

/**
 * The extended grapheme clusters of `text`, as Intl.Segmenter finds them. Runs of simple characters
 * (SIMPLE_UNITS) are one cluster per character and skip the segmenter. The rest goes through it in
 * windows: Intl.Segmenter takes time proportional to the whole string for each cluster it yields
 * (quadratic overall).
 */
export function* graphemeClusters(text: string): Generator<string> {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (i + 1 === n ? SIMPLE_UNITS[text.charCodeAt(i)] === 1 : surelyBoundary(text, i + 1)) {
      yield text[i]!;
      i++;
      continue;
    }
    if (text.charCodeAt(i) === 0x0d && text.charCodeAt(i + 1) === 0x0a) {
      yield "\r\n";
      i += 2;
      continue;
    }
    // Up to the next certain boundary, or the end.
    let end = i + 1;
    while (end < n && !surelyBoundary(text, end)) end++;
    yield* segmentInWindows(text.slice(i, end));
    i = end;
  }
}

// A window's clusters are final except its last one (cut off, or decided without the character after
// it), which starts the next window. Every break rule looks only at the code point after the break and
// back within the cluster, so a window starting on a true boundary segments like the whole text.
function* segmentInWindows(text: string, window = 256): Generator<string> {
  let pos = 0;
  let size = window;
  while (pos < text.length) {
    let end = Math.min(text.length, pos + size);
    // Never end between the halves of a surrogate pair: the last cluster's first code point is whole.
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end++;
    const atEnd = end === text.length;
    let last: string | undefined;
    let lastIndex = 0;
    for (const { segment, index } of graphemes.segment(text.slice(pos, end))) {
      if (last !== undefined) yield last;
      last = segment;
      lastIndex = index;
    }
    if (atEnd) {
      if (last !== undefined) yield last;
      return;
    }
    if (lastIndex === 0) {
      size *= 2; // one cluster fills the window: look further
      continue;
    }
    pos += lastIndex;
    size = window;
  }
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** UTF-8 length of a string (lone surrogates count 3, as their U+FFFD replacement). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0x80) n += 1;
    else if (u < 0x800) n += 2;
    else if (isHighSurrogate(u) && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function precompiledNormalizer(base64: string | null): Normalizer {
  if (!base64) return (text) => text;
  const charsmap = new PrecompiledCharsmap(Buffer.from(base64, "base64"));
  return (text) => {
    let out = "";
    for (const segment of graphemeClusters(text)) {
      if (utf8Length(segment) < 6) {
        const norm = charsmap.transform(segment);
        if (norm !== null) {
          out += norm;
          continue;
        }
      }
      for (const ch of segment) out += charsmap.transform(ch) ?? ch;
    }
    return out;
  };
}
