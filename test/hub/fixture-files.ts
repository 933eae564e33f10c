// Shared by the hub tests: where the fixture folders are and which of their files are model files
// (the rest — expected.json, test images, *_*.bin arrays — are test data a pull must not fetch).
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const fixturesDir = resolve(fileURLToPath(new URL("../../../shared/fixtures", import.meta.url)));

export function fixture(arch: string): string {
  return join(fixturesDir, arch);
}

export function isModelFile(name: string): boolean {
  return !(name === "expected.json" || /^image\d+\.png$/.test(name) || /^img\d+_.*\.bin$/.test(name));
}

export async function modelFileNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isModelFile).sort();
}

/** Asserts-friendly comparison: the names differing between the folders, and files whose bytes differ. */
export async function folderDifferences(expectedDir: string, actualDir: string): Promise<string[]> {
  const expected = await modelFileNames(expectedDir);
  const actual = (await readdir(actualDir)).sort();
  const diffs: string[] = [];
  for (const n of expected) if (!actual.includes(n)) diffs.push(`missing ${n}`);
  for (const n of actual) if (!expected.includes(n)) diffs.push(`extra ${n}`);
  for (const n of expected) {
    if (!actual.includes(n)) continue;
    const [a, b] = await Promise.all([readFile(join(expectedDir, n)), readFile(join(actualDir, n))]);
    if (!a.equals(b)) diffs.push(`different ${n}`);
  }
  return diffs;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "sightline-hub-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
