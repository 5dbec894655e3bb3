#!/usr/bin/env bash
# Measures PostgreSQL through pgsctp against the paths it competes with, in
# one run on this machine, and writes the figures into docs/benchmarks.md
# under "## PostgreSQL through pgsctp":
#
#   * pgbench select-only (-S) and the default tpcb-like script, and a COPY of
#     10^9 bytes out (psql), each over
#       - direct TCP to PostgreSQL (the reference),
#       - pgbouncer (session pooling),
#       - pgsctp proxy (TCP listener) -> SCTP over UDP -> pgsctp server,
#     and the two references for pgsctp's two relays (issue 7):
#       - two pgbouncers chained (the same two hops, in C),
#       - bench/relaypair: two Go processes in the proxy and server's layout
#         that carry the sessions over plain UDP with no protocol but credit
#         (the floor for that layout in Go),
#       - the same two Go processes as plain TCP relays (relaypair t, the
#         Go TCP relay pair of issue 7's COPY goal);
#   * the same workloads from Go (`pgsctp bench-pg`, pgx) over direct TCP (the
#     Go reference) and in-process through pgdial.SCTP -> pgsctp server, one
#     association per session and, for transactions, all sessions as streams
#     of one association (--multiplex).
#
# Run as root on a fresh Debian 12 machine (it calls scripts/install-deps.sh).
# PostgreSQL and pgbouncer refuse to run as root: they run as the postgres
# user. Everything listens on 127.0.0.1 only and lives in a temporary
# directory that is removed, with every process started here, on exit.
#
# PostgreSQL is tuned for a relative comparison, not for durability:
# fsync=off, synchronous_commit=off, full_page_writes=off. Every path talks
# to the same server, so the ratios compare the paths, not the disks.
#
# Usage: scripts/bench-pg.sh
#        BENCH_PROFILE=1 scripts/bench-pg.sh   (a perf profile instead, see below)
#        BENCH_BASELINE=REV scripts/bench-pg.sh (also pgsctp as of git
#            revision REV, a second proxy and server: before and after a
#            change, side by side in one run)
# Environment: BENCH_SECONDS (10, per pgbench/Go run), BENCH_CLIENTS (4),
# BENCH_THREADS (2, pgbench -j), BENCH_SCALE (10, pgbench -i -s),
# BENCH_COPY_ROWS (1000000 rows of 1000 bytes: 10^9 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-4}
THREADS=${BENCH_THREADS:-2}
SCALE=${BENCH_SCALE:-10}
COPY_ROWS=${BENCH_COPY_ROWS:-1000000}
PG_PORT=54339       # PostgreSQL, TCP 127.0.0.1 and its socket
BOUNCER_PORT=54340  # pgbouncer, TCP 127.0.0.1
PROXY_PORT=54341    # pgsctp proxy, TCP 127.0.0.1 (and its socket)
BOUNCER2_PORT=54342 # the second pgbouncer, chained before the first, TCP 127.0.0.1
RELAY_PORT=54343    # relaypair a, TCP 127.0.0.1
RELAY_UDP_PORT=29921 # relaypair b, UDP 127.0.0.1
RELAYT_PORT=54345   # the first relaypair t, TCP 127.0.0.1
RELAYT2_PORT=54346  # the second relaypair t, TCP 127.0.0.1
SCTP_PORT=5432      # pgsctp server's SCTP port (inside UDP)
UDP_PORT=29911      # pgsctp server's UDP encapsulation port
BASE_PROXY_PORT=54344 # BENCH_BASELINE's pgsctp proxy, TCP 127.0.0.1
BASE_SCTP_PORT=5433   # BENCH_BASELINE's pgsctp server, SCTP port
BASE_UDP_PORT=29912   # BENCH_BASELINE's pgsctp server, UDP port
BASELINE=${BENCH_BASELINE:-}
pgbin=/usr/lib/postgresql/15/bin
copy_sql="copy (select repeat('x', 999) from generate_series(1, $COPY_ROWS)) to stdout"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-pg.sh: run as root (it installs packages and runs PostgreSQL as the postgres user)" >&2
	exit 1
fi
scripts/install-deps.sh

for port in $PG_PORT $BOUNCER_PORT $PROXY_PORT $BOUNCER2_PORT $RELAY_PORT $RELAYT_PORT $RELAYT2_PORT $BASE_PROXY_PORT; do
	if ss -Htln "sport = :$port" | grep -q .; then
		echo "bench-pg.sh: TCP port $port is in use" >&2
		exit 1
	fi
done
for port in $UDP_PORT $RELAY_UDP_PORT $BASE_UDP_PORT; do
	if ss -Huln "sport = :$port" | grep -q .; then
		echo "bench-pg.sh: UDP port $port is in use" >&2
		exit 1
	fi
done

