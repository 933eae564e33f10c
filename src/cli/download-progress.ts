// What a command prints while a model is fetched from the hub (models pull, and caption /
// caption-folder given a name that is not downloaded yet): first what is fetched and how much, then
// a bar on a terminal, or one plain line per file otherwise. Everything goes to stderr, so a
// command's stdout (captions, --json) stays clean.
import cliProgress from "cli-progress";
import type { PullEvent } from "../hub/index.js";

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export interface DownloadProgress {
  onProgress: (e: PullEvent) => void;
  /** True once anything was reported (a download happened or was waited for). */
  readonly reported: boolean;
  stop(): void;
}

/** `name` is what the user typed (an alias, owner/name…), used to start each line. */
export function downloadProgress(
  name: string,
  stream: NodeJS.WriteStream = process.stderr,
): DownloadProgress {
  const tty = stream.isTTY === true;
  const say = (line: string) => stream.write(`${line}\n`);
  let bar: cliProgress.SingleBar | undefined;
  let fileStarted = Date.now();
  let reported = false;
  // The rate counts what arrives now, not what a resumed download already had on disk.
  let baseline: { bytes: number; at: number } | undefined;

  const onProgress = (e: PullEvent) => {
    reported = true;
    switch (e.type) {
      case "resolved": {
        const size = e.total !== undefined ? `, ${formatBytes(e.total)}` : "";
        say(
          `${name}: fetching ${e.repo}@${e.revision} (${e.commit.slice(0, 7)}), ${e.files.length} files${size}`,
        );
        if (tty && e.total !== undefined) {
          bar = new cliProgress.SingleBar(
            {
              format: "  [{bar}] {percentage}% | {done} / {size} | {rate} | ETA {eta_formatted} | {file}",
              hideCursor: true,
              etaBuffer: 50,
              clearOnComplete: true,
              stream,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.total, 0, { done: "0 B", size: formatBytes(e.total), rate: "", file: "" });
        }
        break;
      }
      case "waiting":
        say(
          `${name}: another process${e.holder ? ` (pid ${e.holder.pid})` : ""} is downloading ${e.repo}; waiting for it`,
        );
        break;
      case "file-start":
        fileStarted = Date.now();
        break;
      case "progress": {
        baseline ??= { bytes: e.bytes, at: Date.now() };
        const seconds = (Date.now() - baseline.at) / 1000;
        bar?.update(e.bytes, {
          done: formatBytes(e.bytes),
          rate: seconds > 0.2 ? `${formatBytes((e.bytes - baseline.bytes) / seconds)}/s` : "",
          file: e.file,
        });
        break;
      }
      case "file-done":
        if (!bar) {
          const seconds = Math.max((Date.now() - fileStarted) / 1000, 0.001);
          const resumed =
            e.transferred < e.size ? `, resumed: ${formatBytes(e.transferred)} transferred` : "";
          say(`  ${e.file}  ${formatBytes(e.size)}  ${formatBytes(e.transferred / seconds)}/s${resumed}`);
        }
        break;
      case "using-cache":
        say(`${name}: hub unreachable (${e.reason}); using the copy downloaded before`);
        break;
    }
  };
  return {
    onProgress,
    get reported() {
      return reported;
    },
    stop: () => bar?.stop(),
  };
}
