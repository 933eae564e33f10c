// Qwen2VLImageProcessor (transformers 5.12, torchvision backend) against the fixture's pixel values,
// smart_resize's rounding and bounds, the PIL backend against the fixture's PIL values, and the config
// layouts (preprocessor_config.json, processor_config.json's nested image_processor, min/max_pixels).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isSightlineError } from "../../../src/errors.js";
import { readImageFile } from "../../../src/images/decode.js";
import {
  Qwen2VLImageProcessor,
  parseQwen2VLImageProcessorConfig,
  readQwen2VLImageProcessorConfig,
  smartResize,
} from "../../../src/models/qwen3-vl/image-processor.js";
import { maxAbsDiff } from "../../helpers/fixtures.js";
import { FIXTURE, fixtureJson, readBin, transformers5ProcessorConfig, visionCases } from "./fixture.js";

const processor = Qwen2VLImageProcessor.load(FIXTURE);

for (const c of visionCases) {
  test(`${c.image}: pixel_values and image_grid_thw as the default (torchvision) processor`, async () => {
    const out = processor.preprocess(await readImageFile(join(FIXTURE, c.image)));
    assert.deepEqual([out.gridThw], c.image_grid_thw);
    assert.deepEqual(out.dims, c.pixel_values.shape);
    const diff = maxAbsDiff(out.pixelValues, readBin(c.pixel_values.file));
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
  });

  test(`${c.image}: the PIL backend matches the fixture's PIL values`, async () => {
    const pil = new Qwen2VLImageProcessor({ ...processor.config, backend: "pil" });
    const out = pil.preprocess(await readImageFile(join(FIXTURE, c.image)));
    const ref = c.slow_pil_image_processor;
    assert.deepEqual([out.gridThw], ref.image_grid_thw);
    const diff = maxAbsDiff(out.pixelValues, readBin(ref.pixel_values.file));
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
  });
}

test("smart_resize: Python's round-half-even, the max and min pixel branches, the aspect limit", () => {
  // 80 / 32 = 2.5 rounds to 2 (Python round), 112 / 32 = 3.5 to 4.
  assert.deepEqual(smartResize(80, 112, 32, 1, 1e9), { height: 64, width: 128 });
  assert.deepEqual(smartResize(480, 640, 32, 4096, 16384), { height: 96, width: 128 });
  assert.deepEqual(smartResize(45, 45, 32, 4096, 16384), { height: 64, width: 64 });
  // Floors to at least one factor when the image is very long.
  assert.deepEqual(smartResize(40, 7000, 32, 4096, 16384), { height: 32, width: 1664 });
  assert.deepEqual(smartResize(1, 1, 32, 4096, 16384), { height: 64, width: 64 });
  assert.throws(
    () => smartResize(10, 2010, 32, 4096, 16384),
    (e) => isSightlineError(e) && e.code === "IMAGE_INVALID",
  );
});

test("a per-call max_pixels caps the grid", async () => {
  const img = await readImageFile(join(FIXTURE, "image1.jpg"));
  assert.deepEqual(processor.gridThw(img.width, img.height, { maxPixels: 8192 }), [1, 4, 6]);
  const out = processor.preprocess(img, { maxPixels: 8192 });
  assert.deepEqual(out.dims, [24, 1536]);
});

test("min_pixels / max_pixels override size; HF defaults fill the rest", () => {
  const cfg = parseQwen2VLImageProcessorConfig({
    min_pixels: 100,
    max_pixels: 2000,
    size: { shortest_edge: 1, longest_edge: 2 },
  });
  assert.deepEqual([cfg.minPixels, cfg.maxPixels], [100, 2000]);
  const legacy = parseQwen2VLImageProcessorConfig({ size: { min_pixels: 3136, max_pixels: 12845056 } });
  assert.deepEqual([legacy.minPixels, legacy.maxPixels], [3136, 12845056]);
  const defaults = parseQwen2VLImageProcessorConfig({});
  assert.deepEqual(
    [
      defaults.minPixels,
      defaults.maxPixels,
      defaults.patchSize,
      defaults.temporalPatchSize,
      defaults.mergeSize,
    ],
    [3136, 1003520, 14, 2, 2],
  );
  assert.deepEqual(defaults.imageMean, [0.48145466, 0.4578275, 0.40821073]);
  assert.equal(defaults.backend, "torchvision");
  assert.equal(
    parseQwen2VLImageProcessorConfig({ image_processor_type: "Qwen2VLImageProcessorPil" }).backend,
    "pil",
  );
});

test("bad processor settings are MODEL_CONFIG_INVALID or MODEL_UNSUPPORTED_ARCH", () => {
  const bad: [Record<string, unknown>, string, string][] = [
    [{ size: { shortest_edge: 4096 } }, "MODEL_CONFIG_INVALID", "longest_edge"],
    [{ size: { shortest_edge: "4096", longest_edge: 16384 } }, "MODEL_CONFIG_INVALID", "shortest_edge"],
    [{ patch_size: 0 }, "MODEL_CONFIG_INVALID", "patch_size"],
    [{ image_mean: [0.5, 0.5] }, "MODEL_CONFIG_INVALID", "image_mean"],
    [{ image_std: [0.5, 0, 0.5] }, "MODEL_CONFIG_INVALID", "image_std"],
    [{ do_resize: "yes" }, "MODEL_CONFIG_INVALID", "do_resize"],
    [{ resample: 2 }, "MODEL_UNSUPPORTED_ARCH", "resample"],
  ];
  for (const [json, code, key] of bad) {
    assert.throws(
      () => parseQwen2VLImageProcessorConfig(json),
      (e) => isSightlineError(e) && e.code === code && e.message.includes(key),
      key,
    );
  }
});

test("preprocessor_config.json first, else processor_config.json's nested image_processor", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwen2vl-proc-"));
  try {
    writeFileSync(join(dir, "processor_config.json"), JSON.stringify(transformers5ProcessorConfig()));
    const nested = readQwen2VLImageProcessorConfig(dir);
    assert.deepEqual({ ...nested, processorClass: "" }, { ...processor.config, processorClass: "" });
    assert.equal(nested.processorClass, "Qwen2VLImageProcessor");
    writeFileSync(
      join(dir, "preprocessor_config.json"),
      JSON.stringify({
        ...fixtureJson("preprocessor_config.json"),
        size: { shortest_edge: 1, longest_edge: 2 },
      }),
    );
    assert.deepEqual(
      [readQwen2VLImageProcessorConfig(dir).minPixels, readQwen2VLImageProcessorConfig(dir).maxPixels],
      [1, 2],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
