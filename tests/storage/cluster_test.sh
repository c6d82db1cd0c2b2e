#!/usr/bin/env bash
# The cluster test of issue 17: 3 `skintrack serve` nodes on one PostgreSQL database and one
# shared blob directory, 4 simulated devices pushing to all three (a device moves on to the next
# node when one does not answer), node 2 SIGKILLed while it holds a capture and restarted. Then:
# every acknowledged capture is stored once with its bytes and processed, processed once per claim
# (no results from two nodes working on one claim; the killed process's partial results stay as
# earlier versions, as the append-only log keeps everything), and `db check` of the database and
# the shared blobs is clean.
#
#   tests/storage/cluster_test.sh BINARY [DEVICES] [CAPTURES_PER_DEVICE]
# Needs the PostgreSQL test cluster (SKINTRACK_TEST_PG_DIR, tests/support/pg_cluster.sh); without
# it the test skips (exit 77), or fails when SKINTRACK_REQUIRE_POSTGRES=1. With
# SKINTRACK_CLUSTER_NODES=N (1..3) and SKINTRACK_CLUSTER_NO_KILL=1 it is the throughput benchmark
# of docs/storage.md (scripts/cluster-bench.sh).
set -euo pipefail
bin="${1:?usage: cluster_test.sh BINARY [DEVICES] [CAPTURES_PER_DEVICE]}"
devices="${2:-4}"
per_device="${3:-8}"
nodes="${SKINTRACK_CLUSTER_NODES:-3}"
kill_one=$([[ "${SKINTRACK_CLUSTER_NO_KILL:-0}" == 1 ]] && echo 0 || echo 1)
pg_dir="${SKINTRACK_TEST_PG_DIR:-}"

