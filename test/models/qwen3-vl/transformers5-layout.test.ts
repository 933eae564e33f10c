// The held-back twin's layout, made from the public fixture: the same model folder as transformers 5
// saves it (config.json with rope_parameters and a "qwen3_vl_vision" vision model_type,
// processor_config.json with nested processors, chat_template.jinja; no preprocessor_config.json,
// chat_template.json or tokenizer_config.json chat_template) gives the same prompt, ids, positions,
// pixel values and vision features.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readImageFile } from "../../../src/images/decode.js";
import { parseQwen3VLConfig } from "../../../src/models/qwen3-vl/config.js";
import { Qwen3VLProcessor } from "../../../src/models/qwen3-vl/processor.js";
import { Qwen3VLVisionTower } from "../../../src/models/qwen3-vl/vision.js";
import { maxAbsDiff } from "../../helpers/fixtures.js";
import { cases, readBin, transformers5Folder } from "./fixture.js";

const folder = transformers5Folder();
let processor: Qwen3VLProcessor;
let tower: Qwen3VLVisionTower;
before(async () => {
  const config = parseQwen3VLConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
  processor = await Qwen3VLProcessor.load(folder, config);
  tower = await Qwen3VLVisionTower.load(folder, config, { threads: 1 });
});
after(async () => {
  await tower.release();
  rmSync(folder, { recursive: true, force: true });
});

test("the folder is in the transformers 5 layout", () => {
  for (const f of ["preprocessor_config.json", "chat_template.json"])
    assert.ok(!existsSync(join(folder, f)), f);
  assert.equal(processor.chatTemplate.source, "chat_template.jinja");
  const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
  assert.ok(config.text_config.rope_parameters && !config.text_config.rope_scaling);
  assert.equal(config.vision_config.model_type, "qwen3_vl_vision");
});

for (const c of cases) {
  test(`transformers 5 layout, ${c.image} / ${c.prompt_name}: same inputs and vision outputs`, async () => {
    const out = processor.imagePrompt(await readImageFile(join(folder, c.image)), c.prompt_text);
    assert.equal(out.text, c.chat_template_output);
    assert.deepEqual([out.inputIds], c.input_ids);
    assert.deepEqual([out.mmTokenTypeIds], c.mm_token_type_ids);
    assert.deepEqual(out.rope.positionIds, c.mrope_position_ids);
    assert.deepEqual([[out.rope.ropeDeltas]], c.mrope_rope_deltas);
    const patches = out.images[0]!;
    assert.deepEqual([patches.gridThw], c.image_grid_thw);
    // Pixel values and vision outputs are stored once per image (with its first prompt).
    if (!c.vision_image_embeds) return;
    assert.ok(maxAbsDiff(patches.pixelValues, readBin(c.pixel_values.file)) <= 1e-4);
    const features = await tower.encode(patches);
    assert.ok(
      maxAbsDiff(features.imageEmbeds.data as Float32Array, readBin(c.vision_image_embeds.file)) <= 1e-3,
    );
    for (const [k, ref] of (c.vision_deepstack_features as any[]).entries()) {
      assert.ok(maxAbsDiff(features.deepstack[k]!.data as Float32Array, readBin(ref.file)) <= 1e-3);
    }
  });
}
