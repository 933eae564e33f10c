// `npm run bench [-- vit-gpt2|blip|kosmos-2|florence-2|all] [--threads N] [--runs N] [--keep]`: the same
// as `sightline bench` (src/cli/commands/bench.ts), runnable without building dist/.
import { run } from "../src/cli/commands/bench.js";

process.exitCode = await run(process.argv.slice(2));
