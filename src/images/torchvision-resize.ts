// torchvision's tensor resize of a uint8 image with bicubic interpolation and antialias=True, as
// transformers' default ("fast", torchvision backend) image processors call it
// (tvF.resize(uint8 tensor, size, BICUBIC, antialias=True)). On CPU, PyTorch resizes uint8 natively
// (aten UpSampleKernel.cpp, the uint8 path of _upsample_bicubic2d_aa), not through float:
//   - per axis, Keys cubic weights (a = -0.5) over PIL's antialiased support, computed and normalised
//     in double (_compute_indices_min_size_weights_aa);
//   - the axis's weights become int16 at the largest precision (≤ 22 bits) that keeps its largest
//     weight below 2^15 (_compute_index_ranges_int16_weights), rounded half away from zero;
//   - a width pass writes uint8, then a height pass; each output is (2^(p-1) + Σ src·w) >> p clamped
//     to 0..255; an axis whose size does not change is not resampled.
// This differs from PIL's resize (Resample.c: 22-bit weights for every axis, other rounding) by 1–3
// levels on some pixels, so the PIL port in resample.ts cannot stand in for it.
import type { Uint8Image } from "./resample.js";

interface AxisWeights {
  /** First source index of each output index. */
  first: Int32Array;
  /** Number of source indices each output reads. */
  count: Int32Array;
  /** int16 weights, `taps` per output index. */
  weights: Int32Array;
  taps: number;
  precision: number;
}

function keysCubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const support = scale >= 1.0 ? 4 * 0.5 * scale : 4 * 0.5;
  const taps = Math.ceil(support) * 2 + 1;
  const invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const wf = new Float64Array(outSize * taps);
  let wtMax = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.max(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, 0), taps);
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = keysCubic((j + xmin - center + 0.5) * invscale);
      wf[i * taps + j] = w;
      total += w;
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) {
        wf[i * taps + j] /= total;
        wtMax = Math.max(wtMax, wf[i * taps + j]!);
      }
    }
    first[i] = xmin;
    count[i] = xsize;
  }
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + wtMax * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const weights = new Int32Array(outSize * taps);
  for (let k = 0; k < wf.length; k++) {
    const v = wf[k]! * 2 ** precision;
    weights[k] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
  }
  return { first, count, weights, taps, precision };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resizeWidth(src: Uint8Image, outW: number): Uint8Image {
  const { width, height, channels, data } = src;
  const ax = axisWeights(width, outW);
  const out = new Uint8Array(outW * height * channels);
  const half = 1 << (ax.precision - 1);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let x = 0; x < outW; x++) {
      const x0 = ax.first[x]!;
      const n = ax.count[x]!;
      const w = x * ax.taps;
      for (let c = 0; c < channels; c++) {
        let acc = half;
        for (let j = 0; j < n; j++) acc += data[row + (x0 + j) * channels + c]! * ax.weights[w + j]!;
        out[(y * outW + x) * channels + c] = clampByte(acc >> ax.precision);
      }
    }
  }
  return { data: out, width: outW, height, channels };
}

function resizeHeight(src: Uint8Image, outH: number): Uint8Image {
  const { width, height, channels, data } = src;
  const ax = axisWeights(height, outH);
  const stride = width * channels;
  const out = new Uint8Array(outH * stride);
  const half = 1 << (ax.precision - 1);
  for (let y = 0; y < outH; y++) {
    const y0 = ax.first[y]!;
    const n = ax.count[y]!;
    const w = y * ax.taps;
    for (let k = 0; k < stride; k++) {
      let acc = half;
      for (let j = 0; j < n; j++) acc += data[(y0 + j) * stride + k]! * ax.weights[w + j]!;
      out[y * stride + k] = clampByte(acc >> ax.precision);
    }
  }
  return { data: out, width, height: outH, channels };
}

/** tvF.resize(img, [outH, outW], BICUBIC, antialias=True) on a uint8 image (any channel count). */
export function resizeBicubicAntialiasTorch(img: Uint8Image, outW: number, outH: number): Uint8Image {
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0)) {
    throw new RangeError(`resize to ${outW}x${outH}`);
  }
  let x = img;
  if (outW !== x.width) x = resizeWidth(x, outW);
  if (outH !== x.height) x = resizeHeight(x, outH);
  return x === img ? { ...img, data: img.data.slice() } : x;
}
