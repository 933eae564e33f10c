// Florence2Processor.post_process_generation / Florence2PostProcesser (processing_florence2.py): the
// generated text (special tokens kept) → the task's structured answer, <loc_N> bins mapped back to
// pixel coordinates of the original image. Regular expressions are the reference's, adjusted where
// JavaScript differs from Python's `re` ('.' also stops at \r, '$' not before a final newline).
import { TASK_ANSWER_TYPES, type AnswerType } from "./tasks.js";

export type Box = number[];

export interface BoxesAnswer {
  bboxes: Box[];
  labels: string[];
}
export interface OcrAnswer {
  quad_boxes: number[][];
  labels: string[];
}
export interface PolygonsAnswer {
  polygons: number[][][];
  labels: string[];
}
export interface BoxesOrPolygonsAnswer {
  bboxes: Box[];
  bboxes_labels: string[];
  polygons: number[][][];
  polygons_labels: string[];
}
export type TaskAnswer = string | BoxesAnswer | OcrAnswer | PolygonsAnswer | BoxesOrPolygonsAnswer;

/** Quantisation bins of BoxQuantizer / CoordinatesQuantizer (NUM_BBOX_*_BINS, COORDINATES_*_BINS). */
const BINS = 1000;

const f32 = Math.fround;

/**
 * BoxQuantizer/CoordinatesQuantizer.dequantize ('floor' mode): the bin's centre, in float32 like the
 * reference's torch arithmetic ((bin + 0.5) as float32 times the float32 bin size).
 */
function dequantize(bin: number, size: number): number {
  return f32(f32(bin + 0.5) * f32(size / BINS));
}

function dequantizeBox(bins: number[], [w, h]: [number, number]): Box {
  return [dequantize(bins[0], w), dequantize(bins[1], h), dequantize(bins[2], w), dequantize(bins[3], h)];
}

/** (x, y) pairs → flat dequantised coordinates. */
function dequantizeCoordinates(bins: number[], [w, h]: [number, number]): number[] {
  return bins.map((b, i) => dequantize(b, i % 2 === 0 ? w : h));
}

// Python's str.isspace() set, for str.strip().
const PY_SPACE =
  "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
const pyStrip = (s: string): string => s.replace(STRIP_RE, "");
/** phrase.encode('ascii', errors='ignore').decode('ascii') */
const asciiOnly = (s: string): string =>
  Array.from(s)
    .filter((ch) => ch.charCodeAt(0) < 0x80)
    .join("");
const removeAll = (s: string, ...parts: string[]): string => parts.reduce((t, p) => t.split(p).join(""), s);

/** re.findall: group 1 when the pattern has a group, else the whole match. */
function findall(re: RegExp, text: string): string[] {
  return [...text.matchAll(re)].map((m) => (m.length > 1 ? m[1] : m[0]));
}

// '^\s*(.*?)(?=…)' with Python's '.' (anything but \n).
const PHRASE_RE = new RegExp(`^[${PY_SPACE}]*([^\\n]*?)(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_)`);
const POLYGON_PHRASE_RE = new RegExp(
  `^[${PY_SPACE}]*([^\\n]*?)(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_|<poly>)`,
);
const BOX_RE = /<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>/g;
const LOC_RE = /<loc_(\d+)>/g;

function boxesIn(text: string, size: [number, number]): Box[] {
  return [...text.matchAll(BOX_RE)].map((m) =>
    dequantizeBox(
      [1, 2, 3, 4].map((j) => Number(m[j])),
      size,
    ),
  );
}

