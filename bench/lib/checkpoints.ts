// The random full-size checkpoint each architecture's benchmark times, written into the temp folder
// on first use (bench/quantize.ts and bench/hf/prepare.ts time the same weights as `sightline bench`).
import type { BenchArch } from "../../src/cli/commands/bench.js";

/** The checkpoint folder of `arch`'s benchmark (written now unless it is already there). */
export async function benchCheckpoint(arch: BenchArch): Promise<string> {
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
