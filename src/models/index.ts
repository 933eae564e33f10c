// The registry of architectures: config.json model_type → architecture name and loader, one line each.
// loadModel reads a folder's config.json, picks its line and loads the captioner (the architecture's
// code is imported only when a model of that kind is loaded).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors.js";
import type { Architecture, CaptionModel, Captioner, LoadOptions } from "./types.js";

type CaptionerModule = { load: Architecture["load"] };

const lazy =
  (module: () => Promise<CaptionerModule>): Architecture["load"] =>
  async (folder, config, options) =>
    (await module()).load(folder, config, options);

export const architectures: readonly Architecture[] = [
  {
    modelType: "vision-encoder-decoder",
    arch: "vit-gpt2",
    load: lazy(() => import("./vit-gpt2/captioner.js")),
  },
  { modelType: "blip", arch: "blip", load: lazy(() => import("./blip/captioner.js")) },
  { modelType: "kosmos-2", arch: "kosmos-2", load: lazy(() => import("./kosmos-2/captioner.js")) },
  { modelType: "florence2", arch: "florence-2", load: lazy(() => import("./florence-2/captioner.js")) },
  { modelType: "qwen3_vl", arch: "qwen3-vl", load: lazy(() => import("./qwen3-vl/captioner.js")) },
];

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

/** config.json's model_type ("vision-encoder-decoder", "blip", …), "" when it has none. */
export function modelTypeOf(config: Record<string, any>): string {
  return String(config.model_type ?? "");
}

export function supportedModelTypes(): string[] {
  return architectures.map((a) => a.modelType);
}

/** model_type → the architecture name its models report (what the server knows before loading one). */
export function archByModelType(): Record<string, string> {
  return Object.fromEntries(architectures.map((a) => [a.modelType, a.arch]));
}

export async function loadModel(folder: string, options: LoadOptions = {}): Promise<CaptionModel> {
  const config = readModelConfig(folder);
  const type = modelTypeOf(config);
  const entry = architectures.find((a) => a.modelType === type);
  if (!entry) {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `model_type "${type}" in ${folder} (supported: ${supportedModelTypes().join(", ")})`,
    );
  }
  const captioner: Captioner = await entry.load(folder, config, options);
  return Object.assign(captioner, { arch: entry.arch });
}
