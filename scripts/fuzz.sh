#!/usr/bin/env bash
# The fuzz targets (tests/fuzz/<name>_fuzz.cpp: libFuzzer + AddressSanitizer), in a build directory
# of their own (build-fuzz/, clang, -DSKINTRACK_FUZZ=ON), each run for a bounded time on its seed
# corpus tests/fuzz/corpus/<name>/ (and its dictionary tests/fuzz/<name>.dict when there is one).
# Not part of scripts/test.sh.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default 300
#   FUZZ_TARGETS="http_fuzz" scripts/fuzz.sh 60    only the named targets
#
# Inputs the fuzzer finds go to build-fuzz/fuzz-corpus/<name>/ (not into the repository); a crashing
# input is written to build-fuzz/crashes/<name>/ and the script exits 1. Each run's log, with its
# final exec count, is build-fuzz/<name>.log. FUZZ_JOBS (default 2) bounds the build's parallelism.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-300}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
if [[ ! -f "$build/build.ninja" ]]; then
  # The launcher compiles the files that include ITK with g++ (see tests/fuzz/cxx_launcher.sh) and
  # calls ccache itself.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSKINTRACK_FUZZ=ON \
    -DSKINTRACK_BUILD_TESTS=ON -DCMAKE_CXX_COMPILER_LAUNCHER="$root/tests/fuzz/cxx_launcher.sh"
fi
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for source in "$root"/tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
cmake --build "$build" --parallel "${FUZZ_JOBS:-2}" --target "${targets[@]}"

status=0
for target in "${targets[@]}"; do
  name="${target%_fuzz}"
  found="$build/fuzz-corpus/$name"
  crashes="$build/crashes/$name"
  mkdir -p "$found" "$crashes"
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$crashes/")
  [[ -f "$root/tests/fuzz/$name.dict" ]] && args+=(-dict="$root/tests/fuzz/$name.dict")
  seeds=()
  [[ -d "$root/tests/fuzz/corpus/$name" ]] && seeds+=("$root/tests/fuzz/corpus/$name")
  echo "fuzz: $target for ${seconds}s (log $build/$target.log)"
  # The first corpus directory receives new inputs; the committed seeds are only read.
  if "$build/tests/fuzz/$target" "${args[@]}" "$found" "${seeds[@]}" >"$build/$target.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$build/$target.log" | tail -2 || true
    echo "fuzz: $target: no crash"
  else
    tail -40 "$build/$target.log" >&2
    echo "fuzz: $target CRASHED; inputs in $crashes" >&2
    status=1
  fi
done
exit "$status"
