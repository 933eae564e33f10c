// The NSFW classifier as a queue worker's model (src/queue/worker.ts imports this module instead
// of src/models): the "folder" a worker is asked to load is the nsfwjs variant name, and a
// "caption" is one classification, its class scores in `result`.
import type { CaptionModel, LoadOptions } from "../models/types.js";
import { nsfwVariantNamed } from "./bundled.js";
import { NsfwClassifier } from "./classifier.js";

/** The arch a loaded NSFW worker reports. */
export const nsfwArch = "nsfwjs";

export async function loadModel(variant: string, options: LoadOptions = {}): Promise<CaptionModel> {
  const classifier = await NsfwClassifier.load(nsfwVariantNamed(variant), { threads: options.threads });
  return {
    arch: nsfwArch,
    folder: variant,
    async caption(image) {
      const { scores, timings } = await classifier.classify(image);
      return {
        text: "",
        tokenIds: [],
        timings: { preprocess: timings.preprocess, encode: timings.run, decode: 0 },
        result: scores,
      };
    },
    dispose: () => classifier.release(),
  };
}
