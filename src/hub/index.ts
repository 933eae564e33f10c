// Model folders from the Hugging Face hub: resolve, pull, list, remove. See docs/models.md.
export {
  resolveModel,
  pullModel,
  cachedSnapshot,
  type PullEvent,
  type PullResult,
  type ResolveOptions,
} from "./resolve.js";
export { listInstalled, RepoCache, type InstalledSnapshot } from "./cache.js";
export { removeModel } from "./remove.js";
export { modelAliases, aliasFor, parseModelRef, type ModelRef } from "./model-ref.js";
export { hubSettings, defaultModelsDir, type HubOptions, type HubSettings } from "./settings.js";
