#!/usr/bin/env bash
# Installs missing dependencies, configures (once) and builds skintrack into build/.
# A warm rebuild only recompiles what changed. Usage: scripts/build.sh [extra ninja targets]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
bash "$root/scripts/setup.sh"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSKINTRACK_WERROR=ON ${SKINTRACK_CMAKE_ARGS:-}
fi
cmake --build "$build" --parallel "$(nproc)" ${1:+--target "$@"}
