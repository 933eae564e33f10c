// Florence-2 graphs for configurations the fixture does not cover: image sizes whose stage maps need
// window padding, other window/patch settings, a single image-feature view,
// scaled decoder embeddings. Random weights: the checks are shapes, finiteness and a consistent
// generation (no reference numbers exist for these).
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../../src/models/index.js";
import { Florence2Captioner } from "../../../src/models/florence-2/captioner.js";
import { writeSafetensors, type TensorSpec } from "../../helpers/safetensors-writer.js";
import { FIXTURE, config as fixtureConfig } from "./fixture.js";

interface Variant {
  name: string;
  imageSize: number;
  vision: Record<string, any>;
  text: Record<string, any>;
  /** Image tokens the projection yields for imageSize. */
  imageTokens: number;
}

const variants: Variant[] = [
  {
    name: "80×80, window 4, three stages, spatial + temporal pools",
    imageSize: 80,
    vision: {
      dim_embed: [8, 16, 24],
      num_heads: [1, 2, 3],
      num_groups: [2, 2, 3],
      depths: [1, 2, 1],
      window_size: 4,
      patch_size: [7, 3, 3],
      patch_stride: [4, 2, 2],
      patch_padding: [3, 1, 1],
      patch_prenorm: [false, true, true],
    },
    text: {
      d_model: 16,
      encoder_layers: 1,
      decoder_layers: 2,
      encoder_attention_heads: 2,
      decoder_attention_heads: 4,
      encoder_ffn_dim: 24,
      decoder_ffn_dim: 20,
    },
    // 80 → 20 → 10 → 5: 25 tokens + the spatial mean.
    imageTokens: 26,
  },
  {
    name: "72×72, prenorm on the first stage too, last-frame view only, scaled embeddings",
    imageSize: 72,
    vision: {
      dim_embed: [8, 12],
      num_heads: [2, 3],
      num_groups: [1, 2],
      depths: [1, 1],
      window_size: 5,
      patch_size: [5, 2],
      patch_stride: [4, 2],
      patch_padding: [2, 0],
      patch_prenorm: [true, true],
      image_feature_source: ["last_frame"],
    },
    text: {
      d_model: 12,
      encoder_layers: 1,
      decoder_layers: 1,
      encoder_attention_heads: 3,
      decoder_attention_heads: 2,
      encoder_ffn_dim: 16,
      decoder_ffn_dim: 16,
      scale_embedding: true,
    },
    // 72 → 18 → 9: 81 tokens.
    imageTokens: 81,
  },
];

/** Every tensor name and shape of Florence2ForConditionalGeneration for this variant. */
function shapes(v: Variant): [string, number[]][] {
  const out: [string, number[]][] = [];
  const lin = (p: string, o: number, i: number) => out.push([`${p}.weight`, [o, i]], [`${p}.bias`, [o]]);
  const ln = (p: string, d: number) => out.push([`${p}.weight`, [d]], [`${p}.bias`, [d]]);
  const dims: number[] = v.vision.dim_embed;
  dims.forEach((c, i) => {
    const cin = i === 0 ? 3 : dims[i - 1];
    const k = v.vision.patch_size[i];
    lin(`vision_tower.convs.${i}.proj`, c, cin);
    out[out.length - 2][1] = [c, cin, k, k];
    ln(`vision_tower.convs.${i}.norm`, v.vision.patch_prenorm[i] ? cin : c);
    for (let j = 0; j < v.vision.depths[i]; j++) {
      for (const [block, attn] of [
        ["spatial_block", "window_attn"],
        ["channel_block", "channel_attn"],
      ]) {
        const p = `vision_tower.blocks.${i}.${j}.${block}`;
        for (const conv of ["conv1", "conv2"])
          out.push([`${p}.${conv}.fn.dw.weight`, [c, 1, 3, 3]], [`${p}.${conv}.fn.dw.bias`, [c]]);
        ln(`${p}.${attn}.norm`, c);
        lin(`${p}.${attn}.fn.qkv`, 3 * c, c);
        lin(`${p}.${attn}.fn.proj`, c, c);
        ln(`${p}.ffn.norm`, c);
        lin(`${p}.ffn.fn.net.fc1`, 4 * c, c);
        lin(`${p}.ffn.fn.net.fc2`, c, 4 * c);
      }
    }
  });
  const last = dims[dims.length - 1];
  const D = v.text.d_model;
  out.push(["image_projection", [last, D]]);
  ln("image_proj_norm", D);
  out.push(["image_pos_embed.row_embeddings.weight", [50, Math.floor(last / 2)]]);
  out.push(["image_pos_embed.column_embeddings.weight", [50, last - Math.floor(last / 2)]]);
  out.push(["visual_temporal_embed.pos_idx_to_embed", [100, last]]);
  const lm = "language_model.model";
  out.push([`${lm}.shared.weight`, [51289, D]]);
  for (const side of ["encoder", "decoder"]) {
    out.push([`${lm}.${side}.embed_positions.weight`, [1026, D]]);
    ln(`${lm}.${side}.layernorm_embedding`, D);
    for (let i = 0; i < v.text[`${side}_layers`]; i++) {
      const p = `${lm}.${side}.layers.${i}`;
      for (const attn of side === "encoder" ? ["self_attn"] : ["self_attn", "encoder_attn"]) {
        for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) lin(`${p}.${attn}.${proj}`, D, D);
        ln(`${p}.${attn}_layer_norm`, D);
      }
      lin(`${p}.fc1`, v.text[`${side}_ffn_dim`], D);
      lin(`${p}.fc2`, D, v.text[`${side}_ffn_dim`]);
      ln(`${p}.final_layer_norm`, D);
    }
  }
  out.push(["language_model.final_logits_bias", [1, 51289]]);
  return out;
}

