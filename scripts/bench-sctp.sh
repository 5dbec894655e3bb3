#!/usr/bin/env bash
# Measures SCTP throughput and latency on this machine, side by side in one
# run, and writes the figures into docs/benchmarks.md under
# "## SCTP throughput and latency":
#
#   * pgsctp bench over loopback: throughput (64 KiB messages) and latency
#     (64-byte ping-pong), with the defaults (MTU 1200, path MTU discovery)
#     and, for throughput, without discovery and at MTU 9000;
#   * the same code over plain TCP (pgsctp bench --tcp), the reference every
#     ratio is taken against;
#   * usrsctp's tsctp (Debian libusrsctp-examples) over UDP encapsulation,
#     64 KiB messages, as an independent SCTP-over-UDP implementation;
#   * quic-go (bench/quicbench, its own Go module so that pgsctp does not
#     depend on quic-go): the same 64 KiB messages over one QUIC stream, a
#     user-space transport over UDP in Go like pgsctp, the one to beat.
#
# Everything runs inside a private network namespace (unshare --net, as
# root) that has only lo, so no packet leaves loopback (usrsctp announces
# and heartbeats every address of its namespace) and the namespace's
# /proc/net/snmp counts exactly the datagrams and segments of each run.
# Without root, the pgsctp and TCP runs use the host's loopback and tsctp
# is skipped.
#
# Usage: scripts/bench-sctp.sh          (BENCH_SECONDS=5 per figure)
#        BENCH_PROFILE=1 scripts/bench-sctp.sh   instead of the benchmark, the
#        bulk runs of pgsctp and quic-go under perf, sorted by
#        scripts/perf-breakdown.awk (needs perf: linux-perf); docs untouched.
# Needs: go (and the Go module proxy, for quic-go), jq, iproute2, util-linux
# (unshare), libusrsctp-examples.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${BENCH_SECONDS:-5}
PORT=5001
UDP_PORT=29899
QUIC_PORT=29902
TSCTP=/usr/lib/usrsctp/tsctp

# snmp FIELD: the namespace's counter "Udp: InDatagrams" or "Tcp: InSegs".
snmp() {
	local proto=${1%%:*} field=${1#*:}
	awk -v p="$proto:" -v f="$field" '$1 == p { if (!h) { for (i = 2; i <= NF; i++) if ($i == f) c = i; h = 1 } else print $c }' /proc/net/snmp
}

# client NAME ARGS...: one pgsctp bench client run, its JSON in NAME.json,
# the command in NAME.cmd, and the datagrams (or segments) in NAME.pkts.
client() {
	local name=$1 counter=Udp:InDatagrams
	shift
	case " $* " in *" --tcp "*) counter=Tcp:InSegs ;; esac
	echo "pgsctp bench --json --duration ${SECONDS_EACH}s $* 127.0.0.1:$PORT" >"$out/$name.cmd"
	local before
	before=$(snmp $counter)
	"$out/pgsctp" bench --json --duration "${SECONDS_EACH}s" "$@" "127.0.0.1:$PORT" >"$out/$name.json"
	echo $(($(snmp $counter) - before)) >"$out/$name.pkts"
	echo "  $name: $(jq -r '"\(.mb_per_s | floor) MB/s, \(.messages_per_s | floor) messages/s"' "$out/$name.json")" >&2
}

