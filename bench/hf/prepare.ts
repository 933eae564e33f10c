// Writes the random full-size checkpoint `sightline bench ARCH` times (unless it is already there) and
// prints its folder, so that bench/hf/reference.py can time Hugging Face's PyTorch code on the same
// weights. Kosmos-2's 3.3 GB folder stays until removed by hand (the bench itself deletes it unless --keep).
//
//   node --import tsx bench/hf/prepare.ts vit-gpt2|blip|kosmos-2|florence-2
import { ARCHES, type BenchArch } from "../../src/cli/commands/bench.js";

async function benchCheckpoint(arch: BenchArch): Promise<string> {
  switch (arch) {
    case "vit-gpt2":
      return (await import("../vit-gpt2.js")).benchModelFolder();
    case "blip":
      return (await import("../blip.js")).prepareModelFolder();
    case "florence-2":
      return (await import("../florence-2.js")).prepareModelFolder();
    case "kosmos-2":
      return (await import("../kosmos-2.js")).prepareModelFolder();
  }
}

const arch = process.argv[2];
if (!(ARCHES as readonly string[]).includes(arch ?? "")) {
  console.error(`usage: node --import tsx bench/hf/prepare.ts ${ARCHES.join("|")}`);
  process.exitCode = 2;
} else {
  console.log(await benchCheckpoint(arch as BenchArch));
}
