#!/usr/bin/env bash
# The container image, tested for real (a CI step of its own, not part of `npm test`):
#   - starts its own dockerd (Debian's docker.io) with no bridge and no iptables, on a socket,
#     data-root and exec-root under a temp dir, so nothing collides with another Docker and no
#     private-range network ever exists; containers run with --network host only;
#   - builds the Dockerfile FROM a local base image (no registry serves base images here): a
#     minimal Debian bookworm made with debootstrap plus this machine's Node.js and npm, passed
#     through the NODE_IMAGE build argument; the base is cached between runs (not in the repo);
#   - checks: the image builds; the container, with the vit-gpt2 fixture mounted under /models,
#     answers a caption on 127.0.0.1 and its HEALTHCHECK turns healthy; it runs as non-root;
#     `docker stop` lets the captions in flight finish (200) and the container exits 0.
# Where docker cannot run (not root, no docker.io, dockerd does not start) it says why and exits
# 0 as skipped. Usage: bash scripts/docker-test.sh
#   SIGHTLINE_TEST_CACHE: cache folder (default /var/tmp/sightline-test-cache)
#   SIGHTLINE_DOCKER_TEST_BUDGET: seconds for the whole test (default 570); past it, it fails.
set -euo pipefail
export DOCKER_BUILDKIT=0 # the classic builder: builds with --network host, needs no buildx
cd "$(dirname "$0")/.."
repo=$(pwd)
started=$SECONDS
budget=${SIGHTLINE_DOCKER_TEST_BUDGET:-570}
say() { echo "docker-test: $*"; }
# Runs a command within what is left of the budget (timeout's exit status 124 when it ran out).
within() {
  local left=$((budget - (SECONDS - started)))
  [ "$left" -gt 0 ] || left=1
  timeout "$left" "$@"
}
skip() {
  say "SKIPPED: $*"
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root to start its own dockerd (CI runs as root)"
dockerd_bin=$(command -v dockerd || echo /usr/sbin/dockerd)
[ -x "$dockerd_bin" ] || skip "dockerd is not installed (scripts/ci-system-deps.sh installs Debian's docker.io)"
# Debian's client, which matches its daemon (another docker client may come first on PATH).
docker_bin=/usr/bin/docker
[ -x "$docker_bin" ] || docker_bin=$(command -v docker) || skip "no docker client"
fixture="$repo/../shared/fixtures/vit-gpt2"
[ -f "$fixture/config.json" ] || {
  say "FAILED: the vit-gpt2 fixture is missing ($fixture)"
  exit 1
}

tmp=$(mktemp -d /tmp/sightline-docker.XXXXXX)
sock="$tmp/docker.sock"
docker() { "$docker_bin" -H "unix://$sock" "$@"; }
dockerd_pid=""
cleanup() {
  set +e
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    docker rm -f sightline-test >/dev/null 2>&1
    kill "$dockerd_pid"
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$dockerd_pid" 2>/dev/null && kill -9 "$dockerd_pid"
  fi
  # Whatever dockerd left mounted under the temp dir, before removing it.
  grep -o " $tmp/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "stopped by a signal"; exit 143' TERM INT

# --- our own dockerd --------------------------------------------------------------------------
echo '{}' >"$tmp/daemon.json"
# Images and containers in memory: the build writes tens of thousands of small files, and the
# cleanup is an unmount instead of a long rm -rf. On disk where tmpfs cannot be mounted.
mkdir -p "$tmp/data"
mount -t tmpfs -o size=8g,mode=0700 sightline-docker-test "$tmp/data" 2>/dev/null ||
  say "data-root on disk (no tmpfs)"
"$dockerd_bin" --config-file "$tmp/daemon.json" --host "unix://$sock" --data-root "$tmp/data" \
  --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" --bridge=none --iptables=false \
  --ip6tables=false --ip-masq=false >"$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 120); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 0.5
done
if ! docker version >/dev/null 2>&1; then
  tail -n 15 "$tmp/dockerd.log" | sed 's/^/  dockerd: /'
  skip "dockerd did not start (its last log lines are above)"
fi
say "dockerd $(docker version --format '{{.Server.Version}}') up after $((SECONDS - started)) s, storage $(docker info --format '{{.Driver}}')"
# No network but host and none: nothing on a private range.
networks=$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')
[ "$networks" = "host none " ] || {
  say "FAILED: unexpected docker networks: $networks"
  exit 1
}

# --- the local base image: debootstrap bookworm + this machine's Node.js and npm --------------
node_bin=$(command -v node)
node_version=$("$node_bin" --version)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
cache="${SIGHTLINE_TEST_CACHE:-/var/tmp/sightline-test-cache}"
base_tar="$cache/bookworm-minbase-node-$node_version.tar"
if [ ! -f "$base_tar" ]; then
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || {
    say "FAILED: debootstrap is not installed (scripts/ci-system-deps.sh installs it)"
    exit 1
  }
  # The Debian archive apt uses here (its main archive, not security or third-party sources).
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^(URIs:|deb )' | tr ' ' '\n' | grep -E '^(https?|file)://.*/debian/?$' | head -n 1 || true)
  say "building the base image with debootstrap (bookworm minbase${mirror:+ from $mirror}; cached in $cache)"
  rootfs="$tmp/rootfs"
  mkdir -p "$cache/debs"
  within /usr/sbin/debootstrap --variant=minbase --cache-dir="$cache/debs" bookworm "$rootfs" ${mirror:+"$mirror"} >"$tmp/debootstrap.log" 2>&1 || {
    rc=$?
    tail -n 20 "$tmp/debootstrap.log"
    say "FAILED: debootstrap (exit $rc; 124 = out of the time budget)"
    exit 1
  }
  install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$cache"
  tar -C "$rootfs" -cf "$base_tar.partial" .
  mv "$base_tar.partial" "$base_tar"
fi
# npm in the image reaches the registry the way it does on this machine (same CA bundle, same
# global settings): a layer added over the cached base at each run, never cached.
docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' \
  --change 'CMD ["node"]' "$base_tar" sightline-test-rootfs:latest >/dev/null
extra="$tmp/base-extra"
mkdir -p "$extra/etc/ssl/certs" "$extra/usr/local/etc"
cp /etc/ssl/certs/ca-certificates.crt "$extra/etc/ssl/certs/" 2>/dev/null || true
global_npmrc=$(npm config get globalconfig 2>/dev/null || true)
[ ! -f "$global_npmrc" ] || cp "$global_npmrc" "$extra/usr/local/etc/npmrc"
printf 'FROM sightline-test-rootfs:latest\nCOPY . /\n' >"$extra/Dockerfile"
printf 'Dockerfile\n.dockerignore\n' >"$extra/.dockerignore"
base_image="sightline-test-base:bookworm-node-$node_version"
docker build -q --network host -t "$base_image" "$extra" >/dev/null
say "base image $base_image ready after $((SECONDS - started)) s"

# --- build ------------------------------------------------------------------------------------
within "$docker_bin" -H "unix://$sock" build --network host \
  --build-arg "NODE_IMAGE=$base_image" -t sightline-test:latest . >"$tmp/build.log" 2>&1 || {
  rc=$?
  tail -n 40 "$tmp/build.log"
  say "FAILED: docker build (exit $rc; 124 = out of the time budget)"
  exit 1
}
say "image built after $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' sightline-test:latest | awk '{printf "%.0f MB", $1/1e6}'))"

# --- run: a caption on 127.0.0.1 with the fixture model under /models -------------------------
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
docker run -d --name sightline-test --network host \
  -v "$(readlink -f "$fixture"):/models/vit-gpt2-image-captioning:ro" \
  -e SIGHTLINE_HOST=127.0.0.1 -e "SIGHTLINE_PORT=$port" \
  -e SIGHTLINE_DEFAULT_MODEL=vit-gpt2-image-captioning -e SIGHTLINE_PRELOAD=vit-gpt2-image-captioning \
  -e SIGHTLINE_THREADS=1 -e SIGHTLINE_OFFLINE=1 \
  --health-interval 1s --health-start-period 2m \
  sightline-test:latest >/dev/null
fail() {
  docker logs sightline-test 2>&1 | tail -n 30 | sed 's/^/  container: /'
  say "FAILED: $*"
  exit 1
}
health=""
for _ in $(seq 1 240); do
  health=$(docker inspect -f '{{.State.Health.Status}}' sightline-test 2>/dev/null || echo gone)
  [ "$health" = healthy ] || [ "$(docker inspect -f '{{.State.Running}}' sightline-test)" = false ] && break
  sleep 0.5
done
[ "$health" = healthy ] || fail "HEALTHCHECK on /readyz is '$health', not healthy"
say "container healthy (/readyz 200, model preloaded) after $((SECONDS - started)) s"

uid=$(docker exec sightline-test awk '/^Uid:/ {print $2}' /proc/1/status)
[ "$uid" != 0 ] || fail "PID 1 runs as root"
say "PID 1 runs as uid $uid ($(docker exec sightline-test id -un))"

expected=$(node --import tsx -e 'import { seedText } from "./test/helpers/fixtures.ts"; console.log(seedText("vit-gpt2"))')
image_b64=$(base64 -w0 "$fixture/image1.png")
printf '{"image":"%s"}' "$image_b64" >"$tmp/request.json"
describe() {
  curl -sS --max-time 120 -o "$1" -w '%{http_code}' -H 'content-type: application/json' --data-binary "@$tmp/request.json" \
    "http://127.0.0.1:$port/api/v1/vision/describe"
}
status=$(describe "$tmp/answer.json")
caption=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).result?.caption ?? "")' "$tmp/answer.json")
[ "$status" = 200 ] && [ "$caption" = "$expected" ] || fail "caption: HTTP $status, '$caption' (expected '$expected')"
say "caption on 127.0.0.1:$port: '$caption'"

