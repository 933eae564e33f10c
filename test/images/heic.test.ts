// HEVC-coded HEIF (iPhone "HEIC") through libheif's WebAssembly build: the shared phone photos
// decode, orientation comes out upright exactly once (the container's irot, or EXIF when there is
// none, the way a JPEG's EXIF is applied), and damaged files are a clear IMAGE_INVALID.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeImage, probeImage, readImageFile } from "../../src/images/decode.js";
import { applyOrientation, exifOrientation, hasHeifTransform } from "../../src/images/heic.js";
import { isSightlineError } from "../../src/errors.js";
import type { RgbImage } from "../../src/images/rgb-image.js";

const heicDir = fileURLToPath(new URL("../../../shared/images/heic/", import.meta.url));
const iphone = join(heicDir, "IMG_5195.HEIC"); // 2566x3313, has an irot (0°) property
const sample = join(heicDir, "samplefilehub.heif"); // 640x426, no irot/imir
// The exiftool that exiftool-vendored ships (run on the system's Perl), to make oriented copies.
const exiftoolBin = join(
  createRequire(import.meta.url).resolve("exiftool-vendored.pl/package.json"),
  "..",
  "bin",
  "exiftool",
);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "sightline-heic-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of `src` with exiftool's numeric tag assignments applied (e.g. "-EXIF:Orientation=6"). */
function copyWith(src: string, name: string, ...assignments: string[]): string {
  const out = join(dir, name);
  copyFileSync(src, out);
  execFileSync("perl", [exiftoolBin, "-q", "-overwrite_original", "-n", ...assignments, out]);
  return out;
}

function sameImage(a: RgbImage, b: RgbImage): boolean {
  return a.width === b.width && a.height === b.height && Buffer.from(a.data).equals(Buffer.from(b.data));
}

let iphoneImage: RgbImage;
let sampleImage: RgbImage;

test("the shared HEIC photos decode to RGB at their full size", async () => {
  iphoneImage = await readImageFile(iphone);
  sampleImage = await readImageFile(sample);
  assert.deepEqual([iphoneImage.width, iphoneImage.height], [2566, 3313]);
  assert.deepEqual([sampleImage.width, sampleImage.height], [640, 426]);
  for (const img of [iphoneImage, sampleImage]) {
    assert.equal(img.data.length, img.width * img.height * 3);
    // A photo, not a blank frame: the channels vary across the image.
    const values = new Set<number>();
    for (let i = 0; i < img.data.length; i += 997) values.add(img.data[i]!);
    assert.ok(values.size > 50, `only ${values.size} distinct sample values`);
  }
  assert.deepEqual(await probeImage(readFileSync(sample)), { format: "heif", width: 640, height: 426 });
  assert.equal(hasHeifTransform(readFileSync(iphone)), true);
  assert.equal(hasHeifTransform(readFileSync(sample)), false);
});

test("applyOrientation turns images upright as sharp (and so JPEG decoding) does, for EXIF 1-8", async () => {
  const width = 5;
  const height = 3;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
  const stored: RgbImage = { data: new Uint8Array(raw), width, height };
  for (let o = 1; o <= 8; o++) {
    // TIFF is lossless and carries EXIF-style orientation; sharp's autoOrient is the reference.
    const tiff = await sharp(raw, { raw: { width, height, channels: 3 } })
      .withMetadata({ orientation: o })
      .tiff({ compression: "none" })
      .toBuffer();
    const { data, info } = await sharp(tiff, { autoOrient: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const ours = applyOrientation(stored, o);
    assert.deepEqual([ours.width, ours.height], [info.width, info.height], `orientation ${o}`);
    assert.deepEqual([...ours.data], [...data], `orientation ${o}`);
  }
});

test("EXIF Orientation of a HEIF without irot/imir is applied, as for a JPEG", async () => {
  const rotated = copyWith(sample, "exif6.heif", "-EXIF:Orientation=6");
  const meta = await sharp(rotated).metadata();
  assert.equal(exifOrientation(meta.exif), 6);
  const img = await readImageFile(rotated);
  assert.deepEqual([img.width, img.height], [426, 640]);
  assert.ok(sameImage(img, applyOrientation(sampleImage, 6)));
});

test("a HEIF's irot rotation is applied once; its EXIF copy of the same rotation is not applied again", async () => {
  // irot 1 = 90° anti-clockwise, which EXIF writes as Orientation 8.
  const rotated = copyWith(iphone, "irot90.heic", "-QuickTime:Rotation=1", "-EXIF:Orientation=8");
  const img = await readImageFile(rotated);
  assert.deepEqual([img.width, img.height], [3313, 2566]);
  assert.ok(sameImage(img, applyOrientation(iphoneImage, 8)));
});

test("a truncated HEIC is IMAGE_INVALID in one line", async () => {
  const bytes = readFileSync(sample);
  for (const cut of [4000, Math.floor(bytes.length / 2)]) {
    await assert.rejects(decodeImage(bytes.subarray(0, cut)), (e: unknown) => {
      assert.ok(isSightlineError(e), String(e));
      assert.equal(e.code, "IMAGE_INVALID", e.message);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});
