// sightline models list | pull NAME... | rm NAME — the models folder (see docs/models.md).
import { parseArgs } from "node:util";
import { fail } from "../../errors.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HubClient } from "../../hub/client.js";
import { planDownload, shardNames } from "../../hub/files.js";
import {
  aliasFor,
  hubSettings,
  parseModelRef,
  RepoCache,
  resolveModel,
  type HubSettings,
  listInstalled,
  modelAliases,
  pullModel,
  removeModel,
} from "../../hub/index.js";
import { downloadProgress, formatBytes } from "../download-progress.js";

const help = `usage: sightline models <list | pull NAME... | rm NAME> [options]

  list                 installed models: name, revisions, size, architecture
  pull NAME...         download models: first says which files and how many bytes, then
                       downloads them (resumes interrupted downloads; already complete ones
                       cost one request). --dry-run: only say it. --offline: only check that
                       the model is downloaded and complete (exit 1 when not)
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
  --dry-run            pull: list the files and sizes it would download, download nothing
  --json               list: print JSON

environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or private repos),
HF_HUB_OFFLINE=1.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "models-dir": { type: "string" },
      offline: { type: "boolean" },
      "safetensors-only": { type: "boolean" },
      "dry-run": { type: "boolean", default: false },
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
      for (const name of names) {
        if (values["dry-run"]) await dryRun(name, settings);
        else if (settings.offline) await checkDownloaded(name, settings.modelsDir);
        else await pull(name, settings.modelsDir, settings.safetensorsOnly);
      }
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
  const progress = downloadProgress(name, process.stderr);
  try {
    const r = await pullModel(name, {
      cacheDir: modelsDir,
      offline: false,
      safetensorsOnly,
      onProgress: progress.onProgress,
    });
    progress.stop();
    const what = r.transferred > 0 ? `downloaded ${formatBytes(r.transferred)}` : "already complete";
    console.log(`${name}: ${what} → ${r.dir}`);
  } finally {
    progress.stop();
  }
}

/** `pull --offline`: the model is there and complete, or MODEL_NOT_DOWNLOADED; nothing is fetched. */
async function checkDownloaded(name: string, modelsDir: string): Promise<void> {
  const ref = parseModelRef(name, process.cwd(), { folders: false });
  if (ref.kind === "folder")
    throw fail("INVALID_ARGUMENT", `${name} is a local folder, there is nothing to pull`);
  const dir = await resolveModel(name, { offline: true, cacheDir: modelsDir });
  console.log(`${name}: already complete → ${dir}`);
}

/** `pull --dry-run`: what a pull would fetch (files, sizes, the total), from the hub's file list. */
async function dryRun(name: string, settings: HubSettings): Promise<void> {
  const ref = parseModelRef(name, process.cwd(), { folders: false });
  if (ref.kind === "folder")
    throw fail("INVALID_ARGUMENT", `${name} is a local folder, there is nothing to pull`);
  if (settings.offline) throw fail("INVALID_ARGUMENT", "--dry-run asks the hub, which --offline forbids");
  const label = `${ref.repo}@${ref.revision}`;
  const client = new HubClient(settings.endpoint, settings.token);
  const info = await client.repoInfo(ref.repo, ref.revision);
  // Refuses pickle-only repos under --safetensors-only, as pull does.
  const plan = planDownload(info.files, label, { safetensorsOnly: settings.safetensorsOnly });
  const files = [...plan.files];
  if (plan.shardIndex) {
    // The index (small) says which shards the weights are in.
    const scratch = await mkdtemp(join(tmpdir(), "sightline-plan-"));
    try {
      const at = join(scratch, plan.shardIndex.name);
      await client.download(ref.repo, info.commit, plan.shardIndex, at);
      const listing = new Map(info.files.map((f) => [f.name, f]));
      for (const shard of shardNames(await readFile(at, "utf8"), label)) {
        const f = listing.get(shard);
        if (f) files.push(f);
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  const done = await new RepoCache(settings.modelsDir, ref.repo).completeSnapshot(info.commit);
  const width = Math.max(...files.map((f) => f.name.length));
  const lines = [`${name}: ${label} (commit ${info.commit.slice(0, 7)})`];
  for (const f of files)
    lines.push(`  ${f.name.padEnd(width)}  ${f.size !== undefined ? formatBytes(f.size) : "size unknown"}`);
  const total = files.every((f) => f.size !== undefined)
    ? formatBytes(files.reduce((s, f) => s + (f.size ?? 0), 0))
    : "size unknown";
  lines.push(
    done
      ? `${files.length} files, ${total}: already downloaded in ${settings.modelsDir}`
      : `${files.length} files, ${total} to download into ${settings.modelsDir} (dry run: nothing downloaded)`,
  );
  console.log(lines.join("\n"));
}