base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/bench-pg.XXXXXX")
chmod 755 "$work"
out=$work/out
mkdir -p "$out" "$work/proxy"
chown postgres: "$work"
as_pg=(runuser -u postgres --)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	# runuser passes SIGTERM on to pgbouncer; its pid file is the fallback.
	[ -s "$work/pgbouncer.pid" ] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null || true
	[ -s "$work/pgbouncer2.pid" ] && kill "$(cat "$work/pgbouncer2.pid")" 2>/dev/null || true
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$work"
	[ -z "$BASELINE" ] || git worktree prune
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit=$(git describe --always --dirty 2>/dev/null || echo "${BENCH_COMMIT:-unknown}")
echo "== building pgsctp ($commit)" >&2
go build -o "$work/pgsctp" ./cmd/pgsctp
pgsctp=$work/pgsctp
go build -o "$work/relaypair" ./bench/relaypair
base_commit=
if [ -n "$BASELINE" ]; then
	base_commit=$(git rev-parse --short "$BASELINE^{commit}") || { echo "bench-pg.sh: BENCH_BASELINE=$BASELINE is no revision" >&2; exit 1; }
	echo "== building pgsctp at $base_commit (BENCH_BASELINE)" >&2
	git worktree add -q --detach "$work/baseline-src" "$base_commit"
	(cd "$work/baseline-src" && go build -o "$work/pgsctp-base" ./cmd/pgsctp)
	git worktree remove --force "$work/baseline-src"
fi

echo "== PostgreSQL 15 in $work/data, 127.0.0.1:$PG_PORT" >&2
"${as_pg[@]}" "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log" >&2; exit 1; }
pg_settings="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$work"
pg_settings+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
pg_settings+=" -c shared_buffers=512MB -c work_mem=64MB -c max_wal_size=4GB -c checkpoint_timeout=30min"
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w -o "$pg_settings" start >/dev/null

echo "== pgbouncer (session pooling), 127.0.0.1:$BOUNCER_PORT -> 127.0.0.1:$PG_PORT" >&2
echo '"postgres" ""' >"$work/userlist.txt"
cat >"$work/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = session
max_client_conn = 100
default_pool_size = 20
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
EOF
chown postgres: "$work/pgbouncer.ini" "$work/userlist.txt"
"${as_pg[@]}" pgbouncer "$work/pgbouncer.ini" 2>"$work/pgbouncer.err" &
pids+=($!)

echo "== pgbouncer chained: 127.0.0.1:$BOUNCER2_PORT -> pgbouncer 127.0.0.1:$BOUNCER_PORT" >&2
sed -e "s/port=$PG_PORT\$/port=$BOUNCER_PORT/" -e "s/^listen_port = .*/listen_port = $BOUNCER2_PORT/" \
	-e "s|pgbouncer\.log|pgbouncer2.log|; s|pgbouncer\.pid|pgbouncer2.pid|" "$work/pgbouncer.ini" >"$work/pgbouncer2.ini"
chown postgres: "$work/pgbouncer2.ini"
"${as_pg[@]}" pgbouncer "$work/pgbouncer2.ini" 2>"$work/pgbouncer2.err" &
pids+=($!)

