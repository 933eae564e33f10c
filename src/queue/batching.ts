// Batching across requests in a model worker: every architecture whose captioner generates through
// the one KV decoder (`model.kvDecoder`) has its requests' decoder steps shared by a StepBatcher, so
// captions running at the same time cost about one decoder run, not one each.
import { StepBatcher } from "../generation/step-batcher.js";
import { KvDecoder } from "../generation/kv-decoder.js";
import type { Captioner } from "../models/types.js";

/** The default of `--max-batch`: requests one model worker runs together. */
export const DEFAULT_MAX_BATCH = 8;

/**
 * Makes `model` batch concurrent captions, up to `maxBatch` at once; returns how many it may run
 * together: maxBatch, or 1 when batching is off or the model has no KV decoder to share.
 */
export function batchRequests(model: Captioner, maxBatch: number): number {
  const decoder = kvDecoderOf(model);
  if (decoder) decoder.batch = maxBatch > 1 ? new StepBatcher(decoder) : undefined;
  return decoder && maxBatch > 1 ? maxBatch : 1;
}

/** The model's one KV decoder (every captioner keeps it as `model.kvDecoder`), if it has one. */
function kvDecoderOf(model: Captioner): KvDecoder | undefined {
  const decoder = (model as { model?: { kvDecoder?: unknown } }).model?.kvDecoder;
  return decoder instanceof KvDecoder ? decoder : undefined;
}
