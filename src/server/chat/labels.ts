// Labels (PhotoPrism's `labels`, and the JSON that Ollama `format: "json"` / OpenAI JSON-schema
// requests get) made from what the captioning models produce:
//   - Florence-2 PromptGen `<GENERATE_TAGS>`: comma-separated tags, most salient first;
//   - Florence-2 `<OD>` (and `<DENSE_REGION_CAPTION>`, `<OPEN_VOCABULARY_DETECTION>`): box labels;
//   - Kosmos-2: its grounded entities (phrase + boxes);
//   - anything else (BLIP, ViT-GPT2, a caption task, Kosmos-2 without entities): the caption's nouns.
// None of these models gives a calibrated score, so confidence and topicality are heuristics from
// rank, box area and how the label was found (documented in docs/api.md, "Labels"). Lists from the
// 1–3 images PhotoPrism sends are merged into one: de-duplicated by name, highest values kept.
import type { Entity } from "../../models/types.js";

export interface Label {
  /** Title-Case English name ("Cat", "Red Car"). */
  name: string;
  /** 0..1 */
  confidence: number;
  /** 0..1: how central the label is to the image. */
  topicality: number;
  /** PhotoPrism's NSFW label fields, when the request's schema asks for them (chat/nsfw.ts). */
  nsfw?: boolean;
  nsfw_confidence?: number;
}

/** Where labels come from for one image: the caption output of one model run. */
export interface LabelSource {
  /** Florence-2 task that ran (undefined for other models). */
  task?: string;
  text: string;
  /** Florence-2 post-processed result ({[task]: value}). */
  result?: unknown;
  entities?: Entity[];
  image: { width: number; height: number };
}

/** Tasks whose text is a comma-separated tag list. */
export const tagTasks = new Set(["<GENERATE_TAGS>"]);
/** Tasks whose result is {bboxes, labels}. */
export const boxTasks = new Set(["<OD>", "<DENSE_REGION_CAPTION>", "<OPEN_VOCABULARY_DETECTION>"]);

/** Labels PhotoPrism would drop anyway (its default threshold is 20 %). */
export const minConfidence = 0.2;
/** At most this many labels per answer, most confident first. */
export const maxLabels = 20;

const round = (x: number) => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;

const acronym = /^[A-Z0-9]{2,4}$/;

/** "red  car" → "Red Car"; "t-shirt" → "T-Shirt"; short acronyms ("TV") stay. */
export function titleCase(text: string): string {
  return text
    .split(" ")
    .map((word) =>
      word
        .split("-")
        .map((part) =>
          acronym.test(part) ? part : part.charAt(0).toUpperCase() + part.slice(1).toLowerCase(),
        )
        .join("-"),
    )
    .join(" ");
}

const determiners =
  /^(a|an|the|some|two|three|four|several|many|his|her|their|its|my|our|your|this|that|these|those)\s+/i;

/** Plurals that are names of one thing. */
const pluraliaTantum = new Set(
  "jeans pants trousers shorts glasses sunglasses scissors clothes news species series stairs headphones binoculars indoors outdoors".split(
    " ",
  ),
);

/** "dogs" → "dog", "puppies" → "puppy", "boxes" → "box"; PhotoPrism's vocabulary is singular. */
export function singular(word: string): string {
  const w = word.toLowerCase();
  if (w.length < 4 || pluraliaTantum.has(w) || /(ss|us|is)$/.test(w)) return word;
  if (w === "people") return word.slice(0, 1) + "erson";
  if (w.endsWith("ies")) return word.slice(0, -3) + "y";
  if (/(ches|shes|sses|xes)$/.test(w)) return word.slice(0, -2);
  if (w.endsWith("s")) return word.slice(0, -1);
  return word;
}

