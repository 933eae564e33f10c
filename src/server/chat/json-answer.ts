// Structured (JSON) answers for clients that ask for JSON output: Ollama `format: "json"` or a
// JSON-schema object, OpenAI `response_format` / Responses `text.format`. Sightline's models do not
// write JSON, so the answer is built from labels (the shape PhotoPrism's label prompt asks for,
// `{"labels":[{"name","confidence","topicality"}]}`) or, when the schema asks for a caption,
// `{"caption":{"text","confidence"}}`.
import { labelsJson } from "./labels.js";
import type { VisionAnswer } from "./vision.js";

export type JsonShape = "labels" | "caption";

/** Which JSON a schema (or plain "json") asks for: a caption only when its properties name one. */
export function jsonShapeOf(schema: unknown): JsonShape {
  if (schema && typeof schema === "object") {
    const props = (schema as { properties?: unknown }).properties;
    if (props && typeof props === "object") {
      if ("labels" in props) return "labels";
      if ("caption" in props) return "caption";
    }
  }
  return "labels";
}

export function jsonText(shape: JsonShape, answer: VisionAnswer): string {
  if (shape === "caption")
    return JSON.stringify({ caption: { text: answer.text, confidence: answer.text ? 1 : 0 } });
  return labelsJson(answer.labels ?? []);
}

/** Text pieces for a streamed answer: words with their leading whitespace. */
export function streamPieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}
