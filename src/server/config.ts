// `sightline serve` settings: every flag also comes from an environment variable SIGHTLINE_* and
// from a JSON config file (--config FILE). Precedence: flag > environment > config file > default.
import { readFileSync } from "node:fs";
import { fail } from "../errors.js";
import { parseQuantizeMode, type QuantizeMode } from "../graph/quantize.js";

type Kind = "string" | "int" | "number" | "bool" | "models" | "names" | "quantize";

interface Setting {
  flag: string;
  kind: Kind;
  arg?: string;
  help: string;
  default?: string | number | boolean;
  /** Not listed in --help (test hooks). */
  hidden?: boolean;
}

const settings = [
  { flag: "host", kind: "string", arg: "HOST", default: "127.0.0.1", help: "address to listen on" },
  {
    flag: "port",
    kind: "int",
    arg: "N",
    default: 5000,
    help: "port to listen on (54880 = the Florence seed's port)",
  },
  {
    flag: "model",
    kind: "models",
    arg: "NAME=SOURCE",
    help: "serve a model folder or hub reference as NAME, and only these (repeatable; env: a,b)",
  },
  {
    flag: "models-dir",
    kind: "string",
    arg: "DIR",
    help: "folder with downloaded models (seed names are looked up here)",
  },
  {
    flag: "default-model",
    kind: "string",
    arg: "NAME",
    help: "model used when a request names none (default: the first --model, else kosmos-2)",
  },
  {
    flag: "florence-model",
    kind: "string",
    arg: "NAME",
    help: "model behind the Florence API (default: first Florence-2 model, else the default)",
  },
  {
    flag: "idle-unload",
    kind: "number",
    arg: "SECONDS",
    default: 300,
    help: "end a model's worker after this long idle (0 = never)",
  },
  {
    flag: "max-queue",
    kind: "int",
    arg: "N",
    default: 32,
    help: "requests waiting per model before answering 429 + Retry-After",
  },
  {
    flag: "max-batch",
    kind: "int",
    arg: "N",
    default: 8,
    help: "requests one model runs together, sharing its decoder steps (1 = one at a time)",
  },
  {
    flag: "request-timeout",
    kind: "number",
    arg: "SECONDS",
    default: 600,
    help: "time limit per request, model load and queue included (0 = none; PhotoPrism waits 600)",
  },
  {
    flag: "busy-status",
    kind: "int",
    arg: "429|503",
    default: 429,
    help: "status of a full queue (429: what PhotoPrism retries; 503: Ollama's)",
  },
  {
    flag: "nsfw-model",
    kind: "string",
    arg: "NAME",
    default: "MobileNetV2",
    help: "NSFW classifier bundled with nsfwjs: MobileNetV2, InceptionV3, or off",
  },
  {
    flag: "nsfw-threshold",
    kind: "number",
    arg: "P",
    default: 0.75,
    help: "unsafe at or above this max(Porn, Sexy, Hentai) probability (PhotoPrism's 0.75)",
  },
  {
    flag: "drain-timeout",
    kind: "number",
    arg: "SECONDS",
    default: 30,
    help: "on SIGTERM, finish queued work for at most this long",
  },
  {
    flag: "api-key",
    kind: "string",
    arg: "KEY",
    help: "require Authorization: Bearer KEY on every route but /healthz and /readyz",
  },
  {
    flag: "allow-private-urls",
    kind: "bool",
    default: false,
    help: "let image URLs reach loopback/private/link-local hosts (a NAS at home)",
  },
  {
    flag: "max-image-mb",
    kind: "number",
    arg: "MB",
    default: 20,
    help: "largest image accepted (fetched, base64 or uploaded)",
  },
  {
    flag: "max-pixels",
    kind: "int",
    arg: "N",
    default: 50_000_000,
    help: "largest decoded image, width x height",
  },
  {
    flag: "fetch-timeout",
    kind: "number",
    arg: "SECONDS",
    default: 15,
    help: "time limit for fetching one image URL",
  },
  {
    flag: "labels-model",
    kind: "string",
    arg: "NAME",
    help: "model answering label requests that name none (default: the default model)",
  },
  {
    flag: "labels-task",
    kind: "string",
    arg: "TOKEN",
    help: "Florence-2 task for labels (default <GENERATE_TAGS> for PromptGen models, else <OD>)",
  },
  {
    flag: "florence-max-new-tokens",
    kind: "int",
    arg: "N",
    default: 1024,
    help: "generation length of the Florence API (the seed's 1024)",
  },
  {
    flag: "model-max-pixels",
    kind: "int",
    arg: "N",
    default: 409_600,
    help: "most pixels Qwen3-VL resizes an image to: its time per photo grows with them (640x640)",
  },
  {
    flag: "threads",
    kind: "int",
    arg: "N",
    help: "ONNX Runtime threads per model worker (default: one per physical core)",
  },
  {
    flag: "quantize",
    kind: "quantize",
    arg: "[NAME=]q8|q4|none",
    help: "8- or 4-bit weights for every model, or for NAME (repeatable; env: q8 or a=q8,b=q4)",
  },
  {
    flag: "preload",
    kind: "names",
    arg: "NAME",
    help: "load NAME at start and keep it loaded; /readyz waits for it (repeatable)",
  },
  {
    flag: "max-loaded-models",
    kind: "int",
    arg: "N",
    default: 0,
    help: "most models loaded at once; the least recently used idle one makes room (0 = no limit)",
  },
  { flag: "offline", kind: "bool", default: false, help: "never download models (also HF_HUB_OFFLINE=1)" },
  {
    flag: "allow-pull",
    kind: "bool",
    default: false,
    help: "offer every model alias; requests may download what no --model names",
  },
  {
    flag: "safetensors-only",
    kind: "bool",
    default: false,
    help: "refuse models whose only weights are pytorch_model.bin pickles",
  },
  {
    flag: "log-level",
    kind: "string",
    arg: "LEVEL",
    default: "info",
    help: "pino log level (fatal, error, warn, info, debug, silent)",
  },
  {
    flag: "log-format",
    kind: "string",
    arg: "FORMAT",
    default: "auto",
    help: "auto (pretty lines on a terminal, JSON lines otherwise), pretty or json",
  },
  {
    flag: "config",
    kind: "string",
    arg: "FILE",
    help: "JSON file with any of these settings (keys as flag names or camelCase)",
  },
  {
    flag: "worker-loader",
    kind: "string",
    arg: "MODULE",
    hidden: true,
    help: "module exporting loadModel for workers (tests)",
  },
] as const satisfies readonly Setting[];

