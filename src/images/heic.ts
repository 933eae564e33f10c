// HEVC-coded HEIF ("HEIC": iPhone photos and most phone HEIF) decoded by libheif compiled to
// WebAssembly (the libheif-js package: no native build, no system library). sharp's prebuilt
// libvips reads HEIF containers and decodes AV1 (AVIF) but has no HEVC decoder.
//
// Orientation: libheif applies the container's own transformations (irot rotation, imir mirror,
// clap crop), which is how HEIF stores a photo's orientation; phones write the same rotation into
// EXIF as well, so EXIF Orientation is applied only to a file that has no irot/imir, the way a
// JPEG's is. Either way the pixels come out upright, once.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { fail, failWith } from "../errors.js";
import type { RgbImage } from "./rgb-image.js";

// The decoder runs in a worker thread: WebAssembly decoding is synchronous and takes seconds for a
// 12-megapixel photo, which must not stall a server's event loop. The worker is plain JavaScript
// evaluated from this string (a worker thread does not inherit the TypeScript loader the tests run
// under), calling libheif's Emscripten bindings as libheif-js exports them.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const lib = require(workerData.libheif);
const isError = (v) => v && typeof v === "object" && "code" in v && "message" in v && !("channels" in v);
function decode(bytes) {
  const ctx = lib.heif_context_alloc();
  let handle, decoded;
  try {
    const read = lib.heif_context_read_from_memory(ctx, bytes);
    if (read.code !== lib.heif_error_code.heif_error_Ok) return { error: read.message };
    const primary = lib.heif_js_context_get_primary_image_handle(ctx);
    if (isError(primary)) return { error: primary.message };
    handle = primary;
    const result = lib.heif_js_decode_image2(handle, lib.heif_colorspace.heif_colorspace_RGB,
      lib.heif_chroma.heif_chroma_interleaved_RGB);
    if (isError(result)) return { error: result.message };
    decoded = result;
    const plane = result.channels[0];
    if (!plane) return { error: "the decoder returned no pixels" };
    const { width, height, stride } = plane;
    const data = new Uint8Array(width * height * 3);
    const row = width * 3;
    for (let y = 0; y < height; y++) data.set(plane.data.subarray(y * stride, y * stride + row), y * row);
    return { data, width, height };
  } finally {
    if (decoded) lib.heif_image_release(decoded.image);
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(ctx);
  }
}
parentPort.on("message", ({ id, bytes }) => {
  let answer;
  try {
    answer = decode(bytes);
  } catch (e) {
    answer = { error: String((e && e.message) || e) };
  }
  parentPort.postMessage({ id, ...answer }, answer.data ? [answer.data.buffer] : []);
});
`;

interface Answer {
  id: number;
  error?: string;
  data?: Uint8Array;
  width?: number;
  height?: number;
}

/** One decoder thread, started on first use, not keeping the process alive while idle. */
class HeicThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();

  decode(bytes: Uint8Array): Promise<Answer> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, bytes });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const libheif = createRequire(import.meta.url).resolve("libheif-js/wasm-bundle");
    const worker = new Worker(workerSource, { eval: true, workerData: { libheif } });
    worker.unref();
    worker.on("message", (answer: Answer) => {
      const job = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (this.pending.size === 0) worker.unref();
      job?.resolve(answer);
    });
    const failAll = (e: Error) => {
      this.worker = undefined;
      for (const job of this.pending.values()) job.reject(e);
      this.pending.clear();
    };
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new Error(`the HEIF decoder thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

const thread = new HeicThread();

/** Decodes the primary image of a HEIF file to 8-bit RGB, the container's transformations applied. */
export async function decodeHeic(bytes: Uint8Array): Promise<RgbImage> {
  let answer: Answer;
  try {
    answer = await thread.decode(bytes);
  } catch (e) {
    throw failWith(e, "IMAGE_INVALID", `heif: ${(e as Error).message}`);
  }
  if (answer.error !== undefined || !answer.data) {
    const reason = (answer.error ?? "").trim().split("\n")[0] || "no pixels";
    throw fail("IMAGE_INVALID", `heif: ${reason}`);
  }
  return { data: answer.data, width: answer.width!, height: answer.height! };
}

