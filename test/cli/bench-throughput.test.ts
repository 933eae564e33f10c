// sightline bench --concurrency N: captions/s with 1 and N clients (requests batched), latency at N,
// in the JSON row and as a line under the table. Measured here on the tiny fixture model.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { measureThroughput } from "../../bench/lib/throughput.js";
import { formatTable } from "../../src/cli/commands/bench.js";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import { benchRow } from "../helpers/bench-row.js";
import { fixtureDir } from "../helpers/fixtures.js";

const model = await loadModel(fixtureDir("vit-gpt2"), { threads: 1 });
after(() => model.dispose());

test("bench --concurrency 8: throughput {c1, c8}, latency p50/p95 at 8, CPU per caption, load average", async () => {
  const image = await readImageFile(join(fixtureDir("vit-gpt2"), "image1.png"));
  const lines: string[] = [];
  const r = await measureThroughput(
    model,
    image,
    { maxNewTokens: 5, numBeams: 1 },
    8,
    (l) => lines.push(l),
    1,
  );
  assert.deepEqual(Object.keys(r.throughput!), ["c1", "c8"]);
  for (const v of [...Object.values(r.throughput!), ...Object.values(r.cpuMsPerCaption!)]) assert.ok(v > 0);
  assert.equal(r.latency!.concurrency, 8);
  assert.ok(r.latency!.p50Ms > 0 && r.latency!.p95Ms >= r.latency!.p50Ms);
  assert.equal(r.throughputLoadAverage!.length, 2);
  assert.match(lines.join("\n"), /1 client .*\/s, 8 clients .*\/s/);
  // The model is back to one request at a time afterwards.
  assert.equal((model as any).model.kvDecoder.batch, undefined);

  const row = benchRow({
    throughput: { c1: 1, c8: 2.5 },
    latency: { concurrency: 8, p50Ms: 3000, p95Ms: 3500 },
    throughputLoadAverage: [1.5, 2],
  });
  assert.match(
    formatTable([row]),
    /vit-gpt2: 1 client 1\.00 captions\/s, 8 clients 2\.50\/s \(2\.50×\), latency at 8 p50 3000 ms, p95 3500 ms; load average 1\.5 → 2\.0/,
  );
});
