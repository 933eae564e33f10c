// How `caption` and `caption-folder` turn --model into a folder: an existing path is used as is
// (without loading the hub code), anything else goes through the hub (alias, owner/name[@rev]).
// Either way `--safetensors-only` (or SIGHTLINE_SAFETENSORS_ONLY=1) refuses pickle-only weights.
import { existsSync } from "node:fs";
import { checkWeightsAllowed } from "../graph/weight-files.js";
import { envFlag } from "../hub/settings.js";

export async function resolveModelFolder(
  ref: string,
  options: { safetensorsOnly?: boolean } = {},
): Promise<string> {
  const safetensorsOnly = options.safetensorsOnly ?? envFlag(process.env.SIGHTLINE_SAFETENSORS_ONLY);
  if (existsSync(ref)) {
    checkWeightsAllowed(ref, { safetensorsOnly });
    return ref;
  }
  const { resolveModel } = await import("../hub/index.js");
  return resolveModel(ref, { safetensorsOnly });
}
