// A small Windows BMP decoder: the libvips inside sharp has no BMP loader, while PIL (and so every
// Hugging Face pipeline) opens BMPs. Covers what cameras, scanners and Windows tools write:
// uncompressed 24- and 32-bit (BI_RGB, or BI_BITFIELDS with the standard 8-bit masks) and 1/4/8-bit
// palettes. RLE, 16-bit and embedded JPEG/PNG BMPs are refused as unsupported.
// Output follows PIL's convert("RGB"): palette looked up, the 4th byte of 32-bit pixels dropped.

import { fail } from "../errors.js";
import type { RgbImage } from "./rgb-image.js";

export interface BmpHeader {
  width: number;
  height: number;
  /** Rows stored top row first (negative height in the file). */
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  dataOffset: number;
  headerSize: number;
  paletteSize: number;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

const DIB_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

/** "BM" followed by a known DIB header size (so text starting with "BM" is not taken for one). */
export function isBmp(b: Uint8Array): boolean {
  if (b.length < 26 || b[0] !== 0x42 || b[1] !== 0x4d) return false;
  return DIB_HEADER_SIZES.has(view(b).getUint32(14, true));
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads the file and DIB headers (no pixel data). */
export function readBmpHeader(b: Uint8Array): BmpHeader {
  if (!isBmp(b)) throw fail("IMAGE_INVALID", "bmp: bad signature");
  const v = view(b);
  const dataOffset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  let width: number;
  let rawHeight: number;
  let bitsPerPixel: number;
  let compression = BI_RGB;
  let colorsUsed = 0;
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER
    width = v.getUint16(18, true);
    rawHeight = v.getInt16(20, true);
    bitsPerPixel = v.getUint16(24, true);
  } else if (headerSize >= 40 && b.length >= 14 + 40) {
    width = v.getInt32(18, true);
    rawHeight = v.getInt32(22, true);
    bitsPerPixel = v.getUint16(28, true);
    compression = v.getUint32(30, true);
    colorsUsed = v.getUint32(46, true);
  } else {
    throw fail("IMAGE_INVALID", `bmp: unknown header size ${headerSize}`);
  }
  if (width <= 0 || rawHeight === 0 || rawHeight === -2147483648) {
    throw fail("IMAGE_INVALID", `bmp: bad dimensions ${width}x${rawHeight}`);
  }
  const paletteSize = bitsPerPixel <= 8 ? colorsUsed || 1 << bitsPerPixel : 0;
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel,
    compression,
    dataOffset,
    headerSize,
    paletteSize,
  };
}

/** Decodes a BMP whose header has already passed the pixel-count check. */
export function decodeBmp(b: Uint8Array): RgbImage {
  const h = readBmpHeader(b);
  const { width, height, bitsPerPixel: bpp } = h;
  const v = view(b);
  let masksOk = h.compression === BI_RGB;
  if (h.compression === BI_BITFIELDS || h.compression === BI_ALPHABITFIELDS) {
    // Masks follow a 40-byte header, or sit inside a V4/V5 header at the same place.
    const m = 14 + 40;
    if (b.length >= m + 12 && bpp === 32) {
      masksOk =
        v.getUint32(m, true) === 0x00ff0000 &&
        v.getUint32(m + 4, true) === 0x0000ff00 &&
        v.getUint32(m + 8, true) === 0x000000ff;
    }
  }
  const supported = masksOk && (bpp === 24 || bpp === 32 || bpp === 8 || bpp === 4 || bpp === 1);
  if (!supported) {
    throw fail("IMAGE_UNSUPPORTED", `BMP with ${bpp} bits per pixel, compression ${h.compression}`);
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (h.dataOffset + stride * height > b.length) throw fail("IMAGE_INVALID", "bmp: truncated pixel data");

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const entry = h.headerSize === 12 ? 3 : 4;
    const start = 14 + h.headerSize + (h.compression === BI_BITFIELDS ? 12 : 0);
    if (h.paletteSize > 1 << bpp || start + h.paletteSize * entry > h.dataOffset) {
      throw fail("IMAGE_INVALID", "bmp: bad palette");
    }
    palette = new Uint8Array(256 * 3); // missing entries read as black
    for (let i = 0; i < h.paletteSize; i++) {
      const p = start + i * entry; // stored B, G, R
      palette[i * 3] = b[p + 2]!;
      palette[i * 3 + 1] = b[p + 1]!;
      palette[i * 3 + 2] = b[p]!;
    }
  }

  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + (h.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    if (bpp === 24 || bpp === 32) {
      const step = bpp / 8;
      for (let x = 0, p = row; x < width; x++, p += step) {
        out[o++] = b[p + 2]!;
        out[o++] = b[p + 1]!;
        out[o++] = b[p]!;
      }
    } else {
      const perByte = 8 / bpp;
      const mask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++) {
        const byte = b[row + Math.floor(x / perByte)]!;
        const shift = 8 - bpp * ((x % perByte) + 1);
        const idx = (byte >> shift) & mask;
        out[o++] = palette![idx * 3]!;
        out[o++] = palette![idx * 3 + 1]!;
        out[o++] = palette![idx * 3 + 2]!;
      }
    }
  }
  return { data: out, width, height };
}
