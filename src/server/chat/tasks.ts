// Chat-style prompts → what a captioning model is asked to do. Clients of the Ollama/OpenAI/PhotoPrism
// dialects send free-text instructions ("Describe this image in one sentence") that these models
// were never trained on, so the text is mapped to the model's own task instead:
//   - a Florence-2 task token anywhere in the prompt (`<OD>`, `<GENERATE_TAGS>`, `<CAPTION_TO_PHRASE_GROUNDING>red car`)
//     selects that task (with the text after it as the task's input where the task takes one);
//   - other free text maps to a Florence-2 captioning task by keywords (see captionTaskFor), and to
//     the model's own default captioning for the other architectures (Kosmos-2's `<grounding>An image
//     of`, BLIP and ViT-GPT2 unconditional); a Kosmos-2 prompt that starts with `<grounding>` is kept.
// docs/api.md documents this table; change both together.
import { archByModelType } from "../../models/index.js";
import { TASK_PROMPTS_WITH_INPUT } from "../../models/florence-2/tasks.js";

/** What the dialect layer knows about a model's kind. */
export interface ModelKind {
  /** "florence-2" | "kosmos-2" | "blip" | "vit-gpt2" | other loaders' arch names. */
  arch: string;
  /** Whether the model takes Florence-2 style task tokens (it has a task prompt table). */
  taskTokens: boolean;
}

/** config.json model_type → the arch name the model reports once loaded (the models registry's). */
export const archOfModelType: Readonly<Record<string, string>> = archByModelType();

/** Free text → Florence-2 captioning task; the first matching row wins, `<CAPTION>` otherwise. */
const captionKeywords: readonly [RegExp, string][] = [
  [/\b(ocr|read (the|all|any) text|text in the image|transcribe)\b/i, "<OCR>"],
  [/\b(paragraph|more detail(ed)?|very detailed|in depth|thorough(ly)?)\b/i, "<MORE_DETAILED_CAPTION>"],
  [/\b(detail(ed|s)?|describe .{0,200} fully)\b/i, "<DETAILED_CAPTION>"], // bounded: `.*` is quadratic
];

export function captionTaskFor(text: string): string {
  for (const [pattern, task] of captionKeywords) if (pattern.test(text)) return task;
  return "<CAPTION>";
}

/** A task token the prompt names, and the text after it: `<OD>` → {task: "<OD>", input: ""}. */
export function taskTokenIn(prompt: string | undefined): { task: string; input: string } | undefined {
  if (!prompt) return undefined;
  const m = /<([A-Z][A-Z0-9_]*)>/.exec(prompt);
  if (!m) return undefined;
  return { task: m[0], input: prompt.slice(m.index + m[0].length).trim() };
}

export interface ModelPrompt {
  /** What CaptionOptions.prompt gets (undefined: the model's default). */
  prompt?: string;
  /** The Florence-2 task it runs, when it runs one. */
  task?: string;
}

/** The prompt a model is given for a client's free-text or task-token prompt. */
export function modelPromptFor(kind: ModelKind, clientPrompt: string | undefined): ModelPrompt {
  const text = clientPrompt ?? "";
  if (kind.taskTokens) {
    const token = taskTokenIn(text);
    if (token) {
      // A task that takes an input gets the rest of the text; the others must stand alone.
      const takesInput = token.task in TASK_PROMPTS_WITH_INPUT;
      const prompt = takesInput ? token.task + token.input : token.task;
      return { prompt, task: token.task };
    }
    const task = captionTaskFor(text);
    return { prompt: task, task };
  }
  if (kind.arch === "kosmos-2" && /^\s*<grounding>/.test(text)) return { prompt: text.trim() };
  return {};
}
