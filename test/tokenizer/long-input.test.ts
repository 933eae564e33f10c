// A megabyte of text in every shape that once took quadratic time (one long word, many words,
// whitespace runs, CJK, added tokens) tokenises in linear time with every fixture tokenizer, to the
// same ids as the Rust `tokenizers` library (0.22, npm @anush008/tokenizers 0.6.0; compared by
// count and sha256, Florence-2 after adding the processor's tokens). Quadratic tokenising took 17–44 s
// for 100k characters, so a megabyte would take over half an hour; linear takes well under a second.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type TextTokenizer, loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { SHAPES } from "./long-inputs.js";

/** CPU time one megabyte may take: generous for a loaded 2-core CI machine. */
const BUDGET_MS = 4000;

// [token count, sha256 of the ids joined by "," (first 16 hex digits)] from the Rust library.
const RUST: Record<string, Record<string, [number, string]>> = {
  "vit-gpt2": {
    "one long word": [500013, "0e88e5736dcc7f91"],
    "many words": [335677, "3f67726c051d20bc"],
    "whitespace runs": [982076, "9e4a1f5cd22b8808"],
    CJK: [625000, "44e4f4cc2220ba43"],
    "added tokens": [344129, "36b78664d67d0370"],
  },
  blip: {
    "one long word": [14, "032d0d61e3f79f14"],
    "many words": [289276, "64467d4dc3f60fe0"],
    "whitespace runs": [3031, "24c669c0c652c70b"],
    CJK: [468752, "768a335988ceac1e"],
    "added tokens": [334213, "497456cabb611ef4"],
  },
  "kosmos-2": {
    "one long word": [500017, "5cbd90b17033fdf8"],
    "many words": [299555, "c88ecf36c1796067"],
    "whitespace runs": [3031, "921b29357bfe40f6"],
    CJK: [296878, "cec67642c3ee0c3b"],
    "added tokens": [194822, "2ecb0efc3bdc91c7"],
  },
  "florence-2": {
    "one long word": [500015, "09a3148eb23ddf94"],
    "many words": [335679, "2877f313d8f4e7e5"],
    "whitespace runs": [982078, "be716bd73ed3d858"],
    CJK: [625002, "23f49695699de424"],
    "added tokens": [233477, "d3995ff7bbcb8398"],
  },
  "qwen3-vl": {
    "one long word": [250011, "ded82232639ef37e"],
    "many words": [335747, "8fc594ed2efd05ca"],
    "whitespace runs": [27918, "ffae1d2d1e215ab7"],
    CJK: [281250, "fbb2955bdd744ac1"],
    "added tokens": [179150, "57778d24f037dce9"],
  },
};

/** The tokens Florence2Processor.__init__ adds with add_special_tokens. */
const FLORENCE_PROCESSOR_TOKENS = [
  ...["<od>", "</od>", "<ocr>", "</ocr>"],
  ...Array.from({ length: 1000 }, (_, i) => `<loc_${i}>`),
  ...["<cap>", "</cap>", "<ncap>", "</ncap>", "<dcap>", "</dcap>", "<grounding>", "</grounding>"],
  ...["<seg>", "</seg>", "<sep>", "<region_cap>", "</region_cap>", "<region_to_desciption>"],
  ...["</region_to_desciption>", "<proposal>", "</proposal>", "<poly>", "</poly>", "<and>"],
];

async function load(arch: string): Promise<TextTokenizer> {
  const tok = await loadTokenizer(join(FIXTURES, arch));
  if (arch === "florence-2") tok.addTokens(FLORENCE_PROCESSOR_TOKENS, true);
  return tok;
}

function digest(ids: readonly number[]): string {
  return createHash("sha256").update(ids.join(",")).digest("hex").slice(0, 16);
}

for (const arch of Object.keys(RUST)) {
  test(`${arch}: a megabyte of text in each shape tokenises in linear time, as the Rust library does`, async (t) => {
    const tok = await load(arch);
    for (const [shape, make] of Object.entries(SHAPES)) {
      const text = make(arch);
      const before = process.cpuUsage();
      const ids = tok.encode(text);
      const used = process.cpuUsage(before);
      const cpuMs = (used.user + used.system) / 1000;
      t.diagnostic(
        `${shape}: ${text.length} characters → ${ids.length} tokens in ${cpuMs.toFixed(0)} ms CPU`,
      );
      assert.deepEqual(
        [ids.length, digest(ids)],
        RUST[arch]![shape],
        `${arch} ${shape}: ids differ from Rust's`,
      );
      assert.ok(cpuMs < BUDGET_MS, `${arch} ${shape}: ${cpuMs.toFixed(0)} ms CPU for a megabyte`);
    }
  });
}
