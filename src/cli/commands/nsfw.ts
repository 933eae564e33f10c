// sightline nsfw IMAGE… — checks images for content that is not safe for work with a classifier
// bundled in the nsfwjs package (no download), the same decision PhotoPrism makes: unsafe when
// max(Porn, Sexy, Hentai) reaches the threshold. Prints one line per image as it goes, or with
// --json one object: {"model", "threshold", "results": [{"image", "status", "score", "threshold",
// "Drawing", "Hentai", "Neutral", "Porn", "Sexy", "timings"} | {"image", "status": "unavailable", "reason"}]}.
// Exit code 0 when every image was checked, 1 when one could not be read.
import { parseArgs } from "node:util";
import { failWith, fail, isSightlineError } from "../../errors.js";
import { readImageFile } from "../../images/decode.js";
import { defaultNsfwVariant, nsfwVariantNamed, nsfwVariants } from "../../nsfw/bundled.js";
import { NsfwClassifier } from "../../nsfw/classifier.js";
import {
  defaultNsfwThreshold,
  nsfwVerdict,
  unavailableVerdict,
  type NsfwVerdict,
} from "../../nsfw/verdict.js";

const help = `usage: sightline nsfw IMAGE... [options]

Classifies each IMAGE as Drawing, Hentai, Neutral, Porn or Sexy and calls it unsafe when
max(Porn, Sexy, Hentai) is at least the threshold (PhotoPrism's rule and default, 0.75).
The classifiers ship inside the nsfwjs npm package: nothing is downloaded.

options:
  --model NAME        ${Object.keys(nsfwVariants).join(" or ")} (default ${defaultNsfwVariant})
  --threshold P       unsafe at or above this probability, 0 < P <= 1 (default ${defaultNsfwThreshold})
  --json              print {"model", "threshold", "results": [...]} as one JSON object
  --threads N         inference threads (default: one per physical core)
  --verbose           stack traces on errors
  --help              this text`;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        threshold: { type: "string" },
        json: { type: "boolean", default: false },
        threads: { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw failWith(e, "INVALID_ARGUMENT", `${(e as Error).message} (see sightline nsfw --help)`);
  }
}

const fixed = (x: number | undefined) => (x === undefined ? "" : x.toFixed(4));

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length === 0) throw fail("INVALID_ARGUMENT", "no image given (see sightline nsfw --help)");
  const threshold = values.threshold === undefined ? defaultNsfwThreshold : Number(values.threshold);
  if (!(threshold > 0 && threshold <= 1)) {
    throw fail("INVALID_ARGUMENT", `--threshold must be above 0 and at most 1, not "${values.threshold}"`);
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) {
    throw fail("INVALID_ARGUMENT", `--threads must be a positive integer, not "${values.threads}"`);
  }
  const variant = values.model === undefined ? defaultNsfwVariant : nsfwVariantNamed(values.model);
  const classifier = await NsfwClassifier.load(variant, { threads });
  const results: (NsfwVerdict & { image: string; timings?: { preprocess: number; run: number } })[] = [];
  let failed = 0;
  try {
    for (const [i, path] of positionals.entries()) {
      let entry: (typeof results)[number];
      try {
        const image = await readImageFile(path);
        const { scores, timings } = await classifier.classify(image);
        const round = (ms: number) => Math.round(ms * 10) / 10;
        entry = {
          image: path,
          ...nsfwVerdict(scores, threshold),
          timings: { preprocess: round(timings.preprocess), run: round(timings.run) },
        };
      } catch (e) {
        if (!isSightlineError(e)) throw e;
        failed++;
        entry = { image: path, ...unavailableVerdict(`${e.code}: ${e.message}`) };
      }
      results.push(entry);
      if (values.json) {
        if (process.stderr.isTTY && positionals.length > 1)
          process.stderr.write(`\r${i + 1}/${positionals.length}`);
      } else if (entry.status === "unavailable") {
        console.log(`${path}\tunavailable\t${entry.reason}`);
      } else {
        const classes = `Drawing ${fixed(entry.Drawing)} Hentai ${fixed(entry.Hentai)} Neutral ${fixed(entry.Neutral)} Porn ${fixed(entry.Porn)} Sexy ${fixed(entry.Sexy)}`;
        console.log(`${path}\t${entry.status}\t${fixed(entry.score)}\t${classes}`);
      }
    }
  } finally {
    await classifier.release();
  }
  if (values.json) {
    if (process.stderr.isTTY && positionals.length > 1) process.stderr.write("\n");
    console.log(
      JSON.stringify({ model: `nsfwjs ${classifier.packageVersion} ${variant}`, threshold, results }),
    );
  }
  return failed > 0 ? 1 : 0;
}