# measure: the runs, inside the namespace; results in $out.
measure() {
	ip link set lo up 2>/dev/null || true
	echo "pgsctp bench --server --listen 127.0.0.1:$PORT --udp-port $UDP_PORT --tcp --json" >"$out/server.cmd"
	"$out/pgsctp" bench --server --listen "127.0.0.1:$PORT" --udp-port $UDP_PORT --tcp --json \
		>"$out/server.jsonl" 2>"$out/server.err" &
	local spid=$!
	bg_pids+=($spid)
	for _ in $(seq 100); do grep -q serving "$out/server.err" && break; sleep 0.05; done

	local sctp=(--peer-udp-port $UDP_PORT)
	client sctp-throughput "${sctp[@]}"
	client sctp-throughput-nodisc "${sctp[@]}" --max-mtu -1
	client sctp-throughput-mtu9000 "${sctp[@]}" --mtu 9000
	client tcp-throughput --tcp
	client sctp-latency "${sctp[@]}" --mode latency
	client tcp-latency --tcp --mode latency
	kill -INT $spid
	wait $spid || true
	bg_pids=()

	# quic-go: its own server process, the same shape of run.
	echo "quicbench -server -listen 127.0.0.1:$QUIC_PORT" >"$out/quic-server.cmd"
	"$out/quicbench" -server -listen "127.0.0.1:$QUIC_PORT" 2>"$out/quic-server.err" &
	local qpid=$!
	bg_pids+=($qpid)
	for _ in $(seq 100); do grep -q serving "$out/quic-server.err" && break; sleep 0.05; done
	echo "quicbench -json -duration ${SECONDS_EACH}s 127.0.0.1:$QUIC_PORT" >"$out/quic-throughput.cmd"
	local before
	before=$(snmp Udp:InDatagrams)
	"$out/quicbench" -json -duration "${SECONDS_EACH}s" "127.0.0.1:$QUIC_PORT" >"$out/quic-throughput.json" ||
		{ echo "  quic-go: failed:" >&2; cat "$out/quic-server.err" >&2; }
	echo $(($(snmp Udp:InDatagrams) - before)) >"$out/quic-throughput.pkts"
	kill -INT $qpid
	wait $qpid || true
	bg_pids=()
	if [ -s "$out/quic-throughput.json" ]; then
		echo "  quic-throughput: $(jq -r '"\(.mb_per_s | floor) MB/s, \(.messages_per_s | floor) messages/s"' "$out/quic-throughput.json")" >&2
	fi

	if [ -z "${in_netns:-}" ] || [ ! -x $TSCTP ]; then
		echo "  tsctp: skipped (needs root for a private namespace, and $TSCTP)" >&2
		return
	fi
	# tsctp prints a debug trace of the stack (built with SCTP_DEBUG_ALL);
	# full buffering to a file on tmpfs keeps that cheap, and the receiver
	# flushes its result line when the association ends.
	local rcmd="$TSCTP -E $((UDP_PORT + 1)) -L 127.0.0.1 -p $PORT"
	local scmd="$TSCTP -E $((UDP_PORT + 2)) -U $((UDP_PORT + 1)) -p $PORT -l 65536 -T $SECONDS_EACH 127.0.0.1"
	echo "$rcmd" >"$out/tsctp-receiver.cmd"
	echo "$scmd" >"$out/tsctp-sender.cmd"
	local before
	before=$(snmp Udp:InDatagrams)
	$rcmd >"$out/tsctp-receiver.out" 2>&1 &
	local rpid=$!
	bg_pids+=($rpid)
	sleep 0.3
	TIMEFORMAT='%U %S'
	{ time $scmd >/dev/null 2>&1; } 2>"$out/tsctp-sender.time"
	for _ in $(seq 200); do
		grep -aqE '^[0-9]+, [0-9]+, [0-9]+, [0-9]+, ' "$out/tsctp-receiver.out" && break
		sleep 0.05
	done
	echo $(($(snmp Udp:InDatagrams) - before)) >"$out/tsctp.pkts"
	# utime and stime of the receiver, in clock ticks.
	awk '{ print $14, $15 }' /proc/$rpid/stat >"$out/tsctp-receiver.ticks"
	kill $rpid
	wait $rpid || true
	bg_pids=()
	grep -aE '^[0-9]+, [0-9]+, [0-9]+, [0-9]+, ' "$out/tsctp-receiver.out" | tail -1 >"$out/tsctp-receiver.line" || true
	rm -f "$out/tsctp-receiver.out"
	echo "  tsctp: $(cat "$out/tsctp-receiver.line")" >&2
}

# Servers started in the background; an interrupted run kills them on exit
# (inside the namespace too: it goes away with its last process).
bg_pids=()
kill_bg() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
}

