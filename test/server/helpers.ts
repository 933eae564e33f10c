// Shared by the server and queue tests: fake model folders, a Runtime that loads the fake model
// in real worker processes, tiny test images.
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { Runtime, type RuntimeOptions } from "../../src/server/runtime.js";
import { tempDir } from "../helpers/temp-dir.js";

export const fakeLoader = fileURLToPath(new URL("../queue/fake-model.ts", import.meta.url));
export const fixturesDir = fileURLToPath(new URL("../../../shared/fixtures/", import.meta.url));

/** A folder with a config.json the fake model reads (removed when the test process exits). */
export function fakeModelDir(config: Record<string, unknown> = {}): string {
  const dir = tempDir("sightline-fake-");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "fake", ...config }));
  return dir;
}

export function fakeRuntime(options: Partial<RuntimeOptions> & { models: Record<string, string> }): Runtime {
  return new Runtime({ loaderModule: fakeLoader, idleUnloadSeconds: 0, threads: 1, ...options });
}

/** A PNG of one colour. */
export async function png(
  width: number,
  height: number,
  rgb: [number, number, number] = [200, 100, 50],
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

export async function jpeg(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 20, b: 30 } } })
    .jpeg()
    .toBuffer();
}

export function rgb(
  width: number,
  height: number,
  fill = 7,
): { data: Uint8Array; width: number; height: number } {
  return { data: new Uint8Array(width * height * 3).fill(fill), width, height };
}

/** Whether a process id is still alive. */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}

/**
 * A gate for the fake model (its caption_gate setting): captions start, say so, and wait until
 * the test opens it. `started(n)` is true once the n-th caption of the worker is running.
 */
export function captionGate(): { dir: string; started(n: number): boolean; open(): void; close(): void } {
  const dir = tempDir("sightline-gate-");
  return {
    dir,
    started: (n) => existsSync(join(dir, `started-${n}`)),
    open: () => writeFileSync(join(dir, "open"), ""),
    // Closed again, and the started markers forgotten (a new worker counts from 1 again).
    close: () => {
      for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
    },
  };
}

/** The sightline_queue_depth gauge for `model` (requests waiting behind the running one). */
export async function queueDepth(runtime: Runtime, model: string): Promise<number> {
  const { values } = await runtime.metrics.queueDepth.get();
  return values.find((v) => v.labels.model === model)?.value ?? 0;
}
