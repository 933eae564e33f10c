// Block-wise weight-only quantization (graph/quantize.ts): the block arithmetic round-trips, and a graph
// whose linear layers are rewritten to MatMulNBits (8 and 4 bits, both weight layouts, with and without
// bias) computes x · dequantized(W)ᵀ within the int8-activation error of accuracy_level 4.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { Graph } from "../../src/graph/graph.js";
import { linear } from "../../src/graph/nn.js";
import {
  dequantizeMatrix,
  parseQuantizeMode,
  quantizeChannels,
  quantizeMatrix,
  quantizeScheme,
  type QuantizeMode,
} from "../../src/graph/quantize.js";
import { WeightStore } from "../../src/graph/safetensors.js";
import { createSession, float32Tensor } from "../../src/graph/session.js";
import { VarBuilder } from "../../src/graph/var-builder.js";
import { writeSafetensors } from "../helpers/safetensors-writer.js";

const { onnx } = onnxProto;

/** The float32 [N, K] weights of quantizeChannels' int8 [K, N]. */
function dequantizeChannels(
  q: { data: Int8Array; scales: Float32Array },
  n: number,
  k: number,
): Float32Array {
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) out[r * k + i] = q.data[i * n + r] * q.scales[r];
  return out;
}

/** Deterministic pseudo-random numbers in [-1, 1). */
function noise(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

test("quantize: block round trip error is within one step of its block (8 and 4 bits, ragged last block)", () => {
  const n = 5;
  const k = 80; // 2.5 blocks of 32
  const w = Float32Array.from(noise(n * k, 7));
  for (const mode of ["q8", "q4"] as const) {
    const scheme = quantizeScheme({ mode, blockSize: 32 });
    const back = dequantizeMatrix(quantizeMatrix(w, n, k, scheme), n, k, scheme);
    for (let r = 0; r < n; r++) {
      for (let b = 0; b * 32 < k; b++) {
        const slice = [...w.subarray(r * k + b * 32, Math.min(r * k + (b + 1) * 32, (r + 1) * k))];
        const peak = Math.max(...slice.map(Math.abs));
        const step = peak / 2 ** (scheme.bits - 1);
        slice.forEach((v, i) => {
          const got = back[r * k + b * 32 + i];
          // Half a step, except where the code range ends: the opposite sign of the peak has one code less.
          const bound =
            -v * Math.sign(slice.find((x) => Math.abs(x) === peak)!) > peak - step / 2 ? step : step / 2;
          assert.ok(Math.abs(got - v) <= bound + 1e-7, `${mode} [${r}, ${b * 32 + i}]: ${got} vs ${v}`);
        });
      }
    }
  }
});

test("quantize: parseQuantizeMode accepts q8, q4, none and refuses anything else", () => {
  assert.equal(parseQuantizeMode("q8"), "q8");
  assert.equal(parseQuantizeMode("Q4"), "q4");
  assert.equal(parseQuantizeMode("none"), undefined);
  assert.equal(parseQuantizeMode("fp32"), undefined);
  assert.throws(() => parseQuantizeMode("int8"), /q8, q4 or none/);
  assert.throws(() => quantizeScheme({ mode: "q8", blockSize: 48 }), /power of two/);
});

test("quantize: decoder steps get MatMulNBits, encoders int8 DynamicQuantizeMatMul; both compute x·Wᵀ from the quantized weights", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-quantize-"));
  const cache = mkdtempSync(join(tmpdir(), "sl-quantize-cache-"));
  try {
    const OUT = 48;
    const IN = 80; // 2.5 blocks of 32: a ragged last block
    const W = noise(OUT * IN, 1);
    const B = noise(OUT, 2);
    const wT = Array.from({ length: IN * OUT }, (_, i) => W[(i % OUT) * IN + Math.floor(i / OUT)]);
    writeSafetensors(join(dir, "model.safetensors"), {
      "fc.weight": { dtype: "F32", shape: [OUT, IN], data: W },
      "fc.bias": { dtype: "F32", shape: [OUT], data: B },
      "c.weight": { dtype: "F32", shape: [IN, OUT], data: wT },
    });
    const rows = 3;
    const x = noise(rows * IN, 3);
    for (const mode of ["q8", "q4"] as QuantizeMode[]) {
      for (const [blockSize, head] of [
        [32, "logits"],
        [16, "logits"],
        [32, "y"],
      ] as const) {
        // A graph with a `logits` output is a decoder step (MatMulNBits), any other an encoder.
        const decoderStep = head === "logits";
        const store = WeightStore.open(dir);
        const g = new Graph("q");
        const vb = new VarBuilder(g, store);
        const input = g.input("x", "float32", ["n", IN]);
        g.output(linear(g, input, vb.pp("fc")), head);
        g.output(linear(g, input, vb.pp("c"), { conv1d: true }), "yc");
        const s = await createSession(g, store, {
          threads: 1,
          quantize: { mode, blockSize, cacheDir: cache },
        });
        const ops = onnx.ModelProto.decode(g.toBytes()).graph?.node?.map((n) => n.opType) ?? [];
        const op = decoderStep ? "MatMulNBits" : "DynamicQuantizeMatMul";
        assert.deepEqual(
          ops.filter((o) => o === op).length,
          2,
          `${mode}/${head}: two ${op} expected, got ${ops}`,
        );
        const out = await s.run({ x: float32Tensor(Float32Array.from(x), [rows, IN]) });
        await s.release();
        const scheme = quantizeScheme({ mode, blockSize });
        const w = Float32Array.from(W);
        const dq = decoderStep
          ? dequantizeMatrix(quantizeMatrix(w, OUT, IN, scheme), OUT, IN, scheme)
          : dequantizeChannels(quantizeChannels(w, OUT, IN), OUT, IN);
        for (const [name, bias] of [
          [head, true],
          ["yc", false],
        ] as const) {
          const got = out[name].data as Float32Array;
          let worst = 0;
          let scale = 0;
          for (let r = 0; r < rows; r++) {
            for (let o = 0; o < OUT; o++) {
              let want = bias ? B[o] : 0;
              for (let i = 0; i < IN; i++) want += x[r * IN + i] * dq[o * IN + i];
              worst = Math.max(worst, Math.abs(got[r * OUT + o] - want));
              scale = Math.max(scale, Math.abs(want));
            }
          }
          // Activations are quantized too (int8 per block / uint8 per tensor): ~1 % of the output's range.
          assert.ok(worst / scale < 0.02, `${mode}/${blockSize} ${name}: relative error ${worst / scale}`);
        }
      }
    }
    // One cache file per scheme and set of matrices.
    assert.equal(readdirSync(cache).filter((f) => f.endsWith(".safetensors")).length, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});
