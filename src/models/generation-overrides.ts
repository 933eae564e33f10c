// A request's generation settings (CaptionOptions) as HF generate() kwargs, the same for every
// architecture: the length and beam limits, suppressed tokens, the repetition penalty, and sampling
// when the request asks for it (it draws one sequence, so the model's own beam count gives way).
import type { GenerationOverrides } from "../generation/config.js";
import type { CaptionOptions } from "./types.js";

/** The kwargs of `options`; unset options are left out, so the model's own settings stay. */
export function generationOverrides(options: CaptionOptions): GenerationOverrides {
  const s = options.sample;
  const kwargs: GenerationOverrides = {
    max_new_tokens: options.maxNewTokens,
    num_beams: options.numBeams ?? (s ? 1 : undefined),
    suppress_tokens: options.suppressTokens,
    repetition_penalty: options.repetitionPenalty,
    ...(s ? { do_sample: true, temperature: s.temperature, top_k: s.topK, top_p: s.topP, seed: s.seed } : {}),
  };
  return Object.fromEntries(Object.entries(kwargs).filter(([, v]) => v !== undefined));
}
