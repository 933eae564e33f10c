// Plain HTTP against the Hugging Face hub's URL layout (what huggingface_hub and huggingface.js use):
//   GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true  → {sha, siblings: [{rfilename, size, lfs}]}
//   GET {endpoint}/{repo}/resolve/{commit}/{file}                → the file, or for LFS files a redirect
//       to a CDN, with X-Repo-Commit, X-Linked-Etag (the LFS sha256) and X-Linked-Size on the hub's answer.
// Downloads resume a `<file>.incomplete` with an HTTP Range request, check size and sha256, and only
// then rename the file into place.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, stat, unlink } from "node:fs/promises";
import { clip, fail, isSightlineError, SightlineError } from "../errors.js";

export interface RemoteFile {
  name: string;
  size?: number;
  /** LFS files: the sha256 of the content. */
  sha256?: string;
}

export interface RepoInfo {
  repo: string;
  revision: string;
  commit: string;
  files: RemoteFile[];
}

export interface DownloadResult {
  size: number;
  sha256?: string;
  /** Bytes this call received over the network (less than size after a resume). */
  transferred: number;
}

export interface DownloadOptions {
  /** Extra attempts after a network failure, each resuming where the last one stopped. */
  retries?: number;
  retryDelayMs?: number;
  /** Called with the bytes of this file on disk so far (including a resumed prefix) and its size. */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

/** A failure worth another attempt (connection lost, 5xx, short body). */
class RetryableError extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

function isSha256(s: string | undefined): s is string {
  return s !== undefined && /^[0-9a-f]{64}$/.test(s);
}

function parseIntHeader(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

/** `bytes 100-199/1000` → {start: 100, total: 1000}. */
function parseContentRange(v: string | null): { start: number; total: number | undefined } | undefined {
  const m = v?.match(/^bytes (\d+)-\d+\/(\d+|\*)$/);
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === "*" ? undefined : Number(m[2]) };
}

/**
 * A hub answer's JSON. Anything else (a captive portal's HTML page, a proxy's error text) is
 * HUB_DOWNLOAD_FAILED quoting only its start, never the raw bytes.
 */
async function readJson(res: Response, label: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const type = res.headers.get("content-type") ?? "no Content-Type";
    throw fail(
      "HUB_DOWNLOAD_FAILED",
      `${label}: the answer is not JSON (${clip(type, 60)}: ${JSON.stringify(clip(text, 60))})`,
    );
  }
}

export class HubClient {
  private readonly origin: string;

  constructor(
    readonly endpoint: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.origin = new URL(endpoint).origin;
  }

