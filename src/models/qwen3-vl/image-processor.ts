// Qwen2VLImageProcessor as transformers 5.12 runs it for Qwen3-VL (image_processing_qwen2_vl.py, the
// default torchvision backend; "Qwen2VLImageProcessorFast" in folders saved by transformers 4):
//   RGB image → smart resize to multiples of patch·merge within [min_pixels, max_pixels] (torchvision's
//   uint8 bicubic antialiased resize) → rescale + normalize in float32 → the frame repeated to
//   temporal_patch_size → patches of C·T·P·P values, rows in merge-window order.
// Alpha is dropped, not composited: transformers 5.12 gives the same pixel values for an RGBA image
// as for its RGB channels (the fixture's RGBA image shows it), which is what decodeImage returns.
// The PIL backend (image_processor_type "Qwen2VLImageProcessorPil") resizes with PIL instead.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, failWith } from "../../errors.js";
import type { RgbImage } from "../../images/rgb-image.js";
import { Resample, resizeRgb } from "../../images/resample.js";
import { resizeBicubicAntialiasTorch } from "../../images/torchvision-resize.js";
import { f, parseFields, type Field, type Json } from "../config.js";

export type ResizeBackend = "torchvision" | "pil";

/** What the processor returns for one image. */
export interface ImagePatches {
  /** [patches, 3·temporal_patch_size·patch_size²] row-major (HF pixel_values). */
  pixelValues: Float32Array;
  dims: [number, number];
  /** image_grid_thw: patches along time, height, width. */
  gridThw: [number, number, number];
  /** The resized image's height and width. */
  resized: { height: number; width: number };
}

export interface PreprocessOptions {
  /** Per-call min_pixels/max_pixels (HF images_kwargs), e.g. a CPU cap on the image size. */
  minPixels?: number;
  maxPixels?: number;
}

type Triple = [number, number, number];

/** image_mean / image_std: one number for every channel, or three. */
const perChannel = (key: string, fallback: Triple): Field<Triple> => ({
  key,
  fallback,
  kind: "3 numbers",
  check: (v) => {
    const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
    if (finite(v)) return [v, v, v];
    return Array.isArray(v) && v.length === 3 && v.every(finite) ? [v[0], v[1], v[2]] : undefined;
  },
});

/** A pixel count that may be missing (the size dict's keys; the top-level overrides). */
const pixels = (key: string) => f.optionalInt(key, null);

/** Qwen2VLImageProcessor's settings with its class defaults (transformers 5.12). */
const PROCESSOR = {
  /** HF class as named in the file (informational); the backend follows from it. */
  processorClass: f.string("image_processor_type", "Qwen2VLImageProcessor"),
  doResize: f.boolean("do_resize", true),
  /** size: {shortest_edge, longest_edge} in pixels (older Qwen2-VL folders: {min_pixels, max_pixels}). */
  size: f.object("size", {
    shortestEdge: pixels("shortest_edge"),
    longestEdge: pixels("longest_edge"),
    minPixels: pixels("min_pixels"),
    maxPixels: pixels("max_pixels"),
  }),
  /** Override size, as in HF. */
  minPixels: pixels("min_pixels"),
  maxPixels: pixels("max_pixels"),
  /** PIL's numbering: 3 = BICUBIC (the torchvision backend maps LANCZOS, 1, to BICUBIC too). */
  resample: f.int("resample", Resample.BICUBIC),
  doRescale: f.boolean("do_rescale", true),
  rescaleFactor: f.number("rescale_factor", 1 / 255),
  doNormalize: f.boolean("do_normalize", true),
  imageMean: perChannel("image_mean", [0.48145466, 0.4578275, 0.40821073]),
  imageStd: perChannel("image_std", [0.26862954, 0.26130258, 0.27577711]),
  patchSize: f.size("patch_size", 14),
  temporalPatchSize: f.size("temporal_patch_size", 2),
  mergeSize: f.size("merge_size", 2),
};

/** Qwen2VLImageProcessor's pixel bounds when neither size nor min/max_pixels are given. */
const DEFAULT_PIXELS = { min: 56 * 56, max: 28 * 28 * 1280 };

export interface Qwen2VLImageProcessorConfig {
  processorClass: string;
  backend: ResizeBackend;
  doResize: boolean;
  /** The fewest pixels (height·width) after resizing. */
  minPixels: number;
  /** The most pixels after resizing. */
  maxPixels: number;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: Triple;
  imageStd: Triple;
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
}

