// Florence2Processor's task tables (processing_florence2.py): task token → prompt text, and task token
// → how its answer is parsed. Data, not branches: a new task is a new row.
import { fail } from "../../errors.js";

/**
 * The tokens Florence2Processor.__init__ adds as additional special tokens, in its order (ids 50265 …
 * 51288 on the BART vocabulary): object/OCR tags, 1000 location bins <loc_0> … <loc_999>, then the rest.
 */
export const PROCESSOR_ADDED_TOKENS: readonly string[] = [
  ..."<od> </od> <ocr> </ocr>".split(" "),
  ...Array.from({ length: 1000 }, (_, i) => `<loc_${i}>`),
  ...(
    "<cap> </cap> <ncap> </ncap> <dcap> </dcap> <grounding> </grounding> <seg> </seg> <sep> <region_cap> " +
    "</region_cap> <region_to_desciption> </region_to_desciption> <proposal> </proposal> <poly> </poly> <and>"
  ).split(" "),
];

/** Task tokens that must stand alone and are replaced by a fixed prompt. */
export const TASK_PROMPTS_WITHOUT_INPUTS: Readonly<Record<string, string>> = {
  "<OCR>": "What is the text in the image?",
  "<OCR_WITH_REGION>": "What is the text in the image, with regions?",
  "<CAPTION>": "What does the image describe?",
  "<DETAILED_CAPTION>": "Describe in detail what is shown in the image.",
  "<MORE_DETAILED_CAPTION>": "Describe with a paragraph what is shown in the image.",
  "<OD>": "Locate the objects with category name in the image.",
  "<DENSE_REGION_CAPTION>": "Locate the objects in the image, with their descriptions.",
  "<REGION_PROPOSAL>": "Locate the region proposals in the image.",
};

/** Task tokens followed by an input (a phrase, or <loc_N> region tokens); `{input}` marks where it goes. */
export const TASK_PROMPTS_WITH_INPUT: Readonly<Record<string, string>> = {
  "<CAPTION_TO_PHRASE_GROUNDING>": "Locate the phrases in the caption: {input}",
  "<REFERRING_EXPRESSION_SEGMENTATION>": "Locate {input} in the image with mask",
  "<REGION_TO_SEGMENTATION>": "What is the polygon mask of region {input}",
  "<OPEN_VOCABULARY_DETECTION>": "Locate {input} in the image.",
  "<REGION_TO_CATEGORY>": "What is the region {input}?",
  "<REGION_TO_DESCRIPTION>": "What does the region {input} describe?",
  "<REGION_TO_OCR>": "What text is in the region {input}?",
};

export type AnswerType =
  | "pure_text"
  | "ocr"
  | "description_with_bboxes"
  | "phrase_grounding"
  | "polygons"
  | "description_with_bboxes_or_polygons"
  | "bboxes";

/** tasks_answer_post_processing_type; tasks not listed (PromptGen's <GENERATE_TAGS>, …) are pure text. */
export const TASK_ANSWER_TYPES: Readonly<Record<string, AnswerType>> = {
  "<OCR>": "pure_text",
  "<OCR_WITH_REGION>": "ocr",
  "<CAPTION>": "pure_text",
  "<DETAILED_CAPTION>": "pure_text",
  "<MORE_DETAILED_CAPTION>": "pure_text",
  "<OD>": "description_with_bboxes",
  "<DENSE_REGION_CAPTION>": "description_with_bboxes",
  "<CAPTION_TO_PHRASE_GROUNDING>": "phrase_grounding",
  "<REFERRING_EXPRESSION_SEGMENTATION>": "polygons",
  "<REGION_TO_SEGMENTATION>": "polygons",
  "<OPEN_VOCABULARY_DETECTION>": "description_with_bboxes_or_polygons",
  "<REGION_TO_CATEGORY>": "pure_text",
  "<REGION_TO_DESCRIPTION>": "pure_text",
  "<REGION_TO_OCR>": "pure_text",
  "<REGION_PROPOSAL>": "bboxes",
};

/** Every known task token → its prompt template (what the server's /prompts lists). */
export function taskPromptTable(): Record<string, string> {
  return { ...TASK_PROMPTS_WITHOUT_INPUTS, ...TASK_PROMPTS_WITH_INPUT };
}

/**
 * Florence2Processor._construct_prompts for one text: a fixed task token must be the whole text and
 * becomes its prompt; a task token with input is replaced by its template around the rest of the text;
 * anything else (unknown task tokens included) passes through unchanged.
 */
export function constructPrompt(text: string): string {
  let out = text;
  for (const [token, prompt] of Object.entries(TASK_PROMPTS_WITHOUT_INPUTS)) {
    if (out.includes(token)) {
      if (out !== token)
        throw fail("INVALID_ARGUMENT", `task token ${token} should be the only token in the text`);
      out = prompt;
      break;
    }
  }
  for (const [token, template] of Object.entries(TASK_PROMPTS_WITH_INPUT)) {
    if (out.includes(token)) {
      out = template.replace("{input}", () => out.split(token).join(""));
      break;
    }
  }
  return out;
}

/**
 * The task a prompt names, used to key and parse the answer: its known task token (a prompt such as
 * "<CAPTION_TO_PHRASE_GROUNDING>a car" → "<CAPTION_TO_PHRASE_GROUNDING>"), else a leading `<…>` token
 * (PromptGen's "<GENERATE_TAGS>"), else the prompt itself.
 */
export function taskOfPrompt(prompt: string): string {
  for (const token of Object.keys(TASK_ANSWER_TYPES)) if (prompt.startsWith(token)) return token;
  const lead = /^<[^<>]+>/.exec(prompt);
  return lead ? lead[0] : prompt;
}
