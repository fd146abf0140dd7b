#!/usr/bin/env bash
# One-shot check of the CUDA path on a GPU machine (one NVIDIA GPU, PyTorch with CUDA, a CUDA
# toolkit, no network, no Debian -dev packages). Run from the repository root, as root, with
# .gpu-deps/ (filled by scripts/gpu-check-prepare.sh) carried along:
#   bash scripts/gpu-check.sh
# Stages, each timed, each failing fast with its name:
#   env      what the machine has (GPU, torch, CUDA toolkit, compiler)
#   unpack   .gpu-deps/*.deb into $PREFIX (dpkg-deb, else python), cmake/ninja/pkgconf wheels
#   build    bertfleet-worker and nccl_group_link_check: BERTFLEET_CUDA=ON against torch's LibTorch
#   nccl     nccl_group_link_check: 1-rank group on the GPU; then the join timeout (not fatal)
#   model    a random bert-base-uncased-sized model (transformers BertConfig defaults) + tokenizer
#   bertfleet  bertfleet-worker train: 1 epoch MRPC, bf16, cuda, 1-rank NCCL communicator
#   data-parallel  scripts/data_parallel_check.py: 2 NCCL ranks (batch 8) vs 1 rank (batch 16) on
#                  this one GPU (one NCCL_HOSTID per rank), fp32, dropout 0: same losses, weights and
#                  evaluation; ranks 0 and 1 of 3 without rank 2 must fail, rank 0 naming rank 2. Not fatal for the stages after
#                  it; the check ends FAILED if it failed
#   bertfleet-packed  the same with BERTFLEET_PACKING=1 (packed layout; the default on CPUs, padded is the default on CUDA), for comparison; not fatal
#   hf       bench/hf_trainer_run.py (transformers Trainer) with the same job on the same GPU
# Everything printed also goes to $OUT/gpu-check.log when $OUT is set.
# Environment knobs: PYTHON, CUDA_HOME, GPU_CHECK_WORK (default /tmp/bertfleet-gpu-check),
# GPU_CHECK_PREFIX (default /tmp/bertfleet-prefix), GPU_CHECK_JOBS (default nproc),
# GPU_CHECK_SKIP_RUN=1 (stop after the build: a dry run on a machine without a GPU),
# GPU_CHECK_TORCH_CMAKE (LibTorch's share/cmake instead of asking python's torch),
# GPU_CHECK_EXTRA_LINK_FLAGS (e.g. -Wl,--allow-shlib-undefined for a dry run without the nvidia
# runtime libraries), GPU_CHECK_MAX_STEPS (cap both trainings; default: the full epoch),
# GPU_CHECK_SET ("key=value ..." job-spec overrides for both trainings) and GPU_CHECK_DEVICE=cpu
# (a rehearsal of the run stages without a GPU: no NCCL stage, both trainings on the CPU).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.gpu-deps"
WORK="${GPU_CHECK_WORK:-/tmp/bertfleet-gpu-check}"
PREFIX="${GPU_CHECK_PREFIX:-/tmp/bertfleet-prefix}"
BUILD="$WORK/build"
PYTHON="${PYTHON:-python3}"
JOBS="${GPU_CHECK_JOBS:-$(nproc 2>/dev/null || echo 8)}"
SKIP_RUN="${GPU_CHECK_SKIP_RUN:-0}"
MAX_STEPS="${GPU_CHECK_MAX_STEPS:--1}"
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
SETS=()
for assignment in ${GPU_CHECK_SET:-}; do SETS+=(--set "$assignment"); done
MULTIARCH=x86_64-linux-gnu
export PYTHONUNBUFFERED=1

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  exec > >(tee -a "$OUT/gpu-check.log") 2>&1
  TEE_PID=$!
fi

