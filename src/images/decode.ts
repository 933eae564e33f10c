// Image bytes → 8-bit RGB, upright, the way Hugging Face pipelines see a photo:
// `PIL.ImageOps.exif_transpose(img).convert("RGB")`.
//
// - Formats: JPEG, PNG, WebP, GIF (first frame), TIFF (first page), AVIF and other AV1-coded HEIF
//   (sharp), HEVC-coded HEIF ("HEIC", phones; libheif as WebAssembly, heic.ts) and BMP (our own
//   decoder, bmp.ts). Anything else (SVG, PDF, …) is refused from its magic bytes before any
//   decoder sees it.
// - Orientation: EXIF Orientation is applied (JPEG, TIFF, WebP, PNG…); HEIF stores it as irot/imir
//   properties, which are applied, and its EXIF copy only when it has none (heic.ts).
// - Decompression bombs: the pixel count is read from the header and checked before decoding.
// - Colour like PIL's convert("RGB"): alpha is dropped (no compositing), grey is replicated,
//   palettes are looked up, 16-bit samples keep their high byte, CMYK uses PIL's naive
//   formula, and embedded ICC profiles are ignored (PIL does no colour management).
// - Truncated or corrupt pixel data is an error (IMAGE_INVALID); broken metadata is not.

import { readFile, stat } from "node:fs/promises";
import sharp, { type Metadata } from "sharp";
import { fail, failWith, isSightlineError } from "../errors.js";
import type { RgbImage } from "./rgb-image.js";
import { decodeBmp, isBmp, readBmpHeader } from "./bmp.js";
import { applyOrientation, decodeHeic, exifOrientation, hasHeifTransform } from "./heic.js";

