// sightline bench's roofline fields: a fixture model's sessions traced through one caption, its stages
// counted from their graphs, and the limits measured with small problem sizes (the bench's own are a
// 17 GFLOP GEMM and a 1 GiB weight; the plumbing is the same).
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { efficiencyFields, StageRecorder } from "../../bench/lib/efficiency.js";
import { measureRoofline, streamFolder } from "../../bench/lib/roofline.js";
import { formatTable } from "../../src/cli/commands/bench.js";
import { graphCost } from "../../src/graph/cost.js";
import { readImageFile } from "../../src/images/decode.js";
import { loadModel } from "../../src/models/index.js";
import { benchRow } from "../helpers/bench-row.js";
import { fixtureDir } from "../helpers/fixtures.js";

const IMAGE = new URL("../../../shared/images/gps/DSCN0010.jpg", import.meta.url).pathname;
const SMALL = { gemm: [{ m: 64, k: 128, n: 96 }], stream: { k: 256, n: 512 } };

test("bench efficiency: roofline, encoderEfficiency and decodeEfficiency from a fixture model's graphs", async () => {
  const recorder = new StageRecorder();
  recorder.start();
  const model = await loadModel(fixtureDir("vit-gpt2"), { threads: 1 });
  try {
    await model.caption(await readImageFile(IMAGE), { maxNewTokens: 4, numBeams: 1 });
  } finally {
    recorder.stop();
    await model.dispose();
  }
  const roofline = await measureRoofline(1, SMALL);
  rmSync(streamFolder(SMALL.stream), { recursive: true, force: true });
  assert.ok(roofline.gemmGflops > 0 && roofline.streamGBs > 0 && roofline.cpu.gemmGflops > 0);

  const fields = JSON.parse(JSON.stringify(efficiencyFields(recorder, "vit-gpt2", roofline)));
  assert.deepEqual(Object.keys(fields.roofline).sort(), ["gemmGflops", "streamGBs"]);
  const { encoder, decode } = fields.stages;
  assert.equal(encoder.graph, "vit-encoder");
  assert.equal(decode.graph, "gpt2-decoder-step");
  // The encoder's work is its graph's, for the pixel values it was fed.
  const traced = recorder.graphs.get("vit-encoder")!;
  const pixels = traced.runs[0].feeds.pixel_values;
  assert.equal(encoder.gflop * 1e9, graphCost(traced.graph, { pixel_values: pixels }).flops);
  assert.ok(encoder.gflop > 0 && encoder.weightGB > 0 && encoder.ms > 0);
  // One-row one-token steps (all four here: the prompt is BOS alone), less the session's first run.
  assert.equal(decode.runs, 3);
  assert.ok(decode.weightGB > 0);
  assert.ok(Math.abs(fields.encoderEfficiency - encoder.gflops / roofline.gemmGflops) < 1e-12);
  assert.ok(Math.abs(fields.decodeEfficiency - decode.GBs / roofline.streamGBs) < 1e-12);
  assert.ok(fields.cpuEfficiency.encoder > 0 && fields.cpuEfficiency.decode > 0);

  const row = benchRow({
    ...fields,
    threads: 1,
    loadAverage: { before: [1.5, 1, 1], after: [2, 1, 1] },
  });
  const table = formatTable([row]);
  assert.match(
    table,
    /vit-gpt2 \(1 threads, load average 1\.5→2\): GEMM [\d.]+ GFLOP\/s, streaming [\d.]+ GB\/s/,
  );
  assert.match(table, /encoder\s+[\d.]+ GFLOP in \d+ ms = [\d.]+ GFLOP\/s = \d+ % of peak/);
  assert.match(table, /decode step\s+\d+ MB weights in [\d.]+ ms = [\d.]+ GB\/s = \d+ % of streaming/);
});
