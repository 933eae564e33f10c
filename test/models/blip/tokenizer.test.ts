// BLIP's BERT WordPiece tokenizer from a folder without tokenizer.json (vocab.txt + tokenizer_config.json,
// as the slow→fast converter builds it): the same ids and decodes as the fixture's tokenizer checks.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTokenizer } from "../../../src/tokenizer/tokenizer.js";
import { FIXTURE, expected } from "./fixture.js";

const dir = mkdtempSync(join(tmpdir(), "sl-blip-vocab-"));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]) {
  if (existsSync(join(FIXTURE, f))) copyFileSync(join(FIXTURE, f), join(dir, f));
}
const tokenizer = await loadTokenizer(dir);

for (const check of expected.tokenizer_checks as Record<string, any>[]) {
  test(`vocab.txt tokenizer: ${JSON.stringify(check.text).slice(0, 40)}`, () => {
    assert.deepEqual(tokenizer.encode(check.text), check.input_ids);
    assert.equal(
      tokenizer.decode(check.input_ids, { skipSpecialTokens: true }),
      check.decoded_skip_special_fast,
    );
  });
}

test("vocab.txt tokenizer decodes every fixture generation like the fast tokenizer ([DEC] 30522 dropped)", () => {
  for (const c of expected.cases as Record<string, any>[]) {
    for (const gen of c.generations) {
      assert.equal(tokenizer.decode(gen.sequences[0], { skipSpecialTokens: true }), gen.text[0]);
      assert.equal(tokenizer.decode(gen.sequences[0]), gen.text_with_special[0]);
    }
  }
});