export interface DecodeLimits {
  /** Largest width x height accepted (default 100 megapixels). */
  maxPixels?: number;
  /** readImageFile only: largest file accepted (default 256 MiB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** The container formats Sightline decodes, from their magic bytes. */
export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "tiff" | "heif" | "bmp";

function startsWith(b: Uint8Array, sig: number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  return sig.every((v, i) => b[at + i] === v);
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

// ISO-BMFF brands of HEIF still images (HEIC, AVIF and the generic ones).
const HEIF_BRANDS = new Set([
  "heic",
  "heix",
  "hevc",
  "hevx",
  "heim",
  "heis",
  "mif1",
  "msf1",
  "avif",
  "avis",
  "mif2",
]);

/** Identifies a supported format from the first bytes; null for anything else. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | null {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return "jpeg";
  if (isBmp(b)) return "bmp";
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return "gif";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return "webp";
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return "tiff"; // BigTIFF
  if (b.length >= 12 && ascii(b, 4, 8) === "ftyp") {
    const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const end = Math.min(b.length, Math.max(16, boxSize));
    // major brand at 8, then compatible brands from 16
    const brands = [ascii(b, 8, 12)];
    for (let i = 16; i + 4 <= end; i += 4) brands.push(ascii(b, i, i + 4));
    if (brands.some((x) => HEIF_BRANDS.has(x))) return "heif";
  }
  return null;
}

/** What a file in a format we recognise but refuse is (SVG, PDF, ICO), for a 415; else undefined. */
export function knownUnsupportedFormat(b: Uint8Array): string | undefined {
  const head = ascii(b, 0, Math.min(b.length, 256)).trimStart();
  if (startsWith(b, [0x25, 0x50, 0x44, 0x46])) return "PDF documents are not images";
  if (/^(<\?xml|<svg|<!DOCTYPE svg)/i.test(head)) return "SVG (vector images are not accepted)";
  if (startsWith(b, [0x00, 0x00, 0x01, 0x00])) return "ICO";
  return undefined;
}

/** A name for common formats we refuse, to make the error say what the file is. */
function describeUnsupported(b: Uint8Array): string {
  return knownUnsupportedFormat(b) ?? "not a JPEG, PNG, WebP, GIF, TIFF, BMP, HEIF or AVIF image";
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (
    msg
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? "decoder error"
  );
}

/** Maps a sharp/libvips failure to the catalogue. */
function decodeError(e: unknown, format: ImageFormat): Error {
  if (isSightlineError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/compression format has not been built in|no decoder|not built with|unsupported codec/i.test(msg)) {
    return failWith(
      e,
      "IMAGE_UNSUPPORTED",
      format === "heif" ? "HEIF with a codec other than HEVC or AV1" : format,
    );
  }
  if (/exceeds pixel limit/i.test(msg)) return failWith(e, "IMAGE_TOO_LARGE", firstLine(e));
  if (/unsupported image format/i.test(msg)) return failWith(e, "IMAGE_UNSUPPORTED", firstLine(e));
  return failWith(e, "IMAGE_INVALID", `${format}: ${firstLine(e)}`);
}

// libjpeg reports recoverable damage inside the entropy-coded data as "Corrupt JPEG data: …"
// warnings; PIL decodes such files (with grey or smeared blocks), so we do too. Truncation
// ("premature end of JPEG image") stays an error, like PIL's "image file is truncated".
function isRecoverableJpegWarning(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /Corrupt JPEG data/i.test(msg) && !/premature end of JPEG image/i.test(msg);
}

interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** First frame / page; for HEIF, libvips' default is the file's primary image instead. */
function firstImage(format: ImageFormat): { page?: number; pages?: number } {
  return format === "heif" ? {} : { page: 0, pages: 1 };
}

async function decodeRaw(
  bytes: Uint8Array,
  format: ImageFormat,
  maxPixels: number,
  cmyk: boolean,
  lenientJpeg: boolean,
): Promise<RawPixels> {
  let pipeline = sharp(bytes, {
    failOn: "truncated",
    limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
    autoOrient: true,
    ignoreIcc: true,
    ...firstImage(format),
    // With its default safety limits libvips gives up on JPEGs with recoverable entropy-data
    // damage that PIL decodes (shared images/invalid/corrupted.jpg); `unlimited` is used only to
    // retry such a JPEG, whose header (and so pixel count) has already been checked.
    unlimited: lenientJpeg,
  });
  // Keep CMYK samples as they are and convert them with PIL's formula below.
  if (cmyk) pipeline = pipeline.pipelineColourspace("cmyk").toColourspace("cmyk");
  const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** PIL's convert("RGB") from the decoded bands (no alpha compositing). */
function toRgb(raw: RawPixels, cmyk: boolean): RgbImage {
  const { data: src, width, height, channels } = raw;
  const n = width * height;
  if (channels === 3) return { data: new Uint8Array(src.buffer, src.byteOffset, n * 3), width, height };
  const out = new Uint8Array(n * 3);
  if (cmyk && channels >= 4) {
    // Convert.c cmyk2rgb: nk = 255 - k; out = clip(nk - c * nk / 255) with MULDIV255 rounding.
    const muldiv255 = (a: number, b: number): number => {
      const t = a * b + 128;
      return ((t >> 8) + t) >> 8;
    };
    for (let i = 0; i < n; i++) {
      const s = i * channels;
      const nk = 255 - src[s + 3]!;
      for (let c = 0; c < 3; c++) {
        const v = nk - muldiv255(src[s + c]!, nk);
        out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    return { data: out, width, height };
  }
  if (channels === 1 || channels === 2) {
    for (let i = 0; i < n; i++) {
      const g = src[i * channels]!;
      out[i * 3] = g;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = g;
    }
    return { data: out, width, height };
  }
  if (channels >= 4) {
    for (let i = 0; i < n; i++) {
      const s = i * channels;
      out[i * 3] = src[s]!;
      out[i * 3 + 1] = src[s + 1]!;
      out[i * 3 + 2] = src[s + 2]!;
    }
    return { data: out, width, height };
  }
  throw fail("IMAGE_UNSUPPORTED", `${channels}-channel image`);
}

export interface ImageProbe {
  format: ImageFormat;
  /** Stored size, before EXIF orientation. */
  width: number;
  height: number;
}

function checkPixels(width: number, height: number, maxPixels: number, format: ImageFormat): void {
  if (!(width > 0 && height > 0)) throw fail("IMAGE_INVALID", `${format}: no image dimensions`);
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw fail("IMAGE_TOO_LARGE", `${width}x${height} is ${pixels} pixels, the limit is ${maxPixels}`);
  }
}

async function readHeader(
  bytes: Uint8Array,
): Promise<{ format: ImageFormat; meta: Metadata | null; width: number; height: number }> {
  if (bytes.length === 0) throw fail("IMAGE_INVALID", "empty input");
  const format = sniffImageFormat(bytes);
  if (format === null) throw fail("IMAGE_UNSUPPORTED", describeUnsupported(bytes));
  if (format === "bmp") {
    const h = readBmpHeader(bytes);
    return { format, meta: null, width: h.width, height: h.height };
  }
  // Header only: dimensions and colour space, no pixel decoding.
  try {
    const meta = await sharp(bytes, {
      failOn: "truncated",
      limitInputPixels: false,
      ...firstImage(format),
    }).metadata();
    return { format, meta, width: meta.width, height: meta.height };
  } catch (e) {
    throw decodeError(e, format);
  }
}

/**
 * Format and stored size from the header alone, with the same refusals as decodeImage makes
 * before decoding (unsupported format, IMAGE_TOO_LARGE, unreadable header).
 */
export async function probeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<ImageProbe> {
  const { format, width, height } = await readHeader(bytes);
  checkPixels(width, height, limits.maxPixels ?? DEFAULT_MAX_PIXELS, format);
  return { format, width, height };
}

/**
 * Decodes an image file's bytes into upright 8-bit RGB (EXIF orientation applied).
 * Errors: IMAGE_UNSUPPORTED (unknown format, codec not built in), IMAGE_TOO_LARGE (pixel count
 * over the limit, checked from the header before decoding), IMAGE_INVALID (corrupt/truncated).
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<RgbImage> {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  const { format, meta, width, height } = await readHeader(bytes);
  checkPixels(width, height, maxPixels, format);
  if (format === "bmp" || meta === null) return decodeBmp(bytes);
  if (format === "heif" && meta.compression === "hevc") {
    const upright = await decodeHeic(bytes);
    return hasHeifTransform(bytes) ? upright : applyOrientation(upright, exifOrientation(meta.exif));
  }
  const cmyk = meta.space === "cmyk";

  let raw: RawPixels;
  try {
    raw = await decodeRaw(bytes, format, maxPixels, cmyk, false);
  } catch (e) {
    if (!(format === "jpeg" && isRecoverableJpegWarning(e))) throw decodeError(e, format);
    try {
      raw = await decodeRaw(bytes, format, maxPixels, cmyk, true);
    } catch (e2) {
      throw decodeError(e2, format);
    }
  }
  return toRgb(raw, cmyk);
}

/** Reads and decodes an image file. Errors as decodeImage, plus FILE_NOT_FOUND. */
export async function readImageFile(path: string, limits: DecodeLimits = {}): Promise<RgbImage> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  let bytes: Buffer;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw fail("IMAGE_INVALID", `${path} is a directory`);
    if (st.size > maxBytes)
      throw fail("IMAGE_TOO_LARGE", `${path} is ${st.size} bytes, the limit is ${maxBytes}`);
    bytes = await readFile(path);
  } catch (e) {
    if (isSightlineError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw failWith(e, "FILE_NOT_FOUND", path);
    throw failWith(e, "IMAGE_INVALID", `${path}: ${firstLine(e)}`);
  }
  return decodeImage(bytes, limits);
}
