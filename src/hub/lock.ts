// A lock file per repo folder so that two processes (or two requests in one server) never download
// the same model at once: the second waits, then finds the snapshot complete and downloads nothing.
//
// The lock is created with O_EXCL and holds {pid, host, since}; its holder touches it every few
// seconds. A lock is stale, and gets broken, when its pid is gone on this host, or when nobody
// touched it for `staleAfterMs` (a holder on another host sharing the folder, or a reused pid).
import { open, readFile, rename, stat, unlink, utimes, link } from "node:fs/promises";
import { hostname } from "node:os";
import { fail } from "../errors.js";

export interface LockOptions {
  /** How often the holder refreshes the lock's mtime. */
  heartbeatMs?: number;
  /** A lock untouched for this long is stale even if its pid seems alive. */
  staleAfterMs?: number;
  /** Poll interval while waiting. */
  pollMs?: number;
  /** Give up waiting after this long (default: wait as long as a live holder keeps the lock fresh). */
  timeoutMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** Tells apart two holders in one process. */
  nonce: string;
}

export interface HeldLock {
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readHolder(
  path: string,
): Promise<{ holder: LockHolder | undefined; raw: string; mtimeMs: number } | undefined> {
  try {
    const [raw, s] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(raw) as LockHolder;
    } catch {
      holder = undefined; // being written right now, or garbage
    }
    return { holder, raw, mtimeMs: s.mtimeMs };
  } catch {
    return undefined; // vanished
  }
}

function isStale(info: { holder: LockHolder | undefined; mtimeMs: number }, staleAfterMs: number): boolean {
  if (Date.now() - info.mtimeMs > staleAfterMs) return true;
  const h = info.holder;
  return h !== undefined && h.host === hostname() && !pidAlive(h.pid);
}

/**
 * Breaks a stale lock without racing another breaker: move it aside under a unique name, check that
 * what we moved is the lock we judged stale, and if we grabbed a fresh lock by mistake put it back.
 */
async function breakStaleLock(path: string, judgedRaw: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await readFile(aside, "utf8").catch(() => judgedRaw);
  if (moved !== judgedRaw) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const staleAfterMs = options.staleAfterMs ?? Math.max(60_000, heartbeatMs * 6);
  const pollMs = options.pollMs ?? 100;
  const started = Date.now();
  let waited = false;
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    nonce: Math.random().toString(36).slice(2),
  };

  for (;;) {
    try {
      const fh = await open(path, "wx");
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const info = await readHolder(path);
    if (info && isStale(info, staleAfterMs)) {
      await breakStaleLock(path, info.raw);
      continue;
    }
    if (!waited) {
      waited = true;
      options.onWait?.(info?.holder);
    }
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
      throw fail("HUB_DOWNLOAD_FAILED", `timed out after ${options.timeoutMs} ms waiting for lock ${path}`);
    }
    await sleep(pollMs);
  }

  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only remove the lock if it is still ours (a holder judged stale may have lost it).
      const info = await readHolder(path);
      if (info?.holder?.nonce === me.nonce && info.holder.pid === me.pid) {
        await unlink(path).catch(() => undefined);
      }
    },
  };
}
