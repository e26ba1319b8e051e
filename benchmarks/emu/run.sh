#!/bin/bash
# MPI_Bcast on an emulated cluster of N hosts with links of RATE, one or
# more ranks per host: coll/rdmc against Open MPI's default, its han and
# the best hand-tuned broadcasts of its tuned component, all on the same
# cluster in one run.
#
#   benchmarks/emu/run.sh [-n N] [-p K | -L a,b,...] [-r RATE] [-m SIZES]
#                         [-i ITERS] [-x WARMUP] [-S SEGMENTS] [-o DIR]
#                         [-T SECONDS] [-- rdmc options]
#
#   -n N         hosts (default 4)
#   -p K         K ranks on each of the N hosts (default 1)
#   -L a,b,...   a ranks on h1, b on h2, ...: the hosts are as many as the
#                list's entries (each at least 1); instead of -n and -p
#   -r RATE      each host's link, tc syntax (default 1gbit)
#   -m SIZES     message sizes, comma-separated, K/M/G suffixes (default 16M,64M)
#   -i, -x       timed and warm-up broadcasts per size (default 5 and 1)
#   -S SEGMENTS  segment sizes tried for tuned's pipeline and chain
#                (default 16K,32K,64K,128K,256K,512K,1M)
#   -o DIR       where the table, the plot and the raw outputs go (default
#                ./emu-N-RATE with one rank per host, ./emu-NxK-RATE with
#                -p K, ./emu-a+b+...-RATE with -L)
#   -T SECONDS   longest a single mpirun may take (default 900)
#   after --      more mpirun options for the rdmc runs only
#
# Ranks of one host: Open MPI numbers h1's first (ranks 0..a-1), the root
# is rank 0 on h1.  With more than one rank on some host every run uses
# btl tcp,vader,self (emu.sh's EMU_LAYOUT and EMU_BTL): ranks of one host
# share memory, as on a real node, and only ranks of different hosts use
# the shaped links; one rank per host keeps tcp,self.  Every rank shares
# the machine's two cores whatever the layout.
#
# Columns: rdmc with its default settings, except that it carries every
# size (coll_rdmc_bcast_min_bytes 0: the 16 MiB crossover was chosen on one
# node, where memory is the bottleneck); Open MPI's default (--mca coll
# ^rdmc, the 4.1 fixed rules); han, Open MPI's hierarchical component
# (--mca coll ^rdmc plus coll_han_priority 100, its default priority being
# 0; its selection is checked in the run's coll_base_verbose output; 4.1's
# han handles only layouts with the same number of ranks on every host and
# otherwise hands MPI_Bcast to the component below it, tuned); tuned's
# pipeline (algorithm 3) and chain (2) forced with
# coll_tuned_use_dynamic_rules at every segment size, and the best of them
# per message size.  Times are completion times: from the root's start to
# the moment the last rank has the data (rdmc_bcast_bench -e, clocks
# synchronised), the median over ITERS.  "x" is the time over the link
# limit, size / RATE; rdmc/default, rdmc/han and rdmc/tuned are rdmc's time
# over theirs (below 1: rdmc is faster).  "cpu s/GiB" is the CPU time
# (user + system, every thread) all ranks spent inside the timed
# broadcasts, summed, per GiB delivered (size x (ranks - 1) x ITERS), as
# rdmc_bcast_bench -e reports it.  With one rank per host, the cost model
# counts steps of one block each: the binomial pipeline needs
# k + log2 N - 1 for k blocks, tuned's pipeline k + N - 2 for k segments;
# steps/k is the time it predicts over the link limit when per-message
# latency is negligible.  With several, "model rdmc" is the simulator's
# time for rdmc by levels on the layout (rdmc_sim --layout, the engine's
# tcp model) and rdmc's measured time over it.  "wire" (sizes that run in an mpirun of their
# own) is what the hosts put on their links per byte the other hosts
# needed (size x (hosts - 1) per broadcast: a host that takes the data
# once over its link and shares it inside scores the headers' 1.046).
#
# Needs root and iproute2; writes DIR/table.txt and, with gnuplot,
# DIR/bcast.png (completion time and bandwidth against size).  EMU_PREFIX
# names the cluster (see emu.sh).
set -eu
# shellcheck source=benchmarks/emu/lib.sh
. "$(dirname "$0")/lib.sh"

