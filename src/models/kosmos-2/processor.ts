// Kosmos2Processor (transformers 4.40) on the text side: the prompt with the image placeholder
// positions, phrases grounded by bounding boxes as <object><patch_index_…>…</object>, spaces normalised
// around tag tokens, then input_ids / attention_mask / image_embeds_position_mask.
import type { TextTokenizer } from "../../tokenizer/tokenizer.js";
import { fail } from "../../errors.js";
import { coordinateToPatchIndex, pyRstrip, pyStrip, type Box } from "./post-process.js";

/** The tag tokens Kosmos2Processor adds to the tokenizer, before the patch index tokens. */
export const TAG_TOKENS = [
  "</doc>",
  "<image>",
  "</image>",
  "</chunk>",
  "</line>",
  "<phrase>",
  "</phrase>",
  "<object>",
  "</object>",
  "</delimiter_of_multi_objects/>",
  "<grounding>",
] as const;

export const patchIndexToken = (i: number): string => `<patch_index_${String(i).padStart(4, "0")}>`;

/**
 * Kosmos2Processor.__init__ adds the tag tokens, then the patch-index tokens, as plain (non-special)
 * AddedToken(lstrip=True, normalized=False); folders whose tokenizer files already hold them keep their ids.
 */
export function addKosmos2Tokens(tokenizer: TextTokenizer, numPatchIndexTokens: number): void {
  const tokens = [
    ...TAG_TOKENS,
    ...Array.from({ length: numPatchIndexTokens }, (_, i) => patchIndexToken(i)),
  ];
  tokenizer.addTokens(
    tokens.map((content) => ({ content, lstrip: true, normalized: false })),
    false,
  );
}

/**
 * Boxes for one `<phrase>…</phrase>`: none (null), one box, or several. A box is a pair of patch
 * indices [ul, lr] or normalised coordinates [x1, y1, x2, y2].
 */
export type PhraseBoxes = null | number[] | number[][];

export interface ProcessorOptions {
  /** Whether an image goes with the text (adds `<image>` + placeholders + `</image>`). Default true. */
  withImage?: boolean;
  bboxes?: PhraseBoxes[] | null;
  /** Image placeholder positions (the model's latent_query_num). Default 64. */
  numImageTokens?: number;
  addSpecialTokens?: boolean;
  /** HF 4.40 default: false (the prompt is `<s>` + text, no `</s>`). */
  addEosToken?: boolean;
}

export interface ProcessedText {
  inputIds: number[];
  attentionMask: number[];
  /** 1 where image embeddings replace token embeddings (only with an image). */
  imageEmbedsPositionMask: number[] | null;
}

export class Kosmos2Processor {
  private readonly tagPattern: RegExp;
  private readonly tagSet: Set<string>;
  readonly numPatchesPerSide: number;

  constructor(
    readonly tokenizer: TextTokenizer,
    readonly numPatchIndexTokens = 1024,
  ) {
    const tags = [
      ...TAG_TOKENS,
      ...Array.from({ length: numPatchIndexTokens }, (_, i) => patchIndexToken(i)),
    ];
    this.tagSet = new Set(tags);
    // None of the tags contain regex metacharacters (HF joins them unescaped as well).
    this.tagPattern = new RegExp(`(${tags.join("|")})`);
    this.numPatchesPerSide = Math.floor(Math.sqrt(numPatchIndexTokens));
  }

  /** Kosmos2Processor.preprocess_text for one text. */
  preprocessText(
    text: string,
    withImage: boolean,
    bboxes: PhraseBoxes[] | null,
    numImageTokens = 64,
  ): string {
    let t = pyStrip(text);
    if (withImage) {
      const imageInfo = ["<image>", ...Array<string>(numImageTokens).fill("<image>"), "</image>"].join(" ");
      t = `${imageInfo} ${t}`;
    }
    t = this.insertPatchIndexTokens(t, bboxes);
    return this.addRemoveSpacesAroundTagTokens(t);
  }

