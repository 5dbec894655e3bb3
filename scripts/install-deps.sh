#!/usr/bin/env bash
# Installs what pgsctp's tests and demo need on a fresh Debian 12 machine:
# PostgreSQL 15 (server and client tools), usrsctp's example programs (an
# independent SCTP peer), pgbouncer (for benchmarks), iproute2 (network
# namespaces), and the Go modules. Safe to run again.
set -euo pipefail

pkgs=(postgresql-15 postgresql-client-15 libusrsctp-examples pgbouncer iproute2 openssl procps jq util-linux)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cd "$(dirname "$0")/.."
go mod download
