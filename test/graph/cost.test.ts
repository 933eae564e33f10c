// graph/cost.ts: FLOPs and weight bytes of tiny graphs whose work is countable by hand, including the
// shape arithmetic (Shape → Gather → Concat → Reshape) the models' attention blocks use.
import { test } from "node:test";
import assert from "node:assert/strict";
import { graphCost } from "../../src/graph/cost.js";
import { Graph } from "../../src/graph/graph.js";
import { mergeHeads, scaledDotProductAttention, splitHeads } from "../../src/graph/attention.js";
import { dim, matmulTransB } from "../../src/graph/nn.js";

const zeros = (n: number) => new Float32Array(n);

test("cost: MatMul, Gemm (transB) and FusedMatMul count 2·M·K·N and read their weights once", () => {
  const g = new Graph("linear");
  const x = g.input("x", "float32", ["batch", 3]);
  const w1 = g.constFloat(zeros(3 * 4), [3, 4]);
  const h = g.matmul(x, w1); // [2, 4]: 2·2·3·4 = 48
  const w2 = g.constFloat(zeros(6 * 4), [6, 4]);
  const y = g.op("Gemm", [h, w2], { transB: 1 }); // [2, 6]: 2·2·4·6 = 96
  const w3 = g.constFloat(zeros(5 * 6), [5, 6]);
  g.output(matmulTransB(g, y, w3), "out"); // [2, 5]: 2·2·6·5 = 120
  const cost = graphCost(g, { x: [2, 3] });
  assert.equal(cost.flops, 48 + 96 + 120);
  assert.equal(cost.weightBytes, (12 + 24 + 30) * 4);
  assert.deepEqual(cost.outputs.out, [2, 5]);
  assert.deepEqual(cost.byOp.Gemm, { flops: 96, nodes: 1 });
  assert.deepEqual(cost.byOp.FusedMatMul, { flops: 120, nodes: 1 });
});

test("cost: Conv counts output positions × input channels per group × kernel; depthwise is C·HW·k²", () => {
  const g = new Graph("conv");
  const x = g.input("x", "float32", [1, 3, 8, 8]);
  // Dense 3→4 channels, 3×3, stride 2, pad 1: 4×4 outputs; 2·4·16·3·9 = 3456.
  const w = g.constFloat(zeros(4 * 3 * 9), [4, 3, 3, 3]);
  const c = g.op("Conv", [x, w], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 1 });
  // Depthwise over 4 channels, 3×3, pad 1: 4×4 outputs; 2·4·16·1·9 = 1152.
  const dw = g.constFloat(zeros(4 * 9), [4, 1, 3, 3]);
  const d = g.op("Conv", [c, dw], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 });
  g.output(d, "y");
  // 7×7 stride 4 pad 3 patch embedding 3→2 channels on 8×8: 2×2 outputs (the DaViT stem's arithmetic).
  const pw = g.constFloat(zeros(2 * 3 * 49), [2, 3, 7, 7]);
  g.output(g.op("Conv", [x, pw], { kernel_shape: [7, 7], strides: [4, 4], pads: [3, 3, 3, 3] }), "stem");
  const cost = graphCost(g, { x: [1, 3, 8, 8] });
  assert.equal(cost.flops, 3456 + 1152 + 2 * 2 * 4 * 3 * 49);
  assert.deepEqual(cost.outputs.y, [1, 4, 4, 4]);
  assert.deepEqual(cost.outputs.stem, [1, 2, 2, 2]);
  assert.equal(cost.byOp.Conv.nodes, 3);
  assert.equal(cost.weightBytes, (108 + 36 + 294) * 4);
});

test("cost: attention shapes through computed reshapes — Q·Kᵀ and P·V are 2·B·H·T·S·Dh each", () => {
  const [B, T, H, Dh] = [2, 5, 3, 4];
  const D = H * Dh;
  const g = new Graph("attention");
  const x = g.input("x", "float32", ["batch", "tokens", D]);
  const proj = () => matmulTransB(g, x, g.constFloat(zeros(D * D), [D, D]));
  // The head split reshapes to a shape computed from Shape/Gather/Concat: the walk must follow it.
  const tokens = g.unsqueeze(dim(g, x, 1), [0]);
  const batch = g.unsqueeze(dim(g, x, 0), [0]);
  const toHeads = (v: string) =>
    g.transpose(g.reshape(v, g.concat([batch, tokens, g.constInt([H, Dh])], 0)), [0, 2, 1, 3]);
  const q = toHeads(proj());
  const k = splitHeads(g, proj(), H, Dh);
  const v = splitHeads(g, proj(), H, Dh);
  const o = mergeHeads(g, scaledDotProductAttention(g, q, k, v, { scale: 1 }), D);
  g.output(o, "o");
  const cost = graphCost(g, { x: [B, T, D] });
  const projections = 3 * 2 * B * T * D * D;
  const attention = 2 * (2 * B * H * T * T * Dh);
  assert.equal(cost.flops, projections + attention);
  assert.deepEqual(cost.outputs.o, [B, T, D]);
});

test("cost: an embedding only gathered reads its rows; tied to the LM head it is read whole", () => {
  const vocab = 50;
  const D = 8;
  const build = (tied: boolean) => {
    const g = new Graph("step");
    const ids = g.input("ids", "int64", [1, "new"]);
    const table = g.constFloat(zeros(vocab * D), [vocab, D]);
    const h = g.gather(table, ids); // [1, T, D]
    g.output(tied ? matmulTransB(g, h, table) : h, "y");
    return graphCost(g, { ids: [1, 3] });
  };
  assert.equal(build(false).weightBytes, 3 * D * 4);
  assert.equal(build(false).flops, 0);
  const tied = build(true);
  assert.equal(tied.weightBytes, vocab * D * 4);
  assert.equal(tied.flops, 2 * 3 * D * vocab);
});

test("cost: fp16 weights widened at load count as float32; shape constants are not weights", () => {
  const g = new Graph("half");
  const x = g.input("x", "float32", [1, 4]);
  const half = g.inlineTensor("float16", new Uint8Array(4 * 6 * 2), [6, 4]);
  const y = matmulTransB(g, x, g.cast(half, "float32"));
  g.output(g.reshape(y, [1, 2, 3]), "y");
  const cost = graphCost(g, { x: [1, 4] });
  assert.equal(cost.weightBytes, 6 * 4 * 4);
  assert.deepEqual(cost.outputs.y, [1, 2, 3]);
});

test("cost: a missing input shape or an op without a shape rule is an error naming it", () => {
  const g = new Graph("odd");
  const x = g.input("x", "float32", [2]);
  g.output(g.op("Hardmax", [x]), "y");
  assert.throws(() => graphCost(g, {}), /no shape for input x/);
  assert.throws(() => graphCost(g, { x: [2] }), /no shape rule for Hardmax/);
});
