// The HTTP dialects a server speaks. Each is a route module that translates its wire format to
// the internal CaptionRequest/CaptionResponse (server/service.ts); add a dialect by writing
// routes/<name>.ts exporting a Dialect and listing it here.
import type { FastifyInstance } from "fastify";
import type { LabelSettings } from "../dialects/vision.js";
import type { CaptionService } from "../service.js";
import { describeDialect } from "./describe.js";
import { florenceDialect } from "./florence.js";
import { ollamaDialect } from "./ollama.js";
import { openaiDialect } from "./openai.js";
import { photoprismDialect } from "./photoprism.js";
import { webDialect } from "./web.js";

export interface DialectContext {
  service: CaptionService;
  /** Florence API generation length (the seed server's max_new_tokens). */
  florenceMaxNewTokens: number;
  /** Which model and Florence-2 task answer label requests (PhotoPrism, Ollama, OpenAI dialects). */
  labels: LabelSettings;
}

export interface Dialect {
  name: string;
  /**
   * Adds the dialect's routes to `app`, an encapsulated fastify scope: a dialect may set its own
   * error handler there (normalizeError() from ../errors.js gives the catalogue error) without
   * changing the other dialects' error shape.
   */
  register(app: FastifyInstance, context: DialectContext): void | Promise<void>;
}

export const defaultDialects: Dialect[] = [
  describeDialect,
  florenceDialect,
  photoprismDialect,
  ollamaDialect,
  openaiDialect,
  webDialect,
];
