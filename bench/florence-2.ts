// Benchmark: full-size Florence-2-base (DaViT [128, 256, 512, 1024] × depths [1, 1, 9, 1] at 768×768,
// BART-base 6 + 6 layers, d_model 768, vocab 51289) with random weights, written once to a temp folder
// (never committed). Times one caption: the vision encoder, 20 greedy tokens with EOS suppressed, and
// 3 beams (also EOS suppressed: exactly 20 tokens).
//
//   node --import tsx bench/florence-2.ts [image] [--runs N] [--threads N] [--task <CAPTION>]
//   (or `sightline bench florence-2`, which calls run())
//
// HF transformers PyTorch fp32 reference: bench/hf/reference-florence-2.json when bench/hf/reference.py
// has measured it (lib/hf-reference.ts); until then issue 16's figures from another VM (whole generate()
// call, best of 1 and 2 torch threads): vision 4932 ms, 20 greedy tokens 6811 ms, 3 beams 7266 ms.
// Sightline on that VM (ORT fp32, 2 threads, best of 2, other jobs running): vision 2977 ms,
// BART encoder 398 ms, 20 greedy tokens 3874 ms whole call (decode 334 ms), 3 beams 4349 ms (decode 483 ms).
import { measureThroughput } from "./lib/throughput.js";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { readImageFile } from "../src/images/decode.js";
import { Florence2Captioner } from "../src/models/florence-2/captioner.js";
import { loadModel } from "../src/models/index.js";
import {
  type BenchOptions,
  type BenchResult,
  caption20,
  DEFAULT_IMAGE,
  isMain,
  optionsFromArgv,
  referenceLine,
  rssMiB,
  StepTimings,
  timed,
} from "./lib/result.js";
import { hfReference } from "./lib/hf-reference.js";
import { writeRandomSafetensors as writeTensors, type Init } from "./lib/random-safetensors.js";

const FIXTURE = fileURLToPath(new URL("../../shared/fixtures/florence-2/", import.meta.url));
// Issue 16's figures (another VM): used only while bench/hf/reference-florence-2.json is absent.
const ISSUE_REFERENCE_MS = { encoder: 4932, greedy20: 6811, beam3: 7266 };
const IMAGE_SIZE = 768;

// microsoft/Florence-2-base's config.json (vision_config / text_config dimensions).
const vision = {
  model_type: "davit",
  drop_path_rate: 0.1,
  patch_size: [7, 3, 3, 3],
  patch_stride: [4, 2, 2, 2],
  patch_padding: [3, 1, 1, 1],
  patch_prenorm: [false, true, true, true],
  enable_checkpoint: false,
  dim_embed: [128, 256, 512, 1024],
  num_heads: [4, 8, 16, 32],
  num_groups: [4, 8, 16, 32],
  depths: [1, 1, 9, 1],
  window_size: 12,
  projection_dim: 768,
  visual_temporal_embedding: { type: "COSINE", max_temporal_embeddings: 100 },
  image_pos_embed: { type: "learned_abs_2d", max_pos_embeddings: 50 },
  image_feature_source: ["spatial_avg_pool", "temporal_avg_pool"],
};
const text = {
  d_model: 768,
  encoder_layers: 6,
  decoder_layers: 6,
  encoder_attention_heads: 12,
  decoder_attention_heads: 12,
  encoder_ffn_dim: 3072,
  decoder_ffn_dim: 3072,
  max_position_embeddings: 1024,
  vocab_size: 51289,
};

