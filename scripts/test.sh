#!/usr/bin/env bash
# Runs every test of pgsctp: formatting and vet, cross-builds for macOS and
# Windows, the Go tests (codec, core, driver, usrsctp interop, PostgreSQL
# end to end), and a short run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet ./...

echo "== cross-builds"
for os in darwin windows; do GOOS=$os GOARCH=amd64 go build ./...; done
GOOS=darwin GOARCH=arm64 go build ./...

echo "== go test"
go test -count=1 -timeout 30m ./...
