#!/usr/bin/env bash
# Installs what pgsctp's tests and demo need on a fresh Debian 12 machine:
# PostgreSQL 15 (server and client tools), usrsctp's example programs (an
# independent SCTP peer), qemu, gcc and the static C library (the Linux
# kernel's SCTP as a second peer, internal/kernelsctp), tshark (checks that
# Wireshark decodes the interop captures), pgbouncer (for benchmarks),
# iproute2 (network namespaces), and the Go modules. Safe to run again.
set -euo pipefail

pkgs=(postgresql-15 postgresql-client-15 libusrsctp-examples libusrsctp-dev pgbouncer iproute2 openssl procps jq util-linux
	qemu-system-x86 gcc libc6-dev tshark)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	# tshark's package asks whether non-root users may capture; answer no
	# (the tests only read files).
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# internal/kernelsctp downloads Debian's kernel and busybox-static with
# apt-get download (cached in /var/cache/pgsctp-kernelsctp for root); stale
# package lists would name a kernel the mirror no longer has.
if ! ls /var/cache/pgsctp-kernelsctp/linux-image-*/ready >/dev/null 2>&1 && ((${#missing[@]} == 0)); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
fi

cd "$(dirname "$0")/.."
go mod download
