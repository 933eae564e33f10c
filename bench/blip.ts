// Benchmark: full-size BLIP-large (ViT-L/16 at 384, BERT-base decoder with cross-attention, vocab 30524)
// with random weights, written once to a temp folder (never committed). Times one caption: the vision
// encoder, 20 greedy tokens with EOS suppressed, and 3 beams (also EOS suppressed: exactly 20 tokens).
//
//   node --import tsx bench/blip.ts [image] [--runs N] [--threads N]
//   (or `sightline bench blip`, which calls run())
//
// HF transformers PyTorch fp32 reference: bench/hf/reference-blip.json when bench/hf/reference.py has
// measured it (lib/hf-reference.ts); until then issue 16's figures from another VM (whole generate() call,
// best of 1 and 2 torch threads): vision 3486 ms, 20 greedy tokens 8498 ms, 3 beams 14320 ms.
// Sightline fp32, 2 threads, idle machine (2026-11-22): load 4.8 s, vision tower + cross K/V 2.52 s,
// greedy 20 tokens 3.0 s and 3 beams 3.2 s (whole calls, vision included), peak RSS 2.2 GB.
import { measureThroughput } from "./lib/throughput.js";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { readImageFile } from "../src/images/decode.js";
import { BlipCaptioner } from "../src/models/blip/captioner.js";
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

const FIXTURE = fileURLToPath(new URL("../../shared/fixtures/blip/", import.meta.url));
// Issue 16's figures (another VM): used only while bench/hf/reference-blip.json is absent.
const ISSUE_REFERENCE_MS = { encoder: 3486, greedy20: 8498, beam3: 14320 };

const vision = {
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  image_size: 384,
  patch_size: 16,
};
const text = {
  vocab_size: 30524,
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  max_position_embeddings: 512,
  encoder_hidden_size: 1024,
};

/** Every tensor of BlipForConditionalGeneration at these sizes (names as in the real checkpoint). */
function tensorShapes(): [string, number[]][] {
  const out: [string, number[]][] = [];
  const V = vision.hidden_size;
  const patches = (vision.image_size / vision.patch_size) ** 2;
  const lin = (p: string, o: number, i: number) => out.push([`${p}.weight`, [o, i]], [`${p}.bias`, [o]]);
  const ln = (p: string, d: number) => out.push([`${p}.weight`, [d]], [`${p}.bias`, [d]]);
  out.push(["vision_model.embeddings.class_embedding", [1, 1, V]]);
  out.push(["vision_model.embeddings.patch_embedding.weight", [V, 3, vision.patch_size, vision.patch_size]]);
  out.push(["vision_model.embeddings.patch_embedding.bias", [V]]);
  out.push(["vision_model.embeddings.position_embedding", [1, patches + 1, V]]);
  for (let i = 0; i < vision.num_hidden_layers; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    ln(`${p}.layer_norm1`, V);
    lin(`${p}.self_attn.qkv`, 3 * V, V);
    lin(`${p}.self_attn.projection`, V, V);
    ln(`${p}.layer_norm2`, V);
    lin(`${p}.mlp.fc1`, vision.intermediate_size, V);
    lin(`${p}.mlp.fc2`, V, vision.intermediate_size);
  }
  ln("vision_model.post_layernorm", V);
  const D = text.hidden_size;
  const E = text.encoder_hidden_size;
  out.push(["text_decoder.bert.embeddings.word_embeddings.weight", [text.vocab_size, D]]);
  out.push(["text_decoder.bert.embeddings.position_embeddings.weight", [text.max_position_embeddings, D]]);
  ln("text_decoder.bert.embeddings.LayerNorm", D);
  for (let i = 0; i < text.num_hidden_layers; i++) {
    const p = `text_decoder.bert.encoder.layer.${i}`;
    for (const [block, kvIn] of [
      ["attention", D],
      ["crossattention", E],
    ] as const) {
      lin(`${p}.${block}.self.query`, D, D);
      lin(`${p}.${block}.self.key`, D, kvIn);
      lin(`${p}.${block}.self.value`, D, kvIn);
      lin(`${p}.${block}.output.dense`, D, D);
      ln(`${p}.${block}.output.LayerNorm`, D);
    }
    lin(`${p}.intermediate.dense`, text.intermediate_size, D);
    lin(`${p}.output.dense`, D, text.intermediate_size);
    ln(`${p}.output.LayerNorm`, D);
  }
  lin("text_decoder.cls.predictions.transform.dense", D, D);
  ln("text_decoder.cls.predictions.transform.LayerNorm", D);
  out.push(["text_decoder.cls.predictions.decoder.weight", [text.vocab_size, D]]);
  out.push(["text_decoder.cls.predictions.bias", [text.vocab_size]]);
  return out;
}

