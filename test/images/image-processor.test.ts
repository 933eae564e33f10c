// pixel_values of every fixture case (what HF 4.40 + PIL produced) from our decode + processor,
// and the preprocessor_config.json layouts / HF size rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  centerCropRgb,
  createImageProcessor,
  fixedOutputSize,
  loadImageProcessor,
  parseImageProcessorConfig,
  processedSize,
  resizeOutputSize,
} from "../../src/images/image-processor.js";
import { readImageFile } from "../../src/images/decode.js";
import { isSightlineError } from "../../src/errors.js";
import { maxAbsDiff, parsePythonJson, readFloat32 as readF32 } from "../helpers/fixtures.js";

const fixtures = fileURLToPath(new URL("../../../shared/fixtures/", import.meta.url));
const archs = ["vit-gpt2", "blip", "kosmos-2", "florence-2"];

interface PixelCase {
  image: string;
  pixel_values?: { file: string; shape: number[] };
}

async function pixelValuesOf(folder: string, imageFile: string, configOverride?: object) {
  let processor = loadImageProcessor(folder);
  if (configOverride) processor = createImageProcessor(parseImageProcessorConfig(configOverride));
  return processor.preprocess(await readImageFile(join(folder, imageFile)));
}

for (const arch of archs) {
  const folder = join(fixtures, arch);
  const expected = parsePythonJson(readFileSync(join(folder, "expected.json"), "utf8")) as {
    cases: PixelCase[];
  };
  for (const c of expected.cases) {
    if (!c.pixel_values) continue; // "pixel_values_same_as_case_above"
    const pv = c.pixel_values;
    test(`${arch} ${c.image}: pixel_values equal HF within 1e-4`, async () => {
      const { pixelValues, dims } = await pixelValuesOf(folder, c.image);
      assert.deepEqual(dims, pv.shape);
      const want = readF32(join(folder, pv.file));
      assert.equal(pixelValues.length, want.length);
      const d = maxAbsDiff(pixelValues, want);
      assert.ok(d <= 1e-4, `max abs diff ${d}`);
    });
  }
}

test("legacy and current preprocessor_config layouts give the same processor", () => {
  const legacyVit = parseImageProcessorConfig({
    do_normalize: true,
    do_resize: true,
    feature_extractor_type: "ViTFeatureExtractor",
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    resample: 2,
    size: 32,
  });
  const currentVit = parseImageProcessorConfig({
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: "ViTImageProcessor",
    image_std: [0.5, 0.5, 0.5],
    resample: 2,
    rescale_factor: 0.00392156862745098,
    size: { height: 32, width: 32 },
  });
  assert.deepEqual(legacyVit, currentVit);
  assert.equal(legacyVit.processorClass, "ViTImageProcessor");
  assert.deepEqual(fixedOutputSize(legacyVit), { height: 32, width: 32 });
  // BLIP reads an int size as a square too; CLIP as the shortest edge.
  const blip = parseImageProcessorConfig({ image_processor_type: "BlipImageProcessor", size: 384 });
  assert.deepEqual(blip.size, { kind: "exact", height: 384, width: 384 });
  assert.equal(blip.resample, 3);
  const clip = parseImageProcessorConfig({
    feature_extractor_type: "CLIPFeatureExtractor",
    size: 224,
    crop_size: 224,
  });
  assert.equal(clip.processorClass, "CLIPImageProcessor");
  assert.deepEqual(clip.size, { kind: "shortestEdge", shortestEdge: 224 });
  assert.deepEqual(clip.cropSize, { height: 224, width: 224 });
  assert.equal(clip.doCenterCrop, true);
});

test("fixture images give identical pixel_values through the other config layout", async () => {
  // vit-gpt2 ships the legacy layout, blip the current one; swap them as the hidden fixtures do.
  const vit = join(fixtures, "vit-gpt2");
  const vitCurrent = {
    image_processor_type: "ViTImageProcessor",
    do_resize: true,
    do_rescale: true,
    do_normalize: true,
    rescale_factor: 1 / 255,
    resample: 2,
    size: { height: 32, width: 32 },
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  };
  const blip = join(fixtures, "blip");
  const blipLegacy = {
    feature_extractor_type: "BlipFeatureExtractor",
    do_resize: true,
    do_normalize: true,
    resample: 3,
    size: 32,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
  };
  for (const [folder, cfg] of [
    [vit, vitCurrent],
    [blip, blipLegacy],
  ] as const) {
    for (const n of [1, 2]) {
      const { pixelValues } = await pixelValuesOf(folder, `image${n}.png`, cfg);
      assert.ok(maxAbsDiff(pixelValues, readF32(join(folder, `img${n}_pixel_values.bin`))) <= 1e-4);
    }
  }
});

