// The app factory: build(options) returns a ready fastify instance serving every dialect
// (routes/index.ts) plus the operations routes. Tests drive it with inject(); `sightline serve`
// listens with it. Long-lived state lives in the Runtime passed in (or built here from
// options.runtimeOptions and closed with the app).
import { randomUUID, createHash, timingSafeEqual } from "node:crypto";
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from "fastify";
import multipart from "@fastify/multipart";
import { clip, fail } from "../errors.js";
import type { DecodeImage, ImageInputOptions } from "../images/input.js";
import { replyError } from "./errors.js";
import { BodyBudget, registerBodyParsers } from "./bodies.js";
import { logRequests } from "./logging.js";
import { Runtime, type RuntimeOptions } from "./runtime.js";
import { CaptionService } from "./service.js";
import type { Dialect, DialectContext } from "./routes/dialect.js";
import { defaultDialects } from "./routes/index.js";
import { registerOps } from "./routes/ops.js";

export interface AppOptions {
  /** The server's long-lived state; built from runtimeOptions when absent (and closed with the app). */
  runtime?: Runtime;
  runtimeOptions?: RuntimeOptions;
  /** Key required on every route but /healthz and /readyz (Bearer, or Basic with the key as password). */
  apiKey?: string;
  /** Let image URLs reach loopback/private/link-local addresses (a NAS at home). */
  allowPrivateUrls?: boolean;
  /** Largest image accepted, bytes (default 20 MB), whether fetched, base64 or uploaded. */
  maxImageBytes?: number;
  /** Largest decoded image, width × height (default 50 megapixels). */
  maxPixels?: number;
  /** Time limit of fetching one image URL, seconds (default 15). */
  fetchTimeoutSeconds?: number;
  maxRedirects?: number;
  /** Largest request body, bytes (default jsonBodyLimit(maxImageBytes)). */
  bodyLimit?: number;
  /** Florence API generation length (the seed server asked for 1024 new tokens). */
  florenceMaxNewTokens?: number;
  /** fastify/pino logger settings; false for none (tests). */
  logger?: FastifyServerOptions["logger"];
  /** A pino logger to use instead (serve shares one with the Runtime). */
  loggerInstance?: FastifyServerOptions["loggerInstance"];
  /** Image decoder (default src/images/decode.ts). */
  decode?: DecodeImage;
  /** DNS for URL fetching (tests). */
  resolveDns?: ImageInputOptions["resolve"];
  /** Model answering label requests that name none (`--labels-model`; default: the default model). */
  labelsModel?: string;
  /** Florence-2 task for labels (`--labels-task`; default <GENERATE_TAGS> for PromptGen, else <OD>). */
  labelsTask?: string;
  /** Extra CA certificates (PEM) trusted when fetching https image URLs (tests: a self-signed server). */
  fetchCa?: string | Buffer;
  /** Route modules to serve (default: routes/index.ts defaultDialects). */
  dialects?: Dialect[];
}

export const defaults = {
  maxImageBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  fetchTimeoutSeconds: 15,
  maxRedirects: 5,
  florenceMaxNewTokens: 1024,
};

/** Images one JSON body may carry at the image size limit (PhotoPrism sends up to three). */
export const imagesPerBody = 3;

/**
 * The largest JSON body, from --max-image-mb: `imagesPerBody` images base64-encoded (4 characters
 * per 3 bytes) plus 64 KiB for the rest of the request.
 */
export function jsonBodyLimit(maxImageBytes: number): number {
  return imagesPerBody * 4 * Math.ceil(maxImageBytes / 3) + 64 * 1024;
}

/**
 * The key a request presents: `Authorization: Bearer KEY`, or `Basic` credentials whose password
 * is the key (any user name: PhotoPrism turns Service.Username/Password into basic auth).
 */
