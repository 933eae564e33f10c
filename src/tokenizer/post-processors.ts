// Post-processors (special tokens around a sequence) and decoders (token strings → text) of HF
// `tokenizers`, matching the Rust library.
import { fail } from "../errors.js";
import type { ComponentJson } from "./tokenizer-json.js";
import { BYTES_TO_CHARS, metaspaceScheme } from "./pre-tokenizers.js";

/** Adds the special tokens around one sequence of ids (single sequences only; Sightline never pairs). */
export type PostProcessor = (ids: number[], addSpecialTokens: boolean) => number[];

export function createPostProcessor(config: ComponentJson | null): PostProcessor | null {
  if (config === null) return null;
  switch (config.type) {
    case "ByteLevel":
      return (ids) => ids;
    case "RobertaProcessing":
    case "BertProcessing": {
      const [, cls] = config.cls as [string, number];
      const [, sep] = config.sep as [string, number];
      return (ids, add) => (add ? [cls].concat(ids, [sep]) : ids);
    }
    case "TemplateProcessing": {
      const special = config.special_tokens as Record<string, { ids: number[] }>;
      const single = config.single as ({ SpecialToken: { id: string } } | { Sequence: { id: string } })[];
      return (ids, add) => {
        if (!add) return ids;
        const parts = single.map((item) => {
          if ("Sequence" in item) return ids;
          const tok = special[item.SpecialToken.id];
          if (!tok)
            throw fail("TOKENIZER_INVALID", `template names unknown special token ${item.SpecialToken.id}`);
          return tok.ids;
        });
        return ([] as number[]).concat(...parts);
      };
    }
    case "Sequence": {
      const parts = (config.processors as ComponentJson[]).map((c) => createPostProcessor(c)!);
      return (ids, add) => parts.reduce((acc, p) => p(acc, add), ids);
    }
    default:
      throw fail("TOKENIZER_INVALID", `post-processor type ${config.type} is not supported`);
  }
}

/** Turns token strings into text pieces (Rust Decoder::decode_chain); the caller joins them. */
export type Decoder = (tokens: string[]) => string[];

const CHARS_TO_BYTES = new Map<string, number>(BYTES_TO_CHARS.map((ch, b) => [ch, b]));
// ignoreBOM: keep a leading U+FEFF, which TextDecoder would otherwise swallow.
const utf8Lossy = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8 = new TextEncoder();

// One token → its bytes; a token holding any character outside the byte alphabet (an added token
// such as "<loc_5>" written with other characters) is taken as its raw UTF-8.
function byteLevelBytes(token: string): number[] {
  const bytes: number[] = [];
  for (const ch of token) {
    const b = CHARS_TO_BYTES.get(ch);
    if (b === undefined) return Array.from(utf8.encode(token));
    bytes.push(b);
  }
  return bytes;
}

/** transformers' clean_up_tokenization (PreTrainedTokenizerBase). */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * The Rust WordPiece decoder's `cleanup`: transformers' rules plus " do not" → " don't". The order of
 * the rules does not matter: the others only drop a space before punctuation or an apostrophe.
 */
export function wordPieceCleanup(s: string): string {
  return cleanUpTokenization(s.replaceAll(" do not", " don't"));
}

export function createDecoder(config: ComponentJson | null): Decoder | null {
  if (config === null) return null;
  switch (config.type) {
    case "ByteLevel":
      return (tokens) => [utf8Lossy.decode(new Uint8Array(tokens.flatMap(byteLevelBytes)))];
    case "WordPiece": {
      const prefix = (config.prefix as string | undefined) ?? "##";
      const cleanup = config.cleanup !== false;
      return (tokens) =>
        tokens.map((token, i) => {
          let t = token;
          if (i !== 0) t = t.startsWith(prefix) ? t.slice(prefix.length) : " " + t;
          return cleanup ? wordPieceCleanup(t) : t;
        });
    }
    case "Metaspace": {
      const replacement = String(config.replacement ?? "▁");
      const scheme = metaspaceScheme(config);
      return (tokens) =>
        tokens.map((token, i) => token.replaceAll(replacement, i === 0 && scheme !== "never" ? "" : " "));
    }
    case "BPEDecoder": {
      const suffix = (config.suffix as string | undefined) ?? "</w>";
      return (tokens) => tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? "" : " "));
    }
    case "Replace": {
      const pattern = config.pattern as { String?: string };
      if (typeof pattern.String !== "string")
        throw fail("TOKENIZER_INVALID", "Replace decoder with a regex pattern");
      const from = pattern.String;
      const to = String(config.content ?? "");
      return (tokens) => tokens.map((t) => t.replaceAll(from, to));
    }
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const content = String(config.content ?? " ");
      const start = Number(config.start ?? 0);
      const stop = Number(config.stop ?? 0);
      return (tokens) =>
        tokens.map((t) => {
          const chars = Array.from(t);
          let a = 0;
          while (a < start && chars[a] === content) a++;
          let b = chars.length;
          while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
          return chars.slice(a, b).join("");
        });
    }
    case "ByteFallback":
      return byteFallbackDecoder;
    case "Sequence": {
      const parts = (config.decoders as ComponentJson[]).map((c) => createDecoder(c)!);
      return (tokens) => parts.reduce((acc, d) => d(acc), tokens);
    }
    default:
      throw fail("TOKENIZER_INVALID", `decoder type ${config.type} is not supported`);
  }
}

// <0xNN> tokens → the bytes they spell (invalid UTF-8 runs become one U+FFFD per byte, as in Rust).
function byteFallbackDecoder(tokens: string[]): string[] {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    try {
      out.push(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(pending)));
    } catch {
      for (let i = 0; i < pending.length; i++) out.push("\ufffd");
    }
    pending = [];
  };
  for (const t of tokens) {
    const m = /^<0x([0-9A-F]{2})>$/.exec(t);
    if (m) pending.push(parseInt(m[1]!, 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}
