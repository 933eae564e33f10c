// Text tokenizers of a Hugging Face model folder, with the behaviour of transformers' fast tokenizers
// (PreTrainedTokenizerFast on the Rust `tokenizers` library): encode with the default special tokens,
// decode followed by clean_up_tokenization. Reads tokenizer.json when there is one; otherwise builds
// the same tokenizer transformers' slow→fast converters would, from vocab.json + merges.txt (GPT-2,
// BART), vocab.txt (BERT) or a SentencePiece .model (XLM-R layout, Kosmos-2).
//
// Why our own pipeline (tokenizer-*.ts) rather than @huggingface/tokenizers: that library approximates
// SentencePiece's precompiled charsmap with NFKC, matches added tokens differently (normalized tokens,
// single_word, whitespace classes), cannot add tokens after loading and throws on decode([]); on random
// strings it disagreed with the Rust library on 1.4–4.8% of inputs, this pipeline on none of >10,000.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fail, failWith, isSightlineError } from "../errors.js";
import { parseSentencePieceModel, xlmRobertaTokenizerJson } from "./sentencepiece.js";
import {
  type ByteLevelStyle,
  byteLevelBpeTokenizerJson,
  parseMerges,
  parseVocabTxt,
  tokenName,
  wordPieceTokenizerJson,
} from "./slow-conversions.js";
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from "./tokenizer-json.js";
import { cleanUpTokenization } from "./post-processors.js";
import { type AddedTokenSpec, TokenizerPipeline } from "./pipeline.js";

export interface EncodeOptions {
  /** Add the tokenizer's special tokens (e.g. [CLS] … [SEP], <s> … </s>). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop every special token (including added special tokens). Default false. */
  skipSpecialTokens?: boolean;
  /** Apply transformers' clean_up_tokenization; default from tokenizer_config.json (else true). */
  cleanUpTokenizationSpaces?: boolean;
}

export interface TextTokenizer {
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** Token strings of `text` without special tokens (HF `tokenize`). */
  tokenize(text: string): string[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** len(tokenizer) in transformers: model vocabulary plus added tokens. */
  readonly vocabSize: number;
  /** Ids skipped by skipSpecialTokens (all special tokens, including added special tokens). */
  readonly specialTokenIds: ReadonlySet<number>;
  /**
   * Adds tokens like transformers' `add_special_tokens({additional_special_tokens: …})` (special = true:
   * special, not normalized) or `add_tokens(…)` (special = false: normalized). Entries may be AddedToken
   * options (e.g. Kosmos2Processor's `{content, lstrip: true, normalized: false}`). A token already in
   * the vocabulary keeps its id (re-adding with the same options changes nothing); new ones get
   * consecutive ids after the current vocabulary. Returns how many were added or changed.
   */
  addTokens(tokens: readonly (string | AddedTokenOptions)[], special?: boolean): number;
  /** Where the tokenizer came from: "tokenizer.json", "vocab.json+merges.txt", "vocab.txt" or "sentencepiece". */
  readonly source: TokenizerSource;
}

/** transformers' AddedToken options (defaults: no stripping, normalized unless special). */
export interface AddedTokenOptions {
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
  singleWord?: boolean;
  normalized?: boolean;
}

export type TokenizerSource = "tokenizer.json" | "vocab.json+merges.txt" | "vocab.txt" | "sentencepiece";

class HfTokenizer implements TextTokenizer {
  private special: Set<number>;

  constructor(
    private readonly pipeline: TokenizerPipeline,
    private readonly cleanUpDefault: boolean,
    readonly source: TokenizerSource,
  ) {
    this.special = new Set(pipeline.specialIds());
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.pipeline.encode(text, opts.addSpecialTokens ?? true);
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const text = this.pipeline.decode([...ids], opts.skipSpecialTokens ?? false);
    return (opts.cleanUpTokenizationSpaces ?? this.cleanUpDefault) ? cleanUpTokenization(text) : text;
  }

  tokenize(text: string): string[] {
    return this.pipeline.tokenize(text);
  }

  tokenToId(token: string): number | undefined {
    return this.pipeline.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.pipeline.idToToken(id);
  }

  get vocabSize(): number {
    return this.pipeline.vocabSize;
  }

  get specialTokenIds(): ReadonlySet<number> {
    return this.special;
  }

  addTokens(tokens: readonly (string | AddedTokenOptions)[], special = false): number {
    const specs = tokens.map((t) => {
      const o: AddedTokenOptions = typeof t === "string" ? { content: t } : t;
      return {
        content: o.content,
        special,
        normalized: o.normalized ?? !special,
        single_word: o.singleWord ?? false,
        lstrip: o.lstrip ?? false,
        rstrip: o.rstrip ?? false,
      };
    });
    const added = this.pipeline.addTokens(specs);
    this.special = new Set(this.pipeline.specialIds());
    return added;
  }

