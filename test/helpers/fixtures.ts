// The shared fixtures (../shared/fixtures/<arch>/): folders, expected.json and the .bin arrays,
// read the same way by every test.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../../../shared/fixtures/", import.meta.url));

export function fixtureDir(arch: string): string {
  return join(FIXTURES, arch);
}

/**
 * expected.json is written by Python's json module, which spells non-finite floats (suppressed
 * logits) as bare Infinity / -Infinity / NaN. They are read back as those numbers; only values are
 * touched, never text inside strings.
 */
export function parsePythonJson(text: string): any {
  const quoted = text.replace(/(:\s*|\[\s*|,\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '$1"__py_$2"');
  return JSON.parse(quoted, (_k, v) =>
    v === "__py_Infinity" ? Infinity : v === "__py_-Infinity" ? -Infinity : v === "__py_NaN" ? NaN : v,
  );
}

export function readExpected(arch: string): Record<string, any> {
  return parsePythonJson(readFileSync(join(fixtureDir(arch), "expected.json"), "utf8"));
}

/** A raw little-endian float32 .bin file. */
export function readFloat32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** A float32 .bin array of the `arch` fixture. */
export function fixtureBin(arch: string, file: string): Float32Array {
  return readFloat32(join(fixtureDir(arch), file));
}

/** How expected.json names a .bin array: its file and shape. */
export interface BinEntry {
  file: string;
  shape: number[];
}

/** Largest absolute difference; Infinity on a length mismatch (so any tolerance check fails). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The `seed` generation of the first case of `image` (and `task`, for Florence-2). */
export function seedGeneration(arch: string, image = "image1.png", task?: string): Record<string, any> {
  const c = readExpected(arch).cases.find(
    (x: any) =>
      x.image === image &&
      (task === undefined || x.task === task) &&
      x.generations.some((g: any) => g.name === "seed"),
  );
  if (!c) throw new Error(`no seed generation for ${arch} ${image} ${task ?? ""}`);
  return c.generations.find((g: any) => g.name === "seed");
}

/** The seed generation's decoded text (skip special tokens), stripped as Sightline returns it. */
export function seedText(arch: string, image = "image1.png", task?: string): string {
  return String(seedGeneration(arch, image, task).text[0]).trim();
}
