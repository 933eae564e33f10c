// Cancellation over real HTTP (issue 18, finding 5): a client that goes away mid-generation stops
// its run at the next decoder step and the next request starts on the same, still loaded worker;
// a request that times out is stopped the same way and never restarts the worker. The fake model
// runs "<STEPS:n:ms>" as n decoder steps and logs them to <folder>/steps.log.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import type { Runtime } from "../../src/server/runtime.js";
import { alive, fakeModelDir, fakeRuntime, png, waitFor } from "./helpers.js";

let image: string;
before(async () => {
  image = (await png(4, 4)).toString("base64");
});

interface Served {
  app: FastifyInstance;
  runtime: Runtime;
  base: string;
  folder: string;
  crashes: () => Promise<number>;
}

const servers: Served[] = [];
after(async () => {
  for (const s of servers) {
    await s.app.close();
    await s.runtime.close();
  }
});

async function serve(requestTimeoutSeconds = 120): Promise<Served> {
  const folder = fakeModelDir();
  const runtime = fakeRuntime({ models: { slow: folder }, requestTimeoutSeconds });
  const app = await build({ runtime });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const crashes = async () => {
    const m = /worker_restarts_total\{model="slow"\} (\d+)/.exec(await runtime.metrics.text());
    return m ? Number(m[1]) : 0;
  };
  const served = { app, runtime, base, folder, crashes };
  servers.push(served);
  return served;
}

function stepsLog(s: Served): string[] {
  try {
    return readFileSync(join(s.folder, "steps.log"), "utf8").trim().split("\n");
  } catch {
    return [];
  }
}

function caption(s: Served, prompt?: string, signal?: AbortSignal) {
  return fetch(`${s.base}/api/v1/web/caption`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image, prompt }),
    signal,
  });
}

test("a client that disconnects mid-generation: the run stops at the next step, the next request runs on the same worker", async () => {
  const s = await serve();
  assert.equal((await caption(s)).status, 200); // loaded
  const pid = s.runtime.loaded()[0]!.pid;
  const controller = new AbortController();
  const gone = caption(s, "<STEPS:400:25>", controller.signal).catch((e: Error) => e);
  await waitFor(() => stepsLog(s).includes("step #2 3"), 10_000);
  controller.abort();
  assert.equal(((await gone) as Error).name, "AbortError");
  const next = await caption(s);
  assert.equal(next.status, 200);
  assert.match(((await next.json()) as { text: string }).text, /#3 pid (\d+)/);
  assert.equal(s.runtime.loaded()[0]!.pid, pid, "the worker stayed");
  assert.ok(alive(pid));
  const log = stepsLog(s);
  const cancelled = log.findIndex((l) => l.startsWith("cancelled #2 "));
  assert.ok(cancelled >= 0, log.join("\n"));
  assert.ok(Number(log[cancelled]!.split(" ")[2]) < 400, "stopped long before its last step");
  assert.equal(log[cancelled + 1], "start #3", "the next request started right after");
});

test("a request that times out: 504, the run is stopped, the worker is not restarted", async () => {
  const s = await serve(2);
  await s.runtime.load("slow"); // loading is not what times out here
  const pid = s.runtime.loaded()[0]!.pid;
  const timedOut = await caption(s, "<STEPS:400:25>");
  assert.equal(timedOut.status, 504);
  assert.equal(((await timedOut.json()) as { code: string }).code, "TIMEOUT");
  const next = await caption(s);
  assert.equal(next.status, 200, `${await next.text()} ${stepsLog(s).slice(-4).join(" | ")}`);
  assert.equal(s.runtime.loaded()[0]!.pid, pid, "same worker");
  assert.equal(await s.crashes(), 0, "no restart");
  assert.ok(
    stepsLog(s).some((l) => l.startsWith("cancelled #1 ")),
    stepsLog(s).join("\n"),
  );
});
