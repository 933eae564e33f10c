// Shared helpers for the BLIP fixture tests: paths, expected.json and the .bin arrays of
// ../shared/fixtures/blip, with each case's image tensors resolved (later cases of the same image
// say `…_same_as_case_above` instead of repeating them).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fixtureBin, maxAbsDiff, readExpected, type BinEntry } from "../../helpers/fixtures.js";

export const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/blip/", import.meta.url));

export const expected: Record<string, any> = readExpected("blip");

export const config: Record<string, any> = JSON.parse(readFileSync(`${FIXTURE}config.json`, "utf8"));

/** A float32 .bin of the fixture. */
export const readBin = (file: string): Float32Array => fixtureBin("blip", file);

export { maxAbsDiff };

/** A case with the pixel values / vision state of its image filled in. */
export interface BlipCase {
  image: string;
  prompt: string | null;
  processorInputIds: number[] | null;
  decoderInputIds: number[];
  pixelValues: BinEntry;
  visionLastHiddenState: BinEntry;
  firstStep: { logits: BinEntry; top5: { ids: number[]; values: number[] } };
  generations: Record<string, any>[];
}

export const cases: BlipCase[] = (() => {
  const byImage = new Map<string, { pixelValues: BinEntry; visionLastHiddenState: BinEntry }>();
  return (expected.cases as Record<string, any>[]).map((c) => {
    if (c.pixel_values)
      byImage.set(c.image, {
        pixelValues: c.pixel_values,
        visionLastHiddenState: c.vision_last_hidden_state,
      });
    const tensors = byImage.get(c.image);
    if (!tensors) throw new Error(`case for ${c.image} without pixel values`);
    return {
      image: c.image,
      prompt: c.prompt ?? null,
      processorInputIds: c.processor_input_ids ? c.processor_input_ids[0] : null,
      decoderInputIds: c.decoder_input_ids[0],
      ...tensors,
      firstStep: c.first_step,
      generations: c.generations,
    };
  });
})();

/** CaptionOptions for a generation run's `kwargs` (max_new_tokens, num_beams, suppress_tokens). */
export function captionOptions(kwargs: Record<string, any>): {
  maxNewTokens?: number;
  numBeams?: number;
  suppressTokens?: number[];
} {
  return {
    maxNewTokens: kwargs.max_new_tokens,
    numBeams: kwargs.num_beams,
    suppressTokens: kwargs.suppress_tokens,
  };
}
