#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests, started and stopped by
# ctest itself (the pg fixture in tests/CMakeLists.txt) and by hand:
#   cluster.sh start STATE   initdb into a new temporary folder and start it
#   cluster.sh stop STATE    stop it and remove the folder
#   cluster.sh env STATE     print the PG* variables that reach it
#   cluster.sh pause STATE   stop the server, keeping its data (an outage)
#   cluster.sh resume STATE  start it again on the same data
#   cluster.sh crash STATE   stop the server as a crash would (immediate:
#                            no checkpoint, unwritten WAL lost), keeping
#                            its data for resume
# STATE is a folder (the build's pgtest/) that remembers where the cluster
# is.  initdb refuses to run as root, so as root the cluster runs as
# `nobody`; the server listens on a Unix socket only, in the temporary
# folder (a short path: sockets have a 107-byte limit).
set -euo pipefail
cmd=${1:?usage: cluster.sh start|stop|env|pause|resume|crash STATE}
state=${2:?usage: cluster.sh start|stop|env STATE}
bin=${DSS_PG_BIN:-/usr/lib/postgresql/15/bin}
mkdir -p "$state"

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

stop() {
  [[ -f "$state/dir" ]] || return 0
  local dir
  dir=$(cat "$state/dir")
  if [[ -d "$dir/data" ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$state/dir" "$state/env"
}

case "$cmd" in
start)
  [[ -x "$bin/initdb" ]] || {
    echo "cluster.sh: $bin/initdb is missing: install the Debian package postgresql-15" >&2
    exit 1
  }
  stop
  dir=$(mktemp -d /tmp/dss-pg.XXXXXX)
  chmod 0755 "$dir"
  [[ $(id -u) -eq 0 ]] && chown nobody:nogroup "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # Durability as in production (fsync and synchronous_commit on); enough
  # connections for the concurrent cases of two test runs at once.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses= -p 5432 -c max_connections=200 -c fsync=on -c synchronous_commit=on -c shared_preload_libraries=" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "$dir" >"$state/dir"
  printf 'PGHOST=%s\nPGPORT=5432\nPGUSER=postgres\nPGDATABASE=postgres\n' "$dir" >"$state/env"
  echo "cluster.sh: PostgreSQL running in $dir" >&2
  ;;
stop) stop ;;
pause)
  dir=$(cat "$state/dir")
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
crash)
  dir=$(cat "$state/dir")
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  ;;
resume)
  dir=$(cat "$state/dir")
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses= -p 5432 -c max_connections=200" start >/dev/null
  ;;
env) cat "$state/env" ;;
*) echo "cluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac
