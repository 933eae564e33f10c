// `sightline models rm NAME`: without a revision, remove the repo's whole folder; with one
// (`owner/name@rev`), remove the snapshot that revision points at and every ref to it.
import { readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { fail } from "../errors.js";
import { RepoCache } from "./cache.js";
import { acquireLock } from "./lock.js";
import { isCommitSha, parseModelRef } from "./model-ref.js";

export interface RemoveResult {
  repo: string;
  removedCommits: string[];
}

export async function removeModel(name: string, modelsDir: string): Promise<RemoveResult> {
  const ref = parseModelRef(name, process.cwd(), { folders: false });
  if (ref.kind === "folder") {
    throw fail(
      "INVALID_ARGUMENT",
      `${name} is a folder, not a model in the models folder; remove it yourself`,
    );
  }
  const cache = new RepoCache(modelsDir, ref.repo);
  const commits = await readdir(join(cache.dir, "snapshots")).catch(() => [] as string[]);
  const refs = await cache.readRefs();
  if (commits.length === 0 && Object.keys(refs).length === 0)
    throw fail("MODEL_NOT_FOUND", `${name} is not installed`);

  // Never pull the floor from under a download in progress.
  const lock = await acquireLock(cache.lockPath, { timeoutMs: 10_000 });
  let removed: string[];
  try {
    if (!name.includes("@")) {
      for (const entry of await readdir(cache.dir)) {
        if (entry !== ".lock") await rm(join(cache.dir, entry), { recursive: true, force: true });
      }
      removed = commits;
    } else {
      const commit = isCommitSha(ref.revision) ? ref.revision : refs[ref.revision];
      if (!commit || !commits.includes(commit)) throw fail("MODEL_NOT_FOUND", `${name} is not installed`);
      for (const [rev, c] of Object.entries(refs)) if (c === commit) await cache.removeRef(rev);
      await cache.removeSnapshot(commit);
      removed = [commit];
    }
  } finally {
    await lock.release();
  }
  if (!name.includes("@")) await rmdir(cache.dir).catch(() => undefined);
  return { repo: ref.repo, removedCommits: removed };
}
