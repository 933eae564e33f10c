// Multinomial sampling (HF `_sample` with do_sample=True): each step the logits go through the
// processors and warpers (logits-processors.ts, HF's order), then one token is drawn from their
// softmax. Draws come from a seeded generator, so a request's seed reproduces its answer; torch's
// generator is not reproduced (no seed gives HF's own draws).
import { randomInt } from "node:crypto";
import type { GenerationConfig } from "./config.js";

/**
 * A small seeded generator (sfc32, state from splitmix32 over the seed's 64 bits): uniform doubles in
 * [0, 1) with 53 random bits.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    const bits = BigInt.asUintN(64, BigInt(seed));
    let s = Number(bits & 0xffffffffn) ^ Math.imul(Number(bits >> 32n), 0x9e3779b9);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    [this.a, this.b, this.c, this.d] = [next(), next(), next(), next()];
    for (let i = 0; i < 12; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform double in [0, 1). */
  next(): number {
    return ((this.next32() >>> 5) * 67108864 + (this.next32() >>> 6)) / 9007199254740992;
  }
}

/** A seed for a request that gave none. */
export function randomSeed(): number {
  return randomInt(2 ** 47);
}

/**
 * torch.multinomial(softmax(scores), 1) for one row of `vocab` scores starting at `start`: the token
 * whose cumulative probability first passes a uniform draw. -inf scores are never drawn.
 */
export function sampleToken(
  scores: Float32Array,
  start: number,
  vocab: number,
  random: SeededRandom,
): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (scores[start + i] > max) max = scores[start + i];
  const weights = new Float64Array(vocab);
  let total = 0;
  for (let i = 0; i < vocab; i++) {
    const s = scores[start + i];
    const w = s === -Infinity ? 0 : Math.exp(s - max);
    weights[i] = w;
    total += w;
  }
  let target = random.next() * total;
  let last = 0;
  for (let i = 0; i < vocab; i++) {
    if (weights[i] === 0) continue;
    last = i;
    target -= weights[i];
    if (target < 0) return i;
  }
  return last; // rounding left a sliver: the last token with weight
}

/** Draws each token from the processed scores with the request's seed (a fresh random one without). */
export function tokenSampler(cfg: GenerationConfig): (scores: Float32Array, vocab: number) => number {
  const random = new SeededRandom(cfg.seed ?? randomSeed());
  return (scores, vocab) => sampleToken(scores, 0, vocab, random);
}
