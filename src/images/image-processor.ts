// Image processors driven by preprocessor_config.json, with Hugging Face transformers 4.40
// semantics (ViTImageProcessor, BlipImageProcessor, CLIPImageProcessor):
//   uint8 RGB → PIL-exact resize (uint8) → [CLIP: center crop] → x * rescale_factor (float64,
//   stored float32) → (x - mean) / std in float32 → CHW float32 [1, 3, H, W].
// Both config layouts load: the legacy one (`"size": 384` as an int, `feature_extractor_type`,
// keys missing) and the current one (`"size": {"height", "width"}` or `{"shortest_edge"}`).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, failWith } from "../errors.js";
import type { RgbImage } from "./rgb-image.js";
import { Resample, type ResampleFilter, resizeRgb } from "./resample.js";

/** A fixed output size. */
export interface HeightWidth {
  height: number;
  width: number;
}

/** HF's size dict: an exact size, or the short edge to scale to (aspect ratio kept). */
export type ResizeTarget = ({ kind: "exact" } & HeightWidth) | { kind: "shortestEdge"; shortestEdge: number };

export interface ImageProcessorConfig {
  /** HF class name, e.g. "CLIPImageProcessor" (legacy "…FeatureExtractor" names mapped). */
  processorClass: string;
  doResize: boolean;
  size: ResizeTarget;
  resample: ResampleFilter;
  doCenterCrop: boolean;
  cropSize: HeightWidth | null;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  /** Informational: Sightline images are always RGB already (decodeImage converts like PIL). */
  doConvertRgb: boolean;
}

export interface PixelValues {
  /** Float32 CHW pixels, batch of one. */
  pixelValues: Float32Array;
  dims: [1, 3, number, number];
}

export interface ImageProcessor {
  readonly config: ImageProcessorConfig;
  /** pixel_values exactly as the HF processor computes them for this (already RGB) image. */
  preprocess(img: RgbImage): PixelValues;
  /** The [height, width] of pixel_values for an input of this size. */
  outputSize(width: number, height: number): HeightWidth;
}

const IMAGENET_STANDARD: [number, number, number] = [0.5, 0.5, 0.5];
const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** The defaults each HF class's __init__ writes out, and how it reads an int `size`. */
interface ClassDefaults {
  size: ResizeTarget;
  /** get_size_dict(default_to_square=...) for an int size. */
  intSizeIsSquare: boolean;
  resample: ResampleFilter;
  doCenterCrop: boolean;
  cropSize: HeightWidth | null;
  mean: [number, number, number];
  std: [number, number, number];
  doConvertRgb: boolean;
  /** Whether resize() accepts {"shortest_edge"} (CLIP) or only {"height","width"} (ViT, BLIP). */
  acceptsShortestEdge: boolean;
}

const classDefaults: Record<string, ClassDefaults> = {
  ViTImageProcessor: {
    size: { kind: "exact", height: 224, width: 224 },
    intSizeIsSquare: true,
    resample: Resample.BILINEAR,
    doCenterCrop: false,
    cropSize: null,
    mean: IMAGENET_STANDARD,
    std: IMAGENET_STANDARD,
    doConvertRgb: false,
    acceptsShortestEdge: false,
  },
  BlipImageProcessor: {
    size: { kind: "exact", height: 384, width: 384 },
    intSizeIsSquare: true,
    resample: Resample.BICUBIC,
    doCenterCrop: false,
    cropSize: null,
    mean: OPENAI_CLIP_MEAN,
    std: OPENAI_CLIP_STD,
    doConvertRgb: true,
    acceptsShortestEdge: false,
  },
  CLIPImageProcessor: {
    size: { kind: "shortestEdge", shortestEdge: 224 },
    intSizeIsSquare: false,
    resample: Resample.BICUBIC,
    doCenterCrop: true,
    cropSize: { height: 224, width: 224 },
    mean: OPENAI_CLIP_MEAN,
    std: OPENAI_CLIP_STD,
    doConvertRgb: true,
    acceptsShortestEdge: true,
  },
};

type Json = Record<string, unknown>;

