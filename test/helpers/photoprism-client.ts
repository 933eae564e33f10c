// PhotoPrism's vision client, as far as it decides whether an answer is usable
// (internal/ai/vision in photoprism/photoprism: api_client.go, engine_ollama.go, engine_openai.go,
// nsfw.go, internal/ai/nsfw): what it sends (the request bodies below) and the parse rules it
// applies to what comes back. Contract tests replay the bodies against our server and run the
// answers through these rules; a rule that fails is an answer PhotoPrism would reject or misread.
import assert from "node:assert/strict";

// Default prompts of PhotoPrism's engines (their wording, as the engines send them).
export const labelSystem =
  "You are a PhotoPrism vision model. Output concise JSON that matches the schema. Each label name MUST be a single-word noun in its canonical singular form. Avoid spaces, punctuation, emoji, or descriptive phrases.";
export const labelPrompt =
  "Analyze the image and return label objects with name, confidence (0-1), and topicality (0-1).";
export const labelPromptNsfw =
  "Analyze the image and return label objects with name, confidence (0-1), topicality (0-1), nsfw (true when the label describes sensitive or adult content), and nsfw_confidence (0-1).";
export const captionPrompt =
  "Write exactly one sentence in the active voice that describes the main visual content of the image. Start with the main subject and its action.";

// The label templates (schema/labels.go): the Ollama/Vision prompt carries them as text…
export const labelsJsonTemplate =
  '{\n  "labels": [{\n    "name": "",\n    "confidence": 0,\n    "topicality": 0 }]\n}';
export const labelsJsonTemplateNsfw =
  '{\n  "labels": [{\n    "name": "",\n    "confidence": 0,\n    "topicality": 0,\n    "nsfw": false,\n    "nsfw_confidence": 0\n  }]\n}';
/** …the OpenAI engine sends them as a strict JSON schema. */
export function labelsJsonSchema(nsfw: boolean) {
  const props: Record<string, unknown> = {
    name: { type: "string", minLength: 1 },
    confidence: { type: "number", minimum: 0, maximum: 1 },
    topicality: { type: "number", minimum: 0, maximum: 1 },
  };
  if (nsfw) {
    props.nsfw = { type: "boolean" };
    props.nsfw_confidence = { type: "number", minimum: 0, maximum: 1 };
  }
  return {
    type: "object",
    properties: {
      labels: {
        type: "array",
        items: {
          type: "object",
          properties: props,
          required: Object.keys(props),
          additionalProperties: false,
        },
        default: [],
      },
    },
    required: ["labels"],
    additionalProperties: false,
  };
}

/** A label prompt as PhotoPrism builds it: the instructions, a blank line, the schema reminder. */
export const withSchema = (prompt: string, template: string) =>
  `${prompt}\n\nReturn JSON that matches this schema:\n${template}`;

export interface ParsedLabel {
  name: string;
  confidence: number;
  topicality: number;
  priority?: number;
  nsfw?: boolean;
  nsfw_confidence?: number;
}

export interface Parsed {
  caption?: string;
  labels?: ParsedLabel[];
}

/** Any status ≥ 300 is an error (PhotoPrism logs the body and gives up, retrying only 429). */
export function assertOk(status: number, body: string): void {
  assert.ok(status >= 200 && status < 300, `status ${status}: ${body.slice(0, 300)}`);
}

function checkLabel(l: unknown): ParsedLabel {
  assert.equal(typeof l, "object");
  const label = l as Record<string, unknown>;
  assert.equal(typeof label.name, "string");
  assert.ok((label.name as string).length > 0);
  for (const k of ["confidence", "topicality", "nsfw_confidence"]) {
    if (label[k] !== undefined) {
      assert.equal(typeof label[k], "number", k);
      assert.ok((label[k] as number) >= 0 && (label[k] as number) <= 1, `${k} in 0..1`);
    }
  }
  if (label.priority !== undefined) {
    assert.ok(Number.isInteger(label.priority), "priority is an int");
    assert.ok((label.priority as number) >= -2 && (label.priority as number) <= 5, "priority in -2..5");
  }
  if (label.nsfw !== undefined) assert.equal(typeof label.nsfw, "boolean");
  if (label.categories !== undefined) {
    assert.ok(Array.isArray(label.categories) && label.categories.every((c) => typeof c === "string"));
  }
  return label as unknown as ParsedLabel;
}

