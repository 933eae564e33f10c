// `sightline caption` as a user runs it (a child process through src/cli/main.ts): the --json contract
// on the ViT-GPT2 fixture, and bad inputs → one `error CODE: message` line, non-zero exit, no stack.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import sharp from "sharp";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = join(ROOT, "../shared/fixtures/vit-gpt2");
const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8"));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sightline(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1" } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** One line `error CODE: …`, a non-zero exit, no stack trace. */
function assertOneLineError(r: Run, code: string): void {
  assert.notEqual(r.code, 0, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0], new RegExp(`^error ${code}: `));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.stdout, "");
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "sightline-caption-cli-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the fixture folder without some files (or with a changed config). */
function modelFolder(name: string, omit: string[], config?: Record<string, unknown>): string {
  const out = join(dir, name);
  mkdirSync(out);
  for (const f of [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
  ]) {
    if (!omit.includes(f)) copyFileSync(join(FIXTURE, f), join(out, f));
  }
  if (config) writeFileSync(join(out, "config.json"), JSON.stringify(config));
  return out;
}

test("--json prints text, token_ids and timings; the defaults are the seed's (max_length 16, 4 beams)", async () => {
  const seed = expected.cases[0].generations.find((g: { name: string }) => g.name === "seed");
  const r = await sightline("caption", join(FIXTURE, "image1.png"), "--model", FIXTURE, "--json");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0]);
  assert.deepEqual(out.token_ids, seed.sequences[0]);
  assert.equal(out.text, seed.text[0].trim());
  for (const k of ["preprocess", "encode", "decode"]) assert.equal(typeof out.timings[k], "number");
});

test("without --json the caption alone is printed; options reach generate()", async () => {
  const greedy = expected.cases[1].generations.find((g: { name: string }) => g.name === "greedy_fixed");
  const r = await sightline(
    "caption",
    join(FIXTURE, "image2.png"),
    "--model",
    FIXTURE,
    "--num-beams",
    "1",
    "--max-new-tokens",
    "20",
    "--suppress-tokens",
    "50256",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${greedy.text[0].trim()}\n`);
});

test("--help prints the usage", async () => {
  const r = await sightline("caption", "--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /usage: sightline caption IMAGE --model DIR/);
});

test("bad inputs: one-line errors with stable codes", async () => {
  const notImage = join(dir, "notes.jpg");
  writeFileSync(notImage, "these are not image bytes, just text\n");
  const jpeg = await sharp({
    create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 90 } },
  })
    .jpeg()
    .toBuffer();
  const truncated = join(dir, "truncated.jpg");
  writeFileSync(truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const bomb = join(dir, "bomb.png");
  writeFileSync(bomb, bigPng(30000, 30000));
  const image = join(FIXTURE, "image1.png");
  const rawConfig = JSON.parse(readFileSync(join(FIXTURE, "config.json"), "utf8"));

  const cases: [string[], string][] = [
    [[join(dir, "missing.png"), "--model", FIXTURE], "FILE_NOT_FOUND"],
    [[notImage, "--model", FIXTURE], "IMAGE_UNSUPPORTED"],
    [[truncated, "--model", FIXTURE], "IMAGE_INVALID"],
    [[bomb, "--model", FIXTURE], "IMAGE_TOO_LARGE"],
    [[image, "--model", modelFolder("no-config", ["config.json"])], "MODEL_CONFIG_MISSING"],
    [[image, "--model", modelFolder("no-weights", ["model.safetensors"])], "MODEL_WEIGHTS_MISSING"],
    [
      [image, "--model", modelFolder("other-arch", [], { ...rawConfig, model_type: "t5" })],
      "MODEL_UNSUPPORTED_ARCH",
    ],
    [
      [
        image,
        "--model",
        modelFolder("bart-decoder", [], {
          ...rawConfig,
          decoder: { ...rawConfig.decoder, model_type: "bart" },
        }),
      ],
      "MODEL_UNSUPPORTED_ARCH",
    ],
    [[image, "--model", join(dir, "no-such-folder")], "MODEL_NOT_FOUND"],
    [[image], "INVALID_ARGUMENT"],
    [[image, "--model", FIXTURE, "--num-beams", "zero"], "INVALID_ARGUMENT"],
    [[image, "--model", FIXTURE, "--suppress-tokens", "1,x"], "INVALID_ARGUMENT"],
    [[image, "--model", FIXTURE, "--frobnicate"], "INVALID_ARGUMENT"],
  ];
  const runs = await Promise.all(cases.map(([args]) => sightline("caption", ...args)));
  runs.forEach((r, i) => assertOneLineError(r, cases[i][1]));
});

test("--verbose adds the cause's stack to an error", async () => {
  const r = await sightline(
    "caption",
    join(FIXTURE, "image1.png"),
    "--model",
    FIXTURE,
    "--num-beams",
    "x",
    "--verbose",
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error INVALID_ARGUMENT: /);
});

// A PNG whose header claims width × height (the pixel data is a single row: decoding must be refused
// from the header alone).
function bigPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    let c = 0xffffffff;
    for (const v of body) c = crcTable[(c ^ v) & 0xff] ^ (c >>> 8);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(1 + width * 3))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
