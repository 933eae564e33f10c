// Every way a caller hands the server an image — an http(s) URL, base64, a data: URL, raw or
// multipart bytes — turned into checked bytes and then into an RgbImage. Dialects (server/routes)
// only say which kind of input they got; the limits and checks live here, once.
import { fail, failWith, isSightlineError } from "../errors.js";
import type { RgbImage } from "./rgb-image.js";
import { decodeImage, knownUnsupportedFormat, sniffImageFormat } from "./decode.js";
import { fetchImageUrl, type FetchImageOptions } from "./fetch.js";

export type ImageSource =
  /** http(s) URL to fetch, or a data: URL. */
  | { kind: "url"; url: string }
  /** base64 text, with or without a data: URL prefix. */
  | { kind: "base64"; data: string }
  /** Bytes already in hand (multipart upload, raw body). */
  | { kind: "bytes"; bytes: Uint8Array };

export type DecodeImage = (
  bytes: Uint8Array,
  options: { maxPixels?: number },
) => Promise<RgbImage> | RgbImage;

export interface ImageInputOptions extends FetchImageOptions {
  /** Decoded pixel limit (width × height). */
  maxPixels?: number;
}

const defaultMaxBytes = 20 * 1024 * 1024;

/** Strict base64 (standard or URL-safe alphabet, padding optional, whitespace ignored). */
export function decodeBase64(text: string, maxBytes = defaultMaxBytes): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (clean.length === 0) throw fail("IMAGE_INVALID", "empty base64 image");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(clean) || clean.replace(/=+$/, "").length % 4 === 1) {
    throw fail("IMAGE_INVALID", "the image is not valid base64");
  }
  if (Math.floor((clean.length * 3) / 4) > maxBytes + 3) {
    throw fail("IMAGE_TOO_LARGE", `more than ${maxBytes} bytes`);
  }
  return Buffer.from(clean, clean.includes("-") || clean.includes("_") ? "base64url" : "base64");
}

/** `data:[<type>][;base64],<data>` → bytes. */
export function decodeDataUrl(text: string, maxBytes = defaultMaxBytes): Uint8Array {
  const comma = text.indexOf(",");
  if (!/^data:/i.test(text) || comma < 0) throw fail("IMAGE_INVALID", "malformed data: URL");
  const meta = text.slice(5, comma);
  const payload = text.slice(comma + 1);
  if (/;base64$/i.test(meta)) return decodeBase64(payload, maxBytes);
  let bytes: Buffer;
  try {
    bytes = Buffer.from(decodeURIComponent(payload), "latin1");
  } catch (e) {
    throw failWith(e, "IMAGE_INVALID", "malformed data: URL");
  }
  if (bytes.length > maxBytes) throw fail("IMAGE_TOO_LARGE", `more than ${maxBytes} bytes`);
  return bytes;
}

/** The image's bytes from any source, size-limited and checked to look like an image. */
export async function readImageBytes(
  source: ImageSource,
  options: ImageInputOptions = {},
): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? defaultMaxBytes;
  let bytes: Uint8Array;
  switch (source.kind) {
    case "url":
      if (/^data:/i.test(source.url.trim())) bytes = decodeDataUrl(source.url.trim(), maxBytes);
      else bytes = (await fetchImageUrl(source.url.trim(), options)).bytes;
      break;
    case "base64":
      bytes = /^data:/i.test(source.data.trimStart())
        ? decodeDataUrl(source.data.trim(), maxBytes)
        : decodeBase64(source.data, maxBytes);
      break;
    case "bytes":
      bytes = source.bytes;
      if (bytes.length > maxBytes)
        throw fail("IMAGE_TOO_LARGE", `${bytes.length} bytes, the limit is ${maxBytes}`);
      break;
  }
  if (bytes.length === 0) throw fail("IMAGE_INVALID", "empty image");
  if (!sniffImageFormat(bytes)) {
    // A format we know and refuse (SVG, PDF) is a 415; bytes that are no image at all a 400.
    const refused = knownUnsupportedFormat(bytes);
    if (refused) throw fail("IMAGE_UNSUPPORTED", refused);
    throw fail(
      "IMAGE_INVALID",
      "the data is not an image Sightline reads (JPEG, PNG, WebP, GIF, TIFF, HEIF)",
    );
  }
  return bytes;
}

/** Image bytes (already checked by readImageBytes) → RgbImage under the pixel limit. */
export async function decodeImageBytes(
  bytes: Uint8Array,
  options: ImageInputOptions = {},
  decode: DecodeImage = decodeImage,
): Promise<RgbImage> {
  try {
    return await decode(bytes, { maxPixels: options.maxPixels });
  } catch (e) {
    if (isSightlineError(e)) throw e;
    throw failWith(e, "IMAGE_INVALID", (e as Error).message ?? String(e));
  }
}

/** Source → bytes → RgbImage (decodeImage of src/images/decode.ts unless another is given). */
export async function readImageInput(
  source: ImageSource,
  options: ImageInputOptions = {},
  decode: DecodeImage = decodeImage,
): Promise<RgbImage> {
  return decodeImageBytes(await readImageBytes(source, options), options, decode);
}