function invalid(source: string, detail: string): never {
  throw fail("MODEL_CONFIG_INVALID", `${source}: ${detail}`);
}

/**
 * Parses an image processor dict (preprocessor_config.json, or processor_config.json's
 * `image_processor`) with Qwen2VLImageProcessor's defaults. Pixel bounds come from
 * size {shortest_edge, longest_edge}; `min_pixels`/`max_pixels` override them as in HF (older
 * Qwen2-VL folders write only those, or a size dict with those names).
 */
export function parseQwen2VLImageProcessorConfig(
  json: unknown,
  source = "preprocessor_config.json",
): Qwen2VLImageProcessorConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) invalid(source, "not a JSON object");
  const { size, minPixels, maxPixels, resample, ...cfg } = parseFields(json as Json, PROCESSOR, source);
  const sized = (json as Json).size != null;
  const bounds = {
    "size.shortest_edge (min_pixels)":
      minPixels ?? size.shortestEdge ?? size.minPixels ?? (sized ? null : DEFAULT_PIXELS.min),
    "size.longest_edge (max_pixels)":
      maxPixels ?? size.longestEdge ?? size.maxPixels ?? (sized ? null : DEFAULT_PIXELS.max),
  };
  for (const [name, v] of Object.entries(bounds)) {
    if (v === null || v <= 0) invalid(source, `${name} should be a positive integer, got ${v}`);
  }
  if (resample !== Resample.BICUBIC && resample !== Resample.LANCZOS) {
    throw fail(
      "MODEL_UNSUPPORTED_ARCH",
      `${source}: resample ${resample} (Sightline's Qwen2-VL processor resizes bicubic only)`,
    );
  }
  if (cfg.imageStd.includes(0)) invalid(source, "image_std contains 0");
  return {
    ...cfg,
    backend: /Pil$/.test(cfg.processorClass) ? "pil" : "torchvision",
    minPixels: bounds["size.shortest_edge (min_pixels)"]!,
    maxPixels: bounds["size.longest_edge (max_pixels)"]!,
  };
}

function readJson(file: string): Json {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch (e) {
    throw failWith(e, "MODEL_CONFIG_INVALID", `${file}: ${(e as Error).message}`);
  }
}

/**
 * The image processor settings of a model folder, found as transformers 5 finds them:
 * preprocessor_config.json (the real repo's layout), else processor_config.json's nested
 * `image_processor` (what transformers 5 saves).
 */
