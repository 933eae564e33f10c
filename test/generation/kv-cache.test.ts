// The decoder cache's row bookkeeping: rows are gathered only when they moved, into buffers that are
// used again at the next step (KvDecoder hands them back once the step has read them).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  gatherCache,
  GatherBuffers,
  inRowOrder,
  reorderCache,
  type KvCache,
} from "../../src/generation/kv-cache.js";
import { Tensor } from "../../src/graph/session.js";

/** A cache of `rows` rows, 2 layers, each row's values its row number × 10 + position. */
function cache(rows: number, positions: number): KvCache<string> {
  const layer = () => {
    const data = new Float32Array(rows * positions);
    for (let r = 0; r < rows; r++) for (let p = 0; p < positions; p++) data[r * positions + p] = r * 10 + p;
    return new Tensor("float32", data, [rows, 1, positions, 1]);
  };
  const mask = new Uint8Array(rows * positions).fill(1);
  for (let r = 0; r < rows; r++) mask[r * positions] = r % 2; // row r's first position padding when r is even
  return {
    keys: [layer(), layer()],
    values: [layer(), layer()],
    mask,
    length: positions,
    rows: Array.from({ length: rows }, (_, r) => r),
    past: Array.from({ length: rows }, (_, r) => positions - 1 + (r % 2)),
    sources: Array.from({ length: rows }, (_, r) => `request ${r}`),
  };
}

test("gatherCache: nothing moved is the cache itself; moved rows are copied in their new order, mask too", () => {
  const c = cache(3, 4);
  assert.ok(inRowOrder(c));
  assert.equal(gatherCache(c), c);
  const moved = reorderCache(c, [2, 2, 0]);
  assert.ok(!inRowOrder(moved));
  const g = gatherCache(moved);
  assert.ok(inRowOrder(g));
  assert.deepEqual(g.keys[1].dims, [3, 1, 4, 1]);
  assert.deepEqual([...(g.values[0].data as Float32Array)], [20, 21, 22, 23, 20, 21, 22, 23, 0, 1, 2, 3]);
  assert.deepEqual([...g.mask], [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]);
  assert.deepEqual(g.sources, ["request 2", "request 2", "request 0"]);
  // Dropping a finished row (a request leaving the batch) gathers too.
  const left = gatherCache(reorderCache(c, [0, 2]));
  assert.deepEqual([...(left.keys[0].data as Float32Array)], [0, 1, 2, 3, 20, 21, 22, 23]);
});

test("GatherBuffers: a buffer handed back is used again when large enough; a larger cache gets a new one", () => {
  const buffers = new GatherBuffers();
  const bufferOf = (t: Tensor) => (t.data as Float32Array).buffer;
  const c = reorderCache(cache(3, 4), [1, 0, 2]);
  const first = gatherCache(c, buffers.take);
  const used = new Set([...first.keys, ...first.values].map(bufferOf));
  buffers.give([...first.keys, ...first.values]);
  const second = gatherCache(c, buffers.take);
  for (const t of [...second.keys, ...second.values]) assert.ok(used.has(bufferOf(t)));
  assert.deepEqual([...(second.keys[0].data as Float32Array)], [10, 11, 12, 13, 0, 1, 2, 3, 20, 21, 22, 23]);
  buffers.give([...second.keys, ...second.values]);
  // 12 floats were asked for and 15 given (a quarter more): one more position per row (15) still fits.
  assert.ok(used.has(buffers.take(15).buffer));
  assert.ok(!used.has(buffers.take(24).buffer));
});
