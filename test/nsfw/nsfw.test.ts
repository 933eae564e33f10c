// The nsfwjs classifiers on our engine (src/nsfw): the ONNX graph built from the package's Keras
// topology and quantised weights gives nsfwjs' own answer (TensorFlow.js, CPU backend, the same
// weights from the same package: tfjs-reference.json, made by make-reference.ts) on real photos; the input pipeline is nsfwjs' (÷255, bilinear with
// aligned corners); scores are deterministic; and on the 52 real safe-for-work photos of
// ../shared/images the model calls every decodable one safe at PhotoPrism's default threshold.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { isSightlineError } from "../../src/errors.js";
import { readImageFile } from "../../src/images/decode.js";
import type { RgbImage } from "../../src/images/rgb-image.js";
import { nsfwClasses, readBundledModel } from "../../src/nsfw/bundled.js";
import { NsfwClassifier } from "../../src/nsfw/classifier.js";
import { nsfwPixels } from "../../src/nsfw/preprocess.js";
import { defaultNsfwThreshold, nsfwVerdict } from "../../src/nsfw/verdict.js";

const imagesDir = fileURLToPath(new URL("../../../shared/images/", import.meta.url));

function photos(dir = imagesDir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? photos(path) : name.endsWith(".md") ? [] : [path];
    });
}

let classifier: NsfwClassifier;

before(async () => {
  classifier = await NsfwClassifier.load("MobileNetV2", { threads: 2 });
  await tf.setBackend("cpu");
});

test("the bundled weights: dequantised, every tensor the topology names, a 224 px input", () => {
  const model = readBundledModel("MobileNetV2");
  assert.equal(model.inputSize, 224);
  assert.equal(model.weights.size, 266);
  const dense = model.weights.get("dense_3/kernel")!;
  assert.deepEqual(dense.shape, [128, nsfwClasses.length]);
  assert.ok(dense.data.every(Number.isFinite));
});

test("preprocessing is tf.image.resizeBilinear(alignCorners) of the pixels ÷ 255", () => {
  const width = 37;
  const height = 23;
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 73 + 11) % 256);
  const ours = nsfwPixels({ data, width, height }, 16);
  const theirs = tf.tidy(() =>
    tf.image
      .resizeBilinear(
        tf.tensor3d(data, [height, width, 3], "int32").toFloat().div(255) as tf.Tensor3D,
        [16, 16],
        true,
      )
      .dataSync(),
  );
  assert.equal(ours.length, theirs.length);
  let diff = 0;
  for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
  assert.ok(diff < 1e-6, `max diff ${diff}`);
});

test("same class probabilities as nsfwjs on TensorFlow.js (1e-4) on real photos", async () => {
  // nsfwjs' own answers (TensorFlow.js CPU backend, seconds per image): test/nsfw/make-reference.ts.
  const reference = JSON.parse(readFileSync(new URL("./tfjs-reference.json", import.meta.url), "utf8")) as {
    nsfwjs: string;
    cases: { photo: string; width: number; height: number; probs: number[] }[];
  };
  assert.equal(reference.nsfwjs, classifier.packageVersion, "made from the installed nsfwjs");
  for (const c of reference.cases) {
    const image = await readImageFile(join(imagesDir, c.photo));
    assert.deepEqual([image.width, image.height], [c.width, c.height], c.photo);
    const { scores } = await classifier.classify(image);
    nsfwClasses.forEach((k, i) =>
      assert.ok(Math.abs(scores[k] - c.probs[i]!) < 1e-4, `${c.photo} ${k}: ${scores[k]} vs ${c.probs[i]}`),
    );
  }
});

test("scores are deterministic: the same image twice, and in a new session, give the same numbers", async () => {
  const image = await readImageFile(join(imagesDir, "cameras/Nikon_D70.jpg"));
  const a = await classifier.classify(image);
  const b = await classifier.classify(image);
  assert.deepEqual(a.scores, b.scores);
  const other = await NsfwClassifier.load("MobileNetV2", { threads: 1 });
  try {
    const c = await other.classify(image);
    for (const k of nsfwClasses) assert.ok(Math.abs(c.scores[k] - a.scores[k]) < 1e-6, k);
  } finally {
    await other.release();
  }
});

test("the 52 real photos: every one that decodes is safe at PhotoPrism's 0.75; HEVC HEIC is refused clearly", async () => {
  const files = photos();
  assert.equal(files.length, 52);
  let safe = 0;
  let decoded = 0;
  const refused: string[] = [];
  for (const path of files) {
    let image: RgbImage;
    try {
      image = await readImageFile(path);
    } catch (e) {
      assert.ok(isSightlineError(e) && e.code === "IMAGE_UNSUPPORTED", `${path}: ${e}`);
      refused.push(path);
      continue;
    }
    decoded++;
    const { scores } = await classifier.classify(image);
    const sum = nsfwClasses.reduce((s, c) => s + scores[c], 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `${path}: probabilities sum to ${sum}`);
    const verdict = nsfwVerdict(scores, defaultNsfwThreshold);
    assert.notEqual(verdict.status, "unavailable");
    if (verdict.status === "safe") safe++;
  }
  // Only HEVC-coded HEIF (no decoder for it in this build) may be refused.
  for (const r of refused) assert.match(r, /\/heic\//);
  assert.equal(decoded + refused.length, 52);
  assert.equal(safe, decoded, `${safe} of ${decoded} called safe`);
});

test("PhotoPrism's decision: unsafe at or above the threshold on max(Porn, Sexy, Hentai); Neutral does not veto", () => {
  const scores = { Drawing: 0, Hentai: 0.1, Neutral: 0.15, Porn: 0.75, Sexy: 0 };
  assert.equal(nsfwVerdict(scores, 0.75).status, "unsafe");
  assert.equal(nsfwVerdict(scores, 0.76).status, "safe");
  assert.equal(nsfwVerdict(scores).score, 0.75);
  assert.equal(nsfwVerdict({ ...scores, Porn: Number.NaN }).status, "unavailable");
});
