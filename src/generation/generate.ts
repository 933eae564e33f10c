// Text generation with the semantics of Hugging Face transformers v4.40 `generate()`: greedy search
// (`_greedy_search`), beam search (`_beam_search` + BeamSearchScorer) and sampling (`_sample`), over any decoder that can
// run one step with a KV cache (generation/decoder-session.ts). The settings come from config.ts.
import { fail } from "../errors.js";
import { beamSearch } from "./beam-search.js";
import { effectiveMaxLength, type GenerationConfig } from "./config.js";
import {
  checkPositions,
  throwIfCancelled,
  type DecoderSession,
  type GenerateOptions,
  type GenerateResult,
} from "./decoder-session.js";
import { buildLogitsProcessors, type LogitsProcessor } from "./logits-processors.js";
import { tokenSampler } from "./sampling.js";

/**
 * Runs greedy search (num_beams 1), beam search, or sampling (do_sample, which a request must ask for)
 * over `decoder`, starting from `promptIds`.
 */
export async function generate<C>(
  decoder: DecoderSession<C>,
  promptIds: number[],
  config: GenerationConfig,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  if (promptIds.length === 0) throw fail("INVALID_ARGUMENT", "generation needs at least one start token");
  const maxLength = effectiveMaxLength(config, promptIds.length);
  checkGenerationLength(promptIds.length, config, decoder.maxPositions);
  // HF replaces min_length when min_new_tokens is given (and also runs the min-new-tokens processor).
  const cfg =
    config.minNewTokens !== null ? { ...config, minLength: promptIds.length + config.minNewTokens } : config;
  const processors = buildLogitsProcessors(cfg, promptIds.length, maxLength);
  if (cfg.doSample) {
    return oneSequenceSearch(decoder, promptIds, cfg, maxLength, processors, options, tokenSampler(cfg));
  }
  if (cfg.numBeams > 1) return beamSearch(decoder, promptIds, cfg, maxLength, processors, options);
  return oneSequenceSearch(decoder, promptIds, cfg, maxLength, processors, options);
}

/**
 * Refuses, before any step, a generation the decoder cannot number. At least one token is generated even
 * when the prompt already reaches max_length, and the last one is never fed back: the decoder numbers
 * length − 1 positions. Captioners call it before encoding the image too.
 */
export function checkGenerationLength(
  promptLength: number,
  config: GenerationConfig,
  maxPositions: number | undefined,
): void {
  checkPositions(Math.max(effectiveMaxLength(config, promptLength), promptLength + 1) - 1, maxPositions);
}

/** Index of the largest value in data[start, start + n) (the first one on ties, like torch.argmax). */
export function argmax(data: Float32Array, start: number, n: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[start + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * One sequence, one token per step: the argmax (greedy search), or with `sample` a token drawn from the
 * processed scores (sampling; it may change the scores, so they are always a copy then).
 */
async function oneSequenceSearch<C>(
  decoder: DecoderSession<C>,
  promptIds: number[],
  cfg: GenerationConfig,
  maxLength: number,
  processors: LogitsProcessor[],
  options: GenerateOptions,
  sample?: (scores: Float32Array, vocab: number) => number,
): Promise<GenerateResult> {
  const sequence = promptIds.slice();
  let input: number[][] = [promptIds.slice()];
  let cache: C | null = null;
  let steps = 0;
  for (;;) {
    throwIfCancelled(options.signal);
    const out = await decoder.step(input, cache);
    cache = out.cache;
    steps++;
    const vocab = out.logits.length;
    // Processors write in place; the decoder's buffer stays untouched.
    const scores = processors.length > 0 || sample ? out.logits.slice() : out.logits;
    for (const p of processors) p([sequence], scores, vocab);
    const next = sample ? sample(scores, vocab) : argmax(scores, 0, vocab);
    sequence.push(next);
    // MaxLengthCriteria, then EosTokenCriteria (the EOS itself stays in the output).
    if (sequence.length >= maxLength || cfg.eosTokenId.includes(next)) break;
    input = [[next]];
  }
  return { sequence, steps };
}
