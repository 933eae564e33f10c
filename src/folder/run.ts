// caption-folder: captions every image of a tree into sidecar files (and optionally XMP sidecars,
// the images' own metadata, one JSONL/CSV file). Resumable, exactly-once, never half-written.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { sweepTempFiles, writeFileAtomic } from "./atomic.js";
import { Journal, JOURNAL_NAME } from "./journal.js";
import { MetadataWriter, xmpPathFor, type PreparedWrite, type XmpNaming } from "./metadata.js";
import { findImages, type FoundImage } from "./walk.js";

export type ExistingMode = "skip" | "overwrite" | "append" | "prepend";

export interface CaptionFolderOptions {
  root: string;
  prompt?: string;
  /** Sidecar extension without the dot ("txt", "caption"); null writes no text sidecars. */
  ext: string | null;
  mode: ExistingMode;
  /** Between the old and the new text in append/prepend mode. */
  separator: string;
  prefix: string;
  suffix: string;
  jsonl?: string;
  csv?: string;
  dryRun: boolean;
  include?: string[];
  exclude?: string[];
  followSymlinks: boolean;
  xmp?: XmpNaming;
  writeExif: boolean;
  backup: boolean;
  /** A second prompt whose comma-separated answer becomes keywords (e.g. Florence-2 <GENERATE_TAGS>). */
  tagsPrompt?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** Something that captions image files: a model in this process, or a server. */
export interface Captioner {
  readonly name: string;
  /** How many images it works on at once. */
  readonly slots: number;
  caption(imagePath: string, prompt: string | undefined): Promise<string>;
  close(): Promise<void>;
}

/**
 * Thrown by a captioner that cannot caption anything (a server that does not serve the model, a
 * wrong API key), as opposed to failing on one image: it is not asked again, and its image goes
 * to the other captioners.
 */
export class CaptionerUnusableError extends Error {
  override readonly name = "CaptionerUnusableError";
}

export interface Progress {
  total: number;
  finished: number;
  image: string;
  outcome: "captioned" | "skipped" | "failed" | "planned";
  detail?: string;
}

export interface CaptionFolderSummary {
  total: number;
  captioned: number;
  skipped: number;
  failed: { image: string; reason: string }[];
  planned: number;
  interrupted: boolean;
  /** Captioners that could not be used, with why; when it is every one, the run stopped early. */
  unusable: { captioner: string; reason: string }[];
  /** Images neither captioned, skipped nor failed (the run was interrupted or stopped early). */
  notDone: number;
  walkIssues: { path: string; reason: string }[];
}

interface Output {
  /** "combined": no file per image, only the JSONL/CSV row (tracked in the journal). */
  kind: "text" | "xmp" | "exif" | "combined";
  target: string;
}

function runKeyOf(o: CaptionFolderOptions, captioners: Captioner[]): string {
  const relevant = {
    prompt: o.prompt,
    ext: o.ext,
    mode: o.mode,
    separator: o.separator,
    prefix: o.prefix,
    suffix: o.suffix,
    xmp: o.xmp,
    writeExif: o.writeExif,
    tagsPrompt: o.tagsPrompt,
    captioners: captioners.map((c) => c.name).sort(),
  };
  return createHash("sha256").update(JSON.stringify(relevant)).digest("hex").slice(0, 16);
}

export function sidecarPath(image: string, ext: string): string {
  return image.replace(/\.[^./\\]+$/, "") + "." + ext.replace(/^\./, "");
}

export async function captionFolder(
  o: CaptionFolderOptions,
  captioners: Captioner[],
): Promise<CaptionFolderSummary> {
  const { images, skipped: walkIssues } = findImages(o.root, {
    include: o.include,
    exclude: o.exclude,
    followSymlinks: o.followSymlinks,
  });
  const summary: CaptionFolderSummary = {
    total: images.length,
    captioned: 0,
    skipped: 0,
    failed: [],
    planned: 0,
    interrupted: false,
    unusable: [],
    notDone: 0,
    walkIssues,
  };
  const folders = new Set(images.map((i) => dirname(i.path)));
  if (!o.dryRun) for (const f of folders) sweepTempFiles(f);

  const journal = new Journal(join(o.root, JOURNAL_NAME), runKeyOf(o, captioners));
  const metadata = o.xmp || o.writeExif ? new MetadataWriter() : undefined;
  const captions = new Map<string, string>();
  let finished = 0;
  const report = (image: FoundImage, outcome: Progress["outcome"], detail?: string) => {
    finished++;
    o.onProgress?.({ total: images.length, finished, image: image.rel, outcome, detail });
  };

  const outputsOf = (image: string): Output[] => {
    const out: Output[] = [];
    if (o.ext) out.push({ kind: "text", target: sidecarPath(image, o.ext) });
    if (o.xmp) out.push({ kind: "xmp", target: xmpPathFor(image, o.xmp) });
    if (o.writeExif) out.push({ kind: "exif", target: image });
    if (out.length === 0) out.push({ kind: "combined", target: `${image}#combined` });
    return out;
  };

  const pendingOutputs = (image: string): Output[] =>
    outputsOf(image).filter((out) => {
      if (journal.isDone(out.target)) return false;
      if (out.kind === "text" && o.mode === "skip" && existsSync(out.target)) return false;
      return true;
    });

  const retired = new Set<Captioner>();
  const processOne = async (image: FoundImage, captioner: Captioner) => {
    const pending = pendingOutputs(image.path);
    if (pending.length === 0) {
      summary.skipped++;
      report(image, "skipped");
      return;
    }
    if (o.dryRun) {
      summary.planned++;
      report(image, "planned", pending.map((p) => p.target).join(", "));
      return;
    }
    try {
      const caption = (await captioner.caption(image.path, o.prompt)).trim();
      const text = `${o.prefix}${caption}${o.suffix}`;
      const keywords = o.tagsPrompt
        ? (await captioner.caption(image.path, o.tagsPrompt))
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean)
        : [];
      for (const out of pending) {
        if (out.kind === "text") {
          const content = combineText(out.target, text, o);
          journal.intent(out.target, content);
          writeFileAtomic(out.target, content);
        } else if (out.kind !== "combined") {
          const prepared: PreparedWrite =
            out.kind === "xmp"
              ? await metadata!.prepareXmp(out.target, text, keywords)
              : await metadata!.prepareImage(out.target, text, keywords);
          journal.intent(out.target, prepared.content);
          try {
            metadata!.commit(prepared, out.kind === "exif" && o.backup);
          } catch (e) {
            metadata!.discard(prepared);
            throw e;
          }
        }
        journal.done(out.target, image.path, text);
      }
      captions.set(image.path, text);
      summary.captioned++;
      report(image, "captioned", text);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (e instanceof CaptionerUnusableError) {
        if (!retired.has(captioner)) summary.unusable.push({ captioner: captioner.name, reason });
        retired.add(captioner);
        retry.push(image);
        return;
      }
      summary.failed.push({ image: image.rel, reason });
      report(image, "failed", reason);
    }
  };

