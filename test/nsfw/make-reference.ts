// Writes test/nsfw/tfjs-reference.json: nsfwjs' own class probabilities (TensorFlow.js, CPU
// backend, the bundled MobileNetV2) for a few real photos, the ground truth nsfw.test.ts compares
// our ONNX graph with. TensorFlow.js' CPU backend takes seconds per image, so the test reads this
// file instead of running it. Regenerate after an nsfwjs upgrade:
//   node --import tsx test/nsfw/make-reference.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { load } from "nsfwjs";
import { readImageFile } from "../../src/images/decode.js";
import { readBundledModel } from "../../src/nsfw/bundled.js";

const referencePhotos = [
  "cameras/Canon_40D.jpg",
  "cameras/Fujifilm_FinePix_E500.jpg",
  "cameras/Nikon_D70.jpg",
  "mobile/jolla.jpg",
];

const imagesDir = fileURLToPath(new URL("../../../shared/images/", import.meta.url));
await tf.setBackend("cpu");
const model = await load("MobileNetV2");
const cases = [];
for (const photo of referencePhotos) {
  const image = await readImageFile(join(imagesDir, photo));
  const probs = tf.tidy(() =>
    (model.infer(tf.tensor3d(image.data, [image.height, image.width, 3], "int32")) as tf.Tensor).dataSync(),
  );
  cases.push({ photo, width: image.width, height: image.height, probs: Array.from(probs) });
}
writeFileSync(
  fileURLToPath(new URL("./tfjs-reference.json", import.meta.url)),
  JSON.stringify(
    {
      made_by: "nsfwjs MobileNetV2 on @tensorflow/tfjs " + tf.version.tfjs + " (cpu)",
      nsfwjs: readBundledModel("MobileNetV2").packageVersion,
      classes: ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"],
      cases,
    },
    null,
    2,
  ) + "\n",
);
