#!/usr/bin/env bash
# The main job: builds skintrack, generates a synthetic psoriasis series with ground truth and
# prints its summary. Output goes to ./phantoms (or $1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
out="${1:-phantoms/psoriasis-demo}"
bash "$root/scripts/build.sh" skintrack
"$build/skintrack" phantom --out "$out" --condition psoriasis --visits 4 --seed 7
