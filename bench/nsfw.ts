// NSFW classifier latency, the options side by side in one run on the same 720 px photo:
//   - ours: nsfwjs' bundled Keras model built as an ONNX graph (src/nsfw), onnxruntime-node;
//   - TensorFlow.js with its pure-JavaScript CPU backend (nsfwjs' own code path; the backend
//     that installs with @tensorflow/tfjs, no native download).
//
//   node --import tsx bench/nsfw.ts [--model MobileNetV2|InceptionV3] [--runs N] [--threads N] [--tfjs-runs N]
//
// Prints load time and the median / fastest per-image time (decode excluded, resize included).
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import { load as loadNsfwjs } from "nsfwjs";
import { nsfwVariantNamed } from "../src/nsfw/bundled.js";
import { NsfwClassifier } from "../src/nsfw/classifier.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "MobileNetV2" },
    runs: { type: "string", default: "20" },
    "tfjs-runs": { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    image: {
      type: "string",
      default: fileURLToPath(new URL("../../shared/images/mobile/jolla.jpg", import.meta.url)),
    },
  },
});
const variant = nsfwVariantNamed(values.model!);
const runs = Number(values.runs);
const { data, info } = await sharp(values.image)
  .rotate()
  .resize(720, 720, { fit: "inside" })
  .removeAlpha()
  .raw()
  .toBuffer({ resolveWithObject: true });
const image = { data: new Uint8Array(data), width: info.width, height: info.height };

async function time(label: string, n: number, load: () => Promise<(img: typeof image) => Promise<unknown>>) {
  const t0 = performance.now();
  const classify = await load();
  const loadMs = performance.now() - t0;
  await classify(image); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await classify(image);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1]!;
  console.log(
    `${label.padEnd(34)} load ${loadMs.toFixed(0).padStart(6)} ms   median ${median.toFixed(1).padStart(8)} ms   fastest ${times[0]!.toFixed(1).padStart(8)} ms   (${n} runs)`,
  );
}

console.log(
  `${variant}, ${info.width}x${info.height} input, ${values.threads} threads where the backend has threads`,
);
await time(`ours (ONNX graph, onnxruntime-node)`, runs, async () => {
  const c = await NsfwClassifier.load(variant, { threads: Number(values.threads) });
  return (img) => c.classify(img);
});
// TensorFlow.js' CPU backend takes seconds per image (minutes for InceptionV3): --tfjs-runs 0 skips it.
if (Number(values["tfjs-runs"]) > 0) await tf.setBackend("cpu");
if (Number(values["tfjs-runs"]) > 0)
  await time(`TensorFlow.js CPU backend (nsfwjs)`, Number(values["tfjs-runs"]), async () => {
    const m = await loadNsfwjs(variant);
    return async (img) => {
      const out = tf.tidy(
        () => m.infer(tf.tensor3d(img.data, [img.height, img.width, 3], "int32")) as tf.Tensor,
      );
      await out.data();
      out.dispose();
    };
  });
