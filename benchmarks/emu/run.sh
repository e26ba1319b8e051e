#!/bin/bash
# MPI_Bcast on an emulated cluster of N hosts with links of RATE: coll/rdmc
# against Open MPI's default and against the best hand-tuned broadcasts of
# Open MPI's tuned component, all on the same cluster in one run.
#
#   benchmarks/emu/run.sh [-n N] [-r RATE] [-m SIZES] [-i ITERS] [-x WARMUP]
#                         [-S SEGMENTS] [-o DIR] [-T SECONDS] [-- rdmc options]
#
#   -n N         hosts, one rank each (default 4)
#   -r RATE      each host's link, tc syntax (default 1gbit)
#   -m SIZES     message sizes, comma-separated, K/M/G suffixes (default 16M,64M)
#   -i, -x       timed and warm-up broadcasts per size (default 5 and 1)
#   -S SEGMENTS  segment sizes tried for tuned's pipeline and chain
#                (default 16K,32K,64K,128K,256K,512K,1M)
#   -o DIR       where the table, the plot and the raw outputs go
#                (default ./emu-N-RATE)
#   -T SECONDS   longest a single mpirun may take (default 900)
#   after --      more mpirun options for the rdmc runs only
#
# Columns: rdmc with its default settings, except that it carries every
# size (coll_rdmc_bcast_min_bytes 0: the 16 MiB crossover was chosen on one
# node, where memory is the bottleneck); Open MPI's default (--mca coll
# ^rdmc, the 4.1 fixed rules); and tuned's pipeline (algorithm 3) and chain
# (2) forced with coll_tuned_use_dynamic_rules, at every segment size, the
# best of them per message size.  Times are completion times: from the
# root's start to the moment the last rank has the data (rdmc_bcast_bench
# -e, clocks synchronised), averaged over ITERS.  "x" is the time over the
# link limit, size / RATE.  The cost model counts steps of one block each:
# the binomial pipeline needs k + log2 N - 1 for k blocks, tuned's pipeline
# k + N - 2 for k segments; steps/k is the time it predicts over the link
# limit when per-message latency is negligible.
#
# Needs root and iproute2; writes DIR/table.txt and, with gnuplot,
# DIR/bcast.png (completion time and bandwidth against size).
set -eu
# shellcheck source=benchmarks/emu/lib.sh
. "$(dirname "$0")/lib.sh"

n=4
emu_common_defaults
sizes=16M,64M
iters=5
segments=16K,32K,64K,128K,256K,512K,1M
while [ $# -gt 0 ]; do
    if emu_common_option "$1" "${2:-}"; then
        shift 2
        continue
    fi
    case "$1" in
    -n) n=$2; shift 2 ;;
    -S) segments=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,35p' "$0"; exit 0 ;;
    *) emu_die "unknown option $1 (-h for help)" ;;
    esac
done
rdmc_extra=("$@")
out=${out:-$PWD/emu-$n-$rate}

