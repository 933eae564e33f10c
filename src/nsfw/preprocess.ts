// nsfwjs' input pipeline, so the classifiers see what they were validated with: pixel values
// divided by 255, then tf.image.resizeBilinear to the network's square input with
// alignCorners = true (corner pixels map onto corner pixels; the aspect ratio is not kept).
import type { RgbImage } from "../images/rgb-image.js";

/** [size, size, 3] float32 in 0..1, channels-last. */
export function nsfwPixels(image: RgbImage, size: number): Float32Array {
  const { width, height, data } = image;
  const out = new Float32Array(size * size * 3);
  if (width === size && height === size) {
    for (let i = 0; i < out.length; i++) out[i] = data[i]! / 255;
    return out;
  }
  // alignCorners: source = target · (in − 1) / (out − 1).
  const sy = size > 1 ? (height - 1) / (size - 1) : 0;
  const sx = size > 1 ? (width - 1) / (size - 1) : 0;
  const xs0 = new Int32Array(size);
  const xs1 = new Int32Array(size);
  const xw = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const fx = x * sx;
    xs0[x] = Math.floor(fx);
    xs1[x] = Math.min(width - 1, Math.ceil(fx));
    xw[x] = fx - xs0[x]!;
  }
  for (let y = 0; y < size; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, Math.ceil(fy));
    const wy = fy - y0;
    const row0 = y0 * width * 3;
    const row1 = y1 * width * 3;
    for (let x = 0; x < size; x++) {
      const a = row0 + xs0[x]! * 3;
      const b = row0 + xs1[x]! * 3;
      const c = row1 + xs0[x]! * 3;
      const d = row1 + xs1[x]! * 3;
      const wx = xw[x]!;
      const o = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = data[a + ch]! / 255 + (data[b + ch]! / 255 - data[a + ch]! / 255) * wx;
        const bottom = data[c + ch]! / 255 + (data[d + ch]! / 255 - data[c + ch]! / 255) * wx;
        out[o + ch] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}