n=""
per_host=""
list=""
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
    -p) per_host=$2; shift 2 ;;
    -L) list=$2; shift 2 ;;
    -S) segments=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,61p' "$0"; exit 0 ;;
    *) emu_die "unknown option $1 (-h for help)" ;;
    esac
done
rdmc_extra=("$@")

# The layout: ranks per host, as a list (h1's first), and its name.
if [ -n "$list" ]; then
    if [ -n "$n" ] || [ -n "$per_host" ]; then
        emu_die "-L sets the hosts and their ranks: no -n or -p with it"
    fi
    [[ $list =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
        emu_die "-L '$list': ranks per host, each at least 1, comma-separated"
    layout=$list
    n=$(echo "$list" | tr ',' '\n' | wc -l)
    layout_name=${list//,/+}
    layout_text="$n emulated hosts with $layout_name ranks"
    even=$(echo "$list" | tr ',' '\n' | sort -u | awk 'END { print NR == 1 }')
else
    n=${n:-4}
    per_host=${per_host:-1}
    [[ $n =~ ^[1-9][0-9]*$ ]] || emu_die "-n '$n': a number of hosts"
    [[ $per_host =~ ^[1-9][0-9]*$ ]] || emu_die "-p '$per_host': a number of ranks per host"
    even=1
    layout=""
    for _ in $(seq 1 "$n"); do layout+=${layout:+,}$per_host; done
    if [ "$per_host" = 1 ]; then
        layout_name=$n
        layout_text="$n emulated hosts, one rank each"
    else
        layout_name=${n}x$per_host
        layout_text="$n emulated hosts x $per_host ranks"
    fi
fi
ranks=$(($(echo "$layout" | tr ',' '+')))
[ "$n" -ge 2 ] || emu_die "at least 2 hosts: the links are what is measured"
# Shared memory between the ranks of one host, as Open MPI uses it on a
# real node; emu.sh reads both per mpirun.
btl=tcp,self
if echo "$layout" | tr ',' '\n' | awk '$1 > 1 { more = 1 } END { exit !more }'; then
    btl=tcp,vader,self
fi
export EMU_LAYOUT=$layout EMU_BTL=$btl
out=${out:-$PWD/emu-$layout_name-$rate}

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
echo "# $layout_text (btl $btl) at $rate: rdmc, Open MPI's default, han," \
    "tuned pipeline and chain at segments $segments" >&2
measure rdmc --mca coll_rdmc_bcast_min_bytes 0 "${rdmc_extra[@]}"
measure default --mca coll ^rdmc
measure han --mca coll ^rdmc --mca coll_han_priority 100 --mca coll_base_verbose 20
for seg in ${segments//,/ }; do
    seg_bytes=$(emu_bytes "$seg")
    for alg in 3:pipeline 2:chain; do
        measure "${alg#*:}-$seg" --mca coll ^rdmc --mca coll_tuned_use_dynamic_rules 1 \
            --mca coll_tuned_bcast_algorithm "${alg%%:*}" \
            --mca coll_tuned_bcast_algorithm_segmentsize "$seg_bytes"
    done
done
# rdmc must have carried every broadcast of its runs, and no other run
# may have gone through it; Open MPI must have selected han for the han
# runs (coll_base_verbose: "selecting han, priority 100, Enabled").
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
    case "$(basename "$f")" in
    han.*)
        grep -Eq 'comm_select: selecting +han, priority 100' "$f.err" ||
            emu_die "Open MPI did not select han in $f (see $f.err)" ;;
    esac
done

# results.dat: label size completion(us) mean(us) cpu(s/GiB), one row
# each: the median and the mean completion time over ITERS (the "Sync"
# columns) and the "# cpu SIZE:" line that follows the row.
for f in "$out"/raw/*[0-9]; do
    label=$(basename "$f")
    awk -v label="${label%.*}" '
        /^# cpu [0-9]+:/ { size = $3; sub(/:$/, "", size); cpu[size] = $4; next }
        !/^#/ && NF >= 6 { median[$1] = $6; mean[$1] = $4; order[++count] = $1 }
        END {
            for (i = 1; i <= count; i++) {
                s = order[i]
                print label, s, median[s], mean[s], (s in cpu) ? cpu[s] : "-"
            }
        }' "$f"
done >"$out/results.dat"

# wire.dat: label size wire-bytes-per-payload-byte, for runs of one size:
# what the hosts sent over what the other hosts needed (size to N - 1
# hosts, ITERS + WARMUP times; ranks that share a host need it once).
# Headers (TCP/IP/Ethernet: 1514 bytes on the wire per 1448 of payload)
# make it at least 1.046; control messages, acknowledgements, the run's
# own set-up and a host taking the same data twice add the rest.
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
# engine's model for tcp, EMU_RDMC_MODEL in lib.sh).  With one rank per
# host, its schedule's blocks and steps; with more, the simulator's
# prediction of rdmc by levels on this layout (rdmc_sim --layout: the same
# groups, a node's link shared by its ranks, copies inside a node).
for s in $byte_sizes; do
    if [ "$ranks" = "$n" ]; then
        "$SIM" --steps --n "$n" --size "$s" --alg binomial_pipeline "${EMU_RDMC_MODEL[@]}" |
            awk -v s="$s" '/^# steps/ { what = "steps" } /^# blocks/ { what = "blocks" }
                           /^ *[0-9]/ && what != "" { v[what] = $3; what = "" }
                           END { print "model", s, v["blocks"], v["steps"] }'
    else
        "$SIM" --layout "$layout" --size "$s" "${EMU_RDMC_MODEL[@]}" |
            awk -v s="$s" '$1 == "rdmc" { print "predicted", s, $2 }'
    fi
done >"$out/model.dat"

awk -v n="$n" -v ranks="$ranks" -v layout="$layout_text" -v btl="$btl" -v bps="$bps" \
    -v rate="$rate" -v iters="$iters" -v sizes="$byte_sizes" -v even="$even" '
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
    # "ms (x)" of a time in us, "-" when there is none
    function timed(us, link) {
        return us > 0 ? sprintf("%8.1f (%5.2f)", us / 1e3, us / 1e3 / link) : "-"
    }
    function ratio(a, b) {
        return a > 0 && b > 0 ? sprintf("%.2f", a / b) : "-"
    }
    function cpu(label, s) {
        return (label, s) in c && c[label, s] != "-" ? sprintf("%.2f", c[label, s]) : "-"
    }
    FILENAME ~ /model.dat$/ && $1 == "predicted" { predicted[$2] = $3; next }
    FILENAME ~ /model.dat$/ { k[$2] = $3; steps[$2] = $4; next }
    FILENAME ~ /wire.dat$/ { wire[$1, $2] = $3; next }
    {
        t[$1, $2] = $3
        c[$1, $2] = $5
        if ($1 ~ /^(pipeline|chain)-/ && (best[$2] == "" || $3 < t[best[$2], $2])) best[$2] = $1
        if ($1 ~ /^pipeline-/ && (pipe[$2] == "" || $3 < t[pipe[$2], $2])) pipe[$2] = $1
    }
    END {
        log2n = 0
        while (2 ^ log2n < n) log2n++
        printf("# MPI_Bcast, %s (%d ranks, btl %s), %s links: completion time in ms (root starts to last rank done), median of %d\n",
               layout, ranks, btl, rate, iters)
        printf("# (x) = over the link limit size/rate; tuned = best of pipeline and chain over the segment sizes;\n")
        printf("# rdmc/X = rdmc'"'"'s time over X'"'"'s (below 1: rdmc faster)\n")
        printf("# cpu: CPU seconds (user+system, all ranks) in the broadcasts per GiB delivered to the %d non-root ranks\n", ranks - 1)
        if (!even)
            printf("# han: Open MPI 4.1'"'"'s han takes only layouts with as many ranks on every host; here its MPI_Bcast is tuned'"'"'s\n")
        if (ranks == n)
            printf("# model: k blocks and steps, binomial pipeline k + %d - 1, tuned pipeline (best segment) k + %d - 2; (steps/k)\n", log2n, n)
        else
            printf("# model rdmc: the simulator'"'"'s time for rdmc by levels on this layout (rdmc_sim --layout), and the measured time over it\n")
        printf("# wire: bytes the hosts sent per byte the other %d hosts needed, rdmc/best tuned (headers alone: 1.046)\n", n - 1)
        printf("%-5s %7s %16s %16s %16s %16s %-13s %7s %7s %7s %28s %15s %15s %11s\n",
               "size", "link", "rdmc", "default", "han", "tuned", "best tuned", "rdmc/", "rdmc/",
               "rdmc/", "cpu s/GiB delivered", "model rdmc", "model pipeline", "wire")
        printf("%-5s %7s %16s %16s %16s %16s %-13s %7s %7s %7s %6s %7s %6s %6s %15s %15s %11s\n",
               "", "ms", "ms (x)", "ms (x)", "ms (x)", "ms (x)", "", "default", "han", "tuned",
               "rdmc", "default", "han", "tuned", ranks == n ? "k:steps (x)" : "ms (rdmc/it)",
               "k:steps (x)", "rdmc/tuned")
        count = split(sizes, order, " ")
        for (i = 1; i <= count; i++) {
            s = order[i]
            link = s * 8 / bps * 1e3
            r = t["rdmc", s]; d = t["default", s]; h = t["han", s]; b = t[best[s], s]
            seg = bytes(substr(pipe[s], 10))
            pk = seg > 0 ? int((s + seg - 1) / seg) : 0
            w = "-"
            model = "-"
            if (s in k)
                model = sprintf("%d:%d (%.2f)", k[s], steps[s], steps[s] / k[s])
            else if (s in predicted && r > 0)
                model = sprintf("%.1f (%4.2f)", predicted[s] / 1e3, r / predicted[s])
            if (("rdmc", s) in wire && (best[s], s) in wire)
                w = sprintf("%.3f/%.3f", wire["rdmc", s], wire[best[s], s])
            printf("%-5s %7.1f %16s %16s %16s %16s %-13s %7s %7s %7s %6s %7s %6s %6s %15s %15s %11s\n",
                   name(s), link, timed(r, link), timed(d, link), timed(h, link), timed(b, link),
                   best[s] == "" ? "-" : best[s], ratio(r, d), ratio(r, h), ratio(r, b),
                   cpu("rdmc", s), cpu("default", s), cpu("han", s), cpu(best[s], s),
                   model,
                   pk > 0 && ranks == n ? sprintf("%d:%d (%.2f)", pk, pk + n - 2, (pk + n - 2) / pk) : "-",
                   w)
        }
    }
' "$out/model.dat" "$out/wire.dat" "$out/results.dat" | tee "$out/table.txt"

# The plot: completion time and bandwidth of each algorithm against size
# (tuned's pipeline and chain each at their best segment size per size).
awk -v bps="$bps" -v sizes="$byte_sizes" '
    {
        alg = $1
        sub(/-.*/, "", alg)
        if (best[alg, $2] == "" || $3 < best[alg, $2]) best[alg, $2] = $3
    }
    END {
        print "# size link_us rdmc_us default_us pipeline_us chain_us han_us"
        count = split(sizes, order, " ")
        for (i = 1; i <= count; i++) {
            s = order[i]
            print s, s * 8 / bps * 1e6, best["rdmc", s], best["default", s], best["pipeline", s],
                  best["chain", s], best["han", s]
        }
    }
' "$out/results.dat" >"$out/plot.dat"
if command -v gnuplot >/dev/null; then
    if gnuplot -e "data='$out/plot.dat'; png='$out/bcast.png'; title='MPI\\_Bcast, $layout_text, $rate links'" \
        "$EMU_DIR/plot.gp"; then
        echo "# plot: $out/bcast.png" >&2
    else
        echo "# gnuplot failed (no pngcairo terminal?): $out/plot.dat holds the plot's data" >&2
    fi
else
    echo "# no gnuplot: $out/plot.dat holds the plot's data" >&2
fi
