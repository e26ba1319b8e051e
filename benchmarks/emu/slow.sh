#!/bin/bash
# One slow host: how long the other hosts wait for a broadcast when one
# host's link runs at 1/FACTOR of the others', under coll/rdmc and under
# Open MPI's tuned pipeline, beside what rdmc_sim predicts.
#
#   benchmarks/emu/slow.sh [-n N] [-r RATE] [-m SIZES] [-k HOST] [-f FACTOR]
#                          [-S SEGMENTS] [-a ALPHA_US] [-i ITERS] [-x WARMUP]
#                          [-o DIR] [-T SECONDS]
#
#   -n N, -r RATE    hosts and their links (default 8, 1gbit)
#   -m SIZES         message sizes (default 16M)
#   -k HOST          the slow host hK (default the middle one, N/2 + 1,
#                    i.e. rank N/2: half the chain sits behind it)
#   -f FACTOR        its link at 1/FACTOR of RATE (default 4)
#   -S SEGMENTS      tuned pipeline's segment sizes, the best taken (default 64K)
#   -a ALPHA_US      per-message latency for the simulator (default 50;
#                    calibrate.sh measures it)
#
# The same broadcasts run first with every link at RATE, then with the slow
# host.  Times: from the root's start until the last of the other hosts has
# the data (emu_bcast_times), in ms; "slowdown" is slow over uniform.  The
# simulator replays rdmc's schedule with the engine's automatic block size,
# and a chain with the best segment size found here (tuned's pipeline is
# such a chain).
set -eu
# shellcheck source=benchmarks/emu/lib.sh
. "$(dirname "$0")/lib.sh"

n=8
emu_common_defaults
sizes=16M
slow=""
factor=4
segments=64K
alpha=50
while [ $# -gt 0 ]; do
    if emu_common_option "$1" "${2:-}"; then
        shift 2
        continue
    fi
    case "$1" in
    -n) n=$2; shift 2 ;;
    -k) slow=$2; shift 2 ;;
    -f) factor=$2; shift 2 ;;
    -S) segments=$2; shift 2 ;;
    -a) alpha=$2; shift 2 ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) emu_die "unknown option $1 (-h for help)" ;;
    esac
done
slow=${slow:-$((n / 2 + 1))}
if [ "$slow" -lt 2 ] || [ "$slow" -gt "$n" ]; then
    emu_die "the slow host must be h2..h$n (h1 is the root)"
fi
rank=$((slow - 1))
out=${out:-$PWD/emu-slow-$n-$rate}

