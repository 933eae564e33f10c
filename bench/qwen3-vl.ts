// Benchmark: Qwen3-VL-2B-Instruct at full size (the vision tower of qwen3-vl-vision.ts and the Qwen3
// text decoder: 28 layers, width 2048, 16 heads / 8 key-value heads of 128, MLP 6144, 151,936-token
// tied embedding) with random weights, written once as float32 to a temp folder (8.5 GB, never
// committed). Captions one photo through the captioner as `sightline caption` does (chat template,
// default pixel cap) and reports load time, time per photo split into preprocess / vision tower /
// decoding, time per generated token and the process's peak RSS. Random weights never emit EOS, so
// the caption runs to --max-new-tokens (default 16).
//
//   node --import tsx bench/qwen3-vl.ts [image] [--runs N] [--threads N] [--max-new-tokens N] [--quantize q8|q4]
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readImageFile } from "../src/images/decode.js";
import { loadModel } from "../src/models/index.js";
import { parseQuantizeMode, type QuantizeMode } from "../src/graph/quantize.js";
import { TensorList, cachedModelFolder, median, writeRandomSafetensors } from "./lib/random-safetensors.js";
import { DEFAULT_IMAGE, isMain, optionsFromArgv, rssMiB, type BenchOptions } from "./lib/result.js";
import { vision, visionTensors } from "./qwen3-vl-vision.js";

const FIXTURE = fileURLToPath(new URL("../../shared/fixtures/qwen3-vl/", import.meta.url));

/** Qwen/Qwen3-VL-2B-Instruct's text_config. */
const text = {
  hidden_size: 2048,
  intermediate_size: 6144,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 151936,
  max_position_embeddings: 262144,
  rope_theta: 5000000,
  rope_scaling: { mrope_interleaved: true, mrope_section: [24, 20, 20], rope_type: "default" },
  tie_word_embeddings: true,
};

function textTensors(t: TensorList): TensorList {
  const D = text.hidden_size;
  const Dh = text.head_dim;
  const p = "model.language_model";
  t.add(`${p}.embed_tokens.weight`, [text.vocab_size, D]);
  for (let i = 0; i < text.num_hidden_layers; i++) {
    const l = `${p}.layers.${i}`;
    t.add(`${l}.input_layernorm.weight`, [D], { constant: 1 });
    t.add(`${l}.post_attention_layernorm.weight`, [D], { constant: 1 });
    t.linear(`${l}.self_attn.q_proj`, text.num_attention_heads * Dh, D, { bias: false });
    t.linear(`${l}.self_attn.k_proj`, text.num_key_value_heads * Dh, D, { bias: false });
    t.linear(`${l}.self_attn.v_proj`, text.num_key_value_heads * Dh, D, { bias: false });
    t.linear(`${l}.self_attn.o_proj`, D, text.num_attention_heads * Dh, { bias: false });
    t.add(`${l}.self_attn.q_norm.weight`, [Dh], { constant: 1 });
    t.add(`${l}.self_attn.k_norm.weight`, [Dh], { constant: 1 });
    t.linear(`${l}.mlp.gate_proj`, text.intermediate_size, D, { bias: false });
    t.linear(`${l}.mlp.up_proj`, text.intermediate_size, D, { bias: false });
    t.linear(`${l}.mlp.down_proj`, D, text.intermediate_size, { bias: false });
  }
  t.add(`${p}.norm.weight`, [D], { constant: 1 });
  return t;
}

function writeModel(folder: string): void {
  const list = textTensors(visionTensors());
  console.log(`writing a random ${(list.parameters / 1e9).toFixed(2)} B-parameter Qwen3-VL to ${folder} …`);
  writeRandomSafetensors(join(folder, "model.safetensors"), list.tensors);
  const config = JSON.parse(readFileSync(join(FIXTURE, "config.json"), "utf8"));
  config.vision_config = { ...config.vision_config, ...vision };
  config.text_config = { ...config.text_config, ...text };
  writeFileSync(join(folder, "config.json"), JSON.stringify(config, null, 2));
  // The real repo's processor bounds (the captioner's CPU cap applies on top).
  const pre = JSON.parse(readFileSync(join(FIXTURE, "preprocessor_config.json"), "utf8"));
  pre.size = { longest_edge: 16777216, shortest_edge: 65536 };
  delete pre.min_pixels;
  delete pre.max_pixels;
  writeFileSync(join(folder, "preprocessor_config.json"), JSON.stringify(pre, null, 2));
  for (const file of [
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.json",
    "generation_config.json",
  ]) {
    writeFileSync(join(folder, file), readFileSync(join(FIXTURE, file)));
  }
}

export async function run(
  options: BenchOptions & { maxNewTokens?: number; quantize?: QuantizeMode } = {},
): Promise<void> {
  const runs = options.runs ?? 1;
  const maxNewTokens = options.maxNewTokens ?? 16;
  const folder = cachedModelFolder("sightline-bench-qwen3-vl-2b-v1", writeModel);
  const t0 = performance.now();
  // Quantized weights are cached beside the checkpoint's temp folder (written on the first quantized load).
  const quantize = options.quantize && {
    mode: options.quantize,
    cacheDir: join(dirname(folder), `${basename(folder)}-quantized`),
  };
  const model = await loadModel(folder, { threads: options.threads, quantize });
  console.log(
    `${options.quantize ?? "fp32"}: load ${(performance.now() - t0).toFixed(0)} ms, rss ${rssMiB().toFixed(0)} MiB`,
  );
  const image = await readImageFile(options.image ?? DEFAULT_IMAGE);
  console.log(`image ${image.width}x${image.height}`);
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    const r = await model.caption(image, { prompt: "Describe this image.", maxNewTokens });
    const total = performance.now() - a;
    totals.push(total);
    const generated = r.tokenIds.length - (r.promptLength ?? 0);
    const t = r.timings;
    console.log(
      `photo: ${(total / 1000).toFixed(1)} s (preprocess ${t.preprocess.toFixed(0)} ms, vision ${t.encode.toFixed(0)} ms, ` +
        `decode ${t.decode.toFixed(0)} ms for ${r.promptLength} prompt + ${generated} new tokens)`,
    );
  }
  const peak = process.resourceUsage().maxRSS / 1024;
  console.log(
    `median per photo ${(median(totals) / 1000).toFixed(1)} s, rss ${rssMiB().toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`,
  );
  await model.dispose();
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--max-new-tokens");
  const maxNewTokens = at >= 0 ? Number(argv.splice(at, 2)[1]) : undefined;
  const q = argv.indexOf("--quantize");
  const quantize = q >= 0 ? parseQuantizeMode(argv.splice(q, 2)[1]) : undefined;
  await run({ ...optionsFromArgv(argv), maxNewTokens, quantize });
}