type FlagName = (typeof settings)[number]["flag"];

export interface ServeConfig {
  host: string;
  port: number;
  models: Record<string, string>;
  modelsDir?: string;
  defaultModel?: string;
  florenceModel?: string;
  idleUnload: number;
  maxQueue: number;
  maxBatch: number;
  requestTimeout: number;
  busyStatus: number;
  nsfwModel: string;
  nsfwThreshold: number;
  drainTimeout: number;
  apiKey?: string;
  allowPrivateUrls: boolean;
  maxImageMb: number;
  maxPixels: number;
  modelMaxPixels: number;
  fetchTimeout: number;
  florenceMaxNewTokens: number;
  labelsModel?: string;
  labelsTask?: string;
  threads?: number;
  /** Model name → quantization ("*": every model without its own entry); default none (float32). */
  quantize: Record<string, QuantizeMode | "none">;
  preload: string[];
  maxLoadedModels: number;
  offline: boolean;
  allowPull: boolean;
  safetensorsOnly: boolean;
  logLevel: string;
  logFormat: "auto" | "pretty" | "json";
  config?: string;
  workerLoader?: string;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const envName = (flag: string) => `SIGHTLINE_${flag.toUpperCase().replace(/-/g, "_")}`;

export function serveHelp(): string {
  const lines = [
    "usage: sightline serve [options]",
    "",
    "Serves the describe API (/api/v1/vision/describe), the Florence API (/model, /prompts,",
    "/process_image), PhotoPrism's Vision API (/api/v1/vision/caption, /labels, /nsfw), the Ollama API",
    "(/api/generate, /api/chat, …), the OpenAI API (/v1/chat/completions, /v1/responses, /v1/models)",
    "and /healthz, /readyz, /metrics (docs/api.md). Every option can also be set through the",
    "environment variable shown, or in a JSON --config file (flag > environment > file).",
    "",
    "options:",
  ];
  for (const s of settings as readonly Setting[]) {
    if (s.hidden) continue;
    const left = `  --${s.flag}${s.arg ? " " + s.arg : ""}`;
    const def = s.default !== undefined && s.kind !== "bool" ? ` (default ${s.default})` : "";
    lines.push(`${left.padEnd(34)}${s.help}${def}`, `${"".padEnd(34)}env ${envName(s.flag)}`);
  }
  lines.push("  --help                          this text");
  return lines.join("\n");
}

function convert(s: Setting, value: unknown, origin: string): unknown {
  const bad = (what: string) => fail("INVALID_ARGUMENT", `${origin}: ${what}`);
  switch (s.kind) {
    case "string":
      if (typeof value !== "string" || value === "") throw bad("expected a text value");
      return value;
    case "int":
    case "number": {
      const n =
        typeof value === "number"
          ? value
          : typeof value === "string" && value.trim() !== ""
            ? Number(value)
            : NaN;
      if (!Number.isFinite(n) || n < 0 || (s.kind === "int" && !Number.isInteger(n))) {
        throw bad(`expected a ${s.kind === "int" ? "whole " : ""}number ≥ 0, got ${JSON.stringify(value)}`);
      }
      return n;
    }
    case "bool":
      if (typeof value === "boolean") return value;
      if (typeof value === "string" && /^(1|true|yes|on)$/i.test(value)) return true;
      if (typeof value === "string" && /^(0|false|no|off|)$/i.test(value)) return false;
      throw bad(`expected true or false, got ${JSON.stringify(value)}`);
    case "models": {
      const out: Record<string, string> = {};
      const pairs =
        value && typeof value === "object" && !Array.isArray(value)
          ? Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}=${v}`)
          : Array.isArray(value)
            ? value.map(String)
            : String(value)
                .split(",")
                .filter((x) => x.trim() !== "");
      for (const pair of pairs) {
        const eq = pair.indexOf("=");
        if (eq <= 0 || eq === pair.length - 1) throw bad(`expected NAME=DIR, got ${JSON.stringify(pair)}`);
        out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
      }
      return out;
    }
    case "quantize": {
      // "q8" (every model), "NAME=q8", a comma-separated list of these, or {"NAME": "q8", "*": "q4"}.
      const entries =
        value && typeof value === "object" && !Array.isArray(value)
          ? Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)])
          : (Array.isArray(value) ? value.map(String) : String(value).split(","))
              .map((x) => x.trim())
              .filter((x) => x !== "")
              .map((x) => (x.includes("=") ? x.split(/=(.*)/s, 2) : ["*", x]));
      const out: Record<string, QuantizeMode | "none"> = {};
      for (const [name, mode] of entries) {
        if (name.trim() === "") throw bad(`expected [NAME=]q8|q4|none, got ${JSON.stringify(`=${mode}`)}`);
        out[name.trim()] = parseQuantizeMode(mode, origin) ?? "none";
      }
      return out;
    }
    case "names": {
      const names = Array.isArray(value) ? value.map(String) : String(value).split(",");
      return names.map((n) => n.trim()).filter((n) => n !== "");
    }
  }
}

/** Parses `serve` arguments, environment and config file into settings; throws INVALID_ARGUMENT. */
export function parseServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const byFlag = new Map((settings as readonly Setting[]).map((s) => [s.flag, s]));
  const fromFlags: Partial<Record<FlagName, unknown>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--"))
      throw fail("INVALID_ARGUMENT", `unexpected argument ${arg} (see sightline serve --help)`);
    const [flagName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let name = flagName;
    let negated = false;
    if (name.startsWith("no-") && byFlag.get(name.slice(3))?.kind === "bool") {
      name = name.slice(3);
      negated = true;
    }
    const s = byFlag.get(name);
    if (!s) throw fail("INVALID_ARGUMENT", `unknown option --${name} (see sightline serve --help)`);
    let value: unknown;
    if (s.kind === "bool") value = negated ? false : (inline ?? true);
    else {
      value = inline ?? argv[++i];
      if (value === undefined) throw fail("INVALID_ARGUMENT", `--${name} needs a value`);
    }
    const v = convert(s, value, `--${name}`);
    if (s.kind === "models") {
      fromFlags.model = {
        ...((fromFlags.model as Record<string, string>) ?? {}),
        ...(v as Record<string, string>),
      };
    } else if (s.kind === "quantize") {
      fromFlags.quantize = { ...((fromFlags.quantize as Record<string, string>) ?? {}), ...(v as object) };
    } else if (s.kind === "names") {
      fromFlags[s.flag as FlagName] = [
        ...((fromFlags[s.flag as FlagName] as string[]) ?? []),
        ...(v as string[]),
      ];
    } else fromFlags[s.flag as FlagName] = v;
  }

  const configPath = (fromFlags.config as string | undefined) ?? env[envName("config")];
  let fromFile: Record<string, unknown> = {};
  if (configPath) {
    try {
      fromFile = JSON.parse(readFileSync(configPath, "utf8"));
    } catch (e) {
      throw fail("INVALID_ARGUMENT", `config file ${configPath}: ${(e as Error).message}`);
    }
    if (!fromFile || typeof fromFile !== "object" || Array.isArray(fromFile)) {
      throw fail("INVALID_ARGUMENT", `config file ${configPath}: expected a JSON object`);
    }
    const known = new Set(
      (settings as readonly Setting[]).flatMap((s) => [s.flag, camel(s.flag)]).concat(["models"]),
    );
    for (const key of Object.keys(fromFile)) {
      if (!known.has(key))
        throw fail("INVALID_ARGUMENT", `config file ${configPath}: unknown setting ${key}`);
    }
  }

  const out: Record<string, unknown> = {};
  for (const s of settings as readonly Setting[]) {
    const key = camel(s.flag);
    let value: unknown = fromFlags[s.flag as FlagName];
    if (value === undefined && env[envName(s.flag)] !== undefined && env[envName(s.flag)] !== "") {
      value = convert(s, env[envName(s.flag)], envName(s.flag));
    }
    if (value === undefined) {
      const fileValue =
        fromFile[s.flag] ?? fromFile[key] ?? (s.kind === "models" ? fromFile.models : undefined);
      if (fileValue !== undefined) value = convert(s, fileValue, `config ${s.flag}`);
    }
    value ??= s.default;
    if (s.kind === "names") value ??= [];
    if (s.kind === "quantize") value ??= {};
    out[s.kind === "models" ? "models" : key] = value ?? (s.kind === "models" ? {} : undefined);
  }
  if ((out.port as number) > 65535) throw fail("INVALID_ARGUMENT", `--port ${out.port} is not a port`);
  if (!["auto", "pretty", "json"].includes(out.logFormat as string)) {
    throw fail("INVALID_ARGUMENT", `--log-format ${out.logFormat}: expected auto, pretty or json`);
  }
  if ((out.maxBatch as number) < 1)
    throw fail("INVALID_ARGUMENT", `--max-batch must be at least 1, got ${out.maxBatch}`);
  if (out.busyStatus !== 429 && out.busyStatus !== 503)
    throw fail("INVALID_ARGUMENT", `--busy-status must be 429 or 503, got ${out.busyStatus}`);
  const threshold = out.nsfwThreshold as number;
  if (!(threshold > 0 && threshold <= 1))
    throw fail("INVALID_ARGUMENT", `--nsfw-threshold must be above 0 and at most 1, got ${threshold}`);
  return out as unknown as ServeConfig;
}
