// The server's log: one line per request (method, path, status, time, and the error code when it
// failed), written by the app's onResponse hook rather than fastify's two lines per request.
// Levels tell an operator what needs them: a client's mistake (4xx) is info without a stack, an
// overloaded or closing server (QUEUE_FULL, SHUTTING_DOWN) warn, a failure of ours (5xx) error with
// its stack, once. Orchestrator probes (/healthz, /readyz, /metrics) log at debug only.
// On a terminal the lines are pretty (time, level, message, a few fields); piped or configured
// (`--log-format json`) they stay pino's JSON lines.
import { pino, type Logger } from "pino";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { clip, type SightlineError } from "../errors.js";

export type LogFormat = "auto" | "pretty" | "json";

const failures = new WeakMap<FastifyRequest, SightlineError>();

/** Remembers the error a request was answered with, for its log line. */
export function noteFailure(req: FastifyRequest, e: SightlineError): void {
  failures.set(req, e);
}

/** Routes probed every few seconds by load balancers and Prometheus. */
const probes = new Set(["/healthz", "/readyz", "/metrics"]);

/** Codes that say the server is busy or closing: the operator may want to know, nobody erred. */
const busyCodes = new Set(["QUEUE_FULL", "SHUTTING_DOWN"]);

type Level = "debug" | "info" | "warn" | "error";

function levelOf(status: number, e: SightlineError | undefined, probe: boolean): Level {
  if (status >= 500 && !(e && busyCodes.has(e.code))) return "error";
  if ((e && busyCodes.has(e.code)) || status === 429 || status === 503) return "warn";
  if (probe && status < 400) return "debug";
  return "info";
}

/** Adds the one-line-per-request log to `app`. */
export function logRequests(app: FastifyInstance): void {
  app.addHook("onResponse", async (req, reply) => {
    const status = reply.statusCode;
    const e = failures.get(req);
    const path = clip(req.url.split("?")[0] ?? "", 200);
    const probe = probes.has(req.routeOptions.url ?? "");
    const level = levelOf(status, e, probe);
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    const fields: Record<string, unknown> = { method: req.method, path, status, ms };
    let msg = `${req.method} ${path} ${status} ${ms} ms`;
    if (e) {
      fields.code = e.code;
      msg += ` ${e.code}: ${clip(e.message, 300)}`;
      // The stack once, for failures of ours; a client's mistake needs none.
      if (level === "error") fields.err = e.cause ?? e;
    }
    req.log[level](fields, msg);
  });
}

const levelNames: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};

/** Fields a pretty line leaves out: the message already says them, or nobody reading a terminal needs them. */
const quietFields = new Set([
  "level",
  "time",
  "pid",
  "hostname",
  "msg",
  "reqId",
  "method",
  "path",
  "status",
  "ms",
  "err",
]);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** One pino JSON line → `12:03:44 INFO  message key=value …` (and an error's stack below it). */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith("\n") ? json : json + "\n";
  }
  const t = new Date(typeof o.time === "number" ? o.time : Date.now());
  const time = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  const level = levelNames[o.level as number] ?? String(o.level);
  const extra = Object.entries(o)
    .filter(([k, v]) => !quietFields.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  let line = `${time} ${level} ${String(o.msg ?? "")}${extra.length ? "  " + extra.join(" ") : ""}\n`;
  const err = o.err as { stack?: string; message?: string } | undefined;
  if (err?.stack) line += err.stack.replace(/^/gm, "    ") + "\n";
  return line;
}

/** A writable pino destination that turns each JSON line into a pretty one. */
export function prettyStream(out: NodeJS.WritableStream = process.stdout): { write(chunk: string): boolean } {
  return { write: (chunk: string) => out.write(prettyLine(chunk.trimEnd())) };
}

/** The server's logger: pretty on a terminal (format auto), JSON lines otherwise. */
export function createLogger(options: {
  level: string;
  format?: LogFormat;
  out?: NodeJS.WriteStream;
}): Logger {
  const out = options.out ?? process.stdout;
  const format = options.format ?? "auto";
  const pretty = format === "pretty" || (format === "auto" && out.isTTY === true);
  if (pretty) return pino({ level: options.level }, prettyStream(out));
  return options.out ? pino({ level: options.level }, options.out) : pino({ level: options.level });
}
