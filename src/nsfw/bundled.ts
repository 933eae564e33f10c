// The trained classifiers the `nsfwjs` npm package ships (GantMan's nsfw_model, the five classes
// Drawing/Hentai/Neutral/Porn/Sexy that PhotoPrism's own detector uses), read straight from the
// installed package: a Keras model topology plus uint8-quantised weights, base64 in JS bundles.
// Nothing is downloaded; the package is the model's distribution.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fail } from "../errors.js";

/** The Keras-format classifiers nsfwjs bundles, by the name nsfwjs gives them. */
export const nsfwVariants = {
  MobileNetV2: { folder: "mobilenet_v2", shards: 1 },
  InceptionV3: { folder: "inception_v3", shards: 6 },
} as const;

export type NsfwVariant = keyof typeof nsfwVariants;

export const defaultNsfwVariant: NsfwVariant = "MobileNetV2";

/** The class order of the classifiers' softmax output. */
export const nsfwClasses = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"] as const;

export type NsfwClass = (typeof nsfwClasses)[number];

/** One layer of a Keras functional model config (tfjs "layers-model" topology). */
export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, any>;
  /** [[[inputLayerName, nodeIndex, tensorIndex, kwargs], …]] */
  inbound_nodes: [string, number, number, unknown][][];
}

export interface KerasModel {
  layers: KerasLayer[];
  inputLayers: [string, number, number][];
  outputLayers: [string, number, number][];
}

export interface DequantizedWeight {
  shape: number[];
  data: Float32Array;
}

export interface BundledModel {
  variant: NsfwVariant;
  /** nsfwjs package version the weights came from. */
  packageVersion: string;
  keras: KerasModel;
  weights: Map<string, DequantizedWeight>;
  /** Square input side of the network (from its InputLayer). */
  inputSize: number;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: string };
}

interface ModelBundle {
  modelTopology: { model_config: { class_name: string; config: any } };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

const require = createRequire(import.meta.url);

function packageRoot(): string {
  try {
    // dist/cjs/index.js → the package folder.
    return join(dirname(require.resolve("nsfwjs")), "..", "..");
  } catch (e) {
    throw fail("MODEL_NOT_FOUND", `the nsfwjs package is not installed (${(e as Error).message})`);
  }
}

export function isNsfwVariant(name: string): name is NsfwVariant {
  return Object.hasOwn(nsfwVariants, name);
}

/** The variant for a name in any case ("mobilenetv2", "InceptionV3"); INVALID_ARGUMENT otherwise. */
export function nsfwVariantNamed(name: string): NsfwVariant {
  const found = Object.keys(nsfwVariants).find((v) => v.toLowerCase() === name.trim().toLowerCase());
  if (!found) {
    throw fail(
      "INVALID_ARGUMENT",
      `unknown NSFW model ${JSON.stringify(name)} (known: ${Object.keys(nsfwVariants).join(", ")})`,
    );
  }
  return found as NsfwVariant;
}

/** Reads a bundled classifier: its topology and its weights, dequantised to float32. */
export function readBundledModel(variant: NsfwVariant): BundledModel {
  const root = packageRoot();
  const { folder, shards } = nsfwVariants[variant];
  const dir = join(root, "dist", "models", folder);
  const bundle = require(join(dir, "model.min.js")) as ModelBundle;
  const config = bundle.modelTopology?.model_config;
  if (!config || !Array.isArray(config.config?.layers)) {
    throw fail("MODEL_CONFIG_INVALID", `${dir}/model.min.js is not a Keras layers model`);
  }
  const keras: KerasModel = {
    layers: config.config.layers,
    inputLayers: config.config.input_layers,
    outputLayers: config.config.output_layers,
  };
  const manifest = bundle.weightsManifest;
  const bytes: Buffer[] = [];
  for (const group of manifest) {
    for (const path of group.paths) {
      const shard = require(join(dir, `${path}.min.js`)) as unknown;
      if (typeof shard !== "string") throw fail("MODEL_WEIGHTS_MISSING", `${dir}/${path}.min.js`);
      bytes.push(Buffer.from(shard, "base64"));
    }
  }
  const all = Buffer.concat(bytes);
  if (bytes.length !== shards) {
    throw fail("MODEL_CONFIG_INVALID", `${variant}: expected ${shards} weight shards, found ${bytes.length}`);
  }
  const weights = new Map<string, DequantizedWeight>();
  let offset = 0;
  for (const spec of manifest.flatMap((g) => g.weights)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const q = spec.quantization;
    if (q && q.dtype === "uint8") {
      // tfjs' affine uint8 quantisation: value = q · scale + min.
      for (let i = 0; i < size; i++) data[i] = all[offset + i]! * q.scale + q.min;
      offset += size;
    } else if (!q && spec.dtype === "float32") {
      data.set(
        new Float32Array(all.buffer.slice(all.byteOffset + offset, all.byteOffset + offset + 4 * size)),
      );
      offset += 4 * size;
    } else {
      throw fail("MODEL_CONFIG_INVALID", `${variant}: weight ${spec.name} has an unsupported encoding`);
    }
    weights.set(spec.name, { shape: spec.shape, data });
  }
  if (offset !== all.length) {
    throw fail("MODEL_CONFIG_INVALID", `${variant}: weights use ${offset} of ${all.length} bytes`);
  }
  const input = keras.layers.find((l) => l.class_name === "InputLayer");
  const shape = input?.config.batch_input_shape as (number | null)[] | undefined;
  if (!shape || shape.length !== 4 || shape[1] !== shape[2] || shape[3] !== 3) {
    throw fail("MODEL_CONFIG_INVALID", `${variant}: expected a [N, S, S, 3] input`);
  }
  const pkg = require(join(root, "package.json")) as { version: string };
  return { variant, packageVersion: pkg.version, keras, weights, inputSize: shape[1] as number };
}