  /** The tokenizer.json-equivalent added-token table (for tests and debugging). */
  addedTokens(): AddedTokenJson[] {
    return this.pipeline.addedTokens();
  }
}

async function readJsonIfPresent<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw failWith(e, "TOKENIZER_INVALID", `${path} is not valid JSON`);
  }
}

/** Reads tokenizer_config.json with special_tokens_map.json filling in what it lacks. */
async function readTokenizerConfig(folder: string): Promise<TokenizerConfigJson> {
  const config = (await readJsonIfPresent<TokenizerConfigJson>(join(folder, "tokenizer_config.json"))) ?? {};
  const map =
    (await readJsonIfPresent<Record<string, unknown>>(join(folder, "special_tokens_map.json"))) ?? {};
  for (const [key, value] of Object.entries(map)) if (config[key] === undefined) config[key] = value;
  return config;
}

/** What tokenizer.json (or its in-memory equivalent) says, before transformers' loading adjustments. */
export async function readTokenizerJson(
  folder: string,
  config: TokenizerConfigJson,
): Promise<{ json: TokenizerJson; source: TokenizerSource }> {
  const json = await readJsonIfPresent<TokenizerJson>(join(folder, "tokenizer.json"));
  if (json) return { json, source: "tokenizer.json" };
  return buildTokenizerJson(folder, config);
}

/** Builds tokenizer.json in memory from the slow tokenizer's files, as transformers converts them. */
export async function buildTokenizerJson(
  folder: string,
  config: TokenizerConfigJson,
): Promise<{ json: TokenizerJson; source: TokenizerSource }> {
  const files = new Set(await readdir(folder).catch(() => [] as string[]));
  if (files.has("vocab.json") && files.has("merges.txt")) {
    const vocab = (await readJsonIfPresent<Record<string, number>>(join(folder, "vocab.json")))!;
    const merges = parseMerges(await readFile(join(folder, "merges.txt"), "utf8"));
    const style = await byteLevelStyle(folder, config, vocab);
    return { json: byteLevelBpeTokenizerJson(vocab, merges, config, style), source: "vocab.json+merges.txt" };
  }
  if (files.has("vocab.txt")) {
    const vocab = parseVocabTxt(await readFile(join(folder, "vocab.txt"), "utf8"));
    return { json: wordPieceTokenizerJson(vocab, config), source: "vocab.txt" };
  }
  const spModel = ["sentencepiece.bpe.model", "spiece.model", "tokenizer.model"].find((f) => files.has(f));
  if (spModel) {
    const sp = parseSentencePieceModel(new Uint8Array(await readFile(join(folder, spModel))));
    return { json: xlmRobertaTokenizerJson(sp), source: "sentencepiece" };
  }
  throw fail("TOKENIZER_MISSING", folder);
}

// GPT-2 style (no special tokens around the text) or RoBERTa/BART style (<s> … </s>): by the
// tokenizer class, else the model type (Florence-2's BART has no tokenizer_class), else the vocabulary.
async function byteLevelStyle(
  folder: string,
  config: TokenizerConfigJson,
  vocab: Record<string, number>,
): Promise<ByteLevelStyle> {
  const cls = config.tokenizer_class ?? "";
  if (/^(Roberta|Bart|Longformer|Blenderbot|Led|Mvp)/i.test(cls)) return "roberta";
  if (/^GPT2/i.test(cls)) return "gpt2";
  const modelConfig = await readJsonIfPresent<{ model_type?: string; decoder?: { model_type?: string } }>(
    join(folder, "config.json"),
  );
  const type = modelConfig?.model_type ?? "";
  if (/^(florence2|bart|roberta|mbart)$/.test(type)) return "roberta";
  if (/^(gpt2|vision-encoder-decoder)$/.test(type)) return "gpt2";
  return vocab["<s>"] !== undefined && vocab["</s>"] !== undefined && vocab["<mask>"] !== undefined
    ? "roberta"
    : "gpt2";
}

// What the transformers *TokenizerFast constructors change in the backend tokenizer from their
// init arguments (BertTokenizerFast: normalizer flags; GPT2/Roberta/BartTokenizerFast: add_prefix_space).
function applyConfigOverrides(json: TokenizerJson, config: TokenizerConfigJson): TokenizerJson {
  const out: TokenizerJson = { ...json };
  const cls = config.tokenizer_class ?? "";
  if (out.normalizer?.type === "BertNormalizer" && /^Bert/i.test(cls)) {
    out.normalizer = {
      ...out.normalizer,
      lowercase: config.do_lower_case ?? true,
      strip_accents: config.strip_accents ?? null,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
    };
  }
  const byteLevelClass = /^(GPT2|Roberta|Bart)/i.test(cls);
  if (
    out.pre_tokenizer?.type === "ByteLevel" &&
    (byteLevelClass || typeof config.add_prefix_space === "boolean")
  ) {
    out.pre_tokenizer = { ...out.pre_tokenizer, add_prefix_space: config.add_prefix_space ?? false };
  }
  return out;
}

