// A fake Hugging Face hub on 127.0.0.1 for tests: serves folders (e.g. the shared fixtures) in the
// hub's URL layout, with what the real hub does that a downloader must cope with:
//   GET /api/models/{repo}/revision/{rev}[?blobs=true]  → {id, sha, siblings: [{rfilename, size, lfs}]}
//   GET|HEAD /{repo}/resolve/{rev}/{file}
//     regular files: 200 (or 206 for a Range) with ETag = git blob sha1, X-Repo-Commit
//     LFS files: 302 to a "CDN" (a second port, so another origin) with X-Linked-Etag = sha256,
//                X-Linked-Size, X-Repo-Commit; the CDN honours Range
//   gated repos: 401 (no token) / 403 (wrong token) with X-Error-Code: GatedRepo
//   unknown repo / revision / file: 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound
// Fault injection: cut the connection after N bytes of a file, serve a corrupted file once, slow
// the transfer down. Every request is logged with the bytes of content it sent.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export interface FakeRepo {
  /** A folder whose files the repo holds (flat). */
  dir?: string;
  /** Keep only these names from `dir`. */
  include?: (name: string) => boolean;
  /** Extra files, or replacements for files of `dir`. */
  files?: Record<string, Buffer | string>;
  /** Commit sha of the default branch (default: derived from the repo name). */
  commit?: string;
  /** Other revision names (branches, tags, refs/pr/N) → commit; all serve the same files. */
  revisions?: Record<string, string>;
  /** Resolve requests need `Authorization: Bearer <token>` (the server's token). */
  gated?: boolean;
}

export interface RequestLog {
  host: "hub" | "cdn";
  method: string;
  path: string;
  status: number;
  range?: string;
  authorization?: string;
  /** repo/file whose content this request served, if any. */
  file?: string;
  /** Bytes of file content written to the socket. */
  bytes: number;
}

export interface FakeHub {
  endpoint: string;
  cdnOrigin: string;
  log: RequestLog[];
  /** Content bytes sent for `repo/file` (all requests, hub and CDN). */
  bytesSent(repoFile: string): number;
  /** Content requests (GET with a body) for `repo/file`. */
  contentRequests(repoFile: string): RequestLog[];
  /** The next GET of `repo/file` sends `afterBytes` bytes and then drops the connection. */
  cutOnce(repoFile: string, afterBytes: number): void;
  /** The next GET of `repo/file` sends content with one byte changed (headers stay honest). */
  corruptOnce(repoFile: string): void;
  /** The next GET of `repo/file` ignores its Range header and sends the whole file with 200. */
  ignoreRangeOnce(repoFile: string): void;
  /** The next GET of `repo/file` answers this HTTP status (e.g. 503) instead of the content. */
  failOnce(repoFile: string, status: number): void;
  /** Sleep this long between 64 KiB chunks (to make transfers overlap in tests). */
  setChunkDelay(ms: number): void;
  close(): Promise<void>;
}

interface ServedFile {
  name: string;
  data: Buffer;
  lfs: boolean;
  sha256: string;
  gitSha1: string;
}

interface ServedRepo {
  id: string;
  commit: string;
  revisions: Map<string, string>;
  gated: boolean;
  files: Map<string, ServedFile>;
}

const chunkSize = 64 * 1024;

// The hub's default .gitattributes puts these in LFS, and anything over 10 MB.
function isLfs(name: string, size: number): boolean {
  return /\.(safetensors|bin|model|h5|msgpack|onnx|pt|ckpt)$/.test(name) || size > 10 * 1024 * 1024;
}

