// Every failure a request can meet, turned into a catalogue error (src/errors.ts): our own
// SightlineErrors pass through; fastify's and @fastify/multipart's errors get the matching code;
// anything else is INTERNAL. Dialects use normalizeError() and write the result in their own shape;
// the default shape is `{"error": message, "code": CODE}`.
import type { FastifyReply } from "fastify";
import { fail, failWith, isSightlineError, type SightlineError } from "../errors.js";

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
};

export function normalizeError(e: unknown): SightlineError {
  if (isSightlineError(e)) return e;
  const err = e as { code?: string; statusCode?: number; message?: string; name?: string };
  const mapped = err?.code ? fastifyCodes[err.code] : undefined;
  if (mapped) return mapped(err.message ?? "");
  if (err?.name === "SyntaxError" && err.statusCode === 400) return fail("JSON_INVALID", err.message ?? "");
  if (err?.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return failWith(e, "BAD_REQUEST", err.message ?? "bad request");
  }
  return failWith(e, "INTERNAL", err?.message ?? String(e));
}

/** Headers an error answer carries (Retry-After on 429s and 503s). */
export function errorHeaders(e: SightlineError): Record<string, string> {
  if (e.status === 503 || e.status === 429) {
    const after = (e as SightlineError & { retryAfter?: number }).retryAfter ?? 1;
    return { "retry-after": String(after) };
  }
  if (e.code === "UNAUTHORIZED") return { "www-authenticate": 'Bearer realm="sightline"' };
  return {};
}

/** Sends the default error shape `{"error": message, "code": CODE}`. */
export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const err = normalizeError(e);
  if (err.status >= 500) reply.log.error({ err: err.cause ?? err, code: err.code }, err.message);
  else reply.log.info({ code: err.code }, err.message);
  return reply.code(err.status).headers(errorHeaders(err)).send({ error: err.message, code: err.code });
}
