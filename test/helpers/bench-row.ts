// One `sightline bench` result row for the table tests: ViT-GPT2's figures, with what a test is about
// laid over them.
import type { BenchRow } from "../../src/cli/commands/bench.js";

export function benchRow(fields: Partial<BenchRow> = {}): BenchRow {
  return {
    arch: "vit-gpt2",
    load: { wallMs: 1973, cpuMs: 1678 },
    encoder: { wallMs: 166, cpuMs: 320 },
    greedy20: { wallMs: 750, cpuMs: 1400 },
    beam3: { wallMs: 1100, cpuMs: 2100 },
    rssMiB: 1331,
    reference: { encoder: 332, greedy20: 3974, beam3: 6249 },
    ...fields,
  };
}
