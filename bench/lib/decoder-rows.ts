// Reaching one architecture's decoder directly, for accuracy checks of quantized weights: an image and a
// prompt become the decoder row a caption would start from (prompt ids and the encoded image), so that
// first-step logits can be read and a token sequence can be fed back step by step (teacher forcing:
// top-1 agreement of a quantized model along the float32 model's own greedy path). Used by
// bench/quantize.ts and test/models/quantized.test.ts.
import { argmax } from "../../src/generation/generate.js";
import type { KvDecoder, RowSource } from "../../src/generation/kv-decoder.js";
import { BlipCaptioner } from "../../src/models/blip/captioner.js";
import { Florence2Captioner, DEFAULT_TASK } from "../../src/models/florence-2/captioner.js";
import { DEFAULT_PROMPT as KOSMOS_PROMPT, Kosmos2Captioner } from "../../src/models/kosmos-2/captioner.js";
import { VitGpt2Captioner } from "../../src/models/vit-gpt2/captioner.js";
import type { CaptionModel, RgbImage } from "../../src/models/types.js";

export interface DecoderRow {
  decoder: KvDecoder<any>;
  /** The ids the first decoder call reads (decoder start / prompt). */
  prompt: number[];
  source: RowSource;
  eos: number;
}

/** The decoder row `model.caption(image, { prompt })` starts from. */
export async function decoderRow(model: CaptionModel, image: RgbImage, prompt?: string): Promise<DecoderRow> {
  if (model instanceof VitGpt2Captioner) {
    const { pixelValues, dims } = model.imageProcessor.preprocess(image);
    const cfg = model.model.generationConfig();
    const promptTokens = prompt ? model.tokenizer.encode(prompt, { addSpecialTokens: false }) : [];
    return {
      decoder: model.model.kvDecoder,
      prompt: model.model.decoderPrompt(cfg, promptTokens),
      source: await model.model.encode(pixelValues, dims),
      eos: cfg.eosTokenId[0],
    };
  }
  if (model instanceof BlipCaptioner) {
    const { pixelValues, dims } = model.imageProcessor.preprocess(image);
    const ids = prompt === undefined ? null : model.tokenizer.encode(prompt, { addSpecialTokens: true });
    return {
      decoder: model.model.kvDecoder,
      prompt: model.model.decoderInputIds(ids),
      source: await model.model.encodeImage(pixelValues, dims),
      eos: model.model.generationConfig().eosTokenId[0],
    };
  }
  if (model instanceof Kosmos2Captioner) {
    const { pixelValues, dims } = model.imageProcessor.preprocess(image);
    const p = model.processor.process(prompt ?? KOSMOS_PROMPT, {
      numImageTokens: model.model.config.latentQueryNum,
    });
    const { imageEmbeds } = await model.model.encodeImage(pixelValues, dims);
    return {
      decoder: model.model.kvDecoder,
      prompt: p.inputIds,
      source: model.model.promptImage(imageEmbeds, p.imageEmbedsPositionMask!),
      eos: model.generationConfig().eosTokenId[0],
    };
  }
  if (model instanceof Florence2Captioner) {
    const { pixelValues, dims } = model.imageProcessor.preprocess(image);
    const features = await model.model.encodeImage(pixelValues, dims);
    const cfg = model.model.generationConfig();
    return {
      decoder: model.model.kvDecoder,
      prompt: model.model.decoderPrompt(cfg),
      source: await model.model.encodePrompt(features, model.promptIds(prompt ?? DEFAULT_TASK)),
      eos: cfg.eosTokenId[0],
    };
  }
  throw new Error(`no decoder access for ${model.arch}`);
}

/** Logits of the first decoder call (the last prompt position), [vocab]. */
export async function firstStepLogits(row: DecoderRow): Promise<Float32Array> {
  const out = await row.decoder.step([row.prompt], null, { sources: [row.source] });
  return out.logits.slice();
}

/**
 * Steps the decoder along `tokens` (the tokens after the prompt): at each step the argmax with EOS
 * suppressed, the token fed next being `tokens[i]` when given (teacher forcing), else that argmax (plain
 * greedy). Returns the argmax of every step.
 */
export async function stepAlong(
  row: DecoderRow,
  steps: number,
  tokens?: readonly number[],
): Promise<number[]> {
  const picked: number[] = [];
  let out = await row.decoder.step([row.prompt], null, { sources: [row.source] });
  for (let i = 0; ; i++) {
    picked.push(greedyPick(row, out.logits));
    if (i === steps - 1) break;
    out = await row.decoder.step([[tokens ? tokens[i] : picked[i]]], out.cache);
  }
  return picked;
}

/**
 * A decode step that can be timed again and again: the row is stepped greedily `past` tokens past its
 * prompt, and the returned function runs the next step from that same cache each time (the same work on
 * every call; the cache is not advanced).
 */
export async function repeatableStep(row: DecoderRow, past: number): Promise<() => Promise<unknown>> {
  let out = await row.decoder.step([row.prompt], null, { sources: [row.source] });
  for (let i = 0; i < past; i++) out = await row.decoder.step([[greedyPick(row, out.logits)]], out.cache);
  const { cache } = out;
  const token = greedyPick(row, out.logits);
  return () => row.decoder.step([[token]], cache);
}

/** The most likely token of one row's logits, EOS left out (the benches always decode 20 tokens). */
function greedyPick(row: DecoderRow, logits: Float32Array): number {
  const scores = logits.slice();
  scores[row.eos] = -Infinity;
  return argmax(scores, 0, scores.length);
}

/** Share of positions where `a` and `b` agree (over the shorter length). */
export function agreement(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let same = 0;
  for (let i = 0; i < n; i++) if (a[i] === b[i]) same++;
  return n === 0 ? 1 : same / n;
}
