#!/usr/bin/env bash
# What bench/hf/reference.py (the Hugging Face transformers PyTorch reference that `sightline bench`
# compares against) needs from Debian: PyTorch 1.13 and numpy for Debian's own python3, plus the
# small pure-Python modules transformers imports. Skipped when already present. Not part of CI.
# The transformers source itself (v4.40.2) is not a Debian package: pass its checkout to the script
# with --transformers DIR (see bench/hf/README.md).
set -euo pipefail
PY=/usr/bin/python3
need=()
have() { [ -x "$PY" ] && "$PY" -c "import $1" 2>/dev/null; }
[ -x "$PY" ] || need+=(python3)
have torch || need+=(python3-torch)
have numpy || need+=(python3-numpy)
have packaging || need+=(python3-packaging)
have yaml || need+=(python3-yaml)
have requests || need+=(python3-requests)
have filelock || need+=(python3-filelock)
have tqdm || need+=(python3-tqdm)
have regex || need+=(python3-regex)
# The image processors (resize) run on PIL, as in the fixtures (PIL 9.4).
have PIL || need+=(python3-pil)
# Debian's torch calls whatever libblas.so.3 is installed: without OpenBLAS that is the reference BLAS,
# tens of times slower, which would make a meaningless reference. OpenBLAS (pthread build, Debian's
# default) registers itself as libblas.so.3 when installed.
dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed" ||
  need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "hf-reference-deps: missing ${need[*]} and not root (run: sudo $0)" >&2
    exit 1
  fi
fi
"$PY" -c 'import torch, numpy, PIL; print(f"torch {torch.__version__}, numpy {numpy.__version__}, PIL {PIL.__version__}")'
