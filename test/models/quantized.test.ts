// --quantize q8|q4 on every architecture's fixture: the model loads and captions, and its accuracy is
// measured against Hugging Face's float32 results: the share of the fixture's generations it reproduces
// token for token, and the largest first-step logit difference (reported as test diagnostics; the
// figures are in docs/performance.md). Quantized weights are not float32 weights, so tokens may differ:
// the test bounds the logit error (8-bit must stay close, 4-bit must stay sane) instead of demanding
// exact tokens. The float32 row is the control: through the same path it reproduces every generation.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decoderRow, firstStepLogits } from "../../bench/lib/decoder-rows.js";
import type { QuantizeMode } from "../../src/graph/quantize.js";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import type { CaptionOptions } from "../../src/models/types.js";
import { fixtureBin, fixtureDir, maxAbsDiff, readExpected } from "../helpers/fixtures.js";

const cacheDir = mkdtempSync(join(tmpdir(), "sl-quantized-fixtures-"));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

/** The prompt a fixture case was generated with (BLIP/Kosmos-2 text, Florence-2 task). */
const promptOf = (c: Record<string, any>): string | undefined => c.task ?? c.prompt ?? undefined;

/** generate() kwargs a caption call can express; other runs (Florence-2's "plain" ones) are left out. */
function optionsFor(kwargs: Record<string, any>, name: string): CaptionOptions | undefined {
  const known = new Set([
    "max_new_tokens",
    "num_beams",
    "suppress_tokens",
    "max_length",
    "use_cache",
    "do_sample",
  ]);
  if (name.includes("plain") || Object.keys(kwargs).some((k) => !known.has(k))) return undefined;
  return {
    maxNewTokens: kwargs.max_new_tokens,
    numBeams: kwargs.num_beams,
    suppressTokens: kwargs.suppress_tokens,
  };
}

interface Accuracy {
  generations: number;
  identical: number;
  /** Largest |quantized − HF| first-step logit over the cases, and the largest |HF logit| beside it. */
  logitDiff: number;
  logitScale: number;
}

async function measure(arch: string, mode: QuantizeMode | undefined): Promise<Accuracy> {
  const folder = fixtureDir(arch);
  const expected = readExpected(arch);
  const model = await loadModel(folder, { threads: 1, quantize: mode && { mode, cacheDir } });
  const acc: Accuracy = { generations: 0, identical: 0, logitDiff: 0, logitScale: 0 };
  try {
    for (const c of expected.cases) {
      const image = await readImageFile(join(folder, c.image));
      const prompt = promptOf(c);
      if (c.first_step?.logits?.file) {
        const want = fixtureBin(arch, c.first_step.logits.file);
        const got = await firstStepLogits(await decoderRow(model, image, prompt));
        acc.logitDiff = Math.max(acc.logitDiff, maxAbsDiff(got, want));
        acc.logitScale = Math.max(acc.logitScale, ...want.filter(Number.isFinite).map(Math.abs));
      }
      for (const gen of c.generations) {
        const options = optionsFor(gen.kwargs, gen.name);
        if (!options) continue;
        const result = await model.caption(image, { ...options, prompt });
        assert.ok(result.tokenIds.length > 0);
        acc.generations++;
        if (JSON.stringify(result.tokenIds) === JSON.stringify(gen.sequences[0])) acc.identical++;
      }
    }
  } finally {
    await model.dispose();
  }
  return acc;
}

for (const arch of ["vit-gpt2", "blip", "kosmos-2", "florence-2"]) {
  test(`${arch}: float32, q8 and q4 caption every fixture case; accuracy against HF`, async (t) => {
    const results: Record<string, Accuracy> = {};
    for (const mode of [undefined, "q8", "q4"] as const) {
      const a = await measure(arch, mode);
      results[mode ?? "fp32"] = a;
      t.diagnostic(
        `${arch} ${mode ?? "fp32"}: ${a.identical}/${a.generations} generations token-identical, ` +
          `first-step logits max |diff| ${a.logitDiff.toExponential(2)} (largest |logit| ${a.logitScale.toFixed(2)})`,
      );
    }
    const { fp32, q8, q4 } = results;
    assert.ok(fp32.generations > 0);
    assert.equal(fp32.identical, fp32.generations, "float32 reproduces every generation");
    assert.ok(fp32.logitDiff <= 1e-3, `float32 logits within 1e-3, got ${fp32.logitDiff}`);
    // Sane bounds, not exactness. The fixtures' weights are scaled up (gain 3) so that errors grow layer by
    // layer, and encoders quantize their activations per tensor: 8-bit stays within 3/4 of the logits'
    // range here (Florence-2, the deepest, is the worst) and closer than 4-bit; on full-size checkpoints
    // the bench measures top-1 agreement.
    assert.ok(q8.logitDiff <= 0.75 * q8.logitScale, `q8 logit error ${q8.logitDiff} of ${q8.logitScale}`);
    assert.ok(Number.isFinite(q4.logitDiff), `q4 logits finite`);
    assert.ok(q8.logitDiff < q4.logitDiff, `q8 (${q8.logitDiff}) closer than q4 (${q4.logitDiff})`);
    assert.ok(q8.logitDiff > 0, "q8 really ran quantized");
  });
}
