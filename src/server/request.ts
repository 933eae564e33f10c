// Reading request parameters the same way in every dialect: JSON bodies, query strings and
// multipart forms, with a catalogue error naming the field when a value has the wrong type.
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { clip, fail, failWith, isSightlineError } from "../errors.js";
import { jsonBodyParser } from "./bodies.js";

export type Fields = Record<string, unknown>;

/** The JSON object body of a POST; "Request must be JSON" for anything else. */
export function jsonObject(body: unknown): Fields {
  if (body === null || typeof body !== "object" || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw fail("NOT_JSON");
  }
  return body as Fields;
}

/**
 * Reads every body in `app`'s scope as JSON whatever its Content-Type says, as Ollama's and
 * OpenAI's servers do: their documented `curl -d '{…}'` sends application/x-www-form-urlencoded,
 * other clients send text/plain or no Content-Type at all. (Image bodies keep their parser.)
 */
export function jsonWhateverTheType(app: FastifyInstance): void {
  const parseJson = jsonBodyParser(app, app.initialConfig.bodyLimit ?? 1024 * 1024);
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser(["text/plain", "application/x-www-form-urlencoded"], parseJson);
  app.addContentTypeParser("*", parseJson);
}

export function optionalString(fields: Fields, key: string): string | undefined {
  const v = fields[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw fail("INVALID_ARGUMENT", `${key} must be a string`);
  return v;
}

/** Longest request id echoed back. */
export const maxIdLength = 256;

/**
 * The one rule for ids a route echoes (describe, PhotoPrism's caption and labels): a string of at
 * most 256 characters, or a whole number JSON can carry exactly (|n| < 2^53; a larger one has lost
 * digits before we see it, so it is refused rather than echoed changed), echoed as a string;
 * absent, null or "" → undefined (the route makes a UUID). Anything else is INVALID_ARGUMENT.
 */
export function optionalId(fields: Fields, key: string): string | undefined {
  const v = fields[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw fail(
        "INVALID_ARGUMENT",
        `${key} must be a string or a whole number below 2^53 (send a larger one as a string)`,
      );
    }
    return String(v);
  }
  if (typeof v !== "string") throw fail("INVALID_ARGUMENT", `${key} must be a string or a whole number`);
  if (v.length > maxIdLength)
    throw fail("INVALID_ARGUMENT", `${key} is longer than ${maxIdLength} characters`);
  return v;
}

/** The id of a request: optionalId's, else a new UUID. */
export function requestId(fields: Fields, key = "id"): string {
  return optionalId(fields, key) ?? randomUUID();
}

export function optionalInt(fields: Fields, key: string, min: number, max: number): number | undefined {
  const v = fields[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw fail("INVALID_ARGUMENT", `${key} must be an integer from ${min} to ${max}`);
  }
  return n;
}

export interface MultipartForm {
  fields: Record<string, string>;
  /** The first uploaded file. */
  file?: Buffer;
}

/** A multipart/form-data body: text fields and the first file (size limits from the app). */
export async function readMultipart(req: FastifyRequest): Promise<MultipartForm> {
  const form: MultipartForm = { fields: {} };
  try {
    for await (const part of req.parts()) {
      if (part.type === "file") {
        const bytes = await part.toBuffer();
        form.file ??= bytes;
      } else if (typeof part.value === "string") {
        form.fields[part.fieldname] = part.value;
      } else {
        throw fail("INVALID_ARGUMENT", `form field ${clip(part.fieldname)} must be text`);
      }
    }
  } catch (e) {
    // Limits (@fastify/multipart, with codes) pass through; the parser's own complaints
    // ("Unexpected end of multipart data", "Malformed part header") are the client's fault.
    if (isSightlineError(e) || (e as { code?: string }).code) throw e;
    throw failWith(e, "BAD_REQUEST", `malformed multipart body: ${(e as Error).message}`);
  }
  return form;
}

/** An AbortSignal that fires when the client closes the connection before it got its answer. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
