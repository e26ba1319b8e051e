#!/bin/sh
# Broadcast benchmarks of coll/rdmc side by side with Open MPI's default, in
# one go: rdmc_bcast_bench runs alternately with rdmc and with rdmc switched
# off (--mca coll ^rdmc, i.e. Open MPI's own choice), several times, and the
# table shows the median of each column.
#
#   benchmarks/compare.sh [-t TYPE] [-np N] [-m MIN:MAX] [-i ITERS] [-x WARMUP]
#                         [-r RUNS] [-a "BENCH OPTIONS"] [-- more mpirun options]
#
# -t bcast (default): OSU's average latency (each rank's time in MPI_Bcast,
# averaged over ranks) and the synchronised time from the root's start to the
# last rank's end, with the speed-up of rdmc for each; sizes 1 B .. 64 MiB.
# -t ibcast: osu_ibcast's overall time, pure communication time and overlap.
# -t rate: broadcasts per second, and rdmc's over Open MPI's.
# -t idle: time waited and CPU use of the ranks waiting in the broadcast, and
# CPU use of every rank while it sleeps outside MPI between broadcasts.
# -t pingpong: point-to-point latency between ranks 0 and 1 after a 64 MiB
# broadcast (what having rdmc loaded costs the rest of MPI), and rdmc's
# over Open MPI's (the rdmc-carried column is about that one broadcast).
# Other types take the benchmark's default sizes.  -a (--bench-args) passes
# options to the benchmark as they are, e.g. -a "-b -w 32" for rate,
# -a "-n -C 100" for idle, -a "-T 10" for ibcast (not -f or -e: the tables
# read the default columns).  Run from the build tree the component is taken
# from there; once installed, from Open MPI's own component directory.
#
# Ratios are Open MPI's time over rdmc's (rate: rdmc's broadcasts/s over
# Open MPI's), so >1 means rdmc is faster.  The last column says whether
# rdmc carried the row (the benchmark's -R lines, from the MPI_T counter
# coll_rdmc_bcasts): a row it did not carry went to the component rdmc
# falls back to, and compares Open MPI with itself.
set -eu

type=bcast
np=4
sizes=""
iters=""
warmup=""
runs=5
bench_args=""
while [ $# -gt 0 ]; do
    case "$1" in
    -t) type=$2; shift 2 ;;
    -np) np=$2; shift 2 ;;
    -m) sizes=$2; shift 2 ;;
    -i) iters="-i $2"; shift 2 ;;
    -x) warmup="-x $2"; shift 2 ;;
    -r) runs=$2; shift 2 ;;
    -a|--bench-args) bench_args=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

# The benchmark's options for the type, and how many columns its rows have.
case "$type" in
bcast) type_args="-e"; columns=5; sizes=${sizes:-1:67108864} ;;
ibcast) type_args="-t ibcast"; columns=5 ;;
rate) type_args="-t $type"; columns=3 ;;
idle) type_args="-t $type"; columns=4 ;;
pingpong) type_args="-t $type"; columns=2 ;;
*) echo "compare.sh: unknown type $type (bcast, ibcast, rate, idle, pingpong)" >&2; exit 2 ;;
esac
size_args=""
if [ -n "$sizes" ]; then
    size_args="-m $sizes"
fi

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
        "$bench" -R $type_args $size_args $iters $warmup $bench_args \
        >"$out/$label.$run" 2>"$out/err.$label.$run" || {
        echo "compare.sh: the $label run failed:" >&2
        cat "$out/err.$label.$run" >&2
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
if [ "$type" = bcast ]; then
    what="MPI_Bcast"
else
    what="rdmc_bcast_bench -t $type${bench_args:+ $bench_args}"
fi
echo "# $what, $np ranks, Open MPI default vs coll/rdmc, median of $runs runs each"
echo "# rdmc runs: ${carried#\# }"
case "$type" in
bcast) echo "# rdmc vs default: speedup = OpenMPI time / rdmc time, >1 means rdmc is faster" ;;
rate) echo "# rdmc vs default: rdmc/OpenMPI = rdmc's bcasts/s / OpenMPI's, >1 means rdmc is faster" ;;
ibcast) echo "# rdmc vs default: lower times and higher overlap are better (no ratio)" ;;
idle) echo "# rdmc vs default: lower wait and CPU are better (no ratio)" ;;
pingpong) echo "# rdmc vs default: rdmc/OpenMPI = the latency with rdmc over the latency without" ;;
esac
echo "# rdmc carried: yes = every broadcast of the row went through coll/rdmc, NO = none did" \
    "(the row compares Open MPI's default with itself), partly = some runs or some broadcasts"
