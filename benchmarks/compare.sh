#!/bin/sh
# Broadcast latency of coll/rdmc side by side with Open MPI's default, in one
# go: the OSU-style benchmark runs alternately with rdmc and with rdmc
# switched off (--mca coll ^rdmc, i.e. Open MPI's own choice), several times,
# and the table shows the median of each column.
#
#   benchmarks/compare.sh [-np N] [-m MIN:MAX] [-i ITERS] [-x WARMUP] [-r RUNS]
#                         [-- more mpirun options]
#
# Columns: OSU's average latency (each rank's time in MPI_Bcast, averaged
# over ranks) and the synchronised time from the root's start to the last
# rank's end, with the speed-up of rdmc for each.  Run from the build tree
# the component is taken from there; once installed, from Open MPI's own
# component directory.
set -eu

np=4
sizes=1:67108864
iters=""
warmup=""
runs=5
while [ $# -gt 0 ]; do
    case "$1" in
    -np) np=$2; shift 2 ;;
    -m) sizes=$2; shift 2 ;;
    -i) iters="-i $2"; shift 2 ;;
    -x) warmup="-x $2"; shift 2 ;;
    -r) runs=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

# The build tree: where the script lives (in-tree builds) or the current
# directory (builds in a separate directory).
here=$(cd "$(dirname "$0")" && pwd)
build=""
for dir in "$here/.." "$PWD"; do
    if [ -x "$dir/benchmarks/rdmc_bcast_bench" ]; then
        build=$(cd "$dir" && pwd)
        break
    fi
done
if [ -z "$build" ]; then
    echo "compare.sh: build first (make), then run this from the build directory" >&2
    exit 1
fi
bench="$build/benchmarks/rdmc_bcast_bench"
component_args=""
if [ -f "$build/.libs/mca_coll_rdmc.so" ]; then
    component_args="--mca mca_base_component_path $build/.libs:SYS_DEFAULT"
fi
root_args=""
if [ "$(id -u)" = 0 ]; then
    root_args="--allow-run-as-root"
fi
MPIRUN=${MPIRUN:-mpirun}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_bench() { # label run mpirun-options...
    label=$1
    run=$2
    shift 2
    # shellcheck disable=SC2086
    "$MPIRUN" $root_args --oversubscribe -np "$np" $component_args "$@" \
        "$bench" -e -m "$sizes" $iters $warmup >"$out/$label.$run" 2>"$out/$label.$run.err" || {
        echo "compare.sh: the $label run failed:" >&2
        cat "$out/$label.$run.err" >&2
        exit 1
    }
}

run=1
while [ "$run" -le "$runs" ]; do
    run_bench ompi "$run" --mca coll ^rdmc "$@"
    run_bench rdmc "$run" "$@"
    run=$((run + 1))
done

carried=$(grep -h "coll/rdmc carried" "$out"/rdmc.* | head -n 1)
echo "# MPI_Bcast, $np ranks, Open MPI default vs coll/rdmc, median of $runs runs each"
echo "# rdmc runs: ${carried#\# }"
# Each file: "size avg_us bandwidth sync_us sync_bw" rows.  For every size
# take the median over runs of avg and sync, for both sides.
awk '
    function median(list, n,    i, j, t, a) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    /^#/ || NF < 5 || $1 !~ /^[0-9]+$/ { next }
    {
        side = FILENAME ~ /\/rdmc\.[0-9]+$/ ? "rdmc" : "ompi"
        avg[side, $1] = avg[side, $1] " " $2
        sync[side, $1] = sync[side, $1] " " $4
        if (!($1 in seen)) { seen[$1] = 1; order[++count] = $1 }
    }
    END {
        printf("%-10s %14s %12s %8s %16s %14s %8s\n", "# Size", "OpenMPI(us)", "rdmc(us)",
               "speedup", "OpenMPI-sync(us)", "rdmc-sync(us)", "speedup")
        for (i = 1; i <= count; i++) {
            s = order[i]
            oa = median(avg["ompi", s]); ra = median(avg["rdmc", s])
            os = median(sync["ompi", s]); rs = median(sync["rdmc", s])
            printf("%-10s %14.2f %12.2f %8.2f %16.2f %14.2f %8.2f\n", s, oa, ra,
                   ra > 0 ? oa / ra : 0, os, rs, rs > 0 ? os / rs : 0)
        }
    }
' "$out"/ompi.[0-9]* "$out"/rdmc.[0-9]*
