// What a dialect is: a route module that translates its wire format to the internal
// CaptionRequest/CaptionResponse (server/service.ts), and what every dialect is handed.
import type { FastifyInstance } from "fastify";
import type { LabelSettings } from "../chat/vision.js";
import type { CaptionService } from "../service.js";

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
   * error handler there (replyError() from ../errors.js writes the catalogue error in its shape)
   * without changing the other dialects' error shape.
   */
  register(app: FastifyInstance, context: DialectContext): void | Promise<void>;
}
