// sightline models list | pull NAME... | rm NAME — the models folder (see docs/models.md).
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { fail } from "../../errors.js";
import {
  aliasFor,
  hubSettings,
  listInstalled,
  modelAliases,
  pullModel,
  removeModel,
  type PullEvent,
} from "../../hub/index.js";

export const summary = "list, pull (download from the Hugging Face hub) and remove models";

const help = `usage: sightline models <list | pull NAME... | rm NAME> [options]

  list                 installed models: name, revisions, size, architecture
  pull NAME...         download models (resumes interrupted downloads; already complete ones
                       cost one request)
  rm NAME              remove a model (NAME@REV: only that revision's snapshot)

NAME is an alias (${Object.keys(modelAliases).join(", ")}),
a hub repo id owner/name, or owner/name@revision (branch, tag, refs/pr/N or commit).

options:
  --models-dir DIR     the models folder (default $SIGHTLINE_MODELS_DIR, else
                       $XDG_CACHE_HOME/sightline/models or ~/.cache/sightline/models)
  --offline            never contact the hub (also HF_HUB_OFFLINE=1)
  --safetensors-only   pull: refuse repos whose only weights are pytorch_model.bin
                       pickles (also SIGHTLINE_SAFETENSORS_ONLY=1); by default they are
                       downloaded and checked by the restricted reader
  --json               list: print JSON

environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or private repos),
HF_HUB_OFFLINE=1.`;

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "models-dir": { type: "string" },
      offline: { type: "boolean" },
      "safetensors-only": { type: "boolean" },
      json: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [sub, ...names] = positionals;
  if (values.help || !sub) {
    console.log(help);
    return values.help ? 0 : 2;
  }
  const settings = hubSettings({
    cacheDir: values["models-dir"],
    offline: values.offline,
    safetensorsOnly: values["safetensors-only"],
  });
  switch (sub) {
    case "list":
    case "ls":
      return list(settings.modelsDir, values.json);
    case "pull":
      if (names.length === 0) throw fail("INVALID_ARGUMENT", "models pull needs at least one NAME");
      if (settings.offline)
        throw fail("INVALID_ARGUMENT", "cannot pull in offline mode (--offline / HF_HUB_OFFLINE)");
      for (const name of names) await pull(name, settings.modelsDir, settings.safetensorsOnly);
      return 0;
    case "rm":
    case "remove": {
      if (names.length !== 1) throw fail("INVALID_ARGUMENT", "models rm takes one NAME");
      const r = await removeModel(names[0], settings.modelsDir);
      console.log(
        `removed ${r.repo}${r.removedCommits.length ? ` (${r.removedCommits.map((c) => c.slice(0, 7)).join(", ")})` : ""}`,
      );
      return 0;
    }
    default:
      throw fail("INVALID_ARGUMENT", `unknown models subcommand "${sub}" (list, pull, rm)`);
  }
}

async function list(modelsDir: string, json: boolean): Promise<number> {
  const installed = await listInstalled(modelsDir);
  if (json) {
    console.log(JSON.stringify(installed, null, 2));
    return 0;
  }
  if (installed.length === 0) {
    console.log(`no models in ${modelsDir} (fetch one with \`sightline models pull NAME\`)`);
    return 0;
  }
  const rows = installed.map((m) => [
    aliasFor(m.repo) ? `${m.repo} (${aliasFor(m.repo)})` : m.repo,
    m.revisions.length ? m.revisions.join(",") : "-",
    m.commit.slice(0, 7),
    formatBytes(m.size),
    m.complete ? (m.architecture ?? "?") : "incomplete (run pull again)",
  ]);
  const header = ["NAME", "REVISION", "COMMIT", "SIZE", "ARCHITECTURE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows])
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    );
  console.log(`\n${modelsDir}`);
  return 0;
}

/** Pulls one model, drawing a bar on a terminal and writing plain lines otherwise. */
async function pull(name: string, modelsDir: string, safetensorsOnly: boolean): Promise<void> {
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let fileStarted = Date.now();
  // The rate counts what arrives now, not what a resumed download already had on disk.
  let baseline: { bytes: number; at: number } | undefined;

  const onProgress = (e: PullEvent) => {
    switch (e.type) {
      case "resolved": {
        const size = e.total !== undefined ? `, ${formatBytes(e.total)}` : "";
        console.error(
          `${name}: ${e.repo}@${e.revision} (${e.commit.slice(0, 7)}), ${e.files.length} files${size}`,
        );
        if (tty && e.total !== undefined) {
          bar = new cliProgress.SingleBar(
            {
              format: "  [{bar}] {percentage}% | {done} / {size} | {rate} | ETA {eta_formatted} | {file}",
              hideCursor: true,
              etaBuffer: 50,
              clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.total, 0, { done: "0 B", size: formatBytes(e.total), rate: "", file: "" });
        }
        break;
      }
      case "waiting":
        console.error(
          `${name}: another process${e.holder ? ` (pid ${e.holder.pid})` : ""} is downloading ${e.repo}; waiting for it`,
        );
        break;
      case "file-start":
        fileStarted = Date.now();
        break;
      case "progress": {
        baseline ??= { bytes: e.bytes, at: Date.now() };
        const seconds = (Date.now() - baseline.at) / 1000;
        bar?.update(e.bytes, {
          done: formatBytes(e.bytes),
          rate: seconds > 0.2 ? `${formatBytes((e.bytes - baseline.bytes) / seconds)}/s` : "",
          file: e.file,
        });
        break;
      }
      case "file-done":
        if (!bar) {
          const seconds = Math.max((Date.now() - fileStarted) / 1000, 0.001);
          const resumed =
            e.transferred < e.size ? `, resumed: ${formatBytes(e.transferred)} transferred` : "";
          console.error(
            `  ${e.file}  ${formatBytes(e.size)}  ${formatBytes(e.transferred / seconds)}/s${resumed}`,
          );
        }
        break;
      case "using-cache":
        console.error(`${name}: hub unreachable (${e.reason}); using the copy downloaded before`);
        break;
    }
  };

  try {
    const r = await pullModel(name, { cacheDir: modelsDir, offline: false, safetensorsOnly, onProgress });
    bar?.stop();
    const what = r.transferred > 0 ? `downloaded ${formatBytes(r.transferred)}` : "already complete";
    console.log(`${name}: ${what} → ${r.dir}`);
  } finally {
    bar?.stop();
  }
}