/** Vision API (ApiResponse): model an object, result.caption an object, typed label fields. */
export function parseVision(status: number, text: string, type: "caption" | "labels"): Parsed {
  assertOk(status, text);
  const body = JSON.parse(text);
  if (body.model !== undefined) assert.equal(typeof body.model, "object");
  assert.equal(typeof body.result, "object");
  if (type === "caption") {
    const caption = body.result.caption;
    assert.ok(
      caption && typeof caption === "object" && !Array.isArray(caption),
      "result.caption is an object",
    );
    assert.equal(typeof caption.text, "string");
    if (caption.confidence !== undefined) assert.equal(typeof caption.confidence, "number");
    return { caption: caption.text };
  }
  const labels = body.result.labels ?? [];
  assert.ok(Array.isArray(labels));
  return { labels: labels.map(checkLabel) };
}

export interface NsfwEntry {
  status: "safe" | "unsafe" | "unavailable";
  score?: number;
}

/**
 * result.nsfw as PhotoPrism reads it: one entry per image; each re-decided with PhotoPrism's own
 * threshold from max(Porn, Sexy, Hentai) when any class score is above 0, else its status kept
 * (an unknown status is unavailable, never safe).
 */
export function parseVisionNsfw(status: number, text: string, images: number, threshold = 0.75): NsfwEntry[] {
  assertOk(status, text);
  const body = JSON.parse(text);
  if (body.model !== undefined) assert.equal(typeof body.model, "object");
  const list = body.result?.nsfw;
  assert.ok(Array.isArray(list), "result.nsfw is a list");
  assert.equal(list.length, images, "one entry per image");
  return list.map((r: Record<string, unknown>) => {
    for (const k of ["Drawing", "Hentai", "Neutral", "Porn", "Sexy", "score", "threshold"]) {
      if (r[k] !== undefined) assert.equal(typeof r[k], "number", k);
    }
    const classes = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"].map((k) => (r[k] as number) ?? 0);
    if (classes.some((v) => v > 0)) {
      const score = Math.max(r.Porn as number, r.Sexy as number, r.Hentai as number);
      if (!(score >= 0 && score <= 1)) return { status: "unavailable" };
      return { status: score >= threshold ? "unsafe" : "safe", score };
    }
    return { status: r.status === "safe" || r.status === "unsafe" ? r.status : "unavailable" };
  });
}

/** The {"labels":[…]} JSON in a model's text, even in a Markdown fence or with text after it. */
function extractLabelsJson(text: string): ParsedLabel[] | undefined {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  for (let end = text.lastIndexOf("}"); end > start; end = text.lastIndexOf("}", end - 1)) {
    try {
      const value = JSON.parse(text.slice(start, end + 1));
      if (value && Array.isArray(value.labels)) return value.labels.map(checkLabel);
      return undefined;
    } catch {
      // try a shorter span
    }
  }
  return undefined;
}

/** Ollama /api/generate: the last JSON object of the (NDJSON-tolerant) body; response, or thinking. */
export function parseOllama(status: number, text: string): Parsed {
  assertOk(status, text);
  const objects = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const last = JSON.parse(objects[objects.length - 1]!);
  const response: string = (last.response || last.thinking || "").trim();
  const labels = extractLabelsJson(response);
  if (labels) return { labels };
  return { caption: response };
}

/** OpenAI /v1/responses: error.message fails; the first content part with json, else the first text. */
export function parseOpenAI(status: number, text: string): Parsed {
  assertOk(status, text);
  const body = JSON.parse(text);
  assert.ok(!body.error?.message, `error: ${body.error?.message}`);
  const parts = (body.output ?? []).flatMap((o: { content?: unknown[] }) => o.content ?? []);
  const withJson = parts.find((p: { json?: unknown }) => p.json);
  const value: string = withJson
    ? JSON.stringify(withJson.json)
    : (parts.find((p: { text?: string }) => p.text)?.text ?? "");
  const trimmed = value.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const parsed = JSON.parse(trimmed);
    if (Array.isArray(parsed.labels)) return { labels: parsed.labels.map(checkLabel) };
    if (parsed.caption && typeof parsed.caption === "object") return { caption: parsed.caption.text };
  }
  return { caption: trimmed };
}
