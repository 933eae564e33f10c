// The server's log as an operator reads it: one line per request; probes (/healthz, /readyz) not
// at info; a client's mistake at info without a stack, however long its input; a full queue at
// warn without a stack; a failure of ours at error with its stack, once. Pretty lines on a
// terminal (or --log-format pretty), JSON lines when piped; the start line once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { build } from "../../src/server/app.js";
import { prettyLine } from "../../src/server/logging.js";
import type { Runtime } from "../../src/server/runtime.js";
import { fakeLoader, fakeModelDir, fakeRuntime, png, waitFor } from "./helpers.js";

const mainTs = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

let app: FastifyInstance;
let runtime: Runtime;
let image: string;
const lines: Record<string, unknown>[] = [];
const raw: string[] = [];

before(async () => {
  image = (await png(4, 4)).toString("base64");
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir() }, maxQueue: 1 });
  app = await build({ runtime, loggerInstance: pino({ level: "info" }, sink) });
});

after(async () => {
  await app.close();
  await runtime.close();
});

/** Log lines written while `fn` runs (pino writes synchronously to the sink). */
async function logged(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const from = lines.length;
  await fn();
  return lines.slice(from);
}

const caption = (payload: object) => app.inject({ method: "POST", url: "/api/v1/web/caption", payload });

test("one line per request; probes log nothing at info", async () => {
  const ok = await logged(() => caption({ image }));
  assert.equal(ok.length, 1, JSON.stringify(ok));
  assert.equal(ok[0]!.level, 30);
  assert.match(String(ok[0]!.msg), /^POST \/api\/v1\/web\/caption 200 [\d.]+ ms$/);
  const probes = await logged(async () => {
    for (let i = 0; i < 5; i++) {
      await app.inject({ method: "GET", url: "/healthz" });
      await app.inject({ method: "GET", url: "/readyz" });
    }
  });
  assert.deepEqual(probes, []);
});

test("a client's mistake: info, no stack, input quoted at most ~100 characters", async () => {
  const out = await logged(() =>
    app.inject({
      method: "POST",
      url: "/api/v1/vision/describe",
      payload: { image, model: "m".repeat(10_000_000) },
    }),
  );
  assert.equal(out.length, 1);
  assert.equal(out[0]!.level, 30);
  assert.equal(out[0]!.code, "MODEL_NOT_FOUND");
  assert.equal(out[0]!.err, undefined, "no stack");
  assert.ok(raw.at(-1)!.length < 1000, `a ${raw.at(-1)!.length}-character line`);
});

test("a full queue: warn without a stack; a failure of ours: error with the stack once", async () => {
  const running = caption({ image, prompt: "<SLEEP:1500>" });
  const queue = runtime.queue("kosmos-2");
  await waitFor(() => queue.busy && queue.depth === 0, 10_000); // the first one runs
  const waiting = caption({ image });
  await waitFor(() => queue.depth === 1);
  const full = await logged(() => caption({ image }));
  assert.equal(full.length, 1);
  assert.equal(full[0]!.level, 40);
  assert.equal(full[0]!.code, "QUEUE_FULL");
  assert.equal(full[0]!.err, undefined);
  assert.equal((await running).statusCode, 200);
  assert.equal((await waiting).statusCode, 200);

  const failed = await logged(() => caption({ image, prompt: "<FAIL>" }));
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0]!.level, 50);
  assert.equal(failed[0]!.status, 500);
  const stack = String((failed[0]!.err as { stack?: string }).stack);
  assert.match(stack, /fake caption failure\n\s+at .*fake-model\.ts/, "the worker's stack");
  assert.equal(raw.at(-1)!.split('"stack"').length - 1, 1, "one stack");
});

test("pretty lines: time, level, message, extra fields, an error's stack indented below", () => {
  const line = prettyLine(
    JSON.stringify({
      level: 50,
      time: Date.UTC(2026, 0, 1, 12, 3, 4),
      pid: 1,
      hostname: "h",
      reqId: "r",
      method: "POST",
      path: "/x",
      status: 500,
      ms: 3,
      code: "INTERNAL",
      err: { message: "boom", stack: "Error: boom\n    at f (a.ts:1:1)" },
      msg: "POST /x 500 3 ms INTERNAL: boom",
    }),
  );
  assert.match(
    line,
    /^\d\d:\d\d:\d\d ERROR POST \/x 500 3 ms INTERNAL: boom {2}code=INTERNAL\n {4}Error: boom\n {8}at f/,
  );
  assert.equal(prettyLine("not json"), "not json\n");
});

/** Starts `serve` piped (as a service manager runs it) and returns its stdout once it serves. */
async function startLines(extra: string[]): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      mainTs,
      "serve",
      "--port",
      "0",
      "--model",
      `k=${fakeModelDir()}`,
      "--worker-loader",
      fakeLoader,
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const exited = new Promise((r) => child.once("exit", r));
  try {
    await waitFor(() => /serving k/.test(out), 30_000);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  return out.split("\n").filter(Boolean);
}

test("serve, piped: JSON lines, the start line once; --log-format pretty: readable lines", async () => {
  const [json, pretty] = await Promise.all([startLines([]), startLines(["--log-format", "pretty"])]);
  assert.equal(json.filter((l) => /listening on/.test(l)).length, 1, json.join("\n"));
  for (const l of json) assert.doesNotThrow(() => JSON.parse(l), l);
  const start = pretty.filter((l) => /listening on/.test(l));
  assert.equal(start.length, 1, pretty.join("\n"));
  assert.match(start[0]!, /^\d\d:\d\d:\d\d INFO {2}sightline listening on http:\/\/127\.0\.0\.1:\d+$/);
});
