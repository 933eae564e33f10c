// The models a server offers, and where each one's folder comes from.
//
// With `--model NAME=SOURCE` (flags or config file) the server offers exactly those, the first being
// the default unless `--default-model` names another; SOURCE is a folder (checked when the server
// starts) or a hub reference (an alias or owner/name, downloaded on first use: the operator asked
// for it). With no --model it offers the seed applications' names (kosmos-2, the default, and the
// describe service's two others), as far as they are in the models folder already. `--allow-pull`
// adds every known alias and lets clients' requests download seed and alias models; without it no
// client request ever reaches the hub for a model the operator did not configure.
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { clip, fail, type SightlineError } from "../errors.js";
import { checkWeightsAllowed } from "../graph/weight-files.js";
import { modelAliases, parseModelRef } from "../hub/model-ref.js";
import { readModelConfig } from "../models/index.js";

export interface ModelEntry {
  /** What clients ask for ("kosmos-2", or a --model NAME). */
  name: string;
  /** What the describe API reports as model.version. */
  version: string;
  /** The operator's SOURCE for a configured model (a folder or hub reference); "" otherwise. */
  source: string;
  /** Hub repo the name stands for (seed and alias names). */
  hubRepo?: string;
  /** config.json model_type when known without loading (explicit folders). */
  modelType?: string;
  /**
   * configured: named by the operator (--model, config file); seed: a seed name offered because
   * no --model was given; pull: a known alias offered because of --allow-pull.
   */
  origin: "configured" | "seed" | "pull";
}

/** The seed applications' model names (PhotoPrism's describe service). */
export const seedModels: readonly Pick<ModelEntry, "name" | "version" | "hubRepo">[] = [
  { name: "kosmos-2", version: "patch14-224", hubRepo: "microsoft/kosmos-2-patch14-224" },
  { name: "vit-gpt2-image-captioning", version: "latest", hubRepo: "nlpconnect/vit-gpt2-image-captioning" },
  {
    name: "blip-image-captioning-large",
    version: "latest",
    hubRepo: "Salesforce/blip-image-captioning-large",
  },
];

export const seedDefaultModel = "kosmos-2";

/** Finds a model's folder; downloads (through the hub) only when `download` is true. */
export type ModelResolver = (entry: ModelEntry, options: { download: boolean }) => Promise<string>;

/**
 * Resolves through the hub (src/hub): (ref, {offline, cacheDir}) → folder. With offline it only
 * looks in the models folder (MODEL_NOT_DOWNLOADED when the model is not there).
 */
export type HubResolve = (ref: string, options: { offline?: boolean; cacheDir?: string }) => Promise<string>;

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

/** A SOURCE written as a path (./, ../, /, ~) never means the hub. */
function looksLikePath(source: string): boolean {
  return /^(\.{1,2}|~)?[\\/]/.test(source) || source === "." || source === ".." || source === "~";
}

/** The hub reference an entry stands for: the operator's source, or the seed/alias name. */
function hubRef(entry: ModelEntry): string {
  return entry.origin === "configured" ? entry.source : entry.name;
}

/**
 * Local folders first: the configured folder, then under --models-dir the name, the hub repo's
 * last part, `owner/name` and `owner--name`; then the hub resolver, offline unless `download`.
 */
export function folderResolver(options: {
  modelsDir?: string;
  hub?: HubResolve;
  /** Refuse folders whose only weights are PyTorch pickles (the hub resolver checks its own). */
  safetensorsOnly?: boolean;
}): ModelResolver {
  return async (entry, { download }) => {
    const candidates: string[] = [];
    if (entry.origin === "configured" && isDir(resolvePath(expandHome(entry.source)))) {
      candidates.push(resolvePath(expandHome(entry.source)));
    }
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
      if (isDir(c) && existsSync(join(c, "config.json"))) {
        checkWeightsAllowed(c, options);
        return c;
      }
    }
    const ref = hubRef(entry);
    if (options.hub && ref && !looksLikePath(ref)) {
      return options.hub(ref, { offline: !download, cacheDir: options.modelsDir });
    }
    throw fail("MODEL_NOT_DOWNLOADED", entry.name);
  };
}

export interface RegistryOptions {
  /** NAME → folder or hub reference (`--model NAME=SOURCE`, repeatable; the config file's models). */
  models?: Record<string, string>;
  defaultModel?: string;
  /** `--florence-model`. */
  florenceModel?: string;
  /** `--allow-pull`: offer every known alias, and let requests download seed and alias models. */
  allowPull?: boolean;
  /**
   * Names the operator wants loaded at start (`--preload`): configured too, so they may be
   * downloaded; a seed or alias name among them is offered even when --model names others.
   */
  preload?: string[];
  /** `--offline`: never download, not even configured hub references. */
  offline?: boolean;
  /** Check that configured folders exist and hold a config.json (default true). */
  checkFolders?: boolean;
}

/** MODEL_NOT_FOUND naming what was asked for (clipped) and where the models are listed, not the list. */
export function modelNotFound(name: string): SightlineError {
  return fail("MODEL_NOT_FOUND", `${clip(name)} (GET /v1/models or /api/tags lists this server's models)`);
}

/** Model names match in any case (PhotoPrism keeps vision.yml's `Name: Kosmos-2` as written). */
export const foldName = (name: string) => name.toLowerCase();

export class ModelRegistry {
  /** Keyed by foldName(name). */
  private readonly entries = new Map<string, ModelEntry>();
  readonly defaultModel: string;
  readonly florenceModel: string;
  readonly allowPull: boolean;
  readonly offline: boolean;

