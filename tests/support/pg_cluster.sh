#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests (issue 17): `start DIR` runs initdb into DIR/data
# and starts the server on a Unix socket in DIR only (no TCP port, so parallel runs of several
# checkouts cannot collide), then writes DIR/url (the URL of its `postgres` database). `stop DIR`
# stops it and removes DIR. Without PostgreSQL's binaries, `start` writes the reason to
# DIR/unavailable and succeeds: the tests then skip with that message (or fail, when
# SKINTRACK_REQUIRE_POSTGRES=1, as in .ci/run).
#
# PostgreSQL refuses to run as root. As root, the cluster belongs to the `postgres` user (runuser);
# as anyone else, to that user.
set -euo pipefail
action="${1:?usage: pg_cluster.sh start|stop DIR}"
dir="${2:?usage: pg_cluster.sh start|stop DIR}"
bin="${SKINTRACK_PG_BIN:-/usr/lib/postgresql/15/bin}"

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ ! -x "$bin/initdb" || ! -x "$bin/pg_ctl" ]]; then
      echo "PostgreSQL binaries not found in $bin (install postgresql-15 or set SKINTRACK_PG_BIN)" \
        >"$dir/unavailable"
      echo "pg_cluster: $(cat "$dir/unavailable"); PostgreSQL tests will skip" >&2
      exit 0
    fi
    if [[ $(id -u) -eq 0 ]]; then
      if ! id postgres >/dev/null 2>&1; then
        echo "running as root and there is no postgres user to own the cluster" >"$dir/unavailable"
        exit 0
      fi
      chown postgres: "$dir"
    fi
    # --no-sync and fsync=off: a test cluster need not survive a power cut, and fsync would
    # dominate the suite's time. The durability argument is about the production settings
    # (docs/storage.md).
    as_owner "$bin/initdb" -D "$dir/data" -U skintrack -A trust -E UTF8 --locale=C --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off \
-c full_page_writes=off -c max_connections=200" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql://skintrack@/postgres?host=$dir" >"$dir/url"
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
