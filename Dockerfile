# Sightline container image (docs/deploy.md, "Docker").
#
#   docker build -t sightline .
#   docker run -d --name sightline -p 5000:5000 -v sightline-models:/models sightline
#   docker stop -t 60 sightline     # finishes queued captions (--drain-timeout, 30 s) and exits 0
#
# NODE_IMAGE: any Debian-based Node.js ≥ 20 image (an official Node LTS image by default).
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, compile TypeScript, then keep production dependencies only ------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: `prepare` (the build) runs below once the sources are here, and the native
# packages (onnxruntime-node, sharp) ship their Linux binaries inside the npm packages.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 # nsfwjs declares TensorFlow.js (about 270 MB) as a peer; Sightline reads only the weights it
 # bundles and runs them on its own engine, so TensorFlow.js is not needed at run time.
 && rm -rf node_modules/@tensorflow \
 # onnxruntime-node carries binaries for every platform; keep this one's (about 250 MB less).
 && keep="$(node -p 'process.platform + "/" + process.arch')" \
 && cd node_modules/onnxruntime-node/bin/napi-v6 \
 && for d in */*; do [ "$d" = "$keep" ] || rm -rf "$d"; done

# --- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    SIGHTLINE_HOST=0.0.0.0 \
    SIGHTLINE_PORT=5000 \
    SIGHTLINE_MODELS_DIR=/models
# An unprivileged user owns /models (downloaded and mounted models) and nothing else.
RUN groupadd --system --gid 10001 sightline \
 && useradd --system --uid 10001 --gid sightline --home-dir /models --no-create-home \
      --shell /usr/sbin/nologin sightline \
 && mkdir -p /models \
 && chown sightline:sightline /models
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY web ./web
USER sightline:sightline
VOLUME /models
EXPOSE 5000
# /readyz: 200 once the --preload models are loaded, 503 while draining for shutdown.
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SIGHTLINE_PORT || 5000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 (exec form, no shell in between): docker stop's SIGTERM reaches the server, which
# stops taking requests, finishes the queued ones (--drain-timeout), ends its model workers and
# exits 0. Give `docker stop -t` / compose's stop_grace_period more than the drain timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/sightline.js"]
CMD ["serve"]
