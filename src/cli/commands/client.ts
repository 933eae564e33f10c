// sightline client — talk to running Sightline servers (the Florence server's vision-client operations).
import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fail, isSightlineError } from "../../errors.js";
import { captionByChat, captionByFlorenceApi, requestJson } from "../../folder/captioners.js";

const help = `usage: sightline client <caption IMAGE | prompts | model> [options]

  caption IMAGE           caption a local image on the server
  prompts                 list the task prompts of the server's Florence model
  model                   print the name of the server's Florence model

options:
  --server URL            server to use (repeatable: the next one is tried when one is down);
                          default http://127.0.0.1:5000, or SIGHTLINE_SERVER
  --prompt P              task prompt (e.g. "<DETAILED_CAPTION>"), default <CAPTION>
  --model NAME            a model the server serves (default: its Florence/default model)
  --api-key KEY           bearer key (default: SIGHTLINE_API_KEY)
  --json                  print the server's answer as JSON
  --timeout SECONDS       per request (default 600)`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: "string", multiple: true },
      prompt: { type: "string" },
      model: { type: "string" },
      "api-key": { type: "string" },
      json: { type: "boolean", default: false },
      timeout: { type: "string", default: "600" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [op, ...rest] = positionals;
  if (values.help || !op) {
    console.log(help);
    return values.help ? 0 : 2;
  }
  const servers = values.server?.length
    ? values.server
    : [process.env.SIGHTLINE_SERVER ?? "http://127.0.0.1:5000"];
  const timeoutMs = Number(values.timeout) * 1000;
  if (!(timeoutMs > 0)) throw fail("INVALID_ARGUMENT", `--timeout must be a positive number of seconds`);
  const opts = { apiKey: values["api-key"] ?? process.env.SIGHTLINE_API_KEY, timeoutMs };

  let image: Uint8Array | undefined;
  if (op === "caption") {
    if (rest.length !== 1) throw fail("INVALID_ARGUMENT", "client caption takes exactly one IMAGE");
    if (!existsSync(rest[0])) throw fail("FILE_NOT_FOUND", rest[0]);
    image = await readFile(rest[0]);
  } else if (op !== "prompts" && op !== "model") {
    throw fail("INVALID_ARGUMENT", `unknown client operation "${op}" (caption, prompts, model)`);
  }

  // Servers are tried in order; only an unreachable server moves on to the next (a 4xx is final).
  let lastError: unknown;
  for (const server of servers) {
    const base = server.replace(/\/+$/, "");
    try {
      let answer: unknown;
      if (op === "caption") {
        answer = values.model
          ? await captionByChat(base, image!, values.model, values.prompt, opts)
          : await captionByFlorenceApi(base, image!, values.prompt, opts);
      } else {
        answer = await requestJson(`${base}/${op}`, { method: "GET" }, opts);
      }
      if (values.json) console.log(JSON.stringify(op === "caption" ? { result: answer } : answer));
      else if (Array.isArray(answer)) console.log(answer.join("\n"));
      else console.log(String(answer));
      return 0;
    } catch (e) {
      lastError = e;
      if (!(isSightlineError(e) && e.code === "SERVER_UNREACHABLE")) throw e;
      if (servers.length > 1) console.error(`${base}: unreachable, trying the next server`);
    }
  }
  throw lastError;
}
