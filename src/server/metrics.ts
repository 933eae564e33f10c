// Prometheus metrics of one server (its own registry, so several apps in one test process do not
// collide): HTTP requests, latency per model and stage, queue depth, loaded models, worker restarts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: "sightline_http_requests_total",
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "sightline_http_request_duration_seconds",
    help: "HTTP request latency by route",
    labelNames: ["route"] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  /** Stages: image (fetch + decode), queue (waiting), run (in the worker), preprocess, encode, decode, load. */
  readonly stageDuration = new Histogram({
    name: "sightline_stage_duration_seconds",
    help: "Time per model and processing stage",
    labelNames: ["model", "stage"] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly captions = new Counter({
    name: "sightline_captions_total",
    help: "Caption requests that reached a model queue, by outcome",
    labelNames: ["model", "outcome"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "sightline_queue_depth",
    help: "Requests waiting per model (not counting the running one)",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly modelLoaded = new Gauge({
    name: "sightline_model_loaded",
    help: "1 while a model's worker process is running",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly workerRss = new Gauge({
    name: "sightline_worker_rss_bytes",
    help: "Resident memory of a model's worker process as last reported",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly workerRestarts = new Counter({
    name: "sightline_worker_restarts_total",
    help: "Worker processes that died unexpectedly (crash or hung run)",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "sightline_" });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
