// Request bodies: how JSON and raw image bodies are read, and how many large ones at once.
//
// Large bodies (base64 images in JSON: tens of MB each) cost the server several times their size
// while they are read and parsed, and memory the process takes at a peak mostly stays with it
// afterwards: the C allocator keeps the freed 64 KiB socket chunks it handed out while whole bodies
// were collected chunk by chunk. So:
//   - a body of known length is read into one buffer of that length as it arrives (each socket
//     chunk is garbage at once, and the big buffer goes back to the OS when freed);
//   - bodies over `largeBytes` are read a budget at a time: one that would take the bytes being
//     read past `budgetBytes` waits (its socket is not read: TCP holds the client back) until
//     earlier large ones are read; small bodies never wait;
//   - once the last large body is done, a garbage collection runs, so what it left behind is freed
//     now rather than whenever V8 next collects.
// Measured (8 concurrent 80 MB JSON bodies, --max-image-mb 20): see docs/api.md, "Limits".
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { fail } from "../errors.js";

export interface BodyBudgetOptions {
  /** Bytes of large bodies in flight at once (at least one body of the body limit gets through). */
  budgetBytes: number;
  /** Bodies up to this size are not counted (default 1 MiB). */
  largeBytes?: number;
}

/** V8's gc(), without starting node with --expose-gc. */
function collector(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

export class BodyBudget {
  private inFlight = 0;
  private readonly waiters: { bytes: number; go: () => void }[] = [];
  private readonly gc = collector();
  private gcTimer: NodeJS.Timeout | undefined;
  readonly largeBytes: number;

  constructor(private readonly options: BodyBudgetOptions) {
    this.largeBytes = options.largeBytes ?? 1024 * 1024;
  }

  /** Bytes of large bodies being read or handled now. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Resolves when `bytes` fit in the budget (at once when nothing else is in flight). */
  acquire(bytes: number): Promise<void> {
    clearTimeout(this.gcTimer);
    if (
      this.waiters.length === 0 &&
      (this.inFlight === 0 || this.inFlight + bytes <= this.options.budgetBytes)
    ) {
      this.inFlight += bytes;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiters.push({ bytes, go }));
  }

  release(bytes: number): void {
    this.inFlight -= bytes;
    while (this.waiters.length > 0) {
      const next = this.waiters[0]!;
      if (this.inFlight > 0 && this.inFlight + next.bytes > this.options.budgetBytes) break;
      this.waiters.shift();
      this.inFlight += next.bytes;
      next.go();
    }
    if (this.inFlight === 0 && this.gc) {
      // A moment later, so a burst of large requests is collected once, after its last answer.
      clearTimeout(this.gcTimer);
      this.gcTimer = setTimeout(() => this.gc?.(), 200);
      this.gcTimer.unref();
    }
  }

  /** Counts `app`'s large request bodies against the budget while they are read. */
  register(app: FastifyInstance): void {
    app.addHook("preParsing", async (req: FastifyRequest, reply, payload) => {
      const length = Number(req.headers["content-length"] ?? NaN);
      // A body of unknown length (chunked) counts as large: it may be.
      const bytes = Number.isFinite(length) ? length : this.largeBytes + 1;
      if (bytes <= this.largeBytes) return payload;
      const counted = Math.min(bytes, this.options.budgetBytes);
      await this.acquire(counted);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.release(counted);
      };
      // Read to the end, failed, or the client went away; the answer at the latest.
      payload.once("end", release);
      payload.once("close", release);
      payload.once("error", release);
      reply.raw.once("close", release);
      return payload;
    });
  }
}

/**
 * The whole body of a request, at most `limit` bytes: into one buffer of the declared length when
 * there is one (no chunk list to hold on to), else collected. BODY_TOO_LARGE past the limit.
 */
export function readBody(
  req: FastifyRequest,
  payload: NodeJS.ReadableStream,
  limit: number,
): Promise<Buffer> {
  const header = req.headers["content-length"];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > limit) {
    return Promise.reject(fail("BODY_TOO_LARGE", `${declared} bytes, the limit is ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const whole =
      declared !== undefined && Number.isSafeInteger(declared) ? Buffer.allocUnsafeSlow(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (e: Error) => {
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
      reject(e);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (received + bytes.length > (whole?.length ?? limit)) {
        stop(
          whole
            ? fail("BAD_REQUEST", "Content-Length does not match the body")
            : fail("BODY_TOO_LARGE", `over ${limit} bytes`),
        );
        return;
      }
      if (whole) bytes.copy(whole, received);
      else chunks.push(bytes);
      received += bytes.length;
    };
    const onEnd = () => {
      payload.removeListener("data", onData);
      payload.removeListener("error", onError);
      if (whole && received !== whole.length)
        reject(fail("BAD_REQUEST", "Content-Length does not match the body"));
      else resolve(whole ?? Buffer.concat(chunks, received));
    };
    const onError = (e: Error) => stop(Object.assign(e, { statusCode: 400 }));
    payload.on("data", onData);
    payload.once("end", onEnd);
    payload.once("error", onError);
    payload.resume();
  });
}

/** Limits of the body parsers: JSON bodies, and raw image bodies (image/*, application/octet-stream). */
export interface BodyLimits {
  jsonBytes: number;
  imageBytes: number;
}

/** A JSON body parser (prototype poisoning refused, as fastify's own) reading with readBody(). */
export function jsonBodyParser(app: FastifyInstance, limit: number) {
  const parseJson = app.getDefaultJsonParser("error", "error");
  return async (req: FastifyRequest, payload: NodeJS.ReadableStream): Promise<unknown> => {
    const body = await readBody(req, payload, limit);
    if (body.length === 0) throw fail("JSON_INVALID", "the body is empty");
    return new Promise((resolve, reject) =>
      parseJson(req, body.toString("utf8"), (err, value) => (err ? reject(err) : resolve(value))),
    );
  };
}

/** JSON and raw image (image/*, application/octet-stream → a Buffer) bodies, read with readBody(). */
export function registerBodyParsers(app: FastifyInstance, limits: BodyLimits): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", jsonBodyParser(app, limits.jsonBytes));
  app.addContentTypeParser(
    /^(image\/[\w.+-]+|application\/octet-stream)$/,
    (req: FastifyRequest, payload: NodeJS.ReadableStream) => readBody(req, payload, limits.imageBytes),
  );
}
