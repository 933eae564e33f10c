// ViT-GPT2 folders unlike the fixture: encoder and decoder of different widths (enc_to_dec_proj),
// n_inner, scale_attn_by_inverse_layer_idx. Random weights, so the checks are self-consistency:
// the KV-cache path equals recomputing the whole sequence, beam reordering moves the right rows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VitGpt2 } from "../../../src/models/vit-gpt2/model.js";
import { writeSafetensors, type TensorSpec } from "../../helpers/safetensors-writer.js";
import { maxAbsDiff } from "./fixture.js";

const enc = {
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  image_size: 16,
  patch_size: 8,
  hidden_act: "gelu",
  model_type: "vit",
};
const dec = {
  n_embd: 24,
  n_head: 3,
  n_layer: 2,
  n_inner: 40,
  vocab_size: 64,
  n_positions: 32,
  activation_function: "gelu_new",
  scale_attn_by_inverse_layer_idx: true,
  add_cross_attention: true,
  model_type: "gpt2",
};

function tensors(withProjection: boolean): Record<string, TensorSpec> {
  let seed = 99;
  const rand = (n: number, scale: number) =>
    Array.from(
      { length: n },
      () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2 * scale,
    );
  const out: Record<string, TensorSpec> = {};
  const add = (name: string, shape: number[], scale = 0.5) => {
    out[name] = {
      dtype: "F32",
      shape,
      data: rand(
        shape.reduce((a, b) => a * b, 1),
        scale,
      ),
    };
  };
  const lin = (p: string, o: number, i: number, conv1d = false) => {
    add(`${p}.weight`, conv1d ? [i, o] : [o, i]);
    add(`${p}.bias`, [o], 0.1);
  };
  const ln = (p: string, d: number) => {
    add(`${p}.weight`, [d], 0.2);
    add(`${p}.bias`, [d], 0.1);
  };
  const D = enc.hidden_size;
  add("encoder.embeddings.cls_token", [1, 1, D]);
  add("encoder.embeddings.position_embeddings", [1, 5, D]);
  add("encoder.embeddings.patch_embeddings.projection.weight", [D, 3, 8, 8], 0.1);
  add("encoder.embeddings.patch_embeddings.projection.bias", [D]);
  const l = "encoder.encoder.layer.0";
  for (const n of ["query", "key", "value"]) lin(`${l}.attention.attention.${n}`, D, D);
  lin(`${l}.attention.output.dense`, D, D);
  lin(`${l}.intermediate.dense`, enc.intermediate_size, D);
  lin(`${l}.output.dense`, D, enc.intermediate_size);
  ln(`${l}.layernorm_before`, D);
  ln(`${l}.layernorm_after`, D);
  ln("encoder.layernorm", D);
  const E = dec.n_embd;
  if (withProjection) lin("enc_to_dec_proj", E, D);
  add("decoder.transformer.wte.weight", [dec.vocab_size, E], 1);
  add("decoder.transformer.wpe.weight", [dec.n_positions, E]);
  for (let i = 0; i < dec.n_layer; i++) {
    const p = `decoder.transformer.h.${i}`;
    for (const n of ["ln_1", "ln_cross_attn", "ln_2"]) ln(`${p}.${n}`, E);
    lin(`${p}.attn.c_attn`, 3 * E, E, true);
    lin(`${p}.attn.c_proj`, E, E, true);
    lin(`${p}.crossattention.c_attn`, 2 * E, E, true);
    lin(`${p}.crossattention.q_attn`, E, E, true);
    lin(`${p}.crossattention.c_proj`, E, E, true);
    lin(`${p}.mlp.c_fc`, dec.n_inner, E, true);
    lin(`${p}.mlp.c_proj`, E, dec.n_inner, true);
  }
  ln("decoder.transformer.ln_f", E);
  return out;
}

const config = {
  model_type: "vision-encoder-decoder",
  encoder: enc,
  decoder: dec,
  decoder_start_token_id: 1,
  eos_token_id: 0,
  pad_token_id: 0,
};
let dir: string;
let model: VitGpt2;
const pixels = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sightline-vit-gpt2-variant-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  writeSafetensors(join(dir, "model.safetensors"), tensors(true));
  model = await VitGpt2.load(dir, config, { threads: 1 });
});
after(async () => {
  await model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("encoder and decoder of different widths run through enc_to_dec_proj", async () => {
  const image = await model.encode(pixels, [1, 3, 16, 16]);
  assert.deepEqual(image.dims, [1, 5, 16]);
  const cfg = model.generationConfig({ max_new_tokens: 6, num_beams: 1, suppress_tokens: [0] });
  const greedy = await model.generate(image, model.decoderPrompt(cfg), cfg);
  assert.equal(greedy.sequence.length, 7);
  assert.equal(greedy.sequence[0], 1);
  const beams = model.generationConfig({ max_new_tokens: 6, num_beams: 3, suppress_tokens: [0] });
  const beam = await model.generate(image, model.decoderPrompt(beams), beams);
  assert.equal(beam.sequence.length, 7);
  assert.ok(Number.isFinite(beam.score));
});

test("cached steps give the logits of the whole sequence run at once", async () => {
  const image = await model.encode(pixels, [1, 3, 16, 16]);
  const decoder = model.kvDecoder.sessionFor(image);
  const ids = [1, 7, 3, 42, 9];
  const whole = await decoder.step([ids], null);
  let step = await decoder.step([ids.slice(0, 2)], null);
  for (const id of ids.slice(2)) step = await decoder.step([[id]], step.cache);
  assert.ok(maxAbsDiff(step.logits, whole.logits) < 1e-4);
});

test("reorder moves cache rows: row i becomes the old row rows[i]", async () => {
  const image = await model.encode(pixels, [1, 3, 16, 16]);
  const decoder = model.kvDecoder.sessionFor(image);
  const two = await decoder.step(
    [
      [1, 5],
      [1, 6],
    ],
    null,
  );
  const reordered = await decoder.reorder(two.cache, [1, 1, 0]);
  const next = await decoder.step([[8], [9], [8]], reordered);
  const direct = await decoder.step(
    [
      [1, 6, 8],
      [1, 6, 9],
      [1, 5, 8],
    ],
    null,
  );
  assert.ok(maxAbsDiff(next.logits, direct.logits) < 1e-4);
});

test("a missing enc_to_dec_proj is reported by name", async () => {
  const other = mkdtempSync(join(tmpdir(), "sightline-vit-gpt2-noproj-"));
  try {
    writeSafetensors(join(other, "model.safetensors"), tensors(false));
    await assert.rejects(VitGpt2.load(other, config), (e: Error & { code?: string }) => {
      assert.equal(e.code, "WEIGHT_MISSING");
      assert.match(e.message, /enc_to_dec_proj\.weight/);
      return true;
    });
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test("pixel_values of another size are refused before ORT sees them", async () => {
  await assert.rejects(
    model.encode(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]),
    /expects \[1, 3, 16, 16\]/,
  );
});
