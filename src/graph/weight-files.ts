// Which weight files a model folder has, in transformers' order of preference: model.safetensors,
// its sharded index, then pytorch_model.bin (PyTorch pickle, read by src/graph/pickle without
// running it), its sharded index. `--safetensors-only` refuses folders that only have the pickles.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors.js";

export type WeightFormat = "safetensors" | "pytorch";

export interface WeightFiles {
  format: WeightFormat;
  /** Absolute paths: the single file, or each shard once in index order. */
  files: string[];
  /** The sharded index, when there is one. */
  index?: string;
}

export const weightFileNames = {
  safetensors: { single: "model.safetensors", index: "model.safetensors.index.json", ext: ".safetensors" },
  pytorch: { single: "pytorch_model.bin", index: "pytorch_model.bin.index.json", ext: ".bin" },
} as const;

/** The shard file names an index's weight_map points at, each once; refuses names that leave the folder. */
export function shardFileNames(indexJson: string, format: WeightFormat, label: string): string[] {
  const { index, ext } = weightFileNames[format];
  const code = format === "safetensors" ? "SAFETENSORS_INVALID" : "CHECKPOINT_INVALID";
  let parsed: { weight_map?: unknown };
  try {
    parsed = JSON.parse(indexJson) as typeof parsed;
  } catch {
    throw fail(code, `${label}: ${index} is not JSON`);
  }
  const map = parsed?.weight_map;
  if (!map || typeof map !== "object" || Array.isArray(map))
    throw fail(code, `${label}: ${index} has no weight_map`);
  const names = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const n of names) {
    if (typeof n !== "string" || !/^[A-Za-z0-9._-]+$/.test(n) || !n.endsWith(ext) || n.startsWith(".")) {
      throw fail(code, `${label}: bad shard name ${JSON.stringify(n)} in ${index}`);
    }
  }
  if (names.length === 0) throw fail(code, `${label}: ${index} names no shards`);
  return names as string[];
}

/** The folder's weights, or undefined when it has none of the four layouts. */
export function findWeightFiles(folder: string): WeightFiles | undefined {
  for (const format of ["safetensors", "pytorch"] as const) {
    const names = weightFileNames[format];
    const single = join(folder, names.single);
    if (existsSync(single)) return { format, files: [single] };
    const index = join(folder, names.index);
    if (existsSync(index)) {
      const shards = shardFileNames(readFileSync(index, "utf8"), format, folder);
      return { format, files: shards.map((s) => join(folder, s)), index };
    }
  }
  return undefined;
}

/** With `safetensorsOnly`, refuses a folder whose only weights are PyTorch pickles. */
export function checkWeightsAllowed(folder: string, options: { safetensorsOnly?: boolean }): void {
  if (!options.safetensorsOnly) return;
  if (findWeightFiles(folder)?.format === "pytorch") throw fail("MODEL_WEIGHTS_PICKLE_ONLY", folder);
}
