#!/usr/bin/env bash
# Bounded load test on loopback with a crash in the middle (not part of the default test run).
#   scripts/load-test.sh [DEVICES] [CAPTURES_PER_DEVICE]
# Starts `skintrack serve` on a fresh data directory, lets N simulated devices push phantom
# captures, SIGKILLs the server mid-load, restarts it (devices retry, as they must), waits for the
# queue to drain, then proves that every acknowledged capture is stored with its bytes and
# processed, and that the data directory passes `skintrack db check`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
devices="${1:-8}"
per_device="${2:-25}"
port="${SKINTRACK_LOAD_PORT:-18471}"
bash "$root/scripts/build.sh" skintrack >/dev/null
bin="$build/skintrack"
data="$(mktemp -d /tmp/skintrack-load.XXXXXX)"
server=""
loader=""
cleanup() {
  for pid in $server $loader; do kill -9 "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
for p in P-L1 P-L2 P-L3 P-L4; do "$bin" patient add --data-dir "$data" --id "$p" >/dev/null; done
token="$("$bin" token create --data-dir "$data" --role admin --label loadtest | tail -n 1)"

start_server() {
  "$bin" serve --data-dir "$data" --port "$port" --workers 2 --quiet >>"$data/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}

total=$((devices * per_device))
echo "== data directory $data, $devices devices x $per_device captures, SIGKILL after $((total / 3)) acks"
start_server
"$bin" loadtest --port "$port" --token "$token" --patients P-L1,P-L2,P-L3,P-L4 \
  --devices "$devices" --captures "$per_device" --acks "$data/acks.jsonl" \
  --wait-processing 1800 &
loader=$!
acked_before=0
while [[ $acked_before -lt $((total / 3)) ]] && kill -0 "$loader" 2>/dev/null; do
  sleep 0.05
  acked_before=$( { cat "$data/acks.jsonl" 2>/dev/null || true; } | wc -l)
done
echo "== SIGKILL server (pid $server) with $acked_before captures acknowledged"
kill -9 "$server"
wait "$server" 2>/dev/null || true
sleep 1
echo "== restarting the server"
start_server
wait "$loader"
echo "== verifying every acknowledged capture"
"$bin" loadtest --port "$port" --token "$token" --verify "$data/acks.jsonl"
kill -TERM "$server"
wait "$server" || true
server=""
loader=""
"$bin" db check --data-dir "$data"
echo "== load test passed (data directory kept at $data)"