function sha(algo: string, ...parts: (Buffer | string)[]): string {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

function buildRepo(id: string, spec: FakeRepo): ServedRepo {
  const files = new Map<string, ServedFile>();
  const add = (name: string, data: Buffer) =>
    files.set(name, {
      name,
      data,
      lfs: isLfs(name, data.length),
      sha256: sha("sha256", data),
      gitSha1: sha("sha1", `blob ${data.length}\0`, data),
    });
  if (spec.dir) {
    for (const name of readdirSync(spec.dir).sort()) {
      const p = join(spec.dir, name);
      if (!statSync(p).isFile() || (spec.include && !spec.include(name))) continue;
      add(name, readFileSync(p));
    }
  }
  for (const [name, content] of Object.entries(spec.files ?? {})) add(name, Buffer.from(content));
  const commit = spec.commit ?? sha("sha1", `commit ${id}`);
  const revisions = new Map<string, string>([["main", commit], ...Object.entries(spec.revisions ?? {})]);
  return { id, commit, revisions, gated: spec.gated ?? false, files };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

export async function startFakeHub(
  repos: Record<string, FakeRepo>,
  options: { token?: string } = {},
): Promise<FakeHub> {
  const served = new Map(Object.entries(repos).map(([id, spec]) => [id, buildRepo(id, spec)]));
  const log: RequestLog[] = [];
  const cuts = new Map<string, number>();
  const corruptions = new Set<string>();
  const ignoreRange = new Set<string>();
  const failures = new Map<string, number>();
  let chunkDelay = 0;

  const hub = createServer((req, res) => void handle("hub", req, res));
  const cdn = createServer((req, res) => void handle("cdn", req, res));
  const endpoint = await listen(hub);
  const cdnOrigin = await listen(cdn);

  function findRevision(repo: ServedRepo, rev: string): string | undefined {
    if (/^[0-9a-f]{40}$/.test(rev) && [...repo.revisions.values()].includes(rev)) return rev;
    return repo.revisions.get(rev);
  }

  function authorized(req: IncomingMessage): "ok" | "none" | "wrong" {
    const auth = req.headers.authorization;
    if (!auth) return "none";
    return options.token && auth === `Bearer ${options.token}` ? "ok" : "wrong";
  }

  function errorReply(res: ServerResponse, entry: RequestLog, status: number, code: string, message: string) {
    entry.status = status;
    res.writeHead(status, { "Content-Type": "application/json", "X-Error-Code": code });
    res.end(JSON.stringify({ error: message }));
  }

  async function sendContent(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLog,
    repo: ServedRepo,
    file: ServedFile,
    headers: Record<string, string>,
  ) {
    const key = `${repo.id}/${file.name}`;
    entry.file = key;
    let data = file.data;
    const size = data.length;
    let start = 0;
    let end = size - 1;
    const failStatus = req.method === "GET" ? failures.get(key) : undefined;
    if (failStatus !== undefined) {
      failures.delete(key);
      return errorReply(res, entry, failStatus, "Injected", "injected failure");
    }
    const range = req.method === "GET" && ignoreRange.delete(key) ? undefined : req.headers.range;
    let status = 200;
    if (range) {
      const m = range.match(/^bytes=(\d+)-(\d*)$/);
      if (m) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
        if (start >= size) {
          entry.status = 416;
          res.writeHead(416, { ...headers, "Content-Range": `bytes */${size}` });
          res.end();
          return;
        }
        status = 206;
        headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
      }
    }
    entry.status = status;
    res.writeHead(status, {
      ...headers,
      "Content-Length": String(end - start + 1),
      "Content-Type": "application/octet-stream",
      "Accept-Ranges": "bytes",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (corruptions.delete(key)) {
      data = Buffer.from(data);
      data[Math.floor(size / 2)] ^= 0xff;
    }
    const cutAfter = cuts.get(key);
    if (cutAfter !== undefined) cuts.delete(key);
    let pos = start;
    while (pos <= end) {
      let n = Math.min(chunkSize, end + 1 - pos);
      const cutNow = cutAfter !== undefined && entry.bytes + n >= cutAfter;
      if (cutNow) n = cutAfter - entry.bytes;
      const chunk = data.subarray(pos, pos + n);
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
      entry.bytes += n;
      pos += n;
      if (cutNow) {
        res.socket?.destroy();
        return;
      }
      if (chunkDelay > 0) await sleep(chunkDelay);
      if (res.destroyed) return;
    }
    res.end();
  }

  async function handle(host: "hub" | "cdn", req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const entry: RequestLog = {
      host,
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      status: 0,
      range: req.headers.range,
      authorization: req.headers.authorization,
      bytes: 0,
    };
    log.push(entry);

    if (host === "cdn") {
      // /lfs/{repo}/{sha256}
      const m = url.pathname.match(/^\/lfs\/(.+)\/([0-9a-f]{64})$/);
      const repo = m ? served.get(decodeURIComponent(m[1])) : undefined;
      const file = repo && [...repo.files.values()].find((f) => f.sha256 === m![2]);
      if (!repo || !file) return errorReply(res, entry, 404, "EntryNotFound", "no such blob");
      return sendContent(req, res, entry, repo, file, { ETag: `"${file.sha256}"` });
    }

    const api = url.pathname.match(/^\/api\/models\/(.+)\/revision\/([^/]+)$/);
    if (api) {
      const repo = served.get(decodeURIComponent(api[1]));
      if (!repo) return errorReply(res, entry, 404, "RepoNotFound", "Repository not found");
      const commit = findRevision(repo, decodeURIComponent(api[2]));
      if (!commit) return errorReply(res, entry, 404, "RevisionNotFound", "Invalid rev id");
      const blobs = url.searchParams.get("blobs") === "true";
      const siblings = [...repo.files.values()].map((f) =>
        blobs
          ? {
              rfilename: f.name,
              size: f.data.length,
              blobId: f.gitSha1,
              ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.data.length, pointerSize: 134 } } : {}),
            }
          : { rfilename: f.name },
      );
      entry.status = 200;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          _id: repo.id,
          id: repo.id,
          sha: commit,
          gated: repo.gated ? "auto" : false,
          siblings,
        }),
      );
      return;
    }

    const resolve = url.pathname.match(/^\/(.+?)\/resolve\/([^/]+)\/(.+)$/);
    if (resolve) {
      const repo = served.get(decodeURIComponent(resolve[1]));
      if (!repo) return errorReply(res, entry, 404, "RepoNotFound", "Repository not found");
      if (repo.gated) {
        const auth = authorized(req);
        if (auth === "none")
          return errorReply(res, entry, 401, "GatedRepo", "Access to this model is restricted");
        if (auth === "wrong")
          return errorReply(res, entry, 403, "GatedRepo", "Access to this model is restricted");
      }
      const commit = findRevision(repo, decodeURIComponent(resolve[2]));
      if (!commit) return errorReply(res, entry, 404, "RevisionNotFound", "Invalid rev id");
      const file = repo.files.get(decodeURIComponent(resolve[3]));
      if (!file) return errorReply(res, entry, 404, "EntryNotFound", "Entry not found");
      if (file.lfs) {
        entry.status = 302;
        res.writeHead(302, {
          Location: `${cdnOrigin}/lfs/${encodeURIComponent(repo.id)}/${file.sha256}`,
          "X-Repo-Commit": commit,
          "X-Linked-Etag": `"${file.sha256}"`,
          "X-Linked-Size": String(file.data.length),
          ETag: `"${file.gitSha1}"`,
        });
        res.end();
        return;
      }
      return sendContent(req, res, entry, repo, file, { ETag: `"${file.gitSha1}"`, "X-Repo-Commit": commit });
    }
    errorReply(res, entry, 404, "NotFound", "not found");
  }

  return {
    endpoint,
    cdnOrigin,
    log,
    bytesSent: (key) => log.filter((e) => e.file === key).reduce((s, e) => s + e.bytes, 0),
    contentRequests: (key) => log.filter((e) => e.file === key && e.method === "GET"),
    cutOnce: (key, afterBytes) => void cuts.set(key, afterBytes),
    corruptOnce: (key) => void corruptions.add(key),
    ignoreRangeOnce: (key) => void ignoreRange.add(key),
    failOnce: (key, status) => void failures.set(key, status),
    setChunkDelay: (ms) => void (chunkDelay = ms),
    async close() {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
