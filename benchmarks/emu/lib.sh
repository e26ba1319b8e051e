# Shared by the emulated cluster's scripts and benchmarks/node.sh
# (sourced): where the build is, sizes and rates, the cluster's lifetime,
# and bounded benchmark runs.
# shellcheck shell=bash

EMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EMU=$EMU_DIR/emu.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

emu_die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# Root, iproute2 with namespaces, procps's sysctl: or exit with STATUS
# (77 = skipped in tests) after one line that says what is missing.
emu_require() {
    local status=${1:-1}
    if [ "$(id -u)" != 0 ]; then
        echo "$(basename "$0"): needs root (network namespaces)" >&2
        exit "$status"
    fi
    if ! command -v ip >/dev/null || ! command -v tc >/dev/null || ! ip netns list >/dev/null 2>&1; then
        echo "$(basename "$0"): needs iproute2 (ip netns, tc)" >&2
        exit "$status"
    fi
    if ! command -v sysctl >/dev/null; then
        echo "$(basename "$0"): needs sysctl (apt-get install procps)" >&2
        exit "$status"
    fi
    # Root in a container may still be refused namespaces, or entering
    # them: make one, run in it what emu.sh's set-up runs, delete it.
    local probe=${EMU_PREFIX:-rdmcemu}-probe$$ why=""
    if ! ip netns add "$probe" 2>/dev/null; then
        why="cannot create network namespaces here"
    elif ! ip netns exec "$probe" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1; then
        why="cannot enter a network namespace and set its sysctls here"
    fi
    if ip netns list 2>/dev/null | grep -q "^$probe\( \|\$\)" && ! ip netns del "$probe" 2>/dev/null; then
        why=${why:-"cannot delete network namespaces here"}
    fi
    if [ -n "$why" ]; then
        echo "$(basename "$0"): $why" >&2
        exit "$status"
    fi
}

# The options every harness script takes, with their defaults:
# -r RATE, -m SIZES, -i ITERATIONS, -x WARMUP, -o OUT, -T LIMIT (seconds
# for each mpirun).  emu_common_option sets the variable and succeeds when
# $1 is one of them (the caller shifts 2), fails otherwise.
# shellcheck disable=SC2034 # the variables are the calling script's
emu_common_defaults() {
    rate=1gbit
    iters=3
    warmup=1
    out=""
    limit=900
}

# shellcheck disable=SC2034
emu_common_option() {
    case "$1" in
    -r) rate=$2 ;;
    -m) sizes=$2 ;;
    -i) iters=$2 ;;
    -x) warmup=$2 ;;
    -o) out=$2 ;;
    -T) limit=$2 ;;
    *) return 1 ;;
    esac
}

# The build tree: RDMC_BUILDDIR, the current directory, or the source tree
# (in-tree builds), whichever has the benchmark built.  Sets BUILD, BENCH,
# SIM and COMPONENT_ARGS for the scripts.
# shellcheck disable=SC2034
emu_find_build() {
    local dir
    for dir in "${RDMC_BUILDDIR:-}" "$PWD" "$EMU_DIR/../.."; do
        if [ -n "$dir" ] && [ -x "$dir/benchmarks/rdmc_bcast_bench" ]; then
            BUILD=$(cd "$dir" && pwd)
            BENCH=$BUILD/benchmarks/rdmc_bcast_bench
            SIM=$BUILD/benchmarks/sim/rdmc_sim
            # This build's component ahead of Open MPI's own ones.
            COMPONENT_ARGS=(--mca mca_base_component_path "$BUILD/.libs:SYS_DEFAULT")
            # Open MPI 5's mpirun hands that path to PMIx too: keep PMIx on
            # its own folder (make check sets it from configure).
            if [ -n "${RDMC_PMIX_COMPONENT_DIR:-}" ]; then
                COMPONENT_ARGS+=(--pmixmca mca_base_component_path "$RDMC_PMIX_COMPONENT_DIR")
            fi
            return 0
        fi
    done
    emu_die "build first (make), then run this from the build directory"
}

# Bytes of 64K, 16M, 1G or a plain number (powers of 1024), and back.
emu_bytes() {
    local s=${1^^}
    case "$s" in
    *K) echo $((${s%K} * 1024)) ;;
    *M) echo $((${s%M} * 1048576)) ;;
    *G) echo $((${s%G} * 1073741824)) ;;
    *[!0-9]* | '') emu_die "size '$1': use a number with K, M or G" ;;
    *) echo "$s" ;;
    esac
}
emu_size_name() {
    local b=$1
    if [ $((b % 1073741824)) = 0 ]; then echo "$((b / 1073741824))G"
    elif [ $((b % 1048576)) = 0 ]; then echo "$((b / 1048576))M"
    elif [ $((b % 1024)) = 0 ]; then echo "$((b / 1024))K"
    else echo "$b"; fi
}

# Bits per second of a tc rate (k, m, g: powers of 1000, as tc has them).
emu_rate_bps() {
    local r=${1,,}
    case "$r" in
    *gbit) echo $((${r%gbit} * 1000000000)) ;;
    *mbit) echo $((${r%mbit} * 1000000)) ;;
    *kbit) echo $((${r%kbit} * 1000)) ;;
    *) emu_die "rate '$1': use Nkbit, Nmbit or Ngbit" ;;
    esac
}

# The engine's cost model for tcp between nodes (rdmc_tcp_model in
# coll/rdmc_blocksize.c), from which it chooses its block size: rdmc_sim
# replays that choice with the same figures.
# shellcheck disable=SC2034
EMU_RDMC_MODEL=(--tcp-model)

# Up to about 8 Gbit/s of links busy at once, this machine's two cores keep
# up and the links stay the bottleneck (4% at most); above, CPU time enters
# the figures.
EMU_MAX_TOTAL_BPS=8000000000
emu_check_total() {
    local n=$1 bps=$2
    if [ $((n * bps)) -gt $EMU_MAX_TOTAL_BPS ]; then
        echo "WARNING: N x rate = $((n * bps / 1000000)) Mbit/s is above ~8000 Mbit/s:" \
            "the CPUs, not the links, may limit these figures" >&2
    fi
}

# The cluster lives as long as the script: torn down on any exit, error or
# signal.  A signal only ends the script; the EXIT trap does the rest.
emu_start() {
    "$EMU" teardown >/dev/null 2>&1 || true   # a previous run's leftovers
    trap 'status=$?; trap - EXIT; "$EMU" teardown >/dev/null 2>&1 || true; exit $status' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    "$EMU" setup "$@" >/dev/null
}

# emu_run OUT TIMEOUT mpirun-options... -- PROGRAM args...
# One mpirun on the cluster, its output in OUT, stderr in OUT.err, ended
# after TIMEOUT seconds.  It runs in the background and the script waits
# for it, so that a signal to the script is handled at once.
emu_run() {
    local out=$1 limit=$2 pid status=0
    shift 2
    timeout -k 10 "$limit" "$EMU" mpirun "${COMPONENT_ARGS[@]}" "$@" \
        >"$out" 2>"$out.err" </dev/null &
    pid=$!
    wait "$pid" || status=$?
    if [ "$status" != 0 ]; then
        local why="status $status"
        [ "$status" != 124 ] || why="no result after $limit s"
        echo "$(basename "$0"): mpirun failed ($why): $*" >&2
        grep -v 'setpgid' "$out.err" | tail -n 20 >&2
        return 1
    fi
}
