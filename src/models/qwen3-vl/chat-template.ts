// The model folder's chat template, rendered as transformers' processor.apply_chat_template renders it
// (Jinja with trim_blocks and lstrip_blocks, `messages`, `add_generation_prompt` and the special
// tokens as variables), with @huggingface/jinja rather than a Jinja of our own.
// Where the template comes from, first found: chat_template.jinja (transformers 5), chat_template.json
// (the real repo), tokenizer_config.json's chat_template (a string, or named templates with a
// "default").
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { fail, failWith } from "../../errors.js";

/** One part of a message's content, as HF's multimodal chat format writes it. */
export type ContentPart = { type: "image" } | { type: "text"; text: string };

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string | ContentPart[];
}

export interface RenderOptions {
  /** Append the assistant turn's header (`<|im_start|>assistant\n`). Default true. */
  addGenerationPrompt?: boolean;
}

/** Where the template was read from. */
export type ChatTemplateSource = "chat_template.jinja" | "chat_template.json" | "tokenizer_config.json";

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw failWith(e, "MODEL_CONFIG_INVALID", `${file}: ${(e as Error).message}`);
  }
}

/** tokenizer_config.json's chat_template: a string, or [{name, template}] where "default" is used. */
function templateText(value: unknown, file: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.find(
      (t) => t && typeof t === "object" && (t as { name?: unknown }).name === "default",
    );
    const text = (named as { template?: unknown } | undefined)?.template;
    if (typeof text === "string") return text;
  }
  throw fail("MODEL_CONFIG_INVALID", `${file}: chat_template should be a string`);
}

/** The special tokens HF passes to every template (tokenizer.special_tokens_map). */
function specialTokenVariables(folder: string): Record<string, string> {
  const file = join(folder, "tokenizer_config.json");
  if (!existsSync(file)) return {};
  const cfg = readJson(file);
  const vars: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    const v = cfg[key];
    const text = typeof v === "string" ? v : (v as { content?: unknown } | null)?.content;
    if (typeof text === "string") vars[key] = text;
  }
  return vars;
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly text: string,
    readonly source: ChatTemplateSource,
    private readonly variables: Record<string, unknown> = {},
  ) {
    try {
      this.template = new Template(text);
    } catch (e) {
      throw failWith(
        e,
        "MODEL_CONFIG_INVALID",
        `${source}: the chat template does not parse: ${(e as Error).message}`,
      );
    }
  }

  static load(folder: string): ChatTemplate {
    const vars = specialTokenVariables(folder);
    const jinja = join(folder, "chat_template.jinja");
    if (existsSync(jinja)) return new ChatTemplate(readFileSync(jinja, "utf8"), "chat_template.jinja", vars);
    const json = join(folder, "chat_template.json");
    if (existsSync(json)) {
      const text = templateText(readJson(json).chat_template, json);
      if (text !== null) return new ChatTemplate(text, "chat_template.json", vars);
    }
    const tokenizerConfig = join(folder, "tokenizer_config.json");
    if (existsSync(tokenizerConfig)) {
      const text = templateText(readJson(tokenizerConfig).chat_template, tokenizerConfig);
      if (text !== null) return new ChatTemplate(text, "tokenizer_config.json", vars);
    }
    throw fail(
      "MODEL_CONFIG_INVALID",
      `no chat template in ${folder} (chat_template.jinja, chat_template.json or tokenizer_config.json)`,
    );
  }

  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    try {
      return this.template.render({
        ...this.variables,
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? true,
      });
    } catch (e) {
      throw failWith(
        e,
        "INVALID_ARGUMENT",
        `the chat template refused the messages: ${(e as Error).message}`,
      );
    }
  }
}

/**
 * The conversation of a caption request: an optional system message, then one user turn with the
 * image first and the prompt after it (what the CLI contract and the fixture use).
 */
export function imagePromptMessages(prompt: string, system?: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (system !== undefined) messages.push({ role: "system", content: system });
  messages.push({
    role: "user",
    content: [{ type: "image" }, { type: "text", text: prompt }],
  });
  return messages;
}
