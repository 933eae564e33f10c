// Qwen3VLConfig parsing: both layouts (the real repo's rope_scaling + rope_theta; transformers 5's
// rope_parameters and "qwen3_vl_vision"), HF's defaults written out, wrong values refused naming the key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isSightlineError } from "../../../src/errors.js";
import { parseQwen3VLConfig, parseQwen3VLTextConfig } from "../../../src/models/qwen3-vl/config.js";
import { expected, fixtureJson, transformers5Config } from "./fixture.js";

const fails = (code: string, key: string) => (e: unknown) =>
  isSightlineError(e) && e.code === code && e.message.includes(key);

test("the fixture's config.json (real repo layout) matches the fixture's dims", () => {
  const cfg = parseQwen3VLConfig(fixtureJson("config.json"));
  const d = expected.meta.variant_dims;
  assert.deepEqual(
    [cfg.text.hiddenSize, cfg.text.numHiddenLayers, cfg.text.numAttentionHeads, cfg.text.numKeyValueHeads],
    [d.text_hidden, d.text_layers, d.heads, d.kv_heads],
  );
  assert.deepEqual([cfg.text.headDim, cfg.text.intermediateSize], [d.head_dim, d.inter]);
  assert.deepEqual(cfg.text.rope, {
    ropeType: "default",
    ropeTheta: 5000000,
    mropeSection: d.mrope,
    mropeInterleaved: true,
  });
  assert.deepEqual(
    [cfg.vision.hiddenSize, cfg.vision.depth, cfg.vision.numHeads, cfg.vision.intermediateSize],
    [d.vis_hidden, d.vis_depth, d.vis_heads, d.vis_inter],
  );
  assert.deepEqual(cfg.vision.deepstackVisualIndexes, d.deepstack);
  assert.equal(cfg.vision.numPositionEmbeddings, d.pos_emb);
  assert.equal(cfg.vision.outHiddenSize, d.text_hidden);
  assert.equal(cfg.text.rmsNormEps, 1e-6);
  assert.equal(cfg.tieWordEmbeddings, true);
  assert.deepEqual(
    [cfg.imageTokenId, cfg.videoTokenId, cfg.visionStartTokenId, cfg.visionEndTokenId],
    [151655, 151656, 151652, 151653],
  );
  assert.equal(cfg.text.bosTokenId, 151643);
  assert.equal(cfg.text.eosTokenId, 151645);
});

test("the transformers 5 layout (rope_parameters, qwen3_vl_vision) parses to the same config", () => {
  assert.deepEqual(parseQwen3VLConfig(transformers5Config()), parseQwen3VLConfig(fixtureJson("config.json")));
});

test("rope_scaling wins over rope_parameters; rope_theta falls back to the config's, then 500000", () => {
  const both = parseQwen3VLTextConfig({
    rope_scaling: { mrope_section: [2, 3, 3], rope_type: "default" },
    rope_parameters: { mrope_section: [4, 2, 2], rope_theta: 7 },
    rope_theta: 11,
  });
  assert.deepEqual(both.rope.mropeSection, [2, 3, 3]);
  assert.equal(both.rope.ropeTheta, 11);
  const legacyType = parseQwen3VLTextConfig({ rope_scaling: { type: "default" } });
  assert.equal(legacyType.rope.ropeTheta, 500000);
});

test("an empty config gets HF's Qwen3-VL defaults", () => {
  const cfg = parseQwen3VLConfig({ text_config: { hidden_size: 3584 } });
  assert.deepEqual(
    [cfg.vision.depth, cfg.vision.hiddenSize, cfg.vision.numHeads, cfg.vision.intermediateSize],
    [27, 1152, 16, 4304],
  );
  assert.deepEqual(
    [cfg.vision.patchSize, cfg.vision.spatialMergeSize, cfg.vision.temporalPatchSize, cfg.vision.inChannels],
    [16, 2, 2, 3],
  );
  assert.deepEqual([cfg.vision.outHiddenSize, cfg.vision.numPositionEmbeddings], [3584, 2304]);
  assert.deepEqual(cfg.vision.deepstackVisualIndexes, [8, 16, 24]);
  assert.equal(cfg.vision.hiddenAct, "gelu_pytorch_tanh");
  assert.deepEqual(
    [cfg.text.vocabSize, cfg.text.numHiddenLayers, cfg.text.numAttentionHeads, cfg.text.numKeyValueHeads],
    [151936, 32, 32, 32],
  );
  assert.deepEqual(
    [cfg.text.headDim, cfg.text.intermediateSize, cfg.text.maxPositionEmbeddings],
    [128, 22016, 128000],
  );
  assert.deepEqual(cfg.text.rope, {
    ropeType: "default",
    ropeTheta: 500000,
    mropeSection: [24, 20, 20],
    mropeInterleaved: true,
  });
  assert.equal(cfg.text.hiddenAct, "silu");
  assert.equal(cfg.text.attentionBias, false);
  assert.equal(cfg.tieWordEmbeddings, false);
  assert.equal(cfg.text.bosTokenId, null);
});

