// torchvision's uint8 bicubic antialiased resize: shape handling and invariants. Its exact values are
// checked against transformers' pixel values in test/models/qwen3-vl/image-processor.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resizeBicubicAntialiasTorch } from "../../src/images/torchvision-resize.js";

const image = (width: number, height: number, channels: number, fill: (i: number) => number) => ({
  data: Uint8Array.from({ length: width * height * channels }, (_, i) => fill(i)),
  width,
  height,
  channels,
});

test("the same size is an unchanged copy", () => {
  const src = image(5, 3, 3, (i) => (i * 37) % 256);
  const out = resizeBicubicAntialiasTorch(src, 5, 3);
  assert.deepEqual(out.data, src.data);
  assert.notEqual(out.data, src.data);
});

test("a flat image stays flat when shrinking and enlarging, on every channel count", () => {
  for (const channels of [1, 3, 4]) {
    for (const [w, h] of [
      [7, 5],
      [64, 48],
      [3, 97],
    ]) {
      for (const v of [0, 1, 128, 254, 255]) {
        const out = resizeBicubicAntialiasTorch(
          image(40, 30, channels, () => v),
          w,
          h,
        );
        assert.equal(out.data.length, w * h * channels);
        assert.ok(
          out.data.every((x) => x === v),
          `${channels}ch ${w}x${h} value ${v}`,
        );
      }
    }
  }
});

test("bicubic overshoot at a hard edge is clamped to 0 and 255, not wrapped", () => {
  const edge = image(8, 1, 1, (i) => (i < 4 ? 0 : 255));
  const out = Array.from(resizeBicubicAntialiasTorch(edge, 32, 1).data);
  // The cubic's negative lobes push the samples next to the edge below 0 and above 255.
  assert.deepEqual(out.slice(0, 12), new Array(12).fill(0));
  assert.deepEqual(out.slice(-12), new Array(12).fill(255));
  assert.ok(
    out.every((x, i) => i === 0 || x >= out[i - 1]!),
    "monotonic across the edge",
  );
});

test("a non-positive size is refused", () => {
  assert.throws(
    () =>
      resizeBicubicAntialiasTorch(
        image(2, 2, 3, () => 0),
        0,
        2,
      ),
    RangeError,
  );
});