echo "== relaypair: 127.0.0.1:$RELAY_PORT -> UDP 127.0.0.1:$RELAY_UDP_PORT -> 127.0.0.1:$PG_PORT" >&2
# relay NAME CMD: starts CMD ("relaypair ROLE ...") in the background with
# its stderr in $work/NAME.log; its pid goes into NAME_pid. It runs on one
# thread (GOMAXPROCS=1), as pgsctp server and proxy do by default
# (worker_threads), so that the floor is measured as pgsctp runs.
relay() {
	GOMAXPROCS=1 "$work/relaypair" ${2#relaypair } 2>"$work/$1.log" &
	pids+=($!)
	printf -v "$1_pid" %s $!
}
relayb_cmd="relaypair b --listen 127.0.0.1:$RELAY_UDP_PORT --upstream 127.0.0.1:$PG_PORT"
relay relayb "$relayb_cmd"
relaya_cmd="relaypair a --listen 127.0.0.1:$RELAY_PORT --to 127.0.0.1:$RELAY_UDP_PORT"
relay relaya "$relaya_cmd"

echo "== relaypair t, twice: 127.0.0.1:$RELAYT_PORT -> 127.0.0.1:$RELAYT2_PORT -> 127.0.0.1:$PG_PORT" >&2
relayt2_cmd="relaypair t --listen 127.0.0.1:$RELAYT2_PORT --upstream 127.0.0.1:$PG_PORT"
relay relayt2 "$relayt2_cmd"
relayt_cmd="relaypair t --listen 127.0.0.1:$RELAYT_PORT --upstream 127.0.0.1:$RELAYT2_PORT"
relay relayt "$relayt_cmd"

echo "== pgsctp server: SCTP 127.0.0.1:$SCTP_PORT over UDP $UDP_PORT -> 127.0.0.1:$PG_PORT" >&2
server_cmd="pgsctp server --listen 127.0.0.1:$SCTP_PORT --udp-port $UDP_PORT --upstream 127.0.0.1:$PG_PORT --log-level warn"
"$pgsctp" ${server_cmd#pgsctp } 2>"$work/server.log" &
server_pid=$!
pids+=($server_pid)
echo "== pgsctp proxy: 127.0.0.1:$PROXY_PORT -> SCTP 127.0.0.1:$SCTP_PORT" >&2
proxy_cmd="pgsctp proxy --server 127.0.0.1:$SCTP_PORT --peer-udp-port $UDP_PORT --listen 127.0.0.1:$PROXY_PORT --port $PROXY_PORT --socket-dir $work/proxy --log-level warn"
"$pgsctp" ${proxy_cmd#pgsctp } 2>"$work/proxy.log" &
proxy_pid=$!
pids+=($proxy_pid)

base_server_pid= base_proxy_pid=
if [ -n "$BASELINE" ]; then
	echo "== pgsctp at $base_commit: server SCTP 127.0.0.1:$BASE_SCTP_PORT over UDP $BASE_UDP_PORT, proxy 127.0.0.1:$BASE_PROXY_PORT" >&2
	base_server_cmd="pgsctp server --listen 127.0.0.1:$BASE_SCTP_PORT --udp-port $BASE_UDP_PORT --upstream 127.0.0.1:$PG_PORT --log-level warn"
	"$work/pgsctp-base" ${base_server_cmd#pgsctp } 2>"$work/base-server.log" &
	base_server_pid=$!
	pids+=($base_server_pid)
	mkdir -p "$work/base-proxy"
	base_proxy_cmd="pgsctp proxy --server 127.0.0.1:$BASE_SCTP_PORT --peer-udp-port $BASE_UDP_PORT --listen 127.0.0.1:$BASE_PROXY_PORT --port $BASE_PROXY_PORT --socket-dir $work/base-proxy --log-level warn"
	"$work/pgsctp-base" ${base_proxy_cmd#pgsctp } 2>"$work/base-proxy.log" &
	base_proxy_pid=$!
	pids+=($base_proxy_pid)
fi

ready() { psql -X -At -h 127.0.0.1 -p "$1" -U postgres -c 'select 1' postgres >/dev/null 2>&1; }
for port in $BOUNCER_PORT $PROXY_PORT $BOUNCER2_PORT $RELAY_PORT $RELAYT_PORT ${BASELINE:+$BASE_PROXY_PORT}; do
	for _ in $(seq 100); do ready "$port" && break; sleep 0.1; done
	ready "$port" || { echo "bench-pg.sh: nothing answers on 127.0.0.1:$port" >&2; cat "$work"/*.log >&2; exit 1; }
done

bouncer_pid=$(cat "$work/pgbouncer.pid")
bouncer2_pid=$(cat "$work/pgbouncer2.pid")
postmaster_pid=$(head -1 "$work/data/postmaster.pid")

sql() { psql -X -At -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PG_PORT -U postgres -c "$1" postgres; }
echo "== pgbench -i -s $SCALE" >&2
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p $PG_PORT -U postgres postgres >"$work/init.log" 2>&1 ||
	{ cat "$work/init.log" >&2; exit 1; }
sql "create extension pg_prewarm" >/dev/null
sql "select pg_prewarm(c) from unnest(array['pgbench_accounts', 'pgbench_accounts_pkey', 'pgbench_branches', 'pgbench_tellers']) c" >/dev/null

# CPU time of the processes between client and PostgreSQL (both pgbouncers,
# all four relaypairs, pgsctp proxy and server: all of them, since the idle
# ones cost next to nothing) and of PostgreSQL (the postmaster, its live
# children and those it reaped: the run's backends, plus background work),
# in clock ticks from /proc/PID/stat: utime + stime + cutime + cstime.
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# pg_ticks: the postmaster and its live children (pgbouncer keeps its server
# connections, so their backends are not reaped between runs).
pg_ticks() {
	local t=0 p
	for p in $postmaster_pid $(pgrep -P "$postmaster_pid"); do t=$((t + $(ticks "$p"))); done
	echo $t
}
between_ticks() {
	local t=$(($(ticks "$bouncer_pid") + $(ticks "$proxy_pid") + $(ticks "$server_pid") +
		$(ticks "$bouncer2_pid") + $(ticks "$relaya_pid") + $(ticks "$relayb_pid") +
		$(ticks "$relayt_pid") + $(ticks "$relayt2_pid")))
	[ -n "$base_server_pid" ] && t=$((t + $(ticks "$base_server_pid") + $(ticks "$base_proxy_pid")))
	echo $t
}
cpu_start() {
	sleep 0.3
	cpu0_between=$(between_ticks) cpu0_pg=$(pg_ticks)
}
# cpu_end NAME [CLIENT_TIME_FILE]: appends between_cpu_s, pg_cpu_s (and
# client_cpu_s from a bash "time" of "%U %S") to NAME.res, once the run's
# backends have exited.
cpu_end() {
	sleep 0.3
	local between=$(($(between_ticks) - cpu0_between)) pg=$(($(pg_ticks) - cpu0_pg)) client=
	[ -n "${2:-}" ] && [ -s "$2" ] && client=$(awk '{ printf " client_cpu_s=%.2f", $1 + $2 }' "$2")
	awk -v b="$between" -v p="$pg" -v hz="$hz" -v c="$client" '{ printf "%s between_cpu_s=%.2f pg_cpu_s=%.2f%s\n", $0, b / hz, p / hz, c }' \
		"$out/$1.res" >"$out/$1.res.new"
	mv "$out/$1.res.new" "$out/$1.res"
}

# Each run leaves in $out/NAME.res one line of name=value pairs (tps,
# mean_ms, p99_ms, errors; for COPY bytes, seconds, mb_per_s) and in
# $out/NAME.cmd the command run.
field() { # NAME KEY
	tr ' ' '\n' <"$out/$1.res" | awk -F= -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "-" }'
}

# pgbench_run NAME PORT ARGS...: pgbench for SECS s on 127.0.0.1:PORT; the
# p99 and the mean come from its per-transaction log (-l), the TPS from its
# report.
pgbench_run() {
	local name=$1 port=$2
	shift 2
	local cmd=(pgbench "$@" -c "$CLIENTS" -j "$THREADS" -T "$SECS" -l --log-prefix="$out/$name.log" -h 127.0.0.1 -p "$port" -U postgres postgres)
	echo "${cmd[*]}" | sed "s|--log-prefix=$out/|--log-prefix=|" >"$out/$name.cmd"
	local rc=0 TIMEFORMAT='%U %S'
	cpu_start
	# (time reports to the group's stderr only when the timed command's
	# redirections are inside a group of their own.)
	{ time { "${cmd[@]}" >"$out/$name.out" 2>&1; }; } 2>"$out/$name.time" || rc=$?
	local tps failed aborted
	tps=$(awk '/^tps = / { printf "%.1f", $3 }' "$out/$name.out")
	failed=$(awk -F'[:(]' '/^number of failed transactions/ { gsub(/ /, "", $2); print $2 }' "$out/$name.out")
	aborted=0
	[ "$rc" -eq 0 ] || aborted=1
	# Log lines: client_id transaction_no time script_no time_epoch time_us; time in µs.
	cat "$out/$name.log".* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n >"$out/$name.lat"
	awk -v tps="${tps:--}" -v failed="${failed:-0}" -v aborted="$aborted" '
		{ v[NR] = $1; s += $1 }
		END {
			errors = failed + 0
			if (aborted) errors = errors "+aborted"
			if (NR == 0) { printf "tps=%s transactions=0 errors=%s\n", tps, errors; exit }
			i = int(0.99 * (NR - 1)) + 1
			printf "tps=%s transactions=%d mean_ms=%.3f p99_ms=%.3f errors=%s\n", tps, NR, s / NR / 1000, v[i] / 1000, errors
		}' "$out/$name.lat" >"$out/$name.res"
	rm -f "$out/$name.log".* "$out/$name.lat"
	cpu_end "$name" "$out/$name.time"
	[ "$rc" -eq 0 ] || { echo "  $name: pgbench exited $rc:" >&2; tail -5 "$out/$name.out" >&2; }
	echo "  $name: $(cat "$out/$name.res")" >&2
}

# go_run NAME ARGS...: pgsctp bench-pg; like pgbench, transactions start
# from clean tellers, branches and history.
go_run() {
	local name=$1
	shift
	local conn="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=disable"
	case " $* " in *" --sctp "*) conn="host=127.0.0.1 port=$SCTP_PORT user=postgres dbname=postgres sslmode=disable" ;; esac
	local bin=$pgsctp
	case $name in *-base)
		bin=$work/pgsctp-base
		conn="host=127.0.0.1 port=$BASE_SCTP_PORT user=postgres dbname=postgres sslmode=disable" ;;
	esac
	case " $* " in *" copy-out "*) ;; *) sql "vacuum pgbench_branches, pgbench_tellers" && sql "truncate pgbench_history" ;; esac
	local a shown=()
	for a in "$@" "$conn"; do
		case $a in *" "*) shown+=("\"$a\"") ;; *) shown+=("$a") ;; esac
	done
	echo "pgsctp bench-pg ${shown[*]}" >"$out/$name.cmd"
	local rc=0
	cpu_start
	"$bin" bench-pg "$@" "$conn" >"$out/$name.res" 2>"$out/$name.err" || rc=$?
	[ -s "$out/$name.res" ] || echo "errors=exit$rc" >"$out/$name.res"
	cpu_end "$name"
	sed -i -E 's/ cpu_s=([0-9.]+)/ client_cpu_s=\1/' "$out/$name.res"
	[ "$rc" -eq 0 ] || { echo "  $name: bench-pg exited $rc:" >&2; cat "$out/$name.err" >&2; }
	echo "  $name: $(cat "$out/$name.res")" >&2
}

# psql_copy NAME PORT: the COPY through psql, its bytes counted by wc.
psql_copy() {
	local name=$1 port=$2
	echo "psql -X -h 127.0.0.1 -p $port -U postgres -c \"$copy_sql\" postgres | wc -c" >"$out/$name.cmd"
	local t0 t1 bytes rc=0 TIMEFORMAT='%U %S'
	cpu_start
	t0=$(date +%s.%N)
	bytes=$({ time (set -o pipefail; psql -X -h 127.0.0.1 -p "$port" -U postgres -c "$copy_sql" postgres 2>"$out/$name.err" | wc -c); } 2>"$out/$name.time") || rc=$?
	t1=$(date +%s.%N)
	awk -v b="$bytes" -v t0="$t0" -v t1="$t1" -v rc="$rc" 'BEGIN {
		s = t1 - t0
		printf "seconds=%.3f bytes=%d mb_per_s=%.1f errors=%d\n", s, b, b / 1e6 / s, rc != 0
	}' >"$out/$name.res"
	cpu_end "$name" "$out/$name.time"
	[ "$rc" -eq 0 ] || { echo "  $name: psql exited $rc:" >&2; cat "$out/$name.err" >&2; }
	echo "  $name: $(cat "$out/$name.res")" >&2
}

# BENCH_PROFILE=1: instead of the benchmark, profile pgbench -S through
# pgsctp (proxy + server), the Go relay pair and the two chained pgbouncers
# with perf (whole
# system, call graphs), print where their CPU time goes
# (scripts/perf-breakdown.awk) and stop; docs/benchmarks.md is not touched.
# perf costs CPU too, so these runs' TPS are not the benchmark's.
if [ -n "${BENCH_PROFILE:-}" ]; then
	if ! command -v perf >/dev/null; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf >/dev/null
	fi
	# profile NAME PORT PID...: pgbench -S on PORT for SECS s under
	# perf record; the breakdown of the PIDs' samples, in shares and in
	# µs of CPU per transaction (from /proc/PID/stat over the run).
	profile() {
		local name=$1 port=$2
		shift 2
		local list p t0=0 t1=0 tx
		list=$(IFS=,; echo "$*")
		for p in "$@"; do t0=$((t0 + $(ticks "$p"))); done
		perf record -q -a -g -F 999 -o "$out/$name.perf" -- sleep "$SECS" 2>"$out/$name.perf.err" &
		pids+=($!)
		pgbench -S -c "$CLIENTS" -j "$THREADS" -T "$SECS" -h 127.0.0.1 -p "$port" -U postgres postgres >"$out/$name.out" 2>&1 ||
			{ echo "bench-pg.sh: pgbench through $port failed:" >&2; tail -5 "$out/$name.out" >&2; }
		wait "${pids[-1]}" || { echo "bench-pg.sh: perf record failed:" >&2; cat "$out/$name.perf.err" >&2; }
		unset 'pids[-1]'
		for p in "$@"; do t1=$((t1 + $(ticks "$p"))); done
		tx=$(awk '/^number of transactions actually processed/ { print $NF }' "$out/$name.out")
		local us
		us=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="${tx:-0}" 'BEGIN { if (n > 0) printf "%.1f", t / hz / n * 1e6; else print 0 }')
		echo "== $name: pgbench -S -c $CLIENTS -j $THREADS -T $SECS through 127.0.0.1:$port under perf record -a -g -F 999;" \
			"$(awk '/^tps = / { print $3 }' "$out/$name.out") TPS, ${tx:-0} transactions, $us µs CPU per transaction in pids $list"
		perf script -i "$out/$name.perf" -F comm,pid,tid,period,ip,sym,dso 2>/dev/null |
			awk -v pids="$list" -v top=25 -f scripts/perf-breakdown.awk |
			awk -F'\t' -v us="$us" '$1 == "all" || $1 == "syscall" { sub(/%/, "", $4); printf "%s\t%s\t%.1f%%\t%.1f µs/tx\n", $1, $2, $4, $4 * us / 100; next } { print }'
		rm -f "$out/$name.perf"
	}
	profile pgsctp $PROXY_PORT "$proxy_pid" "$server_pid"
	profile relaypair $RELAY_PORT "$relaya_pid" "$relayb_pid"
	# pgbouncer is C: its categories say little, its system calls do.
	profile pgbouncer2 $BOUNCER2_PORT "$bouncer2_pid" "$bouncer_pid"
	exit 0
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
sctp=(--sctp --peer-udp-port $UDP_PORT)
for wl in select-only tpcb-like; do
	flags=()
	[ "$wl" = select-only ] && flags=(-S)
	echo "== $wl, $CLIENTS clients, ${SECS} s each" >&2
	pgbench_run "$wl-tcp" $PG_PORT "${flags[@]}"
	pgbench_run "$wl-pgbouncer" $BOUNCER_PORT "${flags[@]}"
	pgbench_run "$wl-pgbouncer2" $BOUNCER2_PORT "${flags[@]}"
	pgbench_run "$wl-relaypair" $RELAY_PORT "${flags[@]}"
	pgbench_run "$wl-relaytcp" $RELAYT_PORT "${flags[@]}"
	pgbench_run "$wl-pgsctp" $PROXY_PORT "${flags[@]}"
	[ -n "$BASELINE" ] && pgbench_run "$wl-pgsctp-base" $BASE_PROXY_PORT "${flags[@]}"
	go_run "$wl-go-tcp" --workload "$wl" --clients "$CLIENTS" --duration "${SECS}s"
	go_run "$wl-go-sctp" --workload "$wl" --clients "$CLIENTS" --duration "${SECS}s" "${sctp[@]}"
	[ -n "$BASELINE" ] && go_run "$wl-go-sctp-base" --workload "$wl" --clients "$CLIENTS" --duration "${SECS}s" --sctp --peer-udp-port $BASE_UDP_PORT
	go_run "$wl-go-sctp-mux" --workload "$wl" --clients "$CLIENTS" --duration "${SECS}s" "${sctp[@]}" --multiplex
done
echo "== COPY out, $COPY_ROWS rows of 1000 bytes" >&2
psql_copy copy-tcp $PG_PORT
psql_copy copy-pgbouncer $BOUNCER_PORT
psql_copy copy-pgbouncer2 $BOUNCER2_PORT
psql_copy copy-relaypair $RELAY_PORT
psql_copy copy-relaytcp $RELAYT_PORT
psql_copy copy-pgsctp $PROXY_PORT
[ -n "$BASELINE" ] && psql_copy copy-pgsctp-base $BASE_PROXY_PORT
go_run copy-go-tcp --workload copy-out --copy-query "$copy_sql"
go_run copy-go-sctp --workload copy-out --copy-query "$copy_sql" "${sctp[@]}"
[ -n "$BASELINE" ] && go_run copy-go-sctp-base --workload copy-out --copy-query "$copy_sql" --sctp --peer-udp-port $BASE_UDP_PORT

# The settings PostgreSQL ran with, as it reports them.
sql "select name || '=' || setting from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'work_mem')" | tr '\n' ' ' >"$out/pg.settings"
echo "== PostgreSQL ran with: $(cat "$out/pg.settings")" >&2

# Anything the server or proxy logged at warn or above, or a relaypair at
# all (but its start), is worth a look.
for f in server proxy relaya relayb relayt relayt2; do
	if [ -s "$work/$f.log" ] && grep -qv ': serving on ' "$work/$f.log"; then
		echo "== $f logged:" >&2
		tail -20 "$work/$f.log" >&2
		# One line per kind of message, addresses and ports elided, with counts.
		sed -E 's/.*level=([A-Z]+) msg="([^"]*)".* end=([a-z]+) err="([^"]*)".*/\1 \2 (end=\3): \4/; t
			s/.*level=([A-Z]+) msg="([^"]*)".*/\1 \2/' < <(grep -v ': serving on ' "$work/$f.log") |
			sed -E 's/[0-9]+(\.[0-9]+){3}:[0-9]+/ADDR/g' | sort | uniq -c | sort -rn | head -10 >"$out/$f.log"
	fi
done

# ---- the report ----

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
# per NAME KEY UNIT DIVISOR DECIMALS: NAME's KEY (CPU seconds) per unit of work.
per() { awk -v s="$(field "$1" "$2")" -v n="$3" -v d="$4" 'BEGIN { if (s ~ /^[0-9.]+$/ && n + 0 > 0) printf "%.*f", d, s / n; else printf "-" }'; }
tx_row() { # NAME REFNAME LABEL CLIENT
	local tps mean p99 n
	tps=$(field "$1" tps) mean=$(field "$1" mean_ms) p99=$(field "$1" p99_ms)
	n=$(awk -v n="$(field "$1" transactions)" 'BEGIN { print n / 1e6 }')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$3" "$4" "$tps" "$mean" "$p99" \
		"$(ratio "$tps" "$(field "$2" tps)")" "$(ratio "$mean" "$(field "$2" mean_ms)")" \
		"$(ratio "$p99" "$(field "$2" p99_ms)")" \
		"$(per "$1" client_cpu_s "$n" 0)" "$(per "$1" between_cpu_s "$n" 0)" "$(per "$1" pg_cpu_s "$n" 0)" \
		"$(field "$1" errors)"
}
copy_row() { # NAME REFNAME LABEL CLIENT
	local mbs gb
	mbs=$(field "$1" mb_per_s)
	gb=$(awk -v b="$(field "$1" bytes)" 'BEGIN { print b / 1e9 }')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$3" "$4" "$mbs" "$(field "$1" seconds)" \
		"$(ratio "$mbs" "$(field "$2" mb_per_s)")" \
		"$(per "$1" client_cpu_s "$gb" 2)" "$(per "$1" between_cpu_s "$gb" 2)" "$(per "$1" pg_cpu_s "$gb" 2)" \
		"$(field "$1" bytes)" "$(field "$1" errors)"
}

section=$out/section.md
{
	echo "## PostgreSQL through pgsctp"
	echo
	echo "Measured by \`scripts/bench-pg.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r), $(go env GOVERSION)," \
		"PostgreSQL $("$pgbin/postgres" --version | awk '{ print $3 }'), pgbouncer $(pgbouncer --version | awk 'NR == 1 { print $2 }'),"
	echo "pgsctp $commit${base_commit:+, and as of $base_commit (BENCH_BASELINE) on a second proxy and server}."
	echo "One run of ${SECS} s per transaction figure, $CLIENTS clients (pgbench -c $CLIENTS -j $THREADS; Go: $CLIENTS goroutines,"
	echo "one session each), pgbench scale $SCALE, tables prewarmed into shared_buffers. Everything on"
	echo "127.0.0.1, every process on the same $(nproc) CPUs (which other work shared at the time:"
	echo "compare figures of one run, not across runs; load average $load_before before the runs,"
	echo "$(cut -d' ' -f1-3 /proc/loadavg) after). PostgreSQL ran with fsync=off,"
	echo "synchronous_commit=off and full_page_writes=off: the comparison is between paths to the"
	echo "same server, not of durable commits."
	echo
	echo "Paths: **direct TCP** is the client on PostgreSQL's TCP port. **pgbouncer** is session pooling,"
	echo "client -TCP-> pgbouncer -TCP-> PostgreSQL. **pgbouncer -> pgbouncer** chains a second one"
	echo "before it: the same two relay hops as pgsctp's proxy and server, in C. **Go relay pair** is"
	echo "client -TCP-> \`relaypair a\` -UDP-> \`relaypair b\` -TCP-> PostgreSQL (bench/relaypair): pgsctp's"
	echo "process layout in Go with a goroutine per direction and blocking reads, datagrams of at most"
	echo "1200 bytes with a one-byte kind and a credit every 16, no SCTP. **Go relay pair over TCP** is the"
	echo "same two processes as plain TCP relays (\`relaypair t\`: a goroutine per direction reading into a"
	echo "64 KiB buffer and writing what it read, no splice), the Go TCP relay pair of issue 7's COPY goal."
	echo "Both Go pairs run on one thread each (GOMAXPROCS=1), as pgsctp's server and proxy do by default"
	echo "(\`worker_threads = 1\`)."
	echo "**pgsctp proxy + server** is client -TCP->"
	echo "\`pgsctp proxy\` -SCTP over UDP-> \`pgsctp server\` -TCP-> PostgreSQL, one association per"
	echo "session. **pgdial.SCTP** is the Go program itself speaking SCTP over UDP to \`pgsctp server\`"
	echo "(-TCP-> PostgreSQL), one association per session or, *multiplexed*, all sessions as"
	echo "streams of one. pgbench rows are compared with pgbench over direct TCP, Go rows with the"
	echo "same Go program (pgx) over direct TCP. SCTP packets start at 1200 bytes (the default MTU);"
	echo "path MTU discovery (RFC 8899, on by default) lets them grow to 9216 bytes on loopback."
	echo "Latency is per transaction, from the per-transaction log (pgbench -l) or measured by the Go"
	echo "generator in the same way; MB is 10^6 bytes. CPU is user + system time per transaction (COPY:"
	echo "per GB) of the client process (pgbench; psql with wc; the Go program, getrusage, which"
	echo "with pgdial includes its SCTP stack), of what runs in between (the sum over both pgbouncers,"
	echo "all four relaypairs, pgsctp proxy and server, /proc/PID/stat: the idle ones add next to nothing)"
	echo "and of PostgreSQL (its backends and background processes)."
	for wl in select-only tpcb-like; do
		echo
		if [ "$wl" = select-only ]; then
			echo "### pgbench select-only (-S): one primary-key SELECT per transaction"
		else
			echo "### pgbench tpcb-like (the default script): BEGIN, 3 UPDATEs, SELECT, INSERT, END"
		fi
		echo
		echo "| path | client | TPS | mean ms | p99 ms | TPS vs TCP | mean vs TCP | p99 vs TCP | CPU µs/tx client | in between | PostgreSQL | failed |"
		echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		tx_row "$wl-tcp" "$wl-tcp" "direct TCP" pgbench
		tx_row "$wl-pgbouncer" "$wl-tcp" "pgbouncer" pgbench
		tx_row "$wl-pgbouncer2" "$wl-tcp" "pgbouncer -> pgbouncer (two C hops)" pgbench
		tx_row "$wl-relaypair" "$wl-tcp" "Go relay pair over UDP (bench/relaypair)" pgbench
		tx_row "$wl-relaytcp" "$wl-tcp" "Go relay pair over TCP (relaypair t)" pgbench
		tx_row "$wl-pgsctp" "$wl-tcp" "pgsctp proxy + server" pgbench
		[ -n "$BASELINE" ] && tx_row "$wl-pgsctp-base" "$wl-tcp" "pgsctp proxy + server at $base_commit" pgbench
		tx_row "$wl-go-tcp" "$wl-go-tcp" "direct TCP" "Go, pgx"
		tx_row "$wl-go-sctp" "$wl-go-tcp" "pgdial.SCTP + server" "Go, pgx"
		[ -n "$BASELINE" ] && tx_row "$wl-go-sctp-base" "$wl-go-tcp" "pgdial.SCTP + server at $base_commit" "Go, pgx"
		tx_row "$wl-go-sctp-mux" "$wl-go-tcp" "pgdial.SCTP + server, multiplexed" "Go, pgx"
	done
	echo
	echo "### COPY out: $COPY_ROWS rows of 1000 bytes ($(awk -v r="$COPY_ROWS" 'BEGIN { printf "%.2f", r * 1000 / 1e9 }') GB), one session"
	echo
	echo "| path | client | MB/s | seconds | MB/s vs TCP | CPU s/GB client | in between | PostgreSQL | bytes | failed |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	copy_row copy-tcp copy-tcp "direct TCP" psql
	copy_row copy-pgbouncer copy-tcp "pgbouncer" psql
	copy_row copy-pgbouncer2 copy-tcp "pgbouncer -> pgbouncer (two C hops)" psql
	copy_row copy-relaypair copy-tcp "Go relay pair over UDP (bench/relaypair)" psql
	copy_row copy-relaytcp copy-tcp "Go relay pair over TCP (relaypair t)" psql
	copy_row copy-pgsctp copy-tcp "pgsctp proxy + server" psql
	[ -n "$BASELINE" ] && copy_row copy-pgsctp-base copy-tcp "pgsctp proxy + server at $base_commit" psql
	copy_row copy-go-tcp copy-go-tcp "direct TCP" "Go, pgx CopyTo"
	copy_row copy-go-sctp copy-go-tcp "pgdial.SCTP + server" "Go, pgx CopyTo"
	[ -n "$BASELINE" ] && copy_row copy-go-sctp-base copy-go-tcp "pgdial.SCTP + server at $base_commit" "Go, pgx CopyTo"
	echo
	echo "The exact commands, in the order run (\`scripts/bench-pg.sh\` runs them all; the Go"
	echo "transaction runs each follow \`vacuum pgbench_branches, pgbench_tellers; truncate pgbench_history\`,"
	echo "as pgbench does before its own):"
	echo
	echo '```'
	echo "pg_ctl start -o \"$(echo $pg_settings | sed "s|$work|\$dir|")\""
	echo "pgbench -i -q -s $SCALE -h 127.0.0.1 -p $PG_PORT -U postgres postgres"
	echo "pgbouncer pgbouncer.ini    # listen 127.0.0.1:$BOUNCER_PORT, pool_mode = session, auth_type = trust"
	echo "pgbouncer pgbouncer2.ini    # the same, listen 127.0.0.1:$BOUNCER2_PORT, * = host=127.0.0.1 port=$BOUNCER_PORT"
	echo "GOMAXPROCS=1 $relayb_cmd &"
	echo "GOMAXPROCS=1 $relaya_cmd &"
	echo "GOMAXPROCS=1 $relayt2_cmd &"
	echo "GOMAXPROCS=1 $relayt_cmd &"
	echo "$server_cmd &"
	echo "$proxy_cmd &" | sed "s|$work/|\$dir/|"
	if [ -n "$BASELINE" ]; then
		echo "$base_server_cmd &    # pgsctp built at $base_commit"
		echo "$base_proxy_cmd &    # pgsctp built at $base_commit" | sed "s|$work/|\$dir/|"
	fi
	for wl in select-only tpcb-like; do
		for p in tcp pgbouncer pgbouncer2 relaypair relaytcp pgsctp pgsctp-base go-tcp go-sctp go-sctp-base go-sctp-mux; do
			[ -f "$out/$wl-$p.cmd" ] && cat "$out/$wl-$p.cmd"
		done
	done
	for p in tcp pgbouncer pgbouncer2 relaypair relaytcp pgsctp pgsctp-base go-tcp go-sctp go-sctp-base; do
		[ -f "$out/copy-$p.cmd" ] && cat "$out/copy-$p.cmd"
	done
	echo '```'
	for f in server proxy relaya relayb relayt relayt2; do
		if [ -s "$out/$f.log" ]; then
			echo
			case $f in relayt*) who="relaypair t" ;; relay?) who="relaypair ${f#relay}" ;; *) who="pgsctp $f" ;; esac
			echo "\`$who\` logged at warn or above during the run (count, message):"
			echo
			echo '```'
			cat "$out/$f.log"
			echo '```'
		fi
	done
} >"$section"

doc=docs/benchmarks.md
if [ ! -f "$doc" ]; then
	mkdir -p docs
	printf '# Benchmarks\n\nEach section says which command produced its figures, on which machine and when.\n' >"$doc"
fi
# Replace the section (up to the next "## " heading) or append it. Lines of
# the old section from the marker "<!-- bench-pg.sh keeps what follows -->"
# on (the interpretation, written by hand) are kept after the new figures.
marker='<!-- bench-pg.sh keeps what follows -->'
awk -v sec="$section" -v marker="$marker" '
	function emit() { while ((getline l < sec) > 0) print l; close(sec); done = 1 }
	function flush() { if (kept != "") printf "\n%s", kept; else print ""; kept = "" }
	/^## / { if (skip) { skip = 0; flush() } }
	/^## PostgreSQL through pgsctp$/ { skip = 1; emit(); next }
	skip && $0 == marker { keep = 1 }
	skip && keep { kept = kept $0 "\n"; next }
	!skip { print }
	END { if (skip) { if (kept != "") printf "\n%s", kept } else if (!done) { print ""; emit() } }
' "$doc" >"$out/doc.md"
cp "$out/doc.md" "$doc"
echo "== wrote $doc:" >&2
cat "$section"
