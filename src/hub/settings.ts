// Where models come from and where they are kept: explicit options first, then the environment
// variables huggingface_hub users already know (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE), then defaults.
import { homedir } from "node:os";
import { join } from "node:path";

export interface HubSettings {
  endpoint: string;
  token: string | undefined;
  offline: boolean;
  modelsDir: string;
  /** Refuse PyTorch pickle weights (`--safetensors-only` / SIGHTLINE_SAFETENSORS_ONLY=1). */
  safetensorsOnly: boolean;
}

export interface HubOptions {
  offline?: boolean;
  /** The models folder (`--models-dir`); default $SIGHTLINE_MODELS_DIR or ~/.cache/sightline/models. */
  cacheDir?: string;
  endpoint?: string;
  token?: string;
  /** Default: $SIGHTLINE_SAFETENSORS_ONLY. */
  safetensorsOnly?: boolean;
}

export const defaultEndpoint = "https://huggingface.co";

/** huggingface_hub reads boolean variables this way ("1", "ON", "YES", "TRUE", any case). */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ["1", "on", "yes", "true"].includes(value.trim().toLowerCase());
}

export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIGHTLINE_MODELS_DIR) return env.SIGHTLINE_MODELS_DIR;
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "sightline", "models");
}

export function hubSettings(options: HubOptions = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? defaultEndpoint).replace(/\/+$/, "");
  const token = options.token ?? (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined);
  const offline = options.offline ?? envFlag(env.HF_HUB_OFFLINE);
  const safetensorsOnly = options.safetensorsOnly ?? envFlag(env.SIGHTLINE_SAFETENSORS_ONLY);
  return { endpoint, token, offline, modelsDir: options.cacheDir ?? defaultModelsDir(env), safetensorsOnly };
}
