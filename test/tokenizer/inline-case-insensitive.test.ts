// tokenizer.json patterns with an inline case-insensitive group (Qwen2/Qwen3's `(?i:'s|'t|…)`), which
// Node 20's RegExp cannot parse: the group's letters become case classes (with Unicode's extra folds).
import { test } from "node:test";
import assert from "node:assert/strict";
import { patternToRegExp } from "../../src/tokenizer/tokenizer-json.js";

test("(?i:…) matches any case, leaves escapes and the rest of the pattern as they were", () => {
  const re = patternToRegExp({ Regex: "(?i:'s|'ll|\\p{Lu}x)|\\p{N}+|[a-c]" });
  assert.deepEqual("'S 'lL 'ſ Ax AX 12 b B".match(re), ["'S", "'lL", "'ſ", "Ax", "AX", "12", "b"]);
  assert.equal(patternToRegExp({ Regex: "(?i:'s|'t)" }).source, "(?:'[sSſ]|'[tT])");
});