/** A raw tag or phrase → a label name, or undefined when it does not look like one. */
export function labelName(raw: string): string | undefined {
  let s = raw
    .replace(/[_\s]+/g, " ")
    .replace(/^[\s"'`*.:;!?()[\]{}#-]+|[\s"'`*.:;!?()[\]{}#-]+$/g, "")
    .trim();
  s = s.replace(determiners, "").trim();
  if (!/\p{L}/u.test(s)) return undefined;
  // A label is a word or a short phrase, not a sentence.
  const words = s.split(" ");
  if (words.length > 4 || s.length > 48) return undefined;
  // The head noun (last word) in the singular: "red cars" → "Red Car".
  words[words.length - 1] = singular(words[words.length - 1]!);
  return titleCase(words.join(" "));
}

/** Words that are never labels when nouns are taken from a caption. */
const captionStopwords = new Set(
  (
    "a an the and or but of in on at to for with without from by into onto over under near next " +
    "behind above below beside between through across around up down out off top front back side " +
    "is are was were be been being has have had do does did it its this that these those there here " +
    "he she they them his her their we you i me my our your who which what where while as " +
    "very some two three four several many other one another each all both few more most " +
    "image picture photo photograph view close shot scene background foreground closeup " +
    "black white red green blue yellow orange purple pink brown gray grey dark light bright " +
    "large small big little tall long short old young new full empty"
  ).split(" "),
);

/** Words after which an -ing or -ly word is a noun ("a building", "the butterfly"). */
const nounMarkers = new Set("a an the this that his her their its my our your".split(" "));

/**
 * Noun-ish words of a caption, in order, singular, no duplicates: no stopwords, and -ing/-ly words
 * only right after an article or possessive ("a man riding" drops "riding", "a building" keeps it).
 */
export function captionNouns(caption: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  let previous = "";
  for (const raw of caption.toLowerCase().split(/[^\p{L}'-]+/u)) {
    const w = raw.replace(/^['-]+|['-]+$/g, "").replace(/'s$/, "");
    const after = previous;
    previous = w;
    if (w.length < 3 || captionStopwords.has(w)) continue;
    if (/(ing|ly)$/.test(w) && !nounMarkers.has(after)) continue;
    const noun = singular(w);
    if (seen.has(noun)) continue;
    seen.add(noun);
    out.push(noun);
  }
  return out;
}

function fromTags(text: string): Label[] {
  const names = text
    .split(/[,\n]/)
    .map(labelName)
    .filter((n): n is string => n !== undefined);
  // PromptGen lists the most salient tags first.
  return names.map((name, i) => ({
    name,
    confidence: round(0.9 - (0.5 * i) / Math.max(1, names.length)),
    topicality: round(0.8 - (0.6 * i) / Math.max(1, names.length)),
  }));
}

interface BoxResult {
  bboxes?: number[][];
  labels?: string[];
  bboxes_labels?: string[];
}

function fromBoxes(result: BoxResult, image: { width: number; height: number }): Label[] {
  const labels = result.labels ?? result.bboxes_labels ?? [];
  const boxes = result.bboxes ?? [];
  const area = Math.max(1, image.width * image.height);
  const byName = new Map<string, { count: number; area: number }>();
  labels.forEach((raw, i) => {
    const name = labelName(raw);
    if (!name) return;
    const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = boxes[i] ?? [];
    const a = (Math.max(0, x1 - x0) * Math.max(0, y1 - y0)) / area;
    const seen = byName.get(name) ?? { count: 0, area: 0 };
    byName.set(name, { count: seen.count + 1, area: seen.area + a });
  });
  // A detected object is fairly certain; several instances more so. Topicality: share of the image covered.
  return [...byName].map(([name, v]) => ({
    name,
    confidence: round(Math.min(0.95, 0.7 + 0.05 * (v.count - 1))),
    topicality: round(Math.max(0.1, v.area)),
  }));
}

function fromEntities(entities: Entity[]): Label[] {
  const out: Label[] = [];
  for (const e of entities) {
    const name = labelName(e.phrase);
    if (!name) continue;
    // Kosmos-2 boxes are normalised to 0..1.
    const area = e.boxes.reduce((s, [x0, y0, x1, y1]) => s + Math.max(0, x1 - x0) * Math.max(0, y1 - y0), 0);
    out.push({ name, confidence: e.boxes.length > 0 ? 0.8 : 0.6, topicality: round(Math.max(0.1, area)) });
  }
  return out;
}

function fromCaption(text: string): Label[] {
  return captionNouns(text)
    .map((w) => labelName(w))
    .filter((n): n is string => n !== undefined)
    .map((name, i) => ({ name, confidence: 0.6, topicality: round(Math.max(0.2, 0.8 - 0.1 * i)) }));
}

/** The labels of one image. */
export function labelsOf(source: LabelSource): Label[] {
  const task = source.task;
  if (task && tagTasks.has(task)) return fromTags(source.text);
  if (task && boxTasks.has(task)) {
    const value =
      source.result && typeof source.result === "object"
        ? (source.result as Record<string, unknown>)[task]
        : undefined;
    if (value && typeof value === "object") return fromBoxes(value as BoxResult, source.image);
    return [];
  }
  if (source.entities && source.entities.length > 0) {
    const labels = fromEntities(source.entities);
    if (labels.length > 0) return labels;
  }
  return fromCaption(source.text);
}

/** One list for several images: one entry per name (case-insensitive), the highest values kept. */
export function mergeLabels(lists: Label[][]): Label[] {
  const byKey = new Map<string, Label>();
  for (const list of lists) {
    for (const label of list) {
      const key = label.name.toLowerCase();
      const seen = byKey.get(key);
      if (!seen) byKey.set(key, { ...label });
      else {
        seen.confidence = Math.max(seen.confidence, label.confidence);
        seen.topicality = Math.max(seen.topicality, label.topicality);
      }
    }
  }
  return [...byKey.values()]
    .filter((l) => l.confidence >= minConfidence)
    .sort((a, b) => b.confidence - a.confidence || b.topicality - a.topicality)
    .slice(0, maxLabels);
}

/**
 * The JSON text PhotoPrism's label prompt asks for: {"labels":[{"name","confidence","topicality"}]},
 * plus nsfw and nsfw_confidence when its NSFW schema asked for them.
 */
export function labelsJson(labels: Label[]): string {
  return JSON.stringify({
    labels: labels.map((l) => ({
      name: l.name,
      confidence: l.confidence,
      topicality: l.topicality,
      ...(l.nsfw === undefined ? {} : { nsfw: l.nsfw, nsfw_confidence: l.nsfw_confidence ?? 0 }),
    })),
  });
}

/**
 * Whether the client's instructions ask for one-word names (PhotoPrism's default label system
 * prompt: "a single-word noun"). PhotoPrism then keeps only one word of a longer name, and not
 * necessarily the right one ("Golden Retriever" → "Golden"), so the server picks it.
 */
export function asksForSingleWords(...texts: (string | undefined)[]): boolean {
  return texts.some((t) => t !== undefined && /\b(single|one)[-\s]word\b/i.test(t));
}

/** A label as one word: its head noun, the last word ("Golden Retriever" → "Retriever", "T-Shirt" → "Shirt"). */
export function singleWord(label: Label): Label {
  const words = label.name.split(/[\s_/-]+/).filter((w) => w !== "");
  return words.length <= 1 ? label : { ...label, name: words[words.length - 1]! };
}

/** PhotoPrism's label priority (-2..5) for a topicality, as its PriorityFromTopicality maps it. */
export function priorityFromTopicality(topicality: number): number {
  if (topicality >= 0.95) return 5;
  if (topicality >= 0.9) return 4;
  if (topicality >= 0.75) return 3;
  if (topicality >= 0.6) return 2;
  if (topicality >= 0.4) return 1;
  if (topicality >= 0.15) return -1;
  return -2;
}

/** The task a model runs for labels: an explicit label task token, the configured one, or by model. */
export function labelTaskFor(options: {
  taskTokens: boolean;
  promptTask?: string;
  configuredTask?: string;
  /** Model name/folder/repo, to recognise PromptGen fine-tunes (trained on <GENERATE_TAGS>). */
  modelNames: string[];
}): string | undefined {
  if (!options.taskTokens) return undefined;
  if (options.promptTask && (tagTasks.has(options.promptTask) || boxTasks.has(options.promptTask))) {
    return options.promptTask;
  }
  if (options.configuredTask) return options.configuredTask;
  return options.modelNames.some((n) => /promptgen/i.test(n)) ? "<GENERATE_TAGS>" : "<OD>";
}
