import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WeightStore } from "../../src/graph/safetensors.js";
import { Graph } from "../../src/graph/graph.js";
import { VarBuilder } from "../../src/graph/var-builder.js";
import { activation, layerNorm, linear } from "../../src/graph/nn.js";
import { selfAttentionBias } from "../../src/graph/attention.js";
import {
  Tensor,
  createSession,
  createSessions,
  float32Tensor,
  int64Tensor,
} from "../../src/graph/session.js";
import { isSightlineError } from "../../src/errors.js";
import { writeSafetensors } from "../helpers/safetensors-writer.js";

const W = [1, 2, 3, 4, 5, 6]; // [out=2, in=3]
const B = [0.5, -1];

function tempModel(dtype: "F32" | "F16" | "BF16"): string {
  const dir = mkdtempSync(join(tmpdir(), "sl-engine-"));
  writeSafetensors(join(dir, "model.safetensors"), {
    "enc.fc.weight": { dtype, shape: [2, 3], data: W },
    "enc.fc.bias": { dtype, shape: [2], data: B },
    "enc.ln.weight": { dtype: "F32", shape: [2], data: [1, 1] },
    "enc.ln.bias": { dtype: "F32", shape: [2], data: [0, 0] },
  });
  return dir;
}

for (const dtype of ["F32", "F16", "BF16"] as const) {
  test(`linear from ${dtype} safetensors weights read in place`, async () => {
    const dir = tempModel(dtype);
    try {
      const store = WeightStore.open(dir);
      assert.deepEqual(store.info("enc.fc.weight").shape, [2, 3]);
      assert.deepEqual(Array.from(store.readFloat32("enc.fc.bias")), B);
      const g = new Graph("t");
      const x = g.input("x", "float32", ["b", 3]);
      const vb = new VarBuilder(g, store).pp("enc");
      g.output(linear(g, x, vb.pp("fc")), "y");
      g.output(layerNorm(g, linear(g, x, vb.pp("fc")), vb.pp("ln"), 1e-5), "z");
      const s = await createSession(g, store, { threads: 1 });
      const out = await s.run({ x: float32Tensor(new Float32Array([1, 1, 1, 0, 1, 0]), [2, 3]) });
      assert.deepEqual(Array.from(out.y.data as Float32Array), [6.5, 14, 2.5, 4]);
      const z = out.z.data as Float32Array;
      assert.ok(Math.abs(z[0] + 1) < 1e-3 && Math.abs(z[1] - 1) < 1e-3);
      await s.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("weights behind a symlink (HF cache layout) load from the real folder", async () => {
  const dir = tempModel("F32");
  const linkDir = mkdtempSync(join(tmpdir(), "sl-link-"));
  try {
    mkdirSync(join(linkDir, "snap"));
    symlinkSync(join(dir, "model.safetensors"), join(linkDir, "snap", "model.safetensors"));
    const store = WeightStore.open(join(linkDir, "snap"));
    const g = new Graph("t");
    const x = g.input("x", "float32", [1, 3]);
    g.output(linear(g, x, new VarBuilder(g, store).pp("enc.fc")), "y");
    const s = await createSession(g, store, { threads: 1 });
    const out = await s.run({ x: float32Tensor(new Float32Array([1, 0, 0]), [1, 3]) });
    assert.deepEqual(Array.from(out.y.data as Float32Array), [1.5, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(linkDir, { recursive: true, force: true });
  }
});

test("missing and mis-shaped tensors name the tensor", () => {
  const dir = tempModel("F32");
  try {
    const store = WeightStore.open(dir);
    const vb = new VarBuilder(new Graph("t"), store).pp("enc").pp("fc");
    assert.throws(
      () => vb.get("nope"),
      (e) => isSightlineError(e) && e.code === "WEIGHT_MISSING" && e.message.includes("enc.fc.nope"),
    );
    assert.throws(
      () => vb.get("weight", [3, 2]),
      (e) => isSightlineError(e) && e.code === "WEIGHT_SHAPE",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a folder without weights is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-empty-"));
  try {
    assert.throws(
      () => WeightStore.open(dir),
      (e) => isSightlineError(e) && e.code === "MODEL_WEIGHTS_MISSING",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("activations and the self-attention bias (causal and padding)", async () => {
  const g = new Graph("act");
  const x = g.input("x", "float32", [4]);
  for (const name of ["gelu", "gelu_new", "quick_gelu", "relu", "silu"])
    g.output(activation(g, x, name), name);
  const q = g.input("q", "int64", []);
  const mask = g.input("attention_mask", "bool", ["batch", "total"]);
  g.output(selfAttentionBias(g, mask, q), "mask");
  const s = await createSession(g, undefined, { threads: 1 });
  const xs = [-2, -0.5, 0.5, 3];
  // Row 0: 3 real positions; row 1: its first position is left padding.
  const out = await s.run({
    x: float32Tensor(new Float32Array(xs), [4]),
    q: int64Tensor([2], []),
    attention_mask: new Tensor("bool", Uint8Array.from([1, 1, 1, 0, 1, 1]), [2, 3]),
  });
  const erf = (v: number) => {
    // Abramowitz-Stegun is not accurate enough; use a series for |v| < 3.
    let sum = 0,
      term = v;
    for (let n = 0; n < 60; n++) {
      sum += term / (2 * n + 1);
      term *= (-v * v) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  const ref: Record<string, (v: number) => number> = {
    gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
    gelu_new: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    quick_gelu: (v) => v / (1 + Math.exp(-1.702 * v)),
    relu: (v) => Math.max(0, v),
    silu: (v) => v / (1 + Math.exp(-v)),
  };
  for (const [name, f] of Object.entries(ref)) {
    const got = out[name].data as Float32Array;
    xs.forEach((v, i) =>
      assert.ok(Math.abs(got[i] - f(v)) < 1e-5, `${name}(${v}) = ${got[i]}, want ${f(v)}`),
    );
  }
  const m = Array.from(out.mask.data as Float32Array).map((v) => (v < -1e30 ? "x" : "."));
  assert.deepEqual(out.mask.dims, [2, 1, 2, 3]);
  // 2 new positions after 1 cached one: the first sees keys 0–1, the second all three; padding never.
  assert.equal(m.join(""), "..x..." + "x.xx..");
});

test("createSessions: every session, or the failing graph's error", async () => {
  const ok = (name: string) => {
    const g = new Graph(name);
    g.output(g.op("Relu", [g.input("x", "float32", [2])]), "y");
    return g;
  };
  const broken = new Graph("broken");
  broken.output(broken.op("NoSuchOp", [broken.input("x", "float32", [2])]), "y");
  const sessions = await createSessions([ok("a"), ok("b")], undefined, { threads: 1 });
  assert.equal(sessions.length, 2);
  await Promise.all(sessions.map((s) => s.release()));
  await assert.rejects(createSessions([ok("a"), broken, ok("c")], undefined, { threads: 1 }), (e) => {
    assert.ok(isSightlineError(e) && e.code === "INTERNAL");
    assert.match(e.message, /broken/);
    return true;
  });
});
