// Pillow-exactness of the resampler on synthetic images. The expected quadrant values are the
// ones Pillow's own accuracy tests assert (Tests/test_image_resample.py,
// TestImagingCoreResampleAccuracy, Pillow 9.4); the fixtures' pixel_values are the other half of
// the evidence (test/images/image-processor.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Resample, resizeRgb, resizeUint8, type Uint8Image } from "../../src/images/resample.js";

/** Two dark (`color`) and two bright (255 - color) squares, like Pillow's make_case. */
function makeCase(w: number, h: number, color: number, channels: number): Uint8Image {
  const data = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dark = (x < w / 2 && y < h / 2) || (x >= w / 2 && y >= h / 2);
      data.fill(dark ? color : 255 - color, (y * w + x) * channels, (y * w + x + 1) * channels);
    }
  }
  return { data, width: w, height: h, channels };
}

/** Pillow's make_sample: the top-left quadrant's hex values, mirrored/inverted into the rest. */
function makeSample(hex: string, w: number, h: number): Uint8Array {
  const vals = hex
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => parseInt(s, 16));
  const out = new Uint8Array(w * h);
  const qw = w / 2;
  const qh = h / 2;
  for (let y = 0; y < qh; y++) {
    for (let x = 0; x < qw; x++) {
      const v = vals[y * qw + x]!;
      out[y * w + x] = v;
      out[(h - y - 1) * w + (w - x - 1)] = v;
      out[(h - y - 1) * w + x] = 255 - v;
      out[y * w + (w - x - 1)] = 255 - v;
    }
  }
  return out;
}

const cases: { name: string; filter: number; from: number; to: number; data: string }[] = [
  { name: "reduce box", filter: Resample.BOX, from: 8, to: 4, data: "e1 e1 e1 e1" },
  { name: "reduce bilinear", filter: Resample.BILINEAR, from: 8, to: 4, data: "e1 c9 c9 b7" },
  { name: "reduce hamming", filter: Resample.HAMMING, from: 8, to: 4, data: "e1 da da d3" },
  { name: "reduce bicubic", filter: Resample.BICUBIC, from: 12, to: 6, data: "e1 e3 d4 e3 e5 d6 d4 d6 c9" },
  {
    name: "reduce lanczos",
    filter: Resample.LANCZOS,
    from: 16,
    to: 8,
    data: "e1 e0 e4 d7 e0 df e3 d6 e4 e3 e7 da d7 d6 d9 ce",
  },
  { name: "enlarge box", filter: Resample.BOX, from: 2, to: 4, data: "e1 e1 e1 e1" },
  { name: "enlarge bilinear", filter: Resample.BILINEAR, from: 2, to: 4, data: "e1 b0 b0 98" },
  { name: "enlarge hamming", filter: Resample.HAMMING, from: 2, to: 4, data: "e1 d2 d2 c5" },
  {
    name: "enlarge bicubic",
    filter: Resample.BICUBIC,
    from: 4,
    to: 8,
    data: "e1 e5 ee b9 e5 e9 f3 bc ee f3 fd c1 b9 bc c1 a2",
  },
  {
    name: "enlarge lanczos",
    filter: Resample.LANCZOS,
    from: 6,
    to: 12,
    data:
      "e1 e0 db ed f5 b8 e0 df da ec f3 b7 db db d6 e7 ee b5 " +
      "ed ec e6 fb ff bf f5 f4 ee ff ff c4 b8 b7 b4 bf c4 a0",
  },
];

for (const c of cases) {
  for (const channels of [1, 3, 4]) {
    test(`Pillow accuracy: ${c.name}, ${channels} channel(s)`, () => {
      const out = resizeUint8(makeCase(c.from, c.from, 0xe1, channels), c.to, c.to, c.filter);
      const expected = makeSample(c.data, c.to, c.to);
      for (let b = 0; b < channels; b++) {
        const got = Array.from({ length: c.to * c.to }, (_, i) => out.data[i * channels + b]);
        assert.deepEqual(got, Array.from(expected), `channel ${b}`);
      }
    });
  }
}

test("box filter keeps a flat colour when enlarging 8 -> 100 (Pillow test_box_filter_correct_range)", () => {
  const img = { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 };
  for (let i = 0; i < 64; i++) img.data.set([0x16, 0x88, 0xff], i * 3);
  const out = resizeRgb(img, 100, 100, Resample.BOX);
  for (let i = 0; i < 100 * 100; i++)
    assert.deepEqual([...out.data.subarray(i * 3, i * 3 + 3)], [0x16, 0x88, 0xff]);
});

test("every filter keeps a flat colour at odd up- and down-scales (Pillow consistency test)", () => {
  const src = { data: new Uint8Array(512 * 9 * 3), width: 512, height: 9 };
  for (let i = 0; i < 512 * 9; i++) src.data.set([0, 64, 255], i * 3);
  for (const f of [1, 2, 3, 4, 5]) {
    for (const [w, h] of [
      [9, 512],
      [37, 5],
      [1000, 13],
    ] as const) {
      const out = resizeRgb(src, w, h, f);
      for (let i = 0; i < w * h; i++) {
        assert.deepEqual(
          [...out.data.subarray(i * 3, i * 3 + 3)],
          [0, 64, 255],
          `filter ${f} ${w}x${h} pixel ${i}`,
        );
      }
    }
  }
});

test("NEAREST samples at truncated centres like Pillow's affine scale", () => {
  const row = { data: Uint8Array.from([10, 20, 30, 40, 50]), width: 5, height: 1, channels: 1 };
  // 5 -> 2: positions 1.25, 3.75 -> 1, 3; 5 -> 3: 0.833, 2.5, 4.166 -> 0, 2, 4
  assert.deepEqual([...resizeUint8(row, 2, 1, Resample.NEAREST).data], [20, 40]);
  assert.deepEqual([...resizeUint8(row, 3, 1, Resample.NEAREST).data], [10, 30, 50]);
  // 5 -> 8 (enlarge): 0.3125 + 0.625 x -> 0, 0, 1, 2, 2, 3, 4, 4
  assert.deepEqual([...resizeUint8(row, 8, 1, Resample.NEAREST).data], [10, 10, 20, 30, 30, 40, 50, 50]);
});

test("same size returns an equal copy; bad arguments are refused", () => {
  const img = { data: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 2, height: 1 };
  const out = resizeRgb(img, 2, 1, Resample.BICUBIC);
  assert.deepEqual([...out.data], [1, 2, 3, 4, 5, 6]);
  assert.notEqual(out.data, img.data);
  assert.throws(() => resizeRgb(img, 0, 1, 3), RangeError);
  assert.throws(() => resizeRgb(img, 1, 1, 7), RangeError);
});

test("one-axis resizes only run that pass (horizontal only, vertical only)", () => {
  const w = 7;
  const h = 5;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
  const img = { data, width: w, height: h };
  // Resizing width only must equal resizing each row on its own.
  const wide = resizeRgb(img, 11, h, Resample.BICUBIC);
  for (let y = 0; y < h; y++) {
    const row = resizeRgb(
      { data: data.slice(y * w * 3, (y + 1) * w * 3), width: w, height: 1 },
      11,
      1,
      Resample.BICUBIC,
    );
    assert.deepEqual([...wide.data.subarray(y * 33, (y + 1) * 33)], [...row.data]);
  }
  const tall = resizeRgb(img, w, 3, Resample.LANCZOS);
  assert.equal(tall.data.length, w * 3 * 3);
});
