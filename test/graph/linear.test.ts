// linear reads HF's [out, in] weight in place: no Transpose node for ORT to constant-fold into a copy
// (the load-time cost that made a 1.6 B-parameter model take over a minute), same numbers on 2-D and
// 3-D inputs, with and without bias, and GPT-2's Conv1D [in, out] layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { Graph } from "../../src/graph/graph.js";
import { linear } from "../../src/graph/nn.js";
import { WeightStore } from "../../src/graph/safetensors.js";
import { createSession, float32Tensor } from "../../src/graph/session.js";
import { VarBuilder } from "../../src/graph/var-builder.js";
import { writeSafetensors } from "../helpers/safetensors-writer.js";

const { onnx } = onnxProto;
const OUT = 3;
const IN = 4;
const W = Array.from({ length: OUT * IN }, (_, i) => (i % 5) - 2 + i / 10); // [out, in]
const B = [0.25, -1, 2];

/** x [rows, IN] · Wᵀ (+ b), W [OUT, IN]. */
function reference(x: number[], rows: number, bias: boolean): number[] {
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < OUT; o++) {
      let s = bias ? B[o] : 0;
      for (let i = 0; i < IN; i++) s += x[r * IN + i] * W[o * IN + i];
      y.push(s);
    }
  }
  return y;
}

test("linear: [out, in] weight read in place (no Transpose), 2-D and 3-D inputs, bias optional", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-linear-"));
  try {
    // The same numbers stored as Conv1D's [in, out] too.
    const wT = Array.from({ length: IN * OUT }, (_, k) => W[(k % OUT) * IN + Math.floor(k / OUT)]);
    writeSafetensors(join(dir, "model.safetensors"), {
      "fc.weight": { dtype: "F32", shape: [OUT, IN], data: W },
      "fc.bias": { dtype: "F32", shape: [OUT], data: B },
      "c.weight": { dtype: "F32", shape: [IN, OUT], data: wT },
    });
    const store = WeightStore.open(dir);
    const g = new Graph("linear");
    const vb = new VarBuilder(g, store);
    const x2 = g.input("x2", "float32", ["n", IN]);
    const x3 = g.input("x3", "float32", ["b", "t", IN]);
    g.output(linear(g, x2, vb.pp("fc")), "y2");
    g.output(linear(g, x3, vb.pp("fc")), "y3");
    g.output(linear(g, x3, vb.pp("fc"), { bias: false }), "y3nobias");
    g.output(linear(g, x3, vb.pp("c"), { conv1d: true }), "y3conv1d");
    const ops = onnx.ModelProto.decode(g.toBytes()).graph?.node?.map((n) => n.opType) ?? [];
    assert.ok(!ops.includes("Transpose"), `no Transpose node expected, got ${ops.join(", ")}`);

    const x = Array.from({ length: 2 * 3 * IN }, (_, i) => Math.sin(i));
    const s = await createSession(g, store, { threads: 1 });
    const out = await s.run({
      x2: float32Tensor(new Float32Array(x.slice(0, 2 * IN)), [2, IN]),
      x3: float32Tensor(new Float32Array(x), [2, 3, IN]),
    });
    await s.release();
    const close = (got: ArrayLike<number>, want: number[], what: string) => {
      assert.equal(got.length, want.length, what);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `${what}[${i}]`);
    };
    assert.deepEqual(out.y3.dims, [2, 3, OUT]);
    close(out.y2.data as Float32Array, reference(x.slice(0, 2 * IN), 2, true), "2-D");
    close(out.y3.data as Float32Array, reference(x, 6, true), "3-D");
    close(out.y3nobias.data as Float32Array, reference(x, 6, false), "3-D without bias");
    close(out.y3conv1d.data as Float32Array, reference(x, 6, false), "Conv1D layout");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
