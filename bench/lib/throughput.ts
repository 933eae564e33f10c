// Throughput with batching across requests (`sightline bench ARCH --concurrency N`): captions per
// second with one client (each caption waits for the last) and with N clients at once, whose
// requests share decoder steps as in a `serve` worker with --max-batch N (same code: queue/batching.ts),
// plus the latency of each caption at N clients. Same model, same image, same process, one after the other.
import { loadavg } from "node:os";
import type { Captioner, CaptionOptions, RgbImage } from "../../src/models/types.js";
import { batchRequests } from "../../src/queue/batching.js";
import { untimed } from "./efficiency.js";
import { cpuMs } from "./result.js";

export interface ThroughputResult {
  /** Captions per second with 1 client and with N (`c${N}`) clients. */
  throughput: Record<string, number>;
  /** Each caption's wall time at N clients, ms. */
  latency: { concurrency: number; p50Ms: number; p95Ms: number };
  /** Process CPU time per caption (all threads), ms: what other work on the machine disturbs least. */
  cpuMsPerCaption: Record<string, number>;
  /** The machine's 1-minute load average before and after (other work on the machine). */
  throughputLoadAverage: [number, number];
}

/** p in [0, 1]: nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * `concurrency` clients each asking for `perClient` captions, one after another; at concurrency 1
 * the same number of captions. Nothing when `concurrency` is not given.
 */
export async function measureThroughput(
  model: Captioner,
  image: RgbImage,
  caption: CaptionOptions,
  concurrency: number | undefined,
  log: (line: string) => void = console.log,
  perClient = 2,
): Promise<Partial<ThroughputResult>> {
  if (!concurrency) return {};
  return untimed(() => measure(model, image, caption, concurrency, log, perClient));
}

async function measure(
  model: Captioner,
  image: RgbImage,
  caption: CaptionOptions,
  concurrency: number,
  log: (line: string) => void,
  perClient: number,
): Promise<ThroughputResult> {
  const load0 = loadavg()[0];
  const total = concurrency * perClient;
  const cpu1 = cpuMs();
  const t1 = performance.now();
  for (let i = 0; i < total; i++) await model.caption(image, caption);
  const c1 = total / ((performance.now() - t1) / 1000);
  const cpuC1 = (cpuMs() - cpu1) / total;

  const shared = batchRequests(model, concurrency);
  const latencies: number[] = [];
  const cpuN = cpuMs();
  const tn = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < perClient; i++) {
        const s = performance.now();
        await model.caption(image, caption);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const cn = total / ((performance.now() - tn) / 1000);
  const cpuCn = (cpuMs() - cpuN) / total;
  batchRequests(model, 1);
  const result: ThroughputResult = {
    throughput: { c1, [`c${concurrency}`]: cn },
    latency: { concurrency, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95) },
    cpuMsPerCaption: { c1: cpuC1, [`c${concurrency}`]: cpuCn },
    throughputLoadAverage: [load0, loadavg()[0]],
  };
  log(
    `\nthroughput, ${total} captions: 1 client ${c1.toFixed(2)}/s, ${concurrency} clients ${cn.toFixed(2)}/s ` +
      `(${(cn / c1).toFixed(2)}×${shared > 1 ? "" : ", not batched: the model has no shared decoder"}); ` +
      `latency at ${concurrency}: p50 ${result.latency.p50Ms.toFixed(0)} ms, p95 ${result.latency.p95Ms.toFixed(0)} ms; ` +
      `CPU per caption ${cpuC1.toFixed(0)} → ${cpuCn.toFixed(0)} ms; load average ${load0.toFixed(2)} → ${result.throughputLoadAverage[1].toFixed(2)}`,
  );
  return result;
}