# Each file: the benchmark's rows, "size column2 column3 ...".  For every
# size and column take the median over runs, for both sides, and print the
# columns that matter for the type.
awk -v type="$type" -v columns="$columns" "$(cat "$here/rows.awk")"'
    function m(side, size, column) {
        return median(values[side, size, column])
    }
    # rdmc runs only: carried when rdmc covered the data broadcasts.
    /^# row [0-9]+: rdmc carried / && FILENAME ~ /\/rdmc\.[0-9]+$/ {
        if (type == "pingpong" && row_data() == 0) next   # only the first row broadcasts
        note_carried(row_size())
        next
    }
    /^#/ || NF < columns || $1 !~ /^[0-9]+$/ { next }
    {
        side = FILENAME ~ /\/rdmc\.[0-9]+$/ ? "rdmc" : "ompi"
        for (c = 2; c <= columns; c++) {
            values[side, $1, c] = values[side, $1, c] " " $c
        }
        if (!($1 in seen)) { seen[$1] = 1; order[++count] = $1 }
    }
    function who(size,    k) {
        if (type == "pingpong") for (k in carried) return carried[k]
        return size in carried ? carried[size] : "?"
    }
    END {
        if (type == "bcast") {
            printf("%-10s %14s %12s %8s %16s %14s %8s %13s\n", "# Size", "OpenMPI(us)", "rdmc(us)",
                   "speedup", "OpenMPI-sync(us)", "rdmc-sync(us)", "speedup", "rdmc-carried")
        } else if (type == "ibcast") {
            printf("%-10s %19s %16s %16s %13s %18s %15s %13s\n", "# Size", "OpenMPI-overall(us)",
                   "rdmc-overall(us)", "OpenMPI-pure(us)", "rdmc-pure(us)", "OpenMPI-overlap(%)",
                   "rdmc-overlap(%)", "rdmc-carried")
        } else if (type == "rate") {
            printf("%-10s %18s %15s %13s %13s\n", "# Size", "OpenMPI(bcasts/s)", "rdmc(bcasts/s)",
                   "rdmc/OpenMPI", "rdmc-carried")
        } else if (type == "pingpong") {
            printf("%-10s %14s %12s %13s %13s\n", "# Size", "OpenMPI(us)", "rdmc(us)",
                   "rdmc/OpenMPI", "rdmc-carried")
        } else {
            printf("%-10s %16s %13s %14s %11s %18s %15s %13s\n", "# Size", "OpenMPI-wait(ms)",
                   "rdmc-wait(ms)", "OpenMPI-CPU(%)", "rdmc-CPU(%)", "OpenMPI-outside(%)",
                   "rdmc-outside(%)", "rdmc-carried")
        }
        for (i = 1; i <= count; i++) {
            s = order[i]
            if (type == "bcast") {
                oa = m("ompi", s, 2); ra = m("rdmc", s, 2)
                os = m("ompi", s, 4); rs = m("rdmc", s, 4)
                printf("%-10s %14.2f %12.2f %8.2f %16.2f %14.2f %8.2f %13s\n", s, oa, ra,
                       ra > 0 ? oa / ra : 0, os, rs, rs > 0 ? os / rs : 0, who(s))
            } else if (type == "ibcast") {
                printf("%-10s %19.2f %16.2f %16.2f %13.2f %18.2f %15.2f %13s\n", s,
                       m("ompi", s, 2), m("rdmc", s, 2), m("ompi", s, 4), m("rdmc", s, 4),
                       m("ompi", s, 5), m("rdmc", s, 5), who(s))
            } else if (type == "pingpong") {
                ol = m("ompi", s, 2); rl = m("rdmc", s, 2)
                printf("%-10s %14.2f %12.2f %13.2f %13s\n", s, ol, rl, ol > 0 ? rl / ol : 0, who(s))
            } else if (type == "rate") {
                orate = m("ompi", s, 2); rrate = m("rdmc", s, 2)
                printf("%-10s %18.0f %15.0f %13.2f %13s\n", s, orate, rrate,
                       orate > 0 ? rrate / orate : 0, who(s))
            } else {
                printf("%-10s %16.1f %13.1f %14.1f %11.1f %18.2f %15.2f %13s\n", s,
                       m("ompi", s, 2), m("rdmc", s, 2), m("ompi", s, 3), m("rdmc", s, 3),
                       m("ompi", s, 4), m("rdmc", s, 4), who(s))
            }
        }
    }
' "$out"/ompi.[0-9]* "$out"/rdmc.[0-9]*
