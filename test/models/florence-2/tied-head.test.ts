// A Florence-2 folder without language_model.lm_head.weight (the tied copy some writers drop) and
// without the final_logits_bias buffer: the LM head falls back to the shared embedding, the bias to
// zeros; the fixture's lm_head equals `shared`, so the reference logits still hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WeightStore } from "../../../src/graph/safetensors.js";
import { loadModel } from "../../../src/models/index.js";
import { Florence2Captioner } from "../../../src/models/florence-2/captioner.js";
import { writeSafetensors, type TensorSpec } from "../../helpers/safetensors-writer.js";
import { FIXTURE, cases, maxAbsDiff, readBin } from "./fixture.js";

test("no lm_head.weight / final_logits_bias: first-step logits from the shared embedding", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-florence-tied-"));
  try {
    const store = WeightStore.open(FIXTURE);
    const tensors: Record<string, TensorSpec> = {};
    for (const name of store.names()) {
      if (name === "language_model.lm_head.weight" || name === "language_model.final_logits_bias") continue;
      tensors[name] = { dtype: "F32", shape: store.info(name).shape, data: store.readFloat32(name) };
    }
    writeSafetensors(join(dir, "model.safetensors"), tensors);
    for (const f of [
      "config.json",
      "preprocessor_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "vocab.json",
      "merges.txt",
    ]) {
      copyFileSync(join(FIXTURE, f), join(dir, f));
    }
    const m = await loadModel(dir, { threads: 1 });
    assert.ok(m instanceof Florence2Captioner);
    try {
      const c = cases[0];
      const features = await m.model.encodeImage(readBin(c.pixelValues.file), c.pixelValues.shape);
      const enc = await m.model.encodePrompt(features, c.inputIds);
      const { logits } = await m.model.kvDecoder.sessionFor(enc).step(c.firstStep.decoder_input_ids, null);
      assert.ok(maxAbsDiff(logits, readBin(c.firstStep.logits.file)) <= 1e-3);
    } finally {
      await m.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
