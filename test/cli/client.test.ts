// sightline client and caption-folder --server against real servers with fixture models.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import { Runtime } from "../../src/server/runtime.js";
import { seedText } from "../helpers/fixtures.js";

const fixtures = resolve(process.cwd(), "../shared/fixtures");
const cliArgs = ["--import", "tsx", resolve(process.cwd(), "src/cli/main.ts")];

/** Runs the CLI without blocking this process's event loop (the servers live here). */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [...cliArgs, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => r({ code, out, err }));
  });
}

const servers: { app: FastifyInstance; runtime: Runtime; url: string }[] = [];

before(async () => {
  for (let i = 0; i < 2; i++) {
    const runtime = new Runtime({
      models: { "florence-2": join(fixtures, "florence-2"), "vit-gpt2": join(fixtures, "vit-gpt2") },
      florenceModel: "florence-2",
      defaultModel: "florence-2",
      threads: 1,
      idleUnloadSeconds: 0,
    });
    // The fixture's seed run is max_new_tokens 20 (the real server default is 1024).
    const app = await build({ runtime, apiKey: "k", florenceMaxNewTokens: 20 });
    await app.listen({ port: 0, host: "127.0.0.1" });
    servers.push({ app, runtime, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` });
  }
});

after(async () => {
  for (const s of servers) {
    await s.app.close();
    await s.runtime.close();
  }
});

test("client model / prompts / caption against the Florence API", async () => {
  const env = { SIGHTLINE_API_KEY: "k" };
  const model = await cli(["client", "model", "--server", servers[0].url], env);
  assert.equal(model.code, 0, model.err);
  assert.equal(model.out.trim(), "florence-2");
  const prompts = await cli(["client", "prompts", "--server", servers[0].url], env);
  assert.equal(prompts.code, 0, prompts.err);
  assert.ok(prompts.out.split("\n").includes("<CAPTION>"));
  assert.ok(prompts.out.split("\n").includes("<GENERATE_TAGS>"));
  const image = join(fixtures, "florence-2", "image1.png");
  const cap = await cli(
    [
      "client",
      "caption",
      image,
      "--prompt",
      "<caption>",
      "--server",
      "http://127.0.0.1:9",
      "--server",
      servers[0].url,
    ],
    env,
  );
  assert.equal(cap.code, 0, cap.err);
  assert.equal(cap.out.trim(), seedText("florence-2"));
  assert.match(cap.err, /unreachable, trying the next server/);
  const other = await cli(
    [
      "client",
      "caption",
      join(fixtures, "vit-gpt2", "image1.png"),
      "--model",
      "vit-gpt2",
      "--server",
      servers[1].url,
    ],
    env,
  );
  assert.equal(other.code, 0, other.err);
  assert.equal(other.out.trim(), seedText("vit-gpt2"));
});

test("client errors: no key, unknown prompt, missing file", async () => {
  const image = join(fixtures, "florence-2", "image1.png");
  const noKey = await cli(["client", "caption", image, "--server", servers[0].url]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.err.trim(), /^error SERVER_ERROR: .*401/);
  const bad = await cli(["client", "caption", image, "--prompt", "<NOPE>", "--server", servers[0].url], {
    SIGHTLINE_API_KEY: "k",
  });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /400 UNKNOWN_PROMPT/);
  const missing = await cli(["client", "caption", "/no/such.png", "--server", servers[0].url]);
  assert.match(missing.err.trim(), /^error FILE_NOT_FOUND/);
});

test("caption-folder through two real servers captions like the model does", async () => {
  const root = mkdtempSync(join(tmpdir(), "sl-client-folder-"));
  try {
    for (let i = 0; i < 4; i++)
      copyFileSync(join(fixtures, "florence-2", "image1.png"), join(root, `img${i}.png`));
    const r = await cli(
      ["caption-folder", root, "--server", servers[0].url, "--server", servers[1].url, "--concurrency", "1"],
      {
        SIGHTLINE_API_KEY: "k",
      },
    );
    assert.equal(r.code, 0, r.err);
    for (let i = 0; i < 4; i++)
      assert.equal(readFileSync(join(root, `img${i}.txt`), "utf8"), `${seedText("florence-2")}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("caption-folder --server-model picks another model on the servers", async () => {
  const root = mkdtempSync(join(tmpdir(), "sl-client-model-"));
  try {
    copyFileSync(join(fixtures, "vit-gpt2", "image1.png"), join(root, "a.png"));
    const r = await cli(["caption-folder", root, "--server", servers[0].url, "--server-model", "vit-gpt2"], {
      SIGHTLINE_API_KEY: "k",
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(join(root, "a.txt"), "utf8"), `${seedText("vit-gpt2")}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