SCRIPT_START=$(date +%s.%N)
STAGE=start
STAGE_START=$SCRIPT_START
TIMINGS=()

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
end_stage() {
  if [ "$STAGE" != start ]; then
    local seconds
    seconds=$(elapsed "$STAGE_START")
    TIMINGS+=("$STAGE ${seconds}s")
    echo "-- stage $STAGE: ok in ${seconds}s"
  fi
}
stage() {
  end_stage
  STAGE="$1"
  STAGE_START=$(date +%s.%N)
  echo
  echo "== stage $STAGE: $2 (at $(elapsed "$SCRIPT_START")s)"
}
finish() {
  local code=$?
  if [ "$code" -ne 0 ]; then
    echo
    echo "gpu-check: FAILED in stage '$STAGE' (exit code $code) after $(elapsed "$SCRIPT_START")s"
    [ ${#TIMINGS[@]} -gt 0 ] && printf '  done before: %s\n' "${TIMINGS[@]}"
  fi
  if [ -n "${OUT:-}" ] && [ -d "$WORK" ]; then  # the raw outputs in one file, for after the machine is gone
    (cd "$WORK" && tar -czf "$OUT/gpu-check-files.tar.gz" --ignore-failed-read *.log *.json *.stderr *.yaml data-parallel/*/*.jsonl data-parallel/*/job.yaml 2>/dev/null) || true
  fi
  if [ -n "${TEE_PID:-}" ]; then
    exec 1>&- 2>&-
    wait "$TEE_PID" 2>/dev/null || true
  fi
  exit "$code"
}
trap finish EXIT
die() { echo "gpu-check: stage $STAGE: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found${2:+: $2}"; }
# train_samples_per_second of the last epoch row (a JSON object line; Trainer's own log lines are
# python dicts and are skipped).
epoch_rate() {
  "$PYTHON" - "$1" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith('{"')]
print(rows[-1]["train_samples_per_second"])
EOF
}

# ---------------------------------------------------------------------------------------------
stage env "what this machine has"
cd "$ROOT"
[ -d "$DEPS" ] || die "no $DEPS: run scripts/gpu-check-prepare.sh where there is network, then carry .gpu-deps"
need "$PYTHON" "set PYTHON to the python that has torch"
echo "repo: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
echo "os: $( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -a); $(ldd --version 2>/dev/null | head -1)"
echo "cpus: $JOBS build jobs; python: $("$PYTHON" --version 2>&1)"
GPU_NAME="none"
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" || GPU_NAME="nvidia-smi failed"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
echo "gpu: $GPU_NAME"

if [ -n "${GPU_CHECK_TORCH_CMAKE:-}" ]; then
  TORCH_CMAKE="$GPU_CHECK_TORCH_CMAKE"
else
  "$PYTHON" - <<'EOF' || die "python's torch is missing or broken"
import torch
try:
    nccl = torch.cuda.nccl.version()
    nccl = ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl)
except Exception as error:
    nccl = f"? ({error})"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuda available: {torch.cuda.is_available()}, "
      f"devices: {torch.cuda.device_count()}, torch's NCCL {nccl}")
try:
    import transformers
    print(f"transformers {transformers.__version__}")
except Exception as error:  # reported again, fatally, in stage hf
    print(f"transformers: not importable: {error}")
EOF
  TORCH_CMAKE="$("$PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
fi
[ -f "$TORCH_CMAKE/Torch/TorchConfig.cmake" ] || die "no Torch/TorchConfig.cmake under $TORCH_CMAKE"
echo "LibTorch cmake: $TORCH_CMAKE"

# The CUDA toolkit (nvcc: LibTorch's CMake config enables the CUDA language).
CUDA_ROOT=""
for candidate in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda "$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/x)")")" \
    "$("$PYTHON" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))' 2>/dev/null || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/nvcc" ]; then CUDA_ROOT="$candidate"; break; fi
done
[ -n "$CUDA_ROOT" ] || die "no CUDA toolkit with bin/nvcc (set CUDA_HOME)"
echo "CUDA toolkit: $CUDA_ROOT ($("$CUDA_ROOT/bin/nvcc" --version | grep -o 'release [0-9.]*' || echo '?'))"
CXX_COMPILER="${CXX:-$(command -v c++ || command -v g++ || true)}"
[ -n "$CXX_COMPILER" ] || die "no C++ compiler (c++/g++)"
echo "C++ compiler: $CXX_COMPILER ($("$CXX_COMPILER" --version | head -1))"