/** The phrase-grounding blacklist (pronouns and generic words are not grounded). */
const PHRASE_GROUNDING_BLACKLIST = new Set([
  "it",
  "I",
  "me",
  "mine",
  "you",
  "your",
  "yours",
  "he",
  "him",
  "his",
  "she",
  "her",
  "hers",
  "they",
  "them",
  "their",
  "theirs",
  "one",
  "oneself",
  "we",
  "us",
  "our",
  "ours",
  "its",
  "myself",
  "yourself",
  "himself",
  "herself",
  "itself",
  "ourselves",
  "yourselves",
  "themselves",
  "this",
  "that",
  "these",
  "those",
  "who",
  "whom",
  "whose",
  "which",
  "what",
  "all",
  "another",
  "any",
  "anybody",
  "anyone",
  "anything",
  "each",
  "everybody",
  "everyone",
  "everything",
  "few",
  "many",
  "nobody",
  "none",
  "several",
  "some",
  "somebody",
  "someone",
  "something",
  "each other",
  "one another",
  "the image",
  "image",
  "images",
  "the",
  "a",
  "an",
  "a group",
  "other objects",
  "lots",
  "a set",
]);

interface Instance {
  label: string;
  bbox?: Box;
  polygons?: number[][];
}

/** parse_description_with_bboxes_from_text_and_spans (no scores: the text carries none). */
function parseDescriptionWithBboxes(
  text: string,
  size: [number, number],
  allowEmptyPhrase: boolean,
): Instance[] {
  const clean = removeAll(text, "<s>", "</s>", "<pad>");
  const pattern = allowEmptyPhrase ? /(?:<loc_\d+>){4,}/g : /([^<]+(?:<loc_\d+>){4,})/g;
  const out: Instance[] = [];
  for (const phraseText of findall(pattern, clean)) {
    // The reference's first replace('<ground>') is overwritten by this one.
    const stripped = phraseText.replace("<obj>", "");
    if (stripped === "" && !allowEmptyPhrase) continue;
    const phrase = PHRASE_RE.exec(stripped);
    if (phrase === null) continue;
    const boxes = boxesIn(phraseText, size);
    if (boxes.length === 0) continue;
    const label = asciiOnly(pyStrip(phrase[0]));
    for (const bbox of boxes) out.push({ label, bbox });
  }
  return out;
}

/** parse_phrase_grounding_from_text_and_spans: one instance per phrase, several boxes each. */
function parsePhraseGrounding(text: string, size: [number, number]): { label: string; bboxes: Box[] }[] {
  const clean = removeAll(text, "<s>", "</s>", "<pad>");
  const out: { label: string; bboxes: Box[] }[] = [];
  for (const phraseText of findall(/([^<]+(?:<loc_\d+>){4,})/g, clean)) {
    const stripped = phraseText.replace("<obj>", "");
    if (stripped === "") continue;
    const phrase = PHRASE_RE.exec(stripped);
    if (phrase === null) continue;
    const bboxes = boxesIn(phraseText, size);
    if (bboxes.length === 0) continue;
    const label = pyStrip(phrase[0]);
    if (PHRASE_GROUNDING_BLACKLIST.has(label)) continue;
    out.push({ label: asciiOnly(label), bboxes });
  }
  return out;
}