// PreTrainedTokenizerFast.__init__: tokens of added_tokens_decoder missing from tokenizer.json are
// added (in id order), then the configured special tokens still unknown, as special tokens.
function addConfigTokens(
  pipeline: TokenizerPipeline,
  config: TokenizerConfigJson,
  extra: Record<string, number>,
): void {
  const specialNames = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
  ]
    .map((k) => tokenName(config[k]))
    .concat((config.additional_special_tokens ?? []).map((t) => tokenName(t)))
    .filter((t): t is string => t !== undefined);
  const known = new Map(pipeline.addedTokens().map((t) => [t.content, t]));
  const fromConfig: AddedTokenSpec[] = Object.entries(config.added_tokens_decoder ?? {})
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, t]) => ({
      content: t.content,
      single_word: t.single_word ?? false,
      lstrip: t.lstrip ?? false,
      rstrip: t.rstrip ?? false,
      normalized: t.normalized ?? !t.special,
      special: t.special ?? false,
    }));
  // Legacy folders: added_tokens.json only ({content: id}); transformers makes them AddedTokens that
  // strip nothing, special when the config names them special.
  if (fromConfig.length === 0) {
    for (const [content] of Object.entries(extra).sort(([, a], [, b]) => a - b)) {
      const special = specialNames.includes(content);
      fromConfig.push({
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: !special,
        special,
      });
    }
  }
  const missing = fromConfig.filter((t) => {
    const k = known.get(t.content);
    return (
      !k ||
      k.lstrip !== t.lstrip ||
      k.rstrip !== t.rstrip ||
      k.single_word !== t.single_word ||
      k.normalized !== t.normalized ||
      k.special !== t.special
    );
  });
  if (missing.length > 0) pipeline.addTokens(missing);

  const added = new Set(pipeline.addedTokens().map((t) => t.content));
  const unknown = [...new Set(specialNames)].filter((t) => !added.has(t));
  if (unknown.length > 0) {
    pipeline.addTokens(
      unknown.map((content) => ({
        content,
        special: true,
        normalized: false,
        single_word: false,
        lstrip: false,
        rstrip: false,
      })),
    );
  }
}

/** Loads the tokenizer of a Hugging Face model folder. */
export async function loadTokenizer(folder: string): Promise<TextTokenizer> {
  try {
    const config = await readTokenizerConfig(folder);
    const { json, source } = await readTokenizerJson(folder, config);
    const pipeline = new TokenizerPipeline(applyConfigOverrides(json, config));
    const extra = (await readJsonIfPresent<Record<string, number>>(join(folder, "added_tokens.json"))) ?? {};
    addConfigTokens(pipeline, config, extra);
    return new HfTokenizer(pipeline, config.clean_up_tokenization_spaces ?? true, source);
  } catch (e) {
    if (isSightlineError(e)) throw e;
    throw failWith(e, "TOKENIZER_INVALID", `${folder}: ${(e as Error).message}`);
  }
}

/**
 * The length (UTF-16 units) of the longest token of a folder's tokenizer: vocabulary entries and
 * added tokens, without building the tokenizer. A byte-level token's characters are bytes, so no
 * token stands for more input characters than this; other tokenizers may drop whitespace and
 * combining marks between tokens.
 */
export async function longestTokenLength(folder: string): Promise<number> {
  try {
    const config = await readTokenizerConfig(folder);
    const { json } = await readTokenizerJson(folder, config);
    const vocab = json.model.vocab as Record<string, number> | [string, number][] | undefined;
    let longest = 0;
    const see = (token: string | undefined) => {
      if (token !== undefined && token.length > longest) longest = token.length;
    };
    if (Array.isArray(vocab)) for (const [piece] of vocab) see(piece);
    else for (const token of Object.keys(vocab ?? {})) see(token);
    for (const t of json.added_tokens) see(t.content);
    for (const t of Object.values(config.added_tokens_decoder ?? {})) see(t.content);
    for (const t of config.additional_special_tokens ?? []) see(tokenName(t));
    const extra = (await readJsonIfPresent<Record<string, number>>(join(folder, "added_tokens.json"))) ?? {};
    for (const token of Object.keys(extra)) see(token);
    return longest;
  } catch (e) {
    if (isSightlineError(e)) throw e;
    throw failWith(e, "TOKENIZER_INVALID", `${folder}: ${(e as Error).message}`);
  }
}