// --- ISO-BMFF boxes: is there an irot or imir property? ---

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** The child boxes of b[from, to): type and payload range. Stops at anything malformed. */
function* boxes(
  b: Uint8Array,
  from: number,
  to: number,
): Generator<{ type: string; start: number; end: number }> {
  let at = from;
  while (at + 8 <= to) {
    let size = u32(b, at);
    const type = String.fromCharCode(b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = u32(b, at + 8) * 2 ** 32 + u32(b, at + 12);
      header = 16;
    } else if (size === 0) {
      size = to - at; // to the end
    }
    if (size < header || at + size > to) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

function child(b: Uint8Array, from: number, to: number, type: string, skip = 0) {
  for (const box of boxes(b, from, to))
    if (box.type === type) return { start: box.start + skip, end: box.end };
  return undefined;
}

/** True when the file's item properties include a rotation (irot) or mirror (imir). */
export function hasHeifTransform(b: Uint8Array): boolean {
  const meta = child(b, 0, b.length, "meta", 4); // a full box: version and flags first
  const iprp = meta && child(b, meta.start, meta.end, "iprp");
  const ipco = iprp && child(b, iprp.start, iprp.end, "ipco");
  if (!ipco) return false;
  for (const box of boxes(b, ipco.start, ipco.end))
    if (box.type === "irot" || box.type === "imir") return true;
  return false;
}

// --- EXIF Orientation ---

/** The Orientation tag (1–8) of an EXIF block ("Exif\0\0" + TIFF, or bare TIFF), if any. */
export function exifOrientation(exif: Uint8Array | undefined): number | undefined {
  if (!exif) return undefined;
  let t = 0;
  if (exif.length >= 6 && String.fromCharCode(...exif.subarray(0, 4)) === "Exif") t = 6;
  if (exif.length < t + 8) return undefined;
  const little = exif[t] === 0x49 && exif[t + 1] === 0x49;
  if (!little && !(exif[t] === 0x4d && exif[t + 1] === 0x4d)) return undefined;
  const view = new DataView(exif.buffer, exif.byteOffset, exif.byteLength);
  const u16 = (at: number) => view.getUint16(at, little);
  const ifd = t + view.getUint32(t + 4, little);
  if (ifd + 2 > exif.length) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > exif.length) return undefined;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}

// For each EXIF orientation 2–8: where output pixel (ox, oy) comes from in the stored image,
// as sx = ax·ox + bx·oy + cx·(w−1), sy = ay·ox + by·oy + cy·(h−1).
const orientationMaps: Record<number, [number, number, number, number, number, number]> = {
  2: [-1, 0, 1, 0, 1, 0], // mirrored left-right
  3: [-1, 0, 1, 0, -1, 1], // rotated 180°
  4: [1, 0, 0, 0, -1, 1], // mirrored top-bottom
  5: [0, 1, 0, 1, 0, 0], // transposed
  6: [0, 1, 0, -1, 0, 1], // needs 90° clockwise
  7: [0, -1, 1, -1, 0, 1], // transversed
  8: [0, -1, 1, 1, 0, 0], // needs 90° counter-clockwise
};

/** Turns an image stored with EXIF orientation `o` upright (the transform JPEG viewers apply). */
export function applyOrientation(img: RgbImage, o: number | undefined): RgbImage {
  const map = o === undefined ? undefined : orientationMaps[o];
  if (!map) return img;
  const [ax, bx, cx, ay, by, cy] = map;
  const { width: w, height: h, data } = img;
  const W = o! >= 5 ? h : w;
  const H = o! >= 5 ? w : h;
  const out = new Uint8Array(data.length);
  for (let oy = 0; oy < H; oy++) {
    for (let ox = 0; ox < W; ox++) {
      const sx = ax * ox + bx * oy + cx * (w - 1);
      const sy = ay * ox + by * oy + cy * (h - 1);
      const s = (sy * w + sx) * 3;
      const d = (oy * W + ox) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { data: out, width: W, height: H };
}
