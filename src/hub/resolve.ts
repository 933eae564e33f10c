// resolveModel(): turns what the user typed (a folder, an alias, owner/name[@rev]) into a complete
// local model folder, downloading what is missing unless offline. pullModel() is the same download
// for `sightline models pull`, reporting what happened.
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fail, isSightlineError } from "../errors.js";
import { readTorchCheckpoint } from "../graph/pickle/torch-checkpoint.js";
import { checkWeightsAllowed, shardFileNames } from "../graph/weight-files.js";
import { RepoCache, type ManifestFile } from "./cache.js";
import { HubClient, isNetworkError, type RemoteFile } from "./client.js";
import { planDownload, shardNames } from "./files.js";
import { acquireLock, type LockHolder, type LockOptions } from "./lock.js";
import { isCommitSha, parseModelRef } from "./model-ref.js";
import { hubSettings, type HubOptions, type HubSettings } from "./settings.js";

export type PullEvent =
  | {
      type: "resolved";
      repo: string;
      revision: string;
      commit: string;
      files: RemoteFile[];
      total: number | undefined;
    }
  | { type: "waiting"; repo: string; holder: LockHolder | undefined }
  | { type: "file-start"; repo: string; file: string; size: number | undefined }
  | {
      type: "progress";
      repo: string;
      file: string;
      fileBytes: number;
      fileTotal: number | undefined;
      /** All files of the pull, including those already on disk. */
      bytes: number;
      total: number | undefined;
    }
  | { type: "file-done"; repo: string; file: string; size: number; transferred: number }
  /** The hub could not be reached; an earlier complete download is used instead. */
  | { type: "using-cache"; repo: string; commit: string; reason: string };

export interface ResolveOptions extends HubOptions {
  onProgress?: (event: PullEvent) => void;
  /** Extra attempts per file after a lost connection (each resumes). Default 3. */
  retries?: number;
  retryDelayMs?: number;
  lock?: Omit<LockOptions, "onWait">;
  /** For tests: a fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface PullResult {
  dir: string;
  repo: string;
  revision: string;
  commit: string;
  /** Bytes received from the network by this call (0 when everything was there already). */
  transferred: number;
  files: ManifestFile[];
}

/**
 * Returns a local folder holding the model `ref` names: the folder itself for a path, otherwise the
 * cached snapshot of the hub repo, downloaded first when missing (never when offline).
 */
export async function resolveModel(ref: string, options: ResolveOptions = {}): Promise<string> {
  const settings = hubSettings(options);
  const dir = await resolveFolder(ref, settings, options);
  // A folder or snapshot with only pickle weights, under --safetensors-only.
  checkWeightsAllowed(dir, settings);
  return dir;
}

async function resolveFolder(ref: string, settings: HubSettings, options: ResolveOptions): Promise<string> {
  const parsed = parseModelRef(ref);
  if (parsed.kind === "folder") return parsed.path;
  const cache = new RepoCache(settings.modelsDir, parsed.repo);
  if (settings.offline) {
    const dir = await cachedSnapshot(cache, parsed.revision);
    if (!dir) throw fail("MODEL_NOT_DOWNLOADED", parsed.name);
    return dir;
  }
  if (isCommitSha(parsed.revision) && (await cache.completeSnapshot(parsed.revision))) {
    return cache.snapshotDir(parsed.revision); // a commit never changes: no need to ask the hub
  }
  return (await pull(parsed.repo, parsed.revision, settings, cache, options)).dir;
}

/** Downloads (or completes) the model `ref` names; fails for local folders and in offline mode. */
export async function pullModel(ref: string, options: ResolveOptions = {}): Promise<PullResult> {
  const parsed = parseModelRef(ref, process.cwd(), { folders: false });
  if (parsed.kind === "folder") {
    throw fail("INVALID_ARGUMENT", `${ref} is a local folder, there is nothing to pull`);
  }
  const settings = hubSettings(options);
  if (settings.offline) {
    throw fail("INVALID_ARGUMENT", "cannot pull in offline mode (HF_HUB_OFFLINE / --offline)");
  }
  const result = await pull(
    parsed.repo,
    parsed.revision,
    settings,
    new RepoCache(settings.modelsDir, parsed.repo),
    options,
  );
  checkWeightsAllowed(result.dir, settings);
  return result;
}

/** The complete snapshot a revision (branch, tag, refs/pr/N or commit) was last pulled at, if any. */
export async function cachedSnapshot(cache: RepoCache, revision: string): Promise<string | undefined> {
  const commit = isCommitSha(revision) ? revision : (await cache.readRefs())[revision];
  if (!commit || !(await cache.completeSnapshot(commit))) return undefined;
  return cache.snapshotDir(commit);
}