# profile_run NAME PIDS CMD...: runs CMD (a client, its output in
# NAME.json) under perf record of the whole system and prints where the CPU
# time of PIDS (comma-separated, the client's own pid is added) went.
profile_run() {
	local name=$1 pids=$2
	shift 2
	perf record -q -a -g -F 999 -o "$out/$name.perf" -- sleep "$SECONDS_EACH" 2>"$out/$name.perf.err" &
	local ppid=$!
	bg_pids+=($ppid)
	"$@" >"$out/$name.json" &
	local cpid=$!
	bg_pids+=($cpid)
	wait $cpid || echo "  $name: client failed" >&2
	wait $ppid || { echo "  $name: perf record failed:" >&2; cat "$out/$name.perf.err" >&2; }
	bg_pids=("${bg_pids[@]:0:${#bg_pids[@]}-2}")
	echo "== $name: $* under perf record -a -g -F 999;" \
		"$(jq -r '"\(.mb_per_s | floor) MB/s, CPU s/GB client \(.client.cpu_s_per_gb * 100 | floor / 100), server \(.server.cpu_s_per_gb * 100 | floor / 100)"' "$out/$name.json")"
	perf script -i "$out/$name.perf" -F comm,pid,tid,period,ip,sym,dso 2>/dev/null |
		awk -v pids="$pids,$cpid" -v top=20 -f scripts/perf-breakdown.awk
	rm -f "$out/$name.perf"
}

# profile: BENCH_PROFILE=1, the bulk runs of pgsctp (MTU 1200) and quic-go
# under perf instead of the benchmark.
profile() {
	ip link set lo up 2>/dev/null || true
	"$out/pgsctp" bench --server --listen "127.0.0.1:$PORT" --udp-port $UDP_PORT --json >/dev/null 2>"$out/server.err" &
	local spid=$!
	"$out/quicbench" -server -listen "127.0.0.1:$QUIC_PORT" 2>"$out/quic-server.err" &
	local qpid=$!
	bg_pids+=($spid $qpid)
	for _ in $(seq 100); do grep -q serving "$out/server.err" && grep -q serving "$out/quic-server.err" && break; sleep 0.05; done
	profile_run pgsctp-throughput $spid "$out/pgsctp" bench --json --duration "${SECONDS_EACH}s" --peer-udp-port $UDP_PORT "127.0.0.1:$PORT"
	profile_run quic-throughput $qpid "$out/quicbench" -json -duration "${SECONDS_EACH}s" "127.0.0.1:$QUIC_PORT"
	kill -INT $spid $qpid
	wait $spid $qpid || true
	bg_pids=()
}

if [ "${1:-}" = "--inside" ]; then
	out=$2 in_netns=1
	trap kill_bg EXIT
	if [ -n "${BENCH_PROFILE:-}" ]; then profile; else measure; fi
	exit 0
fi

command -v jq >/dev/null || { echo "bench-sctp.sh: needs jq" >&2; exit 1; }
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
out=$(mktemp -d "$base/bench-sctp.XXXXXX")
trap 'kill_bg; rm -rf "$out"' EXIT

echo "== building pgsctp" >&2
go build -o "$out/pgsctp" ./cmd/pgsctp
echo "== building quicbench (bench/quicbench, quic-go $(cd bench/quicbench && go list -m -f '{{.Version}}' github.com/quic-go/quic-go))" >&2
(cd bench/quicbench && go build -o "$out/quicbench" .)
if [ -n "${BENCH_PROFILE:-}" ]; then
	command -v perf >/dev/null || { echo "bench-sctp.sh: BENCH_PROFILE needs perf (apt-get install linux-perf)" >&2; exit 1; }
	echo "== profiling, ${SECONDS_EACH} s per run" >&2
	if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
		unshare --net -- "$0" --inside "$out"
	else
		profile
	fi
	exit 0
fi
echo "== measuring, ${SECONDS_EACH} s per figure" >&2
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	unshare --net -- "$0" --inside "$out"
else
	measure
fi

# ---- the report ----