test("num_key_value_heads null means as many as attention heads", () => {
  const cfg = parseQwen3VLConfig({
    text_config: { hidden_size: 3584, num_attention_heads: 8, num_key_value_heads: null },
  });
  assert.equal(cfg.text.numKeyValueHeads, 8);
});

test("wrong types and values are MODEL_CONFIG_INVALID naming the key", () => {
  const base = fixtureJson("config.json");
  const withText = (t: Record<string, unknown>) => ({ ...base, text_config: { ...base.text_config, ...t } });
  const withVision = (v: Record<string, unknown>) => ({
    ...base,
    vision_config: { ...base.vision_config, ...v },
  });
  const bad: [Record<string, unknown>, string][] = [
    [withText({ hidden_size: "16" }), "text_config.hidden_size"],
    [withText({ num_hidden_layers: 0 }), "text_config.num_hidden_layers"],
    [withText({ rms_norm_eps: "1e-6" }), "text_config.rms_norm_eps"],
    [withText({ rope_scaling: { mrope_section: [4, 2] } }), "mrope_section"],
    [withText({ rope_scaling: { mrope_section: "4,2,2" } }), "mrope_section"],
    [withText({ rope_scaling: { mrope_interleaved: "yes" } }), "mrope_interleaved"],
    [withText({ rope_scaling: null, rope_parameters: { rope_theta: "5e6" } }), "rope_parameters.rope_theta"],
    [withText({ rope_scaling: [1] }), "text_config.rope_scaling"],
    [withText({ num_attention_heads: 3, num_key_value_heads: 2 }), "num_attention_heads"],
    [withText({ eos_token_id: "x" }), "text_config.eos_token_id"],
    [withVision({ depth: 2.5 }), "vision_config.depth"],
    [withVision({ hidden_size: "32" }), "vision_config.hidden_size"],
    [withVision({ deepstack_visual_indexes: 1 }), "vision_config.deepstack_visual_indexes"],
    [withVision({ deepstack_visual_indexes: [1, 3] }), "vision_config.deepstack_visual_indexes"],
    [withVision({ num_position_embeddings: 15 }), "vision_config.num_position_embeddings"],
    [withVision({ num_heads: 3 }), "num_heads"],
    [withVision({ out_hidden_size: 17 }), "out_hidden_size"],
    [{ ...base, vision_config: "x" }, "vision_config"],
    [{ ...base, image_token_id: "151655" }, "config.image_token_id"],
    [{ ...base, tie_word_embeddings: 1 }, "config.tie_word_embeddings"],
  ];
  for (const [json, key] of bad) {
    assert.throws(() => parseQwen3VLConfig(json), fails("MODEL_CONFIG_INVALID", key), key);
  }
});

test("an unknown vision model_type or rope type is MODEL_UNSUPPORTED_ARCH", () => {
  const base = fixtureJson("config.json");
  assert.throws(
    () => parseQwen3VLConfig({ ...base, vision_config: { ...base.vision_config, model_type: "siglip" } }),
    fails("MODEL_UNSUPPORTED_ARCH", "siglip"),
  );
  assert.throws(
    () =>
      parseQwen3VLConfig({
        ...base,
        text_config: { ...base.text_config, rope_scaling: { rope_type: "yarn", mrope_section: [4, 2, 2] } },
      }),
    fails("MODEL_UNSUPPORTED_ARCH", "yarn"),
  );
});
