#!/usr/bin/env bash
# Captures processed per minute with 1, 2 and 3 `serve` nodes on one PostgreSQL database and one
# shared blob directory, measured in one run on this machine (issue 17; not part of ctest):
#   scripts/cluster-bench.sh [DEVICES] [CAPTURES_PER_DEVICE]     (default 4 x 15, 480x360 photos)
# Each round is tests/storage/cluster_test.sh without the kill (its checks still run). Prints per
# round the end-to-end throughput, the nodes' CPU per capture and the PostgreSQL server's CPU per
# capture (its backends' time, reaped by the postmaster), and the ratio against 1 node.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
devices="${1:-4}"
per_device="${2:-15}"
bash "$root/scripts/build.sh" skintrack >/dev/null
pg="/tmp/skintrack-cluster-bench-pg"
trap 'bash "$root/tests/support/pg_cluster.sh" stop "$pg"' EXIT
bash "$root/tests/support/pg_cluster.sh" start "$pg"
[[ -f "$pg/url" ]] || { cat "$pg/unavailable" >&2; exit 1; }

# CPU seconds of the PostgreSQL server's exited children (cutime + cstime of the postmaster).
pg_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($16 + $17) / hz }' \
    "/proc/$(head -n 1 "$pg/data/postmaster.pid")/stat"
}

declare -A rate
printf '%-6s %-12s %-14s %-14s %-10s\n' nodes captures/min "node CPU/cap" "PG CPU/cap" "vs 1 node"
for nodes in 1 2 3; do
  before=$(pg_cpu)
  out="$(SKINTRACK_CLUSTER_NODES=$nodes SKINTRACK_CLUSTER_NO_KILL=1 SKINTRACK_CLUSTER_PAUSE_MS=0 \
    SKINTRACK_TEST_PG_DIR="$pg" \
    bash "$root/tests/storage/cluster_test.sh" "$build/skintrack" "$devices" "$per_device")" ||
    { echo "$out" >&2; exit 1; }
  after=$(pg_cpu)
  per_s=$(echo "$out" | sed -n 's/.*= \([0-9.]*\) captures\/s end to end/\1/p')
  node_cpu=$(echo "$out" | sed -n 's/.*, \([0-9.]*\) s per capture/\1/p')
  total=$((devices * per_device))
  pg_per=$(awk -v a="$after" -v b="$before" -v c="$total" 'BEGIN { printf "%.3f", (a - b) / c }')
  rate[$nodes]=$(awk -v r="$per_s" 'BEGIN { printf "%.1f", r * 60 }')
  printf '%-6s %-12s %-14s %-14s %-10s\n' "$nodes" "${rate[$nodes]}" "${node_cpu} s" \
    "${pg_per} s" "$(awk -v a="${rate[$nodes]}" -v b="${rate[1]}" 'BEGIN { printf "%.2fx", a / b }')"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
