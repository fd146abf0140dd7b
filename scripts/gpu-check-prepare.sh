#!/usr/bin/env bash
# Fills .gpu-deps/ (git-ignored) on THIS machine (network: Debian and PyPI) with everything that
# scripts/gpu-check.sh needs on a GPU machine that has no network and no Debian -dev packages:
#   .gpu-deps/*.deb      nlohmann-json, yaml-cpp, utf8proc and OpenSSL (headers + runtime libs)
#   .gpu-deps/wheels/    cmake, ninja and pkgconf (build tools, used from the unpacked wheels),
#                        accelerate + psutil (installed there only if `import accelerate` fails)
#   .gpu-deps/data/      the bert-base-uncased tokenizer/config and the MRPC TSVs from shared/data
# Then: run scripts/gpu-check.sh on the GPU machine with .gpu-deps carried along.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.gpu-deps"
SHARED_DATA="${BERTFLEET_SHARED_DATA:-$ROOT/../shared/data}"
PYTHON="${PYTHON:-python3}"
LIMIT_MIB=60

die() { echo "gpu-check-prepare: $*" >&2; exit 1; }

[ -d "$SHARED_DATA/bert-base-uncased" ] && [ -d "$SHARED_DATA/mrpc" ] ||
  die "no $SHARED_DATA/{bert-base-uncased,mrpc} (set BERTFLEET_SHARED_DATA)"
command -v apt-get >/dev/null || die "apt-get is needed to download the .debs"

rm -rf "$DEPS"
mkdir -p "$DEPS/wheels" "$DEPS/data/bert-base-uncased" "$DEPS/data/mrpc"

echo "== Debian packages"
DEBS=(nlohmann-json3-dev libyaml-cpp-dev libyaml-cpp0.7 libutf8proc-dev libutf8proc2 libssl-dev libssl3)
# apt-get download writes into the current directory; as root it warns that _apt cannot write
# there, which is harmless.
(cd "$DEPS" && apt-get download "${DEBS[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
for package in "${DEBS[@]}"; do
  ls "$DEPS/${package}_"*.deb >/dev/null 2>&1 || die "apt-get download did not fetch $package (run apt-get update?)"
done

echo "== wheels"
# All are py3-none or abi3 manylinux wheels: any CPython 3 on x86-64 Linux takes them. cmake<4:
# the 3.x line that LibTorch's CMake config and this project are tested with.
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$DEPS/wheels" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 --python-version 3.11 \
  'cmake>=3.25,<4' ninja pkgconf accelerate psutil
for wheel in cmake ninja pkgconf accelerate psutil; do
  ls "$DEPS/wheels/$wheel-"*.whl >/dev/null 2>&1 || die "no $wheel wheel downloaded"
done

echo "== data"
for file in vocab.txt tokenizer.json tokenizer_config.json config.json; do
  cp "$SHARED_DATA/bert-base-uncased/$file" "$DEPS/data/bert-base-uncased/"
done
for split in train validation test; do
  cp "$SHARED_DATA/mrpc/$split.tsv" "$DEPS/data/mrpc/"
done

size_mib=$(du -sm "$DEPS" | cut -f1)
ls -la "$DEPS" "$DEPS/wheels"
echo "gpu-check-prepare: $DEPS holds ${size_mib} MiB (limit ${LIMIT_MIB} MiB)"
[ "$size_mib" -lt "$LIMIT_MIB" ] || die "$DEPS is ${size_mib} MiB, over the ${LIMIT_MIB} MiB carry budget"
