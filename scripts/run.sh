#!/usr/bin/env bash
# The main job: builds skintrack and runs `skintrack demo`: synthetic psoriasis and vitiligo
# patients pushed over HTTP to the service, processed, summarised against the phantoms' truth,
# with HTML reports and cohort exports in demo-output/, then serving the API until Ctrl-C.
# Extra arguments go to the demo (e.g. --exit for scripted use, --port N).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
bash "$root/scripts/build.sh" skintrack
"$build/skintrack" demo "$@"
