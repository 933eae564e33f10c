// Benchmark: the Qwen3-VL-2B-Instruct vision tower at full size (depth 24, width 1024, 16 heads, MLP
// 4096, merger into 2048, DeepStack after blocks 5/11/17) with random weights, written once to a temp
// folder (never committed). Times the image processor and the tower for one photo at several
// max_pixels caps: the tower's cost grows with the patch count (attention with its square).
//
//   node --import tsx bench/qwen3-vl-vision.ts [image] [--runs N] [--threads N]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readImageFile } from "../src/images/decode.js";
import { parseQwen3VLConfig } from "../src/models/qwen3-vl/config.js";
import { Qwen2VLImageProcessor } from "../src/models/qwen3-vl/image-processor.js";
import { Qwen3VLVisionTower } from "../src/models/qwen3-vl/vision.js";
import { TensorList, cachedModelFolder, median, writeRandomSafetensors } from "./lib/random-safetensors.js";
import { DEFAULT_IMAGE, isMain, optionsFromArgv, rssMiB, type BenchOptions } from "./lib/result.js";

const FIXTURE = fileURLToPath(new URL("../../shared/fixtures/qwen3-vl/", import.meta.url));

/** Qwen/Qwen3-VL-2B-Instruct's vision_config. */
const vision = {
  depth: 24,
  hidden_size: 1024,
  intermediate_size: 4096,
  num_heads: 16,
  out_hidden_size: 2048,
  num_position_embeddings: 2304,
  deepstack_visual_indexes: [5, 11, 17],
  patch_size: 16,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  in_channels: 3,
  hidden_act: "gelu_pytorch_tanh",
};

function tensors(): TensorList {
  const t = new TensorList();
  const D = vision.hidden_size;
  const p = "model.visual";
  t.add(`${p}.patch_embed.proj.weight`, [D, 3, 2, 16, 16]);
  t.add(`${p}.patch_embed.proj.bias`, [D], { constant: 0 });
  t.add(`${p}.pos_embed.weight`, [vision.num_position_embeddings, D]);
  for (let i = 0; i < vision.depth; i++) {
    const b = `${p}.blocks.${i}`;
    t.layerNorm(`${b}.norm1`, D).layerNorm(`${b}.norm2`, D);
    t.linear(`${b}.attn.qkv`, 3 * D, D).linear(`${b}.attn.proj`, D, D);
    t.linear(`${b}.mlp.linear_fc1`, vision.intermediate_size, D);
    t.linear(`${b}.mlp.linear_fc2`, D, vision.intermediate_size);
  }
  const merger = (m: string, normWidth: number) => {
    t.layerNorm(`${m}.norm`, normWidth);
    t.linear(`${m}.linear_fc1`, 4 * D, 4 * D).linear(`${m}.linear_fc2`, vision.out_hidden_size, 4 * D);
  };
  merger(`${p}.merger`, D);
  vision.deepstack_visual_indexes.forEach((_, k) => merger(`${p}.deepstack_merger_list.${k}`, 4 * D));
  return t;
}

function writeModel(folder: string): void {
  const list = tensors();
  console.log(
    `writing a random ${(list.parameters / 1e6).toFixed(0)}M-parameter Qwen3-VL vision tower to ${folder} …`,
  );
  writeRandomSafetensors(join(folder, "model.safetensors"), list.tensors);
  const config = JSON.parse(readFileSync(join(FIXTURE, "config.json"), "utf8"));
  config.vision_config = { ...config.vision_config, ...vision };
  config.text_config = { ...config.text_config, hidden_size: vision.out_hidden_size };
  writeFileSync(join(folder, "config.json"), JSON.stringify(config, null, 2));
}

export async function run(options: BenchOptions = {}): Promise<void> {
  const runs = options.runs ?? 3;
  const folder = cachedModelFolder("sightline-bench-qwen3-vl-vision-v1", writeModel);
  const config = parseQwen3VLConfig(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")));
  const processor = Qwen2VLImageProcessor.load(FIXTURE);
  const t0 = performance.now();
  const tower = await Qwen3VLVisionTower.load(folder, config, { threads: options.threads });
  console.log(`load ${(performance.now() - t0).toFixed(0)} ms`);
  const image = await readImageFile(options.image ?? DEFAULT_IMAGE);
  console.log(`image ${image.width}x${image.height}`);
  for (const maxPixels of [128 * 32 * 32, 256 * 32 * 32, 512 * 32 * 32, 1024 * 32 * 32]) {
    const pre: number[] = [];
    const enc: number[] = [];
    let grid: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = performance.now();
      const patches = processor.preprocess(image, { minPixels: 1, maxPixels });
      const b = performance.now();
      await tower.encode(patches);
      enc.push(performance.now() - b);
      pre.push(b - a);
      grid = patches.gridThw;
    }
    const tokens = (grid[1]! * grid[2]!) / 4;
    console.log(
      `max_pixels ${String(maxPixels).padStart(7)}: grid ${grid.join("×")} (${tokens} image tokens) ` +
        `preprocess ${median(pre).toFixed(0)} ms, tower ${median(enc).toFixed(0)} ms (best ${Math.min(...enc).toFixed(0)})`,
    );
  }
  console.log(`rss ${rssMiB().toFixed(0)} MiB`);
  await tower.release();
}

if (isMain(import.meta.url)) await run(optionsFromArgv());
