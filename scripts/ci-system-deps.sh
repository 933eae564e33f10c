#!/usr/bin/env bash
# System packages some tests use (installed from Debian; skipped when already present).
set -euo pipefail
need=()
command -v perl >/dev/null || need+=(perl)
# The try-it page's browser test (test/web/try-it.test.ts) drives Debian's Chromium.
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "ci-system-deps: missing ${need[*]} and not root" >&2
  fi
fi
