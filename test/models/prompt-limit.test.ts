// Prompt limits from each fixture's config.json and tokenizer: the text positions less what the
// architecture keeps, a character bound no prompt within them exceeds, and PROMPT_TOO_LONG from the
// captioners (characters before tokenising, tokens before any inference).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSightlineError } from "../../src/errors.js";
import { loadModel } from "../../src/models/index.js";
import {
  MAX_PROMPT_CHARS,
  checkPromptLength,
  checkPromptTokens,
  promptLimit,
  promptLimitOf,
} from "../../src/models/prompt-limit.js";
import { loadTokenizer, longestTokenLength } from "../../src/tokenizer/tokenizer.js";
import { readImageFile } from "../../src/images/decode.js";
import { fixtureDir } from "../helpers/fixtures.js";

const tooLong = (pattern: RegExp) => (e: unknown) =>
  isSightlineError(e) && e.code === "PROMPT_TOO_LONG" && e.status === 400 && pattern.test(e.message);

test("limits: positions less image features (Florence-2) or generated tokens, × longest token + 1", async () => {
  // [tokens, longest token]: Florence-2 1024 − 5 image features (image_seq_length of the tiny
  // processor); BLIP 512 − 1; ViT-GPT2 1024 − 1; Kosmos-2 2048 − 128 new tokens.
  const expected: Record<string, [number, number]> = {
    "florence-2": [1019, 128],
    blip: [511, 18],
    "vit-gpt2": [1023, 128],
    "kosmos-2": [1920, 30],
  };
  for (const [arch, [tokens, longest]] of Object.entries(expected)) {
    const limit = await promptLimit(fixtureDir(arch));
    assert.ok(limit, arch);
    assert.equal(limit.tokens, tokens, arch);
    assert.equal(limit.chars, tokens * (longest + 1), arch);
  }
  // A real Florence-2 checkpoint: 577 image features of 768×768.
  const real = promptLimitOf({ model_type: "florence2", text_config: {} }, "/nonexistent", 128);
  assert.equal(real?.tokens, 1024);
  const dir = mkdtempSync(join(tmpdir(), "sightline-limit-"));
  try {
    writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify({ image_seq_length: 577 }));
    const florence = promptLimitOf(
      { model_type: "florence2", text_config: { max_position_embeddings: 1024 } },
      dir,
      128,
    );
    assert.deepEqual(florence, {
      tokens: 447,
      chars: 447 * 129,
      reason: "1024 text positions less 577 for the image",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Architectures without a rule: their text positions, when config.json names them.
  assert.equal(
    promptLimitOf({ model_type: "qwen3_vl", text_config: { max_position_embeddings: 4096 } }, dir, 10)
      ?.tokens,
    4096,
  );
  assert.equal(promptLimitOf({ model_type: "unknown" }, dir, 10), undefined);
});

test("byte-level tokenizers: no text has more characters than its tokens × the longest token", async () => {
  const texts = [
    "b".repeat(50_000),
    " ".repeat(50_000),
    "!?".repeat(20_000),
    "漢字🙂 naïve ".repeat(5_000),
    "<loc_5></s>".repeat(5_000),
  ];
  for (const arch of ["florence-2", "vit-gpt2", "qwen3-vl"]) {
    const tok = await loadTokenizer(fixtureDir(arch));
    const longest = await longestTokenLength(fixtureDir(arch));
    for (const text of texts) {
      const tokens = tok.encode(text, { addSpecialTokens: false }).length;
      assert.ok(text.length <= tokens * longest, `${arch}: ${text.length} characters in ${tokens} tokens`);
    }
  }
});

test("checkPromptLength: the model's bound when its folder is on disk, else MAX_PROMPT_CHARS", async () => {
  const blip = fixtureDir("blip");
  const limit = (await promptLimit(blip))!;
  await checkPromptLength(blip, "x".repeat(limit.chars));
  await assert.rejects(
    checkPromptLength(blip, "x".repeat(limit.chars + 1)),
    tooLong(/^prompt is too long: 9710 characters; this model takes at most 511 tokens \(512 text positions/),
  );
  await checkPromptLength(undefined, undefined);
  await checkPromptLength("Salesforce/blip-image-captioning-large", "x".repeat(MAX_PROMPT_CHARS));
  await assert.rejects(
    checkPromptLength("Salesforce/blip-image-captioning-large", "x".repeat(MAX_PROMPT_CHARS + 1)),
    tooLong(/at most 200000 characters$/),
  );
  await checkPromptTokens(blip, 511);
  await assert.rejects(
    checkPromptTokens(blip, 512),
    tooLong(/it needs 512 text positions; this model has 511/),
  );
});

test("captioners refuse a prompt over the limit before inference: a megabyte at once, then by tokens", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sightline-limit-blip-"));
  try {
    cpSync(fixtureDir("blip"), dir, { recursive: true });
    const model = await loadModel(dir, { threads: 1 });
    try {
      const image = await readImageFile(join(dir, "image1.png"));
      const started = performance.now();
      await assert.rejects(
        model.caption(image, { prompt: "b".repeat(1_000_000) }),
        tooLong(/1000000 characters/),
      );
      const refusedMs = performance.now() - started;
      assert.ok(refusedMs < 1000, `a megabyte refused in ${refusedMs.toFixed(0)} ms`);
      // 600 words: under the character bound, over the 511 positions.
      await assert.rejects(
        model.caption(image, { prompt: "a ".repeat(600) }),
        tooLong(/it needs 601 text positions/),
      );
      const ok = await model.caption(image, { prompt: "a photography of" });
      assert.ok(ok.tokenIds.length > 0);
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
