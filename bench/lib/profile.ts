// Where a stage's time goes, from ONNX Runtime's own profiler: the stage's graph gets a profiled
// session, runs on the feeds the benchmark gave it, and the kernel times are summed per op type (the
// ops as ORT runs them after its fusions: FusedMatMul, NchwcConv, ReorderInput, …).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Graph } from "../../src/graph/graph.js";
import type { WeightStore } from "../../src/graph/safetensors.js";
import { createSession, type Tensor } from "../../src/graph/session.js";

export interface OpTime {
  op: string;
  /** Kernel milliseconds per run. */
  ms: number;
  /** Share of all kernel time (0–1). */
  share: number;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

/** Kernel time per op type in an ORT profile (JSON array of trace events) covering `runs` runs. */
export function opTimes(events: ProfileEvent[], runs: number): OpTime[] {
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.op_name) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + (e.dur ?? 0));
    total += e.dur ?? 0;
  }
  return [...byOp]
    .sort((a, b) => b[1] - a[1])
    .map(([op, us]) => ({ op, ms: us / 1000 / runs, share: total ? us / total : 0 }));
}

/** Profiles `runs` runs of `graph` on `feeds` (after one unprofiled warm-up run is impossible in ORT: the first run is left out). */
export async function profileStage(
  graph: Graph,
  store: WeightStore | undefined,
  feeds: Record<string, Tensor>,
  threads: number,
  runs = 2,
): Promise<OpTime[]> {
  const dir = mkdtempSync(join(tmpdir(), "sightline-profile-"));
  const session = await createSession(graph, store, { threads, profilePrefix: join(dir, "stage") });
  try {
    for (let i = 0; i <= runs; i++) await session.run(feeds);
    const path = session.endProfiling();
    if (!path) throw new Error(`${graph.name}: ORT wrote no profile`);
    const events = JSON.parse(readFileSync(path, "utf8")) as ProfileEvent[];
    // Every run is in the profile; the first (allocations, pre-packing) weighs on it: count runs + 1.
    return opTimes(events, runs + 1);
  } finally {
    await session.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "FusedMatMul 73 %, NchwcConv 6 %, …" for the first `n` ops. */
export function opSummary(ops: OpTime[], n = 6): string {
  return ops
    .slice(0, n)
    .map((o) => `${o.op} ${(o.share * 100).toFixed(0)} %`)
    .join(", ");
}
