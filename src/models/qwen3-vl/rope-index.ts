// M-RoPE positions of a prompt, as Qwen3VLModel.get_rope_index computes them (transformers 5.12):
// text tokens count up on all three axes (t, h, w); the tokens of an image share t and take their
// merged-grid row / column as h / w, all offset by the position where the image starts; the text after
// an image resumes at the image's largest position + 1. rope_deltas = max position + 1 − length, so
// decode step k after a prompt of length L uses position L + k + rope_deltas on every axis.
import { fail } from "../../errors.js";

export interface RopeIndexOptions {
  spatialMergeSize: number;
}

export interface MropePositions {
  /** [3][seq]: t, h and w positions. */
  positionIds: [number[], number[], number[]];
  /** max position + 1 − seq (negative when images are present). */
  ropeDeltas: number;
}

/**
 * `mmTokenTypeIds` (0 text, 1 image, 2 video) marks the vision tokens; each run of vision tokens takes
 * the next grid [t, h, w] of `gridsThw` (images and videos in order of appearance; a video's frames are
 * separate runs of grid t = 1, as Qwen3-VL's timestamps split them).
 */
export function mropePositionIds(
  mmTokenTypeIds: readonly number[],
  gridsThw: readonly (readonly [number, number, number])[],
  opts: RopeIndexOptions,
): MropePositions {
  const seq = mmTokenTypeIds.length;
  const axes: [number[], number[], number[]] = [new Array(seq), new Array(seq), new Array(seq)];
  const m = opts.spatialMergeSize;
  let next = 0; // the position the next token starts at
  let grid = 0;
  let i = 0;
  while (i < seq) {
    if (mmTokenTypeIds[i] === 0) {
      axes[0][i] = axes[1][i] = axes[2][i] = next++;
      i++;
      continue;
    }
    let end = i;
    while (end < seq && mmTokenTypeIds[end] === mmTokenTypeIds[i]) end++;
    const thw = gridsThw[grid++];
    if (!thw) throw fail("INVALID_ARGUMENT", `more image token runs than images (${gridsThw.length})`);
    const [t, h, w] = [thw[0], thw[1] / m, thw[2] / m];
    if (!Number.isInteger(h) || !Number.isInteger(w) || end - i !== t * h * w) {
      throw fail(
        "INVALID_ARGUMENT",
        `an image run of ${end - i} tokens does not match its grid [${thw.join(", ")}] merged by ${m}`,
      );
    }
    let k = i;
    for (let ti = 0; ti < t; ti++) {
      for (let hi = 0; hi < h; hi++) {
        for (let wi = 0; wi < w; wi++) {
          axes[0][k] = next + ti;
          axes[1][k] = next + hi;
          axes[2][k] = next + wi;
          k++;
        }
      }
    }
    next += Math.max(t, h, w);
    i = end;
  }
  if (grid !== gridsThw.length) {
    throw fail("INVALID_ARGUMENT", `${gridsThw.length} images for ${grid} image token runs`);
  }
  return { positionIds: axes, ropeDeltas: next - seq };
}

export interface MropeRotaryOptions {
  headDim: number;
  ropeTheta: number;
  /** Frequencies of axes t, h, w (config rope mrope_section). */
  mropeSection: readonly [number, number, number];
}

/**
 * The text decoder's rotary cos/sin [seq, head_dim] for M-RoPE positions [3][seq], as
 * Qwen3VLTextRotaryEmbedding computes them in float32: inv_freq = 1 / θ^(2i/head_dim); frequency i
 * takes its angle from axis h when i ≡ 1 (mod 3) and i < 3·section_h, from axis w when i ≡ 2 (mod 3)
 * and i < 3·section_w, else from axis t (apply_interleaved_mrope); then cat(freqs, freqs).
 */
export function mropeCosSin(
  positionIds: readonly (readonly number[])[],
  opts: MropeRotaryOptions,
): { cos: Float32Array; sin: Float32Array } {
  const f = Math.fround;
  const half = opts.headDim / 2;
  const invFreq = Array.from({ length: half }, (_, i) =>
    f(1 / f(opts.ropeTheta ** f((2 * i) / opts.headDim))),
  );
  const axisOf = invFreq.map((_, i) => {
    if (i % 3 === 1 && i < 3 * opts.mropeSection[1]) return 1;
    if (i % 3 === 2 && i < 3 * opts.mropeSection[2]) return 2;
    return 0;
  });
  const seq = positionIds[0]!.length;
  const cos = new Float32Array(seq * opts.headDim);
  const sin = new Float32Array(seq * opts.headDim);
  for (let s = 0; s < seq; s++) {
    for (let i = 0; i < half; i++) {
      const angle = f(positionIds[axisOf[i]!]![s]! * invFreq[i]!);
      const c = Math.cos(angle);
      const n = Math.sin(angle);
      cos[s * opts.headDim + i] = cos[s * opts.headDim + half + i] = c;
      sin[s * opts.headDim + i] = sin[s * opts.headDim + half + i] = n;
    }
  }
  return { cos, sin };
}
