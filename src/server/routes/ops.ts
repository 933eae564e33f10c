// Operations routes: liveness, readiness, Prometheus metrics. /healthz and /readyz never need
// the API key (orchestrators probe them); /metrics does when a key is set.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Runtime } from "../runtime.js";

export function registerOps(
  app: FastifyInstance,
  runtime: Runtime,
  /** Whether a request carries the server's key (true when no key is set). */
  authorised: (req: FastifyRequest) => boolean,
): void {
  // The process is up and answering.
  app.get("/healthz", async () => ({ status: "ok" }));
  // Accepting work: false while draining for shutdown and until the --preload models are loaded.
  // Other models load on demand, so an unloaded model does not make the server unready. Anyone may
  // ask whether the server is ready; which models it has loaded is told only to a request with the key.
  app.get("/readyz", async (req, reply) => {
    if (runtime.isDraining)
      return reply.code(503).send({ status: "draining", error: "shutting down", code: "SHUTTING_DOWN" });
    // --preload models: not ready until they are loaded (a load balancer waits for them).
    const readiness = runtime.readiness;
    if (readiness === "loading")
      return reply.code(503).send({ status: "loading", error: "loading the --preload models" });
    if (readiness === "failed")
      return reply.code(503).send({ status: "failed", error: "a --preload model failed to load" });
    if (!authorised(req)) return { status: "ready" };
    return {
      status: "ready",
      defaultModel: runtime.registry.defaultModel,
      loaded: runtime.loaded().map((m) => m.name),
    };
  });
  app.get("/metrics", async (_req, reply) => {
    reply.type(runtime.metrics.contentType);
    return runtime.metrics.text();
  });
}
