// The text primitives the linear-time tokenizer stands on, against what they replace: grapheme
// clusters against Intl.Segmenter, per-character lowercasing, byte-level UTF-8, Oniguruma's (?i:…)
// groups, and the integer heap and table of the BPE and Unigram models.
import { test } from "node:test";
import assert from "node:assert/strict";
import { graphemeClusters } from "../../src/tokenizer/normalizers.js";
import { byteLevelEncode, BYTES_TO_CHARS } from "../../src/tokenizer/pre-tokenizers.js";
import {
  caseInsensitiveGroups,
  lowercasePerChar,
  patternToRegExp,
} from "../../src/tokenizer/tokenizer-json.js";
import { PairHeap, PairTable } from "../../src/tokenizer/int-tables.js";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const intlClusters = (s: string) => Array.from(segmenter.segment(s), (x) => x.segment);

/** A deterministic pseudo-random sequence (a linear congruential generator). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

test("grapheme clusters: BMP code units (every 29th) beside a character of each break class, as Intl.Segmenter", () => {
  // Other, Extend, ZWJ, SpacingMark, Prepend, L, V, T, LV, LVT, Extended_Pictographic, Regional_Indicator,
  // CR, LF, Control, InCB consonant and linker, an astral emoji.
  const neighbours = [
    ..."a\u0301\u200d\u0903\u0600\u1100\u1161\u11a8\uac00\uac01\u00a9\r\n\u00ad\u0915\u094d漢",
    "\ud83c\udde9",
    "\ud83d\ude42",
  ];
  for (let unit = 0; unit < 0x10000; unit += 29) {
    const c = String.fromCharCode(unit);
    for (const d of neighbours) {
      for (const s of [c + d, d + c, d + c + c + d]) {
        assert.deepEqual(
          [...graphemeClusters(s)],
          intlClusters(s),
          `U+${unit.toString(16)} in ${JSON.stringify(s)}`,
        );
      }
    }
  }
});

test("grapheme clusters: long mixed text and clusters longer than a window, as Intl.Segmenter", () => {
  const parts = [
    "a",
    "é",
    "e\u0301",
    "\r\n",
    "\r",
    "漢",
    "가",
    "\u1100\u1161",
    "🇩🇪",
    "👨‍👩‍👧",
    "क्ष",
    "\u0600a",
    " ",
    "ｶﾞ",
  ];
  const next = random(7);
  for (let round = 0; round < 200; round++) {
    let s = "";
    const length = 1 + Math.floor(next() * 600);
    for (let k = 0; k < length; k++) s += parts[Math.floor(next() * parts.length)];
    assert.deepEqual([...graphemeClusters(s)], intlClusters(s));
  }
  for (const s of [
    "e" + "\u0301".repeat(5000),
    "\u0600".repeat(3000) + "a",
    "🇩🇪".repeat(2000),
    "👨‍".repeat(1500) + "👧",
  ]) {
    assert.deepEqual([...graphemeClusters(s)], intlClusters(s));
  }
});

test("lowercasePerChar lowercases each character alone (capital sigma is always σ), over the whole BMP", () => {
  let all = "";
  for (let unit = 0; unit < 0x10000; unit++) all += String.fromCharCode(unit) + "x";
  let perChar = "";
  for (const ch of all) perChar += ch.toLowerCase();
  assert.equal(lowercasePerChar(all), perChar);
  assert.equal(lowercasePerChar("ΟΔΟΣ ΣΑΣ"), "οδοσ σασ");
});

test("byteLevelEncode maps UTF-8 bytes (lone surrogates as U+FFFD) to GPT-2's byte characters", () => {
  const utf8 = new TextEncoder();
  const reference = (s: string) => Array.from(utf8.encode(s), (b) => BYTES_TO_CHARS[b]).join("");
  let all = "";
  for (let unit = 0; unit < 0x10000; unit += 7) all += String.fromCharCode(unit);
  for (const s of [all, "a🙂b\ud83d", "\udc00x\ud800\udc00", "\ud800", "héllo wörld 漢字"]) {
    assert.equal(byteLevelEncode(s), reference(s));
  }
});

test("(?i:…) groups become case-variant classes, with Unicode's extra folds (ſ, K)", () => {
  assert.equal(caseInsensitiveGroups("(?i:'s|'t)|\\p{L}+"), "(?:'[sSſ]|'[tT])|\\p{L}+");
  assert.equal(caseInsensitiveGroups("(?i:k)"), "(?:[kK\u212a])");
  assert.equal(caseInsensitiveGroups("\\(?i:x)"), "\\(?i:x)");
  const re = patternToRegExp({ Regex: "(?i:'s|'ll)" });
  assert.deepEqual("'S 'ſ 'Ll 'x".match(re), ["'S", "'ſ", "'Ll"]);
  assert.throws(() => caseInsensitiveGroups("(?i:[a-z])"), /character class/);
});

test("PairHeap pops (rank, position) in order; PairTable keeps the first value of a pair", () => {
  const next = random(11);
  const heap = new PairHeap(1000, 50);
  const entries: [number, number][] = [];
  for (let i = 0; i < 5000; i++) {
    const entry: [number, number] = [Math.floor(next() * 50), Math.floor(next() * 1000)];
    entries.push(entry);
    heap.push(entry[0], entry[1]);
  }
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [rank, position] of entries) {
    assert.equal(heap.topRank(), rank);
    assert.equal(heap.pop(), position);
  }
  assert.equal(heap.size, 0);

  const table = new PairTable();
  for (let i = 0; i < 3000; i++) table.addIfAbsent(i % 97, i, i);
  assert.equal(table.addIfAbsent(5, 5, 99), 5);
  assert.equal(table.get(5, 5), 5);
  assert.equal(table.get(2999 % 97, 2999), 2999);
  assert.equal(table.get(1, 2), -1);
  assert.equal(table.size, 3000);
});