export function readQwen2VLImageProcessorConfig(folder: string): Qwen2VLImageProcessorConfig {
  const file = join(folder, "preprocessor_config.json");
  if (existsSync(file)) {
    const json = readJson(file);
    return parseQwen2VLImageProcessorConfig(json.image_processor ?? json, file);
  }
  const processorFile = join(folder, "processor_config.json");
  if (existsSync(processorFile)) {
    const json = readJson(processorFile);
    return parseQwen2VLImageProcessorConfig(json.image_processor ?? json, `${processorFile} image_processor`);
  }
  throw fail("MODEL_CONFIG_INVALID", `no preprocessor_config.json or processor_config.json in ${folder}`);
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * smart_resize (transformers 5.12): both sides multiples of `factor`, height·width within
 * [minPixels, maxPixels], aspect ratio kept as closely as that allows.
 */
export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): { height: number; width: number } {
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw fail("IMAGE_INVALID", `${width}x${height}: the aspect ratio must be below 200:1`);
  }
  let hBar = roundHalfEven(height / factor) * factor;
  let wBar = roundHalfEven(width / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    hBar = Math.max(factor, Math.floor(height / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = Math.ceil((height * beta) / factor) * factor;
    wBar = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: hBar, width: wBar };
}

/**
 * Per channel, the float32 value of each uint8 level. torchvision backend: rescale and normalize fused
 * (mean/rescale, std/rescale as float32, then (x − mean) / std); PIL backend: x·rescale in float64
 * stored as float32, then (x − mean) / std in float32.
 */
function levelTables(cfg: Qwen2VLImageProcessorConfig): Float32Array[] {
  const f = Math.fround;
  return [0, 1, 2].map((c) => {
    const lut = new Float32Array(256);
    let mean = f(cfg.imageMean[c]!);
    let std = f(cfg.imageStd[c]!);
    const fused = cfg.backend === "torchvision" && cfg.doRescale && cfg.doNormalize;
    if (fused) {
      const inv = f(1.0 / cfg.rescaleFactor);
      mean = f(mean * inv);
      std = f(std * inv);
    }
    for (let v = 0; v < 256; v++) {
      let x = v;
      if (cfg.doRescale && !fused)
        x = cfg.backend === "pil" ? f(v * cfg.rescaleFactor) : f(v * f(cfg.rescaleFactor));
      if (cfg.doNormalize) x = f(f(x - mean) / std);
      lut[v] = x;
    }
    return lut;
  });
}

export class Qwen2VLImageProcessor {
  private readonly tables: Float32Array[];

  constructor(readonly config: Qwen2VLImageProcessorConfig) {
    this.tables = levelTables(config);
  }

  static load(folder: string): Qwen2VLImageProcessor {
    return new Qwen2VLImageProcessor(readQwen2VLImageProcessorConfig(folder));
  }

  /** patch_size · merge_size: both resized sides are multiples of it. */
  get factor(): number {
    return this.config.patchSize * this.config.mergeSize;
  }

  /** The size an image of `width`×`height` is resized to. */
  resizedSize(
    width: number,
    height: number,
    opts: PreprocessOptions = {},
  ): { height: number; width: number } {
    const cfg = this.config;
    if (!cfg.doResize) return { height, width };
    const minPixels = opts.minPixels ?? cfg.minPixels;
    const maxPixels = opts.maxPixels ?? cfg.maxPixels;
    if (!(minPixels > 0 && maxPixels >= minPixels)) {
      throw fail("INVALID_ARGUMENT", `pixel bounds [${minPixels}, ${maxPixels}]`);
    }
    return smartResize(height, width, this.factor, minPixels, maxPixels);
  }

  /** image_grid_thw of an image of `width`×`height` (one frame). */
  gridThw(width: number, height: number, opts: PreprocessOptions = {}): [number, number, number] {
    const r = this.resizedSize(width, height, opts);
    return [1, r.height / this.config.patchSize, r.width / this.config.patchSize];
  }

  preprocess(img: RgbImage, opts: PreprocessOptions = {}): ImagePatches {
    const cfg = this.config;
    if (img.data.length !== img.width * img.height * 3) {
      throw fail("INTERNAL", `RgbImage buffer has ${img.data.length} bytes for ${img.width}x${img.height}`);
    }
    const { height, width } = this.resizedSize(img.width, img.height, opts);
    if (height % this.factor !== 0 || width % this.factor !== 0) {
      throw fail(
        "INVALID_ARGUMENT",
        `${width}x${height} is not a multiple of ${this.factor} (do_resize is off)`,
      );
    }
    let pixels = img.data;
    if (width !== img.width || height !== img.height) {
      pixels =
        cfg.backend === "pil"
          ? resizeRgb(img, width, height, Resample.BICUBIC).data
          : resizeBicubicAntialiasTorch({ ...img, channels: 3 }, width, height).data;
    }
    return this.patchify(pixels, width, height);
  }

  /**
   * [C, H, W] float pixels → [grid_t·grid_h·grid_w, C·T·P·P] with the frame repeated T times:
   * view(t, T, C, h/m, m, P, w/m, m, P).permute(0, 3, 6, 4, 7, 2, 1, 5, 8).
   */
  private patchify(rgb: Uint8Array, width: number, height: number): ImagePatches {
    const { patchSize: P, temporalPatchSize: T, mergeSize: M } = this.config;
    const gh = height / P;
    const gw = width / P;
    const rowLen = 3 * T * P * P;
    const out = new Float32Array(gh * gw * rowLen);
    let row = 0;
    for (let bh = 0; bh < gh / M; bh++) {
      for (let bw = 0; bw < gw / M; bw++) {
        for (let mh = 0; mh < M; mh++) {
          for (let mw = 0; mw < M; mw++) {
            const y0 = (bh * M + mh) * P;
            const x0 = (bw * M + mw) * P;
            let o = row * rowLen;
            for (let c = 0; c < 3; c++) {
              const lut = this.tables[c]!;
              const start = o;
              for (let py = 0; py < P; py++) {
                const src = ((y0 + py) * width + x0) * 3 + c;
                for (let px = 0; px < P; px++) out[o++] = lut[rgb[src + px * 3]!]!;
              }
              // The single frame repeated along the temporal patch.
              for (let t = 1; t < T; t++) {
                out.copyWithin(o, start, start + P * P);
                o += P * P;
              }
            }
            row++;
          }
        }
      }
    }
    return {
      pixelValues: out,
      dims: [gh * gw, rowLen],
      gridThw: [1, gh, gw],
      resized: { height, width },
    };
  }
}
