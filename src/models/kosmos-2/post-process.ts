// Kosmos2Processor.post_process_generation (transformers 4.40): the caption after `</image>`, and with
// cleanup the text without tags plus the grounded entities — phrase, character span in the clean text,
// boxes normalised from the <patch_index_XXXX> pairs. Spans count code points, as Python's str does.
import type { Entity } from "../types.js";

/** Characters Python's str.strip() removes (str.isspace); JavaScript's trim() differs (U+FEFF, U+001C–1F, U+0085). */
const PY_SPACE =
  "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`);

export const pyLstrip = (s: string): string => s.replace(LEADING_SPACE, "");
export const pyRstrip = (s: string): string => s.replace(TRAILING_SPACE, "");
export const pyStrip = (s: string): string => pyRstrip(pyLstrip(s));

/** Python len(): code points, not UTF-16 units. */
function pyLen(s: string): number {
  return Array.from(s).length;
}

/** HF remove_special_fields: drops every `<…>` (non-greedy, not across newlines). */
function removeSpecialFields(text: string): string {
  return text.replace(/<.*?>/g, "");
}

export type Box = [number, number, number, number];

/** HF patch_index_to_coordinate: the normalised (x1, y1, x2, y2) of a pair of grid cells. */
export function patchIndexToCoordinate(ulIdx: number, lrIdx: number, numPatchesPerSide: number): Box {
  const cell = 1.0 / numPatchesPerSide;
  const ulX = ulIdx % numPatchesPerSide;
  const ulY = Math.floor(ulIdx / numPatchesPerSide);
  const lrX = lrIdx % numPatchesPerSide;
  const lrY = Math.floor(lrIdx / numPatchesPerSide);
  // Same cell, or a row/column of cells: whole cells; otherwise cell centres.
  if (ulIdx === lrIdx || ulX === lrX || ulY === lrY) {
    return [ulX * cell, ulY * cell, lrX * cell + cell, lrY * cell + cell];
  }
  return [ulX * cell + cell / 2, ulY * cell + cell / 2, lrX * cell + cell / 2, lrY * cell + cell / 2];
}

/** HF coordinate_to_patch_index: normalised (x1, y1, x2, y2) → upper-left and lower-right cell indices. */
export function coordinateToPatchIndex(box: Box, numPatchesPerSide: number): [number, number] {
  const [x1, y1, x2, y2] = box;
  const ulX = Math.floor(x1 * numPatchesPerSide);
  const ulY = Math.floor(y1 * numPatchesPerSide);
  const lrX = Math.ceil(x2 * numPatchesPerSide - 1);
  const lrY = Math.ceil(y2 * numPatchesPerSide - 1);
  return [ulY * numPatchesPerSide + ulX, lrY * numPatchesPerSide + lrX];
}

interface RawEntity {
  name: string;
  /** UTF-16 offsets into the text. */
  start: number;
  end: number;
  pairs: [number, number][];
}

const ENTITY_PATTERN =
  /(?:(<phrase>([^<]+)<\/phrase>))?<object>((?:<patch_index_\d+><patch_index_\d+><\/delimiter_of_multi_objects\/>)*<patch_index_\d+><patch_index_\d+>)<\/object>/dgu;

/** HF extract_entities_with_patch_indices. */
function extractEntitiesWithPatchIndices(text: string): RawEntity[] {
  const entities: RawEntity[] = [];
  for (const m of text.matchAll(ENTITY_PATTERN)) {
    const phrase = m[1] ? m[2]! : null;
    // Without a phrase, the entity sits (empty) where <object> starts.
    const [start, end] = phrase !== null ? m.indices![2]! : [m.index!, m.index!];
    const pairs: [number, number][] = [];
    for (const pair of m[3]!.split("</delimiter_of_multi_objects/>")) {
      const x = /<patch_index_(\d+)>/.exec(pair);
      const y = /<patch_index_(\d+)>/.exec(pair.slice(1));
      if (x && y) pairs.push([parseInt(x[1]!, 10), parseInt(y[1]!, 10)]);
    }
    if (phrase !== null) {
      entities.push({ name: phrase, start, end, pairs });
    } else {
      for (const p of pairs)
        entities.push({ name: `<patch_index_${p[0]}><patch_index_${p[1]}>`, start, end, pairs: [p] });
    }
  }
  return entities;
}

export interface CleanCaption {
  caption: string;
  entities: Entity[];
}

/** HF clean_text_and_extract_entities_with_bboxes. */
export function cleanTextAndExtractEntities(text: string, numPatchesPerSide = 32): CleanCaption {
  const processed = removeSpecialFields(text);
  const leadingSpaces = pyLen(processed) - pyLen(pyLstrip(processed));
  const entities = extractEntitiesWithPatchIndices(text).map((e): Entity => {
    // adjust_entity_positions: offsets in the text without tags; then cleanup_spaces.
    const start = pyLen(removeSpecialFields(text.slice(0, e.start)));
    const end = pyLen(removeSpecialFields(text.slice(0, e.end)));
    const nameLeading = pyLen(e.name) - pyLen(pyLstrip(e.name));
    const nameTrailing = pyLen(e.name) - pyLen(pyRstrip(e.name));
    return {
      phrase: pyStrip(e.name),
      span: [start - leadingSpaces + nameLeading, end - leadingSpaces - nameTrailing],
      boxes: e.pairs.map(([a, b]) => patchIndexToCoordinate(a, b, numPatchesPerSide)),
    };
  });
  return { caption: pyStrip(processed), entities };
}

/** Kosmos2Processor.post_process_generation with cleanup_and_extract=False: the text after the last `</image>`. */
export function captionAfterImage(text: string): string {
  const parts = text.split("</image>");
  return parts[parts.length - 1]!;
}

/** Kosmos2Processor.post_process_generation(text) (cleanup_and_extract=True). */
export function postProcessGeneration(text: string): CleanCaption {
  return cleanTextAndExtractEntities(captionAfterImage(text));
}
