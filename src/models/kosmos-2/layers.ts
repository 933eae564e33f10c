// Layers shared by the Kosmos-2 image and text graphs.
import { MS_DOMAIN, type Graph, type Value } from "../../engine/graph.js";
import type { VarBuilder } from "../../engine/weights.js";

/**
 * nn.Linear reading the [out, in] weight in place: com.microsoft FusedMatMul(transB) lets ORT pack the
 * weight directly, where MatMul(x, Transpose(W)) would first fold a transposed copy of every weight
 * (for the 1.6 B-parameter checkpoint: minutes of load time and gigabytes of memory).
 */
export function linear(g: Graph, x: Value, vb: VarBuilder): Value {
  const y = g.op(
    "FusedMatMul",
    [x, vb.get("weight")],
    { transA: 0, transB: 1, alpha: 1.0 },
    { domain: MS_DOMAIN },
  );
  return vb.has("bias") ? g.add(y, vb.get("bias")) : y;
}
