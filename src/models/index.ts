// Loads a model folder: reads config.json, picks the architecture, builds its graphs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors.js";
import type { CaptionModel, LoadOptions } from "./types.js";

type Loader = (folder: string, config: Record<string, any>, options: LoadOptions) => Promise<CaptionModel>;

/** config.json model_type → architecture loader. Each architecture adds its line. */
const loaders: Record<string, () => Promise<Loader>> = {
  blip: () => import("./blip/index.js").then((m) => m.load),
  "vision-encoder-decoder": () => import("./vit-gpt2/index.js").then((m) => m.load),
  "kosmos-2": () => import("./kosmos-2/index.js").then((m) => m.load),
  florence2: () => import("./florence-2/index.js").then((m) => m.load),
};

export function readModelConfig(folder: string): Record<string, any> {
  const path = join(folder, "config.json");
  if (!existsSync(folder)) throw fail("MODEL_NOT_FOUND", folder);
  if (!existsSync(path)) throw fail("MODEL_CONFIG_MISSING", folder);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw fail("MODEL_CONFIG_INVALID", `${path}: ${(e as Error).message}`);
  }
}

/** The architecture family of a folder ("vit-gpt2", "blip", …) from its config.json. */
export function detectArch(config: Record<string, any>): string {
  return String(config.model_type ?? "");
}

export function supportedModelTypes(): string[] {
  return Object.keys(loaders);
}

export async function loadModel(folder: string, options: LoadOptions = {}): Promise<CaptionModel> {
  const config = readModelConfig(folder);
  const type = detectArch(config);
  const loader = loaders[type];
  if (!loader) {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `model_type "${type}" in ${folder} (supported: ${supportedModelTypes().join(", ") || "none"})`,
    );
  }
  return (await loader())(folder, config, options);
}
