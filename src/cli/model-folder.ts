// --model for the commands that load a model in this process (caption, caption-folder): a folder is
// used as it is (without loading the hub code); an alias or hub repo is resolved in the models folder
// and downloaded first when missing (showing what and how much), unless --offline / HF_HUB_OFFLINE.
// Either way `--safetensors-only` (or SIGHTLINE_SAFETENSORS_ONLY=1) refuses pickle-only weights.
import { statSync } from "node:fs";
import { parseQuantizeMode, quantizedCacheDir, type QuantizeOptions } from "../graph/quantize.js";
import { checkWeightsAllowed } from "../graph/weight-files.js";
import { envFlag, hubSettings } from "../hub/settings.js";
import { downloadProgress } from "./download-progress.js";

export interface ModelFolderOptions {
  offline?: boolean;
  modelsDir?: string;
  safetensorsOnly?: boolean;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function modelFolder(ref: string, options: ModelFolderOptions = {}): Promise<string> {
  const safetensorsOnly = options.safetensorsOnly ?? envFlag(process.env.SIGHTLINE_SAFETENSORS_ONLY);
  if (isDirectory(ref)) {
    checkWeightsAllowed(ref, { safetensorsOnly });
    return ref;
  }
  const { resolveModel } = await import("../hub/index.js");
  const progress = downloadProgress(ref);
  try {
    return await resolveModel(ref, {
      offline: options.offline || undefined, // unset: HF_HUB_OFFLINE decides
      cacheDir: options.modelsDir,
      safetensorsOnly,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
}

/** While a model loads: one status line on a terminal (erased when done), nothing otherwise. */
export async function withLoadingLine<T>(what: string, work: () => Promise<T>): Promise<T> {
  const tty = process.stderr.isTTY === true;
  if (tty) process.stderr.write(`loading ${what}…`);
  try {
    return await work();
  } finally {
    if (tty) process.stderr.write("\r\x1b[K");
  }
}

/**
 * `--quantize q8|q4|none` as load options: quantized weights are cached in the models folder's
 * `.quantized` (never in the model's own folder); on a terminal, quantizing shows its progress.
 */
export function quantizeOption(value: string | undefined, modelsDir?: string): QuantizeOptions | undefined {
  if (value === undefined) return undefined;
  const mode = parseQuantizeMode(value);
  if (!mode) return undefined;
  const tty = process.stderr.isTTY === true;
  return {
    mode,
    cacheDir: quantizedCacheDir(hubSettings({ cacheDir: modelsDir }).modelsDir),
    onProgress: tty
      ? (done, total) =>
          process.stderr.write(`\r\x1b[Kquantizing weights (${mode}) ${Math.floor((100 * done) / total)} %`)
      : undefined,
  };
}
