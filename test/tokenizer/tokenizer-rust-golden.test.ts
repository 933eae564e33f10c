// Encode/decode of tricky strings (control and format characters, NEL, BOM, unassigned code points,
// combining marks, compatibility characters, emoji sequences, added tokens with lstrip) as the Rust
// `tokenizers` library 0.22 (npm @anush008/tokenizers 0.6.0) gave them on the fixtures' tokenizer.json
// files; Florence-2 after adding the processor's tokens. Decodes are without transformers' clean-up.
// Generated once with a differential fuzzer (random strings, 4 × 10,000 cases agreed); kept as data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";

const FIXTURES = resolve(process.cwd(), "../shared/fixtures");
const FLORENCE_TOKENS = [
  ...["<od>", "</od>", "<ocr>", "</ocr>"],
  ...Array.from({ length: 1000 }, (_, i) => `<loc_${i}>`),
  ...[
    "<cap>",
    "</cap>",
    "<ncap>",
    "</ncap>",
    "<dcap>",
    "</dcap>",
    "<grounding>",
    "</grounding>",
    "<seg>",
    "</seg>",
  ],
  ...["<sep>", "<region_cap>", "</region_cap>", "<region_to_desciption>", "</region_to_desciption>"],
  ...["<proposal>", "</proposal>", "<poly>", "</poly>", "<and>"],
];