j() { jq -r "$2" "$out/$1.json"; }
fmt() { awk -v x="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; }
per_msg() { awk -v p="$(cat "$out/$1.pkts")" -v m="$(j "$1" '.client.messages')" 'BEGIN { printf "%.1f", p / m }'; }

tcp_mbs=$(j tcp-throughput .mb_per_s)
quic_version=$(cd bench/quicbench && go list -m -f '{{.Version}}' github.com/quic-go/quic-go)
tput_row() { # name label
	local mbs
	mbs=$(j "$1" .mb_per_s)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(fmt "$mbs")" "$(fmt "$(j "$1" .messages_per_s)" 0)" \
		"$(ratio "$mbs" "$tcp_mbs")" "$(per_msg "$1")" \
		"$(fmt "$(j "$1" .client.cpu_s_per_gb)" 2)" "$(fmt "$(j "$1" .server.cpu_s_per_gb)" 2)" \
		"$(j "$1" '.client.retransmissions')"
}
tcp_p50=$(j tcp-latency .latency.p50_us)
us_per_rt() { jq -r "(.$2.cpu_user_s + .$2.cpu_system_s) / .client.messages * 1e6" "$out/$1.json"; }
lat_row() { # name label
	local p50
	p50=$(j "$1" .latency.p50_us)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(fmt "$(j "$1" .messages_per_s)" 0)" \
		"$(fmt "$(j "$1" .latency.mean_us)")" "$(fmt "$p50")" "$(fmt "$(j "$1" .latency.p99_us)")" \
		"$(ratio "$p50" "$tcp_p50")" "$(per_msg "$1")" \
		"$(fmt "$(us_per_rt "$1" client)")" "$(fmt "$(us_per_rt "$1" server)")"
}

section=$out/section.md
{
	echo "## SCTP throughput and latency"
	echo
	echo "Measured by \`scripts/bench-sctp.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs," \
		"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r), $(go env GOVERSION)," \
		"usrsctp $(dpkg-query -W -f='${Version}' libusrsctp-examples 2>/dev/null || echo '(not installed)')."
	if [ -f "$out/tsctp-receiver.line" ]; then
		echo "Everything ran over 127.0.0.1 in a private network namespace with only lo,"
	else
		echo "Everything ran over 127.0.0.1 on the host's loopback,"
	fi
	echo "one run of ${SECONDS_EACH} s per figure, client and server as separate processes on the"
	echo "same machine (which other work shared at the time: compare figures of one run, not across runs)."
	echo "Ratios are against TCP measured in the same run by the same code (\`--tcp\`)."
	echo "MB is 10^6 bytes. CPU is getrusage of each process over the run (user + system)."
	echo "Packets per message counts UDP datagrams (TCP: segments) in both directions, data and"
	echo "acknowledgements, from the namespace's /proc/net/snmp."
	echo
	echo "### Throughput: 64 KiB messages, one stream, client to server"
	echo
	echo "| transport | MB/s | messages/s | vs TCP | packets per message | CPU s/GB client | CPU s/GB server | retransmissions |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	tput_row sctp-throughput "pgsctp, SCTP over UDP (the defaults: MTU 1200, path MTU discovery up to 9216)"
	tput_row sctp-throughput-nodisc "pgsctp, SCTP over UDP, \`--max-mtu -1\` (MTU 1200, no discovery)"
	tput_row sctp-throughput-mtu9000 "pgsctp, SCTP over UDP, \`--mtu 9000\`"
	tput_row tcp-throughput "TCP (\`pgsctp bench --tcp\`)"
	if [ -s "$out/quic-throughput.json" ]; then
		tput_row quic-throughput "quic-go $quic_version, QUIC over UDP (bench/quicbench)"
	fi
	if [ -f "$out/tsctp-receiver.line" ] && [ -s "$out/tsctp-receiver.line" ]; then
		IFS=', ' read -r _ msgs _ bytes secs _ _ <"$out/tsctp-receiver.line"
		read -r su ss <"$out/tsctp-sender.time"
		read -r ru rs <"$out/tsctp-receiver.ticks"
		hz=$(getconf CLK_TCK)
		mbs=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { print b / s / 1e6 }')
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "usrsctp tsctp, SCTP over UDP" "$(fmt "$mbs")" \
			"$(fmt "$(awk -v m="$msgs" -v s="$secs" 'BEGIN { print m / s }')" 0)" "$(ratio "$mbs" "$tcp_mbs")" \
			"$(awk -v p="$(cat "$out/tsctp.pkts")" -v m="$msgs" 'BEGIN { printf "%.1f", p / m }')" \
			"$(awk -v u="$su" -v s="$ss" -v b="$bytes" 'BEGIN { printf "%.2f", (u + s) / (b / 1e9) }')" \
			"$(awk -v u="$ru" -v s="$rs" -v hz="$hz" -v b="$bytes" 'BEGIN { printf "%.2f", (u + s) / hz / (b / 1e9) }')" \
			"-"
	fi
	echo
	echo "### Latency: 64-byte request and its echo, one outstanding"
	echo
	echo "| transport | round trips/s | mean µs | p50 µs | p99 µs | p50 vs TCP | packets per round trip | CPU µs per round trip, client | server |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	lat_row sctp-latency "pgsctp, SCTP over UDP"
	lat_row tcp-latency "TCP (\`pgsctp bench --tcp\`)"
	echo
	echo "The exact commands, in the order run (\`scripts/bench-sctp.sh\` with BENCH_SECONDS=${SECONDS_EACH} runs them all):"
	echo
	echo '```'
	echo "$(cat "$out/server.cmd") &"
	for n in sctp-throughput sctp-throughput-nodisc sctp-throughput-mtu9000 tcp-throughput sctp-latency tcp-latency; do cat "$out/$n.cmd"; done
	if [ -f "$out/quic-throughput.cmd" ]; then
		echo "$(cat "$out/quic-server.cmd") &    # quic-go server"
		cat "$out/quic-throughput.cmd"
	fi
	if [ -f "$out/tsctp-receiver.cmd" ]; then
		echo "$(cat "$out/tsctp-receiver.cmd") &    # usrsctp receiver"
		echo "$(cat "$out/tsctp-sender.cmd")    # usrsctp sender"
	fi
	echo '```'
	echo
	echo "Notes: pgsctp's throughput is the client's bytes over the time from its first send to the"
	echo "server's report, so every byte was delivered to the server application. tsctp's is its"
	echo "receiver's figure (first to last read). The Debian tsctp is built with SCTP_DEBUG_ALL and"
	echo "prints a trace line for nearly every event; its figures are lower bounds of what usrsctp"
	echo "can do. TCP on loopback sends up to 64 KiB per segment (no MTU limit, GSO), pgsctp one"
	echo "UDP datagram per packet: with path MTU discovery (RFC 8899) packets grow to what the path"
	echo "carries (9216 bytes here), each DATA chunk cut to fill one when first sent; \`--mtu 9000\`"
	echo "starts at 9000 bytes, without discovery. quic-go (bench/quicbench, its defaults: packets up to"
	echo "1452 bytes after its path MTU discovery, GSO) encrypts every packet (TLS 1.3, AES-GCM), pgsctp"
	echo "does not; its retransmissions are the packets it declared lost, and its messages are the"
	echo "client's 64 KiB writes to one stream, a byte stream."
} >"$section"

doc=docs/benchmarks.md
if [ ! -f "$doc" ]; then
	mkdir -p docs
	printf '# Benchmarks\n\nEach section says which command produced its figures, on which machine and when.\n' >"$doc"
fi
# Replace the section (up to the next "## " heading) or append it.
awk -v sec="$section" '
	function emit() { while ((getline l < sec) > 0) print l; close(sec); done = 1 }
	/^## / { if (skip) { skip = 0; print "" } }
	/^## SCTP throughput and latency$/ { skip = 1; emit(); next }
	!skip { print }
	END { if (!done) { print ""; emit() } }
' "$doc" >"$out/doc.md"
cp "$out/doc.md" "$doc"
echo "== wrote $doc:" >&2
cat "$section"
