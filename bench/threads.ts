// 1 vs 2 (or any) ORT intra-op threads for each architecture's vision encoder and one-token decode step,
// on the full-size random checkpoints the benchmarks build. Each architecture's benchmark runs once with
// its sessions traced; then its encoder and decoder-step graphs get one session per thread count, and the
// sessions take turns on the same feeds (ABBA order), so load from other work on the machine falls on
// both alike. The figures are medians; the load average is printed with them.
//
//   node --import tsx bench/threads.ts [vit-gpt2 blip kosmos-2 florence-2] [--rounds N] [--threads 1,2] [--json FILE]
import { rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createSession, type Session, type Tensor } from "../src/graph/session.js";
import { oneTokenStep, STAGE_GRAPHS, StageRecorder } from "./lib/efficiency.js";
import { alternate } from "./lib/alternate.js";
import { median } from "./lib/random-safetensors.js";
import type { BenchOptions, BenchResult } from "./lib/result.js";

type Arch = BenchResult["arch"];
const ARCHES: Arch[] = ["vit-gpt2", "blip", "kosmos-2", "florence-2"];

export interface ThreadFigures {
  arch: Arch;
  stage: "encoder" | "decode";
  graph: string;
  /** Median wall ms per thread count. */
  ms: Record<number, number>;
  runs: number;
  loadAverage: { before: number[]; after: number[] };
}

const loadNow = () => loadavg().map((l) => Math.round(l * 100) / 100);
const isOneToken = (feeds: Readonly<Record<string, Tensor>>) =>
  oneTokenStep({ feeds: { input_ids: [...(feeds.input_ids?.dims ?? [])] }, ms: 0, cpuMs: 0 });

export async function compareThreads(
  arch: Arch,
  threadCounts: number[],
  rounds: number,
): Promise<ThreadFigures[]> {
  const names = STAGE_GRAPHS[arch];
  const recorder = new StageRecorder(
    (graph, feeds) => names.encoder.test(graph) || (names.decode.test(graph) && isOneToken(feeds)),
  );
  const bench = (await import(`./${arch}.ts`)) as { run(o: BenchOptions): Promise<BenchResult> };
  recorder.start();
  try {
    await bench.run({ runs: 1, keep: true, verbose: false });
  } finally {
    recorder.stop();
  }
  const results: ThreadFigures[] = [];
  let folder: string | undefined;
  for (const stage of ["encoder", "decode"] as const) {
    const entry = [...recorder.graphs.values()].find((e) => names[stage].test(e.graph.name));
    if (!entry?.kept) throw new Error(`${arch}: no ${stage} run was traced`);
    folder = entry.store?.dataFolder();
    const sessions: Session[] = [];
    try {
      for (const threads of threadCounts)
        sessions.push(await createSession(entry.graph, entry.store, { threads }));
      const before = loadNow();
      const feeds = entry.kept;
      const times = await alternate(
        sessions.map((s) => () => s.run(feeds)),
        stage === "encoder" ? rounds : rounds * 5,
      );
      const ms = Object.fromEntries(threadCounts.map((t, i) => [t, median(times[i])]));
      results.push({
        arch,
        stage,
        graph: entry.graph.name,
        ms,
        runs: times[0].length,
        loadAverage: { before, after: loadNow() },
      });
      const line = threadCounts.map((t) => `${t} thread(s) ${ms[t].toFixed(1)} ms`).join(", ");
      console.log(
        `${arch} ${stage} (${entry.graph.name}): ${line}; load average ${before[0]}→${loadNow()[0]}`,
      );
    } finally {
      await Promise.all(sessions.map((s) => s.release()));
    }
    delete entry.kept;
  }
  // Kosmos-2's 3.3 GB checkpoint is kept only when asked for (as bench/kosmos-2.ts does).
  if (arch === "kosmos-2" && folder && !process.argv.includes("--keep"))
    rmSync(folder, { recursive: true, force: true });
  return results;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "4" },
    threads: { type: "string", default: "1,2" },
    json: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const arches = (positionals.length ? positionals : ARCHES) as Arch[];
const all: ThreadFigures[] = [];
for (const arch of arches) {
  all.push(...(await compareThreads(arch, values.threads.split(",").map(Number), Number(values.rounds))));
  if (values.json) writeFileSync(values.json, JSON.stringify(all, null, 2));
}
