// Writes the random full-size checkpoint `sightline bench ARCH` times (unless it is already there) and
// prints its folder, so that bench/hf/reference.py can time Hugging Face's PyTorch code on the same
// weights. Kosmos-2's 3.3 GB folder stays until removed by hand (the bench itself deletes it unless --keep).
//
//   node --import tsx bench/hf/prepare.ts vit-gpt2|blip|kosmos-2|florence-2
import { ARCHES, type BenchArch } from "../../src/cli/commands/bench.js";
import { benchCheckpoint } from "../lib/checkpoints.js";

const arch = process.argv[2];
if (!(ARCHES as readonly string[]).includes(arch ?? "")) {
  console.error(`usage: node --import tsx bench/hf/prepare.ts ${ARCHES.join("|")}`);
  process.exitCode = 2;
} else {
  console.log(await benchCheckpoint(arch as BenchArch));
}
