// Layers shared by the Kosmos-2 image and text graphs.
/**
 * nn.Linear reading the [out, in] weight in place (the engine's linear: FusedMatMul(transB), no transposed
 * copy folded at load, which for the 1.6 B-parameter checkpoint cost minutes and gigabytes).
 */
export { linear } from "../../graph/nn.js";
