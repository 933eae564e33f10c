// The CLI contract on PyTorch pickle checkpoints (../shared/fixtures/pickle): every generation of
// every case that `sightline caption` can express gives exactly HF's tokens and text, and the
// malicious checkpoint is refused with one line while its payload never runs.
//   - in-process: the caption command's run() (the same argv → --json stdout main.ts calls), one
//     call per generation;
//   - as a user runs it (child processes): the seed's ViT-GPT2 from pytorch_model.bin, evil-bin,
//     --safetensors-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/commands/caption.js";
import { run as runFolder } from "../../src/cli/commands/caption-folder.js";
import { fixtureDir, readExpected, seedText } from "../helpers/fixtures.js";
import { captureStdout } from "../helpers/stdout.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PICKLES = fixtureDir("pickle");
const CANARY = "/tmp/sightline-evil-pickle-ran";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sightline(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1", ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function assertOneLineError(r: Run, code: string): void {
  assert.notEqual(r.code, 0, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, new RegExp(`^error ${code}: `));
  assert.equal(r.stdout, "");
}

/**
 * The caption flags that ask for a fixture generation, or undefined when the CLI cannot express it
 * (Florence-2's "plain" runs switch off n-gram blocking and forced BOS/EOS, which no flag does).
 * The seed runs of ViT-GPT2 and BLIP are the models' defaults: no flags.
 */
function flagsFor(
  arch: string,
  gen: { name: string; kwargs: Record<string, unknown> },
): string[] | undefined {
  if (gen.name === "seed" && arch !== "florence-2") return [];
  const flags: string[] = [];
  for (const [key, value] of Object.entries(gen.kwargs)) {
    if (key === "max_new_tokens") flags.push("--max-new-tokens", String(value));
    else if (key === "num_beams") flags.push("--num-beams", String(value));
    else if (key === "suppress_tokens") flags.push("--suppress-tokens", (value as number[]).join(","));
    else if (key !== "do_sample" || value !== false) return undefined;
  }
  return flags;
}

interface Case {
  image: string;
  prompt?: string | null;
  task?: string;
  generations: {
    name: string;
    kwargs: Record<string, unknown>;
    sequences: number[][];
    text: string[];
    post_process?: unknown[];
  }[];
}

for (const arch of ["vit-gpt2", "blip", "florence-2"]) {
  const folder = join(PICKLES, `${arch}-bin`);
  const expected = readExpected(`pickle/${arch}-bin`) as { cases: Case[] };
  for (const c of expected.cases) {
    const prompt = c.task ?? c.prompt ?? undefined;
    for (const gen of c.generations) {
      const flags = flagsFor(arch, gen);
      const title = `${arch}-bin ${c.image}${prompt ? ` ${prompt}` : ""} "${gen.name}"`;
      test(
        `${title}: caption --json gives HF's tokens and text`,
        { skip: !flags && "not expressible by flags" },
        async () => {
          const argv = [join(folder, c.image), "--model", folder, "--json", "--threads", "1", ...flags!];
          if (prompt) argv.push("--prompt", prompt);
          const out = JSON.parse(await captureStdout(() => run(argv)));
          assert.deepEqual(out.token_ids, gen.sequences[0]);
          assert.equal(out.text, gen.text[0]!.trim());
          if (gen.post_process) assert.deepEqual(out.result, gen.post_process[0]);
        },
      );
    }
  }
}

// Child processes are slow to start (tsx): all four start at once and run beside the in-process tests.
const vitBin = join(PICKLES, "vit-gpt2-bin");
const evil = join(PICKLES, "evil-bin");
rmSync(CANARY, { force: true });
const children = {
  seed: sightline(["caption", join(vitBin, "image1.png"), "--model", vitBin, "--json"]),
  evil: sightline(["caption", join(evil, "image1.png"), "--model", evil, "--json"]),
  flag: sightline(["caption", join(vitBin, "image1.png"), "--model", vitBin, "--safetensors-only"]),
  env: sightline(["caption", join(vitBin, "image1.png"), "--model", vitBin], {
    SIGHTLINE_SAFETENSORS_ONLY: "1",
  }),
};

test("as a user runs it: the seed's ViT-GPT2 as pytorch_model.bin, from a child process", async () => {
  const seed = (readExpected("pickle/vit-gpt2-bin") as { cases: Case[] }).cases[0]!.generations.find(
    (g) => g.name === "seed",
  )!;
  const r = await children.seed;
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.token_ids, seed.sequences[0]);
  assert.equal(out.text, seed.text[0]!.trim());
});

test("evil-bin is refused with one line naming the global; the payload never runs", async () => {
  const r = await children.evil;
  assertOneLineError(r, "MODEL_WEIGHTS_UNSAFE");
  assert.match(r.stderr, /imports posix\.system/);
  assert.equal(existsSync(CANARY), false, "the pickle's os.system ran");
});

test("--safetensors-only (flag or SIGHTLINE_SAFETENSORS_ONLY=1) refuses pickle-only folders", async () => {
  assertOneLineError(await children.flag, "MODEL_WEIGHTS_PICKLE_ONLY");
  assertOneLineError(await children.env, "MODEL_WEIGHTS_PICKLE_ONLY");
});

test("caption-folder with a pickle-only model: the seed caption as a sidecar; --safetensors-only refuses", async () => {
  const images = mkdtempSync(join(tmpdir(), "sl-pickle-folder-"));
  const stderr = process.stderr.write;
  try {
    copyFileSync(join(vitBin, "image1.png"), join(images, "image1.png"));
    process.stderr.write = () => true; // the per-image progress lines
    await assert.rejects(runFolder([images, "--model", vitBin, "--safetensors-only"]), {
      code: "MODEL_WEIGHTS_PICKLE_ONLY",
    });
    assert.equal(await runFolder([images, "--model", vitBin, "--threads", "1"]), 0);
    process.stderr.write = stderr;
    assert.equal(readFileSync(join(images, "image1.txt"), "utf8"), `${seedText("pickle/vit-gpt2-bin")}\n`);
  } finally {
    process.stderr.write = stderr;
    rmSync(images, { recursive: true, force: true });
  }
});
