// The Qwen3-VL text decoder and generation against the fixture: first-step logits within 1e-3 for
// both images, and every generation in expected.json (greedy, beam search, EOS suppressed, a custom
// EOS) token- and text-exact, through the captioner (the CLI contract's options) and, for the custom
// EOS runs the contract has no flag for, through the model's generate().
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readImageFile } from "../../../src/images/decode.js";
import { loadModel } from "../../../src/models/index.js";
import type { Qwen3VLCaptioner } from "../../../src/models/qwen3-vl/captioner.js";
import type { CaptionModel } from "../../../src/models/types.js";
import { maxAbsDiff } from "../../helpers/fixtures.js";
import { FIXTURE, cases, readBin } from "./fixture.js";

let model: CaptionModel & Qwen3VLCaptioner;
before(async () => {
  model = (await loadModel(FIXTURE, { threads: 1 })) as CaptionModel & Qwen3VLCaptioner;
});
after(() => model.dispose());

async function promptOf(c: any) {
  const image = await readImageFile(join(FIXTURE, c.image));
  const inputs = model.processor.imagePrompt(image, c.prompt_text);
  assert.deepEqual(inputs.inputIds, c.input_ids[0] ?? c.input_ids);
  return { inputs, source: await model.model.promptSource(inputs) };
}

for (const c of cases) {
  test(`${c.image} / ${c.prompt_name}: first-step logits within 1e-3`, async () => {
    const { inputs, source } = await promptOf(c);
    const out = await model.model.kvDecoder.step([inputs.inputIds], null, { sources: [source] });
    const { top20, logits } = c.first_step;
    top20.ids.forEach((id: number, i: number) => {
      const d = Math.abs(out.logits[id]! - top20.values[i]);
      assert.ok(d <= 1e-3, `logit of ${id}: ${out.logits[id]} vs ${top20.values[i]}`);
    });
    if (logits) {
      const ref = readBin(logits.file);
      assert.equal(out.logits.length, ref.length);
      const diff = maxAbsDiff(out.logits, ref);
      assert.ok(diff <= 1e-3, `max abs diff ${diff}`);
    }
  });
}

for (const c of cases) {
  for (const run of c.generations as any[]) {
    const kw = run.kwargs;
    test(`${c.image} / ${c.prompt_name} / ${run.name}: tokens and text as HF`, async () => {
      const image = await readImageFile(join(FIXTURE, c.image));
      let sequence: number[];
      let text: string;
      if (kw.eos_token_id === undefined) {
        const r = await model.caption(image, {
          prompt: c.prompt_text,
          maxNewTokens: kw.max_new_tokens,
          numBeams: kw.num_beams,
          suppressTokens: kw.suppress_tokens,
        });
        sequence = r.tokenIds;
        text = r.text;
      } else {
        const { inputs, source } = await promptOf(c);
        const cfg = model.model.generationConfig({
          max_new_tokens: kw.max_new_tokens,
          num_beams: kw.num_beams,
          eos_token_id: kw.eos_token_id,
        });
        sequence = (await model.model.generate(source, inputs.inputIds, cfg)).sequence;
        const generated = sequence.slice(inputs.inputIds.length);
        text = model.processor.tokenizer.decode(generated, { skipSpecialTokens: true }).trim();
      }
      assert.deepEqual(sequence, run.sequences[0]);
      assert.equal(text, run.text[0].trim());
    });
  }
}
