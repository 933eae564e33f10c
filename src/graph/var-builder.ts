// Weight-path builder: `vb.pp("encoder").pp("layer").pp(3).get("weight")` binds the checkpoint tensor
// `encoder.layer.3.weight` into the graph. Architecture files thus read with the checkpoint's own names,
// and a missing or mis-shaped tensor fails at build time with its full name.
import { fail } from "../errors.js";
import type { Graph, Value } from "./graph.js";
import type { WeightStore } from "./safetensors.js";

export class VarBuilder {
  constructor(
    readonly graph: Graph,
    readonly store: WeightStore,
    readonly prefix = "",
  ) {}

  /** A builder one level down: `pp("encoder")`, `pp(3)`. */
  pp(part: string | number): VarBuilder {
    return new VarBuilder(this.graph, this.store, this.path(String(part)));
  }

  /** The full checkpoint name of `name` under this prefix. */
  path(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  has(name: string): boolean {
    return this.store.has(this.path(name));
  }

  /** The tensor's shape in the checkpoint. */
  shape(name: string): number[] {
    return this.info(name).shape;
  }

  /** Binds the tensor into the graph (float32; fp16/bf16 are cast). `shape` is checked when given. */
  get(name: string, shape?: number[]): Value {
    return this.graph.weight(this.checked(name, shape));
  }

  /** Binds the tensor in the checkpoint's own dtype (no cast); `shape` is checked when given. */
  stored(name: string, shape?: number[]): Value {
    return this.graph.storedWeight(this.checked(name, shape));
  }

  /** The tensor's dtype in the checkpoint ("F32", "BF16", …). */
  dtype(name: string): string {
    return this.info(name).dtype;
  }

  /** Reads the tensor into memory (for values computed in TypeScript). */
  tensor(name: string): Float32Array {
    this.info(name);
    return this.store.readFloat32(this.path(name));
  }

  private checked(name: string, shape?: number[]) {
    const info = this.info(name);
    if (shape && (shape.length !== info.shape.length || shape.some((d, i) => d !== info.shape[i]))) {
      throw fail(
        "WEIGHT_SHAPE",
        `${info.name} is [${info.shape}], expected [${shape}] (in ${this.store.folder})`,
      );
    }
    return info;
  }

  private info(name: string) {
    const full = this.path(name);
    if (!this.store.has(full)) throw fail("WEIGHT_MISSING", `${full} (in ${this.store.folder})`);
    return this.store.info(full);
  }
}
