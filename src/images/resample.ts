// Pillow-exact image resizing for 8-bit interleaved images (RGB above all).
//
// Hugging Face image processors resize with `PIL.Image.resize((w, h), resample)` on a uint8
// image, so bit-exact pixel_values need PIL's arithmetic, not just "a bicubic filter". This is
// a port of the behaviour of Pillow 9.4's libImaging/Resample.c (the version the reference
// fixtures were made with; the algorithm is unchanged from Pillow 4.x to 10.x):
//   - the filter support is widened by the scale factor when shrinking (antialiasing);
//   - each output pixel's weights are normalised to sum 1, then turned into 22-bit fixed point
//     (PRECISION_BITS = 32 - 8 - 2) rounded half away from zero;
//   - a horizontal pass (only over the source rows the vertical pass will read) writes a uint8
//     temporary, then a vertical pass; each accumulates in integers starting from 1/2 and
//     clips `sum >> 22` to 0..255;
//   - a pass whose size does not change is skipped; equal sizes copy the image.
// NEAREST is not a convolution in Pillow: it is an affine scale that samples the source at
// truncated, incrementally accumulated positions (Geometry.c ImagingScaleAffine).
// `reducing_gap` (Image.reduce first) is not modelled: transformers never passes it.

/** PIL's Image.Resampling values, as they appear in preprocessor_config.json's `resample`. */
export const Resample = {
  NEAREST: 0,
  LANCZOS: 1,
  BILINEAR: 2,
  BICUBIC: 3,
  BOX: 4,
  HAMMING: 5,
} as const;
export type ResampleFilter = (typeof Resample)[keyof typeof Resample];