# pip's CUDA libraries beside torch (site-packages/nvidia/*/lib): the linker needs them to check
# libtorch_cuda.so's own dependencies (cusparseLt, cufile, nvshmem, ...), which its RPATH finds
# at run time. --allow-shlib-undefined keeps a missing one from failing the link: the run stages
# would then report it.
SITE_PACKAGES="$(cd "$TORCH_CMAKE/../../.." && pwd)"
NVIDIA_LIB_DIRS="$( (ls -d "$SITE_PACKAGES"/nvidia/*/lib 2>/dev/null || true) | paste -sd: -)"
LINK_FLAGS="-Wl,--allow-shlib-undefined${NVIDIA_LIB_DIRS:+ -Wl,-rpath-link,$NVIDIA_LIB_DIRS}${GPU_CHECK_EXTRA_LINK_FLAGS:+ $GPU_CHECK_EXTRA_LINK_FLAGS}"
echo "pip CUDA libraries: ${NVIDIA_LIB_DIRS:-none found beside torch}"

# ---------------------------------------------------------------------------------------------
stage unpack "carried .debs into $PREFIX, build tools from wheels"
rm -rf "$PREFIX"
mkdir -p "$PREFIX/tools"
shopt -s nullglob
DEB_FILES=("$DEPS"/*.deb)
[ ${#DEB_FILES[@]} -gt 0 ] || die "no .deb files in $DEPS"
for deb in "${DEB_FILES[@]}"; do
  if command -v dpkg-deb >/dev/null 2>&1; then
    dpkg-deb -x "$deb" "$PREFIX"
  else
    # A .deb is an ar archive holding data.tar.{xz,gz,zst}; python reads ar and tar.xz/gz.
    "$PYTHON" - "$deb" "$PREFIX" <<'EOF'
import io, sys, tarfile
deb, prefix = sys.argv[1], sys.argv[2]
data = open(deb, "rb").read()
assert data[:8] == b"!<arch>\n", f"{deb}: not an ar archive"
pos = 8
while pos + 60 <= len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    pos += 60 + size + (size & 1)
    if name.startswith("data.tar"):
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            if hasattr(tarfile, "fully_trusted_filter"):
                tar.extractall(prefix, filter="fully_trusted")
            else:
                tar.extractall(prefix)
        break
else:
    sys.exit(f"{deb}: no data.tar member")
EOF
  fi
done
for lib in libcrypto.so libyaml-cpp.so libutf8proc.so; do
  [ -e "$PREFIX/usr/lib/$MULTIARCH/$lib" ] || die "unpacking did not give usr/lib/$MULTIARCH/$lib"
done
for wheel in cmake ninja pkgconf; do
  files=("$DEPS/wheels/$wheel-"*.whl)
  [ ${#files[@]} -gt 0 ] || die "no $wheel wheel in $DEPS/wheels"
  "$PYTHON" -m zipfile -e "${files[0]}" "$PREFIX/tools/"
done
CMAKE="$PREFIX/tools/cmake/data/bin/cmake"
NINJA="$(echo "$PREFIX"/tools/ninja-*.data/scripts/ninja)"
PKGCONF="$PREFIX/tools/pkgconf/.bin/pkgconf"
chmod +x "$PREFIX"/tools/cmake/data/bin/* "$NINJA" "$PKGCONF"
"$CMAKE" --version | head -1
echo "ninja $("$NINJA" --version), pkgconf $("$PKGCONF" --version)"

# ---------------------------------------------------------------------------------------------
stage build "configure + build (BERTFLEET_CUDA=ON, -j$JOBS)"
# pkg-config answers from the unpacked prefix only (utf8proc), with its paths moved there.
export PKG_CONFIG_SYSROOT_DIR="$PREFIX"
export PKG_CONFIG_LIBDIR="$PREFIX/usr/lib/$MULTIARCH/pkgconfig:$PREFIX/usr/share/pkgconfig"
export PKG_CONFIG_PATH=""
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"  # no .cu files; keeps detection quiet
export PATH="$CUDA_ROOT/bin:$PATH"
mkdir -p "$WORK"
[ "${GPU_CHECK_KEEP_BUILD:-0}" = 1 ] || rm -rf "$BUILD"  # KEEP_BUILD=1: incremental, for local retries
"$CMAKE" -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_MAKE_PROGRAM="$NINJA" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$CXX_COMPILER" \
  -DBERTFLEET_CUDA=ON -DBERTFLEET_SERVICES=OFF -DBERTFLEET_TESTS=OFF -DBERTFLEET_DOWNLOADS=OFF -DBERTFLEET_TRACKING=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PREFIX/usr" \
  -DTORCH_LIBRARY="$(dirname "$(dirname "$TORCH_CMAKE")")/lib/libtorch.so" \
  -Dnlohmann_json_DIR="$PREFIX/usr/share/cmake/nlohmann_json" \
  -Dyaml-cpp_DIR="$PREFIX/usr/lib/$MULTIARCH/cmake/yaml-cpp" \
  -DOPENSSL_ROOT_DIR="$PREFIX/usr" -DOPENSSL_INCLUDE_DIR="$PREFIX/usr/include" \
  -DOPENSSL_CRYPTO_LIBRARY="$PREFIX/usr/lib/$MULTIARCH/libcrypto.so" \
  -DOPENSSL_SSL_LIBRARY="$PREFIX/usr/lib/$MULTIARCH/libssl.so" \
  -DCMAKE_CXX_FLAGS="-isystem $PREFIX/usr/include/$MULTIARCH" \
  -DCMAKE_EXE_LINKER_FLAGS="$LINK_FLAGS" \
  -DPKG_CONFIG_EXECUTABLE="$PKGCONF" \
  -DCUDAToolkit_ROOT="$CUDA_ROOT" -DCUDA_TOOLKIT_ROOT_DIR="$CUDA_ROOT" \
  -DCMAKE_CUDA_COMPILER="$CUDA_ROOT/bin/nvcc" \
  > "$WORK/configure.log" 2>&1 || { tail -60 "$WORK/configure.log"; die "cmake configure failed (log above)"; }
grep -E "NCCL|Found Torch|CUDA detected|CUDA toolkit directory|Found OpenSSL|libutf8proc" "$WORK/configure.log" || true
configured=$(elapsed "$STAGE_START")
echo "configured in ${configured}s"
"$NINJA" -C "$BUILD" -j"$JOBS" bertfleet-worker nccl_group_link_check > "$WORK/build.log" 2>&1 ||
  { grep -E -B2 -A12 "error|FAILED" "$WORK/build.log" | head -120; die "build failed (errors above)"; }
tail -2 "$WORK/build.log"
WORKER="$BUILD/worker/bertfleet-worker"
[ -x "$WORKER" ] || die "no $WORKER"

if [ "$SKIP_RUN" = 1 ]; then
  end_stage
  echo
  echo "gpu-check: GPU_CHECK_SKIP_RUN=1: stopping after the build ($(elapsed "$SCRIPT_START")s)"
  printf '  %s\n' "${TIMINGS[@]}"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
stage nccl "nccl_group on the GPU: 1-rank group, collectives, join timeout"
# One host, one process per group: NCCL's bootstrap over loopback needs no network set-up.
export NCCL_SOCKET_IFNAME="${NCCL_SOCKET_IFNAME:-lo}" NCCL_DEBUG="${NCCL_DEBUG:-WARN}"
NCCL_OK=1
if [ "$DEVICE" != cuda ]; then
  echo "GPU_CHECK_DEVICE=$DEVICE: a rehearsal without a GPU, NCCL not run"
elif ! timeout 60 "$BUILD/nccl_group_link_check"; then
  NCCL_OK=0
  echo "gpu-check: NCCL FAILED on this machine; the trainings below run without it (BERTFLEET_NCCL=0)"
  echo "           and the check ends FAILED after them"
fi
# Joining a 2-rank group alone must end in an Error after its 2 s timeout (ncclCommAbort of an
# initialising communicator). Informative: a failure here does not stop the check.
if [ "$NCCL_OK" = 1 ] && [ "$DEVICE" = cuda ]; then
  timeout 30 "$BUILD/nccl_group_link_check" --timeout-check | grep "timeout check" ||
    echo "timeout check: FAILED or hung (exit ${PIPESTATUS[0]}); not fatal"
fi
[ "$NCCL_OK" = 1 ] || export BERTFLEET_NCCL=0

# ---------------------------------------------------------------------------------------------
stage model "random bert-base-uncased-sized model + MRPC data"
DATA="$DEPS/data"
MODEL="$WORK/model"
rm -rf "$MODEL"
"$PYTHON" - "$MODEL" "$DATA/bert-base-uncased" <<'EOF' || die "could not create the model"
import shutil, sys
import torch
from transformers import BertConfig, BertForSequenceClassification
model_dir, tokenizer_dir = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
config = BertConfig(num_labels=2)  # bert-base-uncased: 12 layers, 768 hidden, vocab 30522
model = BertForSequenceClassification(config)
model.save_pretrained(model_dir)  # safetensors (transformers 4.x default, 5.x only format)
for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json"]:
    shutil.copy(f"{tokenizer_dir}/{name}", f"{model_dir}/{name}")
print(f"{model_dir}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")
EOF
JOB="$WORK/mrpc-gpu.yaml"
cat > "$JOB" <<EOF
model: $MODEL
task: mrpc
data: $DATA/mrpc
max_seq_length: 128
learning_rate: 2.0e-5
weight_decay: 0.01
num_train_epochs: 1
max_steps: $MAX_STEPS
per_device_train_batch_size: 16
per_device_eval_batch_size: 16
bf16: true
device: $DEVICE
eval_strategy: epoch
save_strategy: "no"
seed: 42
EOF
cat "$JOB"

# ---------------------------------------------------------------------------------------------
stage bertfleet "bertfleet-worker train (1 epoch MRPC, bf16, $DEVICE, NCCL world size 1)"
rm -rf "$WORK/bertfleet-out"
timeout 300 "$WORKER" train --job "$JOB" --output "$WORK/bertfleet-out" --json "${SETS[@]}" \
  > "$WORK/bertfleet.json" 2> "$WORK/bertfleet.stderr" || { tail -40 "$WORK/bertfleet.stderr"; die "bertfleet-worker train failed"; }
cat "$WORK/bertfleet.stderr" "$WORK/bertfleet.json"
if [ "$NCCL_OK" = 1 ] && [ "$DEVICE" = cuda ]; then
  grep -q "^communicator: nccl" "$WORK/bertfleet.stderr" || die "no 'communicator: nccl' line in the train log"
fi
epoch_rate "$WORK/bertfleet.json" >/dev/null ||
  die "no epoch row with train_samples_per_second in the output"

# ---------------------------------------------------------------------------------------------
stage data-parallel "2-rank NCCL group on this GPU vs 1 rank (fp32, dropout 0) + a missing rank"
DATA_PARALLEL_OK=1
rm -rf "$WORK/data-parallel"
if ! timeout 420 "$PYTHON" "$ROOT/scripts/data_parallel_check.py" --worker "$WORKER" --model "$MODEL" \
    --data "$DATA/mrpc" --device "$DEVICE" --work "$WORK/data-parallel" > "$WORK/data-parallel.log" 2>&1; then
  DATA_PARALLEL_OK=0
fi
tail -20 "$WORK/data-parallel.log"

# ---------------------------------------------------------------------------------------------
stage bertfleet-packed "bertfleet-worker train again with BERTFLEET_PACKING=1 (packed layout; informative, not fatal)"
rm -rf "$WORK/bertfleet-packed-out"
if BERTFLEET_PACKING=1 timeout 300 "$WORKER" train --job "$JOB" --output "$WORK/bertfleet-packed-out" --json "${SETS[@]}" \
    > "$WORK/bertfleet-packed.json" 2> "$WORK/bertfleet-packed.stderr"; then
  cat "$WORK/bertfleet-packed.json"
else
  echo "bertfleet-worker train with BERTFLEET_PACKING=1 failed (not fatal):"
  tail -20 "$WORK/bertfleet-packed.stderr"
  : > "$WORK/bertfleet-packed.json"
fi

# ---------------------------------------------------------------------------------------------
stage hf "Hugging Face Trainer, same job, same device ($DEVICE)"
HF_PYTHONPATH=""
if ! "$PYTHON" -c 'import accelerate' 2>/dev/null; then
  echo "accelerate is missing: installing the carried wheel into $WORK/pysite"
  wheels=("$DEPS/wheels/accelerate-"*.whl)
  "$PYTHON" -c 'import psutil' 2>/dev/null || wheels+=("$DEPS/wheels/psutil-"*.whl)
  "$PYTHON" -m pip install --quiet --no-index --no-deps --target "$WORK/pysite" "${wheels[@]}" ||
    die "could not install accelerate"
  HF_PYTHONPATH="$WORK/pysite"
fi
rm -rf "$WORK/hf-out"
PYTHONPATH="$HF_PYTHONPATH${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
  timeout 300 "$PYTHON" "$ROOT/bench/hf_trainer_run.py" --job "$JOB" --model-dir "$MODEL" --data-dir "$DATA/mrpc" \
  --output "$WORK/hf-out" --device "$DEVICE" "${SETS[@]}" > "$WORK/hf.json" 2> "$WORK/hf.stderr" ||
  { tail -60 "$WORK/hf.stderr"; die "hf_trainer_run.py failed"; }
tail -15 "$WORK/hf.stderr"
cat "$WORK/hf.json"
epoch_rate "$WORK/hf.json" >/dev/null ||
  die "no epoch row with train_samples_per_second in the HF output"

end_stage
echo
echo "== summary"
echo "gpu: $GPU_NAME"
"$PYTHON" - "$WORK/bertfleet.json" "$WORK/hf.json" "$WORK/bertfleet-packed.json" <<'EOF'
import json, sys
def last(path):
    rows = [json.loads(l) for l in open(path) if l.startswith('{"')]
    return rows[-1] if rows else None
bf, hf, packed = last(sys.argv[1]), last(sys.argv[2]), last(sys.argv[3])
def get(row, key):
    value = row.get(key)
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"
print(f"{'':17} {'samples/s':>10} {'train_loss':>10} {'eval_acc':>9} {'eval_f1':>8}")
for name, row in (("bertfleet", bf), ("bertfleet-packed", packed), ("hf", hf)):
    if row:
        print(f"{name:17} {row['train_samples_per_second']:10.1f} {get(row, 'train_loss'):>10} "
              f"{get(row, 'eval_accuracy'):>9} {get(row, 'eval_f1'):>8}")
print(f"bertfleet/hf samples/s ratio: {bf['train_samples_per_second'] / hf['train_samples_per_second']:.2f}")
if packed:
    print(f"bertfleet-packed/hf samples/s ratio: {packed['train_samples_per_second'] / hf['train_samples_per_second']:.2f}")
EOF
printf '  %s\n' "${TIMINGS[@]}"
if [ "$DATA_PARALLEL_OK" != 1 ]; then
  STAGE=data-parallel
  echo "gpu-check: FAILED: the data-parallel check failed (stage data-parallel above)"
  exit 1
fi
if [ "$NCCL_OK" != 1 ]; then
  STAGE=nccl
  echo "gpu-check: FAILED: NCCL did not work here (stage nccl above); the trainings ran without it"
  exit 1
fi
echo "gpu-check: ok in $(elapsed "$SCRIPT_START")s"
