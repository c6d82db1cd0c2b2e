#!/usr/bin/env bash
# Issue 15's benchmark in one run (not part of ctest): the intake ack beside its floor
# (build/intake_bench), captures processed per minute at 2 MP with 1 and 2 workers (a real
# `serve` on loopback, `skintrack loadtest` pushing 1632x1224 JPEGs), the end-to-end processing of
# a 12 MP capture beside `register` + `segment` on the same pair (build/pipeline_e2e_bench), and
# capture 1000 of a site beside capture 10 (build/pipeline_site_bench).
#   scripts/pipeline-bench.sh [CAPTURES_AT_2MP]      (default 40)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SKINTRACK_BUILD_DIR:-$root/build}"
captures="${1:-40}"
bash "$root/scripts/build.sh" skintrack intake_bench pipeline_e2e_bench pipeline_site_bench \
  >/dev/null
work="$(mktemp -d /tmp/skintrack-pipeline-bench.XXXXXX)"
server=""
trap '[[ -n "$server" ]] && kill -9 "$server" 2>/dev/null; rm -rf "$work"' EXIT
echo "== $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== intake: ack latency beside the floor"
"$build/intake_bench" --samples 24 | grep -E '^==|ack,|target'

# throughput WORKERS: captures processed per minute at 2 MP, from the first push to an empty queue.
throughput() {
  local workers=$1 data="$work/data-$1" log="$work/serve-$1.log" port token
  "$build/skintrack" patient add --data-dir "$data" --id P-B1 >/dev/null
  token="$("$build/skintrack" token create --data-dir "$data" --role admin | tail -n 1)"
  "$build/skintrack" serve --data-dir "$data" --port 0 --workers "$workers" --quiet >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    port="$(sed -n 's|^skintrack serving http://127.0.0.1:\([0-9]*\) .*|\1|p' "$log")"
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  "$build/skintrack" loadtest --port "$port" --token "$token" --patients P-B1 --devices 4 \
    --captures $((captures / 4)) --size 1632x1224 --acks "$work/acks-$workers.jsonl" \
    --wait-processing 900 | sed -n 's/^processing: \(.*\) = \([0-9.]*\) captures\/s.*/\1 = \2/p' |
    awk -v w="$workers" '{ n = $NF; printf "%d worker(s): %s captures/s = %.1f captures per minute\n", w, $0, n * 60 }'
  kill -TERM "$server"
  wait "$server" || true
  server=""
}
echo "== 2 MP: captures processed per minute"
throughput 1
throughput 2

echo "== 12 MP: end-to-end processing beside its parts"
"$build/pipeline_e2e_bench" --repeats 3 --dir "$work/e2e" | tail -n 5
echo "== site scale: capture 1000 of a site beside capture 10"
"$build/pipeline_site_bench" --captures 1000 --repeats 5 --dir "$work/site" | tail -n 3
