// --quantize on Qwen3-VL: both of its graphs (the vision tower, int8; the text decoder step, MatMulNBits)
// are quantized into the cache and the model still captions. Quantized tokens are not float32 tokens, so
// this checks that quantizing took place and the answer is well-formed, not HF's exact tokens.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readImageFile } from "../../../src/images/decode.js";
import { loadModel } from "../../../src/models/index.js";
import { FIXTURE, cases } from "./fixture.js";

const cacheDir = mkdtempSync(join(tmpdir(), "sl-qwen3-vl-quantized-"));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

for (const mode of ["q8", "q4"] as const) {
  test(`${mode}: the vision tower and the text decoder are quantized; a prompt is answered`, async () => {
    const model = await loadModel(FIXTURE, { threads: 1, quantize: { mode, cacheDir } });
    try {
      const cached = readdirSync(cacheDir).filter((f) => f.endsWith(`.${mode}b32.safetensors`));
      assert.equal(cached.length, 2, `one quantized file per graph: ${cached.join(", ")}`);
      const c = cases[0];
      const prompt: number[] = c.input_ids[0] ?? c.input_ids;
      const r = await model.caption(await readImageFile(join(FIXTURE, c.image)), {
        prompt: c.prompt_text,
        maxNewTokens: 6,
      });
      assert.equal(r.tokenIds.length, prompt.length + 6);
      assert.deepEqual(r.tokenIds.slice(0, prompt.length), prompt, "the prompt as HF tokenises it");
    } finally {
      await model.dispose();
    }
  });
}