# --- docker stop drains: captions in flight finish, exit code 0 -------------------------------
# Stop while captions are still waiting in the queue (a state, read from /metrics, not a delay): each
# of them must then be answered during the drain.
queued() {
  curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" |
    awk '/^sightline_queue_depth\{/ { d += $2 } END { print d + 0 }'
}
n=24
requests=()
for i in $(seq 1 $n); do
  (describe "$tmp/drain-$i.json" >"$tmp/drain-$i.status") &
  requests+=($!)
done
depth=0
for _ in $(seq 1 600); do
  depth=$(queued)
  [ "$depth" -ge $((n / 2)) ] && break
  sleep 0.05
done
[ "$depth" -ge $((n / 2)) ] || fail "the queue never held $((n / 2)) captions (depth $depth)"
within "$docker_bin" -H "unix://$sock" stop -t 60 sightline-test >/dev/null
wait "${requests[@]}" # not a bare wait: dockerd is a child too
for i in $(seq 1 $n); do
  [ "$(cat "$tmp/drain-$i.status")" = 200 ] || fail "request $i in flight at docker stop: HTTP $(cat "$tmp/drain-$i.status")"
done
code=$(docker inspect -f '{{.State.ExitCode}}' sightline-test)
[ "$code" = 0 ] || fail "exit code $code after docker stop"
# Answers sent after the server began shutting down: the drain, not luck.
drained=$(docker logs sightline-test 2>&1 | sed -n '/shutting down/,$p' | grep -c '"status":200' || true)
[ "$drained" -ge 1 ] || fail "no caption was answered while draining"
say "docker stop: $n captions in flight answered 200 ($drained while draining), container exited 0"
say "passed in $((SECONDS - started)) s"