/** Every tensor of Florence2ForConditionalGeneration at these sizes (names as in the real checkpoint). */
function tensorShapes(): [string, number[]][] {
  const out: [string, number[]][] = [];
  const lin = (p: string, o: number, i: number) => out.push([`${p}.weight`, [o, i]], [`${p}.bias`, [o]]);
  const ln = (p: string, d: number) => out.push([`${p}.weight`, [d]], [`${p}.bias`, [d]]);
  const dims = vision.dim_embed;
  for (let i = 0; i < dims.length; i++) {
    const cin = i === 0 ? 3 : dims[i - 1];
    const k = vision.patch_size[i];
    out.push(
      [`vision_tower.convs.${i}.proj.weight`, [dims[i], cin, k, k]],
      [`vision_tower.convs.${i}.proj.bias`, [dims[i]]],
    );
    ln(`vision_tower.convs.${i}.norm`, vision.patch_prenorm[i] ? cin : dims[i]);
    const C = dims[i];
    for (let j = 0; j < vision.depths[i]; j++) {
      for (const [block, attn] of [
        ["spatial_block", "window_attn"],
        ["channel_block", "channel_attn"],
      ]) {
        const p = `vision_tower.blocks.${i}.${j}.${block}`;
        out.push([`${p}.conv1.fn.dw.weight`, [C, 1, 3, 3]], [`${p}.conv1.fn.dw.bias`, [C]]);
        ln(`${p}.${attn}.norm`, C);
        lin(`${p}.${attn}.fn.qkv`, 3 * C, C);
        lin(`${p}.${attn}.fn.proj`, C, C);
        out.push([`${p}.conv2.fn.dw.weight`, [C, 1, 3, 3]], [`${p}.conv2.fn.dw.bias`, [C]]);
        ln(`${p}.ffn.norm`, C);
        lin(`${p}.ffn.fn.net.fc1`, 4 * C, C);
        lin(`${p}.ffn.fn.net.fc2`, C, 4 * C);
      }
    }
  }
  const last = dims[dims.length - 1];
  out.push(["image_projection", [last, vision.projection_dim]]);
  ln("image_proj_norm", vision.projection_dim);
  out.push(
    ["image_pos_embed.row_embeddings.weight", [50, last / 2]],
    ["image_pos_embed.column_embeddings.weight", [50, last / 2]],
  );
  out.push(["visual_temporal_embed.pos_idx_to_embed", [100, last]]);
  const D = text.d_model;
  const lm = "language_model.model";
  out.push([`${lm}.shared.weight`, [text.vocab_size, D]]);
  for (const side of ["encoder", "decoder"] as const) {
    out.push([`${lm}.${side}.embed_positions.weight`, [text.max_position_embeddings + 2, D]]);
    ln(`${lm}.${side}.layernorm_embedding`, D);
    const layers = side === "encoder" ? text.encoder_layers : text.decoder_layers;
    for (let i = 0; i < layers; i++) {
      const p = `${lm}.${side}.layers.${i}`;
      for (const attn of side === "encoder" ? ["self_attn"] : ["self_attn", "encoder_attn"]) {
        for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) lin(`${p}.${attn}.${proj}`, D, D);
        ln(`${p}.${attn}_layer_norm`, D);
      }
      lin(`${p}.fc1`, text.encoder_ffn_dim, D);
      lin(`${p}.fc2`, D, text.encoder_ffn_dim);
      ln(`${p}.final_layer_norm`, D);
    }
  }
  out.push(["language_model.lm_head.weight", [text.vocab_size, D]]);
  out.push(["language_model.final_logits_bias", [1, text.vocab_size]]);
  return out;
}

/** Random float32 weights for timing (std 0.02; norm weights 1), streamed into model.safetensors. */
function writeRandomSafetensors(path: string): void {
  writeTensors(
    path,
    tensorShapes().map(([name, shape]) => ({
      name,
      shape,
      init: (/(norm|layernorm_embedding)\.weight$/.test(name)
        ? { constant: 1 }
        : name.endsWith("final_logits_bias")
          ? { constant: 0 }
          : { normal: 0.02 }) as Init,
    })),
  );
}

function readJson(path: string): Record<string, any> {
  return JSON.parse(readFileSync(path, "utf8"));
}

