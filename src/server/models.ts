// The models a server offers: the seed applications' names plus every `--model NAME=DIR`, each
// with the version the describe API reports and a way to find its folder when it is first loaded.
import { existsSync, statSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { fail } from "../errors.js";
import { checkWeightsAllowed } from "../graph/weight-files.js";
import { readModelConfig } from "../models/index.js";

export interface ModelEntry {
  /** What clients ask for ("kosmos-2", or a --model NAME). */
  name: string;
  /** What the describe API reports as model.version. */
  version: string;
  /** An explicit folder (--model NAME=DIR) or a hub reference to resolve. */
  source: string;
  /** Hub repo the seed name stands for. */
  hubRepo?: string;
  /** config.json model_type when known without loading (explicit folders). */
  modelType?: string;
}

/** The seed applications' model names (PhotoPrism's describe service). */
export const seedModels: readonly Omit<ModelEntry, "source">[] = [
  { name: "kosmos-2", version: "patch14-224", hubRepo: "microsoft/kosmos-2-patch14-224" },
  { name: "vit-gpt2-image-captioning", version: "latest", hubRepo: "nlpconnect/vit-gpt2-image-captioning" },
  {
    name: "blip-image-captioning-large",
    version: "latest",
    hubRepo: "Salesforce/blip-image-captioning-large",
  },
];

export const seedDefaultModel = "kosmos-2";

/** Finds a model's folder: a local folder, or whatever a hub resolver makes of the reference. */
export type ModelResolver = (entry: ModelEntry) => Promise<string>;

/** Resolves through the hub (src/hub) when one is given: (ref, {offline, cacheDir}) → folder. */
export type HubResolve = (ref: string, options: { offline?: boolean; cacheDir?: string }) => Promise<string>;

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Local folders first: the explicit folder, then under --models-dir the name, the hub repo's
 * last part, `owner/name` and `owner--name`; then the hub resolver when there is one.
 */
export function folderResolver(options: {
  modelsDir?: string;
  hub?: HubResolve;
  offline?: boolean;
  /** Refuse folders whose only weights are PyTorch pickles (the hub resolver checks its own). */
  safetensorsOnly?: boolean;
}): ModelResolver {
  return async (entry) => {
    const tried: string[] = [];
    const candidates: string[] = [];
    if (entry.source) candidates.push(resolvePath(entry.source));
    if (options.modelsDir) {
      const dir = resolvePath(options.modelsDir);
      candidates.push(join(dir, entry.name));
      if (entry.hubRepo) {
        candidates.push(join(dir, entry.hubRepo.split("/").pop()!));
        candidates.push(join(dir, entry.hubRepo));
        candidates.push(join(dir, entry.hubRepo.replace("/", "--")));
      }
    }
    for (const c of candidates) {
      tried.push(c);
      if (isDir(c) && existsSync(join(c, "config.json"))) {
        checkWeightsAllowed(c, options);
        return c;
      }
    }
    const ref = entry.source && !isDir(resolvePath(entry.source)) ? entry.source : entry.hubRepo;
    if (options.hub && ref) {
      return options.hub(ref, { offline: options.offline, cacheDir: options.modelsDir });
    }
    throw fail(
      "MODEL_NOT_CONFIGURED",
      `${entry.name} has no model folder (looked in ${tried.join(", ") || "nothing"}); ` +
        `start the server with --model ${entry.name}=DIR or --models-dir DIR`,
    );
  };
}

export interface RegistryOptions {
  /** NAME → folder or hub reference (`--model NAME=DIR`, repeatable). */
  models?: Record<string, string>;
  defaultModel?: string;
  /** `--florence-model`. */
  florenceModel?: string;
  /** Whether seed names can be found without an explicit folder (models dir or hub present). */
  seedsResolvable?: boolean;
}

/** Model names match in any case (PhotoPrism keeps vision.yml's `Name: Kosmos-2` as written). */
export const foldName = (name: string) => name.toLowerCase();

export class ModelRegistry {
  /** Keyed by foldName(name). */
  private readonly entries = new Map<string, ModelEntry>();
  readonly defaultModel: string;
  readonly florenceModel: string;

  constructor(options: RegistryOptions = {}) {
    for (const seed of seedModels) this.entries.set(foldName(seed.name), { ...seed, source: "" });
    const explicit = Object.entries(options.models ?? {});
    const seen = new Map<string, string>();
    for (const [name] of explicit) {
      const other = seen.get(foldName(name));
      if (other !== undefined) {
        throw fail("INVALID_ARGUMENT", `model names ${other} and ${name} differ only in case; rename one`);
      }
      seen.set(foldName(name), name);
    }
    for (const [name, source] of explicit) {
      const seed = this.entries.get(foldName(name));
      this.entries.set(foldName(name), {
        name,
        version: seed?.version ?? "latest",
        hubRepo: seed?.hubRepo,
        source,
        modelType: peekModelType(source),
      });
    }
    // Seed default unless the user named models only by folder and the seed names cannot be found.
    const kosmosUsable = options.seedsResolvable || this.entries.get(seedDefaultModel)!.source !== "";
    const defaultModel =
      options.defaultModel ?? (kosmosUsable || explicit.length === 0 ? seedDefaultModel : explicit[0]![0]);
    if (!this.has(defaultModel)) throw fail("MODEL_NOT_FOUND", `${defaultModel} (--default-model)`);
    this.defaultModel = this.get(defaultModel).name;
    // A folder's config.json says florence2; a hub reference not yet downloaded only has its name.
    const florence = explicit.find(([name, source]) =>
      /florence/i.test(this.entries.get(foldName(name))!.modelType ?? source),
    );
    const florenceModel = options.florenceModel ?? florence?.[0] ?? this.defaultModel;
    if (!this.has(florenceModel)) throw fail("MODEL_NOT_FOUND", `${florenceModel} (--florence-model)`);
    this.florenceModel = this.get(florenceModel).name;
  }

  /** The entry for `name` (default model when empty); MODEL_NOT_FOUND for names we do not know. */
  get(name?: string): ModelEntry {
    const key = name === undefined || name === "" ? this.defaultModel : name;
    const entry = this.entries.get(foldName(key));
    if (!entry) {
      const known = [...this.entries.values()].map((e) => e.name).join(", ");
      throw fail("MODEL_NOT_FOUND", `${key} (known: ${known})`);
    }
    return entry;
  }

  /** Whether `name` (in any case) is a served model. */
  has(name: string): boolean {
    return this.entries.has(foldName(name));
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }
}

/** config.json model_type of a local folder, without loading anything; undefined if unreadable. */
function peekModelType(source: string): string | undefined {
  try {
    return String(readModelConfig(resolvePath(source)).model_type ?? "") || undefined;
  } catch {
    return undefined;
  }
}