  // Every captioner slot pulls the next image from one shared list: fast servers take more. An
  // image whose captioner turned out unusable goes back (retry) for the others.
  let next = 0;
  const retry: FoundImage[] = [];
  const inFlight = new Set<Promise<void>>();
  const take = () => retry.shift() ?? (next < images.length ? images[next++] : undefined);
  const loops = captioners.flatMap((c) =>
    Array.from({ length: Math.max(1, c.slots) }, async () => {
      for (;;) {
        if (retired.has(c)) return;
        if (o.signal?.aborted) {
          summary.interrupted = true;
          return;
        }
        const image = take();
        if (!image) {
          if (inFlight.size === 0) return;
          await Promise.race(inFlight); // an image in flight elsewhere may come back
          continue;
        }
        const work = processOne(image, c);
        inFlight.add(work);
        try {
          await work;
        } finally {
          inFlight.delete(work);
        }
      }
    }),
  );
  try {
    await Promise.all(loops);
  } finally {
    await metadata?.close();
  }

  if (!o.dryRun && (o.jsonl || o.csv)) {
    const rows = images
      .map((img) => ({
        img,
        caption: captions.get(img.path) ?? journal.captions.get(img.path) ?? existingText(img.path, o),
      }))
      .filter((r): r is { img: FoundImage; caption: string } => r.caption !== undefined);
    if (o.jsonl)
      writeFileAtomic(
        o.jsonl,
        rows.map((r) => JSON.stringify({ file: r.img.rel, caption: r.caption }) + "\n").join(""),
      );
    if (o.csv)
      writeFileAtomic(
        o.csv,
        "file,caption\n" + rows.map((r) => `${csvField(r.img.rel)},${csvField(r.caption)}\n`).join(""),
      );
  }
  summary.notDone =
    summary.total - summary.captioned - summary.skipped - summary.failed.length - summary.planned;
  if (!o.dryRun && summary.notDone === 0 && summary.failed.length === 0) journal.remove();
  return summary;
}

function combineText(target: string, text: string, o: CaptionFolderOptions): string {
  if ((o.mode === "append" || o.mode === "prepend") && existsSync(target)) {
    const old = readFileSync(target, "utf8").replace(/\s+$/, "");
    if (old) return o.mode === "append" ? `${old}${o.separator}${text}\n` : `${text}${o.separator}${old}\n`;
  }
  return `${text}\n`;
}

function existingText(image: string, o: CaptionFolderOptions): string | undefined {
  if (!o.ext) return undefined;
  const p = sidecarPath(image, o.ext);
  return existsSync(p) ? readFileSync(p, "utf8").trim() : undefined;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
