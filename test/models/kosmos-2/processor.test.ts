// Kosmos2Processor and post_process_generation against the fixture's processor_checks,
// post_process_checks and the post-processed texts of every generation run.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTokenizer, type TextTokenizer } from "../../../src/tokenizer/tokenizer.js";
import {
  addKosmos2Tokens,
  Kosmos2Processor,
  type PhraseBoxes,
} from "../../../src/models/kosmos-2/processor.js";
import { captionAfterImage, postProcessGeneration } from "../../../src/models/kosmos-2/post-process.js";
import type { Entity } from "../../../src/models/types.js";
import { FIXTURE, expected } from "./helpers.js";

let tokenizer: TextTokenizer;
let processor: Kosmos2Processor;
before(async () => {
  tokenizer = await loadTokenizer(FIXTURE);
  processor = new Kosmos2Processor(tokenizer);
});

/** HF's [phrase, [start, end], [[x1, y1, x2, y2], …]] tuples as Sightline entities. */
const asEntities = (list: any[]): Entity[] => list.map(([phrase, span, boxes]) => ({ phrase, span, boxes }));

for (const [i, c] of (expected.processor_checks as any[]).entries()) {
  test(`processor_checks[${i}]: ${c.text}`, () => {
    const out = processor.process(c.text, {
      withImage: false,
      bboxes: c.bboxes as PhraseBoxes[] | null,
      addEosToken: c.add_eos_token,
    });
    assert.deepEqual(out.inputIds, c.input_ids);
    assert.deepEqual(out.attentionMask, c.attention_mask);
  });
}

test("the seed prompt with an image: input_ids, attention_mask, image_embeds_position_mask", () => {
  for (const c of expected.cases as any[]) {
    const out = processor.process(c.prompt, { numImageTokens: 64 });
    assert.deepEqual(out.inputIds, c.input_ids[0]);
    assert.deepEqual(out.attentionMask, c.attention_mask[0]);
    assert.deepEqual(out.imageEmbedsPositionMask, c.image_embeds_position_mask[0]);
  }
});

for (const [i, c] of (expected.post_process_checks as any[]).entries()) {
  test(`post_process_checks[${i}]`, () => {
    assert.equal(captionAfterImage(c.text), c.cleanup_and_extract_false);
    const out = postProcessGeneration(c.text);
    assert.equal(out.caption, c.caption);
    assert.deepEqual(out.entities, asEntities(c.entities));
  });
}

test("post-processing of every generated text", () => {
  for (const c of expected.cases as any[]) {
    for (const run of c.generations as any[]) {
      const text = run.text[0];
      assert.equal(captionAfterImage(text), run.post_process_no_cleanup[0]);
      const out = postProcessGeneration(text);
      assert.equal(out.caption, run.post_process[0].caption);
      assert.deepEqual(out.entities, asEntities(run.post_process[0].entities));
    }
  }
});

test("generated ids decode to HF's texts (with and without special tokens)", () => {
  for (const c of expected.cases as any[]) {
    for (const run of c.generations as any[]) {
      assert.equal(tokenizer.decode(run.sequences[0], { skipSpecialTokens: true }), run.text[0]);
      assert.equal(
        tokenizer.decode(run.sequences[0], { skipSpecialTokens: false }),
        run.text_with_special[0],
      );
    }
  }
});

test("entities with several boxes, phrase-less objects and non-BMP text count code points", () => {
  const out = postProcessGeneration(
    "</image><grounding> 🙂 A<phrase> dog</phrase><object><patch_index_0000><patch_index_0033></object> and<object><patch_index_0001><patch_index_0001></object>.",
  );
  assert.equal(out.caption, "🙂 A dog and.");
  assert.deepEqual(out.entities, [
    { phrase: "dog", span: [4, 7], boxes: [[0.015625, 0.015625, 0.046875, 0.046875]] },
    { phrase: "<patch_index_1><patch_index_1>", span: [11, 11], boxes: [[0.03125, 0, 0.0625, 0.03125]] },
  ]);
});

/** A copy of the fixture's tokenizer/processor files without tokenizer.json; `bare` also drops the added tokens. */
function sentencePieceOnlyFolder(bare: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "sl-kosmos2-spm-"));
  const files = ["sentencepiece.bpe.model", "special_tokens_map.json", "processor_config.json"];
  if (!bare) files.push("tokenizer_config.json", "added_tokens.json");
  for (const f of files) copyFileSync(join(FIXTURE, f), join(dir, f));
  if (bare) {
    const config = JSON.parse(readFileSync(join(FIXTURE, "tokenizer_config.json"), "utf8"));
    delete config.added_tokens_decoder;
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  }
  return dir;
}

for (const bare of [false, true]) {
  test(`SentencePiece-only folder${bare ? " without the processor's added tokens" : ""}: same ids and texts`, async () => {
    const dir = sentencePieceOnlyFolder(bare);
    try {
      const tok = await loadTokenizer(dir);
      addKosmos2Tokens(tok, 1024);
      const p = new Kosmos2Processor(tok);
      for (const [name, id] of Object.entries(expected.special_token_ids as Record<string, number>)) {
        assert.equal(tok.tokenToId(name), id, name);
      }
      for (const c of expected.processor_checks as any[]) {
        const out = p.process(c.text, { withImage: false, bboxes: c.bboxes, addEosToken: c.add_eos_token });
        assert.deepEqual(out.inputIds, c.input_ids);
      }
      for (const c of expected.cases as any[]) {
        assert.deepEqual(p.process(c.prompt).inputIds, c.input_ids[0]);
        for (const run of c.generations as any[]) {
          assert.equal(tok.decode(run.sequences[0], { skipSpecialTokens: true }), run.text[0]);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("bboxes: null and empty entries add no <object>; coordinates map to patch indices", () => {
  const text =
    "<grounding> <phrase> a cat </phrase> and <phrase> a dog </phrase> on <phrase> grass </phrase>";
  const prompt = processor.preprocessText(text, false, [null, [], [[0.1, 0.2, 0.5, 0.9]]]);
  assert.equal(
    prompt,
    "<grounding><phrase> a cat</phrase> and<phrase> a dog</phrase> on<phrase> grass</phrase>" +
      "<object><patch_index_0195><patch_index_0911></object>",
  );
  assert.throws(() => processor.preprocessText(text, false, [null]), /bboxes/);
});
