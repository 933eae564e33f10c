// Which files of a hub repo Sightline needs: configs, tokenizer files and the weights —
// safetensors when the repo has them, else pytorch_model.bin (PyTorch pickles, read by the
// restricted reader in src/graph/pickle and checked before a snapshot counts as complete).
// Everything else (tf_model.h5, flax/onnx exports, README, remote-code .py) stays on the hub.
// With safetensorsOnly a repo whose only weights are pickles is refused here, before any download.
import { fail } from "../errors.js";
import { weightFileNames, type WeightFormat } from "../graph/weight-files.js";
import type { RemoteFile } from "./client.js";

export const configFiles = [
  "config.json",
  "generation_config.json",
  "preprocessor_config.json",
  "processor_config.json",
  // Chat models (Qwen3-VL): the real repo's chat_template.json, transformers 5's chat_template.jinja.
  "chat_template.json",
  "chat_template.jinja",
] as const;

export const tokenizerFiles = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
  "vocab.txt",
  "sentencepiece.bpe.model",
  "spiece.model",
  "tokenizer.model",
] as const;

export const singleWeightsFile = "model.safetensors";
export const shardedWeightsIndex = "model.safetensors.index.json";

const pickleWeights = /^(pytorch_model(-\d+-of-\d+)?\.bin|pytorch_model\.bin\.index\.json)$/;

export interface DownloadPlan {
  /** Files to fetch first (configs, tokenizer, index). */
  files: RemoteFile[];
  /** Set when weights are sharded: the shards are read from this index once it is downloaded. */
  shardIndex?: RemoteFile;
  /** Which weights the plan fetches. */
  weights: WeightFormat;
}

/** Picks the needed files out of the repo's listing; `label` names the repo in errors. */
export function planDownload(
  listing: RemoteFile[],
  label: string,
  options: { safetensorsOnly?: boolean } = {},
): DownloadPlan {
  const byName = new Map(listing.map((f) => [f.name, f]));
  if (!byName.has("config.json")) throw fail("MODEL_CONFIG_MISSING", label);
  const wanted: RemoteFile[] = [];
  for (const name of [...configFiles, ...tokenizerFiles]) {
    const f = byName.get(name);
    if (f) wanted.push(f);
  }
  const single = byName.get(singleWeightsFile);
  if (single) return { files: [...wanted, single], weights: "safetensors" };
  const index = byName.get(shardedWeightsIndex);
  if (index) return { files: [...wanted, index], shardIndex: index, weights: "safetensors" };
  if (listing.some((f) => pickleWeights.test(f.name))) {
    if (options.safetensorsOnly) throw fail("MODEL_WEIGHTS_PICKLE_ONLY", label);
    const pickle = byName.get(weightFileNames.pytorch.single);
    if (pickle) return { files: [...wanted, pickle], weights: "pytorch" };
    const pickleIndex = byName.get(weightFileNames.pytorch.index);
    if (pickleIndex) return { files: [...wanted, pickleIndex], shardIndex: pickleIndex, weights: "pytorch" };
  }
  throw fail("MODEL_WEIGHTS_MISSING", label);
}

/** The shard file names a model.safetensors.index.json points at, in order, each once. */
export function shardNames(indexJson: string, label: string): string[] {
  let parsed: { weight_map?: Record<string, string> };
  try {
    parsed = JSON.parse(indexJson) as typeof parsed;
  } catch {
    throw fail("SAFETENSORS_INVALID", `${label}: ${shardedWeightsIndex} is not JSON`);
  }
  const map = parsed.weight_map;
  if (!map || typeof map !== "object")
    throw fail("SAFETENSORS_INVALID", `${label}: ${shardedWeightsIndex} has no weight_map`);
  const names = [...new Set(Object.values(map))];
  for (const n of names) {
    // Shards live next to the index; refuse anything that would escape the folder.
    if (typeof n !== "string" || !/^[A-Za-z0-9._-]+\.safetensors$/.test(n)) {
      throw fail(
        "SAFETENSORS_INVALID",
        `${label}: bad shard name ${JSON.stringify(n)} in ${shardedWeightsIndex}`,
      );
    }
  }
  return names;
}