function invalid(source: string, detail: string): never {
  throw fail("MODEL_CONFIG_INVALID", `${source}: ${detail}`);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** Legacy `feature_extractor_type` names map to the image processor class HF loads for them. */
function processorClassOf(json: Json): string {
  const t = json.image_processor_type ?? json.feature_extractor_type;
  if (typeof t !== "string" || t === "") return "ViTImageProcessor";
  return t.replace(/FeatureExtractor$/, "ImageProcessor");
}

/** HF get_size_dict for `size`, as this class reads it. */
function parseSize(raw: unknown, defaults: ClassDefaults, source: string): ResizeTarget {
  if (raw === undefined || raw === null) return defaults.size;
  if (isPositiveInt(raw)) {
    return defaults.intSizeIsSquare
      ? { kind: "exact", height: raw, width: raw }
      : { kind: "shortestEdge", shortestEdge: raw };
  }
  if (Array.isArray(raw) && raw.length === 2 && raw.every(isPositiveInt)) {
    return { kind: "exact", height: raw[0] as number, width: raw[1] as number };
  }
  if (typeof raw === "object" && !Array.isArray(raw)) {
    const d = raw as Json;
    if (isPositiveInt(d.height) && isPositiveInt(d.width))
      return { kind: "exact", height: d.height, width: d.width };
    if (isPositiveInt(d.shortest_edge)) {
      if (d.longest_edge !== undefined && d.longest_edge !== null) {
        invalid(source, `size ${JSON.stringify(raw)}: longest_edge is not supported by these processors`);
      }
      return { kind: "shortestEdge", shortestEdge: d.shortest_edge };
    }
  }
  return invalid(source, `unsupported size ${JSON.stringify(raw)}`);
}

function parseCropSize(raw: unknown, fallback: HeightWidth | null, source: string): HeightWidth | null {
  if (raw === undefined || raw === null) return fallback;
  if (isPositiveInt(raw)) return { height: raw, width: raw };
  if (typeof raw === "object" && !Array.isArray(raw)) {
    const d = raw as Json;
    if (isPositiveInt(d.height) && isPositiveInt(d.width)) return { height: d.height, width: d.width };
  }
  return invalid(source, `unsupported crop_size ${JSON.stringify(raw)}`);
}

function parseTriple(
  raw: unknown,
  fallback: [number, number, number],
  name: string,
  source: string,
): [number, number, number] {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw === "number") return [raw, raw, raw];
  if (
    Array.isArray(raw) &&
    raw.length === 3 &&
    raw.every((v) => typeof v === "number" && Number.isFinite(v))
  ) {
    return [raw[0], raw[1], raw[2]] as [number, number, number];
  }
  return invalid(source, `${name} must be 3 numbers, got ${JSON.stringify(raw)}`);
}

/**
 * A missing key takes the class default; an explicit null is stored as None by HF and reads as
 * false in preprocess() (e.g. Florence-2's `"do_convert_rgb": null`).
 */
function bool(raw: unknown, fallback: boolean): boolean {
  return raw === undefined ? fallback : Boolean(raw);
}

/** Parses a preprocessor_config.json object (either layout) with HF's class defaults. */
export function parseImageProcessorConfig(
  json: unknown,
  source = "preprocessor_config.json",
): ImageProcessorConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) invalid(source, "not a JSON object");
  const j = json as Json;
  const processorClass = processorClassOf(j);
  // Unknown classes get ViT-like behaviour (exact size), honouring any crop settings they carry.
  const defaults = classDefaults[processorClass] ?? classDefaults.ViTImageProcessor!;

  let size = parseSize(j.size, defaults, source);
  // CLIPImageProcessor's backwards-compatibility switch for Kosmos-2 checkpoints.
  if (processorClass === "CLIPImageProcessor" && j.use_square_size && size.kind === "shortestEdge") {
    size = { kind: "exact", height: size.shortestEdge, width: size.shortestEdge };
  }
  if (size.kind === "shortestEdge" && !defaults.acceptsShortestEdge) {
    invalid(source, `${processorClass} needs size with height and width, got ${JSON.stringify(j.size)}`);
  }

  // Missing: the class default. null: HF passes resample=None to image_transforms.resize, which
  // then uses BILINEAR.
  const resample =
    j.resample === undefined ? defaults.resample : j.resample === null ? Resample.BILINEAR : j.resample;
  if (typeof resample !== "number" || !Number.isInteger(resample) || resample < 0 || resample > 5) {
    invalid(source, `unknown resample ${JSON.stringify(j.resample)}`);
  }
  const rescaleFactor = j.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== "number" || !Number.isFinite(rescaleFactor)) {
    invalid(source, `rescale_factor must be a number, got ${JSON.stringify(j.rescale_factor)}`);
  }
  const doCenterCrop = bool(j.do_center_crop, defaults.doCenterCrop);
  const cropSize = parseCropSize(j.crop_size, defaults.cropSize, source);
  if (doCenterCrop && cropSize === null) invalid(source, "do_center_crop is set but there is no crop_size");
  const imageStd = parseTriple(j.image_std, defaults.std, "image_std", source);
  if (imageStd.some((s) => s === 0)) invalid(source, "image_std contains 0");

  return {
    processorClass,
    doResize: bool(j.do_resize, true),
    size,
    resample: resample as ResampleFilter,
    doCenterCrop,
    cropSize,
    doRescale: bool(j.do_rescale, true),
    rescaleFactor,
    doNormalize: bool(j.do_normalize, true),
    imageMean: parseTriple(j.image_mean, defaults.mean, "image_mean", source),
    imageStd,
    doConvertRgb: bool(j.do_convert_rgb, defaults.doConvertRgb),
  };
}

