// Kosmos-2 at full size with random weights (CLIP ViT-L/14 at 224, 24-layer 2048-wide text model,
// vocab 65037 — about 1.6 B parameters): one caption with 20 greedy tokens (EOS suppressed), then 3 beams.
// Usage: node --import tsx bench/kosmos-2.ts [--keep] [--fp32] [--threads N] [--image PATH] [--no-beams]
// (or `sightline bench kosmos-2 [--keep]`, which calls run())
// The checkpoint goes to os.tmpdir() as fp16 safetensors (≈ 3.3 GB; --fp32 ≈ 6.6 GB) and is removed
// afterwards unless --keep. The fixture's tokenizer files are copied in.
import { measureThroughput } from "./lib/throughput.js";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { readImageFile } from "../src/images/decode.js";
import { loadModel } from "../src/models/index.js";
import { fileURLToPath } from "node:url";
import { Kosmos2Captioner } from "../src/models/kosmos-2/captioner.js";
import { hfReference } from "./lib/hf-reference.js";
import {
  type BenchOptions,
  type BenchResult,
  caption20,
  DEFAULT_IMAGE,
  isMain,
  medianTiming,
  optionsFromArgv,
  referenceLine,
  rssMiB,
  timed,
  type Timing,
} from "./lib/result.js";

const FIXTURE = fileURLToPath(new URL("../../shared/fixtures/kosmos-2/", import.meta.url));
// Issue 16's figures (another VM): used only while bench/hf/reference-kosmos-2.json is absent.
const ISSUE_REFERENCE_MS = { encoder: 1441, greedy20: 15602, beam3: 22453 };
// Set by run(): the checkpoint's dtype and folder.
let FP32 = false;
let folder = "";

const vision = { hidden: 1024, inter: 4096, layers: 24, heads: 16, image: 224, patch: 14 };
const text = { dim: 2048, ffn: 8192, layers: 24, heads: 32, vocab: 65037 };
const latent = 64;

/** Every tensor of the checkpoint: name, shape, and how to fill it. */
function tensors(): { name: string; shape: number[]; fill: "random" | "ones" | "zeros" }[] {
  const out: { name: string; shape: number[]; fill: "random" | "ones" | "zeros" }[] = [];
  const linear = (p: string, o: number, i: number, bias = true) => {
    out.push({ name: `${p}.weight`, shape: [o, i], fill: "random" });
    if (bias) out.push({ name: `${p}.bias`, shape: [o], fill: "zeros" });
  };
  const ln = (p: string, d: number) => {
    out.push({ name: `${p}.weight`, shape: [d], fill: "ones" });
    out.push({ name: `${p}.bias`, shape: [d], fill: "zeros" });
  };
  const v = "vision_model.model";
  const patches = (vision.image / vision.patch) ** 2;
  out.push({ name: `${v}.embeddings.class_embedding`, shape: [vision.hidden], fill: "random" });
  out.push({
    name: `${v}.embeddings.patch_embedding.weight`,
    shape: [vision.hidden, 3, vision.patch, vision.patch],
    fill: "random",
  });
  out.push({
    name: `${v}.embeddings.position_embedding.weight`,
    shape: [patches + 1, vision.hidden],
    fill: "random",
  });
  ln(`${v}.pre_layrnorm`, vision.hidden);
  ln(`${v}.post_layernorm`, vision.hidden);
  for (let i = 0; i < vision.layers; i++) {
    const l = `${v}.encoder.layers.${i}`;
    for (const p of ["q_proj", "k_proj", "v_proj", "out_proj"])
      linear(`${l}.self_attn.${p}`, vision.hidden, vision.hidden);
    ln(`${l}.layer_norm1`, vision.hidden);
    ln(`${l}.layer_norm2`, vision.hidden);
    linear(`${l}.mlp.fc1`, vision.inter, vision.hidden);
    linear(`${l}.mlp.fc2`, vision.hidden, vision.inter);
  }
  linear("image_to_text_projection.dense", text.dim, vision.hidden);
  out.push({ name: "image_to_text_projection.latent_query", shape: [latent, text.dim], fill: "random" });
  for (const p of ["q_proj", "k_proj", "v_proj", "out_proj"])
    linear(`image_to_text_projection.x_attn.${p}`, text.dim, text.dim);
  const t = "text_model.model";
  out.push({ name: `${t}.embed_tokens.weight`, shape: [text.vocab, text.dim], fill: "random" });
  ln(`${t}.layer_norm`, text.dim);
  for (let i = 0; i < text.layers; i++) {
    const l = `${t}.layers.${i}`;
    for (const p of ["q_proj", "k_proj", "v_proj", "out_proj"])
      linear(`${l}.self_attn.${p}`, text.dim, text.dim);
    ln(`${l}.self_attn.inner_attn_ln`, text.dim);
    ln(`${l}.self_attn_layer_norm`, text.dim);
    linear(`${l}.ffn.fc1`, text.ffn, text.dim);
    linear(`${l}.ffn.fc2`, text.dim, text.ffn);
    ln(`${l}.ffn.ffn_layernorm`, text.ffn);
    ln(`${l}.final_layer_norm`, text.dim);
  }
  return out;
}

