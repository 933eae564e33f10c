// The HTTP dialects a server speaks. Each is a route module (routes/<name>.ts exporting a Dialect,
// see dialect.ts); add a dialect by writing one and listing it here.
import type { Dialect } from "./dialect.js";
import { describeDialect } from "./describe.js";
import { florenceDialect } from "./florence.js";
import { ollamaDialect } from "./ollama.js";
import { openaiDialect } from "./openai.js";
import { photoprismDialect } from "./photoprism.js";
import { webDialect } from "./web.js";

export type { Dialect, DialectContext } from "./dialect.js";

export const defaultDialects: Dialect[] = [
  describeDialect,
  florenceDialect,
  photoprismDialect,
  ollamaDialect,
  openaiDialect,
  webDialect,
];
