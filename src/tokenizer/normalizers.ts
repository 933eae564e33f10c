// Normalizers of HF `tokenizers`, reimplemented to match the Rust library (0.22) character for
// character. Only the normalized text matters to Sightline (no offsets are tracked).
import { fail } from "../errors.js";
import {
  type ComponentJson,
  isWhitespace,
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
    let out = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cleanText) {
        // Control characters go first, so the ones that are also whitespace (VT, FF, NEL) are dropped.
        const tabOrNewline = ch === "\t" || ch === "\n" || ch === "\r";
        if (cp === 0 || cp === 0xfffd || (!tabOrNewline && CONTROL_RE.test(ch))) continue;
        if (tabOrNewline || isWhitespace(ch)) {
          out += " ";
          continue;
        }
      }
      out += handleChinese && isChineseChar(cp) ? ` ${ch} ` : ch;
    }
    if (stripAccents) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
    if (lowercase) out = lowercasePerChar(out);
    return out;
  };
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
const utf8 = new TextEncoder();

function precompiledNormalizer(base64: string | null): Normalizer {
  if (!base64) return (text) => text;
  const charsmap = new PrecompiledCharsmap(Buffer.from(base64, "base64"));
  return (text) => {
    let out = "";
    for (const { segment } of graphemes.segment(text)) {
      if (utf8.encode(segment).length < 6) {
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
