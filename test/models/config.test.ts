// The config idiom every architecture uses: a field table with HF's defaults drives parsing and
// validation; a wrong-typed value is MODEL_CONFIG_INVALID naming its key, in every architecture.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isSightlineError } from "../../src/errors.js";
import { f, fieldDefaults, parseFields } from "../../src/models/config.js";
import { parseBlipConfig } from "../../src/models/blip/config.js";
import { parseFlorence2Config } from "../../src/models/florence-2/config.js";
import { parseKosmos2Config } from "../../src/models/kosmos-2/config.js";
import { parseVitGpt2Config } from "../../src/models/vit-gpt2/config.js";

const TABLE = {
  width: f.size("hidden_size", 8),
  heads: f.heads("num_heads", 2, "width"),
  inner: f.size("inner", (c) => 4 * c.width),
  act: f.string("act", "gelu"),
  eps: f.number("eps", 1e-5),
  tied: f.boolean("tied", true),
  start: f.optionalInt("start_id", null),
  dims: f.ints("dims", [1, 2]),
  pos: f.object("pos", { kind: f.string("type", "learned"), max: f.size("max", 50) }),
};

const invalid = (key: RegExp) => (e: unknown) =>
  isSightlineError(e) && e.code === "MODEL_CONFIG_INVALID" && key.test(e.message);

test("missing and null keys get the table's defaults (computed ones from fields read before)", () => {
  assert.deepEqual(parseFields({ hidden_size: 16, act: null }, TABLE, "text_config"), {
    width: 16,
    heads: 2,
    inner: 64,
    act: "gelu",
    eps: 1e-5,
    tied: true,
    start: null,
    dims: [1, 2],
    pos: { kind: "learned", max: 50 },
  });
  assert.deepEqual(fieldDefaults(TABLE).hidden_size, 8);
  assert.deepEqual(fieldDefaults(TABLE).pos, { kind: "learned", max: 50 });
});

test("a value of the wrong kind is MODEL_CONFIG_INVALID naming its key", () => {
  for (const [json, key] of [
    [{ hidden_size: "16" }, /text_config\.hidden_size should be a positive integer, got "16"/],
    [{ hidden_size: 0 }, /text_config\.hidden_size/],
    [{ eps: "small" }, /text_config\.eps should be a number/],
    [{ tied: 1 }, /text_config\.tied should be a boolean/],
    [{ start_id: 1.5 }, /text_config\.start_id/],
    [{ dims: [1, "2"] }, /text_config\.dims should be a list of integers/],
    [{ pos: { max: -1 } }, /text_config\.pos\.max/],
    [{ pos: [] }, /text_config\.pos should be an object/],
    [{ hidden_size: 10, num_heads: 4 }, /text_config\.hidden_size 10 is not divisible by num_heads 4/],
  ] as const) {
    assert.throws(() => parseFields(json, TABLE, "text_config"), invalid(key), JSON.stringify(json));
  }
});

test("every architecture's config names the wrong-typed key", () => {
  const vitGpt2 = (decoder: object) => ({
    encoder: { model_type: "vit" },
    decoder: { model_type: "gpt2", ...decoder },
  });
  assert.throws(() => parseVitGpt2Config(vitGpt2({ n_embd: "768" })), invalid(/decoder\.n_embd/));
  assert.throws(() => parseVitGpt2Config(vitGpt2({ n_head: 5 })), invalid(/decoder\.n_embd 768 .* n_head 5/));
  assert.throws(
    () => parseBlipConfig({ text_config: { vocab_size: [1] } }),
    invalid(/text_config\.vocab_size/),
  );
  assert.throws(
    () => parseKosmos2Config({ text_config: { embed_dim: 2.5 } }),
    invalid(/text_config\.embed_dim/),
  );
  assert.throws(() => parseKosmos2Config({ latent_query_num: "64" }), invalid(/latent_query_num/));
  assert.throws(
    () => parseFlorence2Config({ text_config: { d_model: "16" } }),
    invalid(/text_config\.d_model/),
  );
  assert.throws(
    () => parseFlorence2Config({ vision_config: { image_pos_embed: { type: 3 } } }),
    invalid(/vision_config\.image_pos_embed\.type/),
  );
  assert.throws(() => parseFlorence2Config({ text_config: "x" }), invalid(/text_config should be an object/));
});
