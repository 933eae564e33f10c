// Every fixture generation (../shared/fixtures/<arch>/expected.json) that a caption request can ask
// for — its kwargs are max_new_tokens, num_beams, suppress_tokens (and HF defaults) — as the image,
// CaptionOptions and the token ids HF generate() returned. Runs that override other generation
// settings (Florence-2's *_plain_fixed: no_repeat_ngram_size, forced BOS/EOS) are the model tests' job.
import { join } from "node:path";
import type { CaptionOptions } from "../../src/models/types.js";
import { fixtureDir, readExpected } from "./fixtures.js";

export interface FixtureGeneration {
  arch: string;
  /** "image1.png <CAPTION> beam3", for messages. */
  label: string;
  imagePath: string;
  options: CaptionOptions;
  tokenIds: number[];
}

const REQUEST_KWARGS = new Set(["max_new_tokens", "num_beams", "suppress_tokens", "do_sample", "use_cache"]);

export function fixtureGenerations(arch: string): FixtureGeneration[] {
  const out: FixtureGeneration[] = [];
  for (const c of readExpected(arch).cases as any[]) {
    const prompt: string | undefined = c.task ?? c.prompt ?? c.prompt_text ?? undefined;
    for (const g of c.generations as any[]) {
      const kwargs: Record<string, any> = g.kwargs;
      // ViT-GPT2's seed run gives max_length 16: its model default, what a request without options gets.
      const seedDefault = arch === "vit-gpt2" && kwargs.max_length === 16;
      const keys = Object.keys(kwargs).filter((k) => !(seedDefault && k === "max_length"));
      if (!keys.every((k) => REQUEST_KWARGS.has(k)) || kwargs.do_sample === true) continue;
      out.push({
        arch,
        label: `${arch} ${c.image} ${prompt ?? ""} ${g.name}`.replace(/\s+/g, " "),
        imagePath: join(fixtureDir(arch), c.image),
        options: {
          prompt,
          maxNewTokens: kwargs.max_new_tokens,
          numBeams: kwargs.num_beams,
          suppressTokens: kwargs.suppress_tokens,
        },
        tokenIds: g.sequences[0],
      });
    }
  }
  return out;
}
