// Image input: formats, EXIF orientation, PIL-style RGB conversion, and bad input (bombs,
// truncation, non-images, missing files) failing fast with the catalogue's codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { decodeImage, probeImage, readImageFile, sniffImageFormat } from "../../src/images/decode.js";
import { isSightlineError, type ErrorCode } from "../../src/errors.js";
import type { RgbImage } from "../../src/images/rgb-image.js";

const images = fileURLToPath(new URL("../../../shared/images/", import.meta.url));

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSightlineError(e), `expected a SightlineError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes("\n"), "one-line message");
    return true;
  });
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

function mirrored(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + x) * 3;
      out.set(img.data.subarray(s, s + 3), (y * img.width + (img.width - 1 - x)) * 3);
    }
  }
  return out;
}

/** A deterministic RGBA pattern with a full alpha ramp (transparent pixels keep their colour). */
function rgbaPattern(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      b[i] = (x * 37 + y * 11) & 255;
      b[i + 1] = (x * 5 + y * 53) & 255;
      b[i + 2] = (x * y * 7) & 255;
      b[i + 3] = Math.round((x / (w - 1)) * 255);
    }
  }
  return b;
}

function dropAlpha(rgba: Buffer): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return out;
}

test("EXIF orientations 1-8 all come out upright and alike", async () => {
  for (const kind of ["landscape", "portrait"] as const) {
    const [w, h] = kind === "landscape" ? [600, 450] : [450, 600];
    const ref = await readImageFile(join(images, "orientation", `${kind}_1.jpg`));
    assert.deepEqual([ref.width, ref.height], [w, h]);
    const wrong = meanAbsDiff(ref.data, mirrored(ref));
    for (let i = 1; i <= 8; i++) {
      const img = await readImageFile(join(images, "orientation", `${kind}_${i}.jpg`));
      assert.deepEqual([img.width, img.height], [w, h], `${kind}_${i}`);
      assert.equal(img.data.length, w * h * 3);
      // Each variant carries its own digit and JPEG noise; a wrong orientation differs ~3x more.
      const d = meanAbsDiff(ref.data, img.data);
      assert.ok(d < 20 && d < wrong / 2, `${kind}_${i}: mean abs diff ${d} (mirror: ${wrong})`);
    }
  }
});

test("RGBA PNG and TIFF: alpha is dropped without compositing (PIL convert('RGB'))", async () => {
  const [w, h] = [23, 17];
  const rgba = rgbaPattern(w, h);
  const expected = dropAlpha(rgba);
  const raw = { raw: { width: w, height: h, channels: 4 as const } };
  for (const encoded of [
    await sharp(rgba, raw).png().toBuffer(),
    await sharp(rgba, raw).tiff({ compression: "lzw" }).toBuffer(),
    await sharp(rgba, raw).webp({ lossless: true, exact: true }).toBuffer(),
  ]) {
    const img = await decodeImage(encoded);
    assert.deepEqual([img.width, img.height], [w, h]);
    assert.deepEqual(img.data, expected);
  }
});

test("the shared RGBA TIFFs decode to RGB", async () => {
  for (const name of readdirSync(join(images, "tiff"))) {
    const img = await readImageFile(join(images, "tiff", name));
    assert.ok(img.width > 0 && img.height > 0, name);
    assert.equal(img.data.length, img.width * img.height * 3, name);
  }
});

test("grey and grey+alpha replicate the grey level", async () => {
  const g = Buffer.from([0, 50, 100, 200, 255, 7]);
  const grey = await sharp(g, { raw: { width: 3, height: 2, channels: 1 } })
    .png()
    .toBuffer();
  const img = await decodeImage(grey);
  assert.deepEqual(
    Array.from(img.data),
    [...g].flatMap((v) => [v, v, v]),
  );

  const la = Buffer.from([10, 0, 20, 128, 30, 255]);
  const laPng = await sharp(la, { raw: { width: 3, height: 1, channels: 2 } })
    .png()
    .toBuffer();
  assert.deepEqual(Array.from((await decodeImage(laPng)).data), [10, 10, 10, 20, 20, 20, 30, 30, 30]);
});

test("GIF: first frame of an animation, palette colours", async () => {
  const frame = (r: number, g: number, b: number) =>
    sharp({ create: { width: 8, height: 6, channels: 3, background: { r, g, b } } })
      .png()
      .toBuffer();
  const gif = await sharp([await frame(255, 0, 0), await frame(0, 0, 255)], { join: { animated: true } })
    .gif()
    .toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const img = await decodeImage(gif);
  assert.deepEqual([img.width, img.height], [8, 6]);
  for (let i = 0; i < 48; i++) assert.deepEqual([...img.data.subarray(i * 3, i * 3 + 3)], [255, 0, 0]);
});

test("AVIF decodes through sharp (AV1); HEVC HEIC decodes too", async () => {
  const avif = await sharp({
    create: { width: 16, height: 16, channels: 3, background: { r: 10, g: 200, b: 30 } },
  })
    .avif({ lossless: true })
    .toBuffer();
  assert.equal(sniffImageFormat(avif), "heif");
  const img = await decodeImage(avif);
  assert.deepEqual([img.width, img.height], [16, 16]);
  assert.ok(Math.abs(img.data[1]! - 200) <= 2);

  // HEVC-coded HEIC goes to libheif instead (test/images/heic.test.ts).
  const heic = await readImageFile(join(images, "heic", "samplefilehub.heif"));
  assert.deepEqual([heic.width, heic.height], [640, 426]);
});

test("broken or hostile EXIF (shared invalid/ set): decoded or a clear error, quickly", async () => {
  for (const name of readdirSync(join(images, "invalid"))) {
    const t0 = performance.now();
    try {
      const img = await readImageFile(join(images, "invalid", name));
      assert.equal(img.data.length, img.width * img.height * 3, name);
    } catch (e) {
      assert.ok(isSightlineError(e), `${name}: ${String(e)}`);
      assert.ok(["IMAGE_INVALID", "IMAGE_UNSUPPORTED"].includes(e.code), `${name}: ${e.code}`);
    }
    assert.ok(performance.now() - t0 < 5000, `${name} took too long`);
  }
});

test("other real photos decode (cameras, gps, xmp)", async () => {
  for (const dir of ["cameras", "gps", "xmp"]) {
    for (const name of readdirSync(join(images, dir))) {
      const img = await readImageFile(join(images, dir, name));
      assert.equal(img.data.length, img.width * img.height * 3, `${dir}/${name}`);
    }
  }
});

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  let c = 0xffffffff;
  for (const v of body) c = crcTable[(c ^ v) & 0xff]! ^ (c >>> 8);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
  return out;
}

/** A hand-built PNG: `idat` is the (unfiltered, filter byte 0 per row) scanline data. */
function buildPng(
  width: number,
  height: number,
  bitDepth: number,
  colourType: number,
  scanlines: Buffer,
): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(scanlines)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

test("16-bit PNG (RGB and grey) keeps the high byte of each sample", async () => {
  const rgb = Buffer.from([0, 0x80, 0xff, 0x01, 0x80, 0xff, 0xff, 0x00, 0xff, 0x7f, 0x80, 0x12, 0x34]);
  assert.deepEqual(
    Array.from((await decodeImage(buildPng(2, 1, 16, 2, rgb))).data),
    [0x80, 0x01, 0xff, 0x00, 0x7f, 0x12],
  );
  // PIL would clip 16-bit grey ("I" mode) to 255 in convert("RGB"); the high byte is the sane reading.
  const grey = Buffer.from([0, 0x80, 0xff, 0x01, 0x80, 0xff, 0xff]);
  assert.deepEqual(
    Array.from((await decodeImage(buildPng(3, 1, 16, 0, grey))).data),
    [0x80, 0x80, 0x80, 0x01, 0x01, 0x01, 0xff, 0xff, 0xff],
  );
});

/** A PNG whose header claims width x height; only its first rows of zeros are present. */
function pngHeaderOnly(width: number, height: number): Buffer {
  return buildPng(width, height, 8, 2, Buffer.alloc(64 * (1 + width * 3)));
}

test("decompression bomb: a 30000x30000 PNG is refused from its header, fast", async () => {
  const bomb = pngHeaderOnly(30000, 30000);
  const t0 = performance.now();
  await rejectsWith(decodeImage(bomb), "IMAGE_TOO_LARGE");
  assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
  // the limit is configurable
  const small = await sharp({ create: { width: 40, height: 30, channels: 3, background: "white" } })
    .png()
    .toBuffer();
  await rejectsWith(decodeImage(small, { maxPixels: 1000 }), "IMAGE_TOO_LARGE");
  assert.equal((await decodeImage(small, { maxPixels: 1200 })).width, 40);
});

test("non-image bytes, SVG, empty input", async () => {
  await rejectsWith(
    decodeImage(Buffer.from("hello, this is plain text, not a picture")),
    "IMAGE_UNSUPPORTED",
  );
  await rejectsWith(
    decodeImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')),
    "IMAGE_UNSUPPORTED",
  );
  await rejectsWith(decodeImage(Buffer.from("%PDF-1.7\n")), "IMAGE_UNSUPPORTED");
  await rejectsWith(decodeImage(new Uint8Array(0)), "IMAGE_INVALID");
  // right magic, garbage after it
  await rejectsWith(decodeImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7])), "IMAGE_INVALID");
});

test("truncated JPEG and PNG are IMAGE_INVALID", async () => {
  const jpg = readFileSync(join(images, "cameras", "Canon_40D.jpg"));
  for (const frac of [0.3, 0.9, 0.995]) {
    await rejectsWith(decodeImage(jpg.subarray(0, Math.floor(jpg.length * frac))), "IMAGE_INVALID");
  }
  const png = await sharp(rgbaPattern(64, 64), { raw: { width: 64, height: 64, channels: 4 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
  await rejectsWith(decodeImage(png.subarray(0, Math.floor(png.length * 0.6))), "IMAGE_INVALID");
});

test("missing file is FILE_NOT_FOUND", async () => {
  await rejectsWith(readImageFile(join(images, "no-such-dir", "nothing.jpg")), "FILE_NOT_FOUND");
  await rejectsWith(readImageFile("/definitely/not/here.png"), "FILE_NOT_FOUND");
});

test("CMYK JPEG converts with PIL's cmyk2rgb formula, not an ICC transform", async () => {
  const src = await sharp({
    create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 60, b: 30 } },
  })
    .png()
    .toBuffer();
  const cmykJpeg = await sharp(src).toColourspace("cmyk").jpeg({ quality: 100 }).toBuffer();
  assert.equal((await sharp(cmykJpeg).metadata()).space, "cmyk");
  const cmyk = await sharp(cmykJpeg).pipelineColourspace("cmyk").toColourspace("cmyk").raw().toBuffer();
  const img = await decodeImage(cmykJpeg);
  for (let i = 0; i < 64; i++) {
    const [c, m, y, k] = cmyk.subarray(i * 4, i * 4 + 4);
    const nk = 255 - k!;
    const f = (v: number) => {
      const t = v * nk + 128;
      return nk - (((t >> 8) + t) >> 8);
    };
    assert.deepEqual([...img.data.subarray(i * 3, i * 3 + 3)], [f(c!), f(m!), f(y!)]);
  }
});

/** A hand-built BMP (BITMAPINFOHEADER): rows given top first, stored as the file wants. */
function buildBmp(
  width: number,
  height: number,
  bpp: number,
  rowsTopFirst: number[][],
  opts: { topDown?: boolean; palette?: [number, number, number][] } = {},
): Buffer {
  const stride = Math.ceil((width * bpp) / 32) * 4;
  const palette = opts.palette ?? [];
  const dataOffset = 14 + 40 + palette.length * 4;
  const b = Buffer.alloc(dataOffset + stride * height);
  b.write("BM", 0, "ascii");
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(dataOffset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(opts.topDown ? -height : height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bpp, 28);
  b.writeUInt32LE(palette.length, 46);
  palette.forEach(([r, g, bl], i) => b.set([bl, g, r, 0], 54 + i * 4));
  rowsTopFirst.forEach((row, y) => {
    const fileRow = opts.topDown ? y : height - 1 - y;
    b.set(row, dataOffset + fileRow * stride);
  });
  return b;
}

test("BMP: 24/32-bit (bottom-up and top-down) and palette images, as PIL reads them", async () => {
  // 3x2, pixels (r,g,b): row0 = red, green, blue; row1 = white, black, (10,20,30); stored BGR
  const rgbRows = [
    [255, 0, 0, 0, 255, 0, 0, 0, 255],
    [255, 255, 255, 0, 0, 0, 10, 20, 30],
  ];
  const bgr = (row: number[], px: number) =>
    Array.from({ length: row.length / 3 }, (_, i) => [
      row[i * 3 + 2]!,
      row[i * 3 + 1]!,
      row[i * 3]!,
      ...Array(px - 3).fill(77),
    ]).flat();
  const want = rgbRows.flat();
  const b24 = buildBmp(
    3,
    2,
    24,
    rgbRows.map((r) => bgr(r, 3)),
  );
  assert.equal(sniffImageFormat(b24), "bmp");
  assert.deepEqual(Array.from((await decodeImage(b24)).data), want);
  const b32 = buildBmp(
    3,
    2,
    32,
    rgbRows.map((r) => bgr(r, 4)),
    { topDown: true },
  );
  assert.deepEqual(Array.from((await decodeImage(b32)).data), want);
  const pal: [number, number, number][] = [
    [1, 2, 3],
    [200, 100, 50],
  ];
  const b8 = buildBmp(
    3,
    2,
    8,
    [
      [0, 1, 0],
      [1, 1, 0],
    ],
    { palette: pal },
  );
  assert.deepEqual(
    Array.from((await decodeImage(b8)).data),
    [1, 2, 3, 200, 100, 50, 1, 2, 3, 200, 100, 50, 200, 100, 50, 1, 2, 3],
  );
  const b1 = buildBmp(3, 1, 1, [[0b10100000]], { palette: pal });
  assert.deepEqual(Array.from((await decodeImage(b1)).data), [200, 100, 50, 1, 2, 3, 200, 100, 50]);
  // a BMP bomb is refused from the header, a truncated one is invalid
  const bomb = buildBmp(3, 2, 24, []);
  bomb.writeInt32LE(30000, 18);
  bomb.writeInt32LE(30000, 22);
  await rejectsWith(decodeImage(bomb), "IMAGE_TOO_LARGE");
  await rejectsWith(decodeImage(b24.subarray(0, b24.length - 4)), "IMAGE_INVALID");
});

test("probeImage reads format and size from the header with the same refusals", async () => {
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: "white" } })
    .png()
    .toBuffer();
  assert.deepEqual(await probeImage(png), { format: "png", width: 40, height: 30 });
  const jpg = readFileSync(join(images, "orientation", "landscape_6.jpg"));
  assert.deepEqual(await probeImage(jpg), { format: "jpeg", width: 450, height: 600 });
  await rejectsWith(probeImage(pngHeaderOnly(30000, 30000)), "IMAGE_TOO_LARGE");
  await rejectsWith(probeImage(Buffer.from("BMW makes cars, this is text")), "IMAGE_UNSUPPORTED");
});
