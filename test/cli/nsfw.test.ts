// `sightline nsfw` as a user runs it (a child process through src/cli/main.ts): one line per image,
// the --json object, an unreadable image reported without stopping the others (exit code 1), and
// bad options as one `error CODE: message` line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const IMAGES = join(ROOT, "../shared/images");

function sightline(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "nsfw", ...args],
      { cwd: ROOT, env: { ...process.env, SIGHTLINE_THREADS: "1" } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("sightline nsfw: a line per image; --json with PhotoPrism's fields; an unreadable file is reported", async () => {
  const photo = join(IMAGES, "cameras/Nikon_D70.jpg");
  const text = await sightline(photo, join(IMAGES, "gps/DSCN0010.jpg"));
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /Nikon_D70\.jpg\tsafe\t0\.\d{4}\tDrawing /);

  const json = await sightline("--json", photo, join(ROOT, "package.json"));
  assert.equal(json.code, 1, "one image could not be read");
  const out = JSON.parse(json.stdout);
  assert.match(out.model, /^nsfwjs \S+ MobileNetV2$/);
  assert.equal(out.threshold, 0.75);
  const [ok, bad] = out.results;
  assert.equal(ok.status, "safe");
  for (const k of ["score", "Drawing", "Hentai", "Neutral", "Porn", "Sexy"])
    assert.equal(typeof ok[k], "number", k);
  assert.equal(ok.score, Math.max(ok.Porn, ok.Sexy, ok.Hentai));
  assert.equal(bad.status, "unavailable");
  assert.match(bad.reason, /^IMAGE_/);
});

test("sightline nsfw: bad options are one error line", async () => {
  for (const [args, code] of [
    [[], "INVALID_ARGUMENT"],
    [["--threshold", "2", "x.jpg"], "INVALID_ARGUMENT"],
    [["--model", "resnet", "x.jpg"], "INVALID_ARGUMENT"],
  ] as const) {
    const r = await sightline(...args);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), new RegExp(`^error ${code}: [^\\n]+$`));
  }
});
