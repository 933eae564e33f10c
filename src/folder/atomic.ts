// Atomic file replacement: write a temp file in the same folder, fsync, rename over the target.
// A reader (or a re-run after Ctrl-C, SIGTERM or a crash) sees the old file or the new one, never a
// partial one. Temp names carry TEMP_MARK so a later run can sweep what a killed run left behind.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { randomBytes } from "node:crypto";

export const TEMP_MARK = ".sightline-tmp-";

/** A temp path beside `target` that keeps its extension (exiftool picks the format by extension). */
export function tempPathFor(target: string): string {
  const ext = extname(target);
  return join(
    dirname(target),
    `.${basename(target, ext)}${TEMP_MARK}${randomBytes(4).toString("hex")}${ext}`,
  );
}

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(target);
  try {
    const fd = openSync(tmp, "wx", 0o644);
    try {
      const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(target));
}

/** Makes a rename durable (best effort: some filesystems refuse fsync on folders). */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not fatal: the rename itself is still atomic
  }
}

/** Removes temp files that an interrupted run left in `dir`; returns how many. */
export function sweepTempFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (name.includes(TEMP_MARK)) {
      rmSync(join(dir, name), { force: true });
      n++;
    }
  }
  return n;
}
