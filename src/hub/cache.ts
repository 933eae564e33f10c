// The models folder on disk (docs/models.md, "Cache layout"):
//
//   <modelsDir>/<owner>--<name>/
//     refs.json                    {"main": "<commit>", "refs/pr/3": "<commit>"}: what each revision
//                                  pointed at when it was last pulled
//     snapshots/<commit>/          the model files, nothing else (a complete HF model folder);
//                                  `<file>.incomplete` only while a download is under way
//     manifests/<commit>.json      written last: its presence marks the snapshot complete
//     .lock                        held while a process downloads into this repo folder
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface ManifestFile {
  name: string;
  size: number;
  /** sha256 of the content, for LFS files (what the hub reports and we verified). */
  sha256?: string;
}

export interface SnapshotManifest {
  repo: string;
  commit: string;
  /** The revision names that were resolved to this commit when it was pulled. */
  revisions: string[];
  files: ManifestFile[];
  pulledAt: string;
}

export function repoFolderName(repo: string): string {
  return repo.replace("/", "--");
}

export function repoFromFolderName(folder: string): string {
  return folder.replace("--", "/");
}

export class RepoCache {
  readonly dir: string;

  constructor(
    readonly modelsDir: string,
    readonly repo: string,
  ) {
    this.dir = join(modelsDir, repoFolderName(repo));
  }

  snapshotDir(commit: string): string {
    return join(this.dir, "snapshots", commit);
  }

  manifestPath(commit: string): string {
    return join(this.dir, "manifests", `${commit}.json`);
  }

  get lockPath(): string {
    return join(this.dir, ".lock");
  }

  async readRefs(): Promise<Record<string, string>> {
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.dir, "refs.json"), "utf8"));
      return parsed && typeof parsed === "object" ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  /** Call with the repo lock held (refs.json is read-modify-written). */
  async writeRef(revision: string, commit: string): Promise<void> {
    const refs = await this.readRefs();
    if (refs[revision] === commit) return;
    refs[revision] = commit;
    await writeFileAtomic(join(this.dir, "refs.json"), JSON.stringify(refs, null, 2) + "\n");
  }

  async removeRef(revision: string): Promise<void> {
    const refs = await this.readRefs();
    delete refs[revision];
    await writeFileAtomic(join(this.dir, "refs.json"), JSON.stringify(refs, null, 2) + "\n");
  }

  async readManifest(commit: string): Promise<SnapshotManifest | undefined> {
    try {
      return JSON.parse(await readFile(this.manifestPath(commit), "utf8")) as SnapshotManifest;
    } catch {
      return undefined;
    }
  }

  /** A snapshot counts as complete when its manifest exists and every file it lists has its size. */
  async completeSnapshot(commit: string): Promise<SnapshotManifest | undefined> {
    const manifest = await this.readManifest(commit);
    if (!manifest) return undefined;
    for (const f of manifest.files) {
      const s = await stat(join(this.snapshotDir(commit), f.name)).catch(() => undefined);
      if (!s || s.size !== f.size) return undefined;
    }
    return manifest;
  }

  async writeManifest(manifest: SnapshotManifest): Promise<void> {
    await mkdir(join(this.dir, "manifests"), { recursive: true });
    await writeFileAtomic(this.manifestPath(manifest.commit), JSON.stringify(manifest, null, 2) + "\n");
  }

  async removeSnapshot(commit: string): Promise<void> {
    await rm(this.manifestPath(commit), { force: true });
    await rm(this.snapshotDir(commit), { recursive: true, force: true });
  }
}

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export interface InstalledSnapshot {
  repo: string;
  commit: string;
  revisions: string[];
  dir: string;
  size: number;
  complete: boolean;
  /** config.json architectures[0], else model_type. */
  architecture: string | undefined;
}

/** Every snapshot in the models folder, complete or not (an interrupted pull shows as incomplete). */
export async function listInstalled(modelsDir: string): Promise<InstalledSnapshot[]> {
  const out: InstalledSnapshot[] = [];
  const repoFolders = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  for (const entry of repoFolders) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const cache = new RepoCache(modelsDir, repoFromFolderName(entry.name));
    const refs = await cache.readRefs();
    const commits = await readdir(join(cache.dir, "snapshots")).catch(() => [] as string[]);
    for (const commit of commits.sort()) {
      const dir = cache.snapshotDir(commit);
      const complete = (await cache.completeSnapshot(commit)) !== undefined;
      out.push({
        repo: cache.repo,
        commit,
        revisions: Object.entries(refs)
          .filter(([, c]) => c === commit)
          .map(([r]) => r),
        dir,
        size: await folderSize(dir),
        complete,
        architecture: await readArchitecture(dir),
      });
    }
  }
  return out;
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s?.isFile()) total += s.size;
  }
  return total;
}

async function readArchitecture(dir: string): Promise<string | undefined> {
  try {
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as {
      architectures?: string[];
      model_type?: string;
    };
    return config.architectures?.[0] ?? config.model_type;
  } catch {
    return undefined;
  }
}
