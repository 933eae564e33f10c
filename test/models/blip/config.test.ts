// BlipConfig parsing: HF 4.40 defaults written out, encoder_hidden_size taken from the vision tower,
// invalid values refused; and the LM head's fallback for a checkpoint saved without decoder.weight.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WeightStore } from "../../../src/graph/safetensors.js";
import { isSightlineError } from "../../../src/errors.js";
import { parseBlipConfig } from "../../../src/models/blip/config.js";
import { BlipModel } from "../../../src/models/blip/model.js";
import { writeSafetensors, type TensorSpec } from "../../helpers/safetensors-writer.js";
import { FIXTURE, cases, config, maxAbsDiff, readBin } from "./fixture.js";

test("an empty BLIP config gets the HF defaults", () => {
  const cfg = parseBlipConfig({ model_type: "blip" });
  assert.deepEqual(
    [
      cfg.vision.hiddenSize,
      cfg.vision.numHiddenLayers,
      cfg.vision.numAttentionHeads,
      cfg.vision.imageSize,
      cfg.vision.patchSize,
    ],
    [768, 12, 12, 384, 16],
  );
  assert.equal(cfg.vision.layerNormEps, 1e-5);
  assert.deepEqual(
    [cfg.text.vocabSize, cfg.text.hiddenSize, cfg.text.numAttentionHeads, cfg.text.maxPositionEmbeddings],
    [30524, 768, 8, 512],
  );
  assert.equal(cfg.text.layerNormEps, 1e-12);
  assert.deepEqual(
    [cfg.text.bosTokenId, cfg.text.sepTokenId, cfg.text.padTokenId, cfg.text.eosTokenId],
    [30522, 102, 0, 2],
  );
});

test("text_config.encoder_hidden_size follows the vision hidden size (BlipConfig.__init__)", () => {
  const cfg = parseBlipConfig({
    vision_config: { hidden_size: 1024, num_attention_heads: 16 },
    text_config: { encoder_hidden_size: 768 },
  });
  assert.equal(cfg.text.encoderHiddenSize, 1024);
});

test("invalid configs are refused with MODEL_CONFIG_INVALID", () => {
  for (const bad of [
    { vision_config: { hidden_size: 30, num_attention_heads: 4 } },
    { text_config: { hidden_size: "768" } },
    { text_config: { num_hidden_layers: 0 } },
  ]) {
    assert.throws(
      () => parseBlipConfig(bad),
      (e) => isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID",
    );
  }
});

test("a checkpoint without cls.predictions.decoder.weight scores with the word embeddings", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-blip-tied-"));
  try {
    // Same weights as the fixture, except the LM head's weight is the word embedding table, then dropped.
    const store = WeightStore.open(FIXTURE);
    const tensors = (withDecoder: boolean): Record<string, TensorSpec> => {
      const out: Record<string, TensorSpec> = {};
      for (const name of store.names()) {
        if (name === "text_decoder.cls.predictions.decoder.weight" && !withDecoder) continue;
        const source =
          name === "text_decoder.cls.predictions.decoder.weight"
            ? "text_decoder.bert.embeddings.word_embeddings.weight"
            : name;
        out[name] = { dtype: "F32", shape: store.info(name).shape, data: store.readFloat32(source) };
      }
      return out;
    };
    const c = cases[0];
    const logits: Float32Array[] = [];
    for (const withDecoder of [true, false]) {
      writeSafetensors(join(dir, "model.safetensors"), tensors(withDecoder));
      copyFileSync(join(FIXTURE, "config.json"), join(dir, "config.json"));
      const model = await BlipModel.load(dir, config, { threads: 1 });
      const image = await model.encodeImage(readBin(c.pixelValues.file), c.pixelValues.shape);
      logits.push(await model.firstStepLogits(image, c.decoderInputIds));
      await model.dispose();
    }
    assert.equal(maxAbsDiff(logits[0], logits[1]), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
