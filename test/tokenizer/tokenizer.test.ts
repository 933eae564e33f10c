// Tokenizers against what HF produced for the fixtures (Rust `tokenizers` encode/decode + transformers'
// clean-up), on the tokenizer.json path and on every fallback path (folder copied without tokenizer.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../helpers/temp-dir.js";
import { type TextTokenizer, buildTokenizerJson, loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { cleanUpTokenization } from "../../src/tokenizer/post-processors.js";
import { PrecompiledCharsmap } from "../../src/tokenizer/normalizers.js";
import type { TokenizerJson } from "../../src/tokenizer/tokenizer-json.js";
import { parseSentencePieceModel } from "../../src/tokenizer/sentencepiece.js";
import { readExpected } from "../helpers/fixtures.js";

const FIXTURES = resolve(process.cwd(), "../shared/fixtures");
const ARCHS = ["vit-gpt2", "blip", "kosmos-2", "florence-2"] as const;

interface TokenizerCheck {
  text: string;
  input_ids: number[];
  decoded_fast: string;
  decoded_skip_special_fast: string;
}

/** The 1024 tokens Florence2Processor.__init__ adds with tokenizer.add_special_tokens. */
function florenceProcessorTokens(): string[] {
  return [
    "<od>",
    "</od>",
    "<ocr>",
    "</ocr>",
    ...Array.from({ length: 1000 }, (_, i) => `<loc_${i}>`),
    ...["<cap>", "</cap>", "<ncap>", "</ncap>", "<dcap>", "</dcap>", "<grounding>", "</grounding>"],
    ...["<seg>", "</seg>", "<sep>", "<region_cap>", "</region_cap>", "<region_to_desciption>"],
    ...["</region_to_desciption>", "<proposal>", "</proposal>", "<poly>", "</poly>", "<and>"],
  ];
}

/** A temp copy of a fixture folder's tokenizer files without tokenizer.json. */
function copyWithoutTokenizerJson(arch: string): string {
  const dir = tempDir(`sightline-tok-${arch}-`);
  for (const f of readdirSync(join(FIXTURES, arch))) {
    if (f === "tokenizer.json" || /\.(bin|safetensors|png)$/.test(f)) continue;
    copyFileSync(join(FIXTURES, arch, f), join(dir, f));
  }
  return dir;
}

async function loadFor(arch: string, folder: string): Promise<TextTokenizer> {
  const tok = await loadTokenizer(folder);
  if (arch === "florence-2") tok.addTokens(florenceProcessorTokens(), true);
  return tok;
}

function checkTokenizer(arch: string, tok: TextTokenizer): void {
  const expected = readExpected(arch);
  for (const c of expected.tokenizer_checks as TokenizerCheck[]) {
    assert.deepEqual(tok.encode(c.text), c.input_ids, `encode ${JSON.stringify(c.text)}`);
    assert.equal(tok.decode(c.input_ids), c.decoded_fast, `decode ${JSON.stringify(c.text)}`);
    assert.equal(
      tok.decode(c.input_ids, { skipSpecialTokens: true }),
      c.decoded_skip_special_fast,
      `decode skip special ${JSON.stringify(c.text)}`,
    );
  }
}

for (const arch of ARCHS) {
  test(`${arch}: tokenizer.json matches tokenizer_checks`, async () => {
    const tok = await loadFor(arch, join(FIXTURES, arch));
    assert.equal(tok.source, "tokenizer.json");
    checkTokenizer(arch, tok);
  });

  test(`${arch}: fallback without tokenizer.json matches tokenizer_checks`, async () => {
    const dir = copyWithoutTokenizerJson(arch);
    const tok = await loadFor(arch, dir);
    assert.notEqual(tok.source, "tokenizer.json");
    checkTokenizer(arch, tok);
  });

  test(`${arch}: the in-memory build equals the fixture's tokenizer.json`, async () => {
    const dir = copyWithoutTokenizerJson(arch);
    const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
    const { json } = await buildTokenizerJson(dir, config);
    const reference = JSON.parse(
      readFileSync(join(FIXTURES, arch, "tokenizer.json"), "utf8"),
    ) as TokenizerJson;
    for (const key of ["normalizer", "pre_tokenizer", "post_processor", "decoder"] as const) {
      assert.deepEqual(json[key], reference[key], key);
    }
    const model = { ...json.model } as Record<string, unknown>;
    if (!("type" in reference.model)) delete model.type; // older files leave the model type implicit
    assert.deepEqual(model, reference.model);
    // Kosmos-2's 1035 extra tokens come from tokenizer_config.json on load; compare after loading.
    const loaded = (await loadTokenizer(dir)) as TextTokenizer & { addedTokens(): unknown[] };
    assert.deepEqual(
      loaded.addedTokens(),
      reference.added_tokens.map((t) => ({
        id: t.id,
        content: t.content,
        single_word: t.single_word,
        lstrip: t.lstrip,
        rstrip: t.rstrip,
        normalized: t.normalized,
        special: t.special,
      })),
    );
  });
}

test("florence-2: the processor's 1024 added tokens get the ids HF gives them", async () => {
  const expected = readExpected("florence-2");
  const info = expected.processor_added_tokens as {
    count: number;
    len_tokenizer: number;
    first: Record<string, number>;
    last: Record<string, number>;
  };
  for (const folder of [join(FIXTURES, "florence-2"), copyWithoutTokenizerJson("florence-2")]) {
    const tok = await loadTokenizer(folder);
    assert.equal(tok.tokenToId("<loc_0>"), undefined, "the repo's own files do not have them");
    assert.equal(tok.addTokens(florenceProcessorTokens(), true), info.count);
    assert.equal(tok.vocabSize, info.len_tokenizer);
    for (const [content, id] of Object.entries({ ...info.first, ...info.last })) {
      assert.equal(tok.tokenToId(content), id, content);
      assert.equal(tok.idToToken(id), content);
      assert.ok(tok.specialTokenIds.has(id), `${content} is special`);
      assert.deepEqual(tok.encode(content, { addSpecialTokens: false }), [id]);
    }
    // Adding them again changes nothing.
    assert.equal(tok.addTokens(florenceProcessorTokens(), true), 0);
    assert.equal(tok.vocabSize, info.len_tokenizer);
  }
});

test("florence-2: task prompts encode exactly", async () => {
  const expected = readExpected("florence-2");
  const fallback = copyWithoutTokenizerJson("florence-2");
  const prompts = expected.task_prompts as {
    task_input: string;
    constructed_prompt: string;
    input_ids: number[];
  }[];
  for (const folder of [join(FIXTURES, "florence-2"), fallback]) {
    const tok = await loadFor("florence-2", folder);
    for (const t of prompts) assert.deepEqual(tok.encode(t.constructed_prompt), t.input_ids, t.task_input);
  }
});

test("kosmos-2: special and grounding tokens map to HF's ids", async () => {
  const expected = readExpected("kosmos-2");
  for (const folder of [join(FIXTURES, "kosmos-2"), copyWithoutTokenizerJson("kosmos-2")]) {
    const tok = await loadTokenizer(folder);
    assert.equal(tok.vocabSize, 65037);
    for (const [content, id] of Object.entries(expected.special_token_ids as Record<string, number>)) {
      assert.equal(tok.tokenToId(content), id, content);
      assert.equal(tok.idToToken(id), content);
    }
    assert.equal(tok.tokenToId("<patch_index_0001>"), 64014);
    // Only the SentencePiece specials are special: grounding tokens survive skip_special_tokens.
    assert.deepEqual(
      [...tok.specialTokenIds].sort((a, b) => a - b),
      [0, 1, 2, 3, 64001],
    );
  }
});

test("kosmos-2: processor_checks' texts (after the processor inserts the box tokens) encode exactly", async () => {
  const expected = readExpected("kosmos-2");
  const checks = expected.processor_checks as { input_ids: number[] }[];
  const patch = (i: number) => `<patch_index_${String(i).padStart(4, "0")}>`;
  const object = (boxes: [number, number][]) =>
    `<object> ${boxes.map(([a, b]) => `${patch(a)} ${patch(b)}`).join(" </delimiter_of_multi_objects/> ")} </object>`;
  // The strings Kosmos2Processor._insert_patch_index_tokens builds (patch indices from processor_checks).
  const texts = [
    "<grounding> Two puppies sit in a field of grass.",
    `<grounding> <phrase> Two puppies </phrase>${object([[79, 1016]])} sit in a field of grass.`,
    `<grounding> <phrase> Two puppies </phrase>${object([
      [79, 1016],
      [135, 1008],
    ])} sit in a field of <phrase> grass </phrase>${object([[480, 1023]])}.`,
    `<grounding> <phrase> A box </phrase>${object([[195, 911]])} here.`,
  ];
  const tok = await loadTokenizer(join(FIXTURES, "kosmos-2"));
  texts.forEach((text, i) => assert.deepEqual(tok.encode(text), checks[i]!.input_ids, text));
});

test("kosmos-2: the SentencePiece tokenizer loads well under a second", async () => {
  const dir = copyWithoutTokenizerJson("kosmos-2");
  await loadTokenizer(dir); // warm up module code paths
  const t0 = performance.now();
  await loadTokenizer(dir);
  const fromModel = performance.now() - t0;
  const t1 = performance.now();
  await loadTokenizer(join(FIXTURES, "kosmos-2"));
  const fromJson = performance.now() - t1;
  assert.ok(fromModel < 1000, `sentencepiece load took ${fromModel.toFixed(0)} ms`);
  assert.ok(fromJson < 1000, `tokenizer.json load took ${fromJson.toFixed(0)} ms`);
});

test("SentencePiece model: pieces, scores and the nmt_nfkc charsmap", () => {
  const sp = parseSentencePieceModel(
    new Uint8Array(readFileSync(join(FIXTURES, "kosmos-2", "sentencepiece.bpe.model"))),
  );
  assert.equal(sp.pieces.length, 64000);
  assert.deepEqual(
    sp.pieces.slice(0, 3).map((p) => p.piece),
    ["<unk>", "<s>", "</s>"],
  );
  assert.equal(sp.trainer.modelType, 1);
  const charsmap = new PrecompiledCharsmap(sp.normalizer.precompiledCharsmap);
  assert.equal(charsmap.transform("ｈ"), "h"); // full-width → ASCII (NFKC)
  assert.equal(charsmap.transform("①"), "1");
  assert.equal(charsmap.transform("a"), null); // unchanged characters have no entry
});

test("decode edge cases: empty input, unknown ids, clean-up switch", async () => {
  const tok = await loadTokenizer(join(FIXTURES, "vit-gpt2"));
  assert.equal(tok.decode([]), "");
  assert.deepEqual(tok.encode(""), []);
  assert.equal(tok.decode([64, 999_999, 65]), "ab");
  const ids = tok.encode("it 's a dog .");
  assert.equal(tok.decode(ids), "it's a dog.");
  assert.equal(tok.decode(ids, { cleanUpTokenizationSpaces: false }), "it 's a dog .");
  assert.equal(cleanUpTokenization("a , b ' c do n't"), "a, b'c don't");
});

test("missing tokenizer files fail with TOKENIZER_MISSING", async () => {
  const dir = tempDir("sightline-tok-empty-");
  await assert.rejects(loadTokenizer(dir), (e: { code?: string }) => e.code === "TOKENIZER_MISSING");
});

test("kosmos-2: a legacy folder (added_tokens.json only) plus the processor's own add_tokens gives HF's ids", async () => {
  const dir = copyWithoutTokenizerJson("kosmos-2");
  const configPath = join(dir, "tokenizer_config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  delete config.added_tokens_decoder;
  writeFileSync(configPath, JSON.stringify(config));
  const tok = await loadTokenizer(dir);
  assert.equal(tok.vocabSize, 65037);
  assert.equal(tok.tokenToId("<patch_index_1023>"), 65036);
  // Kosmos2Processor.__init__ adds its tag and patch tokens as AddedToken(lstrip=True, normalized=False).
  const tags = ["</doc>", "<image>", "</image>", "</chunk>", "</line>", "<phrase>", "</phrase>", "<object>"];
  const more = ["</object>", "</delimiter_of_multi_objects/>", "<grounding>"];
  const patches = Array.from({ length: 1024 }, (_, i) => `<patch_index_${String(i).padStart(4, "0")}>`);
  const processorTokens = [...tags, ...more, ...patches].map((content) => ({
    content,
    lstrip: true,
    normalized: false,
  }));
  assert.equal(tok.addTokens(processorTokens), 1035);
  assert.equal(tok.vocabSize, 65037);
  checkTokenizer("kosmos-2", tok);
  // On a current folder the same call changes nothing.
  assert.equal((await loadTokenizer(join(FIXTURES, "kosmos-2"))).addTokens(processorTokens), 0);
});
