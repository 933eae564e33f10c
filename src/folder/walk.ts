// Finds the images of a folder tree: recursive, sorted, include/exclude globs on the relative
// path, symlinks skipped unless asked for (and then loops are detected by real path).
import { readdirSync, realpathSync, statSync, type Dirent } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import picomatch from "picomatch";
import { TEMP_MARK } from "./atomic.js";

export const IMAGE_EXTENSIONS = new Set([
  ".jpg",
  ".jpeg",
  ".jpe",
  ".png",
  ".webp",
  ".gif",
  ".tif",
  ".tiff",
  ".avif",
  ".heic",
  ".heif",
  ".bmp",
]);

export interface WalkOptions {
  include?: string[];
  exclude?: string[];
  followSymlinks?: boolean;
}

export interface FoundImage {
  path: string;
  /** Path relative to the root, with forward slashes. */
  rel: string;
}

export interface WalkResult {
  images: FoundImage[];
  /** Entries skipped with the reason (symlink loops, unreadable folders). */
  skipped: { path: string; reason: string }[];
}

export function findImages(root: string, opts: WalkOptions = {}): WalkResult {
  const include = opts.include?.length ? picomatch(opts.include, { dot: false }) : () => true;
  const exclude = opts.exclude?.length ? picomatch(opts.exclude, { dot: true }) : () => false;
  const images: FoundImage[] = [];
  const skipped: WalkResult["skipped"] = [];
  const seenDirs = new Set<string>();

  const visit = (dir: string) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch (e) {
      skipped.push({ path: dir, reason: (e as Error).message });
      return;
    }
    if (seenDirs.has(real)) {
      skipped.push({ path: dir, reason: "symlink loop (folder already visited)" });
      return;
    }
    seenDirs.add(real);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      skipped.push({ path: dir, reason: (e as Error).message });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue; // hidden files, our temp files, .xmp dot-files
      const path = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        if (!opts.followSymlinks) continue;
        try {
          const st = statSync(path);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          skipped.push({ path, reason: "broken symlink" });
          continue;
        }
      }
      const rel = relative(root, path).split(sep).join("/");
      if (isDir) {
        if (!exclude(rel) && !exclude(rel + "/")) visit(path);
      } else if (
        isFile &&
        IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()) &&
        !entry.name.includes(TEMP_MARK)
      ) {
        if (include(rel) && !exclude(rel)) images.push({ path, rel });
      }
    }
  };
  visit(root);
  return { images, skipped };
}
