// Caption and tags into photo metadata through exiftool (exiftool-vendored ships it; it runs on
// Debian's Perl). Every write goes to a temp copy that is renamed over the target, so an interrupted
// run leaves the old or the new file, never a half-written one.
import { copyFileSync, existsSync, linkSync, readFileSync, renameSync, rmSync } from "node:fs";
import { ExifTool } from "exiftool-vendored";
import { syncDir, tempPathFor } from "./atomic.js";
import { dirname } from "node:path";

export type XmpNaming = "photo.xmp" | "photo.jpg.xmp";

export function xmpPathFor(image: string, naming: XmpNaming): string {
  return naming === "photo.jpg.xmp" ? `${image}.xmp` : image.replace(/\.[^./\\]+$/, "") + ".xmp";
}

export function backupPathFor(image: string): string {
  return `${image}_original`; // exiftool's own backup name, which photo tools know
}

/** Merges keywords, keeping the existing order and dropping case-insensitive duplicates. */
export function mergeKeywords(existing: unknown, added: string[]): string[] {
  const list = Array.isArray(existing) ? existing.map(String) : existing ? [String(existing)] : [];
  const seen = new Set(list.map((k) => k.toLowerCase()));
  for (const k of added) {
    const t = k.trim();
    if (t && !seen.has(t.toLowerCase())) {
      seen.add(t.toLowerCase());
      list.push(t);
    }
  }
  return list;
}

export interface PreparedWrite {
  target: string;
  temp: string;
  content: Buffer;
}

export class MetadataWriter {
  private readonly exiftool = new ExifTool({ taskTimeoutMillis: 30_000 });

  /**
   * Prepares the XMP sidecar's new version in a temp file: dc:description as x-default rdf:Alt,
   * dc:subject keywords appended and de-duplicated. The caller commits it with commit().
   */
  async prepareXmp(target: string, description: string, keywords: string[]): Promise<PreparedWrite> {
    const temp = tempPathFor(target);
    let subject: unknown = [];
    if (existsSync(target)) {
      copyFileSync(target, temp);
      subject = (await this.exiftool.read(target))["Subject" as never];
    }
    await this.write(temp, {
      "XMP-dc:Description": description,
      "XMP-dc:Subject": mergeKeywords(subject, keywords),
    });
    return { target, temp, content: readFileSync(temp) };
  }

  /** Prepares the image itself with ImageDescription, XPKeywords and XMP dc:description/subject. */
  async prepareImage(image: string, description: string, keywords: string[]): Promise<PreparedWrite> {
    const temp = tempPathFor(image);
    copyFileSync(image, temp);
    const subject = (await this.exiftool.read(image))["Subject" as never];
    const merged = mergeKeywords(subject, keywords);
    await this.write(temp, {
      "EXIF:ImageDescription": description,
      "EXIF:XPKeywords": merged.join(";"),
      "XMP-dc:Description": description,
      "XMP-dc:Subject": merged,
    });
    return { target: image, temp, content: readFileSync(temp) };
  }

  /** Renames the prepared temp over its target; keeps the first original as a backup if asked. */
  commit(w: PreparedWrite, backup = false): void {
    if (backup && existsSync(w.target) && !existsSync(backupPathFor(w.target))) {
      linkSync(w.target, backupPathFor(w.target)); // a second name for the untouched bytes
    }
    renameSync(w.temp, w.target);
    syncDir(dirname(w.target));
  }

  discard(w: PreparedWrite): void {
    rmSync(w.temp, { force: true });
  }

  async read(path: string): Promise<Record<string, unknown>> {
    return (await this.exiftool.read(path)) as unknown as Record<string, unknown>;
  }

  async close(): Promise<void> {
    await this.exiftool.end();
  }

  private async write(path: string, tags: Record<string, unknown>): Promise<void> {
    try {
      await this.exiftool.write(path, tags as never, { writeArgs: ["-overwrite_original"] });
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    }
  }
}
