// Kosmos-2 text-side helpers: HF create_position_ids_from_input_ids and the sinusoidal table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { positionIds, SinusoidalPositions } from "../../../src/models/kosmos-2/text.js";

test("position ids: non-pad tokens count from padding_idx + 1, pads stay at padding_idx", () => {
  assert.deepEqual(positionIds([0, 5, 1, 7], 1), [2, 3, 1, 4]);
  // A later step continues after the row's past_key_values_length, as HF's does.
  assert.deepEqual(positionIds([9], 1, 3), [5]);
  assert.deepEqual(positionIds([1], 1, 3), [1]);
  assert.deepEqual(positionIds([9], 1, 4), [6]);
});

test("sinusoidal rows: [sin | cos] of position · 10000^(-i/(half-1)), zero padding row and odd column", () => {
  const table = new SinusoidalPositions(5, 1);
  assert.deepEqual(Array.from(table.row(1)), [0, 0, 0, 0, 0]);
  const r = table.row(3);
  const freq1 = Math.fround(Math.exp(Math.fround(-Math.log(10000))));
  const expected = [
    Math.sin(3),
    Math.sin(Math.fround(3 * freq1)),
    Math.cos(3),
    Math.cos(Math.fround(3 * freq1)),
    0,
  ];
  expected.forEach((v, i) => assert.ok(Math.abs(r[i]! - v) < 1e-7, `column ${i}`));
});
