#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the default test selection
# (labels `unit` and `integration`; `eval` and benchmarks are separate, see README).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
bash "$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure --parallel "$(nproc)" --label-exclude 'eval|bench' "$@"
