#!/bin/bash
# Runs every libFuzzer target of tests/fuzz for SECONDS each, one after the
# other, on a copy of its seed corpus (tests/fuzz/corpus/TARGET).  Exits
# non-zero when a target crashed or broke one of its invariants (abort),
# after printing the input that did it and the command that replays it.
#
#   tests/fuzz/run.sh BUILD/tests/fuzz 60
#
# FUZZ_OUT=DIR keeps the grown corpora, the logs and any crash inputs
# there (default: a new folder under /tmp, printed at the end);
# FUZZ_FLAGS adds libFuzzer flags (-help=1 lists them).
set -euo pipefail

usage() {
    echo "usage: $0 TARGET_DIR SECONDS   (TARGET_DIR: the build's tests/fuzz)" >&2
    exit 2
}
[ $# = 2 ] || usage
targets_dir=$1
seconds=$2
case $seconds in
    '' | *[!0-9]*) usage ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
out=${FUZZ_OUT:-$(mktemp -d /tmp/rdmc-fuzz.XXXXXX)}

# The longest input worth trying: a little over the largest join message
# (RDMC_JOIN_MSG_MAX, 2048 bytes), and for SST rows the 8-byte header plus
# more than the other three members' view-change rows (856 bytes each).
max_len() {
    case $1 in
        fuzz_sst_rows) echo 4096 ;;
        *) echo 2100 ;;
    esac
}

status=0
for target in fuzz_join_wire fuzz_join_judge fuzz_sst_rows; do
    binary=$targets_dir/$target
    if [ ! -x "$binary" ]; then
        echo "$target: $binary missing (configure CC=clang --enable-fuzzing; make fuzz)" >&2
        status=1
        continue
    fi
    dir=$out/$target
    rm -rf "$dir/crashes"
    mkdir -p "$dir/corpus" "$dir/crashes"
    cp "$here/corpus/$target/"* "$dir/corpus/"
    rc=0
    # -timeout: an input running 10 s is a hang, reported like a crash.
    # shellcheck disable=SC2086 # FUZZ_FLAGS holds several flags
    timeout -k 10 $((seconds + 120)) "$binary" -max_total_time="$seconds" \
        -max_len="$(max_len "$target")" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/crashes/" ${FUZZ_FLAGS:-} "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
    last=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true)
    echo "$target: ${runs:-?} runs, ${speed:-?} exec/s, ${last:-no coverage line}"
    if [ "$rc" != 0 ]; then
        status=1
        # libFuzzer names the input it saved ("Test unit written to PATH").
        crash=$(sed -n 's/.*Test unit written to //p' "$dir/log" | tail -n 1)
        echo "$target: FAILED (exit $rc)"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$dir/log" | head -n 5 || true
        if [ -n "$crash" ]; then
            echo "  input:  $crash"
            echo "  replay: $binary $crash"
        fi
        echo "  log:    $dir/log"
    fi
done
echo "corpora, logs and crash inputs: $out"
exit "$status"
