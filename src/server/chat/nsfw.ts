// NSFW checks for the dialects: PhotoPrism's `/api/v1/vision/nsfw` (one verdict per image, in
// order) and the `nsfw` / `nsfw_confidence` label fields PhotoPrism's NSFW label schema asks for.
// Images go through the same fetch/decode rules as captions, then to the runtime's NSFW detector
// (its own queue and worker process: src/nsfw/detector.ts).
import { fail } from "../../errors.js";
import { nsfwVerdict, unsafeScore, type NsfwVerdict } from "../../nsfw/verdict.js";
import type { NsfwScores } from "../../nsfw/classifier.js";
import type { CaptionService, ImageSource } from "../service.js";
import type { Label } from "./labels.js";

export interface NsfwAnswer {
  /** The detector's name (nsfwjs-mobilenetv2, …) and the nsfwjs variant it runs. */
  model: { name: string; variant: string };
  verdicts: NsfwVerdict[];
  scores: NsfwScores[];
  durations: { load: number; queue: number; run: number };
}

/** Classifies every image, one after another in the detector's queue; NSFW_NOT_CONFIGURED without one. */
export async function detectNsfw(
  service: CaptionService,
  images: ImageSource[],
  signal?: AbortSignal,
): Promise<NsfwAnswer> {
  const runtime = service.runtime;
  const detector = runtime.nsfw;
  if (!detector) throw fail("NSFW_NOT_CONFIGURED");
  if (runtime.isDraining) throw fail("SHUTTING_DOWN");
  const answer: NsfwAnswer = {
    model: { name: detector.name, variant: detector.variant },
    verdicts: [],
    scores: [],
    durations: { load: 0, queue: 0, run: 0 },
  };
  for (const source of images) {
    const image = await service.readImage(source);
    const out = await detector
      .classify(image, { signal, timeoutMs: runtime.requestTimeoutMs })
      .catch((e) => Promise.reject(runtime.busy(e)));
    answer.scores.push(out.scores);
    answer.verdicts.push(nsfwVerdict(out.scores, detector.threshold));
    answer.durations.load += out.loadWaitMs;
    answer.durations.queue += out.queueMs;
    answer.durations.run += out.runMs;
  }
  return answer;
}

/** Whether a label request asks for NSFW fields: PhotoPrism's NSFW label schema or prompt names them. */
export function asksForNsfwLabels(...texts: unknown[]): boolean {
  return texts.some((t) => {
    const text = typeof t === "string" ? t : t && typeof t === "object" ? JSON.stringify(t) : "";
    return /\bnsfw(_confidence)?\b/i.test(text);
  });
}

/**
 * Labels with PhotoPrism's NSFW fields: every label carries the images' verdict (the highest unsafe
 * score of the 1–3 tiles). An unsafe image whose labels are empty still gets one label, named after
 * its strongest unsafe class, so a labels-only set-up screens it.
 */
export function withNsfwFields(labels: Label[], nsfw: NsfwAnswer, threshold: number): Label[] {
  const score = Math.max(0, ...nsfw.scores.map(unsafeScore));
  const flagged = score >= threshold;
  const confidence = Math.round(score * 1000) / 1000;
  const out = labels.map((l) => ({ ...l, nsfw: flagged, nsfw_confidence: confidence }));
  if (flagged && out.length === 0) {
    const top = nsfw.scores.reduce((a, b) => (unsafeScore(b) > unsafeScore(a) ? b : a));
    const name = (["Porn", "Sexy", "Hentai"] as const).reduce((a, b) => (top[b] > top[a] ? b : a));
    out.push({ name, confidence, topicality: confidence, nsfw: true, nsfw_confidence: confidence });
  }
  return out;
}
