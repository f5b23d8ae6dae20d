#!/bin/sh
# Runs moby's graphdriver test suite (daemon/graphdriver/graphtest, docker
# v28.5.2) against winlayer's windowsfilter driver through the adapter in
# this module, or, with "bench", moby's graphbench benchmarks for
# windowsfilter and moby's overlay2 side by side.
#
#   ./run.sh          go test -count=1 -v ./...
#   ./run.sh bench    benchmarks, then a table overlay2 vs windowsfilter
#
# Needs root (overlay mounts, loop devices for the sandbox size limit).
# Modules are downloaded by the go command on first use.
#
# Environment for "bench":
#   BENCH       -bench pattern                        (default .)
#   BENCHTIME   -benchtime                            (default 1s)
#   COUNT       -count; the table shows the median    (default 1)
#   BENCH_TMPDIR  where graphtest makes the drivers' homes (default: $TMPDIR,
#               else /tmp); overlay2 needs a file system with d_type
#               (ext4, xfs, tmpfs). /dev/shm (tmpfs) takes the disk, its
#               journal commits and discards out of the numbers.
#   BENCH_OUT   file for the raw go test output       (default: a mktemp file)
set -eu

cd "$(dirname "$0")"

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: not root: the tests need overlay mounts and loop devices" >&2
fi

case "${1:-test}" in
test)
	exec go test -count=1 -v ./...
	;;
bench)
	;;
*)
	echo "usage: $0 [bench]" >&2
	exit 2
	;;
esac

out=${BENCH_OUT:-$(mktemp "${TMPDIR:-/tmp}/winlayer-moby-bench.XXXXXX")}
if [ -n "${BENCH_TMPDIR:-}" ]; then
	mkdir -p "$BENCH_TMPDIR"
	TMPDIR=$BENCH_TMPDIR
	export TMPDIR
fi
home=${TMPDIR:-/tmp}

set -- go test -count="${COUNT:-1}" -run '^$' -bench "${BENCH:-.}" \
	-benchtime "${BENCHTIME:-1s}" -timeout 0 .
echo "# driver homes under $home ($(stat -f -c %T "$home"))" >&2
echo "# $*" >&2
"$@" | tee "$out"
echo "# raw output: $out" >&2

# Table: median ns/op per benchmark and driver, ratio windowsfilter/overlay2,
# and what each driver's Diff reads (O2 overlay2, WF windowsfilter).
awk '
function reading(b) {
	if (b ~ /WithParent$/)
		return "Diff(upper, base): O2 native, upper dir only; WF own files (parent ignored)"
	if (b == "DiffBase")
		return "Diff(base, \"\"), no parent: both the layer only (O2 native)"
	if (b == "DiffApply100")
		return "Diff(upper, \"\") + ApplyDiff(diff, \"\"): O2 naive, whole view + naive apply; WF own files + re-exec import"
	if (b ~ /^Diff/)
		return "Diff(upper, \"\"): O2 naive, tar of the whole merged view; WF own files (parent ignored)"
	return ""
}
function median(k,    c, j, a, t, x) {
	c = cnt[k]
	for (j = 1; j <= c; j++) {	# insertion sort of the samples
		x = val[k, j]
		for (t = j - 1; t >= 1 && a[t] > x; t--) a[t + 1] = a[t]
		a[t + 1] = x
	}
	return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
/^Benchmark(Windowsfilter|Overlay2)\// {
	n = $1; sub(/-[0-9]+$/, "", n); split(n, p, "/")
	for (i = 2; i < NF; i++) if ($(i + 1) == "ns/op") {
		k = p[2] SUBSEP p[1]
		val[k, ++cnt[k]] = $i + 0
		if (!(p[2] in seen)) { seen[p[2]] = 1; order[++nb] = p[2] }
	}
}
END {
	printf "| %-28s | %14s | %19s | %7s | %s\n", "benchmark", "overlay2 ns/op", "windowsfilter ns/op", "WF/O2", "Diff reading"
	for (i = 1; i <= nb; i++) {
		b = order[i]; o = w = ""
		if ((b, "BenchmarkOverlay2") in cnt) o = median(b SUBSEP "BenchmarkOverlay2")
		if ((b, "BenchmarkWindowsfilter") in cnt) w = median(b SUBSEP "BenchmarkWindowsfilter")
		r = (o != "" && w != "" && o > 0) ? sprintf("%.3g", w / o) : "-"
		printf "| %-28s | %14s | %19s | %7s | %s\n", b, (o == "" ? "-" : sprintf("%.0f", o)), (w == "" ? "-" : sprintf("%.0f", w)), r, reading(b)
	}
}' "$out"
