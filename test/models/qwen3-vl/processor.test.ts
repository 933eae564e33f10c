// Qwen3VLProcessor on the text side against every fixture case: the chat template's output, the
// expanded and tokenised prompt (input_ids, attention_mask, mm_token_type_ids), the image grid and
// token count, and the M-RoPE positions and deltas (get_rope_index); the fixture's tokenizer_checks
// through our tokenizer pipeline; where the chat template comes from.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSightlineError } from "../../../src/errors.js";
import { readImageFile } from "../../../src/images/decode.js";
import { ChatTemplate, imagePromptMessages } from "../../../src/models/qwen3-vl/chat-template.js";
import { parseQwen3VLConfig } from "../../../src/models/qwen3-vl/config.js";
import { Qwen3VLProcessor } from "../../../src/models/qwen3-vl/processor.js";
import { mropeCosSin, mropePositionIds } from "../../../src/models/qwen3-vl/rope-index.js";
import { FIXTURE, cases, expected, fixtureJson } from "./fixture.js";

let processor: Qwen3VLProcessor;
before(async () => {
  processor = await Qwen3VLProcessor.load(FIXTURE, parseQwen3VLConfig(fixtureJson("config.json")));
});

for (const c of cases) {
  test(`${c.image} / ${c.prompt_name}: prompt, input_ids, mm_token_type_ids, M-RoPE positions`, async () => {
    const image = await readImageFile(join(FIXTURE, c.image));
    const out = processor.imagePrompt(image, c.prompt_text);
    assert.equal(out.text, c.chat_template_output);
    assert.deepEqual([out.images[0]!.gridThw], c.image_grid_thw);
    assert.equal(processor.imageTokenCount(out.images[0]!.gridThw), c.num_image_tokens);
    assert.deepEqual([out.inputIds], c.input_ids);
    assert.deepEqual([out.attentionMask], c.attention_mask);
    assert.deepEqual([out.mmTokenTypeIds], c.mm_token_type_ids);
    assert.deepEqual(out.rope.positionIds, c.mrope_position_ids);
    assert.deepEqual([[out.rope.ropeDeltas]], c.mrope_rope_deltas);
  });
}

for (const [i, c] of (expected.tokenizer_checks as any[]).entries()) {
  test(`tokenizer_checks[${i}] through the tokenizer pipeline: ${JSON.stringify(c.text).slice(0, 40)}`, () => {
    const tok = processor.tokenizer;
    assert.deepEqual(tok.encode(c.text), c.input_ids);
    assert.deepEqual(tok.tokenize(c.text), c.tokens);
    assert.equal(tok.decode(c.input_ids), c.decoded);
    assert.equal(tok.decode(c.input_ids, { skipSpecialTokens: true }), c.decoded_skip_special);
  });
}

test("the special token ids are the tokenizer's", () => {
  for (const [token, id] of Object.entries(expected.special_token_ids as Record<string, number>)) {
    assert.equal(processor.tokenizer.tokenToId(token), id, token);
  }
});

test("a system message goes before the user turn", () => {
  const text = processor.applyChatTemplate(imagePromptMessages("Describe this image.", "Answer in German."));
  assert.equal(
    text,
    "<|im_start|>system\nAnswer in German.<|im_end|>\n" +
      "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n" +
      "<|im_start|>assistant\n",
  );
  const noPrompt = processor.applyChatTemplate(imagePromptMessages("x"), false);
  assert.ok(noPrompt.endsWith("x<|im_end|>\n"), noPrompt);
});

test("the number of <|image_pad|> must match the images", () => {
  const text = processor.applyChatTemplate(imagePromptMessages("hi"));
  assert.throws(
    () => processor.encode(text, []),
    (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT",
  );
  // Text alone: positions count up, no delta.
  const plain = processor.encode("<|im_start|>user\nhi<|im_end|>\n", []);
  assert.deepEqual(
    plain.rope.positionIds[1],
    plain.inputIds.map((_, i) => i),
  );
  assert.equal(plain.rope.ropeDeltas, 0);
});

test("get_rope_index with two images: text resumes after each image's largest position", () => {
  // text ×2, image grid [1, 4, 6] (2×3 tokens), text ×1, image [1, 2, 2] (1 token), text ×2
  const types = [0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0];
  const { positionIds, ropeDeltas } = mropePositionIds(
    types,
    [
      [1, 4, 6],
      [1, 2, 2],
    ],
    { spatialMergeSize: 2 },
  );
  assert.deepEqual(positionIds, [
    [0, 1, 2, 2, 2, 2, 2, 2, 5, 6, 7, 8],
    [0, 1, 2, 2, 2, 3, 3, 3, 5, 6, 7, 8],
    [0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7, 8],
  ]);
  assert.equal(ropeDeltas, 9 - 12);
  assert.throws(
    () => mropePositionIds([0, 1, 1, 0], [[1, 4, 4]], { spatialMergeSize: 2 }),
    (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT",
  );
});

test("chat template sources: chat_template.jinja, then chat_template.json, then tokenizer_config.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwen3-vl-tpl-"));
  try {
    copyFileSync(join(FIXTURE, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
    assert.equal(ChatTemplate.load(dir).source, "tokenizer_config.json");
    writeFileSync(
      join(dir, "chat_template.json"),
      JSON.stringify({ chat_template: "json:{{ messages[0].role }}" }),
    );
    assert.equal(ChatTemplate.load(dir).render([{ role: "user", content: "x" }]), "json:user");
    writeFileSync(join(dir, "chat_template.jinja"), "jinja:{{ messages | length }}{{ eos_token }}");
    const jinja = ChatTemplate.load(dir);
    assert.equal(jinja.source, "chat_template.jinja");
    assert.equal(jinja.render([{ role: "user", content: "x" }]), "jinja:1<|im_end|>");
    writeFileSync(join(dir, "chat_template.jinja"), "{% if %}");
    assert.throws(
      () => ChatTemplate.load(dir),
      (e) => isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID",
    );
    rmSync(join(dir, "chat_template.jinja"));
    rmSync(join(dir, "chat_template.json"));
    writeFileSync(
      join(dir, "tokenizer_config.json"),
      JSON.stringify({ chat_template: [{ name: "default", template: "d" }] }),
    );
    assert.equal(ChatTemplate.load(dir).render([]), "d");
    writeFileSync(join(dir, "tokenizer_config.json"), "{}");
    assert.throws(
      () => ChatTemplate.load(dir),
      (e) => isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("M-RoPE cos/sin: equal axes give plain RoPE; frequencies interleave t, h, w by index mod 3", () => {
  const opts = { headDim: 16, ropeTheta: 5000000, mropeSection: [4, 2, 2] as const };
  const plain = mropeCosSin(
    [
      [0, 7],
      [0, 7],
      [0, 7],
    ],
    opts,
  );
  for (let i = 0; i < 8; i++) {
    const angle = Math.fround(7 * Math.fround(1 / Math.fround(5000000 ** Math.fround(i / 8))));
    assert.ok(Math.abs(plain.cos[16 + i]! - Math.cos(angle)) < 1e-7);
    assert.equal(plain.cos[16 + i], plain.cos[16 + 8 + i]);
    assert.equal(plain.cos[i], 1);
  }
  // t = 0, h = 1, w = 2 on one token: angles are 0 where the frequency reads t.
  const { sin } = mropeCosSin([[0], [1], [2]], opts);
  const reads = Array.from(sin.slice(0, 8), (s, i) => (s === 0 ? "t" : i % 3 === 1 ? "h" : "w"));
  assert.deepEqual(reads, ["t", "h", "w", "t", "h", "w", "t", "t"]);
});
