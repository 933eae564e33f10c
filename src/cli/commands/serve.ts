// sightline serve — the HTTP service (describe API, Florence API, operations routes).
// SIGTERM/SIGINT: /readyz turns 503, stop accepting, finish what is queued (at most
// --drain-timeout), exit 0. --preload models load after the server listens (/readyz says 503
// until they are loaded); a preload that fails ends the server with exit code 1.
import { build } from "../../server/app.js";
import type { Logger } from "pino";
import { createLogger } from "../../server/logging.js";
import { parseServeConfig, serveHelp } from "../../server/config.js";
import { Runtime } from "../../server/runtime.js";
import { resolveModel } from "../../hub/index.js";
import { nsfwVariantNamed } from "../../nsfw/bundled.js";

export async function run(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(serveHelp());
    return 0;
  }
  const config = parseServeConfig(argv);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const runtime = new Runtime({
    models: config.models,
    modelsDir: config.modelsDir,
    defaultModel: config.defaultModel,
    florenceModel: config.florenceModel,
    offline: config.offline,
    allowPull: config.allowPull,
    safetensorsOnly: config.safetensorsOnly,
    hub: (ref, options) =>
      resolveModel(ref, {
        offline: options.offline || undefined,
        cacheDir: options.cacheDir,
        safetensorsOnly: config.safetensorsOnly,
      }),
    loaderModule: config.workerLoader,
    threads: config.threads,
    quantize: config.quantize,
    maxQueue: config.maxQueue,
    maxBatch: config.maxBatch,
    idleUnloadSeconds: config.idleUnload,
    requestTimeoutSeconds: config.requestTimeout,
    busyStatus: config.busyStatus as 429 | 503,
    nsfwModel: config.nsfwModel.toLowerCase() === "off" ? "off" : nsfwVariantNamed(config.nsfwModel),
    nsfwThreshold: config.nsfwThreshold,
    preload: config.preload,
    maxLoadedModels: config.maxLoadedModels,
    logger,
  });
  const app = await build({
    runtime,
    loggerInstance: logger,
    apiKey: config.apiKey,
    allowPrivateUrls: config.allowPrivateUrls,
    maxImageBytes: Math.round(config.maxImageMb * 1024 * 1024),
    maxPixels: config.maxPixels,
    fetchTimeoutSeconds: config.fetchTimeout,
    florenceMaxNewTokens: config.florenceMaxNewTokens,
    modelMaxPixels: config.modelMaxPixels,
    labelsModel: config.labelsModel,
    labelsTask: config.labelsTask,
  });
  // fastify prints the start line (once per address it listens on).
  await app.listen({
    host: config.host,
    port: config.port,
    listenTextResolver: (address) => `sightline listening on ${address}`,
  });
  await logModels(runtime, logger);

  return new Promise<number>((resolve) => {
    let stopping = false;
    let exitCode = 0;
    const stop = async (signal: string) => {
      if (stopping) {
        // A second signal while draining: the operator does not want to wait.
        logger.warn({ signal }, "second signal: exiting without finishing the queue");
        logger.flush?.();
        process.exit(1);
      }
      stopping = true;
      const drainMs = config.drainTimeout * 1000;
      logger.info({ signal, drainMs }, "shutting down: no new requests, finishing queued work");
      runtime.beginDrain();
      // app.close() waits for requests in flight; past the drain time what still waits is failed.
      const closing = app.close();
      // Idle keep-alive connections would otherwise hold close() until their timeout.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      await runtime.close(drainMs);
      await closing;
      clearInterval(sweep);
      logger.info("stopped");
      logger.flush?.();
      resolve(exitCode);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    if (runtime.preloads.length > 0) {
      const started = performance.now();
      runtime.preload().then(
        () =>
          logger.info(
            { models: runtime.preloads, ms: Math.round(performance.now() - started) },
            "preloaded, ready",
          ),
        (e: unknown) => {
          if (stopping) return; // shutdown began while loading
          logger.error({ err: e }, `--preload failed: ${(e as Error).message}`);
          exitCode = 1;
          void stop("preload failure");
        },
      );
    }
  });
}

/** What the server offers, once at start: names, the default, whether requests may download. */
async function logModels(runtime: Runtime, logger: Logger): Promise<void> {
  const { registry } = runtime;
  const models = (await runtime.servable()).map((e) => e.name);
  const downloads = registry.offline
    ? "never (--offline)"
    : registry.allowPull
      ? "any alias (--allow-pull)"
      : "configured models only";
  const fields = {
    models,
    defaultModel: registry.defaultModel,
    florenceModel: registry.florenceModel,
    downloads,
  };
  if (models.length === 0) {
    logger.warn(
      fields,
      "no model to serve yet: start with --model NAME=DIR, fetch one with `sightline models pull kosmos-2`, or allow downloads with --allow-pull",
    );
    return;
  }
  logger.info(fields, `serving ${models.join(", ")} (default ${registry.defaultModel})`);
}
