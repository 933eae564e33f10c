// What a new user meets first, through the CLI as they run it (a child process): the help texts,
// errors that read once and exit alike, --json's caption field, HEIC photos, and models by name:
// downloaded on first use with a word on what is fetched, checked with `models pull --dry-run`,
// and --offline on every command that can download.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeHub, type FakeHub } from "../helpers/hub-server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(ROOT, "../shared");
const VIT = join(SHARED, "fixtures/vit-gpt2");
const IMAGE = join(VIT, "image1.png");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sightline(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      // HF_ENDPOINT points nowhere unless a test gives its fake hub: nothing here reaches the internet.
      env: { ...process.env, SIGHTLINE_THREADS: "1", HF_ENDPOINT: "http://127.0.0.1:9", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let hub: FakeHub;
let dir: string;
before(async () => {
  hub = await startFakeHub({ "tiny/vit-gpt2": { dir: VIT } });
  dir = mkdtempSync(join(tmpdir(), "sightline-first-run-"));
});
after(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

test("sightline --help lists every command and every API serve speaks", async () => {
  const r = await sightline(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const cmd of ["caption", "caption-folder", "serve", "models", "client", "bench"])
    assert.match(r.stdout, new RegExp(`^  ${cmd} `, "m"));
  const serveLine = r.stdout.split("\n").find((l) => l.startsWith("  serve "))!;
  for (const api of ["PhotoPrism describe", "Vision", "Florence-2", "Ollama", "OpenAI", "try-it"])
    assert.ok(serveLine.includes(api), `serve's summary names ${api}: ${serveLine}`);
  const bare = await sightline([]);
  assert.equal(bare.code, 2);
  assert.match(bare.stdout, /^usage: sightline <command>/);
});

test("an unknown command and an unknown option are the same kind of error: one line, exit 2", async () => {
  const command = await sightline(["captoin", IMAGE]);
  const option = await sightline(["caption", IMAGE, "--model", VIT, "--modle", "x"]);
  const value = await sightline(["caption", IMAGE, "--model", VIT, "--num-beams", "zero"]);
  const models = await sightline(["models", "list", "--frobnicate"]);
  for (const r of [command, option, value, models]) {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error INVALID_ARGUMENT: /);
    // The code is not repeated in words ("error INVALID_ARGUMENT: invalid argument: …").
    assert.doesNotMatch(r.stderr, /^error INVALID_ARGUMENT: invalid argument/i);
  }
  assert.match(command.stderr, /unknown command "captoin"/);
  assert.match(option.stderr, /--modle/);
  assert.match(models.stderr, /--frobnicate/);
  // Other errors exit 1 and read once too.
  const missing = await sightline(["caption", join(dir, "nope.png"), "--model", VIT]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), `error FILE_NOT_FOUND: ${join(dir, "nope.png")}`);
});

test("caption --help says --model takes a folder, an alias or a hub repo, and documents --offline", async () => {
  const r = await sightline(["caption", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--model DIR\|NAME/);
  assert.match(r.stdout, /folder/);
  assert.match(r.stdout, /alias \(kosmos-2, /);
  assert.match(r.stdout, /owner\/name\[@revision\]/);
  assert.match(r.stdout, /--offline/);
  assert.match(r.stdout, /HEIC/);
  for (const cmd of ["caption-folder", "models"]) {
    const help = await sightline([cmd, "--help"]);
    assert.match(help.stdout, /--offline/, cmd);
  }
});

test("--json has caption for every model (ViT-GPT2 here: the same as text)", async () => {
  const r = await sightline(["caption", IMAGE, "--model", VIT, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(typeof out.caption, "string");
  assert.equal(out.caption, out.text);
});

test("the shared HEIC photos caption through the CLI", async () => {
  for (const name of ["IMG_5195.HEIC", "samplefilehub.heif"]) {
    const r = await sightline(["caption", join(SHARED, "images/heic", name), "--model", VIT, "--json"]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.ok(out.text.length > 0, name);
    assert.ok(out.token_ids.length > 1, name);
  }
});

test("models pull --dry-run says what would be downloaded and how much, and downloads nothing", async () => {
  const modelsDir = join(dir, "dry");
  const r = await sightline(["models", "pull", "tiny/vit-gpt2", "--dry-run", "--models-dir", modelsDir], {
    HF_ENDPOINT: hub.endpoint,
  });
  assert.equal(r.code, 0, r.stderr);
  const weights = readFileSync(join(VIT, "model.safetensors")).length;
  assert.match(r.stdout, /^tiny\/vit-gpt2: tiny\/vit-gpt2@main \(commit [0-9a-f]{7}\)$/m);
  assert.match(r.stdout, new RegExp(`^  model\\.safetensors +${(weights / 1e6).toFixed(1)} MB$`, "m"));
  assert.match(r.stdout, /^ {2}config\.json +[\d.]+ kB$/m);
  assert.match(r.stdout, /^9 files, [\d.]+ MB to download into .* \(dry run: nothing downloaded\)$/m);
  assert.equal(hub.contentRequests("tiny/vit-gpt2/model.safetensors").length, 0);
  assert.ok(!existsSync(modelsDir) || readdirSync(modelsDir).length === 0);
});

test("--offline on every command that can download: a name not downloaded fails at once, touching no hub", async () => {
  const modelsDir = join(dir, "empty");
  mkdirSync(modelsDir);
  const before = hub.log.length;
  const photos = join(dir, "photos");
  mkdirSync(photos);
  copyFileSync(IMAGE, join(photos, "a.png"));
  const env = { HF_ENDPOINT: hub.endpoint };
  const runs = await Promise.all([
    sightline(["caption", IMAGE, "--model", "tiny/vit-gpt2", "--offline", "--models-dir", modelsDir], env),
    sightline(
      ["caption-folder", photos, "--model", "tiny/vit-gpt2", "--offline", "--models-dir", modelsDir],
      env,
    ),
    sightline(["models", "pull", "tiny/vit-gpt2", "--offline", "--models-dir", modelsDir], env),
    sightline(["caption", IMAGE, "--model", "tiny/vit-gpt2", "--models-dir", modelsDir], {
      ...env,
      HF_HUB_OFFLINE: "1",
    }),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr.trim(),
      /^error MODEL_NOT_DOWNLOADED: model tiny\/vit-gpt2 is not in the models folder/,
    );
    assert.match(r.stderr, /sightline models pull tiny\/vit-gpt2/);
  }
  assert.equal(hub.log.length, before, "no request reached the hub");
  assert.ok(!existsSync(join(photos, "a.txt")));
});

test("a name is downloaded on first use, saying what is fetched; later --offline uses it", async () => {
  const modelsDir = join(dir, "models");
  const env = { HF_ENDPOINT: hub.endpoint };
  const first = await sightline(
    ["caption", IMAGE, "--model", "tiny/vit-gpt2", "--json", "--models-dir", modelsDir],
    env,
  );
  assert.equal(first.code, 0, first.stderr);
  // stdout stays one JSON object; what is downloaded goes to stderr before the download.
  const reference = await sightline(["caption", IMAGE, "--model", VIT, "--json"]);
  assert.equal(JSON.parse(first.stdout).text, JSON.parse(reference.stdout).text);
  assert.match(
    first.stderr,
    /^tiny\/vit-gpt2: fetching tiny\/vit-gpt2@main \([0-9a-f]{7}\), 9 files, [\d.]+ MB$/m,
  );
  assert.match(first.stderr, /^ {2}model\.safetensors /m);

  const check = await sightline(
    ["models", "pull", "tiny/vit-gpt2", "--offline", "--models-dir", modelsDir],
    env,
  );
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^tiny\/vit-gpt2: already complete → /);

  const offline = await sightline(
    ["caption", IMAGE, "--model", "tiny/vit-gpt2", "--offline", "--json", "--models-dir", modelsDir],
    { HF_ENDPOINT: "http://127.0.0.1:9" },
  );
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.stderr, "");
  assert.equal(JSON.parse(offline.stdout).text, JSON.parse(reference.stdout).text);
});

test(
  "on a terminal, caption says which model it is loading, then erases the line",
  { skip: !hasScript() },
  async () => {
    // util-linux `script` runs the command on a pseudo-terminal, as a user's shell would.
    const command = [
      process.execPath,
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "caption",
      IMAGE,
      "--model",
      VIT,
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    const r = await new Promise<Run>((resolve) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], {
        cwd: ROOT,
        env: { ...process.env, SIGHTLINE_THREADS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.on("close", (code) => resolve({ code, stdout, stderr: "" }));
    });
    assert.equal(r.code, 0, r.stdout);
    const erase = "\r\u001b[K"; // back to the line's start, clear it
    assert.ok(r.stdout.startsWith(`loading ${VIT}…${erase}`), JSON.stringify(r.stdout));
    assert.ok(r.stdout.length > `loading ${VIT}…${erase}`.length + 1, "the caption follows");
  },
);

function hasScript(): boolean {
  return ["/usr/bin/script", "/bin/script"].some((p) => existsSync(p));
}
