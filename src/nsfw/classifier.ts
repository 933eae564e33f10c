// An nsfwjs classifier on our engine: the bundled Keras model built as an ONNX graph
// (keras.ts) and run by onnxruntime-node. One image in, the five class probabilities out.
import type { RgbImage } from "../images/rgb-image.js";
import { createSession, float32Tensor, type Session } from "../graph/session.js";
import { nsfwClasses, readBundledModel, type NsfwClass, type NsfwVariant } from "./bundled.js";
import { kerasGraph } from "./keras.js";
import { nsfwPixels } from "./preprocess.js";

/** The five class probabilities (they sum to 1), keyed as PhotoPrism's wire format spells them. */
export type NsfwScores = Record<NsfwClass, number>;

export interface NsfwClassification {
  scores: NsfwScores;
  /** ms: resizing and scaling the pixels, and the network. */
  timings: { preprocess: number; run: number };
}

export class NsfwClassifier {
  private constructor(
    readonly variant: NsfwVariant,
    readonly inputSize: number,
    readonly packageVersion: string,
    private readonly session: Session,
  ) {}

  static async load(variant: NsfwVariant, options: { threads?: number } = {}): Promise<NsfwClassifier> {
    const bundled = readBundledModel(variant);
    const graph = kerasGraph(bundled.keras, bundled.weights, bundled.inputSize, `nsfwjs-${variant}`);
    const session = await createSession(graph, undefined, { threads: options.threads });
    return new NsfwClassifier(variant, bundled.inputSize, bundled.packageVersion, session);
  }

  async classify(image: RgbImage): Promise<NsfwClassification> {
    const t0 = performance.now();
    const size = this.inputSize;
    const pixels = float32Tensor(nsfwPixels(image, size), [1, size, size, 3]);
    const t1 = performance.now();
    const { probs } = await this.session.run({ pixels });
    const t2 = performance.now();
    const p = probs!.data as Float32Array;
    const scores = Object.fromEntries(nsfwClasses.map((c, i) => [c, p[i]!])) as NsfwScores;
    return { scores, timings: { preprocess: t1 - t0, run: t2 - t1 } };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
