// The decoder step graph, the same contract for every architecture (generation's KvDecoder feeds it):
//   inputs   input_ids [B, T] int64, each row's new tokens left-padded to T;
//            attention_mask [B, P + T] bool, true where the cache or this step holds a real token;
//            position_ids [B, T] int64, HF's positions of each row run alone (architectures that
//              number positions in the graph);
//            past_key_i / past_value_i [B, Hkv, P, Dh] per layer, row r the cache of row r (P = 0 at
//              the first step): KvDecoder gathers the rows beam search or a leaving request moved, only
//              when they did (a Gather in the graph copied the cache at every step; docs/architecture.md);
//            with cross-attention: cross_key_i / cross_value_i [I, H, N, Dh], the K/V of the batch's I
//              distinct images stacked (N their most tokens), cross_bias [I, N] (MASK_MIN on padding),
//              cross_rows [I, R] and cross_slots [B] int64, the rows grouped by image and back
//              (graph/attention.ts CrossLayout);
//   outputs  logits [B, V] at each row's last position; present_key_i / present_value_i
//            [B, Hkv, P + T, Dh].
// An architecture may declare more inputs (Kosmos-2's image features) and feed them itself.
import type { Graph, Value } from "./graph.js";
import { selfAttentionBias, splitHeads, type CrossLayout, type KeyValue } from "./attention.js";
import { dim } from "./nn.js";
import type { Tensor } from "./session.js";

export const stepNames = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  crossBias: "cross_bias",
  crossRows: "cross_rows",
  crossSlots: "cross_slots",
  logits: "logits",
  pastKey: (layer: number) => `past_key_${layer}`,
  pastValue: (layer: number) => `past_value_${layer}`,
  presentKey: (layer: number) => `present_key_${layer}`,
  presentValue: (layer: number) => `present_value_${layer}`,
  crossKey: (layer: number) => `cross_key_${layer}`,
  crossValue: (layer: number) => `cross_value_${layer}`,
};

/** The sizes a step graph's cache and cross inputs have: an architecture's decoder, as data. */
export interface StepGraphShape {
  layers: number;
  /** Heads of the self-attention cache (fewer than the query heads under grouped-query attention). */
  kvHeads: number;
  headDim: number;
  /** Whether the graph takes position_ids (else the architecture turns positions into its own feeds). */
  positionIds: boolean;
  /** Cross-attention heads and head size; absent for decoder-only models. */
  cross?: { heads: number; headDim: number };
}

/** The values of a step graph's shared inputs. */
export interface StepInputs {
  /** input_ids [B, T]. */
  ids: Value;
  /** position_ids [B, T], when the shape asks for them. */
  positions: Value;
  /** T as an int64 scalar. */
  newLength: Value;
  /** Self-attention bias [B, 1, T, P + T] (causal and padding). */
  selfBias: Value;
  /** Per layer: the cache's keys and values [B, Hkv, P, Dh], in this step's row order. */
  past: KeyValue[];
  /** Per layer: the images' cross K/V [I, H, N, Dh] (empty without cross-attention). */
  cross: KeyValue[];
  /** Which rows attend which image (undefined without cross-attention). */
  crossLayout?: CrossLayout;
}

/** Declares the shared inputs of a step graph. */
export function stepGraphInputs(g: Graph, shape: StepGraphShape): StepInputs {
  const ids = g.input(stepNames.inputIds, "int64", ["batch", "new"]);
  const mask = g.input(stepNames.attentionMask, "bool", ["batch", "total"]);
  const positions = shape.positionIds ? g.input(stepNames.positionIds, "int64", ["batch", "new"]) : "";
  const cacheDims = ["batch", shape.kvHeads, "past", shape.headDim];
  const cached = (name: string) => g.input(name, "float32", cacheDims);
  const past = Array.from({ length: shape.layers }, (_, i) => ({
    key: cached(stepNames.pastKey(i)),
    value: cached(stepNames.pastValue(i)),
  }));
  const newLength = dim(g, ids, 1);
  const selfBias = selfAttentionBias(g, mask, newLength);
  let cross: KeyValue[] = [];
  let crossLayout: CrossLayout | undefined;
  if (shape.cross) {
    const crossDims = ["images", shape.cross.heads, "cross_tokens", shape.cross.headDim];
    cross = Array.from({ length: shape.layers }, (_, i) => ({
      key: g.input(stepNames.crossKey(i), "float32", crossDims),
      value: g.input(stepNames.crossValue(i), "float32", crossDims),
    }));
    crossLayout = {
      bias: g.input(stepNames.crossBias, "float32", ["images", "cross_tokens"]),
      rows: g.input(stepNames.crossRows, "int64", ["images", "image_rows"]),
      slots: g.input(stepNames.crossSlots, "int64", ["batch"]),
    };
  }
  return { ids, positions, newLength, selfBias, past, cross, crossLayout };
}

/** Outputs layer `layer`'s present keys and values (the next step's past). */
export function presentOutputs(g: Graph, layer: number, present: KeyValue): void {
  g.output(present.key, stepNames.presentKey(layer));
  g.output(present.value, stepNames.presentValue(layer));
}

/** [B, T, D] → [B, D]: each row's last position (rows are left-padded, so it is a real token). */
export function lastPosition(g: Graph, h: Value): Value {
  return g.gather(h, g.scalarInt(-1), 1); // a scalar index drops the axis
}

/**
 * The `logits` output [B, V] = last · weightᵀ (+ bias): Gemm(transB) reads the [V, D] head (often the tied
 * token embedding) in place, no transposed copy of the largest matrix. Marked as a linear layer, so the
 * LM head is quantized with the others (the embedding lookup keeps its float32 table).
 */
export function logitsOutput(g: Graph, last: Value, weight: Value, bias?: Value): void {
  const inputs = bias ? [last, weight, bias] : [last, weight];
  const logits = g.op("Gemm", inputs, { transB: 1 });
  g.markLinear({ output: logits, input: last, weight, bias, layout: "out-in" });
  g.output(logits, stepNames.logits);
}

/** Outputs one layer's cross-attention K/V of one image: [1, N, H·Dh] projections → [1, H, N, Dh]. */
export function crossKvOutputs(g: Graph, layer: number, kv: KeyValue, heads: number, headDim: number): void {
  g.output(splitHeads(g, kv.key, heads, headDim), stepNames.crossKey(layer));
  g.output(splitHeads(g, kv.value, heads, headDim), stepNames.crossValue(layer));
}

/** One image's cross-attention K/V, per layer [1, H, N, Dh]: computed once, shared by its rows. */
export interface CrossKv {
  keys: Tensor[];
  values: Tensor[];
}

/** Collects cross_key_i / cross_value_i from a session's outputs. */
export function crossKvFromOutputs(out: Record<string, Tensor>, layers: number): CrossKv {
  return {
    keys: Array.from({ length: layers }, (_, i) => out[stepNames.crossKey(i)]),
    values: Array.from({ length: layers }, (_, i) => out[stepNames.crossValue(i)]),
  };
}
