#!/usr/bin/env bash
# Runs every Go fuzz target in the module.
#
#   scripts/fuzz.sh          each target for FUZZTIME (default 10s): CI runs
#                            this so every target is exercised on each
#                            submission; FUZZTIME=5m scripts/fuzz.sh by hand.
#   scripts/fuzz.sh --long   the whole set gets FUZZ_BUDGET CPU seconds
#                            (default 3600, one CPU hour), shared equally:
#                            each target runs FUZZ_BUDGET / (targets *
#                            FUZZ_PARALLEL) seconds of wall time with
#                            FUZZ_PARALLEL workers (default 1, and
#                            GOMAXPROCS=FUZZ_PARALLEL so the figure is CPU
#                            time, not a share of a busy machine). It goes
#                            on after a crash, prints a table of executions,
#                            new corpus entries and crashes per target
#                            (also written to FUZZ_REPORT if set), copies up
#                            to FUZZ_KEEP (default 10) of each target's new
#                            corpus entries into its testdata/fuzz so CI
#                            replays them, and fails if anything crashed.
#
# Failing inputs land in the package's testdata/fuzz and fail `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

long=false
if [[ ${1:-} == --long ]]; then
	long=true
fi

targets() {
	grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
		pkg=./$(dirname "${f#./}")
		for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
			echo "$pkg $target"
		done
	done
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz_go runs `go test -fuzz` with the given arguments, its output in
# $log. It fails when the fuzzer fails, except for one false alarm: Go
# before 1.27 can report "context deadline exceeded" when -fuzztime ends
# while a worker is still busy (golang/go#75804), with no failing input.
# A real failure always writes its input ("Failing input written to").
fuzz_go() {
	go test "$@" >"$log" 2>&1 && return 0
	if grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written to' "$log"; then
		echo "  (ignored: the fuzzer's end-of-time race, golang/go#75804; no failing input)"
		return 0
	fi
	return 1
}

if ! $long; then
	fuzztime=${FUZZTIME:-10s}
	targets | while read -r pkg target; do
		echo "fuzz $pkg $target ($fuzztime)"
		fuzz_go "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" || {
			cat "$log"
			exit 1
		}
	done
	exit 0
fi

budget=${FUZZ_BUDGET:-3600}
parallel=${FUZZ_PARALLEL:-1}
keep=${FUZZ_KEEP:-10}
mapfile -t all < <(targets)
n=${#all[@]}
per=$((budget / (n * parallel)))
if ((per < 1)); then
	echo "FUZZ_BUDGET=$budget is less than a second per target ($n targets, $parallel workers)" >&2
	exit 2
fi
module=$(go list -m)
cache=$(go env GOCACHE)/fuzz/$module
echo "fuzz --long: $n targets, ${per}s each with $parallel worker(s): ${budget} CPU seconds in all"
report="| package | target | seconds | executions | new corpus entries | kept in testdata | crashes |
| --- | --- | ---: | ---: | ---: | ---: | ---: |"
crashed=0
for line in "${all[@]}"; do
	read -r pkg target <<<"$line"
	echo "fuzz $pkg $target (${per}s)"
	dir=$cache/${pkg#./}/$target
	before=$( (ls "$dir" 2>/dev/null || true) | wc -l)
	marker=$(mktemp)
	crash=0
	GOMAXPROCS=$parallel fuzz_go "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "${per}s" -parallel "$parallel" || {
		crash=1
		crashed=$((crashed + 1))
		cat "$log"
	}
	# The fuzzer's last progress line: "elapsed: 10s, execs: N (r/sec), new interesting: k (total: t)".
	last=$(grep -o 'execs: [0-9]*.*' "$log" | tail -1 || true)
	execs=$(sed -n 's/^execs: \([0-9]*\).*/\1/p' <<<"$last")
	new=$(sed -n 's/.*new interesting: \([0-9]*\).*/\1/p' <<<"$last")
	after=$( (ls "$dir" 2>/dev/null || true) | wc -l)
	kept=0
	if ((keep > 0)) && [[ -d $dir ]]; then
		dst=$pkg/testdata/fuzz/$target
		while read -r f; do
			[[ -n $f ]] || continue
			mkdir -p "$dst"
			if [[ ! -e $dst/$(basename "$f") ]]; then
				cp "$f" "$dst/"
				kept=$((kept + 1))
			fi
		done < <(find "$dir" -type f -newer "$marker" | head -n "$keep")
	fi
	rm -f "$marker"
	echo "  executions ${execs:-?}, new corpus entries ${new:-?} (cache $before -> $after), kept $kept, crashes $crash"
	report+="
| $pkg | $target | $per | ${execs:-?} | ${new:-?} | $kept | $crash |"
done
echo
echo "$report"
if [[ -n ${FUZZ_REPORT:-} ]]; then
	echo "$report" >"$FUZZ_REPORT"
fi
if ((crashed > 0)); then
	echo "$crashed target(s) crashed; the failing inputs are in testdata/fuzz" >&2
	exit 1
fi