/** An 8-bit image with `channels` interleaved samples per pixel, row-major. */
export interface Uint8Image {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

interface FilterKernel {
  weight: (x: number) => number;
  support: number;
}

const PRECISION_BITS = 32 - 8 - 2;

// Pillow's hamming window uses float constants (0.54f, 0.46f) promoted to double.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

function sinc(x: number): number {
  if (x === 0.0) return 1.0;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const kernels: Record<Exclude<ResampleFilter, 0>, FilterKernel> = {
  [Resample.BOX]: {
    support: 0.5,
    weight: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0),
  },
  [Resample.BILINEAR]: {
    support: 1.0,
    weight: (x) => {
      const ax = Math.abs(x);
      return ax < 1.0 ? 1.0 - ax : 0.0;
    },
  },
  [Resample.HAMMING]: {
    support: 1.0,
    weight: (x) => {
      const ax = Math.abs(x);
      if (ax === 0.0) return 1.0;
      if (ax >= 1.0) return 0.0;
      const px = ax * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
  },
  [Resample.BICUBIC]: {
    support: 2.0,
    // Keys' cubic convolution with a = -0.5, evaluated in the same operation order as Pillow.
    weight: (x) => {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1.0) return ((a + 2.0) * ax - (a + 3.0)) * ax * ax + 1;
      if (ax < 2.0) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0.0;
    },
  },
  [Resample.LANCZOS]: {
    support: 3.0,
    weight: (x) => (-3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0),
  },
};

/** Per-output-pixel tap ranges and 22-bit fixed-point weights for one axis. */
interface Coefficients {
  /** Taps per output pixel (stride of `weights`). */
  ksize: number;
  /** First source index per output pixel. */
  start: Int32Array;
  /** Number of taps used per output pixel. */
  count: Int32Array;
  weights: Int32Array;
}

function precomputeCoefficients(inSize: number, outSize: number, kernel: FilterKernel): Coefficients {
  // Pillow passes the box as C floats; for a whole image in0 = 0 and in1 = inSize exactly.
  const in0 = 0;
  const scale = (inSize - in0) / outSize;
  const filterScale = scale < 1.0 ? 1.0 : scale;
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const taps = new Float64Array(ksize);
  const ss = 1.0 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // (int) casts truncate toward zero in C.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = kernel.weight((x + xmin - center + 0.5) * ss);
      taps[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0.0 ? taps[x] / ww : taps[x];
      // normalize_coeffs_8bpc: round half away from zero into fixed point.
      weights[base + x] =
        k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

/** clip8: the accumulated sum (with its 1/2 rounding bias) shifted back to 0..255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass over source rows [rowOffset, rowOffset + outHeight). */
function resampleHorizontal(
  src: Uint8Image,
  outWidth: number,
  rowOffset: number,
  outHeight: number,
  c: Coefficients,
): Uint8Image {
  const ch = src.channels;
  const out = new Uint8Array(outWidth * outHeight * ch);
  const srcData = src.data;
  const { ksize, start, count, weights } = c;
  const half = 1 << (PRECISION_BITS - 1);
  const srcStride = src.width * ch;
  for (let yy = 0; yy < outHeight; yy++) {
    const rowBase = (yy + rowOffset) * srcStride;
    let o = yy * outWidth * ch;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = count[xx];
      const kBase = xx * ksize;
      let p = rowBase + start[xx] * ch;
      if (ch === 3) {
        let s0 = half;
        let s1 = half;
        let s2 = half;
        // int32 arithmetic like Pillow's C (sums stay within int32 by design); two taps per
        // iteration (the hot loop for large photos: ~30 % faster, same integer results).
        let k = kBase;
        const kEnd = kBase + n;
        for (; k + 1 < kEnd; k += 2, p += 6) {
          const w0 = weights[k]!;
          const w1 = weights[k + 1]!;
          s0 = (s0 + Math.imul(srcData[p]!, w0) + Math.imul(srcData[p + 3]!, w1)) | 0;
          s1 = (s1 + Math.imul(srcData[p + 1]!, w0) + Math.imul(srcData[p + 4]!, w1)) | 0;
          s2 = (s2 + Math.imul(srcData[p + 2]!, w0) + Math.imul(srcData[p + 5]!, w1)) | 0;
        }
        if (k < kEnd) {
          const w0 = weights[k]!;
          s0 = (s0 + Math.imul(srcData[p]!, w0)) | 0;
          s1 = (s1 + Math.imul(srcData[p + 1]!, w0)) | 0;
          s2 = (s2 + Math.imul(srcData[p + 2]!, w0)) | 0;
        }
        out[o++] = clip8(s0);
        out[o++] = clip8(s1);
        out[o++] = clip8(s2);
      } else {
        for (let b = 0; b < ch; b++) {
          let s = half;
          for (let x = 0; x < n; x++) s = (s + Math.imul(srcData[p + x * ch + b]!, weights[kBase + x]!)) | 0;
          out[o++] = clip8(s);
        }
      }
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: ch };
}

/** Vertical pass; `c.start` is relative to the first row of `src`. */
function resampleVertical(src: Uint8Image, outHeight: number, c: Coefficients, rowShift: number): Uint8Image {
  const ch = src.channels;
  const rowLen = src.width * ch;
  const out = new Uint8Array(rowLen * outHeight);
  const srcData = src.data;
  const { ksize, start, count, weights } = c;
  const half = 1 << (PRECISION_BITS - 1);
  const acc = new Int32Array(rowLen);
  for (let yy = 0; yy < outHeight; yy++) {
    const n = count[yy];
    const kBase = yy * ksize;
    const first = start[yy] - rowShift;
    acc.fill(half);
    // Row-at-a-time accumulation reads memory sequentially; int32 sums like Pillow's C.
    for (let y = 0; y < n; y++) {
      const k = weights[kBase + y]!;
      const rowBase = (first + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i]! + Math.imul(srcData[rowBase + i]!, k)) | 0;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]!);
  }
  return { data: out, width: src.width, height: outHeight, channels: ch };
}

function resizeNearest(src: Uint8Image, outWidth: number, outHeight: number): Uint8Image {
  const ch = src.channels;
  const out = new Uint8Array(outWidth * outHeight * ch);
  const ax = src.width / outWidth;
  const ay = src.height / outHeight;
  // COORD(v): v < 0 ? -1 : (int)v, with positions accumulated by repeated addition like Pillow.
  const coord = (v: number): number => (v < 0.0 ? -1 : Math.trunc(v));
  const xin = new Int32Array(outWidth).fill(-1);
  let xo = ax * 0.5;
  for (let x = 0; x < outWidth; x++) {
    const xi = coord(xo);
    if (xi >= 0 && xi < src.width) xin[x] = xi;
    xo += ax;
  }
  let yo = ay * 0.5;
  for (let y = 0; y < outHeight; y++) {
    const yi = coord(yo);
    yo += ay;
    if (yi < 0 || yi >= src.height) continue; // Pillow leaves zeros (fill) there.
    const srcRow = yi * src.width * ch;
    const outRow = y * outWidth * ch;
    for (let x = 0; x < outWidth; x++) {
      if (xin[x] < 0) continue;
      const s = srcRow + xin[x] * ch;
      const d = outRow + x * ch;
      for (let b = 0; b < ch; b++) out[d + b] = src.data[s + b];
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: ch };
}

function isResampleFilter(f: number): f is ResampleFilter {
  return Number.isInteger(f) && f >= 0 && f <= 5;
}

/**
 * Resizes an 8-bit image to outWidth x outHeight exactly as Pillow's
 * `Image.resize((outWidth, outHeight), resample)` does for modes L / RGB / RGBX / CMYK
 * (each channel independently; no alpha premultiplication).
 */
export function resizeUint8(
  src: Uint8Image,
  outWidth: number,
  outHeight: number,
  resample: number,
): Uint8Image {
  if (!isResampleFilter(resample)) throw new RangeError(`unknown PIL resampling filter ${resample}`);
  if (!(Number.isInteger(outWidth) && Number.isInteger(outHeight)) || outWidth < 1 || outHeight < 1) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
  }
  if (src.data.length !== src.width * src.height * src.channels) {
    throw new RangeError(
      `image buffer has ${src.data.length} bytes, expected ${src.width * src.height * src.channels}`,
    );
  }
  if (outWidth === src.width && outHeight === src.height) {
    return { ...src, data: src.data.slice() };
  }
  if (resample === Resample.NEAREST) return resizeNearest(src, outWidth, outHeight);

  const kernel = kernels[resample];
  const needHorizontal = outWidth !== src.width;
  const needVertical = outHeight !== src.height;
  const horiz = precomputeCoefficients(src.width, outWidth, kernel);
  const vert = precomputeCoefficients(src.height, outHeight, kernel);
  // Only the source rows the vertical pass reads go through the horizontal pass.
  const firstRow = vert.start[0];
  const lastRow = vert.start[outHeight - 1] + vert.count[outHeight - 1];

  let img = src;
  let rowShift = 0;
  if (needHorizontal) {
    img = resampleHorizontal(src, outWidth, firstRow, lastRow - firstRow, horiz);
    rowShift = firstRow;
  }
  if (needVertical) img = resampleVertical(img, outHeight, vert, rowShift);
  return img;
}

/** RGB convenience wrapper over resizeUint8. */
export function resizeRgb(
  img: { data: Uint8Array; width: number; height: number },
  outWidth: number,
  outHeight: number,
  resample: number,
): { data: Uint8Array; width: number; height: number } {
  const r = resizeUint8({ ...img, channels: 3 }, outWidth, outHeight, resample);
  return { data: r.data, width: r.width, height: r.height };
}
