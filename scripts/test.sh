#!/usr/bin/env bash
# Runs every test of pgsctp: formatting and vet, cross-builds for macOS and
# Windows, the Go tests (codec, core, driver, usrsctp interop, PostgreSQL
# end to end), a short run of every fuzz target, and the demo (psql over
# SCTP against a real PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet ./...

echo "== cross-builds (clients without SCTP drivers are the first users)"
for target in darwin/amd64 darwin/arm64 windows/amd64; do
	GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./...
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done

echo "== go test"
go test -count=1 -timeout 30m ./...

echo "== fuzz targets (${FUZZTIME:-3s} each)"
FUZZTIME=${FUZZTIME:-3s} scripts/fuzz.sh

echo "== demo: psql over SCTP"
scripts/demo.sh