emu_require 1
emu_find_build
TIMES=$BUILD/benchmarks/emu/emu_bcast_times
[ -x "$TIMES" ] || emu_die "$TIMES is not built (make)"
bps=$(emu_rate_bps "$rate")
emu_check_total "$n" "$bps"
byte_sizes=$(for s in ${sizes//,/ }; do emu_bytes "$s"; done | sort -n -u | tr '\n' ' ')
size_list=$(echo "$byte_sizes" | sed 's/ *$//; s/ /,/g')
mkdir -p "$out/raw"
rm -f "$out"/raw/*

# measure CLUSTER LABEL mpirun-options...: rows "size others slow all" in raw/
measure() {
    local cluster=$1 label=$2
    shift 2
    emu_run "$out/raw/$cluster.$label" "$limit" "$@" \
        "$TIMES" -m "$size_list" -i "$iters" -x "$warmup" -s "$rank"
}

for cluster in uniform slow; do
    if [ "$cluster" = uniform ]; then
        emu_start "$n" "$rate"
    else
        "$EMU" teardown >/dev/null
        "$EMU" setup "$n" "$rate" "$slow" "$factor" >/dev/null
    fi
    measure "$cluster" rdmc --mca coll_rdmc_bcast_min_bytes 0
    for seg in ${segments//,/ }; do
        measure "$cluster" "pipeline-$seg" --mca coll ^rdmc --mca coll_tuned_use_dynamic_rules 1 \
            --mca coll_tuned_bcast_algorithm 3 \
            --mca coll_tuned_bcast_algorithm_segmentsize "$(emu_bytes "$seg")"
    done
done

# measured.dat: cluster label size others_us
for f in "$out"/raw/*; do
    case "$f" in *.err) continue ;; esac
    name=$(basename "$f")
    awk -v c="${name%%.*}" -v l="${name#*.}" '!/^#/ && NF >= 4 { print c, l, $1, $2 }' "$f"
done >"$out/measured.dat"

# The simulator: the other nodes' completion at slowdown 1 and FACTOR, with
# the engine's automatic block size (its model for tcp, EMU_RDMC_MODEL) and
# the best pipeline segment of the slow cluster.
gbps=$(awk -v b="$bps" 'BEGIN { print b / 1e9 }')
for s in $byte_sizes; do
    k=$("$SIM" --steps --n "$n" --size "$s" --alg binomial_pipeline "${EMU_RDMC_MODEL[@]}" |
        awk '/^# blocks/ { getline; getline; print $3 }')
    block=$(( ((s + k - 1) / k + 4095) / 4096 * 4096 ))
    seg=$(awk -v s="$s" '$1 == "slow" && $2 ~ /^pipeline-/ && $3 == s { print $4, $2 }' \
        "$out/measured.dat" | sort -n | head -n 1 | sed 's/.*pipeline-//')
    for alg in binomial_pipeline:"--block $block" mpi_chain:"--segment $(emu_bytes "$seg")"; do
        # shellcheck disable=SC2086
        "$SIM" --n "$n" --size "$s" --slow-node "$rank" --slow-factors "1,$factor" \
            --alg "${alg%%:*}" ${alg#*:} --alpha-us "$alpha" --rate-gbps "$gbps" |
            awk -v s="$s" -v a="${alg%%:*}" '/^# completion time/ { on = 1; next }
                on && /^ *[0-9]/ { print a, s, $1, $2 } /^$/ { on = 0 }'
    done
done >"$out/sim.dat"

awk -v n="$n" -v rate="$rate" -v slow="$slow" -v factor="$factor" -v sizes="$byte_sizes" \
    -v alpha="$alpha" -v iters="$iters" '
    function name(b) {
        if (b % 1048576 == 0) return (b / 1048576) "M"
        if (b % 1024 == 0) return (b / 1024) "K"
        return b
    }
    FILENAME ~ /sim.dat$/ { sim[$1, $2, $3 == 1 ? "uniform" : "slow"] = $4; next }
    {
        t[$1, $2, $3] = $4
        if ($2 ~ /^pipeline-/ && $1 == "slow" && (pipe[$3] == "" || $4 < t["slow", pipe[$3], $3]))
            pipe[$3] = $2
    }
    END {
        printf("# %d hosts at %s, h%d at 1/%d of it; completion time (ms) of the other %d hosts, mean of %d\n",
               n, rate, slow, factor, n - 1, iters)
        printf("# sim: rdmc_sim, alpha %s us, rdmc at the engine'"'"'s block size, chain at the pipeline'"'"'s segment\n", alpha)
        printf("%-5s %-13s %9s %9s %8s %9s %9s %8s\n", "size", "broadcast", "uniform", "slow",
               "slowdown", "sim unif", "sim slow", "sim sd")
        count = split(sizes, order, " ")
        for (i = 1; i <= count; i++) {
            s = order[i]
            for (j = 1; j <= 2; j++) {
                label = j == 1 ? "rdmc" : pipe[s]
                alg = j == 1 ? "binomial_pipeline" : "mpi_chain"
                u = t["uniform", label, s] / 1e3; w = t["slow", label, s] / 1e3
                su = sim[alg, s, "uniform"] / 1e3; sw = sim[alg, s, "slow"] / 1e3
                printf("%-5s %-13s %9.1f %9.1f %7.2fx %9.1f %9.1f %7.2fx\n", name(s), label, u, w,
                       u > 0 ? w / u : 0, su, sw, su > 0 ? sw / su : 0)
            }
        }
    }
' "$out/sim.dat" "$out/measured.dat" | tee "$out/table.txt"
