// What a model reference names: a local folder, a short alias of a seed model, or a hub repo id
// with an optional revision (`owner/name`, `owner/name@rev`). docs/models.md lists the aliases.
import { statSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { homedir } from "node:os";
import { fail } from "../errors.js";

export interface ModelAlias {
  repo: string;
  /** A revision other than the default branch, when main lacks safetensors weights. */
  revision?: string;
}

// The seed applications' models, and Qwen3-VL. Revisions stay on the default branch: see docs/models.md for
// which repos are known to carry model.safetensors there.
export const modelAliases: Readonly<Record<string, ModelAlias>> = {
  "kosmos-2": { repo: "microsoft/kosmos-2-patch14-224" },
  "vit-gpt2-image-captioning": { repo: "nlpconnect/vit-gpt2-image-captioning" },
  "blip-image-captioning-large": { repo: "Salesforce/blip-image-captioning-large" },
  "florence-2-promptgen-large": { repo: "MiaoshouAI/Florence-2-large-PromptGen-v2.0" },
  "florence-2-promptgen-base": { repo: "MiaoshouAI/Florence-2-base-PromptGen-v2.0" },
  "florence-2-base": { repo: "microsoft/Florence-2-base-ft" },
  "florence-2-large": { repo: "microsoft/Florence-2-large-ft" },
  "qwen3-vl-2b": { repo: "Qwen/Qwen3-VL-2B-Instruct" },
};

export const defaultRevision = "main";

export type ModelRef =
  | { kind: "folder"; path: string }
  | { kind: "hub"; repo: string; revision: string; /** what the user typed, for messages */ name: string };

// Hub repo ids: `name` (legacy canonical repos such as gpt2) or `owner/name`; letters, digits,
// `-`, `_`, `.`; the hub forbids `--` and `..` inside names, which keeps `owner--name` folders
// unambiguous.
const repoIdPattern = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

/**
 * Parses a model reference. An existing directory wins (as in transformers' from_pretrained), then
 * an alias, then a repo id. Paths that look like paths (./, ../, /, ~) never reach the hub.
 */
export function parseModelRef(
  ref: string,
  cwd: string = process.cwd(),
  options: { folders?: boolean } = {},
): ModelRef {
  const trimmed = ref.trim();
  if (trimmed === "") throw fail("INVALID_ARGUMENT", "empty model name");
  // `models pull/rm` mean the hub even when a folder of that name happens to exist here.
  const asPath = resolvePath(cwd, expandHome(trimmed));
  if (options.folders !== false && isDirectory(asPath)) return { kind: "folder", path: asPath };
  if (/^(\.{1,2}|~)?[\\/]/.test(trimmed) || trimmed === "." || trimmed === "..") {
    throw fail("MODEL_NOT_FOUND", `${trimmed} (no such folder)`);
  }

  const at = trimmed.indexOf("@");
  const base = at >= 0 ? trimmed.slice(0, at) : trimmed;
  const explicitRevision = at >= 0 ? trimmed.slice(at + 1) : undefined;
  if (explicitRevision !== undefined && !isValidRevision(explicitRevision)) {
    throw fail("INVALID_ARGUMENT", `bad revision in model name ${trimmed}`);
  }
  const alias = modelAliases[base];
  if (alias) {
    return {
      kind: "hub",
      repo: alias.repo,
      revision: explicitRevision ?? alias.revision ?? defaultRevision,
      name: trimmed,
    };
  }
  if (!repoIdPattern.test(base) || base.includes("--") || base.includes("..")) {
    throw fail(
      "MODEL_NOT_FOUND",
      `${trimmed} (neither a folder, an alias (${Object.keys(modelAliases).join(", ")}) nor a hub repo id owner/name[@revision])`,
    );
  }
  return { kind: "hub", repo: base, revision: explicitRevision ?? defaultRevision, name: trimmed };
}

/** Branch, tag, `refs/pr/N` or commit sha; no path tricks since it becomes a file name in refs. */
export function isValidRevision(rev: string): boolean {
  return /^[A-Za-z0-9._\-/]+$/.test(rev) && !rev.split("/").some((p) => p === "" || p === "." || p === "..");
}

export function isCommitSha(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}

/** The alias that points at `repo` (for `models list`), if any. */
export function aliasFor(repo: string): string | undefined {
  return Object.entries(modelAliases).find(([, a]) => a.repo === repo)?.[0];
}