skip() {
  if [[ "${SKINTRACK_REQUIRE_POSTGRES:-0}" == 1 ]]; then
    echo "FAIL: PostgreSQL required (SKINTRACK_REQUIRE_POSTGRES=1): $*" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
[[ -n "$pg_dir" ]] || skip "SKINTRACK_TEST_PG_DIR is not set (run through ctest)"
[[ -f "$pg_dir/url" ]] || skip "$(cat "$pg_dir/unavailable" 2>/dev/null || echo "no test cluster in $pg_dir")"
base_url="$(cat "$pg_dir/url")"
psql_bin="${SKINTRACK_PG_BIN:-/usr/lib/postgresql/15/bin}/psql"

work="$(mktemp -d /tmp/skintrack-cluster.XXXXXX)"
db="cluster_$$_$RANDOM"
url="${base_url/\/postgres\?//$db?}"
pids=()
cleanup() {
  local status=$?
  # A failure says where: the line that failed and the tails of every log.
  if [[ $status -ne 0 ]]; then
    echo "cluster test failed (exit $status); logs:" >&2
    for log in "$work"/node*.log "$work"/loadtest.log; do
      [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  "$psql_bin" -q "$base_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  if [[ "${SKINTRACK_KEEP_CLUSTER_TEST:-0}" != 1 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "cluster_test.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
sql() { "$psql_bin" -qAt "$url" -c "$1"; }
"$psql_bin" -q "$base_url" -c "CREATE DATABASE $db" >/dev/null
shared="$work/shared-blobs"

# Patients and a device token through node 1's metadata commands.
for p in P-C1 P-C2 P-C3 P-C4; do
  "$bin" patient add --data-dir "$work/node1" --database "$url" --id "$p" >/dev/null
done
token="$("$bin" token create --data-dir "$work/node1" --database "$url" --role admin \
  --label cluster-test | tail -n 1)"

# start_node N: starts node N on a free port; sets port[N] and pid[N].
declare -a port pid
start_node() {
  local n=$1 log="$work/node$1.log" before
  # A restarted node appends to its log, and port 0 may give it its old port again: wait for a
  # new "serving" line, not for another port.
  before=$( { grep -c '^skintrack serving' "$log" 2>/dev/null || true; } )
  "$bin" serve --data-dir "$work/node$n" --database "$url" --blob-dir "$shared" --port 0 \
    --workers 1 --lease-s 20 --quiet >>"$log" 2>&1 &
  pid[$n]=$!
  pids+=("${pid[$n]}")
  for _ in $(seq 1 300); do
    if [[ $( { grep -c '^skintrack serving' "$log" || true; } ) -gt ${before:-0} ]]; then
      port[$n]="$(sed -n 's|^skintrack serving http://127.0.0.1:\([0-9]*\) .*|\1|p' "$log" | tail -n 1)"
      return 0
    fi
    kill -0 "${pid[$n]}" 2>/dev/null || { cat "$log" >&2; echo "node $n died" >&2; exit 1; }
    sleep 0.1
  done
  echo "node $n did not start" >&2
  exit 1
}
for n in $(seq 1 "$nodes"); do start_node "$n"; done
ports="$(IFS=,; echo "${port[*]:1}")"
total=$((devices * per_device))
echo "== $nodes node(s) on ports $ports, one database, blobs in $shared; $devices devices x $per_device captures"

acks="$work/acks.jsonl"
"$bin" loadtest --port "$ports" --token "$token" --patients P-C1,P-C2,P-C3,P-C4 \
  --devices "$devices" --captures "$per_device" --size 480x360 --acks "$acks" \
  --pause-ms "${SKINTRACK_CLUSTER_PAUSE_MS:-300}" \
  --wait-processing 900 >"$work/loadtest.log" 2>&1 &
loader=$!
pids+=("$loader")

killed=""
if [[ $kill_one == 1 && $nodes -ge 2 ]]; then
  # Node 2 is killed after a third of the pushes, while it holds a capture of which it has
  # already recorded results (so another node takes over a capture half done) and the devices
  # still push (those pushing to node 2 move on to the next node).
  node2_prefix="worker:$(cat "$work/node2/node-id"):"
  held="FROM captures c WHERE c.status = 'processing' AND c.lease_owner LIKE '$node2_prefix%' AND EXISTS (SELECT 1 FROM results r WHERE r.capture_id = c.id AND r.actor = c.lease_owner)"
  for _ in $(seq 1 3000); do
    acked=$( { cat "$acks" 2>/dev/null || true; } | wc -l)
    holding=$(sql "SELECT count(*) $held")
    if [[ $acked -ge $((total / 3)) && $holding -gt 0 ]]; then break; fi
    kill -0 "$loader" 2>/dev/null || break
    sleep 0.1
  done
  owner=$(sql "SELECT c.lease_owner $held LIMIT 1")
  [[ -n "$owner" ]] || { echo "FAIL: node 2 never held a capture to be killed with" >&2; exit 1; }
  killed="$(echo "$owner" | cut -d: -f1-3):"  # worker:<node id>:<pid.start>: of that process
  echo "== SIGKILL node 2 (pid ${pid[2]}) holding a capture as $owner, $acked acknowledged"
  kill -9 "${pid[2]}"
  wait "${pid[2]}" 2>/dev/null || true
  sleep "${SKINTRACK_CLUSTER_DOWN_S:-3}"
  echo "== restarting node 2"
  start_node 2
fi

wait "$loader" || { cat "$work/loadtest.log" >&2; echo "FAIL: loadtest" >&2; exit 1; }
cat "$work/loadtest.log"
ports="$(IFS=,; echo "${port[*]:1}")"
"$bin" loadtest --port "$ports" --token "$token" --verify "$acks" | tail -n 3
# CPU of the node processes (user + system, clock ticks in /proc/PID/stat fields 14 and 15): the
# benchmark's CPU per capture. The PostgreSQL server's share is measured apart (docs/storage.md).
ticks=0
for n in $(seq 1 "$nodes"); do
  ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/${pid[$n]}/stat")))
done
echo "node CPU: $(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v c="$total" \
  'BEGIN { printf "%.1f s in all, %.3f s per capture", t / hz, t / hz / c }')"
for n in $(seq 1 "$nodes"); do kill -TERM "${pid[$n]}"; wait "${pid[$n]}" || true; done
pids=()

fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    echo "ok   $1: $3"
  else
    echo "FAIL $1: expected $2, got $3"
    fail=1
  fi
}
acked_ids=$(sed -n 's/.*"capture_id":\([0-9]*\).*/\1/p' "$acks" | sort -u | wc -l)
check "acknowledged pushes" "$total" "$(wc -l <"$acks")"
check "distinct captures acknowledged" "$total" "$acked_ids"
check "captures stored" "$total" "$(sql "SELECT count(*) FROM captures")"
check "uploads stored twice" 0 \
  "$(sql "SELECT count(*) FROM (SELECT 1 FROM captures GROUP BY patient_id, site_id, blob_sha256 HAVING count(*) > 1) d")"
check "captures not processed" 0 "$(sql "SELECT count(*) FROM captures WHERE status <> 'processed'")"
# A process is worker:<node id>:<pid.start>; the killed one's partial results are excluded.
live="split_part(actor, ':', 1) || ':' || split_part(actor, ':', 2) || ':' || split_part(actor, ':', 3) || ':'"
# Processing once per claim: a capture is claimed again only when it is requeued (its site's
# baseline changed: the devices push captures out of time order) or when its process died. So
# each result of a capture has at most 1 + (its requeues) versions from live processes; two nodes
# processing the same claim at once would add more.
check "results recorded more often than the capture was claimed" 0 \
  "$(sql "WITH requeues AS (SELECT CAST(substr(object, 9) AS BIGINT) AS capture_id, count(*) AS n FROM audit_log WHERE action = 'capture.requeue' GROUP BY 1), versions AS (SELECT capture_id, kind, name, count(*) AS n FROM results WHERE source = 'automated' AND $live <> '$killed' GROUP BY 1, 2, 3) SELECT count(*) FROM versions v LEFT JOIN requeues q USING (capture_id) WHERE v.n > 1 + COALESCE(q.n, 0)")"
echo "requeued by baseline changes: $(sql "SELECT count(*) FROM audit_log WHERE action = 'capture.requeue'") time(s)"
check "processed captures without results" 0 \
  "$(sql "SELECT count(*) FROM captures c WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.capture_id = c.id)")"
echo "processed by: $(sql "SELECT string_agg(n || ' ' || who, ', ') FROM (SELECT split_part(actor, ':', 2) AS who, count(DISTINCT capture_id) AS n FROM results WHERE source = 'automated' GROUP BY 1 ORDER BY 1) x")"
if [[ -n "$killed" ]]; then
  echo "the killed process left results for $(sql "SELECT count(DISTINCT capture_id) FROM results WHERE $live = '$killed'") capture(s), taken over after its death"
fi
if ! "$bin" db check --data-dir "$work/node1" --database "$url" --blob-dir "$shared"; then
  echo "FAIL db check"
  fail=1
fi
[[ $fail == 0 ]] && echo "cluster test passed" || { echo "cluster test FAILED (work dir $work)"; exit 1; }
