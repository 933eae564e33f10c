// The Qwen3-VL vision tower (ONNX graph on the bf16 checkpoint) against the fixture: image_embeds and
// every DeepStack feature of both images within 1e-3; the per-grid position tables.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { isSightlineError } from "../../../src/errors.js";
import { readImageFile } from "../../../src/images/decode.js";
import { parseQwen3VLConfig } from "../../../src/models/qwen3-vl/config.js";
import { Qwen2VLImageProcessor } from "../../../src/models/qwen3-vl/image-processor.js";
import { Qwen3VLVisionTower, visionGridInputs } from "../../../src/models/qwen3-vl/vision.js";
import { maxAbsDiff } from "../../helpers/fixtures.js";
import { FIXTURE, fixtureJson, readBin, visionCases } from "./fixture.js";

const config = parseQwen3VLConfig(fixtureJson("config.json"));
const processor = Qwen2VLImageProcessor.load(FIXTURE);
let tower: Qwen3VLVisionTower;
before(async () => {
  tower = await Qwen3VLVisionTower.load(FIXTURE, config, { threads: 1 });
});
after(() => tower.release());

for (const c of visionCases) {
  test(`${c.image}: image_embeds and DeepStack features within 1e-3`, async () => {
    const patches = processor.preprocess(await readImageFile(join(FIXTURE, c.image)));
    const out = await tower.encode(patches);
    assert.deepEqual(out.imageEmbeds.dims, c.vision_image_embeds.shape);
    const diff = maxAbsDiff(out.imageEmbeds.data as Float32Array, readBin(c.vision_image_embeds.file));
    assert.ok(diff <= 1e-3, `image_embeds max abs diff ${diff}`);
    assert.equal(out.deepstack.length, c.vision_deepstack_features.length);
    for (const [k, ref] of (c.vision_deepstack_features as any[]).entries()) {
      assert.deepEqual(out.deepstack[k]!.dims, ref.shape);
      const d = maxAbsDiff(out.deepstack[k]!.data as Float32Array, readBin(ref.file));
      assert.ok(d <= 1e-3, `deepstack ${k} max abs diff ${d}`);
    }
  });
}

test("a grid the size of the position table reads its rows with weight 1, in merge-window order", () => {
  const side = Math.sqrt(config.vision.numPositionEmbeddings); // 4
  const { posIndex, posWeight, rotCos, rotSin } = visionGridInputs(config.vision, [1, side, side]);
  const n = side * side;
  // Row r of the merge-window order is patch (y, x) = (2·bh + mh, 2·bw + mw).
  const order = [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15];
  assert.deepEqual(Array.from(posIndex.slice(0, n), Number), order);
  assert.deepEqual(Array.from(posWeight.slice(0, n)), new Array(n).fill(1));
  assert.deepEqual(Array.from(posWeight.slice(n)), new Array(3 * n).fill(0));
  // Patch (0, 0) has angle 0 everywhere.
  const headDim = config.vision.hiddenSize / config.vision.numHeads;
  assert.deepEqual(Array.from(rotCos.slice(0, headDim)), new Array(headDim).fill(1));
  assert.deepEqual(Array.from(rotSin.slice(0, headDim)), new Array(headDim).fill(0));
});

test("patches that do not fit the tower are refused", async () => {
  const patches = processor.preprocess(await readImageFile(join(FIXTURE, "image2.png")));
  await assert.rejects(
    tower.encode({ ...patches, gridThw: [1, 4, 2] }),
    (e) => isSightlineError(e) && e.code === "INVALID_ARGUMENT",
  );
});
