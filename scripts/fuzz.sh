#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz (clang, ASan + UBSan) and runs each for a bounded
# time on its seed corpus. Exits non-zero on any crash, sanitizer report, leak, timeout or OOM;
# the input that triggered it is left in BUILD_DIR/artifacts/TARGET/ (replay: TARGET FILE).
#
#   scripts/fuzz.sh [--build-only | --no-build] [TARGET...]     (default: every *_fuzzer.cc)
#   BERTFLEET_FUZZ_BUILD_DIR   build directory (default: build-fuzz)
#   BERTFLEET_FUZZ_SECONDS     fuzzing time per target (default: 30)
#   BERTFLEET_FUZZ_SEED        libFuzzer's -seed (default 1, so a CI run retraces the same
#                              mutations and does not turn red by chance; 0 = a random seed, for
#                              exploring: what it finds becomes a fix, a regression test and a seed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="${BERTFLEET_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${BERTFLEET_FUZZ_SECONDS:-30}"
seed="${BERTFLEET_FUZZ_SEED:-1}"

build_only=0
build=1
targets=()
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=1 ;;
    --no-build) build=0 ;;  # CTest: fuzz.build already built every target
    -*) echo "fuzz.sh: unknown option $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
if ((${#targets[@]} == 0)); then
  for source in "$root"/tests/fuzz/*_fuzzer.cc; do targets+=("$(basename "$source" .cc)"); done
fi

if ((build)); then
  if [ ! -f "$build_dir/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build_dir" -G Ninja >/dev/null
  fi
  ninja -C "$build_dir" "${targets[@]}"
fi
((build_only)) && exit 0

status=0
for target in "${targets[@]}"; do
  seeds="$root/tests/fuzz/corpus/$target"
  # New inputs go to a corpus in the build directory; the seeds in the tree stay as committed.
  corpus="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  dictionary=()
  [ -f "$root/tests/fuzz/$target.dict" ] && dictionary=(-dict="$root/tests/fuzz/$target.dict")
  echo "fuzz.sh: $target for ${seconds}s"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: one input must not need more
  # memory than a small machine has. Only the summary lines are kept (a run prints thousands).
  log="$build_dir/$target.log"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build_dir/$target" "$corpus" "$seeds" "${dictionary[@]}" -max_total_time="$seconds" \
    -seed="$seed" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  else
    echo "fuzz.sh: $target FAILED (log $log, inputs in $artifacts):" >&2
    grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse|INITED)' "$log" | tail -60 >&2
    status=1
  fi
done
exit $status
