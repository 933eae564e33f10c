#!/usr/bin/env bash
# System packages some tests use (installed from Debian; skipped when already present).
set -euo pipefail
need=()
command -v perl >/dev/null || need+=(perl)
# The try-it page's browser test (test/web/try-it.test.ts) drives Debian's Chromium.
command -v chromium >/dev/null || need+=(chromium)
# Deployment tests: test/deploy/haproxy.test.ts runs Debian's HAProxy, test/deploy/systemd.test.ts
# runs systemd-analyze verify, scripts/docker-test.sh starts its own dockerd (docker.io) and builds
# from a base image made with debootstrap.
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v systemd-analyze >/dev/null || need+=(systemd)
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
[ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    # Installing docker.io must not start a system dockerd (it would create the docker0 bridge on a
    # private range): no service starts during this install; tests start their own daemon.
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
    [ "$own_policy" = 0 ] || rm -f "$policy"
  else
    echo "ci-system-deps: missing ${need[*]} and not root" >&2
  fi
fi
