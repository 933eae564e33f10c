// sightline — command dispatcher. Each subcommand lives in src/cli/commands/<name>.ts and exports
// `run(argv: string[]): Promise<number>` (the exit code). Their one-line summaries live here, so
// that `sightline --help` answers without loading every command (and with it onnxruntime and sharp).
//
// Exit codes: 0 success, 1 an error, 2 a usage error (unknown command or option, bad option value:
// INVALID_ARGUMENT), 130 interrupted (caption-folder).
import { failWith, isSightlineError, type ErrorCode } from "../errors.js";

interface Command {
  run(argv: string[]): Promise<number>;
}

interface Entry {
  summary: string;
  load: () => Promise<Command>;
}

const commands: Record<string, Entry> = {
  caption: {
    summary: "caption one image (a model folder, an alias or a hub repo)",
    load: () => import("./commands/caption.js"),
  },
  "caption-folder": {
    summary: "caption every image of a folder into sidecar files (.txt, XMP, EXIF, JSONL/CSV)",
    load: () => import("./commands/caption-folder.js"),
  },
  serve: {
    summary:
      "HTTP server: PhotoPrism describe and Vision APIs, Florence-2 server API, Ollama and OpenAI APIs, try-it page",
    load: () => import("./commands/serve.js"),
  },
  models: {
    summary: "list, pull (download from the Hugging Face hub) and remove models",
    load: () => import("./commands/models.js"),
  },
  client: {
    summary: "talk to a running server: client caption IMAGE | client prompts | client model",
    load: () => import("./commands/client.js"),
  },
  nsfw: {
    summary: "check images for NSFW content (nsfwjs classifiers, PhotoPrism's decision)",
    load: () => import("./commands/nsfw.js"),
  },
  bench: {
    summary: "benchmark each architecture at full size (random weights) against HF PyTorch",
    load: () => import("./commands/bench.js"),
  },
};

function usage(): string {
  const lines = ["usage: sightline <command> [options]", "", "commands:"];
  for (const [name, { summary }] of Object.entries(commands)) lines.push(`  ${name.padEnd(16)}${summary}`);
  lines.push(
    "",
    "Models are a folder, an alias (sightline models --help lists them) or a hub repo owner/name[@rev].",
    "Run `sightline <command> --help` for a command's options.",
  );
  return lines.join("\n");
}

/**
 * The catalogue's messages often begin with the code's own words ("invalid argument: …" for
 * INVALID_ARGUMENT); after `error CODE:` that reads twice, so the repeat is dropped.
 */
function errorLine(code: ErrorCode, message: string): string {
  const words = code.toLowerCase().replace(/_/g, " ") + ": ";
  const text = message.toLowerCase().startsWith(words) ? message.slice(words.length) : message;
  return `error ${code}: ${text}`;
}

/** node:util parseArgs reports unknown or malformed options as TypeErrors with ERR_PARSE_ARGS_* codes. */
function isParseArgsError(e: unknown): e is Error {
  return e instanceof Error && String((e as NodeJS.ErrnoException).code ?? "").startsWith("ERR_PARSE_ARGS");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const verbose = rest.includes("--verbose");
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v") {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    console.log(pkg.version);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(errorLine("INVALID_ARGUMENT", `unknown command "${name}" (see sightline --help)`));
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (caught) {
    let e = caught;
    if (isParseArgsError(e)) {
      e = failWith(e, "INVALID_ARGUMENT", `${e.message} (see sightline ${name} --help)`);
    }
    if (isSightlineError(e)) {
      console.error(errorLine(e.code, e.message));
      if (verbose && e.cause) console.error(e.cause);
      return e.code === "INVALID_ARGUMENT" ? 2 : 1;
    }
    console.error(`error INTERNAL: ${e instanceof Error ? e.message : String(e)}`);
    if (verbose) console.error(e);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