/** Random float32 weights for timing (std 0.02; norm weights 1), streamed into model.safetensors. */
function writeRandomSafetensors(path: string): void {
  writeTensors(
    path,
    tensorShapes().map(([name, shape]) => ({
      name,
      shape,
      init: (/(LayerNorm|layer_norm\d?|post_layernorm)\.weight$/.test(name)
        ? { constant: 1 }
        : { normal: 0.02 }) as Init,
    })),
  );
}

export function prepareModelFolder(): string {
  const dir = join(tmpdir(), "sightline-bench-blip-large");
  const done = join(dir, ".complete");
  if (existsSync(done)) return dir;
  mkdirSync(dir, { recursive: true });
  const config = {
    architectures: ["BlipForConditionalGeneration"],
    model_type: "blip",
    vision_config: vision,
    text_config: text,
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]) {
    copyFileSync(join(FIXTURE, f), join(dir, f));
  }
  // The fixture's BlipImageProcessor settings at the real model's 384×384.
  const pre = { ...readJson(join(FIXTURE, "preprocessor_config.json")), size: { height: 384, width: 384 } };
  writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify(pre, null, 2));
  const t = performance.now();
  writeRandomSafetensors(join(dir, "model.safetensors"));
  console.log(
    `wrote random BLIP-large weights to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  writeFileSync(done, "");
  return dir;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8"));
}

export async function run(options: BenchOptions = {}): Promise<BenchResult> {
  const log = options.verbose === false ? () => {} : console.log;
  const imagePath = options.image ?? DEFAULT_IMAGE;
  const runs = options.runs ?? 2;
  const threads = options.threads;
  const folder = prepareModelFolder();
  const loaded = await timed(() => loadModel(folder, { threads }));
  const model = loaded.value;
  if (!(model instanceof BlipCaptioner)) throw new Error("not a BLIP model");
  log(`load: ${loaded.timing.wallMs.toFixed(0)} ms (cpu ${loaded.timing.cpuMs.toFixed(0)} ms)`);
  const image = await readImageFile(imagePath);
  const eos = model.model.config.text.sepTokenId;

  // Wall time, and process CPU time (user + system, all threads): on a shared 2-core machine the CPU
  // time / threads is the figure other processes disturb least.
  const steps = new StepTimings();
  const VISION = "vision tower + cross K/V";
  const GREEDY = "greedy 20 tokens (whole call)";
  const BEAMS = "3 beams 20 tokens (whole call)";
  // A short warm-up call: ORT's first run of each session allocates its arenas.
  await model.caption(image, { maxNewTokens: 2, suppressTokens: [eos] });
  for (let r = 0; r < runs; r++) {
    const { pixelValues, dims } = await steps.time("preprocess (decoded image → pixels)", async () =>
      model.imageProcessor.preprocess(image),
    );
    await steps.time(VISION, () => model.model.encodeImage(pixelValues, dims));
    const greedy = await steps.time(GREEDY, () => model.caption(image, caption20(eos)));
    if (greedy.tokenIds.length !== 21) throw new Error(`expected 21 tokens, got ${greedy.tokenIds.length}`);
    await steps.time(BEAMS, () => model.caption(image, caption20(eos, 3)));
  }
  const rss = rssMiB();
  const batched = await measureThroughput(model, image, caption20(eos), options.concurrency, log);
  await model.dispose();
  log(`median of ${runs} run(s), ${threads ?? "default"} threads, image ${imagePath}:`);
  steps.print(log);
  const hf = hfReference("blip", ISSUE_REFERENCE_MS);
  log(referenceLine(hf.reference, hf.referenceSource));
  return {
    arch: "blip",
    load: loaded.timing,
    encoder: steps.median(VISION),
    greedy20: steps.median(GREEDY),
    beam3: steps.median(BEAMS),
    rssMiB: rss,
    ...hf,
    ...batched,
  };
}

if (isMain(import.meta.url)) await run(optionsFromArgv());