/** float → IEEE half bits (round to nearest; values here are small and normal). */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 112;
  if (exp <= 0) return sign;
  return sign | (exp << 10) | (((x & 0x7fffff) + 0x1000) >>> 13);
}

/** Streams a safetensors file: header, then each tensor generated chunk by chunk (N(0, 0.02)-like values). */
function writeCheckpoint(path: string): void {
  const list = tensors();
  const bytesPer = FP32 ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of list) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    header[t.name] = {
      dtype: FP32 ? "F32" : "F16",
      shape: t.shape,
      data_offsets: [offset, offset + n * bytesPer],
    };
    offset += n * bytesPer;
  }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  // A table of 4096 samples (sum of uniforms ≈ normal, std 0.02), indexed by a xorshift PRNG.
  let s = 0x9e3779b9;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const samples = Float32Array.from({ length: 4096 }, () => {
    let u = 0;
    for (let k = 0; k < 12; k++) u += rand() / 2 ** 32;
    return (u - 6) * 0.02;
  });
  const halfSamples = Uint16Array.from(samples, toHalf);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    const CHUNK = 1 << 22;
    const buf32 = new Float32Array(CHUNK);
    const buf16 = new Uint16Array(CHUNK);
    for (const t of list) {
      let left = t.shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, CHUNK);
        if (FP32) {
          for (let i = 0; i < n; i++)
            buf32[i] = t.fill === "random" ? samples[rand() & 4095]! : t.fill === "ones" ? 1 : 0;
          writeSync(fd, new Uint8Array(buf32.buffer, 0, n * 4));
        } else {
          for (let i = 0; i < n; i++)
            buf16[i] = t.fill === "random" ? halfSamples[rand() & 4095]! : t.fill === "ones" ? 0x3c00 : 0;
          writeSync(fd, new Uint8Array(buf16.buffer, 0, n * 2));
        }
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function prepareFolder(): void {
  if (existsSync(join(folder, "model.safetensors"))) return;
  mkdirSync(folder, { recursive: true });
  const config = JSON.parse(readFileSync(join(FIXTURE, "config.json"), "utf8"));
  Object.assign(config.vision_config, {
    hidden_size: vision.hidden,
    intermediate_size: vision.inter,
    num_hidden_layers: vision.layers,
    num_attention_heads: vision.heads,
    image_size: vision.image,
    patch_size: vision.patch,
  });
  Object.assign(config.text_config, {
    embed_dim: text.dim,
    ffn_dim: text.ffn,
    layers: text.layers,
    attention_heads: text.heads,
    vocab_size: text.vocab,
  });
  config.latent_query_num = latent;
  writeFileSync(join(folder, "config.json"), JSON.stringify(config, null, 2));
  const pre = JSON.parse(readFileSync(join(FIXTURE, "preprocessor_config.json"), "utf8"));
  pre.size = { height: vision.image, width: vision.image };
  pre.crop_size = { height: vision.image, width: vision.image };
  writeFileSync(join(folder, "preprocessor_config.json"), JSON.stringify(pre, null, 2));
  for (const f of [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "processor_config.json",
    "sentencepiece.bpe.model",
    "generation_config.json",
  ]) {
    copyFileSync(join(FIXTURE, f), join(folder, f));
  }
  const t0 = performance.now();
  writeCheckpoint(join(folder, "model.safetensors"));
  console.log(
    `wrote random ${FP32 ? "fp32" : "fp16"} checkpoint in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/** The random checkpoint's folder, written first when missing (fp16 unless `fp32`); the caller removes it. */
export function prepareModelFolder(fp32 = false): string {
  FP32 = fp32;
  folder = join(tmpdir(), FP32 ? "sightline-bench-kosmos2-fp32" : "sightline-bench-kosmos2-fp16");
  prepareFolder();
  return folder;
}

export interface Kosmos2BenchOptions extends BenchOptions {
  /** Write and load an fp32 checkpoint (≈ 6.6 GB) instead of fp16 (≈ 3.3 GB). */
  fp32?: boolean;
  /** Only the greedy caption (the result's beam3 is then NaN). */
  noBeams?: boolean;
}

export async function run(options: Kosmos2BenchOptions = {}): Promise<BenchResult> {
  const log = options.verbose === false ? () => {} : console.log;
  FP32 = options.fp32 ?? false;
  folder = join(tmpdir(), FP32 ? "sightline-bench-kosmos2-fp32" : "sightline-bench-kosmos2-fp16");
  const runs = options.runs ?? 1;
  prepareFolder();
  const threads = options.threads;
  try {
    const loaded = await timed(() => loadModel(folder, { threads }));
    const model = loaded.value;
    const gb = () => (rssMiB() / 1024).toFixed(2);
    log(
      `load ${loaded.timing.wallMs.toFixed(0)} ms (cpu ${(loaded.timing.cpuMs / 1000).toFixed(1)} s), rss ${gb()} GB`,
    );
    const image = await readImageFile(options.image ?? DEFAULT_IMAGE);
    const eos = 2;
    // A warm-up call builds ORT's caches; the figures are the next calls'.
    await model.caption(image, { maxNewTokens: 2, suppressTokens: [eos] });
    if (!(model instanceof Kosmos2Captioner)) throw new Error("not a Kosmos-2 model");
    const captioner = model;
    const { pixelValues, dims } = captioner.imageProcessor.preprocess(image);
    const encoder: Timing[] = [];
    for (let r = 0; r < runs; r++) {
      const { timing } = await timed(() => captioner.model.encodeImage(pixelValues, dims));
      encoder.push(timing);
      log(`vision encoder alone: ${timing.wallMs.toFixed(0)} ms (cpu ${(timing.cpuMs / 1000).toFixed(1)} s)`);
    }
    const captions: Timing[][] = [[], []];
    const kinds = [{ name: "greedy 20 tokens", numBeams: 1 }];
    if (!options.noBeams) kinds.push({ name: "3 beams 20 tokens", numBeams: 3 });
    for (let r = 0; r < runs; r++) {
      for (const [k, kind] of kinds.entries()) {
        const { value: out, timing } = await timed(() => model.caption(image, caption20(eos, kind.numBeams)));
        captions[k].push(timing);
        const { preprocess, encode, decode } = out.timings;
        log(
          `${kind.name}: total ${timing.wallMs.toFixed(0)} ms (preprocess ${preprocess.toFixed(0)}, vision ${encode.toFixed(0)}, ` +
            `decode ${decode.toFixed(0)} = ${(decode / 20).toFixed(0)} ms/token), cpu ${(timing.cpuMs / 1000).toFixed(1)} s, rss ${gb()} GB`,
        );
      }
    }
    const rss = rssMiB();
    const batched = await measureThroughput(model, image, caption20(eos), options.concurrency, log);
    await model.dispose();
    const none: Timing = { wallMs: NaN, cpuMs: NaN };
    const hf = hfReference("kosmos-2", ISSUE_REFERENCE_MS);
    log(referenceLine(hf.reference, hf.referenceSource));
    return {
      arch: "kosmos-2",
      load: loaded.timing,
      encoder: medianTiming(encoder),
      greedy20: medianTiming(captions[0]),
      beam3: captions[1].length ? medianTiming(captions[1]) : none,
      rssMiB: rss,
      ...hf,
      ...batched,
    };
  } finally {
    if (!options.keep) rmSync(folder, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const flags = { fp32: argv.includes("--fp32"), noBeams: argv.includes("--no-beams") };
  await run({ ...optionsFromArgv(argv.filter((a) => a !== "--fp32" && a !== "--no-beams")), ...flags });
}
