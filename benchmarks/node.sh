#!/bin/bash
# MPI_Bcast on one node: coll/rdmc with its defaults against Open MPI's
# default, its adapt component and every broadcast algorithm of its tuned
# component forced, all in one run, at each rank count.
#
#   benchmarks/node.sh [-np LIST] [-m SIZES] [-i ITERS] [-x WARMUP]
#                      [-r RUNS] [-S SEGMENTS] [-o DIR] [-T SECONDS]
#                      [-- rdmc options]
#
#   -np LIST     rank counts, comma-separated (default 4,8)
#   -m SIZES     message sizes, comma-separated, K/M/G suffixes
#                (default 1M,16M,64M)
#   -i, -x       timed and warm-up broadcasts per size (default 10 and 2)
#   -r RUNS      rounds; each round runs every variant once, in turn, and
#                each figure is the median over the rounds (default 3)
#   -S SEGMENTS  segment sizes tried for tuned's segmented algorithms
#                (chain, pipeline, split binary, binary, binomial, knomial),
#                which also run unsegmented (default 64K,1M)
#   -o DIR       where the tables and the raw outputs go (default ./node)
#   -T SECONDS   longest a single mpirun may take (default 600)
#   after --      more mpirun options for the rdmc runs only
#
# Variants: rdmc (its defaults: below coll_rdmc_bcast_min_bytes, 16 MiB,
# and on a node running more than 3 ranks per core, MPI_Bcast goes to the
# previous component, and the "rdmc carried" column says so); Open MPI's
# default (--mca coll ^rdmc); adapt (--mca coll ^rdmc, coll_adapt_priority
# 100, its selection checked in coll_base_verbose's output); tuned's
# algorithms 1-9 forced with coll_tuned_use_dynamic_rules (tuned-ALG, and
# tuned-ALG-SEG where segmented).  Two measures, each in its own table:
# "last rank" is the time from the root's start until the last rank has
# the data (rdmc_bcast_bench -e, clocks synchronised, the median over
# ITERS); "OSU" is OSU's average latency (each rank's time in MPI_Bcast,
# averaged over ranks and ITERS).  "best tuned" is the quickest forced
# algorithm by that measure, rdmc/X is rdmc's time over X's (below 1:
# rdmc is faster).  "cpu s/GiB" is the CPU time (user + system, every
# thread) that all ranks spent inside the timed broadcasts per GiB
# delivered, of rdmc, the default and the best tuned variant.  DIR/all.txt
# has every variant's figures.
set -eu
# shellcheck source=benchmarks/emu/lib.sh
. "$(dirname "$0")/emu/lib.sh"

emu_common_defaults
nps=4,8
sizes=1M,16M,64M
iters=10
warmup=2
runs=3
segments=64K,1M
limit=600
while [ $# -gt 0 ]; do
    case "$1" in
    -np) nps=$2 ;;
    -r) runs=$2 ;;   # rounds here, not emu_common_option's link rate
    -S) segments=$2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,38p' "$0"; exit 0 ;;
    *) emu_common_option "$1" "${2:-}" || emu_die "unknown option $1 (-h for help)" ;;
    esac
    shift 2