/** Reads and parses `<folder>/preprocessor_config.json`. */
export function readImageProcessorConfig(folder: string): ImageProcessorConfig {
  const file = join(folder, "preprocessor_config.json");
  if (!existsSync(file)) throw fail("MODEL_CONFIG_INVALID", `no preprocessor_config.json in ${folder}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw failWith(e, "MODEL_CONFIG_INVALID", `${file}: ${(e as Error).message}`);
  }
  return parseImageProcessorConfig(json, file);
}

/**
 * HF get_resize_output_image_size: an exact size as is; a shortest edge scales the short side to
 * it and the long side to int(size * long / short) (truncated, torchvision style).
 */
export function resizeOutputSize(size: ResizeTarget, width: number, height: number): HeightWidth {
  if (size.kind === "exact") return { height: size.height, width: size.width };
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newShort = size.shortestEdge;
  const newLong = Math.trunc((newShort * long) / short);
  return width <= height ? { height: newLong, width: newShort } : { height: newShort, width: newLong };
}

/** The [height, width] of pixel_values for an input image of width x height. */
export function processedSize(cfg: ImageProcessorConfig, width: number, height: number): HeightWidth {
  let hw: HeightWidth = { height, width };
  if (cfg.doResize) hw = resizeOutputSize(cfg.size, width, height);
  if (cfg.doCenterCrop && cfg.cropSize) hw = { ...cfg.cropSize };
  return hw;
}

/** A size every input maps to, when there is one (exact resize or a crop); else null. */
export function fixedOutputSize(cfg: ImageProcessorConfig): HeightWidth | null {
  if (cfg.doCenterCrop && cfg.cropSize) return { ...cfg.cropSize };
  if (cfg.doResize && cfg.size.kind === "exact") return { height: cfg.size.height, width: cfg.size.width };
  return null;
}

/**
 * HF center_crop on a uint8 HWC image: offsets (orig - crop) // 2; when the image is smaller than
 * the crop it is first zero-padded, centred with ceil((new - orig) / 2).
 */
export function centerCropRgb(img: RgbImage, crop: HeightWidth): RgbImage {
  const { width: w, height: h } = img;
  if (crop.width === w && crop.height === h) return img;
  const newH = Math.max(crop.height, h);
  const newW = Math.max(crop.width, w);
  const padTop = Math.ceil((newH - h) / 2);
  const padLeft = Math.ceil((newW - w) / 2);
  // Crop window in padded coordinates (floor division like Python's //).
  const top = Math.floor((h - crop.height) / 2) + padTop;
  const left = Math.floor((w - crop.width) / 2) + padLeft;
  const y0 = Math.max(0, top);
  const y1 = Math.min(newH, top + crop.height);
  const x0 = Math.max(0, left);
  const x1 = Math.min(newW, left + crop.width);
  const outW = x1 - x0;
  const outH = y1 - y0;
  const out = new Uint8Array(outW * outH * 3); // zero padding
  for (let y = 0; y < outH; y++) {
    const sy = y + y0 - padTop;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < outW; x++) {
      const sx = x + x0 - padLeft;
      if (sx < 0 || sx >= w) continue;
      const s = (sy * w + sx) * 3;
      const d = (y * outW + x) * 3;
      out[d] = img.data[s]!;
      out[d + 1] = img.data[s + 1]!;
      out[d + 2] = img.data[s + 2]!;
    }
  }
  return { data: out, width: outW, height: outH };
}

/** Rescale (float64 product stored as float32) and normalize (float32), HWC uint8 → CHW float32. */
export function toPixelValues(img: RgbImage, cfg: ImageProcessorConfig): PixelValues {
  const { width, height, data } = img;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = f(cfg.imageMean[c]!);
    const std = f(cfg.imageStd[c]!);
    // Per channel: the 256 possible uint8 inputs map to 256 float32 outputs.
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      let x = cfg.doRescale ? f(v * cfg.rescaleFactor) : v;
      // float32 operands: one double op then rounding equals the float32 op.
      if (cfg.doNormalize) x = f(f(x - mean) / std);
      lut[v] = x;
    }
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = lut[data[i * 3 + c]!]!;
  }
  return { pixelValues: out, dims: [1, 3, height, width] };
}

export function createImageProcessor(config: ImageProcessorConfig): ImageProcessor {
  return {
    config,
    outputSize: (width, height) => processedSize(config, width, height),
    preprocess(img: RgbImage): PixelValues {
      if (img.data.length !== img.width * img.height * 3) {
        throw fail("INTERNAL", `RgbImage buffer has ${img.data.length} bytes for ${img.width}x${img.height}`);
      }
      let x = img;
      if (config.doResize) {
        const { height, width } = resizeOutputSize(config.size, img.width, img.height);
        // PIL returns an unchanged copy when the size already matches.
        if (width !== x.width || height !== x.height) x = resizeRgb(x, width, height, config.resample);
      }
      if (config.doCenterCrop && config.cropSize) x = centerCropRgb(x, config.cropSize);
      return toPixelValues(x, config);
    },
  };
}

/** Loads the image processor of a model folder from its preprocessor_config.json. */
export function loadImageProcessor(folder: string): ImageProcessor {
  return createImageProcessor(readImageProcessorConfig(folder));
}
