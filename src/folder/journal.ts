// The progress journal of a caption-folder run, so a re-run after an interruption does each image's
// work exactly once even in append mode. Every output is written as temp → rename; before the rename
// the journal records the intent with the sha256 of the new content, after it the completion. On resume
// an intent without completion is complete iff the target already holds the intended content, and a
// completed target counts as done only while it still holds that content: one deleted or changed
// since (a removed sidecar, a replaced photo) is done again.
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";

export const JOURNAL_NAME = ".sightline-caption-folder.journal";

type Entry =
  | { run: string; kind: "intent"; target: string; sha: string }
  | { run: string; kind: "done"; target: string; image: string; caption?: string };

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function fileSha(path: string): string | undefined {
  return existsSync(path) ? sha256(readFileSync(path)) : undefined;
}

export class Journal {
  /** Completed targets → the sha256 of what was written (undefined: nothing to check, e.g. a JSONL row). */
  private readonly doneTargets = new Map<string, string | undefined>();
  private readonly pendingIntents = new Map<string, string>();
  /** Captions recorded by earlier attempts of this run, by image path. */
  readonly captions = new Map<string, string>();

  constructor(
    readonly path: string,
    readonly runKey: string,
  ) {
    if (!existsSync(path)) return;
    const lines = readFileSync(path, "utf8").split("\n");
    const entries: Entry[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        entries.push(JSON.parse(line));
      } catch {
        // a torn last line from a crash: ignore it
      }
    }
    if (entries.length && entries.some((e) => e.run !== runKey)) {
      // A journal of a run with other options: its progress says nothing about this one.
      rmSync(path, { force: true });
      return;
    }
    for (const e of entries) {
      if (e.kind === "intent") this.pendingIntents.set(e.target, e.sha);
      else {
        this.doneTargets.set(e.target, this.pendingIntents.get(e.target));
        this.pendingIntents.delete(e.target);
        if (e.caption !== undefined) this.captions.set(e.image, e.caption);
      }
    }
    // Intents whose rename happened before the crash count as done.
    for (const [target, sha] of this.pendingIntents) {
      if (fileSha(target) === sha) this.doneTargets.set(target, sha);
    }
  }

  /** Done by this run and still holding what was written. */
  isDone(target: string): boolean {
    if (!this.doneTargets.has(target)) return false;
    const sha = this.doneTargets.get(target);
    return sha === undefined || fileSha(target) === sha;
  }

  intent(target: string, content: string | Uint8Array): void {
    const sha = sha256(content);
    this.pendingIntents.set(target, sha);
    this.append({ run: this.runKey, kind: "intent", target, sha });
  }

  done(target: string, image: string, caption?: string): void {
    this.doneTargets.set(target, this.pendingIntents.get(target));
    this.pendingIntents.delete(target);
    if (caption !== undefined) this.captions.set(image, caption);
    this.append({ run: this.runKey, kind: "done", target, image, caption });
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }

  private append(e: Entry): void {
    appendFileSync(this.path, JSON.stringify(e) + "\n");
    const fd = openSync(this.path, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
