#!/bin/bash
# Calibrating the simulator against the emulated cluster, and checking
# rdmc's automatic block size there.
#
#   benchmarks/emu/calibrate.sh [-r RATE] [-n NS] [-m SIZES] [-b BLOCKS]
#                               [-i ITERS] [-o DIR] [-T SECONDS]
#
#   -r RATE     links (default 1gbit)
#   -n NS       cluster sizes compared with the simulator (default 4,8)
#   -m SIZES    message sizes there (default 1M,16M)
#   -b BLOCKS   fixed coll_rdmc_block_bytes tried against the automatic
#               choice (default 64K,256K,1M,4M)
#
# 1. alpha and beta: on 2 hosts, rdmc sends one message (block size =
#    message size) of 1M, 4M and 16M: the slope is beta; 16M in 64K blocks
#    gives what each pipelined step costs on top, alpha (see below).
# 2. For each N and size: rdmc at its automatic block size and tuned's
#    pipeline at 64K segments, measured and as rdmc_sim predicts them with
#    that alpha and beta (rdmc at the block size the engine picks; tuned's
#    pipeline is mpi_chain with 64K segments).
# 3. The same points with every fixed block size: the automatic choice over
#    the best fixed one (the goal: within 1.10).
set -eu
# shellcheck source=benchmarks/emu/lib.sh
. "$(dirname "$0")/lib.sh"

emu_common_defaults
ns=4,8
sizes=1M,16M
blocks=64K,256K,1M,4M
while [ $# -gt 0 ]; do
    if emu_common_option "$1" "${2:-}"; then
        shift 2
        continue
    fi
    case "$1" in
    -n) ns=$2; shift 2 ;;
    -b) blocks=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) emu_die "unknown option $1 (-h for help)" ;;
    esac