/** parse_ocr_from_text_and_spans (AREA_THRESHOLD 0: nothing filtered). Only <s> is removed, as in the reference. */
function parseOcr(text: string, size: [number, number]): OcrAnswer {
  const clean = text.split("<s>").join("");
  const re =
    /([^\n]+?)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>/g;
  const answer: OcrAnswer = { quad_boxes: [], labels: [] };
  for (const m of clean.matchAll(re)) {
    const bins = m.slice(2, 10).map(Number);
    answer.quad_boxes.push(dequantizeCoordinates(bins, size));
    answer.labels.push(m[1]);
  }
  return answer;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** parse_description_with_polygons_from_text_and_spans (<sep> between polygons, <poly>…</poly> instances). */
function parseDescriptionWithPolygons(
  text: string,
  size: [number, number],
  allowEmptyPhrase: boolean,
): Instance[] {
  const sep = escapeRe("<sep>");
  const start = escapeRe("<poly>");
  const end = escapeRe("</poly>");
  const clean = removeAll(text, "<s>", "</s>", "<pad>");
  const unit = `(?:<loc_\\d+>|${sep}|${start}|${end})`;
  const pattern = allowEmptyPhrase ? new RegExp(`${unit}{4,}`, "g") : new RegExp(`([^<]+${unit}{4,})`, "g");
  // Python's '$' (no MULTILINE) also matches before a final newline.
  const boxPattern = new RegExp(`((?:<loc_\\d+>)+)(?:${sep}|(?=\\n?$))`, "g");
  const instancePattern = new RegExp(`${start}([^\\n]*?)${end}`, "g");
  const out: Instance[] = [];
  for (const phraseText of findall(pattern, clean)) {
    const stripped = phraseText.replace(/^loc_\d+>/, "");
    if (stripped === "" && !allowEmptyPhrase) continue;
    const phrase = POLYGON_PHRASE_RE.exec(stripped);
    if (phrase === null) continue;
    const label = pyStrip(phrase[0]);
    const parts =
      phraseText.includes("<poly>") && phraseText.includes("</poly>")
        ? [...phraseText.matchAll(instancePattern)].map((m) => m[1])
        : [phraseText];
    for (const part of parts) {
      const polygonsParsed = [...part.matchAll(boxPattern)];
      if (polygonsParsed.length === 0) continue;
      const polygons = polygonsParsed.map((p) => {
        let bins = [...p[1].matchAll(LOC_RE)].map((m) => Number(m[1]));
        // An unpaired last coordinate is dropped.
        if (bins.length % 2 === 1) bins = bins.slice(0, -1);
        return dequantizeCoordinates(bins, size);
      });
      out.push({ label, polygons });
    }
  }
  return out;
}

/** The answer type of `task` (pure text for tasks the reference does not know). */
export function answerTypeOf(task: string): AnswerType {
  return TASK_ANSWER_TYPES[task] ?? "pure_text";
}

/**
 * post_process_generation(text, task, image_size=(width, height)) → {task: answer}. `text` is the
 * decoded generation with special tokens kept (skip_special_tokens=False).
 */
export function postProcessGeneration(
  text: string,
  task: string,
  imageSize: [number, number],
): Record<string, TaskAnswer> {
  return { [task]: parseAnswer(text, answerTypeOf(task), imageSize) };
}

export function parseAnswer(text: string, type: AnswerType, size: [number, number]): TaskAnswer {
  switch (type) {
    case "pure_text":
      return removeAll(text, "<s>", "</s>");
    case "description_with_bboxes":
    case "bboxes": {
      const instances = parseDescriptionWithBboxes(text, size, type === "bboxes");
      return { bboxes: instances.map((i) => i.bbox!), labels: instances.map((i) => i.label) };
    }
    case "ocr":
      return parseOcr(text, size);
    case "phrase_grounding": {
      const answer: BoxesAnswer = { bboxes: [], labels: [] };
      for (const p of parsePhraseGrounding(text, size)) {
        for (const b of p.bboxes) {
          answer.bboxes.push(b);
          answer.labels.push(p.label);
        }
      }
      return answer;
    }
    case "polygons": {
      const instances = parseDescriptionWithPolygons(text, size, true);
      return { polygons: instances.map((i) => i.polygons!), labels: instances.map((i) => i.label) };
    }
    case "description_with_bboxes_or_polygons": {
      const answer: BoxesOrPolygonsAnswer = {
        bboxes: [],
        bboxes_labels: [],
        polygons: [],
        polygons_labels: [],
      };
      // Either polygons or boxes, never both, decided by the whole text.
      const instances = text.includes("<poly>")
        ? parseDescriptionWithPolygons(text, size, false)
        : parseDescriptionWithBboxes(text, size, false);
      for (const i of instances) {
        if (i.polygons) {
          answer.polygons.push(i.polygons);
          answer.polygons_labels.push(i.label);
        } else {
          answer.bboxes.push(i.bbox!);
          answer.bboxes_labels.push(i.label);
        }
      }
      return answer;
    }
  }
}
