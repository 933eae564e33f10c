// Every image format through the describe API (multipart upload and base64), with the fake model
// reporting the decoded size: EXIF orientation applied, TIFF/WebP/GIF and HEVC HEIC read,
// hostile-EXIF JPEGs a caption or a clear 4xx (never a 500 or a hang).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { build } from "../../src/server/app.js";
import type { Runtime } from "../../src/server/runtime.js";
import { fakeModelDir, fakeRuntime } from "./helpers.js";

const photos = fileURLToPath(new URL("../../../shared/images/", import.meta.url));
let app: FastifyInstance;
let runtime: Runtime;

before(async () => {
  runtime = fakeRuntime({ models: { "kosmos-2": fakeModelDir() } });
  app = await build({ runtime });
});

after(async () => {
  await app.close();
  await runtime.close();
});

async function describeBytes(bytes: Buffer) {
  return app.inject({
    method: "POST",
    url: "/api/v1/vision/describe",
    payload: { image: bytes.toString("base64") },
  });
}

const size = (caption: string) => /^fake (\d+x\d+) /.exec(caption)?.[1];

test("JPEG with EXIF orientation 1-8: captioned upright (landscape 600x450, portrait 450x600)", async () => {
  for (const kind of ["landscape", "portrait"]) {
    for (const o of [1, 3, 6, 8]) {
      const res = await describeBytes(readFileSync(join(photos, "orientation", `${kind}_${o}.jpg`)));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(
        size(res.json().result.caption),
        kind === "landscape" ? "600x450" : "450x600",
        `${kind}_${o}`,
      );
    }
  }
});

test("PNG, WebP, GIF, TIFF (RGBA) are read", async () => {
  const base = sharp({
    create: { width: 9, height: 7, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } },
  });
  for (const bytes of [
    await base.clone().png().toBuffer(),
    await base.clone().webp().toBuffer(),
    await base.clone().gif().toBuffer(),
  ]) {
    const res = await describeBytes(bytes);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(size(res.json().result.caption), "9x7");
  }
  for (const f of readdirSync(join(photos, "tiff"))) {
    const res = await describeBytes(readFileSync(join(photos, "tiff", f)));
    assert.equal(res.statusCode, 200, `${f}: ${res.body}`);
  }
});

test("HEVC HEIC photos are captioned at their size; hostile EXIF: a caption or a clear 4xx", async () => {
  for (const [name, wh] of [
    ["IMG_5195.HEIC", "2566x3313"],
    ["samplefilehub.heif", "640x426"],
  ]) {
    const heic = await describeBytes(readFileSync(join(photos, "heic", name)));
    assert.equal(heic.statusCode, 200, heic.body);
    assert.equal(size(heic.json().result.caption), wh, name);
  }
  for (const f of readdirSync(join(photos, "invalid"))) {
    const res = await describeBytes(readFileSync(join(photos, "invalid", f)));
    assert.ok(
      res.statusCode === 200 || (res.statusCode >= 400 && res.statusCode < 500),
      `${f}: ${res.statusCode} ${res.body}`,
    );
  }
});