function presentedKey(header: string | undefined): string | undefined {
  const m = /^(Bearer|Basic)\s+(.+)$/i.exec(header ?? "");
  if (!m) return undefined;
  if (m[1]!.toLowerCase() === "bearer") return m[2]!.trim();
  const decoded = Buffer.from(m[2]!.trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function keyMatches(expected: string, header: string | undefined): boolean {
  const given = presentedKey(header);
  // Compare digests so the comparison takes the same time whatever the lengths.
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256")
    .update(given ?? "")
    .digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

// The try-it page's static files are open too (a browser cannot send a key when it navigates).
const openRoutes = new Set(["/healthz", "/readyz", "/", "/web/*"]);

export async function build(options: AppOptions = {}): Promise<FastifyInstance> {
  const ownsRuntime = !options.runtime;
  const runtime = options.runtime ?? new Runtime(options.runtimeOptions);
  const maxImageBytes = options.maxImageBytes ?? defaults.maxImageBytes;
  const bodyLimit = options.bodyLimit ?? jsonBodyLimit(maxImageBytes);

  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: options.logger ?? false }),
    bodyLimit,
    // One line per request comes from logging.ts instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // The router's own errors (a malformed or overlong URL) in the catalogue's shape, not fastify's.
    frameworkErrors: (err, _req, reply) => replyError(reply, err),
  });

  const service = new CaptionService(
    runtime,
    {
      allowPrivate: options.allowPrivateUrls,
      maxBytes: maxImageBytes,
      maxPixels: options.maxPixels ?? defaults.maxPixels,
      timeoutMs: (options.fetchTimeoutSeconds ?? defaults.fetchTimeoutSeconds) * 1000,
      maxRedirects: options.maxRedirects ?? defaults.maxRedirects,
      resolve: options.resolveDns,
      ca: options.fetchCa,
    },
    options.decode,
  );

  await app.register(multipart, {
    limits: { fileSize: maxImageBytes, files: 4, fields: 32, parts: 40, fieldSize: bodyLimit },
    throwFileSizeLimit: true,
  });
  registerBodyParsers(app, { jsonBytes: bodyLimit, imageBytes: maxImageBytes });

  app.setErrorHandler((err, _req, reply) => replyError(reply, err));
  app.setNotFoundHandler((req, reply) =>
    replyError(reply, fail("ROUTE_NOT_FOUND", `${req.method} ${clip(req.url.split("?")[0] ?? "")}`)),
  );
  logRequests(app);
  new BodyBudget({ budgetBytes: bodyLimit }).register(app);

  /** Whether a request may see what only the server's key holders see (every request when no key is set). */
  const authorised = (req: FastifyRequest): boolean =>
    !options.apiKey || keyMatches(options.apiKey, req.headers.authorization);
  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-request-id", req.id);
    // The matched route, not the raw URL: no spelling of a path reaches a keyed route unkeyed.
    if (openRoutes.has(req.routeOptions.url ?? "")) return;
    if (!authorised(req)) throw fail("UNAUTHORIZED");
  });
  // While draining, every answer closes its connection so keep-alive clients cannot hold the
  // server open past the drain.
  app.addHook("onSend", async (_req, reply) => {
    if (runtime.isDraining) reply.header("connection", "close");
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    runtime.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    runtime.metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });
  if (ownsRuntime) app.addHook("onClose", async () => runtime.close());

  const context: DialectContext = {
    service,
    florenceMaxNewTokens: options.florenceMaxNewTokens ?? defaults.florenceMaxNewTokens,
    // An unknown --labels-model fails at startup (MODEL_NOT_FOUND), not on every label request.
    labels: {
      model: options.labelsModel && runtime.registry.get(options.labelsModel).name,
      task: options.labelsTask,
    },
  };
  registerOps(app, runtime, authorised);
  for (const dialect of options.dialects ?? defaultDialects) {
    await app.register(async (scope) => dialect.register(scope, context));
  }
  await app.ready();
  return app;
}