export function prepareModelFolder(): string {
  const dir = join(tmpdir(), "sightline-bench-florence-2-base");
  const done = join(dir, ".complete");
  if (existsSync(done)) return dir;
  mkdirSync(dir, { recursive: true });
  const fixtureConfig = readJson(join(FIXTURE, "config.json"));
  const config = {
    ...fixtureConfig,
    projection_dim: vision.projection_dim,
    text_config: { ...fixtureConfig.text_config, ...text },
    vision_config: vision,
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  for (const f of [
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "generation_config.json",
  ]) {
    copyFileSync(join(FIXTURE, f), join(dir, f));
  }
  // The fixture's CLIPImageProcessor settings at the real checkpoints' 768×768 (577 image tokens).
  const square = { height: IMAGE_SIZE, width: IMAGE_SIZE };
  const pre = {
    ...readJson(join(FIXTURE, "preprocessor_config.json")),
    size: square,
    crop_size: square,
    image_seq_length: 577,
  };
  writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify(pre, null, 2));
  const t = performance.now();
  writeRandomSafetensors(join(dir, "model.safetensors"));
  console.log(
    `wrote random Florence-2-base weights to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  writeFileSync(done, "");
  return dir;
}

export async function run(options: BenchOptions & { task?: string } = {}): Promise<BenchResult> {
  const log = options.verbose === false ? () => {} : console.log;
  const imagePath = options.image ?? DEFAULT_IMAGE;
  const runs = options.runs ?? 2;
  const threads = options.threads;
  const task = options.task ?? "<CAPTION>";
  const folder = prepareModelFolder();
  const loaded = await timed(() => loadModel(folder, { threads }));
  const model = loaded.value;
  if (!(model instanceof Florence2Captioner)) throw new Error("not a Florence-2 model");
  log(`load: ${loaded.timing.wallMs.toFixed(0)} ms (cpu ${loaded.timing.cpuMs.toFixed(0)} ms)`);
  const image = await readImageFile(imagePath);
  const eos = 2;

  // Wall and process CPU time (all threads) per step; the figures are the medians.
  const steps = new StepTimings();
  const VISION = "vision (DaViT + projection)";
  const GREEDY = "greedy 20 tokens, whole call";
  const BEAMS = "3 beams 20 tokens, whole call";
  for (let r = 0; r < runs; r++) {
    const { pixelValues, dims } = await steps.time("preprocess", async () =>
      model.imageProcessor.preprocess(image),
    );
    const vision = await steps.time(VISION, () => model.model.encodeImage(pixelValues, dims));
    await steps.time("BART encoder (577 + prompt tokens)", () =>
      model.model.encodePrompt(vision, model.promptIds(task)),
    );

    const greedy = await steps.time(GREEDY, () => model.caption(image, caption20(eos, 1, task)));
    steps.add("greedy 20 tokens, decode only", { wallMs: greedy.timings.decode, cpuMs: NaN });
    if (greedy.tokenIds.length !== 21) {
      throw new Error(`expected 21 tokens, got ${greedy.tokenIds.length}`);
    }
    const beams = await steps.time(BEAMS, () => model.caption(image, caption20(eos, 3, task)));
    steps.add("3 beams 20 tokens, decode only", { wallMs: beams.timings.decode, cpuMs: NaN });
  }
  const rss = rssMiB();
  const batched = await measureThroughput(model, image, caption20(eos, 1, task), options.concurrency, log);
  await model.dispose();
  log(`median of ${runs} run(s), ${threads ?? "default"} threads, task ${task}, image ${imagePath}:`);
  steps.print(log);
  const hf = hfReference("florence-2", ISSUE_REFERENCE_MS);
  log(referenceLine(hf.reference, hf.referenceSource));
  return {
    arch: "florence-2",
    load: loaded.timing,
    encoder: steps.median(VISION),
    greedy20: steps.median(GREEDY),
    beam3: steps.median(BEAMS),
    rssMiB: rss,
    ...hf,
    ...batched,
  };
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf("--task");
  const task = i >= 0 ? argv.splice(i, 2)[1] : undefined;
  await run({ ...optionsFromArgv(argv), task });
}