emu_require 1
emu_find_build
bps=$(emu_rate_bps "$rate")
emu_check_total "$n" "$bps"
# Sizes in bytes, ascending.
byte_sizes=$(for s in ${sizes//,/ }; do emu_bytes "$s"; done | sort -n -u | tr '\n' ' ')
mkdir -p "$out/raw"
rm -f "$out"/raw/*

# Consecutive doublings run in one mpirun (the benchmark doubles from -m's
# minimum to its maximum); other sizes each in their own.
size_ranges() {
    local lo="" hi="" s
    for s in $byte_sizes; do
        if [ -n "$hi" ] && [ "$s" = $((hi * 2)) ]; then
            hi=$s
            continue
        fi
        [ -z "$lo" ] || echo "$lo:$hi"
        lo=$s
        hi=$s
    done
    echo "$lo:$hi"
}

# measure LABEL mpirun-options...: every size, the rows in raw/LABEL.*,
# and in raw/LABEL.*.wire the bytes the hosts put on their links meanwhile.
measure() {
    local label=$1 range before
    shift
    for range in $(size_ranges); do
        before=$("$EMU" wire)
        emu_run "$out/raw/$label.${range/:/-}" "$limit" "$@" \
            "$BENCH" -e -m "$range" -i "$iters" -x "$warmup"
        echo $(($("$EMU" wire) - before)) >"$out/raw/$label.${range/:/-}.wire"
    done
}

emu_start "$n" "$rate"
echo "# $n hosts at $rate: rdmc, Open MPI's default, tuned pipeline and chain at segments $segments" >&2
measure rdmc --mca coll_rdmc_bcast_min_bytes 0 "${rdmc_extra[@]}"
measure default --mca coll ^rdmc
for seg in ${segments//,/ }; do
    seg_bytes=$(emu_bytes "$seg")
    for alg in 3:pipeline 2:chain; do
        measure "${alg#*:}-$seg" --mca coll ^rdmc --mca coll_tuned_use_dynamic_rules 1 \
            --mca coll_tuned_bcast_algorithm "${alg%%:*}" \
            --mca coll_tuned_bcast_algorithm_segmentsize "$seg_bytes"
    done
done
# rdmc must have carried every broadcast of its runs, and no other run
# may have gone through it.
for f in "$out"/raw/*[0-9]; do
    carried=$(grep '^# coll/rdmc' "$f" || true)
    case "$(basename "$f")" in
    rdmc.*)
        # "# coll/rdmc carried X of the Y broadcasts measured ..."
        echo "$carried" | awk '$3 == "carried" && $4 == $7 { ok = 1 } END { exit !ok }' ||
            emu_die "rdmc did not carry every broadcast of $f: $carried" ;;
    *)
        case "$carried" in
        *carried*) emu_die "rdmc carried broadcasts of $f: $carried" ;;
        esac ;;
    esac
done

# results.dat: label size avg-latency(us) completion(us), one row each.
for f in "$out"/raw/*[0-9]; do
    label=$(basename "$f")
    awk -v label="${label%.*}" '!/^#/ && NF >= 5 { print label, $1, $2, $4 }' "$f"
done >"$out/results.dat"

# wire.dat: label size wire-bytes-per-payload-byte, for runs of one size:
# what the hosts sent over what the broadcasts delivered (size to N - 1
# ranks, ITERS + WARMUP times).  Headers (TCP/IP/Ethernet: 1514 bytes on
# the wire per 1448 of payload) make it at least 1.046; control messages,
# acknowledgements and the run's own set-up add the rest.
for f in "$out"/raw/*.wire; do
    label=$(basename "$f" .wire)
    range=${label##*.}        # LO-HI, as measure() names them
    lo=${range%-*}
    hi=${range#*-}
    [ "$lo" = "$hi" ] || continue
    awk -v label="${label%.*}" -v s="$lo" -v n="$n" -v runs=$((iters + warmup)) \
        '{ printf("%s %s %.4f\n", label, s, $1 / (s * (n - 1) * runs)) }' "$f"
done >"$out/wire.dat"

# The cost model's blocks: rdmc's automatic block size as the engine
# computes it (rdmc_sim runs the engine's rdmc_block_bytes() with the
# engine's model for tcp, EMU_RDMC_MODEL in lib.sh).
for s in $byte_sizes; do
    "$SIM" --steps --n "$n" --size "$s" --alg binomial_pipeline "${EMU_RDMC_MODEL[@]}" |
        awk -v s="$s" '/^# steps/ { what = "steps" } /^# blocks/ { what = "blocks" }
                       /^ *[0-9]/ && what != "" { v[what] = $3; what = "" }
                       END { print "model", s, v["blocks"], v["steps"] }'
done >"$out/model.dat"

awk -v n="$n" -v bps="$bps" -v rate="$rate" -v iters="$iters" -v sizes="$byte_sizes" '
    function name(b) {
        if (b % 1048576 == 0) return (b / 1048576) "M"
        if (b % 1024 == 0) return (b / 1024) "K"
        return b
    }
    function bytes(text) {
        if (text ~ /K$/) return substr(text, 1, length(text) - 1) * 1024
        if (text ~ /M$/) return substr(text, 1, length(text) - 1) * 1048576
        return text + 0
    }
    FILENAME ~ /model.dat$/ { k[$2] = $3; steps[$2] = $4; next }
    FILENAME ~ /wire.dat$/ { wire[$1, $2] = $3; next }
    {
        t[$1, $2] = $4
        if ($1 ~ /^(pipeline|chain)-/ && (best[$2] == "" || $4 < t[best[$2], $2])) best[$2] = $1
        if ($1 ~ /^pipeline-/ && (pipe[$2] == "" || $4 < t[pipe[$2], $2])) pipe[$2] = $1
    }
    END {
        log2n = 0
        while (2 ^ log2n < n) log2n++
        printf("# MPI_Bcast, %d emulated hosts, %s links: completion time in ms (root starts to last rank done), mean of %d\n", n, rate, iters)
        printf("# (x) = over the link limit size/rate; tuned = best of pipeline and chain over the segment sizes\n")
        printf("# model: k blocks and steps, binomial pipeline k + %d - 1, tuned pipeline (best segment) k + %d - 2; (steps/k)\n", log2n, n)
        printf("# wire: bytes the hosts sent per byte delivered, rdmc/best tuned (headers alone: 1.046)\n")
        printf("%-5s %7s %16s %16s %16s %-13s %7s %7s %15s %15s %11s\n", "size", "link", "rdmc", "default",
               "tuned", "best tuned", "rdmc vs", "rdmc vs", "model rdmc", "model pipeline", "wire")
        printf("%-5s %7s %16s %16s %16s %-13s %7s %7s %15s %15s %11s\n", "", "ms", "ms (x)", "ms (x)",
               "ms (x)", "", "default", "tuned", "k:steps (x)", "k:steps (x)", "rdmc/tuned")
        count = split(sizes, order, " ")
        for (i = 1; i <= count; i++) {
            s = order[i]
            link = s * 8 / bps * 1e3
            r = t["rdmc", s] / 1e3; d = t["default", s] / 1e3; b = t[best[s], s] / 1e3
            seg = bytes(substr(pipe[s], 10))
            pk = seg > 0 ? int((s + seg - 1) / seg) : 0
            w = "-"
            if (("rdmc", s) in wire && (best[s], s) in wire)
                w = sprintf("%.3f/%.3f", wire["rdmc", s], wire[best[s], s])
            printf("%-5s %7.1f %8.1f (%5.2f) %8.1f (%5.2f) %8.1f (%5.2f) %-13s %6.2fx %6.2fx %15s %15s %11s\n",
                   name(s), link, r, r / link, d, d / link, b, b / link, best[s],
                   r > 0 ? d / r : 0, r > 0 ? b / r : 0,
                   sprintf("%d:%d (%.2f)", k[s], steps[s], steps[s] / k[s]),
                   pk > 0 ? sprintf("%d:%d (%.2f)", pk, pk + n - 2, (pk + n - 2) / pk) : "-", w)
        }
    }
' "$out/model.dat" "$out/wire.dat" "$out/results.dat" | tee "$out/table.txt"

# The plot: completion time and bandwidth of each algorithm against size
# (tuned's pipeline and chain each at their best segment size per size).
awk -v bps="$bps" -v sizes="$byte_sizes" '
    {
        alg = $1
        sub(/-.*/, "", alg)
        if (best[alg, $2] == "" || $4 < best[alg, $2]) best[alg, $2] = $4
    }
    END {
        print "# size link_us rdmc_us default_us pipeline_us chain_us"
        count = split(sizes, order, " ")
        for (i = 1; i <= count; i++) {
            s = order[i]
            print s, s * 8 / bps * 1e6, best["rdmc", s], best["default", s], best["pipeline", s],
                  best["chain", s]
        }
    }
' "$out/results.dat" >"$out/plot.dat"
if command -v gnuplot >/dev/null; then
    if gnuplot -e "data='$out/plot.dat'; png='$out/bcast.png'; title='MPI\\_Bcast, $n emulated hosts, $rate links'" \
        "$EMU_DIR/plot.gp"; then
        echo "# plot: $out/bcast.png" >&2
    else
        echo "# gnuplot failed (no pngcairo terminal?): $out/plot.dat holds the plot's data" >&2
    fi
else
    echo "# no gnuplot: $out/plot.dat holds the plot's data" >&2
fi
