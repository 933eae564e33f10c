// sightline — command dispatcher. Each subcommand lives in src/cli/commands/<name>.ts and exports
// `run(argv: string[]): Promise<number>` (the exit code) and a one-line `summary`.
import { isSightlineError } from "../errors.js";

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  bench: () => import("./commands/bench.js"),
  caption: () => import("./commands/caption.js"),
  "caption-folder": () => import("./commands/caption-folder.js"),
  client: () => import("./commands/client.js"),
  models: () => import("./commands/models.js"),
  nsfw: () => import("./commands/nsfw.js"),
  serve: () => import("./commands/serve.js"),
};

function usage(): string {
  const lines = ["usage: sightline <command> [options]", "", "commands:"];
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const verbose = rest.includes("--verbose");
  if (!name || name === "--help" || name === "-h" || name === "help") {
    const out = [usage()];
    for (const [cmd, load] of Object.entries(commands)) {
      out.push(`  ${cmd.padEnd(16)}${(await load()).summary}`);
    }
    out.push("", "Run `sightline <command> --help` for a command's options.");
    console.log(out.join("\n"));
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v") {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    console.log(pkg.version);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`error BAD_REQUEST: unknown command "${name}" (see sightline --help)`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (e) {
    if (isSightlineError(e)) {
      console.error(`error ${e.code}: ${e.message}`);
      if (verbose && e.cause) console.error(e.cause);
    } else {
      console.error(`error INTERNAL: ${e instanceof Error ? e.message : String(e)}`);
      if (verbose) console.error(e);
    }
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