  /** Kosmos2Processor.__call__ for one text (and optionally its image). */
  process(text: string, opts: ProcessorOptions = {}): ProcessedText {
    const withImage = opts.withImage ?? true;
    const numImageTokens = opts.numImageTokens ?? 64;
    const addSpecial = opts.addSpecialTokens ?? true;
    const addEos = opts.addEosToken ?? false;
    let prompt = this.preprocessText(text, withImage, opts.bboxes ?? null, numImageTokens);
    // Without EOS, HF writes <s> into the text and tokenizes without special tokens.
    if (addSpecial && !addEos) prompt = `<s>${prompt}`;
    let ids = this.tokenizer.encode(prompt, { addSpecialTokens: addSpecial && addEos });
    const attentionMask = ids.map(() => 1);
    if (!withImage) return { inputIds: ids, attentionMask, imageEmbedsPositionMask: null };

    // The placeholders after the real <image> get the ids right after <unk>.
    const unk = this.tokenizer.tokenToId("<unk>");
    if (unk === undefined) throw fail("TOKENIZER_MISSING", "kosmos-2 tokenizer without <unk>");
    const start = (addSpecial ? 1 : 0) + 1;
    const imageIds = Array.from({ length: numImageTokens }, (_, i) => unk + 1 + i);
    ids = [...ids.slice(0, start), ...imageIds, ...ids.slice(start + numImageTokens)];
    const mask = [...(addSpecial ? [0] : []), 0, ...Array<number>(numImageTokens).fill(1), 0];
    while (mask.length < ids.length) mask.push(0);
    return { inputIds: ids, attentionMask, imageEmbedsPositionMask: mask };
  }

  /** Kosmos2Processor._insert_patch_index_tokens. */
  private insertPatchIndexTokens(text: string, bboxes: PhraseBoxes[] | null): string {
    if (!bboxes || bboxes.length === 0) return text;
    const phrases = [...text.matchAll(/<phrase>.+?<\/phrase>/g)];
    if (phrases.length !== bboxes.length) {
      throw fail(
        "INVALID_ARGUMENT",
        `the number of bboxes (${bboxes.length}) must equal the number of <phrase> … </phrase> pairs (${phrases.length})`,
      );
    }
    let pos = 0;
    const out: string[] = [];
    phrases.forEach((m, i) => {
      const end = m.index! + m[0].length;
      out.push(text.slice(pos, end));
      pos = end;
      const entry = bboxes[i];
      if (entry === null || entry === undefined) return;
      // One box (an array of numbers) or a list of boxes; an empty list adds nothing, as in HF.
      const boxes = (entry.length === 0 ? [] : Array.isArray(entry[0]) ? entry : [entry]) as number[][];
      const pairs = boxes.map((box) => {
        const [a, b] = this.boxToPatchIndexTokens(box);
        return `${a} ${b}`;
      });
      if (pairs.length === 0) return;
      out.push(`<object> ${pairs.join(" </delimiter_of_multi_objects/> ")} </object>`);
    });
    if (pos < text.length) out.push(text.slice(pos));
    return out.join("");
  }

  private boxToPatchIndexTokens(box: number[]): [string, string] {
    let pair: [number, number];
    if (box.length === 2 && box.every((x) => Number.isInteger(x))) pair = [box[0]!, box[1]!];
    else if (box.length === 4) pair = coordinateToPatchIndex(box as Box, this.numPatchesPerSide);
    else throw fail("INVALID_ARGUMENT", `a box is 2 patch indices or 4 normalised coordinates, got [${box}]`);
    return [patchIndexToken(pair[0]), patchIndexToken(pair[1])];
  }

  /** Kosmos2Processor._add_remove_spaces_around_tag_tokens: no space before a tag, one after it. */
  private addRemoveSpacesAroundTagTokens(text: string): string {
    const parts = text.split(this.tagPattern);
    const splits = parts.filter((p, i) => !((i === 0 || i === parts.length - 1) && p === ""));
    let out = "";
    let prevIsTag = false;
    for (const s of splits) {
      if (this.tagSet.has(s)) {
        out = pyRstrip(out) + s;
        prevIsTag = true;
      } else {
        out += prevIsTag && !s.startsWith(" ") ? ` ${s}` : s;
        prevIsTag = false;
      }
    }
    return out;
  }
}
