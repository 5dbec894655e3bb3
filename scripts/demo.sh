#!/usr/bin/env bash
# The main job: a throwaway PostgreSQL served over SCTP and queried with psql.
#
# It installs what is needed (scripts/install-deps.sh), builds pgsctp, starts
# a PostgreSQL 15 cluster in a temporary directory (as the postgres user when
# run as root: PostgreSQL refuses to run as root), runs `pgsctp server`
# beside it and `pgsctp proxy` in front of psql, queries PostgreSQL through
# SCTP over UDP on loopback, shows the association with `pgsctp status`, and
# cleans everything up. Ports: PostgreSQL 54329 (socket only), SCTP 5432
# over UDP 19899, proxy socket .s.PGSQL.6432 in the demo directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== building pgsctp"
mkdir -p bin
go build -o bin/pgsctp ./cmd/pgsctp
pgsctp=$PWD/bin/pgsctp

pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/pgsctp-demo.XXXXXX)
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$work"
	as_pg=(runuser -u postgres --)
fi
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== starting a throwaway PostgreSQL 15 in $work/data"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; exit 1; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
	-o "-c listen_addresses='' -c unix_socket_directories='$work' -p 54329" start >/dev/null

echo "== pgsctp server: SCTP 127.0.0.1:5432 over UDP 19899 -> PostgreSQL at $work/.s.PGSQL.54329"
"$pgsctp" server --listen 127.0.0.1:5432 --udp-port 19899 --upstream "$work" --upstream-port 54329 \
	--admin-socket "$work/server.admin" 2>"$work/server.log" &
pids+=($!)
mkdir -p "$work/proxy"
echo "== pgsctp proxy: $work/proxy/.s.PGSQL.6432 -> SCTP 127.0.0.1:5432"
"$pgsctp" proxy --server 127.0.0.1:5432 --peer-udp-port 19899 --socket-dir "$work/proxy" --port 6432 \
	--admin-socket "$work/proxy.admin" 2>"$work/proxy.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/proxy/.s.PGSQL.6432" ] && [ -S "$work/server.admin" ] && break; sleep 0.1; done

echo "== psql -h $work/proxy -p 6432 (over SCTP)"
psql -h "$work/proxy" -p 6432 -U postgres -X -v ON_ERROR_STOP=1 <<'SQL' &
\echo connected through pgsctp
SELECT version();
SELECT current_user, inet_server_port() AS port_seen_by_postgres, now() AS server_time;
CREATE TEMP TABLE t AS SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 100000) g;
SELECT count(*), md5(string_agg(h, '' ORDER BY n)) AS checksum FROM t;
SELECT pg_sleep(1.5);
SQL
psql_pid=$!
sleep 1
echo "== pgsctp status (server side, while psql runs)"
"$pgsctp" status --admin-socket "$work/server.admin"
wait $psql_pid
echo "== done: PostgreSQL answered over SCTP"