  private headersFor(url: URL, extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { "User-Agent": "sightline (node)", ...extra };
    // The token goes to the hub only, never to the CDN it redirects to.
    if (this.token && url.origin === this.origin) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  /** Maps a failed hub answer to the catalogue (huggingface_hub reads X-Error-Code the same way). */
  private errorFor(res: Response, repo: string, what: string): Error {
    const code = res.headers.get("x-error-code");
    const where = `${what} on ${this.endpoint}`;
    if (code === "RepoNotFound") {
      return fail("MODEL_NOT_FOUND", `${where} (no such repo; private repos need HF_TOKEN)`);
    }
    if (code === "RevisionNotFound") return fail("MODEL_NOT_FOUND", `${where} (no such revision)`);
    if (code === "EntryNotFound") return fail("MODEL_NOT_FOUND", `${where} (no such file)`);
    if (code === "GatedRepo" || res.status === 401 || res.status === 403)
      return fail("HUB_AUTH_REQUIRED", repo);
    if (res.status === 404) return fail("MODEL_NOT_FOUND", where);
    const detail = `${where}: HTTP ${res.status} ${res.statusText}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) return new RetryableError(detail);
    return fail("HUB_DOWNLOAD_FAILED", detail);
  }

  async repoInfo(repo: string, revision: string): Promise<RepoInfo> {
    const url = new URL(
      `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`,
    );
    let res: Response;
    try {
      res = await this.fetchImpl(url, { headers: this.headersFor(url, { Accept: "application/json" }) });
    } catch (e) {
      throw new SightlineError("HUB_DOWNLOAD_FAILED", `cannot reach ${this.endpoint}: ${networkMessage(e)}`, {
        cause: e,
      });
    }
    if (!res.ok) {
      const err = this.errorFor(res, repo, `${repo}@${revision}`);
      throw isSightlineError(err) ? err : fail("HUB_DOWNLOAD_FAILED", err.message);
    }
    const body = (await readJson(res, `${repo}@${revision} on ${this.endpoint}`)) as {
      sha?: string;
      siblings?: { rfilename: string; size?: number; lfs?: { sha256?: string; size?: number } }[];
    };
    if (typeof body.sha !== "string" || !Array.isArray(body.siblings)) {
      throw fail("HUB_DOWNLOAD_FAILED", `unexpected answer from ${url.pathname}: no sha/siblings`);
    }
    return {
      repo,
      revision,
      commit: body.sha,
      files: body.siblings.map((s) => ({
        name: s.rfilename,
        size: s.lfs?.size ?? s.size,
        sha256: isSha256(s.lfs?.sha256) ? s.lfs.sha256 : undefined,
      })),
    };
  }

  resolveUrl(repo: string, commit: string, file: string): URL {
    const path = file.split("/").map(encodeURIComponent).join("/");
    return new URL(`${this.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${path}`);
  }

  /** Downloads `file` of `repo` at `commit` to `dest` (through `dest.incomplete`), resuming and verifying. */
  async download(
    repo: string,
    commit: string,
    file: RemoteFile,
    dest: string,
    options: DownloadOptions = {},
  ): Promise<DownloadResult> {
    const retries = options.retries ?? 3;
    let transferred = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.attempt(repo, commit, file, dest, options, (n) => (transferred += n));
        return { ...r, transferred };
      } catch (e) {
        const retryable = e instanceof RetryableError || isNetworkError(e);
        if (!retryable) throw e;
        if (attempt >= retries) {
          throw new SightlineError(
            "HUB_DOWNLOAD_FAILED",
            `${repo}/${file.name}: ${networkMessage(e)} (the partial file is kept; run the pull again to resume)`,
            { cause: e },
          );
        }
        await sleep((options.retryDelayMs ?? 500) * 2 ** attempt);
      }
    }
  }

  private async attempt(
    repo: string,
    commit: string,
    file: RemoteFile,
    dest: string,
    options: DownloadOptions,
    countTransferred: (n: number) => void,
  ): Promise<Omit<DownloadResult, "transferred">> {
    const partial = `${dest}.incomplete`;
    let have = (await stat(partial).catch(() => undefined))?.size ?? 0;
    if (file.size !== undefined && have > file.size) {
      await unlink(partial);
      have = 0;
    }

    // Follow redirects by hand: the hub's own answer carries the metadata, the CDN's does not.
    let url = this.resolveUrl(repo, commit, file.name);
    let linkedEtag: string | undefined;
    let linkedSize: number | undefined;
    let hubEtag: string | undefined;
    let servedCommit: string | undefined;
    let res: Response | undefined;
    for (let hop = 0; hop < 10; hop++) {
      const extra: Record<string, string> = { "Accept-Encoding": "identity" };
      if (have > 0) extra.Range = `bytes=${have}-`;
      res = await this.fetchImpl(url, { headers: this.headersFor(url, extra), redirect: "manual" });
      linkedEtag ??= normalizeEtag(res.headers.get("x-linked-etag"));
      linkedSize ??= parseIntHeader(res.headers.get("x-linked-size"));
      servedCommit ??= res.headers.get("x-repo-commit") ?? undefined;
      // Like huggingface_hub: X-Linked-Etag, else the hub's own ETag (a CDN's ETag means something else).
      if (hop === 0) hubEtag = normalizeEtag(res.headers.get("etag"));
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url);
        continue;
      }
      break;
    }
    if (!res) throw new RetryableError("no response");
    if (res.status >= 300 && res.status < 400)
      throw fail("HUB_DOWNLOAD_FAILED", `too many redirects for ${file.name}`);

    if (servedCommit !== undefined && res.ok && servedCommit !== commit) {
      await res.body?.cancel();
      throw fail(
        "HUB_DOWNLOAD_FAILED",
        `asked for ${file.name} at ${commit}, the hub served ${servedCommit}`,
      );
    }
    // Only a 64-hex etag is a sha256 (an LFS file); a regular file's ETag is its git blob sha1.
    const etag = linkedEtag ?? hubEtag;
    const expectedSha = file.sha256 ?? (isSha256(etag) ? etag : undefined);
    let expectedSize = file.size ?? linkedSize;
    const label = `${repo}/${file.name}`;

    if (res.status === 416 && have > 0) {
      // We asked for bytes past the end: the partial file may already be whole.
      await res.body?.cancel();
      // A 416 answer says `Content-Range: bytes */<size>`.
      const total = res.headers.get("content-range")?.match(/\/(\d+)$/)?.[1];
      expectedSize ??= total === undefined ? undefined : Number(total);
      if (expectedSize === have)
        return this.finish(partial, dest, label, have, expectedSha, await hashFile(partial));
      await unlink(partial).catch(() => undefined);
      throw new RetryableError(`range not satisfiable for ${label}; restarting it`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.errorFor(res, repo, `${repo}@${commit}/${file.name}`);
    }

    let offset = 0;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get("content-range"));
      if (!range || range.start !== have) {
        await res.body?.cancel();
        await unlink(partial).catch(() => undefined);
        throw new RetryableError(`bad Content-Range for ${label}; restarting it`);
      }
      offset = have;
      expectedSize ??= range.total;
    } else {
      expectedSize ??= parseIntHeader(res.headers.get("content-length"));
    }

    const hash = createHash("sha256");
    if (offset > 0) {
      for await (const chunk of createReadStream(partial, { end: offset - 1 })) hash.update(chunk as Buffer);
    }
    let size = offset;
    options.onProgress?.(size, expectedSize);
    const fh = await open(partial, offset > 0 ? "a" : "w");
    try {
      if (res.body) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          await fh.write(chunk);
          hash.update(chunk);
          size += chunk.byteLength;
          countTransferred(chunk.byteLength);
          options.onProgress?.(size, expectedSize);
        }
      }
    } finally {
      await fh.close();
    }

    if (expectedSize !== undefined && size < expectedSize) {
      throw new RetryableError(`connection closed after ${size} of ${expectedSize} bytes`);
    }
    if (expectedSize !== undefined && size > expectedSize) {
      await unlink(partial).catch(() => undefined);
      throw fail("HUB_FILE_CORRUPT", `${label}: got ${size} bytes, the hub says ${expectedSize}`);
    }
    return this.finish(partial, dest, label, size, expectedSha, hash.digest("hex"));
  }

  private async finish(
    partial: string,
    dest: string,
    label: string,
    size: number,
    expectedSha: string | undefined,
    actualSha: string,
  ): Promise<Omit<DownloadResult, "transferred">> {
    if (expectedSha !== undefined && actualSha !== expectedSha) {
      await unlink(partial).catch(() => undefined);
      throw fail("HUB_FILE_CORRUPT", `${label}: sha256 ${actualSha}, expected ${expectedSha}`);
    }
    await rename(partial, dest);
    return { size, sha256: expectedSha };
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const networkErrorCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);

/** fetch() rejects with a TypeError ("fetch failed", "terminated") when the connection fails. */
export function isNetworkError(e: unknown): boolean {
  if (isSightlineError(e)) return false;
  if (e instanceof TypeError && (e.message === "fetch failed" || e.message === "terminated")) return true;
  const code = (e as { code?: string } | undefined)?.code;
  return typeof code === "string" && (code.startsWith("UND_ERR_") || networkErrorCodes.has(code));
}

function networkMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return `${e.message}${cause}`;
}
