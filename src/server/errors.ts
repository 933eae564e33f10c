// Every failure a request can meet, turned into a catalogue error (src/errors.ts): our own
// SightlineErrors pass through; fastify's and @fastify/multipart's errors get the matching code;
// anything else is INTERNAL. A dialect answers errors with replyError() and its own ErrorShape;
// the default shape is `{"error": message, "code": CODE}`. The request log line (logging.ts) reports
// the error once, at a level that fits it.
import type { FastifyReply } from "fastify";
import { clip, fail, failWith, isSightlineError, SightlineError } from "../errors.js";
import { noteFailure } from "./logging.js";

const fastifyCodes: Record<string, (message: string) => SightlineError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => fail("NOT_JSON"),
  FST_ERR_CTP_BODY_TOO_LARGE: () => fail("BODY_TOO_LARGE", "over the server's body limit"),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => fail("JSON_INVALID", "the body is empty"),
  FST_ERR_CTP_INVALID_JSON_BODY: (m) => fail("JSON_INVALID", m),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => fail("BAD_REQUEST", "Content-Length does not match the body"),
  FST_REQ_FILE_TOO_LARGE: () => fail("IMAGE_TOO_LARGE", "the uploaded file is over the limit"),
  FST_PARTS_LIMIT: () => fail("BODY_TOO_LARGE", "too many multipart parts"),
  FST_FILES_LIMIT: () => fail("BODY_TOO_LARGE", "too many uploaded files"),
  FST_FIELDS_LIMIT: () => fail("BODY_TOO_LARGE", "too many form fields"),
  FST_PROTO_VIOLATION: () => fail("BAD_REQUEST", "forbidden field name"),
  FST_INVALID_MULTIPART_CONTENT_TYPE: () => fail("BAD_REQUEST", "the request is not multipart"),
  FST_MP_PREMATURE_CLOSE: () => fail("BAD_REQUEST", "the multipart body ended early"),
  // Router errors (fastify's frameworkErrors): they quote the whole URL, which we never echo.
  FST_ERR_BAD_URL: () => fail("BAD_REQUEST", "malformed URL"),
  FST_ERR_MAX_PARAM_LENGTH: () => fail("BAD_REQUEST", "a part of the URL path is longer than 100 characters"),
  FST_ERR_ASYNC_CONSTRAINT: () => fail("BAD_REQUEST", "the request matches no route constraint"),
};

/**
 * JSON.parse's messages may quote the text around the fault (`Unexpected token 'x', "{"a": x…" is
 * not valid JSON`), which can be megabytes of client input: keep the kind of fault and its position.
 */
function jsonFault(message: string): string {
  return clip(message.replace(/, ".*$/s, "").replace(/ in JSON\b/, ""));
}

export function normalizeError(e: unknown): SightlineError {
  if (isSightlineError(e)) return e;
  const err = e as { code?: string; statusCode?: number; message?: string; name?: string };
  if (
    err?.code === "FST_ERR_CTP_INVALID_JSON_BODY" ||
    (err?.name === "SyntaxError" && err.statusCode === 400)
  ) {
    return failWith(e, "JSON_INVALID", jsonFault(err.message ?? ""));
  }
  const mapped = err?.code ? fastifyCodes[err.code] : undefined;
  if (mapped) return mapped(err.message ?? "");
  if (err?.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return failWith(e, "BAD_REQUEST", clip(err.message ?? "bad request", 200));
  }
  return failWith(e, "INTERNAL", clip(err?.message ?? String(e), 300));
}

/** Headers an error answer carries: Retry-After on 429s and 503s, the auth scheme on 401. */
export function errorHeaders(e: SightlineError, status = e.status): Record<string, string> {
  if (status === 503 || status === 429) return { "retry-after": String(e.retryAfter ?? 1) };
  if (e.code === "UNAUTHORIZED") return { "www-authenticate": 'Bearer realm="sightline"' };
  return {};
}

/** How a dialect writes a catalogue error: the body, and the status when it is not the catalogue's. */
export type ErrorShape = (e: SightlineError, reply: FastifyReply) => { status?: number; body: unknown };

/** The default shape `{"error": message, "code": CODE}`. */
export const defaultErrorShape: ErrorShape = (e) => ({ body: { error: e.message, code: e.code } });

/** Answers `err` (any error) in `shape`; the request's log line reports it. */
/** Longest message an error answer carries, whatever made it (the sites quote at most ~100 characters of input). */
const maxMessage = 1000;

export function replyError(
  reply: FastifyReply,
  err: unknown,
  shape: ErrorShape = defaultErrorShape,
): FastifyReply {
  let e = normalizeError(err);
  if (e.message.length > maxMessage) {
    e = new SightlineError(e.code, clip(e.message, maxMessage), {
      cause: e.cause ?? e,
      status: e.status,
      retryAfter: e.retryAfter,
    });
  }
  const { status = e.status, body } = shape(e, reply);
  noteFailure(reply.request, e);
  return reply.code(status).headers(errorHeaders(e, status)).send(body);
}