done
out=${out:-$PWD/emu-calibrate-$rate}
emu_require 1
emu_find_build
bps=$(emu_rate_bps "$rate")
byte_sizes=$(for s in ${sizes//,/ }; do emu_bytes "$s"; done | sort -n -u | tr '\n' ' ')
mkdir -p "$out/raw"
rm -f "$out"/raw/*

# bench OUT SIZE mpirun-options...: the completion time (us) of SIZE
bench() {
    local file=$1 size=$2
    shift 2
    emu_run "$file" "$limit" "$@" "$BENCH" -e -m "$size:$size" -i "$iters" -x "$warmup"
    awk '!/^#/ && NF >= 5 { print $4 }' "$file"
}

rdmc=(--mca coll_rdmc_bcast_min_bytes 0)

# --- 1. alpha and beta ---------------------------------------------------
# beta: the slope of one message's time over 1M..16M.  Each host's token
# bucket lets its first 128 KiB (the burst) pass at once, so one message
# takes alpha + beta (m - 128K) from idle; alpha1 is that intercept, the
# latency of a lone message (handshakes, wake-ups).  Inside a pipeline the
# bucket stays empty and the next block's handshake overlaps the current
# block: what a step costs beyond beta b is alpha, from 16M sent in 60K
# blocks (rdmc's largest automatic block between nodes, see
# coll/core/rdmc_blocksize.c) against one 16M message.
piped_block=61440
emu_start 2 "$rate"
for s in 1048576 4194304 16777216; do
    echo "$s $(bench "$out/raw/p2p.$s" "$s" "${rdmc[@]}" --mca coll_rdmc_block_bytes "$s")"
done >"$out/p2p.dat"
piped=$(bench "$out/raw/p2p.16M-60K" 16777216 "${rdmc[@]}" --mca coll_rdmc_block_bytes "$piped_block")
read -r alpha1 beta alpha <<<"$(awk -v piped="$piped" -v block="$piped_block" '
    { n++; m[n] = $1; t[n] = $2; x += $1; y += $2; xx += $1 * $1; xy += $1 * $2 }
    END {
        b = (n * xy - x * y) / (n * xx - x * x)
        for (i = 1; i <= n; i++) a1 += (t[i] - b * (m[i] - 131072)) / n
        blocks = int((16777216 + block - 1) / block)
        a = (piped - t[n]) / (blocks - 1)
        printf("%.1f %.4f %.1f\n", a1, b * 1000, a < 1 ? 1 : a)
    }' "$out/p2p.dat")"
{
    echo "# 1. rdmc between 2 hosts at $rate: one message of each size, completion (us)"
    cat "$out/p2p.dat"
    echo "16777216 in 60K blocks: $piped"
    echo "# beta = $beta ns/B ($(awk -v b="$beta" 'BEGIN { printf("%.0f", 8000 / b) }') Mbit/s of TCP goodput; the link: $((bps / 1000000)) Mbit/s)"
    echo "# alpha = $alpha us per pipelined step; a lone message's latency alpha1 = $alpha1 us"
} | tee "$out/table.txt"

# --- 2. and 3. per N -------------------------------------------------------
{
    echo
    echo "# 2. measured against rdmc_sim (alpha $alpha us, beta $beta ns/B), completion time in ms"
    printf "%-4s %-5s %10s %10s %6s %14s %10s %6s\n" "N" "size" "rdmc" "sim" "sim/m" \
        "pipeline-64K" "sim chain" "sim/m"
} | tee -a "$out/table.txt"
sweep=""
for n in ${ns//,/ }; do
    "$EMU" teardown >/dev/null
    "$EMU" setup "$n" "$rate" >/dev/null
    for s in $byte_sizes; do
        auto=$(bench "$out/raw/auto.$n.$s" "$s" "${rdmc[@]}")
        pipe=$(bench "$out/raw/pipe.$n.$s" "$s" --mca coll ^rdmc \
            --mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_bcast_algorithm 3 \
            --mca coll_tuned_bcast_algorithm_segmentsize 65536)
        # The engine's block size: its model for tcp (EMU_RDMC_MODEL),
        # whatever the link.
        k=$("$SIM" --steps --n "$n" --size "$s" --alg binomial_pipeline "${EMU_RDMC_MODEL[@]}" |
            awk '/^# blocks/ { getline; getline; print $3 }')
        block=$(( ((s + k - 1) / k + 4095) / 4096 * 4096 ))
        sim_rdmc=$("$SIM" --n "$n" --size "$s" --alg binomial_pipeline --block "$block" \
            --alpha-us "$alpha" --beta-ns "$beta" |
            awk '/^# completion time/ { getline; getline; print $2 }')
        sim_pipe=$("$SIM" --n "$n" --size "$s" --alg mpi_chain --segment 65536 \
            --alpha-us "$alpha" --beta-ns "$beta" |
            awk '/^# completion time/ { getline; getline; print $2 }')
        awk -v n="$n" -v s="$(emu_size_name "$s")" -v a="$auto" -v sa="$sim_rdmc" -v p="$pipe" \
            -v sp="$sim_pipe" 'BEGIN { printf("%-4s %-5s %10.1f %10.1f %6.2f %14.1f %10.1f %6.2f\n",
                n, s, a / 1e3, sa / 1e3, sa / a, p / 1e3, sp / 1e3, sp / p) }' | tee -a "$out/table.txt"
        line="$n $(emu_size_name "$s") $block $auto"
        for b in ${blocks//,/ }; do
            line="$line $b:$(bench "$out/raw/block.$n.$s.$b" "$s" "${rdmc[@]}" \
                --mca coll_rdmc_block_bytes "$(emu_bytes "$b")")"
        done
        sweep="$sweep$line"$'\n'
    done
done
{
    echo
    echo "# 3. automatic block size (the engine's choice) against fixed ones; completion time in ms"
    printf "%s" "$sweep" | awk '{
        printf("N=%s %s: auto (%dK) %.1f", $1, $2, $3 / 1024, $4 / 1e3)
        best = 0
        for (i = 5; i <= NF; i++) {
            split($i, p, ":")
            printf(", %s %.1f", p[1], p[2] / 1e3)
            if (best == 0 || p[2] < best) { best = p[2]; name = p[1] }
        }
        printf(" -> auto / best (%s) = %.2f%s\n", name, $4 / best, $4 / best <= 1.10 ? "" : "  (over 1.10)")
    }'
} | tee -a "$out/table.txt"
