// ModelQueue + worker processes with the fake model: FIFO order, one load for concurrent first
// requests, idle unload and reload, crash recovery, queue bound, timeouts and cancellation,
// shutdown.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelQueue, type ModelQueueOptions } from "../../src/queue/model-queue.js";
import { isSightlineError } from "../../src/errors.js";
import { alive, captionGate, fakeLoader, fakeModelDir, rgb, waitFor } from "../server/helpers.js";

const folders = new WeakMap<ModelQueue, string>();

/** What the fake model in `q`'s folder has done so far (see fake-model.ts). */
function stepsLog(q: ModelQueue): string {
  try {
    return readFileSync(join(folders.get(q)!, "steps.log"), "utf8");
  } catch {
    return "";
  }
}

function queue(config: Record<string, unknown> = {}, options: Partial<ModelQueueOptions> = {}) {
  const folder = fakeModelDir(config);
  const events = { loads: 0, unloads: [] as string[], crashes: 0 };
  const q = new ModelQueue({
    name: "fake",
    resolveFolder: async () => folder,
    loaderModule: fakeLoader,
    maxQueue: 100,
    idleUnloadMs: 0,
    runTimeoutMs: 30_000,
    events: {
      loaded: () => void events.loads++,
      unloaded: (_m, info) => void events.unloads.push(info.reason),
      crashed: () => void events.crashes++,
    },
    ...options,
  });
  folders.set(q, folder);
  return { q, events };
}

function code(e: unknown): string | undefined {
  return isSightlineError(e) ? e.code : undefined;
}

test("20 concurrent requests are answered in arrival order after one shared load", async () => {
  const { q, events } = queue({ load_delay_ms: 200, caption_delay_ms: 5 });
  try {
    const done: number[] = [];
    const jobs = Array.from({ length: 20 }, (_, i) =>
      q.submit(rgb(i + 1, 2), {}).then((r) => {
        done.push(i);
        return r;
      }),
    );
    assert.equal(q.state, "loading");
    const results = await Promise.all(jobs);
    assert.equal(events.loads, 1, "one load for all first requests");
    assert.deepEqual(done, [...Array(20).keys()], "completion order = arrival order");
    results.forEach((r, i) => {
      assert.equal(r.result.tokenIds[0], i + 1, "worker saw them in order");
      assert.match(r.result.text, new RegExp(`^fake ${i + 1}x2 `));
    });
    const pids = new Set(results.map((r) => /pid (\d+)/.exec(r.result.text)![1]));
    assert.equal(pids.size, 1);
  } finally {
    await q.close();
  }
});