// [text, ids with special tokens, decode, decode skipping special tokens]
type Case = [string, number[], string, string];
const RUST: Record<string, Case[]> = {
  "vit-gpt2": [
    [
      "\u0001\ufa58<loc_5>\uffb1[MASK]\u00df!\ud83d\ude60\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u0e23",
      [
        189, 171, 102, 246, 27, 17946, 62, 20, 29, 171, 122, 109, 58, 31180, 42, 60, 39683, 0, 8582, 247, 254,
        41840, 101, 447, 235, 41840, 102, 447, 235, 41840, 100, 19567, 96,
      ],
      "\u0001\ufa58<loc_5>\uffb1[MASK]\u00df!\ud83d\ude60\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u0e23",
      "\u0001\ufa58<loc_5>\uffb1[MASK]\u00df!\ud83d\ude60\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u0e23",
    ],
    [
      "\ud83d\udcad<phrase>\u0085\ud55c\uad6d\uc5b4a <mask>",
      [
        8582, 240, 255, 27, 34675, 29, 126, 227, 47991, 250, 166, 113, 255, 168, 244, 112, 64, 1279, 27932,
        29,
      ],
      "\ud83d\udcad<phrase>\u0085\ud55c\uad6d\uc5b4a <mask>",
      "\ud83d\udcad<phrase>\u0085\ud55c\uad6d\uc5b4a <mask>",
    ],
    [
      "<loc_5>\u0655\uf938\r\n",
      [27, 17946, 62, 20, 29, 149, 243, 171, 97, 116, 201, 198],
      "<loc_5>\u0655\uf938\r\n",
      "<loc_5>\u0655\uf938\r\n",
    ],
    [
      "</s>\u1112\u0928\u092e\u0938\u094d\u0924\u0947\u1105\u200b;\u0928\u092e\u0938\u094d\u0924\u0947<|endoftext|>\u2122\u30b3",
      [
        3556, 82, 29, 157, 226, 240, 11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97, 24231, 229,
        157, 226, 227, 9525, 26, 11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97, 24231, 229, 50256,
        8151, 24679,
      ],
      "</s>\u1112\u0928\u092e\u0938\u094d\u0924\u0947\u1105\u200b;\u0928\u092e\u0938\u094d\u0924\u0947<|endoftext|>\u2122\u30b3",
      "</s>\u1112\u0928\u092e\u0938\u094d\u0924\u0947\u1105\u200b;\u0928\u092e\u0938\u094d\u0924\u0947\u2122\u30b3",
    ],
    ["\ud83d\ude42", [8582, 25081], "\ud83d\ude42", "\ud83d\ude42"],
    [
      "\u0643\u03ba\u3003\u3066\uf990\ud840\udc7e\u338f\uff89",
      [149, 225, 43000, 5099, 225, 28134, 171, 99, 238, 172, 254, 223, 122, 159, 236, 237, 171, 122, 231],
      "\u0643\u03ba\u3003\u3066\uf990\ud840\udc7e\u338f\uff89",
      "\u0643\u03ba\u3003\u3066\uf990\ud840\udc7e\u338f\uff89",
    ],
    [
      "##don't<|endoftext|> <grounding><|endoftext|>\u0928\u092e\u0938\u094d\u0924\u0947nai\u0308ve\uffbe\u2470the",
      [
        2235, 9099, 470, 50256, 1279, 2833, 278, 29, 50256, 11976, 101, 11976, 106, 11976, 116, 24231, 235,
        11976, 97, 24231, 229, 38600, 136, 230, 303, 171, 122, 122, 158, 239, 108, 1169,
      ],
      "##don't<|endoftext|> <grounding><|endoftext|>\u0928\u092e\u0938\u094d\u0924\u0947nai\u0308ve\uffbe\u2470the",
      "##don't <grounding>\u0928\u092e\u0938\u094d\u0924\u0947nai\u0308ve\uffbe\u2470the",
    ],
    [
      "\u038d\uf9f9\ud83d\uddba\u00df",
      [138, 235, 171, 100, 117, 8582, 244, 118, 39683],
      "\u038d\uf9f9\ud83d\uddba\u00df",
      "\u038d\uf9f9\ud83d\uddba\u00df",
    ],
    [
      "\u1152\u0e30caf\u00e9",
      [157, 227, 240, 19567, 108, 66, 1878, 2634],
      "\u1152\u0e30caf\u00e9",
      "\u1152\u0e30caf\u00e9",
    ],
    ["a\u205c", [64, 46256, 250], "a\u205c", "a\u205c"],
    [
      "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200b\u0e01\u0e0c\u3000[CLS]\uf9b5\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u05b3\u0e7ddon'ta",
      [
        41840, 101, 447, 235, 41840, 102, 447, 235, 41840, 100, 9525, 19567, 223, 19567, 234, 5099, 222, 58,
        5097, 50, 60, 171, 99, 113, 41840, 101, 447, 235, 41840, 102, 447, 235, 41840, 100, 146, 111, 31479,
        121, 9099, 470, 64,
      ],
      "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200b\u0e01\u0e0c\u3000[CLS]\uf9b5\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u05b3\u0e7ddon'ta",
      "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200b\u0e01\u0e0c\u3000[CLS]\uf9b5\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u05b3\u0e7ddon'ta",
    ],
    [
      "\u06bd\ufb01\u204d\u05c2",
      [150, 121, 171, 105, 223, 46256, 235, 147, 224],
      "\u06bd\ufb01\u204d\u05c2",
      "\u06bd\ufb01\u204d\u05c2",
    ],
    [
      "\u200b\ud83d\udc4d\ud83c\udffd</s>\u2261\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0661\u0662\u0663\ud83d\udd75<loc_5> \u041f\u0440\u0438\u0432\u0435\u0442\ud840\udc08",
      [
        9525, 41840, 235, 8582, 237, 121, 3556, 82, 29, 35705, 94, 19567, 254, 19567, 110, 19567, 102, 19567,
        110, 31479, 226, 19567, 245, 19567, 95, 149, 94, 149, 95, 149, 96, 8582, 243, 113, 27, 17946, 62, 20,
        29, 12466, 253, 21169, 18849, 38857, 16843, 20375, 172, 254, 222, 230,
      ],
      "\u200b\ud83d\udc4d\ud83c\udffd</s>\u2261\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0661\u0662\u0663\ud83d\udd75<loc_5> \u041f\u0440\u0438\u0432\u0435\u0442\ud840\udc08",
      "\u200b\ud83d\udc4d\ud83c\udffd</s>\u2261\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0661\u0662\u0663\ud83d\udd75<loc_5> \u041f\u0440\u0438\u0432\u0435\u0442\ud840\udc08",
    ],
    [
      "\u000b\u06ef\ud840\udcc8\udb40\udc18\u06b0\u0001",
      [199, 151, 107, 172, 254, 225, 230, 175, 254, 222, 246, 150, 108, 189],
      "\u000b\u06ef\ud840\udcc8\udb40\udc18\u06b0\u0001",
      "\u000b\u06ef\ud840\udcc8\udb40\udc18\u06b0\u0001",
    ],
    [
      "<od>^<phrase>\ud840\udc86\u0381<od>\u0606\ufb37",
      [27, 375, 29, 61, 27, 34675, 29, 172, 254, 224, 228, 138, 223, 27, 375, 29, 148, 228, 171, 105, 115],
      "<od>^<phrase>\ud840\udc86\u0381<od>\u0606\ufb37",
      "<od>^<phrase>\ud840\udc86\u0381<od>\u0606\ufb37",
    ],
    [
      " </phrase>\ufb12\n\u00dcn\u00efc\u00f6d\u00e9\uff48\uff45\uff4c\uff4c\uff4fnai\u0308ve\ud83c\udfbfdon't\u2047\u3000",
      [
        7359, 34675, 29, 171, 105, 240, 198, 127, 250, 77, 26884, 66, 9101, 67, 2634, 171, 121, 230, 171, 121,
        227, 171, 121, 234, 171, 121, 234, 171, 121, 237, 38600, 136, 230, 303, 8582, 236, 123, 9099, 470,
        46256, 229, 5099, 222,
      ],
      " </phrase>\ufb12\n\u00dcn\u00efc\u00f6d\u00e9\uff48\uff45\uff4c\uff4c\uff4fnai\u0308ve\ud83c\udfbfdon't\u2047\u3000",
      " </phrase>\ufb12\n\u00dcn\u00efc\u00f6d\u00e9\uff48\uff45\uff4c\uff4c\uff4fnai\u0308ve\ud83c\udfbfdon't\u2047\u3000",
    ],
    [
      "\ufffd\u05bb\u216b\u110b\ufb3f,\ud83d\udca0a\u204c\uff48\uff45\uff4c\uff4c\uff4f\uf993 ",
      [
        4210, 146, 119, 158, 227, 104, 157, 226, 233, 171, 105, 123, 11, 8582, 240, 254, 64, 46256, 234, 171,
        121, 230, 171, 121, 227, 171, 121, 234, 171, 121, 234, 171, 121, 237, 171, 99, 241, 220,
      ],
      "\ufffd\u05bb\u216b\u110b\ufb3f,\ud83d\udca0a\u204c\uff48\uff45\uff4c\uff4c\uff4f\uf993 ",
      "\ufffd\u05bb\u216b\u110b\ufb3f,\ud83d\udca0a\u204c\uff48\uff45\uff4c\uff4c\uff4f\uf993 ",
    ],
    ["\u2024\u00a0\uff8c", [447, 97, 1849, 171, 122, 234], "\u2024\u00a0\uff8c", "\u2024\u00a0\uff8c"],
    [
      '\ufaaa\u30ab[MASK]\udb40\udc18<od>cat\u00e2\u1171##\u0001\ufb3e?"\u11dc',
      [
        171, 103, 103, 21763, 58, 31180, 42, 60, 175, 254, 222, 246, 27, 375, 29, 9246, 22940, 157, 227, 109,
        2235, 189, 171, 105, 122, 1701, 157, 229, 250,
      ],
      '\ufaaa\u30ab[MASK]\udb40\udc18<od>cat\u00e2\u1171##\u0001\ufb3e?"\u11dc',
      '\ufaaa\u30ab[MASK]\udb40\udc18<od>cat\u00e2\u1171##\u0001\ufb3e?"\u11dc',
    ],
    [
      "\ufeff\u0130\udb40\udc18\u2026\r\n\u00a0<object>\ud83c\uddeb\ud83c\uddf7b\u1103",
      [
        171, 119, 123, 128, 108, 175, 254, 222, 246, 1399, 201, 198, 1849, 27, 15252, 29, 8582, 229, 104,
        8582, 229, 115, 65, 157, 226, 225,
      ],
      "\ufeff\u0130\udb40\udc18\u2026\r\n\u00a0<object>\ud83c\uddeb\ud83c\uddf7b\u1103",
      "\ufeff\u0130\udb40\udc18\u2026\r\n\u00a0<object>\ud83c\uddeb\ud83c\uddf7b\u1103",
    ],
    ["</s>\u3037", [3556, 82, 29, 5099, 115], "</s>\u3037", "</s>\u3037"],
    [
      "[SEP]\u2026\u1112\u0928\u092e\u0938\u094d\u0924\u0947 \u01cd\uff2d",
      [
        58, 5188, 47, 60, 1399, 157, 226, 240, 11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97,
        24231, 229, 220, 131, 235, 171, 120, 255,
      ],
      "[SEP]\u2026\u1112\u0928\u092e\u0938\u094d\u0924\u0947 \u01cd\uff2d",
      "[SEP]\u2026\u1112\u0928\u092e\u0938\u094d\u0924\u0947 \u01cd\uff2d",
    ],
    ["<OD>", [27, 3727, 29], "<OD>", "<OD>"],
    [
      "\u2581\u2581\r\n\u038d\ud83d\ude42\u038dcat<loc_5>\ud83d\udc73\ufeff\u0661\u0662\u0663<|endoftext|>",
      [
        5008, 223, 5008, 223, 201, 198, 138, 235, 8582, 25081, 138, 235, 9246, 27, 17946, 62, 20, 29, 41840,
        111, 171, 119, 123, 149, 94, 149, 95, 149, 96, 50256,
      ],
      "\u2581\u2581\r\n\u038d\ud83d\ude42\u038dcat<loc_5>\ud83d\udc73\ufeff\u0661\u0662\u0663<|endoftext|>",
      "\u2581\u2581\r\n\u038d\ud83d\ude42\u038dcat<loc_5>\ud83d\udc73\ufeff\u0661\u0662\u0663",
    ],
    [
      "<phrase>\u202b<phrase><OD>\ud840\udc1f<pad>\ud83d\udc4d\ud83c\udffd",
      [
        27, 34675, 29, 447, 104, 27, 34675, 6927, 3727, 29, 172, 254, 222, 253, 27, 15636, 29, 41840, 235,
        8582, 237, 121,
      ],
      "<phrase>\u202b<phrase><OD>\ud840\udc1f<pad>\ud83d\udc4d\ud83c\udffd",
      "<phrase>\u202b<phrase><OD>\ud840\udc1f<pad>\ud83d\udc4d\ud83c\udffd",
    ],
    ["\u05a9 </phrase>", [146, 102, 7359, 34675, 29], "\u05a9 </phrase>", "\u05a9 </phrase>"],
    [
      " <mask><loc_999>\u2581\u2581",
      [1279, 27932, 6927, 17946, 62, 17032, 29, 5008, 223, 5008, 223],
      " <mask><loc_999>\u2581\u2581",
      " <mask><loc_999>\u2581\u2581",
    ],
    [
      "\u0928\u092e\u0938\u094d\u0924\u0947\u041f\u0440\u0438\u0432\u0435\u0442\u2053\ufada\u06a0\u03a3\u0391\u03a3",
      [
        11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97, 24231, 229, 140, 253, 21169, 18849, 38857,
        16843, 20375, 46256, 241, 171, 104, 248, 150, 254, 138, 96, 138, 239, 138, 96,
      ],
      "\u0928\u092e\u0938\u094d\u0924\u0947\u041f\u0440\u0438\u0432\u0435\u0442\u2053\ufada\u06a0\u03a3\u0391\u03a3",
      "\u0928\u092e\u0938\u094d\u0924\u0947\u041f\u0440\u0438\u0432\u0435\u0442\u2053\ufada\u06a0\u03a3\u0391\u03a3",
    ],
    ["cat\u2059\u11bd ", [9246, 46256, 247, 157, 228, 121, 220], "cat\u2059\u11bd ", "cat\u2059\u11bd "],
    [
      "the\u1112\ud55c\uad6d\uc5b4\u00df\u2105X\u6771\u4eac\tnai\u0308ve\u248a<loc_5>[SEP]\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22[MASK]",
      [
        1169, 157, 226, 240, 47991, 250, 166, 113, 255, 168, 244, 112, 39683, 158, 226, 227, 55, 30266, 109,
        12859, 105, 197, 38600, 136, 230, 303, 158, 240, 232, 27, 17946, 62, 20, 36937, 5188, 47, 60, 19567,
        254, 19567, 110, 19567, 102, 19567, 110, 31479, 226, 19567, 245, 19567, 95, 58, 31180, 42, 60,
      ],
      "the\u1112\ud55c\uad6d\uc5b4\u00df\u2105X\u6771\u4eac\tnai\u0308ve\u248a<loc_5>[SEP]\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22[MASK]",
      "the\u1112\ud55c\uad6d\uc5b4\u00df\u2105X\u6771\u4eac\tnai\u0308ve\u248a<loc_5>[SEP]\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22[MASK]",
    ],
    [
      "\u03a3\u0391\u03a3\u0001\u216bnai\u0308ve<object>.<|endoftext|>\u30d6<phrase>\udb40\udc18\u01ec<loc_999>\u03ec",
      [
        138, 96, 138, 239, 138, 96, 189, 158, 227, 104, 38600, 136, 230, 303, 27, 15252, 28401, 50256, 24001,
        27, 34675, 29, 175, 254, 222, 246, 131, 105, 27, 17946, 62, 17032, 29, 139, 105,
      ],
      "\u03a3\u0391\u03a3\u0001\u216bnai\u0308ve<object>.<|endoftext|>\u30d6<phrase>\udb40\udc18\u01ec<loc_999>\u03ec",
      "\u03a3\u0391\u03a3\u0001\u216bnai\u0308ve<object>.\u30d6<phrase>\udb40\udc18\u01ec<loc_999>\u03ec",
    ],
    [
      "\u30dat\ufb17\u0085",
      [1209, 248, 83, 171, 105, 245, 126, 227],
      "\u30dat\ufb17\u0085",
      "\u30dat\ufb17\u0085",
    ],
    ["<loc_999></s>$5", [27, 17946, 62, 17032, 12240, 82, 29, 3, 20], "<loc_999></s>$5", "<loc_999></s>$5"],
    [
      "\u0645\u0631\u062d\u0628\u0627\u0645\u0631\u062d\u0628\u0627\u2014\uf9a8\udb40\udc65\u2050\u0661\u0662\u0663x\uff29",
      [
        25405, 26897, 148, 255, 39848, 12919, 25405, 26897, 148, 255, 39848, 12919, 960, 171, 99, 101, 175,
        254, 223, 98, 46256, 238, 149, 94, 149, 95, 149, 96, 87, 171, 120, 102,
      ],
      "\u0645\u0631\u062d\u0628\u0627\u0645\u0631\u062d\u0628\u0627\u2014\uf9a8\udb40\udc65\u2050\u0661\u0662\u0663x\uff29",
      "\u0645\u0631\u062d\u0628\u0627\u0645\u0631\u062d\u0628\u0627\u2014\uf9a8\udb40\udc65\u2050\u0661\u0662\u0663x\uff29",
    ],
    [
      "\ud83c\uddeb\ud83c\uddf7\ud840\udcec\u2581\u2581\udb40\udc18\ud83d\udd9e3.14\u30b4\u03a1\ud840\udca0\u0928\u092e\u0938\u094d\u0924\u0947",
      [
        8582, 229, 104, 8582, 229, 115, 172, 254, 225, 105, 5008, 223, 5008, 223, 175, 254, 222, 246, 8582,
        244, 252, 18, 13, 1415, 17933, 138, 94, 172, 254, 224, 254, 11976, 101, 11976, 106, 11976, 116, 24231,
        235, 11976, 97, 24231, 229,
      ],
      "\ud83c\uddeb\ud83c\uddf7\ud840\udcec\u2581\u2581\udb40\udc18\ud83d\udd9e3.14\u30b4\u03a1\ud840\udca0\u0928\u092e\u0938\u094d\u0924\u0947",
      "\ud83c\uddeb\ud83c\uddf7\ud840\udcec\u2581\u2581\udb40\udc18\ud83d\udd9e3.14\u30b4\u03a1\ud840\udca0\u0928\u092e\u0938\u094d\u0924\u0947",
    ],
    [
      "\ufb29UPPER\u117e\udb40\udc65\ud83d\udc04\ufb05\u00df\u1116\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22!##<s>\u0219",
      [
        171, 105, 102, 8577, 18973, 157, 227, 122, 175, 254, 223, 98, 8582, 238, 226, 171, 105, 227, 39683,
        157, 226, 244, 19567, 254, 19567, 110, 19567, 102, 19567, 110, 31479, 226, 19567, 245, 19567, 95, 0,
        2235, 27, 82, 29, 132, 247,
      ],
      "\ufb29UPPER\u117e\udb40\udc65\ud83d\udc04\ufb05\u00df\u1116\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22!##<s>\u0219",
      "\ufb29UPPER\u117e\udb40\udc65\ud83d\udc04\ufb05\u00df\u1116\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22!##<s>\u0219",
    ],
    [
      "\ufb19\u1112\u0928\u092e\u0938\u094d\u0924\u0947\u02ce<loc_999>\u2416a\u0e1e\n[MASK]<pad>\udb40\udc18<mask>\u2581",
      [
        171, 105, 247, 157, 226, 240, 11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97, 24231, 229,
        135, 236, 27, 17946, 62, 17032, 29, 158, 238, 244, 64, 19567, 252, 198, 58, 31180, 42, 60, 27, 15636,
        29, 175, 254, 222, 246, 27, 27932, 29, 5008, 223,
      ],
      "\ufb19\u1112\u0928\u092e\u0938\u094d\u0924\u0947\u02ce<loc_999>\u2416a\u0e1e\n[MASK]<pad>\udb40\udc18<mask>\u2581",
      "\ufb19\u1112\u0928\u092e\u0938\u094d\u0924\u0947\u02ce<loc_999>\u2416a\u0e1e\n[MASK]<pad>\udb40\udc18<mask>\u2581",
    ],
    [
      "\u2019a\ufb21\uffd2",
      [447, 247, 64, 171, 105, 94, 171, 123, 240],
      "\u2019a\ufb21\uffd2",
      "\u2019a\ufb21\uffd2",
    ],
    [
      "<loc_999>\ufb47the\ud83c\uddeb\ud83c\uddf7\u216b\u00a0\u06c6\ufb01\u0085<pad>?",
      [
        27, 17946, 62, 17032, 29, 171, 255, 229, 1169, 8582, 229, 104, 8582, 229, 115, 158, 227, 104, 1849,
        151, 228, 171, 105, 223, 126, 227, 27, 15636, 29, 30,
      ],
      "<loc_999>\ufb47the\ud83c\uddeb\ud83c\uddf7\u216b\u00a0\u06c6\ufb01\u0085<pad>?",
      "<loc_999>\ufb47the\ud83c\uddeb\ud83c\uddf7\u216b\u00a0\u06c6\ufb01\u0085<pad>?",
    ],
    [
      "\uff48\uff45\uff4c\uff4c\uff4f\u21b3\u0130\ud83c\uddeb\ud83c\uddf7\u2026\u0130\u0343",
      [
        171, 121, 230, 171, 121, 227, 171, 121, 234, 171, 121, 234, 171, 121, 237, 29705, 111, 128, 108, 8582,
        229, 104, 8582, 229, 115, 1399, 128, 108, 137, 225,
      ],
      "\uff48\uff45\uff4c\uff4c\uff4f\u21b3\u0130\ud83c\uddeb\ud83c\uddf7\u2026\u0130\u0343",
      "\uff48\uff45\uff4c\uff4c\uff4f\u21b3\u0130\ud83c\uddeb\ud83c\uddf7\u2026\u0130\u0343",
    ],
  ],
  blip: [
    [
      "\u338f\ufb01<OD>\u2026<loc_5>nai\u0308veW\u034d\u01aacat\u2460\uf945\u00dcn\u00efc\u00f6d\u00e9\u033f",
      [101, 100, 1026, 1051, 2094, 1028, 1529, 1026, 8840, 2278, 1035, 1019, 1028, 100, 100, 27260, 102],
      "[CLS] [UNK] < od > \u2026 < loc _ 5 > [UNK] [UNK] unicode [SEP]",
      "< od > \u2026 < loc _ 5 > unicode",
    ],
    [
      "\u30be\u2003\u3000\u00a0!!\n\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\uff77\u037a\u0321",
      [101, 100, 999, 999, 100, 102],
      "[CLS] [UNK]!! [UNK] [SEP]",
      "!!",
    ],
    ["\ud83d\udc16The", [101, 100, 102], "[CLS] [UNK] [SEP]", ""],
    ["\u2016\ufffd\u11f3\u216b\ufeff", [101, 1519, 100, 102], "[CLS] \u2016 [UNK] [SEP]", "\u2016"],
    [
      " \ud83d\udc01UPPER$5\u03c4\u038d\udb40\udc18",
      [101, 100, 1002, 100, 102],
      "[CLS] [UNK] $ [UNK] [SEP]",
      "$",
    ],
    [
      "\u000b\ud83d\udc4d\ud83c\udffd##\ud83d\udc4e\ufeff\ud840\udcd7\u03ce<mask>X\u22b0\u05fe ",
      [101, 100, 1001, 1001, 100, 100, 1179, 1026, 7308, 1028, 100, 102],
      "[CLS] [UNK] # # [UNK] [UNK] \u03c9 < mask > [UNK] [SEP]",
      "# # \u03c9 < mask >",
    ],
    [
      " <mask>\ud83d\udd73The.\u3000\u0645\u0631\u062d\u0628\u0627 <mask>\udb40\udc18.\u2026\t",
      [
        101, 1026, 7308, 1028, 100, 1012, 1295, 17149, 29820, 29816, 25573, 1026, 7308, 1028, 100, 1012, 1529,
        102,
      ],
      "[CLS] < mask > [UNK]. \u0645\u0631\u062d\u0628\u0627 < mask > [UNK]. \u2026 [SEP]",
      "< mask >. \u0645\u0631\u062d\u0628\u0627 < mask >. \u2026",
    ],
    [
      "<patch_index_0044> \u306bx\ud840\udcf5<od>\ufb3e\uff48\uff45\uff4c\uff4c\uff4f\u0000\u00df\u2581\u338f\ufae0",
      [
        101, 1026, 8983, 1035, 5950, 1035, 4002, 22932, 1028, 1668, 2595, 100, 1026, 1051, 2094, 1028, 100,
        100, 102,
      ],
      "[CLS] < patch _ index _ 0044 > \u306bx [UNK] < od > [UNK] [UNK] [SEP]",
      "< patch _ index _ 0044 > \u306bx < od >",
    ],
    [
      "\ud83d\udc4d\ud83c\udffd\u0000a\u1130\ufffd[CLS]a\u3011\ud840\udc18\ufffd\ud55c\uad6d\uc5b4\uff48\uff45\uff4c\uff4c\uff4fcat",
      [101, 100, 101, 1037, 100, 100, 100, 102],
      "[CLS] [UNK] [CLS] a [UNK] [UNK] [UNK] [SEP]",
      "a",
    ],
    ["\u0346\udb40\udc65\u2051", [101, 100, 102], "[CLS] [UNK] [SEP]", ""],
    [
      "\u038d\u1168\u306f3 </phrase>catT\uff75nai\u0308ve\ufa10",
      [101, 100, 1026, 1013, 7655, 1028, 100, 100, 102],
      "[CLS] [UNK] < / phrase > [UNK] [UNK] [SEP]",
      "< / phrase >",
    ],
    [
      "\ufffd\u2337\n\u0e1a\u21cf[MASK]\u338f\ufb01",
      [101, 100, 100, 103, 100, 102],
      "[CLS] [UNK] [UNK] [MASK] [UNK] [SEP]",
      "",
    ],
    [
      "\ufb23[SEP]$5\ud55c\uad6d\uc5b4\u2019##cat\u30d2\u111d<od></s>.",
      [
        101, 100, 102, 1002, 1019, 30005, 30006, 30021, 29991, 30014, 30020, 29999, 30008, 1521, 1001, 1001,
        100, 1026, 1051, 2094, 1028, 1026, 1013, 1055, 1028, 1012, 102,
      ],
      "[CLS] [UNK] [SEP] $ 5\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165 \u2019 # # [UNK] < od > < / s >. [SEP]",
      "$ 5\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165 \u2019 # # < od > < / s >.",
    ],
    [
      "\u0001\u037f's\u0e6e##\u041f\u0440\u0438\u0432\u0435\u0442\ufb01\ud55c\uad6d\uc5b4\ufeffa\u0685\u2122",
      [101, 100, 1005, 100, 1001, 1001, 100, 102],
      "[CLS] [UNK] ' [UNK] # # [UNK] [SEP]",
      "' # #",
    ],
    [
      "[MASK]\u01b0's\u6771\u4eac\ud840\udc49\ud840\udce5$5\u1189\u2057\u000b\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u069a",
      [101, 103, 1057, 1005, 1055, 1879, 1755, 100, 100, 1002, 100, 100, 100, 102],
      "[CLS] [MASK] u ' s \u6771 \u4eac [UNK] [UNK] $ [UNK] [UNK] [UNK] [SEP]",
      "u ' s \u6771 \u4eac $",
    ],
    [
      "\u03a3\u0391\u03a3<|endoftext|>\u2156,\u038d\u2279\ud83c\uddeb\ud83c\uddf7\u2581\u2581\u116f\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 <grounding>\u01e7\ud83d\udc26",
      [
        101, 1173, 14608, 29733, 1026, 1064, 2203, 15794, 10288, 2102, 1064, 1028, 100, 1010, 100, 1026, 2598,
        2075, 1028, 100, 102,
      ],
      "[CLS] \u03c3\u03b1\u03c3 < | endoftext | > [UNK], [UNK] < grounding > [UNK] [SEP]",
      "\u03c3\u03b1\u03c3 < | endoftext | >, < grounding >",
    ],
    [
      "\uf9a7\u2026\u037b\ufeff<od><phrase>catdon't\ud840\udcbf\n\t\u3000[CLS]",
      [101, 100, 1529, 100, 1026, 1051, 2094, 1028, 1026, 7655, 1028, 4937, 5280, 1005, 1056, 100, 101, 102],
      "[CLS] [UNK] \u2026 [UNK] < od > < phrase > catdon ' t [UNK] [CLS] [SEP]",
      "\u2026 < od > < phrase > catdon ' t",
    ],
    ["Z\uff96", [101, 100, 102], "[CLS] [UNK] [SEP]", ""],
    [
      "\u0645\u0631\u062d\u0628\u0627",
      [101, 1295, 17149, 29820, 29816, 25573, 102],
      "[CLS] \u0645\u0631\u062d\u0628\u0627 [SEP]",
      "\u0645\u0631\u062d\u0628\u0627",
    ],
    [
      "\ufb17 \u03a3\u0391\u03a3<OD>\u2014\ud83d\udc4d\ud83c\udffd\u00db\u2122\u02c7\u0678\u2460<loc_5>\u0001\u03ad",
      [
        101, 100, 1173, 14608, 29733, 1026, 1051, 2094, 1028, 1517, 100, 1026, 8840, 2278, 1035, 1019, 1028,
        1159, 102,
      ],
      "[CLS] [UNK] \u03c3\u03b1\u03c3 < od > \u2014 [UNK] < loc _ 5 > \u03b5 [SEP]",
      "\u03c3\u03b1\u03c3 < od > \u2014 < loc _ 5 > \u03b5",
    ],
    [
      "##<pad>\uffe2\u0928\u092e\u0938\u094d\u0924\u0947<pad>[CLS]\ufb27\ud83d\udc4d\ud83c\udffd <grounding>",
      [101, 1001, 1001, 1026, 11687, 1028, 100, 1026, 11687, 1028, 101, 100, 1026, 2598, 2075, 1028, 102],
      "[CLS] # # < pad > [UNK] < pad > [CLS] [UNK] < grounding > [SEP]",
      "# # < pad > < pad > < grounding >",
    ],
    [
      "\u03e7.<od>\uff5e\u0304cat\u033dThe<unk>\u03f1kThe]",
      [101, 100, 1012, 1026, 1051, 2094, 1028, 1995, 11266, 10760, 1026, 4895, 2243, 1028, 100, 1033, 102],
      "[CLS] [UNK]. < od > \uff5ecatthe < unk > [UNK] ] [SEP]",
      ". < od > \uff5ecatthe < unk > ]",
    ],
    [
      "\u2581\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67cat\ud83d\uddb4\u0645\u0631\u062d\u0628\u0627",
      [101, 100, 102],
      "[CLS] [UNK] [SEP]",
      "",
    ],
    [
      "\u00df\u000b\u00dcn\u00efc\u00f6d\u00e9!\ud83c\uddeb\ud83c\uddf7\ud83c\uddeb\ud83c\uddf7\u035f",
      [101, 1096, 19496, 16044, 999, 100, 102],
      "[CLS] \u00dfunicode! [UNK] [SEP]",
      "\u00dfunicode!",
    ],
    ["\ud840\udc3f", [101, 100, 102], "[CLS] [UNK] [SEP]", ""],
    [
      "[SEP]cat\ud83d\udd2b\uff67\u0085\uffaeUPPER\u2026\ud840\udcbc\ufb38\u0661\u0662\u0663\u01db",
      [101, 102, 100, 1529, 100, 100, 102],
      "[CLS] [SEP] [UNK] \u2026 [UNK] [UNK] [SEP]",
      "\u2026",
    ],
    ["\ud83d\ude42\udb40\udc18<s>", [101, 100, 1026, 1055, 1028, 102], "[CLS] [UNK] < s > [SEP]", "< s >"],
    [
      "\u0645\u0631\u062d\u0628\u0627\ufffd\u00df\u00a0$5",
      [101, 1295, 17149, 29820, 29816, 25573, 19310, 1002, 1019, 102],
      "[CLS] \u0645\u0631\u062d\u0628\u0627\u00df $ 5 [SEP]",
      "\u0645\u0631\u062d\u0628\u0627\u00df $ 5",
    ],
    [
      "\u0310\u206e\u3000\u00f9\u032e\uf91f\u00c7\uf9c0,",
      [101, 1057, 100, 1039, 100, 1010, 102],
      "[CLS] u [UNK] c [UNK], [SEP]",
      "u c,",
    ],
    [
      "<|endoftext|>\uff57the\u03e0</s>\uff5f\u00df\ud83d\uddd7\u0e3e,\ufb31\u3081\u00dcn\u00efc\u00f6d\u00e9\ufb3d",
      [
        101, 1026, 1064, 2203, 15794, 10288, 2102, 1064, 1028, 100, 1026, 1013, 1055, 1028, 100, 100, 1010,
        100, 102,
      ],
      "[CLS] < | endoftext | > [UNK] < / s > [UNK] [UNK], [UNK] [SEP]",
      "< | endoftext | > < / s >,",
    ],
    [
      "[MASK]\uff68?\u036f<mask>\u038d\u0e6e3.14\uf9b7\u201d\u0661\u0662\u0663",
      [101, 103, 100, 1029, 1026, 7308, 1028, 100, 1012, 2403, 100, 1524, 100, 102],
      "[CLS] [MASK] [UNK]? < mask > [UNK]. 14 [UNK] \u201d [UNK] [SEP]",
      "? < mask >. 14 \u201d",
    ],
    ["\u2014<pad>", [101, 1517, 1026, 11687, 1028, 102], "[CLS] \u2014 < pad > [SEP]", "\u2014 < pad >"],
    [
      "\ufb08UPPER\ud83d\udc4d\ud83c\udffd\udb40\udc65\u3059\ud83d\udefa\ufa6b\u0645\u0631\u062d\u0628\u0627\ud83d\ude42\u03bf\u229f <grounding>",
      [101, 100, 100, 100, 1026, 2598, 2075, 1028, 102],
      "[CLS] [UNK] [UNK] [UNK] < grounding > [SEP]",
      "< grounding >",
    ],
    [
      "\ufb3f\u0e00.$5\u05c2\u3078",
      [101, 100, 1012, 1002, 1019, 30201, 102],
      "[CLS] [UNK]. $ 5\u3078 [SEP]",
      ". $ 5\u3078",
    ],
    [
      "<OD>\u0000nai\u0308ve\u0e7e",
      [101, 1026, 1051, 2094, 1028, 100, 102],
      "[CLS] < od > [UNK] [SEP]",
      "< od >",
    ],
    ["\u0e53", [101, 100, 102], "[CLS] [UNK] [SEP]", ""],
    ["\u0e21\u000b", [101, 1415, 102], "[CLS] \u0e21 [SEP]", "\u0e21"],
    [
      "\u338f\u0e79\u1112\u03e5\u00a0\u200b <grounding>\ud83d\ude42\u05b7<OD>UPPER",
      [101, 100, 1026, 2598, 2075, 1028, 100, 1026, 1051, 2094, 1028, 3356, 102],
      "[CLS] [UNK] < grounding > [UNK] < od > upper [SEP]",
      "< grounding > < od > upper",
    ],
    [
      "<|endoftext|><mask>\ud55c\uad6d\uc5b4 <mask>\u00a0  <object>\u115d<loc_999>\u200b\u02afdon't\u0e05",
      [
        101, 1026, 1064, 2203, 15794, 10288, 2102, 1064, 1028, 1026, 7308, 1028, 1469, 30006, 30021, 29991,
        30014, 30020, 29999, 30008, 1026, 7308, 1028, 1026, 4874, 1028, 100, 1026, 8840, 2278, 1035, 25897,
        1028, 100, 1005, 100, 102,
      ],
      "[CLS] < | endoftext | > < mask > \u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165 < mask > < object > [UNK] < loc _ 999 > [UNK] ' [UNK] [SEP]",
      "< | endoftext | > < mask > \u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165 < mask > < object > < loc _ 999 > '",
    ],
    [
      "W\u216b<od>\u0130\ud83d\ude42\ud840\udc13\ufeff\ufeffa0\u30e4",
      [101, 100, 1026, 1051, 2094, 1028, 100, 100, 100, 102],
      "[CLS] [UNK] < od > [UNK] [UNK] [UNK] [SEP]",
      "< od >",
    ],
  ],
  "kosmos-2": [
    [
      "<phrase>\u11c3\ud840\udca83.14<loc_5>\u000b\u3077\ud83d\udc4d\ud83c\udffd\u30a6\uf936\u3000",
      [0, 64007, 106, 3, 921, 21555, 14367, 28888, 1831, 1304, 6785, 3, 63710, 63447, 3, 2],
      "<s><phrase> <unk>3.14<loc_5><unk>\ud83d\udc4d\ud83c\udffd<unk></s>",
      "<phrase> 3.14<loc_5>\ud83d\udc4d\ud83c\udffd",
    ],
    [
      "\ufb4c\ud83d\ude42The\ufb05\u0343\ud83d\udcf0\ud83d\ude42  \u031a[MASK]\u0221 <grounding>",
      [0, 106, 63421, 3, 63998, 231, 11, 28, 3, 63998, 106, 3, 4115, 48971, 1002, 393, 3, 64012, 2],
      "<s> \u05d1<unk>\ud83d\ude42Thest<unk>\ud83d\ude42 <unk>[MASK]<unk><grounding></s>",
      "\u05d1\ud83d\ude42Thest\ud83d\ude42 [MASK]<grounding>",
    ],
    [
      "a\u0350\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u030c\u2581\u2581the",
      [0, 10, 3, 106, 3, 106, 3, 5, 2],
      "<s> a<unk> <unk> <unk> the</s>",
      "a   the",
    ],
    ["\uf9afthe", [0, 106, 3, 452, 2], "<s> <unk>the</s>", "the"],
    [
      "\u2000\u00dcn\u00efc\u00f6d\u00e9 <grounding>\uff48\uff45\uff4c\uff4c\uff4f\u6771\u4eac\u1112\uff9b\u034a\u24c5##a\ud840\udc19\uff48\uff45\uff4c\uff4c\uff4f",
      [
        0, 106, 50812, 385, 44816, 897, 15304, 42255, 64012, 13976, 63788, 63878, 3, 63855, 885, 10025, 10025,
        185, 3, 36494, 2,
      ],
      "<s> \u00dcn\u00efc\u00f6d\u00e9<grounding> hello\u6771\u4eac<unk>\u30edP##a<unk>hello</s>",
      "\u00dcn\u00efc\u00f6d\u00e9<grounding> hello\u6771\u4eac\u30edP##ahello",
    ],
    [
      "\uff48\uff45\uff4c\uff4c\uff4f\u05bd\u06f5\u0350\u06e9$5",
      [0, 13976, 3, 25124, 2],
      "<s> hello<unk>$5</s>",
      "hello$5",
    ],
    [
      "cat\ufb2d\u3000<unk>\ud83d\ude42\u02a5e\u23ad \u2028\u2014\u2342\uff0b\ufb02",
      [0, 2540, 63449, 63552, 3, 3, 106, 63998, 3, 247, 3, 139, 3, 2919, 26664, 2],
      "<s> cat\u05e9\u05bc<unk><unk> \ud83d\ude42<unk>e<unk> \u2014<unk>+fl</s>",
      "cat\u05e9\u05bc \ud83d\ude42e \u2014+fl",
    ],
    [
      "\ud83c\uddeb\ud83c\uddf7\u302a\u00dcn\u00efc\u00f6d\u00e9\u0085<loc_999>\ufffd",
      [0, 106, 3, 63602, 3, 50812, 385, 44816, 897, 15304, 42255, 3, 14367, 28888, 1831, 1361, 6413, 6785, 2],
      "<s> <unk>\ud83c\uddf7<unk>\u00dcn\u00efc\u00f6d\u00e9<unk><loc_999></s>",
      "\ud83c\uddf7\u00dcn\u00efc\u00f6d\u00e9<loc_999>",
    ],
    ["\uff6e\u216b.\u2460", [0, 106, 3, 2107, 17495, 4, 829, 2], "<s> <unk>XII.1</s>", "XII.1"],
    ["\nthe\u0130The", [0, 5, 45874, 231, 2], "<s> the\u0130The</s>", "the\u0130The"],
    [
      "3.14[SEP]\ud840\udc32<mask>\ud55c\uad6d\uc5b4",
      [0, 288, 21555, 4115, 146, 12158, 393, 3, 64001, 106, 3, 63902, 3, 2],
      "<s> 3.14[SEP]<unk><mask> <unk>\uad6d<unk></s>",
      "3.14[SEP] \uad6d",
    ],
    [
      "<pad>\ufb32<OD>(<patch_index_0044>\ud83d\ude42\u2026\u2581\uff30\u30da\ud83d\udc4d\ud83c\udffd\u00df<unk>*",
      [
        0, 1, 106, 63810, 63552, 14367, 16452, 6785, 2115, 64057, 106, 63998, 261, 825, 3, 63710, 63447,
        35155, 3, 1974, 2,
      ],
      "<s><pad> \u05d2\u05bc<OD>(<patch_index_0044> \ud83d\ude42... P<unk>\ud83d\udc4d\ud83c\udffd\u00df<unk> *</s>",
      "\u05d2\u05bc<OD>(<patch_index_0044> \ud83d\ude42... P\ud83d\udc4d\ud83c\udffd\u00df *",
    ],
    [
      "\u231e\u000b\ufeff<object>\u30cf\u2033's<od>\u111a\u0645\u0631\u062d\u0628\u0627\uff40",
      [
        0, 106, 3, 64009, 106, 3, 16324, 15, 11, 14367, 12695, 6785, 3, 46578, 47086, 63473, 54595, 27466,
        13336, 2,
      ],
      "<s> <unk><object> <unk>\u2032\u2032's<od><unk>\u0645\u0631\u062d\u0628\u0627`</s>",
      "<object> \u2032\u2032's<od>\u0645\u0631\u062d\u0628\u0627`",
    ],
    [
      "\uff04caf\u00e9\u0273\uff48\uff45\uff4c\uff4c\uff4f\ufb3d\u2004 <grounding>\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67The\u0e3c<s>\ud55c\uad6d\uc5b4\u00a0",
      [0, 4849, 3012, 1493, 4436, 3, 36494, 3, 64012, 106, 3, 106, 3, 106, 3, 231, 3, 0, 106, 3, 63902, 3, 2],
      "<s> $caf\u00e9<unk>hello<unk><grounding> <unk> <unk> <unk>The<unk><s> <unk>\uad6d<unk></s>",
      "$caf\u00e9hello<grounding>   The \uad6d",
    ],
    ["\u2039\uff48\uff45\uff4c\uff4c\uff4f", [0, 106, 63625, 36494, 2], "<s> \u2039hello</s>", "\u2039hello"],
    [
      "\uf929\u113ecaf\u00e9<phrase>\u06f7",
      [0, 106, 3, 3012, 1493, 4436, 64007, 106, 3, 2],
      "<s> <unk>caf\u00e9<phrase> <unk></s>",
      "caf\u00e9<phrase> ",
    ],
    ["\u000bx\u304a!", [0, 3687, 63821, 127, 2], "<s> x\u304a!</s>", "x\u304a!"],
    [
      "\u2581\u0001\u300a\t<object>\u0266",
      [0, 106, 63808, 64009, 106, 3, 2],
      "<s> \u300a<object> <unk></s>",
      "\u300a<object> ",
    ],
    ["?\u02a0\u00b3\u031d\udb40\udc65", [0, 1235, 3, 921, 3, 2], "<s> ?<unk>3<unk></s>", "?3"],
    [
      "caf\u00e9\u0335\u0e72\u0279\ud840\udc00\u0928\u092e\u0938\u094d\u0924\u0947\u30e2\u306a\u22f3\u0e5d",
      [0, 17884, 3, 63400, 63414, 63416, 55285, 63013, 61790, 3, 63746, 3, 2],
      "<s> caf\u00e9<unk>\u0928\u092e\u0938\u094d\u0924\u0947<unk>\u306a<unk></s>",
      "caf\u00e9\u0928\u092e\u0938\u094d\u0924\u0947\u306a",
    ],
    [
      "\u03e6\u033d\ufffd\u0000\u03a3\u0391\u03a3\u0001\u11c13.14\u216b",
      [0, 106, 3, 106, 3, 63480, 63646, 63480, 3, 921, 21555, 2107, 17495, 2],
      "<s> <unk> <unk>\u03a3\u0391\u03a3<unk>3.14XII</s>",
      " \u03a3\u0391\u03a33.14XII",
    ],
    ["?\r\n\u00f8", [0, 1235, 106, 19079, 2], "<s> ? \u00f8</s>", "? \u00f8"],
    [
      "\u03a3\u0391\u03a3\u2122",
      [0, 106, 63480, 63646, 63480, 8658, 2],
      "<s> \u03a3\u0391\u03a3TM</s>",
      "\u03a3\u0391\u03a3TM",
    ],
    [
      "\u00a0don't<loc_5>[SEP]<mask>\u0085\u0e3b[CLS]\uff72<unk>\u3000\u11d3",
      [
        0, 148, 15, 28, 14367, 28888, 1831, 1304, 6785, 4115, 146, 12158, 393, 64001, 106, 3, 4115, 11623,
        146, 393, 63445, 3, 106, 3, 2,
      ],
      "<s> don't<loc_5>[SEP]<mask> <unk>[CLS]\u30a4<unk> <unk></s>",
      "don't<loc_5>[SEP] [CLS]\u30a4 ",
    ],
    ["\u0e27\u02a7", [0, 106, 63732, 3, 2], "<s> \u0e27<unk></s>", "\u0e27"],
    [
      "|\ufb43<pad>\uff83\u30b4\u338f\u2014\udb40\udc18[SEP]",
      [0, 3896, 3, 63552, 1, 106, 63873, 3, 9850, 430, 3, 4115, 146, 12158, 393, 2],
      "<s> |<unk>\u05bc<pad> \u30c6<unk>kg\u2014<unk>[SEP]</s>",
      "|\u05bc \u30c6kg\u2014[SEP]",
    ],
    [
      "\ud55c\uad6d\uc5b4P\u041f\u0440\u0438\u0432\u0435\u0442",
      [0, 106, 3, 63902, 3, 885, 63437, 28790, 22223, 38299, 25568, 33234, 2],
      "<s> <unk>\uad6d<unk>P\u041f\u0440\u0438\u0432\u0435\u0442</s>",
      "\uad6dP\u041f\u0440\u0438\u0432\u0435\u0442",
    ],
    [
      "\u2001\u6771\u4eac\u031c\u0e57\ud83d\udc4d\ud83c\udffd\ufffd\ud83d\udd4e\u021a",
      [0, 106, 63788, 63878, 3, 63710, 63447, 106, 3, 63926, 2],
      "<s> \u6771\u4eac<unk>\ud83d\udc4d\ud83c\udffd <unk>\u021a</s>",
      "\u6771\u4eac\ud83d\udc4d\ud83c\udffd \u021a",
    ],
    [
      "\u033d\ud840\udcbc\ufa80<s>\u2122\u03b6",
      [0, 106, 3, 0, 17013, 63701, 2],
      "<s> <unk><s> TM\u03b6</s>",
      " TM\u03b6",
    ],
    [
      "\ud840\udcb2\ud840\udcc8the\u2122UPPER\ufffd?$5\ud83d\udd45\n",
      [0, 106, 3, 452, 8658, 15277, 23475, 1235, 25124, 3, 2],
      "<s> <unk>theTMUPPER ?$5<unk></s>",
      "theTMUPPER ?$5",
    ],
    [
      "\u2581\u2581\ud55c\uad6d\uc5b4\u2581\u2581\u11d2the",
      [0, 106, 3, 63902, 3, 106, 3, 452, 2],
      "<s> <unk>\uad6d<unk> <unk>the</s>",
      "\uad6d the",
    ],
    ["\ud840\udc14", [0, 106, 3, 2], "<s> <unk></s>", ""],
    [
      "!'s\u035e\u0e0f\u00a0\uff1b\uf9bf\ud840\udc13\ud83d\udc4d\ud83c\udffd\ud83d\udebd",
      [0, 1021, 15, 11, 3, 8207, 3, 63710, 63447, 3, 2],
      "<s> !'s<unk> ;<unk>\ud83d\udc4d\ud83c\udffd<unk></s>",
      "!'s ;\ud83d\udc4d\ud83c\udffd",
    ],
    [
      "\u0674</s>\uff83\r\n\u300e\u0e71cat",
      [0, 106, 3, 2, 106, 63873, 106, 3, 8828, 2],
      "<s> <unk></s> \u30c6 <unk>cat</s>",
      " \u30c6 cat",
    ],
    [
      "\ud83c\udf0e\ufb2a\u11f3!\u0348\u2122##\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\ufffd\u0675\u0e34",
      [0, 106, 3, 63449, 3, 127, 3, 8658, 10025, 10025, 3, 63542, 3, 63542, 3, 63774, 106, 27466, 3, 2],
      "<s> <unk>\u05e9<unk>!<unk>TM##<unk>\u0e32<unk>\u0e32<unk>\u0e22 \u0627<unk></s>",
      "\u05e9!TM##\u0e32\u0e32\u0e22 \u0627",
    ],
    [
      "'s$5caf\u00e9\u1112<loc_999>\ud83d\ude42\u01ae\u0e63\ufb3c}\u0085!\u0319",
      [
        0, 216, 11, 25124, 3012, 1493, 4436, 3, 14367, 28888, 1831, 1361, 6413, 6785, 63998, 3, 63401, 63552,
        10168, 3, 127, 3, 2,
      ],
      "<s> 's$5caf\u00e9<unk><loc_999>\ud83d\ude42<unk>\u05dc\u05bc}<unk>!<unk></s>",
      "'s$5caf\u00e9<loc_999>\ud83d\ude42\u05dc\u05bc}!",
    ],
    ["\udb40\udc65X", [0, 106, 3, 2107, 2], "<s> <unk>X</s>", "X"],
    ["\u11d4\u2581\u2581\ufa46", [0, 106, 3, 106, 3, 2], "<s> <unk> <unk></s>", " "],
    [
      "\u000b\u3000\u00aa\ufac0\ufb09\u00dcn\u00efc\u00f6d\u00e9\ufa5b",
      [0, 10, 3, 50812, 385, 44816, 897, 15304, 42255, 3, 2],
      "<s> a<unk>\u00dcn\u00efc\u00f6d\u00e9<unk></s>",
      "a\u00dcn\u00efc\u00f6d\u00e9",
    ],
    [
      "\ufb1d\ufab9\uff48\uff45\uff4c\uff4c\uff4f\u00dcn\u00efc\u00f6d\u00e9w\u338f\n\u11ca\u00a0",
      [0, 106, 51015, 63665, 3, 36494, 50812, 385, 44816, 897, 15304, 42255, 2388, 9850, 106, 3, 2],
      "<s> \u05d9\u05b4<unk>hello\u00dcn\u00efc\u00f6d\u00e9wkg <unk></s>",
      "\u05d9\u05b4hello\u00dcn\u00efc\u00f6d\u00e9wkg ",
    ],
  ],
  "florence-2": [
    [
      "\u6771\u4eac\ud840\udc01'sz\u3000\u00d6\ud840\udc02\uff4f<|endoftext|>\u2581\u2581\u05c2\u0928\u092e\u0938\u094d\u0924\u0947\ud840\udc81\u0361",
      [
        0, 48414, 15389, 46499, 11582, 49585, 21402, 7471, 10172, 18, 329, 48516, 7471, 3849, 25448, 49585,
        21402, 7471, 9264, 43251, 10809, 9357, 41552, 15483, 1397, 1116, 29015, 15483, 15698, 48584, 10172,
        48584, 10172, 42358, 9264, 14238, 11423, 14238, 2840, 14238, 18537, 22919, 8384, 14238, 10470, 22919,
        6382, 49585, 21402, 9264, 10172, 48254, 5543, 2,
      ],
      "<s>\u6771\u4eac\ud840\udc01'sz\u3000\u00d6\ud840\udc02\uff4f<|endoftext|>\u2581\u2581\u05c2\u0928\u092e\u0938\u094d\u0924\u0947\ud840\udc81\u0361</s>",
      "\u6771\u4eac\ud840\udc01'sz\u3000\u00d6\ud840\udc02\uff4f<|endoftext|>\u2581\u2581\u05c2\u0928\u092e\u0938\u094d\u0924\u0947\ud840\udc81\u0361",
    ],
    [
      "[MASK]\n\u216bdon't\ufb38\ufb1b<od></s>a<patch_index_0044>$5UPPER\u1112\u6771\u4eac",
      [
        0, 10975, 32804, 530, 742, 50118, 24987, 5782, 4958, 7254, 75, 43251, 11582, 18537, 43251, 11582,
        3726, 50265, 2, 102, 41552, 40353, 1215, 18480, 1215, 612, 3305, 15698, 1629, 245, 9673, 21260, 1376,
        11936, 10659, 48414, 15389, 46499, 11582, 2,
      ],
      "<s>[MASK]\n\u216bdon't\ufb38\ufb1b<od></s>a<patch_index_0044>$5UPPER\u1112\u6771\u4eac</s>",
      "[MASK]\n\u216bdon't\ufb38\ufb1ba<patch_index_0044>$5UPPER\u1112\u6771\u4eac",
    ],
    [
      "\u01c2\uf924\u2489\u117f\u2014\u200e<object>\u0e1e",
      [
        0, 47040, 9264, 43251, 10470, 10470, 24987, 10659, 23171, 1376, 5782, 9470, 578, 30902, 41552, 40412,
        15698, 24107, 17772, 2,
      ],
      "<s>\u01c2\uf924\u2489\u117f\u2014\u200e<object>\u0e1e</s>",
      "\u01c2\uf924\u2489\u117f\u2014\u200e<object>\u0e1e",
    ],
    [
      "a<phrase>\u041f\u0440\u0438\u0432\u0435\u0442<|endoftext|>\u2581\u206d\u2581\u2581",
      [
        0, 102, 41552, 40726, 15698, 25417, 4333, 24269, 35328, 42907, 25482, 35555, 41552, 15483, 1397, 1116,
        29015, 15483, 15698, 48584, 10172, 40669, 12410, 48584, 10172, 48584, 10172, 2,
      ],
      "<s>a<phrase>\u041f\u0440\u0438\u0432\u0435\u0442<|endoftext|>\u2581\u206d\u2581\u2581</s>",
      "a<phrase>\u041f\u0440\u0438\u0432\u0435\u0442<|endoftext|>\u2581\u206d\u2581\u2581",
    ],
    ["s\u2026\u038dx", [0, 29, 1174, 41335, 8384, 1178, 2], "<s>s\u2026\u038dx</s>", "s\u2026\u038dx"],
    [
      "\uffe5\ufa64\u2057\uff48\uff45\uff4c\uff4c\uff4f\uff51",
      [
        0, 43251, 9470, 8210, 43251, 15375, 10470, 40669, 6800, 43251, 10809, 23133, 43251, 10809, 5782,
        43251, 10809, 14285, 43251, 10809, 14285, 43251, 10809, 9357, 43251, 10809, 3602, 2,
      ],
      "<s>\uffe5\ufa64\u2057\uff48\uff45\uff4c\uff4c\uff4f\uff51</s>",
      "\uffe5\ufa64\u2057\uff48\uff45\uff4c\uff4c\uff4f\uff51",
    ],
    [
      "cat\ud83d\udca4</s>\u06f7<|endoftext|>\r\n\ufb09\u03a3\u0391\u03a3\u200b",
      [
        0, 8729, 6569, 10659, 10470, 2, 44148, 18400, 41552, 15483, 1397, 1116, 29015, 15483, 15698, 50121,
        50118, 43251, 11582, 23171, 41335, 2469, 41335, 3602, 41335, 2469, 13635, 2,
      ],
      "<s>cat\ud83d\udca4</s>\u06f7<|endoftext|>\r\n\ufb09\u03a3\u0391\u03a3\u200b</s>",
      "cat\ud83d\udca4\u06f7<|endoftext|>\r\n\ufb09\u03a3\u0391\u03a3\u200b",
    ],
    [
      "<od>\u338fa\u041f\u0440\u0438\u0432\u0435\u0442\ufb2e?\u200b\ufffd\u6771\u4eacnai\u0308ve\r\n\ud840\udc30\u024e",
      [
        0, 50265, 48064, 12736, 9357, 102, 25417, 4333, 24269, 35328, 42907, 25482, 35555, 43251, 11582, 2840,
        116, 13635, 21955, 48414, 15389, 46499, 11582, 39089, 44025, 23133, 548, 50121, 50118, 49585, 21402,
        7471, 7487, 35423, 12736, 2,
      ],
      "<s><od>\u338fa\u041f\u0440\u0438\u0432\u0435\u0442\ufb2e?\u200b\ufffd\u6771\u4eacnai\u0308ve\r\n\ud840\udc30\u024e</s>",
      "\u338fa\u041f\u0440\u0438\u0432\u0435\u0442\ufb2e?\u200b\ufffd\u6771\u4eacnai\u0308ve\r\n\ud840\udc30\u024e",
    ],
    [
      "\ud83c\udf67\uffd9\u1191\ud83d\ude42##m\ud55c\uad6d\uc5b4\ud55c\uad6d\uc5b4\u11aa",
      [
        0, 6569, 8384, 6248, 43251, 9470, 27, 1376, 27819, 3602, 6569, 48985, 48342, 119, 48589, 48, 46873,
        8906, 12410, 43998, 25448, 20024, 48589, 48, 46873, 8906, 12410, 43998, 25448, 20024, 1376, 27819,
        10278, 2,
      ],
      "<s>\ud83c\udf67\uffd9\u1191\ud83d\ude42##m\ud55c\uad6d\uc5b4\ud55c\uad6d\uc5b4\u11aa</s>",
      "\ud83c\udf67\uffd9\u1191\ud83d\ude42##m\ud55c\uad6d\uc5b4\ud55c\uad6d\uc5b4\u11aa",
    ],
    ["\uff9b\u201c", [0, 43251, 4726, 3726, 17, 48, 2], "<s>\uff9b\u201c</s>", "\uff9b\u201c"],
    [
      "D\u6771\u4eac\u0000\u00a0\u3074\ud83d\udc1a\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u2203\u338f\ud840\udcc0<od>\u2029's",
      [
        0, 495, 48414, 15389, 46499, 11582, 50108, 50141, 46311, 20024, 6569, 16948, 15113, 24107, 21402,
        24107, 14292, 24107, 15375, 24107, 14292, 42348, 11936, 24107, 6800, 24107, 7258, 48104, 862, 48064,
        12736, 9357, 49585, 21402, 862, 7471, 50265, 17, 15375, 18, 2,
      ],
      "<s>D\u6771\u4eac\u0000\u00a0\u3074\ud83d\udc1a\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u2203\u338f\ud840\udcc0<od>\u2029's</s>",
      "D\u6771\u4eac\u0000\u00a0\u3074\ud83d\udc1a\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u2203\u338f\ud840\udcc0\u2029's",
    ],
    [
      "\ud83d\ude6d\n\ud840\udcf8\u0341\ud83c\uddeb\ud83c\uddf7\u0130\u03d9\ud83c\udf82\u03bf\u200b\uf9bb",
      [
        0, 6569, 27, 12410, 50118, 49585, 21402, 862, 18537, 48254, 10172, 6569, 6382, 4958, 6569, 6382,
        18400, 649, 7487, 45704, 27, 6569, 12736, 9264, 46122, 13635, 43251, 18164, 2023, 2,
      ],
      "<s>\ud83d\ude6d\n\ud840\udcf8\u0341\ud83c\uddeb\ud83c\uddf7\u0130\u03d9\ud83c\udf82\u03bf\u200b\uf9bb</s>",
      "\ud83d\ude6d\n\ud840\udcf8\u0341\ud83c\uddeb\ud83c\uddf7\u0130\u03d9\ud83c\udf82\u03bf\u200b\uf9bb",
    ],
    [
      "\u2460\udb40\udc18$5\ud840\udcab",
      [0, 24987, 3602, 21402, 49078, 21402, 7471, 711, 1629, 245, 49585, 21402, 9264, 4958, 2],
      "<s>\u2460\udb40\udc18$5\ud840\udcab</s>",
      "\u2460\udb40\udc18$5\ud840\udcab",
    ],
    [
      "\u6771\u4eacz\u0e53\u2460\ufb01 <grounding>",
      [
        0, 48414, 15389, 46499, 11582, 329, 42348, 9085, 24987, 3602, 21402, 43251, 11582, 10172, 1437, 51275,
        2,
      ],
      "<s>\u6771\u4eacz\u0e53\u2460\ufb01 <grounding></s>",
      "\u6771\u4eacz\u0e53\u2460\ufb01 ",
    ],
    ["c\u30d9</s>", [0, 438, 49742, 2, 2], "<s>c\u30d9</s></s>", "c\u30d9"],
    [
      "\uf908<OD>\ud83d\ude42 </phrase>\udb40\udc65\uf9b0\u0274",
      [
        0, 43251, 10470, 23133, 41552, 7111, 15698, 6569, 48985, 49703, 40726, 15698, 49078, 21402, 10172,
        8210, 43251, 18164, 7487, 35423, 20024, 2,
      ],
      "<s>\uf908<OD>\ud83d\ude42 </phrase>\udb40\udc65\uf9b0\u0274</s>",
      "\uf908<OD>\ud83d\ude42 </phrase>\udb40\udc65\uf9b0\u0274",
    ],
    [
      "=\uf91a\u0328\u21b9\u00dcn\u00efc\u00f6d\u00e9\u0130[CLS]\ud55c\uad6d\uc5b4</s>\ud83c\uddeb\ud83c\uddf7\u00df\u2026",
      [
        0, 5214, 43251, 10470, 15113, 44025, 11423, 49175, 9253, 3849, 48, 282, 29667, 438, 3671, 417, 1140,
        649, 7487, 10975, 7454, 104, 742, 48589, 48, 46873, 8906, 12410, 43998, 25448, 20024, 2, 6569, 6382,
        4958, 6569, 6382, 18400, 7804, 1174, 2,
      ],
      "<s>=\uf91a\u0328\u21b9\u00dcn\u00efc\u00f6d\u00e9\u0130[CLS]\ud55c\uad6d\uc5b4</s>\ud83c\uddeb\ud83c\uddf7\u00df\u2026</s>",
      "=\uf91a\u0328\u21b9\u00dcn\u00efc\u00f6d\u00e9\u0130[CLS]\ud55c\uad6d\uc5b4\ud83c\uddeb\ud83c\uddf7\u00df\u2026",
    ],
    [
      "\u21c1\u02cccat\u3046",
      [0, 24987, 6382, 10172, 43621, 14285, 8729, 48718, 2],
      "<s>\u21c1\u02cccat\u3046</s>",
      "\u21c1\u02cccat\u3046",
    ],
    ["\uff41##", [0, 43251, 10809, 10172, 48342, 2], "<s>\uff41##</s>", "\uff41##"],
    [
      "\ud840\udc01\udb40\udc18<loc_5>\u0001\uffe38\u200b\u032f\ufb3b\ud840\udca8<patch_index_0044>\ufb01the",
      [
        0, 49585, 21402, 7471, 10172, 49078, 21402, 7471, 711, 50274, 50109, 43251, 9470, 2469, 398, 13635,
        44025, 10965, 43251, 11582, 2023, 49585, 21402, 9264, 11423, 41552, 40353, 1215, 18480, 1215, 612,
        3305, 15698, 43251, 11582, 10172, 627, 2,
      ],
      "<s>\ud840\udc01\udb40\udc18<loc_5>\u0001\uffe38\u200b\u032f\ufb3b\ud840\udca8<patch_index_0044>\ufb01the</s>",
      "\ud840\udc01\udb40\udc18\u0001\uffe38\u200b\u032f\ufb3b\ud840\udca8<patch_index_0044>\ufb01the",
    ],
    [
      "+\u30ca\u036b\u216b\u038d\u000bx",
      [0, 2744, 49689, 48254, 4958, 24987, 5782, 4958, 41335, 8384, 50119, 1178, 2],
      "<s>+\u30ca\u036b\u216b\u038d\u000bx</s>",
      "+\u30ca\u036b\u216b\u038d\u000bx",
    ],
    [
      "\u30cfa\u0130aa <mask>\u2008\ufb01\u03ee\u0360\u0e31\u30d0",
      [
        0, 49732, 102, 649, 7487, 6621, 50264, 17, 23133, 43251, 11582, 10172, 45704, 2840, 48254, 21402,
        24107, 15389, 49441, 2,
      ],
      "<s>\u30cfa\u0130aa<mask>\u2008\ufb01\u03ee\u0360\u0e31\u30d0</s>",
      "\u30cfa\u0130aa\u2008\ufb01\u03ee\u0360\u0e31\u30d0",
    ],
    [
      "j\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\udb40\udc65\u2390\ufffd\ufa5d\u22f4\ufa24",
      [
        0, 267, 24107, 21402, 24107, 14292, 24107, 15375, 24107, 14292, 42348, 11936, 24107, 6800, 24107,
        7258, 49078, 21402, 10172, 8210, 24987, 12736, 16948, 21955, 43251, 15375, 46, 24987, 13859, 20024,
        43251, 11423, 10470, 2,
      ],
      "<s>j\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\udb40\udc65\u2390\ufffd\ufa5d\u22f4\ufa24</s>",
      "j\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\udb40\udc65\u2390\ufffd\ufa5d\u22f4\ufa24",
    ],
    [
      "<mask><loc_999>\u2122\u3069",
      [0, 50264, 51268, 13445, 46311, 15375, 2],
      "<s><mask><loc_999>\u2122\u3069</s>",
      "\u2122\u3069",
    ],
    [
      "\ud83d\ude42\u00df\ufb2f)\u032d$5The",
      [0, 6569, 48985, 7804, 43251, 11582, 10965, 43, 44025, 12410, 1629, 245, 133, 2],
      "<s>\ud83d\ude42\u00df\ufb2f)\u032d$5The</s>",
      "\ud83d\ude42\u00df\ufb2f)\u032d$5The",
    ],
    [
      "\u1112W\u2581<OD>\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
      [
        0, 1376, 11936, 10659, 771, 48584, 10172, 41552, 7111, 15698, 24107, 21402, 24107, 14292, 24107,
        15375, 24107, 14292, 42348, 11936, 24107, 6800, 24107, 7258, 24107, 21402, 24107, 14292, 24107, 15375,
        24107, 14292, 42348, 11936, 24107, 6800, 24107, 7258, 2,
      ],
      "<s>\u1112W\u2581<OD>\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22</s>",
      "\u1112W\u2581<OD>\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    ],
    [
      "  \\\u0e49\uff48\uff45\uff4c\uff4c\uff4f\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67<mask><unk>\u0645\u0631\u062d\u0628\u0627the",
      [
        0, 1437, 44128, 42348, 23171, 43251, 10809, 23133, 43251, 10809, 5782, 43251, 10809, 14285, 43251,
        10809, 14285, 43251, 10809, 9357, 31193, 11423, 17, 8384, 31193, 15375, 17, 8384, 31193, 6248, 50264,
        3, 33070, 29434, 21593, 12410, 41117, 29438, 627, 2,
      ],
      "<s>  \\\u0e49\uff48\uff45\uff4c\uff4c\uff4f\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67<mask><unk>\u0645\u0631\u062d\u0628\u0627the</s>",
      "  \\\u0e49\uff48\uff45\uff4c\uff4c\uff4f\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u0645\u0631\u062d\u0628\u0627the",
    ],
    [
      "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67Q\u00a0\u03c2\u032b\u0645\u0631\u062d\u0628\u0627\uff17<phrase>",
      [
        0, 31193, 11423, 17, 8384, 31193, 15375, 17, 8384, 31193, 6248, 1864, 50141, 47756, 44025, 4958,
        33070, 29434, 21593, 12410, 41117, 29438, 43251, 4394, 6800, 41552, 40726, 15698, 2,
      ],
      "<s>\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67Q\u00a0\u03c2\u032b\u0645\u0631\u062d\u0628\u0627\uff17<phrase></s>",
      "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67Q\u00a0\u03c2\u032b\u0645\u0631\u062d\u0628\u0627\uff17<phrase>",
    ],
    [
      "\u2047\u03a9\ufabc\u0e30\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67<patch_index_0044>\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67x<s> <mask>\udb40\udc65\u038d\u2057",
      [
        0, 40669, 6382, 41335, 15375, 43251, 10278, 4394, 24107, 7487, 31193, 11423, 17, 8384, 31193, 15375,
        17, 8384, 31193, 6248, 41552, 40353, 1215, 18480, 1215, 612, 3305, 15698, 31193, 11423, 17, 8384,
        31193, 15375, 17, 8384, 31193, 6248, 1178, 0, 50264, 49078, 21402, 10172, 8210, 41335, 8384, 40669,
        6800, 2,
      ],
      "<s>\u2047\u03a9\ufabc\u0e30\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67<patch_index_0044>\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67x<s><mask>\udb40\udc65\u038d\u2057</s>",
      "\u2047\u03a9\ufabc\u0e30\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67<patch_index_0044>\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67x\udb40\udc65\u038d\u2057",
    ],
    [
      "\n[SEP]\t<loc_5>\u0e14\u2005\u0085|##",
      [0, 50118, 10975, 3388, 510, 742, 50117, 50274, 24107, 10674, 17, 5782, 4056, 5782, 15483, 48342, 2],
      "<s>\n[SEP]\t<loc_5>\u0e14\u2005\u0085|##</s>",
      "\n[SEP]\t\u0e14\u2005\u0085|##",
    ],
    [
      "\u200b\u061f\u203a.[CLS]the",
      [0, 13635, 21593, 4333, 17, 3070, 31274, 7454, 104, 742, 627, 2],
      "<s>\u200b\u061f\u203a.[CLS]the</s>",
      "\u200b\u061f\u203a.[CLS]the",
    ],
    [
      "\u2026\u2065\u2581The\u0645\u0631\u062d\u0628\u0627\u0e3a\u24e1\u11fa<|endoftext|>\ud83d\ude42\u06a7\u2059",
      [
        0, 1174, 40669, 8210, 48584, 10172, 133, 33070, 29434, 21593, 12410, 41117, 29438, 24107, 3070, 24987,
        9085, 5543, 1376, 6382, 3070, 41552, 15483, 1397, 1116, 29015, 15483, 15698, 6569, 48985, 46164, 6248,
        40669, 27, 2,
      ],
      "<s>\u2026\u2065\u2581The\u0645\u0631\u062d\u0628\u0627\u0e3a\u24e1\u11fa<|endoftext|>\ud83d\ude42\u06a7\u2059</s>",
      "\u2026\u2065\u2581The\u0645\u0631\u062d\u0628\u0627\u0e3a\u24e1\u11fa<|endoftext|>\ud83d\ude42\u06a7\u2059",
    ],
    [
      "\ud83d\udd0d\ud83d\ude423.14!\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67",
      [
        0, 6569, 10674, 8384, 6569, 48985, 246, 4, 1570, 328, 31193, 11423, 17, 8384, 31193, 15375, 17, 8384,
        31193, 6248, 2,
      ],
      "<s>\ud83d\udd0d\ud83d\ude423.14!\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67</s>",
      "\ud83d\udd0d\ud83d\ude423.14!\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67",
    ],
    [
      "\udb40\udc65\ud83d\udd7f\ud83d\udc4d\ud83c\udffd\u00a0",
      [0, 49078, 21402, 10172, 8210, 6569, 15722, 9470, 31193, 8384, 6569, 9357, 10809, 50141, 2],
      "<s>\udb40\udc65\ud83d\udd7f\ud83d\udc4d\ud83c\udffd\u00a0</s>",
      "\udb40\udc65\ud83d\udd7f\ud83d\udc4d\ud83c\udffd\u00a0",
    ],
    [
      "<unk>\udb40\udc18\u0090\uffbc\u200b\uff9bdon't\ud83c\udfe2 <mask><object>",
      [
        0, 3, 49078, 21402, 7471, 711, 4056, 16948, 43251, 4726, 4394, 13635, 43251, 4726, 3726, 7254, 75,
        6569, 9357, 7258, 50264, 41552, 40412, 15698, 2,
      ],
      "<s><unk>\udb40\udc18\u0090\uffbc\u200b\uff9bdon't\ud83c\udfe2<mask><object></s>",
      "\udb40\udc18\u0090\uffbc\u200b\uff9bdon't\ud83c\udfe2<object>",
    ],
    ["i\u2581", [0, 118, 48584, 10172, 2], "<s>i\u2581</s>", "i\u2581"],
    ["p", [0, 642, 2], "<s>p</s>", "p"],
    ["\u2122", [0, 13445, 2], "<s>\u2122</s>", "\u2122"],
    [
      "\u2021:<loc_5>caf\u00e9\ufffd  ",
      [0, 17, 5543, 35, 50274, 438, 2001, 1140, 21955, 1437, 1437, 2],
      "<s>\u2021:<loc_5>caf\u00e9\ufffd  </s>",
      "\u2021:caf\u00e9\ufffd  ",
    ],
    [
      "<patch_index_0044>  [SEP]\r\n <grounding>\u031a\u0625\u2014\uff58\u0085x\u000b\u24e8",
      [
        0, 41552, 40353, 1215, 18480, 1215, 612, 3305, 15698, 1437, 646, 3388, 510, 742, 50121, 50118, 1437,
        51275, 44025, 15113, 21593, 8210, 578, 43251, 10809, 711, 4056, 5782, 1178, 50119, 24987, 9085, 11423,
        2,
      ],
      "<s><patch_index_0044>  [SEP]\r\n <grounding>\u031a\u0625\u2014\uff58\u0085x\u000b\u24e8</s>",
      "<patch_index_0044>  [SEP]\r\n \u031a\u0625\u2014\uff58\u0085x\u000b\u24e8",
    ],
  ],
};

for (const [arch, cases] of Object.entries(RUST)) {
  test(`${arch}: tricky strings encode and decode like the Rust tokenizers library`, async () => {
    const tok = await loadTokenizer(resolve(FIXTURES, arch));
    if (arch === "florence-2") tok.addTokens(FLORENCE_TOKENS, true);
    for (const [text, ids, decoded, decodedSkip] of cases) {
      assert.deepEqual(tok.encode(text), ids, `encode ${JSON.stringify(text)}`);
      assert.equal(
        tok.decode(ids, { cleanUpTokenizationSpaces: false }),
        decoded,
        `decode ${JSON.stringify(text)}`,
      );
      assert.equal(
        tok.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }),
        decodedSkip,
        `decode skip ${JSON.stringify(text)}`,
      );
    }
  });
}
