// sightline caption-folder FOLDER — caption every image of a tree into sidecar files.
import { parseArgs } from "node:util";
import { existsSync, statSync } from "node:fs";
import cliProgress from "cli-progress";
import { fail } from "../../errors.js";
import { captionFolder, type Captioner, type ExistingMode, type Progress } from "../../folder/run.js";
import { modelCaptioner, serverCaptioner } from "../../folder/captioners.js";
import type { XmpNaming } from "../../folder/metadata.js";
import { modelFolder, quantizeOption, withLoadingLine } from "../model-folder.js";

const help = `usage: sightline caption-folder FOLDER (--model DIR|NAME | --server URL...) [options]

Captions every image under FOLDER (recursively) and writes one sidecar per image. Each file is
written atomically; an interrupted run (Ctrl-C, SIGTERM, crash) is resumed by running it again.

where the captions come from (one of):
  --model DIR|NAME        load a model in this process: a folder, an alias or a hub repo
                          owner/name[@revision] (downloaded once into the models folder)
  --models-dir DIR        where names are downloaded (default $SIGHTLINE_MODELS_DIR, else
                          ~/.cache/sightline/models)
  --offline               never contact the hub (also HF_HUB_OFFLINE=1)
  --server URL            a running sightline server (repeatable: servers share the work);
                          key from SIGHTLINE_API_KEY or --api-key
  --server-model NAME     with --server: a model the servers serve (default: their Florence model);
                          a server that answers it does not serve it is not asked again

what to ask:
  --prompt P              prompt or task token (e.g. "<MORE_DETAILED_CAPTION>"); default: the model's caption task
  --max-new-tokens N      (in-process only)
  --num-beams N           (in-process only)
  --threads N             (in-process only) inference threads (default: one per physical core, or SIGHTLINE_THREADS)
  --quantize q8|q4|none   (in-process only) 8- or 4-bit weights for the linear layers (default
                          none: float32); quantized once and cached in the models folder
  --safetensors-only      (in-process only) refuse pytorch_model.bin (pickle) weights
                          (also SIGHTLINE_SAFETENSORS_ONLY=1)
  --tags-prompt P         also ask P and use its comma-separated answer as keywords (XMP/EXIF)

what to write:
  --ext EXT               sidecar extension (default: txt); --no-sidecar writes none
  --skip-existing         keep images that already have a sidecar (default)
  --overwrite             replace existing sidecars
  --append | --prepend    add the new caption after/before the existing text
  --separator S           between old and new text (default: ", ")
  --prefix TEXT           text before each caption (trigger words)
  --suffix TEXT           text after each caption
  --jsonl FILE            also write one JSON line per image: {"file", "caption"}
  --csv FILE              also write a CSV file: file,caption
  --xmp                   write/update an XMP sidecar: dc:description (x-default) and dc:subject
  --xmp-naming N          photo.jpg.xmp (default) or photo.xmp
  --write-exif            write ImageDescription, XPKeywords and XMP into the image itself
  --no-backup             with --write-exif: keep no PHOTO_original backup (default: keep one)

which files:
  --include GLOB          only images whose relative path matches (repeatable)
  --exclude GLOB          skip matching paths (repeatable)
  --follow-symlinks       follow symbolic links (default: skip them)
  --concurrency N         images in flight per server (default 2)
  --dry-run               list what would be done, write nothing
  --verbose               stack traces on errors

Exit status: 0 when every image was captioned or skipped, 1 when any failed or no captioner could
be used, 2 for a usage error, 130 when interrupted.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      "models-dir": { type: "string" },
      offline: { type: "boolean" },
      server: { type: "string", multiple: true },
      "api-key": { type: "string" },
      "server-model": { type: "string" },
      prompt: { type: "string" },
      "max-new-tokens": { type: "string" },
      "num-beams": { type: "string" },
      threads: { type: "string" },
      quantize: { type: "string" },
      "safetensors-only": { type: "boolean" },
      "tags-prompt": { type: "string" },
      ext: { type: "string", default: "txt" },
      "no-sidecar": { type: "boolean", default: false },
      "skip-existing": { type: "boolean", default: false },
      overwrite: { type: "boolean", default: false },
      append: { type: "boolean", default: false },
      prepend: { type: "boolean", default: false },
      separator: { type: "string", default: ", " },
      prefix: { type: "string", default: "" },
      suffix: { type: "string", default: "" },
      jsonl: { type: "string" },
      csv: { type: "string" },
      xmp: { type: "boolean", default: false },
      "xmp-naming": { type: "string", default: "photo.jpg.xmp" },
      "write-exif": { type: "boolean", default: false },
      "no-backup": { type: "boolean", default: false },
      include: { type: "string", multiple: true },
      exclude: { type: "string", multiple: true },
      "follow-symlinks": { type: "boolean", default: false },
      concurrency: { type: "string", default: "2" },
      "dry-run": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const root = positionals[0];
  if (!root || positionals.length > 1) throw fail("INVALID_ARGUMENT", "give exactly one FOLDER (see --help)");
  if (!existsSync(root) || !statSync(root).isDirectory()) throw fail("FILE_NOT_FOUND", root);
  const modes = (["skip-existing", "overwrite", "append", "prepend"] as const).filter((m) => values[m]);
  if (modes.length > 1) throw fail("INVALID_ARGUMENT", `choose one of --${modes.join(", --")}`);
  const mode: ExistingMode = modes[0] === "skip-existing" || !modes[0] ? "skip" : modes[0];
  const naming = values["xmp-naming"];
  if (naming !== "photo.xmp" && naming !== "photo.jpg.xmp") {
    throw fail("INVALID_ARGUMENT", `--xmp-naming must be photo.xmp or photo.jpg.xmp, not ${naming}`);
  }
  const concurrency = positiveInt(values.concurrency, "--concurrency");
  if (!values.model && !values.server?.length)
    throw fail("INVALID_ARGUMENT", "give --model DIR|NAME or --server URL");
  if (values.model && values.server?.length)
    throw fail("INVALID_ARGUMENT", "give either --model or --server, not both");
  if (values["no-sidecar"] && !values.jsonl && !values.csv && !values.xmp && !values["write-exif"]) {
    throw fail(
      "INVALID_ARGUMENT",
      "--no-sidecar leaves nothing to write: add --jsonl, --csv, --xmp or --write-exif",
    );
  }

  if (values.quantize !== undefined && !values.model)
    throw fail("INVALID_ARGUMENT", "--quantize needs --model (servers choose their own weights)");
  const quantize = quantizeOption(values.quantize, values["models-dir"]);

  const captioners: Captioner[] = [];
  if (values.model) {
    const folder = await modelFolder(values.model, {
      offline: values.offline,
      modelsDir: values["models-dir"],
      safetensorsOnly: values["safetensors-only"],
    });
    const ref = values.model;
    captioners.push(
      await withLoadingLine(ref, () =>
        modelCaptioner(
          folder,
          {
            maxNewTokens: values["max-new-tokens"]
              ? positiveInt(values["max-new-tokens"], "--max-new-tokens")
              : undefined,
            numBeams: values["num-beams"] ? positiveInt(values["num-beams"], "--num-beams") : undefined,
          },
          { threads: values.threads ? positiveInt(values.threads, "--threads") : undefined, quantize },
        ),
      ),
    );
  } else {
    const apiKey = values["api-key"] ?? process.env.SIGHTLINE_API_KEY;
    for (const url of values.server ?? [])
      captioners.push(serverCaptioner(url, { apiKey, slots: concurrency, model: values["server-model"] }));
  }

  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(sig === "SIGINT" ? 130 : 143); // every written file is complete already
    process.stderr.write(`\n${sig}: finishing the images in flight, then stopping (again to stop now)\n`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const progress = makeProgress();
  try {
    const result = await captionFolder(
      {
        root,
        prompt: values.prompt,
        ext: values["no-sidecar"] ? null : values.ext!,
        mode,
        separator: values.separator!,
        prefix: values.prefix!,
        suffix: values.suffix!,
        jsonl: values.jsonl,
        csv: values.csv,
        dryRun: values["dry-run"]!,
        include: values.include,
        exclude: values.exclude,
        followSymlinks: values["follow-symlinks"]!,
        xmp: values.xmp ? (naming as XmpNaming) : undefined,
        writeExif: values["write-exif"]!,
        backup: !values["no-backup"],
        tagsPrompt: values["tags-prompt"],
        signal: abort.signal,
        onProgress: progress.update,
      },
      captioners,
    );
    progress.stop();
    const stopped = result.unusable.length === captioners.length;
    const lines = [
      `${result.captioned} captioned, ${result.skipped} skipped, ${result.failed.length} failed` +
        (result.planned ? `, ${result.planned} would be captioned (dry run)` : "") +
        (result.notDone ? `, ${result.notDone} not done` : "") +
        ` (of ${result.total} images)`,
      ...result.failed.map((f) => `  failed: ${f.image}: ${f.reason}`),
      ...result.walkIssues.map((w) => `  not read: ${w.path}: ${w.reason}`),
      ...result.unusable.map((u) => `  not used: ${u.captioner.replace(/^server:/, "")}: ${u.reason}`),
    ];
    if (result.interrupted) lines.push("interrupted: run the same command again to continue");
    else if (stopped)
      lines.push("stopped: no server could caption (see above); fix that and run the same command again");
    console.error(lines.join("\n"));
    if (result.interrupted) return 130;
    return result.failed.length || stopped ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const c of captioners) await c.close();
  }
}

function positiveInt(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw fail("INVALID_ARGUMENT", `${flag} must be a positive integer, not ${v}`);
  return n;
}

/** A bar with count, rate and ETA on a terminal; one plain line per image otherwise. */
function makeProgress(): { update: (p: Progress) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: "{bar} {value}/{total} images | {rate}/s | ETA {eta_formatted} | {image}",
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    let begun = false;
    return {
      update: (p) => {
        if (!begun) {
          bar.start(p.total, 0, { rate: "0.0", image: "" });
          begun = true;
        }
        const rate = (p.finished / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
        bar.update(p.finished, { rate, image: p.image });
      },
      stop: () => begun && bar.stop(),
    };
  }
  return {
    update: (p) => {
      const detail = p.outcome === "failed" ? `: ${p.detail}` : "";
      process.stderr.write(`[${p.finished}/${p.total}] ${p.outcome} ${p.image}${detail}\n`);
    },
    stop: () => {},
  };
}
