// Shared helpers for the ViT-GPT2 fixture tests: paths and the .bin arrays of ../shared/fixtures/vit-gpt2.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIXTURE = fileURLToPath(new URL("../../../../shared/fixtures/vit-gpt2/", import.meta.url));

export const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, "utf8"));

export function readBin(file: string): Float32Array {
  const b = readFileSync(`${FIXTURE}${file}`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
