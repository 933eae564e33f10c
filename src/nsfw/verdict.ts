// PhotoPrism's NSFW decision (internal/ai/nsfw in photoprism/photoprism), so an answer means the
// same here as there: the unsafe score is max(Porn, Sexy, Hentai), compared with a threshold
// (unsafe at or above it); Neutral does not veto. PhotoPrism re-decides every entry with its own
// threshold (Thresholds.NSFW, 75 % unless set), so the class scores are what it reads; status,
// score and threshold tell other clients what this server decided.
import type { NsfwScores } from "./classifier.js";

/** PhotoPrism's default NSFW threshold (vision.DefaultNSFWThreshold = 75 %). */
export const defaultNsfwThreshold = 0.75;

export type NsfwStatus = "safe" | "unsafe" | "unavailable";

/** One entry of PhotoPrism's `result.nsfw` list (its nsfw.Result wire format). */
export interface NsfwVerdict {
  status: NsfwStatus;
  /** Probability that the image is unsafe (0..1); absent when unavailable. */
  score?: number;
  threshold?: number;
  /** Why nothing was decided (status unavailable). */
  reason?: string;
  Drawing?: number;
  Hentai?: number;
  Neutral?: number;
  Porn?: number;
  Sexy?: number;
}

export function unsafeScore(scores: NsfwScores): number {
  return Math.max(scores.Porn, scores.Sexy, scores.Hentai);
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function nsfwVerdict(scores: NsfwScores, threshold = defaultNsfwThreshold): NsfwVerdict {
  const score = unsafeScore(scores);
  if (!Number.isFinite(score) || score < 0 || score > 1) {
    return { status: "unavailable", reason: "the model returned a score outside 0..1" };
  }
  return {
    status: score >= threshold ? "unsafe" : "safe",
    score: round6(score),
    threshold,
    Drawing: round6(scores.Drawing),
    Hentai: round6(scores.Hentai),
    Neutral: round6(scores.Neutral),
    Porn: round6(scores.Porn),
    Sexy: round6(scores.Sexy),
  };
}

export function unavailableVerdict(reason: string): NsfwVerdict {
  return { status: "unavailable", reason };
}
