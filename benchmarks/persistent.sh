#!/bin/sh
# Persistent broadcasts side by side, in one go: rdmc_bcast_bench -p
# (MPI_Start + MPI_Wait of one MPI_Bcast_init per size, as OSU's
# osu_bcast_persistent) and plain MPI_Bcast, through rdmc and through Open
# MPI alone (--mca coll ^rdmc), alternately, several runs; the table shows
# each column's median of OSU's average latency (us) and rdmc's persistent
# broadcast against each of the others (their time over its: > 1 means
# the persistent rdmc broadcast is faster).
#
#   benchmarks/persistent.sh [-np N] [-m MIN:MAX] [-i ITERS] [-x WARMUP]
#                            [-r RUNS] [-- more mpirun options]
#
# Columns: rdmc persistent; rdmc MPI_Bcast as users get it (below
# coll_rdmc_bcast_min_bytes that is the component rdmc falls back to);
# rdmc MPI_Bcast forced through rdmc at every size (bcast_min_bytes 0,
# small_path sst); Open MPI's persistent broadcast; Open MPI's MPI_Bcast.
# Run from the build tree (the component is taken from there).
set -eu

np=4
sizes=8:67108864
iters=""
warmup=""
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    -np) np=$2; shift 2 ;;
    -m) sizes=$2; shift 2 ;;
    -i) iters="-i $2"; shift 2 ;;
    -x) warmup="-x $2"; shift 2 ;;
    -r) runs=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "persistent.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

bench=benchmarks/rdmc_bcast_bench
[ -x "$bench" ] || { echo "persistent.sh: run from the build tree (no $bench)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
path="--mca mca_base_component_path $PWD/.libs:SYS_DEFAULT"
if command -v pkg-config >/dev/null && pkg-config --exists pmix 2>/dev/null &&
    ompi_info --version 2>/dev/null | grep -q 'v[5-9]'; then
    # Open MPI 5: keep PMIx on its own component folder.
    path="$path --pmixmca mca_base_component_path $(pkg-config --variable=libdir pmix)/pmix"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# column NAME BENCH_OPTIONS MPIRUN_OPTIONS [more mpirun options]: one run
# into $tmp/NAME.RUN
column() {
    name=$1 bench_opts=$2 mpirun_opts=$3
    shift 3
    # shellcheck disable=SC2086
    timeout 900 mpirun --oversubscribe -np "$np" $path $mpirun_opts "$@" \
        "$bench" $bench_opts -m "$sizes" $iters $warmup -R \
        >"$tmp/$name.$run" 2>"$tmp/$name.$run.err" </dev/null || {
        echo "persistent.sh: the $name run failed:" >&2
        tail -n 20 "$tmp/$name.$run.err" >&2
        exit 1
    }
}

names="rdmc_p rdmc rdmc_forced ompi_p ompi"
run=1
while [ "$run" -le "$runs" ]; do
    column rdmc_p "-p" "" "$@"
    column rdmc "" "" "$@"
    column rdmc_forced "" "--mca coll_rdmc_bcast_min_bytes 0 --mca coll_rdmc_small_path sst" "$@"
    column ompi_p "-p" "--mca coll ^rdmc" "$@"
    column ompi "" "--mca coll ^rdmc" "$@"
    run=$((run + 1))
done

# name size -> median over the runs of the average latency
for name in $names; do
    cat "$tmp/$name".[0-9]* | awk -v name="$name" '
        /^[0-9]/ { v[$1] = v[$1] " " $2 }
        END { for (s in v) print name, s, v[s] }' >>"$tmp/all"
done
echo "# np $np, $runs run(s), median of OSU's average latency (us); x: that column over rdmc persistent"
printf '%-10s %12s %12s %6s %12s %6s %12s %6s %12s %6s\n' size rdmc_persist rdmc_bcast x \
    rdmc_forced x ompi_persist x ompi_bcast x
awk "$(cat "$(dirname "$0")/rows.awk")"'
    { m[$1, $2] = median(substr($0, length($1) + length($2) + 3)); sizes[$2] = 1 }
    END {
        n = 0; for (s in sizes) order[++n] = s + 0
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }
        for (i = 1; i <= n; i++) {
            s = order[i]; p = m["rdmc_p", s]
            printf "%-10d %12.2f %12.2f %6.2f %12.2f %6.2f %12.2f %6.2f %12.2f %6.2f\n", s, p,
                m["rdmc", s], m["rdmc", s] / p, m["rdmc_forced", s], m["rdmc_forced", s] / p,
                m["ompi_p", s], m["ompi_p", s] / p, m["ompi", s], m["ompi", s] / p
        }
    }' "$tmp/all"
grep -h '^# coll/rdmc carried' "$tmp"/rdmc_p.1 | sed 's/^/# rdmc persistent: /'
