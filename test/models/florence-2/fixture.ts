// The Florence-2 fixture (../shared/fixtures/florence-2): expected.json (Python's json writes
// Infinity / -Infinity, read here as ±Infinity), the .bin arrays, and each case with its image's
// pixel values / image features resolved (later cases of an image say `…_same_as_case_above`).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fixtureBin, maxAbsDiff, readExpected, type BinEntry } from "../../helpers/fixtures.js";

export const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/florence-2/", import.meta.url));

export const expected: Record<string, any> = readExpected("florence-2");

export const config: Record<string, any> = JSON.parse(readFileSync(`${FIXTURE}config.json`, "utf8"));

/** A float32 .bin of the fixture. */
export const readBin = (file: string): Float32Array => fixtureBin("florence-2", file);

export { maxAbsDiff };

export interface FlorenceCase {
  image: string;
  task: string;
  inputIds: number[];
  pixelValues: BinEntry;
  imageFeatures: BinEntry;
  encoderLastHiddenState: BinEntry;
  firstStep: { decoder_input_ids: number[][]; logits: BinEntry; top5: { ids: number[]; values: number[] } };
  /** (width, height) given to post_process_generation. */
  postProcessImageSize: [number, number];
  generations: Record<string, any>[];
}

export const cases: FlorenceCase[] = (() => {
  const byImage = new Map<string, { pixelValues: BinEntry; imageFeatures: BinEntry }>();
  return (expected.cases as Record<string, any>[]).map((c) => {
    if (c.pixel_values)
      byImage.set(c.image, { pixelValues: c.pixel_values, imageFeatures: c.image_features });
    const tensors = byImage.get(c.image);
    if (!tensors) throw new Error(`case for ${c.image} without pixel values`);
    return {
      image: c.image,
      task: c.task,
      inputIds: c.input_ids[0],
      ...tensors,
      encoderLastHiddenState: c.encoder_last_hidden_state,
      firstStep: c.first_step,
      postProcessImageSize: c.post_process_image_size,
      generations: c.generations,
    };
  });
})();