test("CLIP shortest_edge resize keeps the aspect ratio (int truncation) and then center-crops", () => {
  assert.deepEqual(resizeOutputSize({ kind: "shortestEdge", shortestEdge: 224 }, 640, 480), {
    height: 224,
    width: 298,
  });
  assert.deepEqual(resizeOutputSize({ kind: "shortestEdge", shortestEdge: 224 }, 480, 640), {
    height: 298,
    width: 224,
  });
  assert.deepEqual(resizeOutputSize({ kind: "shortestEdge", shortestEdge: 32 }, 45, 45), {
    height: 32,
    width: 32,
  });
  const cfg = parseImageProcessorConfig({
    image_processor_type: "CLIPImageProcessor",
    size: { shortest_edge: 24 },
    crop_size: { height: 20, width: 16 },
  });
  assert.deepEqual(processedSize(cfg, 64, 48), { height: 20, width: 16 });
  const p = createImageProcessor(cfg);
  const img = { data: new Uint8Array(64 * 48 * 3).fill(128), width: 64, height: 48 };
  const out = p.preprocess(img);
  assert.deepEqual(out.dims, [1, 3, 20, 16]);
  // use_square_size (old Kosmos-2 configs) turns shortest_edge into a square.
  const k2 = parseImageProcessorConfig({
    image_processor_type: "CLIPImageProcessor",
    size: 224,
    use_square_size: true,
  });
  assert.deepEqual(k2.size, { kind: "exact", height: 224, width: 224 });
});

test("center crop matches HF: floor offsets, zero padding centred with ceil", () => {
  // 5x3 image with distinct pixels; crop 3x2 -> top (3-2)//2 = 0, left (5-3)//2 = 1
  const w = 5;
  const h = 3;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.fill(i + 1, i * 3, i * 3 + 3);
  const crop = centerCropRgb({ data, width: w, height: h }, { height: 2, width: 3 });
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => crop.data[i * 3]),
    [2, 3, 4, 7, 8, 9],
  );
  // crop larger than the image: 5x3 -> 4x6 (h x w): pad rows ceil(1/2)=1 top, cols ceil(1/2)=1 left
  const padded = centerCropRgb({ data, width: w, height: h }, { height: 4, width: 6 });
  assert.equal(padded.width, 6);
  assert.equal(padded.height, 4);
  const px = (x: number, y: number) => padded.data[(y * 6 + x) * 3];
  assert.equal(px(0, 0), 0);
  assert.equal(px(1, 1), 1);
  assert.equal(px(5, 3), 15);
  assert.equal(px(0, 1), 0);
});

test("rescale in float64 then float32, normalize in float32", () => {
  const cfg = parseImageProcessorConfig({
    image_processor_type: "BlipImageProcessor",
    size: { height: 1, width: 1 },
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
  });
  const out = createImageProcessor(cfg).preprocess({
    data: Uint8Array.from([0, 128, 255]),
    width: 1,
    height: 1,
  });
  const f = Math.fround;
  const expect = (v: number, m: number, s: number) => f(f(f(v * (1 / 255)) - f(m)) / f(s));
  assert.deepEqual(Array.from(out.pixelValues), [
    expect(0, 0.48145466, 0.26862954),
    expect(128, 0.4578275, 0.26130258),
    expect(255, 0.40821073, 0.27577711),
  ]);
});

test("bad configs are MODEL_CONFIG_INVALID", () => {
  const bad = [
    { image_processor_type: "ViTImageProcessor", size: { shortest_edge: 32 } },
    { image_processor_type: "BlipImageProcessor", size: "big" },
    { resample: 9 },
    { image_mean: [0.5, 0.5] },
    { image_std: [0, 1, 1] },
  ];
  for (const b of bad) {
    assert.throws(
      () => parseImageProcessorConfig(b),
      (e: unknown) => isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID",
      JSON.stringify(b),
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "sightline-ip-"));
  try {
    assert.throws(
      () => loadImageProcessor(dir),
      (e: unknown) => isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID",
    );
    writeFileSync(join(dir, "preprocessor_config.json"), "{not json");
    assert.throws(
      () => loadImageProcessor(dir),
      (e: unknown) => isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("explicit nulls behave like HF's None: flags off, resample BILINEAR, sizes/means default", () => {
  const cfg = parseImageProcessorConfig({
    image_processor_type: "CLIPImageProcessor",
    do_convert_rgb: null,
    do_center_crop: null,
    resample: null,
    image_mean: null,
    size: null,
  });
  assert.equal(cfg.doConvertRgb, false);
  assert.equal(cfg.doCenterCrop, false);
  assert.equal(cfg.resample, 2);
  assert.deepEqual(cfg.imageMean, [0.48145466, 0.4578275, 0.40821073]);
  assert.deepEqual(cfg.size, { kind: "shortestEdge", shortestEdge: 224 });
  // keys left out take the class defaults
  const blip = parseImageProcessorConfig({ image_processor_type: "BlipImageProcessor" });
  assert.equal(blip.doConvertRgb, true);
  assert.equal(blip.doRescale, true);
  assert.equal(blip.resample, 3);
});