done
out=${out:-$PWD/node}
rdmc_extra=("$@")
[[ $nps =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || emu_die "-np '$nps': rank counts, comma-separated"
[[ $runs =~ ^[1-9][0-9]*$ ]] || emu_die "-r '$runs': a number of rounds"
emu_find_build
byte_sizes=$(for s in ${sizes//,/ }; do emu_bytes "$s"; done | sort -n -u | tr '\n' ' ')
read -r -a size_list <<<"$byte_sizes"
# One mpirun covers every size: the benchmark doubles from the smallest to
# the largest, and the tables keep the sizes asked for.
range="${size_list[0]}:${size_list[${#size_list[@]} - 1]}"
mkdir -p "$out/raw"
rm -f "$out"/raw/*

# The variants: label, then its mpirun options after a tab.
tuned_variant() { # ALG [SEGMENT]
    printf 'tuned-%s%s\t--mca coll ^rdmc --mca coll_tuned_use_dynamic_rules 1' "$1" "${2:+-$2}"
    printf ' --mca coll_tuned_bcast_algorithm %s' "$1"
    [ -z "${2:-}" ] || printf ' --mca coll_tuned_bcast_algorithm_segmentsize %s' "$(emu_bytes "$2")"
    printf '\n'
}
variants() {
    local alg seg
    printf 'rdmc\t%s\n' "${rdmc_extra[*]}"
    printf 'default\t--mca coll ^rdmc\n'
    printf 'adapt\t--mca coll ^rdmc --mca coll_adapt_priority 100 --mca coll_base_verbose 20\n'
    for alg in 1 2 3 4 5 6 7 8 9; do
        tuned_variant "$alg"
        case $alg in
        2 | 3 | 4 | 5 | 6 | 7)   # the segmented ones
            for seg in ${segments//,/ }; do tuned_variant "$alg" "$seg"; done ;;
        esac
    done
}

# run NP LABEL ROUND OPTIONS: one mpirun, bounded, into raw/NP.LABEL.ROUND.
run() {
    local np=$1 label=$2 round=$3 opts=$4 file status=0
    file=$out/raw/$np.$label.$round
    # shellcheck disable=SC2086
    timeout -k 10 "$limit" mpirun --oversubscribe -np "$np" "${COMPONENT_ARGS[@]}" $opts \
        "$BENCH" -R -e -m "$range" -i "$iters" -x "$warmup" >"$file" 2>"$file.err" </dev/null ||
        status=$?
    if [ "$status" != 0 ]; then
        echo "node.sh: $label at np $np failed (status $status; 124: no result after $limit s)" >&2
        grep -v setpgid "$file.err" | tail -n 20 >&2
        exit 1
    fi
    # Only rdmc's runs may go through rdmc; adapt must be what was selected.
    if [ "$label" != rdmc ] && grep -Eq '^# row [0-9]+: rdmc carried [1-9]' "$file"; then
        emu_die "rdmc carried broadcasts of $file"
    fi
    if [ "$label" = adapt ] &&
        ! grep -Eq 'selecting +adapt, priority 100, Enabled' "$file.err"; then
        emu_die "Open MPI did not select adapt in $file"
    fi
}

cores=$(nproc)
for np in ${nps//,/ }; do
    echo "# np $np on $cores cores: rdmc, default, adapt, tuned's algorithms forced" \
        "(segments $segments), $runs rounds" >&2
    for round in $(seq 1 "$runs"); do
        while IFS=$'\t' read -r label opts; do
            run "$np" "$label" "$round" "$opts"
        done < <(variants)
    done
done

# Each raw file: the benchmark's rows "size avg bw sync syncbw median", its
# "# cpu SIZE: X s/GiB" and "# row SIZE: rdmc carried X of Y (Z of them
# timing)" lines.  Medians over rounds, then the tables.
{
    echo "# One node, $cores cores, $(mpirun --version 2>/dev/null | head -n 1)," \
        "rdmc_bcast_bench -e -i $iters -x $warmup, median of $runs rounds"
    echo "# rdmc/X: rdmc's time over X's (below 1: rdmc is faster); rdmc carried: yes (every" \
        "broadcast of the size), NO (none: the previous component took them), partly"
} >"$out/table.txt"
cp "$out/table.txt" "$out/all.txt"
for np in ${nps//,/ }; do
    awk -v np="$np" -v sizes="$byte_sizes" -v table="$out/table.txt" -v all="$out/all.txt" \
        "$(cat "$(dirname "$0")/rows.awk")"'
        FNR == 1 {
            label = FILENAME; sub(/.*\//, "", label)
            sub("^" np "\\.", "", label); sub(/\.[0-9]+$/, "", label)
            if (!(label in known)) { known[label] = 1; labels[++nlabels] = label }
        }
        /^# cpu [0-9]+:/ { s = row_size(); cpu[label, s] = cpu[label, s] " " $4; next }
        /^# row [0-9]+: rdmc carried / { note_carried(label SUBSEP row_size()); next }
        /^#/ || NF < 6 || $1 !~ /^[0-9]+$/ { next }
        { osu[label, $1] = osu[label, $1] " " $2; last[label, $1] = last[label, $1] " " $6 }
        function ms(list) { return median(list) / 1000 }
        function section(title, which,    i, j, s, l, t, best, bt, r, d, a) {
            printf("\n# np %d, %s, ms\n", np, title) >> table
            printf("%-6s %9s %9s %9s %9s %-14s %8s %8s %8s %7s %7s %7s %8s\n", "size", "rdmc",
                   "default", "adapt", "tuned", "(best tuned)", "rdmc/", "rdmc/", "rdmc/",
                   "cpu", "s/GiB", "", "rdmc") >> table
            printf("%-6s %9s %9s %9s %9s %-14s %8s %8s %8s %7s %7s %7s %8s\n", "", "", "", "",
                   "", "", "default", "adapt", "tuned", "rdmc", "default", "tuned",
                   "carried") >> table
            for (i = 1; i <= nsizes; i++) {
                s = size_list[i]; best = ""
                for (j = 1; j <= nlabels; j++) {
                    l = labels[j]
                    if (l !~ /^tuned-/ || !((l, s) in osu)) continue
                    t = which == "osu" ? ms(osu[l, s]) : ms(last[l, s])
                    if (best == "" || t < bt) { best = l; bt = t }
                }
                r = which == "osu" ? ms(osu["rdmc", s]) : ms(last["rdmc", s])
                d = which == "osu" ? ms(osu["default", s]) : ms(last["default", s])
                a = which == "osu" ? ms(osu["adapt", s]) : ms(last["adapt", s])
                printf("%-6s %9.2f %9.2f %9.2f %9.2f %-14s %8.2f %8.2f %8.2f %7.3f %7.3f %7.3f" \
                       " %8s\n", name(s), r, d, a, bt, best, r / d, r / a, r / bt,
                       median(cpu["rdmc", s]), median(cpu["default", s]), median(cpu[best, s]),
                       carried["rdmc", s]) >> table
            }
        }
        function name(b) {
            return b % 1048576 == 0 ? b / 1048576 "M" : (b % 1024 == 0 ? b / 1024 "K" : b)
        }
        END {
            nsizes = split(sizes, size_list, " ")
            section("until the last rank has the data", "last")
            section("OSU average latency", "osu")
            printf("\n# np %d: every variant, ms until the last rank / OSU average / cpu s/GiB\n",
                   np) >> all
            for (j = 1; j <= nlabels; j++) {
                l = labels[j]; printf("%-14s", l) >> all
                for (i = 1; i <= nsizes; i++) {
                    s = size_list[i]
                    printf("  %s %8.2f %8.2f %6.3f", name(s), ms(last[l, s]), ms(osu[l, s]),
                           median(cpu[l, s])) >> all
                }
                printf("\n") >> all
            }
        }
    ' "$out"/raw/"$np".*[0-9]
done
cat "$out/table.txt"
echo "# every variant: $out/all.txt; raw outputs: $out/raw" >&2
