#!/usr/bin/env bash
# Builds if needed and runs every test (C++ GoogleTest and Python oracle tests) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build="${BERTFLEET_BUILD_DIR:-$(pwd)/build}"
cd "$build"
ctest --output-on-failure --timeout 1800 "$@"