async function pull(
  repo: string,
  revision: string,
  settings: HubSettings,
  cache: RepoCache,
  options: ResolveOptions,
): Promise<PullResult> {
  const emit = options.onProgress ?? (() => undefined);
  const client = new HubClient(settings.endpoint, settings.token, options.fetch);
  const label = `${repo}@${revision}`;

  let info;
  try {
    info = await client.repoInfo(repo, revision);
  } catch (e) {
    // Hub unreachable (not: hub said no): fall back to what was downloaded before, like huggingface_hub.
    const unreachable = isSightlineError(e) && e.code === "HUB_DOWNLOAD_FAILED" && isNetworkError(e.cause);
    const commit = unreachable ? (await cache.readRefs())[revision] : undefined;
    const manifest = commit ? await cache.completeSnapshot(commit) : undefined;
    if (!commit || !manifest) throw e;
    emit({ type: "using-cache", repo, commit, reason: (e as Error).message });
    return { dir: cache.snapshotDir(commit), repo, revision, commit, transferred: 0, files: manifest.files };
  }
  const commit = info.commit;
  if (!isCommitSha(commit))
    throw fail("HUB_DOWNLOAD_FAILED", `${label}: the hub answered a bad commit id ${commit}`);

  const done = await cache.completeSnapshot(commit);
  const refs = await cache.readRefs();
  if (done && refs[revision] === commit) {
    return { dir: cache.snapshotDir(commit), repo, revision, commit, transferred: 0, files: done.files };
  }
  // Refuse config-less repos (and pickle-only ones under --safetensors-only) before taking the lock
  // or writing anything.
  const plan = planDownload(info.files, label, { safetensorsOnly: settings.safetensorsOnly });

  await mkdir(cache.dir, { recursive: true });
  const lock = await acquireLock(cache.lockPath, {
    ...options.lock,
    onWait: (holder) => emit({ type: "waiting", repo, holder }),
  });
  try {
    // Whoever held the lock may have just finished this very snapshot.
    const finished = await cache.completeSnapshot(commit);
    if (finished) {
      await cache.writeRef(revision, commit);
      return {
        dir: cache.snapshotDir(commit),
        repo,
        revision,
        commit,
        transferred: 0,
        files: finished.files,
      };
    }
    const dir = cache.snapshotDir(commit);
    await mkdir(dir, { recursive: true });
    const downloadOptions = { retries: options.retries, retryDelayMs: options.retryDelayMs };
    const manifestFiles = new Map<string, ManifestFile>();
    let transferred = 0;

    const fetchOne = async (
      file: RemoteFile,
      progress: (fileBytes: number, fileTotal: number | undefined) => void,
    ) => {
      const dest = join(dir, file.name);
      const present = await stat(dest).catch(() => undefined);
      // Files are renamed into place only after verification, so a present file of the right size is good.
      if (present && file.size !== undefined && present.size === file.size) {
        manifestFiles.set(file.name, { name: file.name, size: present.size, sha256: file.sha256 });
        progress(present.size, file.size);
        return;
      }
      emit({ type: "file-start", repo, file: file.name, size: file.size });
      const r = await client.download(repo, commit, file, dest, { ...downloadOptions, onProgress: progress });
      transferred += r.transferred;
      manifestFiles.set(file.name, { name: file.name, size: r.size, sha256: r.sha256 });
      emit({ type: "file-done", repo, file: file.name, size: r.size, transferred: r.transferred });
    };

    // Sharded weights: the index says which shards to fetch.
    const files = [...plan.files];
    if (plan.shardIndex) {
      await fetchOne(plan.shardIndex, () => undefined);
      const listing = new Map(info.files.map((f) => [f.name, f]));
      const index = await readFile(join(dir, plan.shardIndex.name), "utf8");
      const shards =
        plan.weights === "pytorch" ? shardFileNames(index, "pytorch", label) : shardNames(index, label);
      for (const shard of shards) {
        const f = listing.get(shard);
        if (!f)
          throw fail("MODEL_NOT_FOUND", `${label}: shard ${shard} named by the index is not in the repo`);
        files.push(f);
      }
    }
    const total = files.every((f) => f.size !== undefined)
      ? files.reduce((s, f) => s + (f.size ?? 0), 0)
      : undefined;
    emit({ type: "resolved", repo, revision, commit, files, total });

    let bytesBefore = 0;
    for (const file of files) {
      if (!manifestFiles.has(file.name)) {
        await fetchOne(file, (fileBytes, fileTotal) =>
          emit({
            type: "progress",
            repo,
            file: file.name,
            fileBytes,
            fileTotal,
            bytes: bytesBefore + fileBytes,
            total,
          }),
        );
      }
      bytesBefore += manifestFiles.get(file.name)?.size ?? 0;
    }

    if (plan.weights === "pytorch") {
      // Pickle weights are read (never run) before the snapshot counts as complete: a checkpoint
      // that asks for anything but tensors is deleted and the pull fails, leaving nothing behind.
      try {
        for (const f of files) if (f.name.endsWith(".bin")) readTorchCheckpoint(join(dir, f.name));
      } catch (e) {
        await cache.removeSnapshot(commit);
        throw e;
      }
    }

    const manifestList = files.map((f) => manifestFiles.get(f.name)!);
    await cache.writeManifest({
      repo,
      commit,
      revisions: [revision],
      files: manifestList,
      pulledAt: new Date().toISOString(),
    });
    await cache.writeRef(revision, commit);
    return { dir, repo, revision, commit, transferred, files: manifestList };
  } finally {
    await lock.release();
  }
}