function writeVariant(v: Variant, dir: string): void {
  let state = 12345;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const tensors: Record<string, TensorSpec> = {};
  for (const [name, shape] of shapes(v)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = /norm(alization)?\.weight$|layernorm_embedding\.weight$/.test(name);
    tensors[name] = {
      dtype: "F32",
      shape,
      data: Float32Array.from({ length: n }, () => (isNorm ? 1 : rand() * 0.4)),
    };
  }
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  const config = {
    ...fixtureConfig,
    projection_dim: v.text.d_model,
    vision_config: { ...fixtureConfig.vision_config, ...v.vision, projection_dim: v.text.d_model },
    text_config: { ...fixtureConfig.text_config, ...v.text },
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const pre = {
    image_processor_type: "CLIPImageProcessor",
    do_resize: true,
    size: { height: v.imageSize, width: v.imageSize },
    resample: 3,
    do_center_crop: false,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.485, 0.456, 0.406],
    image_std: [0.229, 0.224, 0.225],
  };
  writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify(pre));
  for (const f of ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"])
    copyFileSync(join(FIXTURE, f), join(dir, f));
}

for (const v of variants) {
  test(`config variant: ${v.name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "sl-florence-variant-"));
    try {
      writeVariant(v, dir);
      const m = await loadModel(dir, { threads: 1 });
      assert.ok(m instanceof Florence2Captioner);
      try {
        const image = {
          width: 31,
          height: 17,
          data: Uint8Array.from({ length: 31 * 17 * 3 }, (_, i) => (i * 37) % 256),
        };
        const { pixelValues, dims } = m.imageProcessor.preprocess(image);
        const features = await m.model.encodeImage(pixelValues, dims);
        assert.deepEqual(features.dims, [1, v.imageTokens, v.text.d_model]);
        assert.ok((features.data as Float32Array).every(Number.isFinite));
        const ids = m.promptIds("<OD>");
        const enc = await m.model.encodePrompt(features, ids);
        assert.deepEqual(enc.hidden.dims, [1, v.imageTokens + ids.length, v.text.d_model]);
        const greedy = await m.caption(image, { prompt: "<OD>", numBeams: 1, maxNewTokens: 6 });
        const beams = await m.caption(image, { prompt: "<OD>", numBeams: 3, maxNewTokens: 6 });
        for (const r of [greedy, beams]) {
          assert.equal(r.tokenIds[0], 2);
          assert.ok(r.tokenIds.length <= 7);
          assert.ok(r.result && typeof r.result === "object" && "<OD>" in r.result);
        }
        // Cached decoding equals a full recomputation of the last step's logits.
        const seq = greedy.tokenIds.slice(0, 4);
        const dec = m.model.kvDecoder.sessionFor(enc);
        const full = await dec.step([seq], null);
        let step = await dec.step([seq.slice(0, 1)], null);
        for (let i = 1; i < seq.length; i++) step = await dec.step([[seq[i]]], step.cache);
        let diff = 0;
        for (let i = 0; i < full.logits.length; i++)
          diff = Math.max(diff, Math.abs(full.logits[i] - step.logits[i]));
        assert.ok(diff < 1e-4, `cached vs full logits differ by ${diff}`);
      } finally {
        await m.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
