// Shared fixture access for the Kosmos-2 tests.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const FIXTURE = resolve(process.cwd(), "../shared/fixtures/kosmos-2");

export const expected: Record<string, any> = JSON.parse(
  readFileSync(resolve(FIXTURE, "expected.json"), "utf8"),
);

/** A float32 .bin of the fixture. */
export function readBin(file: string): Float32Array {
  const b = readFileSync(resolve(FIXTURE, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Largest absolute difference, failing on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
