// tokenizer.json equivalents for folders that ship only the slow tokenizer's files, built the way
// transformers' convert_slow_tokenizer (4.40) converts them: GPT2Converter / RobertaConverter (BART)
// for vocab.json + merges.txt, BertConverter for vocab.txt. (SentencePiece: sentencepiece.ts.)
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from "./tokenizer-json.js";

const addedToken = (id: number, content: string, flags: Partial<AddedTokenJson>): AddedTokenJson => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
  ...flags,
});

/** merges.txt → merge lines ("a b"), without the "#version" header and blank lines. */
export function parseMerges(text: string): string[] {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines[0]?.startsWith("#version")) lines.shift();
  return lines.filter((l) => l.trim().length > 0).map((l) => l.trim().split(/\s+/).join(" "));
}

/** vocab.txt → {token: line index} (BERT's load_vocab: one token per line, only "\n" stripped). */
export function parseVocabTxt(text: string): Record<string, number> {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((token, i) => {
    vocab[token] = i;
  });
  return vocab;
}

export type ByteLevelStyle = "gpt2" | "roberta";

/** GPT-2 (GPT2Converter) or RoBERTa/BART (RobertaConverter) byte-level BPE from vocab.json + merges.txt. */
export function byteLevelBpeTokenizerJson(
  vocab: Record<string, number>,
  merges: string[],
  config: TokenizerConfigJson,
  style: ByteLevelStyle,
): TokenizerJson {
  const addPrefixSpace = config.add_prefix_space === true;
  const model = {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: "",
    end_of_word_suffix: "",
    fuse_unk: false,
    vocab,
    merges,
  };
  const decoder = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true };
  const preTokenizer = { type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: true };
  if (style === "gpt2") {
    const bos = tokenName(config.bos_token) ?? "<|endoftext|>";
    const bosId = vocab[bos];
    const postProcessor =
      config.add_bos_token === true && bosId !== undefined
        ? {
            type: "TemplateProcessing",
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
            pair: [
              { SpecialToken: { id: bos, type_id: 0 } },
              { Sequence: { id: "A", type_id: 0 } },
              { Sequence: { id: "B", type_id: 1 } },
            ],
            special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
          }
        : { type: "ByteLevel", add_prefix_space: true, trim_offsets: false };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: preTokenizer,
      post_processor: postProcessor,
      decoder,
      model,
    };
  }
  const name = (key: string, fallback: string) => tokenName(config[key]) ?? fallback;
  const cls = name("cls_token", "<s>");
  const sep = name("sep_token", "</s>");
  // RobertaTokenizer/BartTokenizer defaults: every special token normalized, <mask> strips left.
  const specials = [
    name("bos_token", "<s>"),
    name("pad_token", "<pad>"),
    name("eos_token", "</s>"),
    name("unk_token", "<unk>"),
  ];
  const added: AddedTokenJson[] = [];
  for (const content of specials) {
    const id = vocab[content];
    if (id !== undefined && !added.some((t) => t.content === content))
      added.push(addedToken(id, content, { normalized: true }));
  }
  const mask = name("mask_token", "<mask>");
  if (vocab[mask] !== undefined)
    added.push(addedToken(vocab[mask]!, mask, { normalized: true, lstrip: true }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added.sort((a, b) => a.id - b.id),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: {
      type: "RobertaProcessing",
      sep: [sep, vocab[sep] ?? 2],
      cls: [cls, vocab[cls] ?? 0],
      trim_offsets: true,
      add_prefix_space: addPrefixSpace,
    },
    decoder,
    model,
  };
}

/** BERT WordPiece (BertConverter) from vocab.txt and the BertTokenizer settings. */
export function wordPieceTokenizerJson(
  vocab: Record<string, number>,
  config: TokenizerConfigJson,
): TokenizerJson {
  const name = (key: string, fallback: string) => tokenName(config[key]) ?? fallback;
  const cls = name("cls_token", "[CLS]");
  const sep = name("sep_token", "[SEP]");
  const unk = name("unk_token", "[UNK]");
  const specials = [name("pad_token", "[PAD]"), unk, cls, sep, name("mask_token", "[MASK]")];
  const added: AddedTokenJson[] = [];
  for (const content of specials) {
    const id = vocab[content];
    if (id !== undefined && !added.some((t) => t.content === content))
      added.push(addedToken(id, content, {}));
  }
  const lowercase = config.do_lower_case ?? true;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added.sort((a, b) => a.id - b.id),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [vocab[cls] ?? 101], tokens: [cls] },
        [sep]: { id: sep, ids: [vocab[sep] ?? 102], tokens: [sep] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: unk,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** A special-token entry of tokenizer_config.json: a string or an AddedToken dict. */
export function tokenName(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}
