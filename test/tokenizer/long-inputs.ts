// One megabyte (UTF-8) of text in the shapes that once made tokenising quadratic: one long word, many
// words, whitespace runs, CJK, and text full of each tokenizer's added tokens. Deterministic, so the
// token ids can be compared with the Rust `tokenizers` library's (by hash, in long-input.test.ts).

export const MEGABYTE = 1_000_000;

/** `unit` repeated until the text holds at least `bytes` UTF-8 bytes. */
function repeatToBytes(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)));
}

/** A deterministic pseudo-random sequence (a linear congruential generator). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

function randomText(parts: readonly string[], bytes: number, seed: number): string {
  const next = random(seed);
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const part = parts[Math.floor(next() * parts.length)]!;
    out.push(part);
    size += Buffer.byteLength(part);
  }
  return out.join("");
}

const WORDS = [
  "the",
  "a",
  "photo",
  "of",
  "dog",
  "running",
  "on",
  "beach",
  "at",
  "sunset",
  "with",
  "two",
  "people",
  "Tokenising",
  "quadratic",
  "naïve",
  "café",
  "résumé",
  "Zürich",
  "don't",
  "it's",
  "x86_64",
  "3.14",
  "2024",
  "e-mail",
  "(hello)",
  "world!",
  "ÆØÅ",
  "Straße",
  "μέλι",
  "мёд",
];

/** Added tokens of each fixture tokenizer that the "added" shape scatters through its text. */
export const ADDED_TOKENS: Readonly<Record<string, readonly string[]>> = {
  "vit-gpt2": ["<|endoftext|>"],
  blip: ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]"],
  "kosmos-2": ["<s>", "</s>", "<grounding>", "<phrase>", "</phrase>", "<patch_index_0012>", "<image>"],
  "florence-2": ["<s>", "</s>", "<pad>", "<loc_5>", "<loc_999>", "<od>", "<region_to_desciption>"],
  "qwen3-vl": ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|image_pad|>", "<think>", "</think>"],
};

export const SHAPES: Readonly<Record<string, (arch: string) => string>> = {
  // The reproduction: a task token and one word of a megabyte.
  "one long word": () => "<CAPTION_TO_PHRASE_GROUNDING>" + "b".repeat(MEGABYTE),
  "many words": () =>
    randomText(
      WORDS.map((w) => w + " "),
      MEGABYTE,
      1,
    ),
  "whitespace runs": () =>
    randomText(
      ["  ", "    ", " ".repeat(300), "\t\t", "\n", "\n\n\n", "\r\n", " \u3000 ", "word"],
      MEGABYTE,
      2,
    ),
  CJK: () => repeatToBytes("漢字とかな交じり文、한국어 문장。中文句子！", MEGABYTE),
  "added tokens": (arch) =>
    randomText([...ADDED_TOKENS[arch]!, "a cat", " ", "<", "<loc", "s>", "x\n"], MEGABYTE, 3),
};
