// The resident-model cap (--max-loaded-models) with real worker processes and the fake model:
// least-recently-used idle model ends first, a model with queued or running work is never ended
// for another (the load waits), the cap is never exceeded, a waiting load gives up on close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ModelQueue } from "../../src/queue/model-queue.js";
import { ResidentModels } from "../../src/queue/resident-models.js";
import { isSightlineError } from "../../src/errors.js";
import { alive, fakeLoader, fakeModelDir, rgb, waitFor } from "../server/helpers.js";

function models(max: number, names: string[], config: Record<string, unknown> = {}) {
  const log: string[] = [];
  const slots = new ResidentModels(max);
  const q: Record<string, ModelQueue> = {};
  let mostAlive = 0;
  for (const name of names) {
    const folder = fakeModelDir(config);
    q[name] = new ModelQueue({
      name,
      resolveFolder: async () => folder,
      loaderModule: fakeLoader,
      maxQueue: 100,
      idleUnloadMs: 0,
      runTimeoutMs: 30_000,
      slots,
      events: {
        loaded: (m) => {
          log.push(`load ${m}`);
          // Worker processes really running at this moment, the new one included.
          mostAlive = Math.max(mostAlive, Object.values(q).filter((x) => alive(x.pid)).length);
        },
        unloaded: (m, info) => log.push(`end ${m} ${info.reason}`),
        done: (m) => log.push(`done ${m}`),
      },
    });
  }
  return {
    q,
    log,
    slots,
    mostAlive: () => mostAlive,
    close: () => Promise.all(Object.values(q).map((x) => x.close())),
  };
}

const loadedNames = (q: Record<string, ModelQueue>) =>
  Object.values(q)
    .filter((x) => x.state === "ready")
    .map((x) => x.name)
    .sort();

test("cap 2: the least recently used idle model is ended for a third, and its process is gone first", async () => {
  const m = models(2, ["a", "b", "c"]);
  try {
    await m.q.a!.submit(rgb(2, 2), {});
    await m.q.b!.submit(rgb(2, 2), {});
    await m.q.a!.submit(rgb(2, 2), {}); // a is now more recently used than b
    const bPid = m.q.b!.pid;
    await m.q.c!.submit(rgb(2, 2), {});
    assert.deepEqual(loadedNames(m.q), ["a", "c"]);
    assert.ok(!alive(bPid), "b's worker process ended");
    await m.q.b!.submit(rgb(2, 2), {}); // c was used after a: a goes
    assert.deepEqual(loadedNames(m.q), ["b", "c"]);
    await m.q.a!.submit(rgb(2, 2), {}); // c is the least recently used now
    assert.deepEqual(loadedNames(m.q), ["a", "b"]);
    assert.deepEqual(
      m.log.filter((l) => l.startsWith("end")),
      ["end b evicted", "end a evicted", "end c evicted"],
    );
    assert.ok(m.log.indexOf("end b evicted") < m.log.indexOf("load c"));
    assert.equal(m.mostAlive(), 2, "never more than 2 worker processes at once");
    assert.equal(m.slots.count, 2);
  } finally {
    await m.close();
  }
});

test("a model with running or queued work is never ended for another: the load waits for it", async () => {
  const m = models(1, ["a", "b"]);
  try {
    await m.q.a!.submit(rgb(2, 2), {});
    const aPid = m.q.a!.pid;
    const running = m.q.a!.submit(rgb(2, 2), { prompt: "<SLEEP:400>" });
    const queued = m.q.a!.submit(rgb(3, 3), {});
    const other = m.q.b!.submit(rgb(4, 4), {});
    await waitFor(() => m.q.b!.state === "loading"); // b waits for room
    const results = await Promise.all([running, queued]);
    for (const r of results) assert.match(r.result.text, new RegExp(`pid ${aPid}`), "a kept its worker");
    const b = await other;
    assert.match(b.result.text, /^fake 4x4 /);
    assert.deepEqual(m.log, ["load a", "done a", "done a", "done a", "end a evicted", "load b", "done b"]);
    assert.equal(m.mostAlive(), 1);
  } finally {
    await m.close();
  }
});

test("a model loaded but not yet used counts as used at load; a busy one is skipped for an idle one", async () => {
  const m = models(2, ["a", "b", "c"]);
  try {
    await m.q.a!.load();
    await m.q.b!.load(); // b loaded after a: a is the least recently used
    const busy = m.q.a!.submit(rgb(2, 2), { prompt: "<SLEEP:300>" });
    await m.q.c!.submit(rgb(2, 2), {}); // a is busy, so b goes although used later
    assert.deepEqual(
      m.log.filter((l) => l.startsWith("end")),
      ["end b evicted"],
    );
    await busy;
    assert.deepEqual(loadedNames(m.q), ["a", "c"]);
  } finally {
    await m.close();
  }
});

test("a crashed worker gives its slot back; a failed load too", async () => {
  const m = models(1, ["a", "b"]);
  const broken = new ModelQueue({
    name: "broken",
    resolveFolder: async () => fakeModelDir({ fail_load: true }),
    loaderModule: fakeLoader,
    maxQueue: 10,
    idleUnloadMs: 0,
    runTimeoutMs: 30_000,
    slots: m.slots,
  });
  try {
    await assert.rejects(m.q.a!.submit(rgb(2, 2), { prompt: "<CRASH>" }));
    await waitFor(() => m.slots.count === 0);
    await assert.rejects(broken.submit(rgb(2, 2), {}), /fake load failure/);
    await waitFor(() => m.slots.count === 0);
    await m.q.b!.submit(rgb(2, 2), {});
    assert.deepEqual(loadedNames(m.q), ["b"]);
  } finally {
    await Promise.all([m.close(), broken.close()]);
  }
});

test("a load waiting for room gives up with SHUTTING_DOWN when its queue closes", async () => {
  const m = models(1, ["a", "b"]);
  try {
    const running = m.q.a!.submit(rgb(2, 2), { prompt: "<SLEEP:500>" });
    await waitFor(() => m.q.a!.state === "ready");
    const waiting = m.q.b!.submit(rgb(2, 2), {});
    await waitFor(() => m.q.b!.state === "loading");
    await m.q.b!.close();
    await assert.rejects(waiting, (e) => isSightlineError(e) && e.code === "SHUTTING_DOWN");
    await running;
    assert.ok(!m.log.includes("load b"));
  } finally {
    await m.close();
  }
});