  constructor(options: RegistryOptions = {}) {
    this.allowPull = options.allowPull ?? false;
    this.offline = options.offline ?? false;
    const seeds = new Map(seedModels.map((s) => [foldName(s.name), s]));
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
      if (options.checkFolders !== false) checkSource(name, source);
      const seed = seeds.get(foldName(name));
      this.entries.set(foldName(name), {
        name,
        version: seed?.version ?? "latest",
        hubRepo: seed?.hubRepo ?? sourceRepo(source),
        source,
        modelType: peekModelType(source),
        origin: "configured",
      });
    }
    if (explicit.length === 0) {
      for (const seed of seedModels)
        this.entries.set(foldName(seed.name), { ...seed, source: "", origin: "seed" });
    }
    for (const name of options.preload ?? []) {
      const key = foldName(name);
      const entry = this.entries.get(key);
      if (entry) {
        if (entry.origin !== "configured")
          this.entries.set(key, { ...entry, origin: "configured", source: entry.name });
      } else if (modelAliases[key]) {
        this.entries.set(key, {
          name: key,
          version: seeds.get(key)?.version ?? "latest",
          hubRepo: modelAliases[key]!.repo,
          source: key,
          origin: "configured",
        });
      } else {
        throw fail("MODEL_NOT_FOUND", `${name} (--preload: neither a --model NAME nor a model alias)`);
      }
    }
    if (this.allowPull) {
      for (const name of Object.keys(modelAliases)) {
        if (this.has(name)) continue;
        const seed = seeds.get(name);
        this.entries.set(foldName(name), {
          name,
          version: seed?.version ?? "latest",
          hubRepo: modelAliases[name]!.repo,
          source: "",
          origin: "pull",
        });
      }
    }
    const defaultModel = options.defaultModel ?? (explicit.length > 0 ? explicit[0]![0] : seedDefaultModel);
    if (!this.has(defaultModel)) throw startupNotFound(defaultModel, "--default-model", this);
    this.defaultModel = this.get(defaultModel).name;
    // A folder's config.json says florence2; a hub reference not yet downloaded only has its name.
    const florence = explicit.find(([name, source]) =>
      /florence/i.test(this.entries.get(foldName(name))!.modelType ?? source),
    );
    const florenceModel = options.florenceModel ?? florence?.[0] ?? this.defaultModel;
    if (!this.has(florenceModel)) throw startupNotFound(florenceModel, "--florence-model", this);
    this.florenceModel = this.get(florenceModel).name;
  }

  /** The entry for `name` (default model when empty); MODEL_NOT_FOUND for names this server does not offer. */
  get(name?: string): ModelEntry {
    const key = name === undefined || name === "" ? this.defaultModel : name;
    const entry = this.entries.get(foldName(key));
    if (!entry) throw modelNotFound(key);
    return entry;
  }

  /** Whether `name` (in any case) is a served model. */
  has(name: string): boolean {
    return this.entries.has(foldName(name));
  }

  /** Every name the server knows, servable or not (see Runtime.servable() for what can be served now). */
  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  /** Whether a request for `entry` may download it (never when offline). */
  mayDownload(entry: ModelEntry): boolean {
    if (this.offline) return false;
    return entry.origin === "configured" || this.allowPull;
  }

  /**
   * Why `entry`, not in the models folder, cannot be served, with a hint that is true for this
   * server's settings. A seed or alias name is then as unknown to clients as any other (404); a
   * configured model the server may not download (offline) is the server's problem (503).
   */
  notDownloaded(entry: ModelEntry): SightlineError {
    if (entry.origin === "configured") return fail("MODEL_NOT_DOWNLOADED", entry.source);
    const how = this.offline
      ? `its operator can run \`sightline models pull ${entry.name}\` (the server is offline)`
      : `its operator can run \`sightline models pull ${entry.name}\`, or start the server with --allow-pull`;
    return fail("MODEL_NOT_FOUND", `${entry.name} is not in this server's models folder (${how})`);
  }
}

function startupNotFound(name: string, flag: string, registry: ModelRegistry): Error {
  const names = registry.list().map((e) => e.name);
  return fail("MODEL_NOT_FOUND", `${name} (${flag}; this server offers ${names.join(", ") || "no model"})`);
}

/** The hub repo a configured hub reference (an alias or owner/name) stands for; undefined for a folder. */
function sourceRepo(source: string): string | undefined {
  if (isDir(resolvePath(expandHome(source))) || looksLikePath(source)) return undefined;
  try {
    const ref = parseModelRef(source, process.cwd(), { folders: false });
    return ref.kind === "hub" ? ref.repo : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A configured SOURCE must be usable before the server starts: a folder that exists and has a
 * config.json, or a well-formed hub reference (checked here, downloaded on first use).
 */
function checkSource(name: string, source: string): void {
  const path = resolvePath(expandHome(source));
  if (isDir(path)) {
    if (!existsSync(join(path, "config.json")))
      throw fail("MODEL_CONFIG_MISSING", `${path} (--model ${name})`);
    return;
  }
  if (looksLikePath(source)) {
    throw fail("MODEL_NOT_FOUND", `--model ${name}=${source}: there is no folder ${path}`);
  }
  try {
    parseModelRef(source, process.cwd(), { folders: false });
  } catch {
    throw fail(
      "MODEL_NOT_FOUND",
      `--model ${name}=${source}: neither a folder nor a hub reference (an alias or owner/name)`,
    );
  }
}

/** config.json model_type of a local folder, without loading anything; undefined if unreadable. */
function peekModelType(source: string): string | undefined {
  try {
    return String(readModelConfig(resolvePath(expandHome(source))).model_type ?? "") || undefined;
  } catch {
    return undefined;
  }
}