test("idle unload ends the worker process; the next request loads a fresh one", async () => {
  const { q, events } = queue({}, { idleUnloadMs: 300 });
  try {
    await q.submit(rgb(2, 2), {});
    const pid = q.pid;
    assert.ok(alive(pid));
    assert.ok(q.expiresAt && q.expiresAt > Date.now());
    await waitFor(() => q.state === "unloaded", 3000);
    await waitFor(() => !alive(pid), 3000);
    assert.deepEqual(events.unloads, ["idle"]);
    const again = await q.submit(rgb(3, 2), {});
    assert.match(again.result.text, /^fake 3x2 .* #1 /, "a fresh model");
    assert.notEqual(q.pid, pid);
    assert.equal(events.loads, 2);
  } finally {
    await q.close();
  }
});

test("no idle unload while requests are queued or running", async () => {
  const { q, events } = queue({ caption_delay_ms: 150 }, { idleUnloadMs: 100 });
  try {
    const jobs = Array.from({ length: 4 }, () => q.submit(rgb(2, 2), {}));
    const results = await Promise.all(jobs);
    assert.equal(new Set(results.map((r) => /pid (\d+)/.exec(r.result.text)![1])).size, 1);
    assert.equal(events.unloads.length, 0);
  } finally {
    await q.close();
  }
});

test("a crashing worker fails only its request with WORKER_CRASHED; the next starts a fresh worker", async () => {
  const { q, events } = queue({ caption_delay_ms: 20 });
  try {
    const first = await q.submit(rgb(2, 2), {});
    const crashed = q.submit(rgb(2, 2), { prompt: "<CRASH>" });
    const behind = q.submit(rgb(5, 5), {});
    await assert.rejects(crashed, (e) => code(e) === "WORKER_CRASHED");
    const after = await behind;
    assert.match(after.result.text, /^fake 5x5 .* #1 /);
    assert.notEqual(/pid (\d+)/.exec(after.result.text)![1], /pid (\d+)/.exec(first.result.text)![1]);
    assert.equal(events.crashes, 1);
  } finally {
    await q.close();
  }
});

test("past maxQueue waiting requests: QUEUE_FULL with a Retry-After estimate", async () => {
  const { q } = queue({ caption_delay_ms: 200 }, { maxQueue: 2 });
  try {
    const running = q.submit(rgb(2, 2), {});
    await waitFor(() => q.depth === 0); // the first one left the queue to run (load)
    const waiting = [q.submit(rgb(2, 2), {}), q.submit(rgb(2, 2), {})];
    await assert.rejects(q.submit(rgb(2, 2), {}), (e) => {
      assert.equal(code(e), "QUEUE_FULL");
      assert.ok((e as { retryAfter?: number }).retryAfter! >= 1);
      return true;
    });
    await Promise.all([running, ...waiting]);
  } finally {
    await q.close();
  }
});

test("request timeout while waiting: TIMEOUT, and the queue goes on", async () => {
  const { q } = queue();
  try {
    const slow = q.submit(rgb(2, 2), { prompt: "<SLEEP:600>" });
    const late = q.submit(rgb(2, 2), {}, { timeoutMs: 150 });
    await assert.rejects(late, (e) => code(e) === "TIMEOUT");
    await slow;
    assert.equal(q.depth, 0);
    await q.submit(rgb(2, 2), {});
  } finally {
    await q.close();
  }
});

test("a run longer than runTimeoutMs is stopped between steps (TIMEOUT); the worker stays loaded", async () => {
  const { q, events } = queue({}, { runTimeoutMs: 300 });
  try {
    await q.submit(rgb(2, 2), {});
    const pid = q.pid;
    await assert.rejects(q.submit(rgb(2, 2), { prompt: "<STEPS:400:25>" }), (e) => code(e) === "TIMEOUT");
    const r = await q.submit(rgb(4, 4), {});
    assert.match(r.result.text, /^fake 4x4 .* #3 /, "the same model took the next request");
    assert.equal(q.pid, pid);
    assert.ok(alive(pid));
    assert.equal(events.crashes, 0);
    assert.deepEqual(events.unloads, []);
    assert.match(stepsLog(q), /cancelled #2 \d+/);
  } finally {
    await q.close();
  }
});

test("a hung model that ignores the cancel is ended cancelGraceMs later; the next request gets a fresh worker", async () => {
  const { q, events } = queue({}, { runTimeoutMs: 300, cancelGraceMs: 300 });
  try {
    await q.submit(rgb(2, 2), {});
    const pid = q.pid;
    await assert.rejects(q.submit(rgb(2, 2), { prompt: "<SLEEP:5000>" }), (e) => code(e) === "TIMEOUT");
    await waitFor(() => !alive(pid));
    assert.equal(events.crashes, 1);
    const r = await q.submit(rgb(4, 4), {});
    assert.match(r.result.text, /^fake 4x4/);
    assert.notEqual(q.pid, pid);
  } finally {
    await q.close();
  }
});

test("a client that goes away mid-generation: the run stops at the next step, the next request starts on the same worker", async () => {
  const { q, events } = queue();
  try {
    await q.submit(rgb(2, 2), {});
    const pid = q.pid;
    const controller = new AbortController();
    const gone = q.submit(rgb(3, 3), { prompt: "<STEPS:400:25>" }, { signal: controller.signal });
    const next = q.submit(rgb(5, 5), {});
    await waitFor(() => /step #2 3\n/.test(stepsLog(q)), 10_000); // mid-generation
    controller.abort();
    await assert.rejects(gone, (e) => code(e) === "REQUEST_CANCELLED");
    const r = await next;
    assert.match(r.result.text, /^fake 5x5 .* #3 pid (\d+)/);
    assert.equal(q.pid, pid, "no restart");
    assert.equal(events.crashes, 0);
    // The worker's own record: run #2 stopped at a step boundary, far from its 400th step, and
    // run #3 started right after it.
    const lines = stepsLog(q).trim().split("\n");
    const cancelled = lines.findIndex((l) => /^cancelled #2 /.test(l));
    assert.ok(cancelled >= 0, lines.join("\n"));
    assert.ok(Number(lines[cancelled]!.split(" ")[2]) < 400);
    assert.equal(lines[cancelled + 1], "start #3");
  } finally {
    await q.close();
  }
});

test("a caption error is that request's error; the worker stays", async () => {
  const { q } = queue();
  try {
    await q.submit(rgb(2, 2), {});
    const pid = q.pid;
    await assert.rejects(q.submit(rgb(2, 2), { prompt: "<FAIL>" }), (e) => code(e) === "INTERNAL");
    await q.submit(rgb(2, 2), {});
    assert.equal(q.pid, pid);
  } finally {
    await q.close();
  }
});

test("a load failure fails every request waiting for it; a later request tries again", async () => {
  const { q } = queue({ fail_load: true });
  try {
    const jobs = [q.submit(rgb(2, 2), {}), q.submit(rgb(2, 2), {})];
    for (const j of jobs) await assert.rejects(j, /fake load failure/);
    await assert.rejects(q.submit(rgb(2, 2), {}), /fake load failure/);
    assert.equal(q.state, "unloaded");
  } finally {
    await q.close();
  }
});

test("unload() while busy waits for the queued work; close() fails what still waits", async () => {
  const gate = captionGate();
  const { q, events } = queue({ caption_gate: gate.dir });
  after(() => q.close());
  const a = q.submit(rgb(2, 2), {});
  const b = q.submit(rgb(2, 2), {});
  await waitFor(() => gate.started(1) && q.depth === 1, 120_000); // a runs (held by the gate), b waits
  q.unload();
  gate.open();
  await Promise.all([a, b]);
  await waitFor(() => q.state === "unloaded");
  assert.deepEqual(events.unloads, ["requested"]);
  gate.close();
  const c = q.submit(rgb(2, 2), {});
  const d = q.submit(rgb(2, 2), {});
  await waitFor(() => gate.started(1) && q.state === "ready" && q.depth === 1, 120_000); // c runs (a new worker), d waits
  const outcomes = [assert.rejects(d, (e) => code(e) === "SHUTTING_DOWN"), assert.rejects(c)]; // c: its worker ends under it
  await q.close();
  await Promise.all(outcomes);
  await assert.rejects(q.submit(rgb(2, 2), {}), (e) => code(e) === "SHUTTING_DOWN");
});

test("a request whose client went away is dropped while it waits", async () => {
  const { q } = queue({ caption_delay_ms: 300 });
  try {
    const running = q.submit(rgb(2, 2), {});
    const controller = new AbortController();
    const dropped = q.submit(rgb(3, 3), {}, { signal: controller.signal });
    const kept = q.submit(rgb(4, 4), {});
    assert.equal(q.depth, 2);
    controller.abort();
    await assert.rejects(dropped, (e) => code(e) === "REQUEST_CANCELLED");
    assert.equal(q.depth, 1);
    await running;
    const r = await kept;
    assert.match(r.result.text, /^fake 4x4 .* #2 /, "the dropped request never ran");
  } finally {
    await q.close();
  }
});

test("a load that hangs past loadTimeoutMs fails its requests and is retried by the next one", async () => {
  const { q } = queue({ load_delay_ms: 5000 }, { loadTimeoutMs: 1500 });
  try {
    await assert.rejects(
      q.submit(rgb(2, 2), {}),
      (e) => code(e) === "WORKER_CRASHED" && /longer than 1.5 s/.test((e as Error).message),
    );
    assert.equal(q.state, "unloaded");
  } finally {
    await q.close();
  }
});
