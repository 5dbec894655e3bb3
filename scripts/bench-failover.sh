#!/usr/bin/env bash
# Measures failover when a link dies silently, side by side in one run:
# pgsctp (proxy and server; a client with 4 links and a server with 1, and
# 2 and 2), MPTCP in the same namespaces (pgbench under mptcpize, an MPTCP
# relay in front of PostgreSQL, `ip mptcp endpoint ... subflow/signal`),
# and plain TCP (libpq defaults, and tcp_user_timeout=1000). Each trial runs
# pgbench -S with 4 clients for 5 s and blackholes the client's first link
# in the router after 2 s; an idle session sends one query 0.5 s after the
# failure. The Markdown table goes to stdout and to $OUT.
#
# Run as root on a Debian 12 machine (network namespaces; PostgreSQL runs as
# the postgres user). Everything lives in namespaces the run creates, and
# in a temporary PostgreSQL; both are removed on exit.
#
# Usage: scripts/bench-failover.sh
# Environment: TRIALS (20 per transport; TCP gets at most 5 and 3, since it
# never recovers within a trial), OUT (file for the table, default
# /tmp/pgsctp-failover.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if ! command -v mptcpize >/dev/null; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mptcpize >/dev/null
fi
OUT=${OUT:-/tmp/pgsctp-failover.md}
PGSCTP_BENCH_FAILOVER=$OUT PGSCTP_BENCH_TRIALS=${TRIALS:-20} \
	go test -count=1 -run '^TestFailoverBenchmark$' -timeout 60m -v ./cmd/pgsctp/ | grep -E 'trial [0-9]+:|^ok|FAIL'
cat "$OUT"
