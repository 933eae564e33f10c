// Blocks Qwen3-VL needs that graph/nn.ts does not have yet. Written here while nn.ts is being
// reworked; each is a shared block candidate to move into graph/ once that lands.
import type { Graph, Value } from "../../graph/graph.js";

// shared block candidate
/** HF rotate_half: [x1, x2] → [−x2, x1] over the last axis of width `dim`. */
export function rotateHalf(g: Graph, x: Value, dim: number): Value {
  const half = dim / 2;
  const x1 = g.slice(x, [0], [half], [-1]);
  const x2 = g.slice(x, [half], [dim], [-1]);
  return g.concat([g.neg(x2), x1], -1);
}

// shared block candidate
/**
 * HF apply_rotary_pos_emb on one tensor: x·cos + rotate_half(x)·sin, with cos/sin broadcastable to x
 * (e.g. [T, Dh] against [B, H, T, Dh]).
 */
export function applyRotary(g: Graph, x: Value, cos: Value, sin: Value, dim: number): Value {
  return g.add(g.mul(x, cos), g.mul(rotateHalf(g, x, dim), sin));
}
