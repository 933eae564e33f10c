// The Qwen3 tokenizer (qwen3-vl fixture: the real Qwen3 tokenizer.json, byte-level BPE whose split
// regex uses Oniguruma's `(?i:…)`) against what transformers produced: ids, tokens, decodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { fixtureDir, readExpected } from "../helpers/fixtures.js";

interface Check {
  text: string;
  input_ids: number[];
  tokens: string[];
  decoded: string;
  decoded_skip_special: string;
}

test("qwen3-vl: tokenizer.json matches tokenizer_checks and the special token ids", async () => {
  const tok = await loadTokenizer(fixtureDir("qwen3-vl"));
  const expected = readExpected("qwen3-vl");
  for (const c of expected.tokenizer_checks as Check[]) {
    const label = JSON.stringify(c.text);
    assert.deepEqual(tok.encode(c.text), c.input_ids, `encode ${label}`);
    assert.deepEqual(tok.tokenize(c.text), c.tokens, `tokenize ${label}`);
    assert.equal(tok.decode(c.input_ids), c.decoded, `decode ${label}`);
    assert.equal(
      tok.decode(c.input_ids, { skipSpecialTokens: true }),
      c.decoded_skip_special,
      `decode skip ${label}`,
    );
  }
  for (const [token, id] of Object.entries(expected.special_token_ids as Record<string, number>)) {
    assert.equal(tok.tokenToId(token), id, token);
  }
});

test("qwen3-vl: upper-case contractions and long s, as the Rust library splits them", async () => {
  const tok = await loadTokenizer(fixtureDir("qwen3-vl"));
  // From the Rust tokenizers library on the same tokenizer.json.
  assert.deepEqual(tok.tokenize("IT'S DON'T WE'LL"), ["IT", "'S", "ĠDON", "'T", "ĠWE", "'", "LL"]);
  assert.deepEqual(tok.encode("he'ſay x'sx"), [383, 6, 144815, 352, 856, 594, 87]);
});
