#!/bin/bash
# Ordered, uniform delivery on the emulated cluster: coll/rdmc's stable
# broadcasts against ZooKeeper's and etcd's replicated writes, one server
# (or MPI rank) per emulated host, in one run (issue 18; README, "Ordered
# delivery: rdmc, ZooKeeper, etcd").
#
#   benchmarks/ordered/run.sh [-n 3,5] [-r 1gbit,unshaped] [-m 10,1K,10K,100K,1M]
#                             [-y rdmc,zk,etcd] [-w W] [-W W] [-F] [-q] [-o DIR] [-T SECONDS]
#
#   -n  group sizes (hosts), -r link rates (tc syntax; "unshaped" = tbf at
#       100gbit, far above what this machine's CPUs move), -m message sizes
#   -y  systems; zk and etcd each run twice: "disk" (durable, as shipped:
#       the log fsynced on the disk under /tmp) and "mem" (ZooKeeper
#       forceSync=no with its data on tmpfs; etcd 3.4 has no switch to skip
#       fsync, so only its data folder on tmpfs)
#   -w  rdmc's MPI_Ibcast window (default 16), -W the ZooKeeper/etcd
#       clients' outstanding writes each (default 64)
#   -F  failure runs too (first -n, first -r): kill a member mid-stream
#   -f  failure runs only
#   -q  quick: a tenth of the writes (a smoke run, figures not for the README)
#   -o  output folder (default ./ordered-out): results.dat, table.txt,
#       failures.txt, ordered.png, raw/
#   -T  bound on any one mpirun or client run (default 300 s)
#
# Per system, size and group: "one" = one sender (rank 0; a client on h1
# talking to its local server), "all" = every host sends (rdmc: roots in
# turn; zk/etcd: a client per host, each to its own server), pipelined
# (windows above); throughput = writes over first send to last
# completion.  Latency = one sender with one write outstanding: for rdmc
# the send to the delivery at the last member (synchronized clock); for
# zk/etcd the client's request to its reply (the leader had a quorum, the
# client's server applied it).  rdmc must have carried every broadcast
# (MPI_T) and every rank delivered the same sequence; a row says so if not.
# Needs root, iproute2, the build (make), and the packages zookeeper,
# libzookeeper-mt-dev (before configure), etcd-server, etcd-client, curl,
# gnuplot-nox (for the plot).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=benchmarks/emu/lib.sh
. "$here/../emu/lib.sh"
# shellcheck source=benchmarks/ordered/servers.sh
. "$here/servers.sh"
export EMU_PREFIX=${EMU_PREFIX:-rdmcord}

groups=3,5
rates=1gbit,unshaped
sizes=10,1K,10K,100K,1M
systems=rdmc,zk,etcd
rdmc_window=16
client_window=64
failures=0
matrix=1
quick=0
out=$PWD/ordered-out
limit=300
while getopts "n:r:m:y:w:W:Ffqo:T:h" opt; do
    case "$opt" in
    n) groups=$OPTARG ;;
    r) rates=$OPTARG ;;
    m) sizes=$OPTARG ;;
    y) systems=$OPTARG ;;
    w) rdmc_window=$OPTARG ;;
    W) client_window=$OPTARG ;;
    F) failures=1 ;;
    f) failures=1 matrix=0 ;;
    q) quick=1 ;;
    o) out=$OPTARG ;;
    T) limit=$OPTARG ;;
    *) sed -n '2,38p' "$0"; exit 2 ;;
    esac
done
want() { [[ ",$systems," == *",$1,"* ]]; }

# What is missing, said once, before anything starts.
emu_require 1
emu_find_build
ORD_BENCH=$BUILD/benchmarks/ordered/ordered_bench
ZK_BENCH=$BUILD/benchmarks/ordered/zk_bench
missing=()
[ -x "$ORD_BENCH" ] || missing+=("ordered_bench (make in the build)")
if want zk; then
    { command -v java >/dev/null && [ -f /usr/share/java/zookeeper.jar ]; } ||
        missing+=("ZooKeeper server (apt-get install zookeeper)")
    [ -x "$ZK_BENCH" ] ||
        missing+=("zk_bench (apt-get install libzookeeper-mt-dev, then configure and make again)")
fi
if want etcd; then
    command -v etcd >/dev/null || missing+=("etcd (apt-get install etcd-server)")
    command -v etcdctl >/dev/null || missing+=("etcdctl (apt-get install etcd-client)")
    command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
fi
if [ ${#missing[@]} -gt 0 ]; then
    printf '%s: missing: %s\n' "$(basename "$0")" "${missing[@]}" >&2
    exit 1
fi
command -v gnuplot >/dev/null ||
    echo "# no gnuplot (apt-get install gnuplot-nox): no plot, only the tables" >&2

# Writes per run: fewer for the large sizes, a tenth with -q.
count_for() {
    local n
    case "$1" in
    10 | 1024) n=4000 ;;
    10240) n=2000 ;;
    102400) n=400 ;;
    *) n=60 ;;
    esac
    [ "$quick" = 0 ] || n=$((n / 10 > 8 ? n / 10 : 8))
    echo "$n"
}

mkdir -p "$out/raw"
rm -f "$out"/raw/* "$out/results.dat" "$out/failures.txt"
: >"$out/results.dat"
disk=$(mktemp -d /tmp/ordered.XXXXXX)
mem=$(mktemp -d /dev/shm/ordered.XXXXXX)
# Servers, cluster and data folders go on any exit, error or signal.
cleanup() {
    ord_stop_servers
    "$EMU" teardown >/dev/null 2>&1 || true
    rm -rf "$disk" "$mem"
}
on_exit() {
    local status=$?
    trap - EXIT
    cleanup
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster() {
    local n=$1 rate=$2 tc=$2
    [ "$rate" != unshaped ] || tc=100gbit
    "$EMU" teardown >/dev/null 2>&1 || true
    "$EMU" setup "$n" "$tc" >/dev/null
}

# row SYSTEM N RATE SENDERS SIZE RESULT-LINE: one line of results.dat.
row() {
    local line=$6
    awk -v sys="$1" -v n="$2" -v rate="$3" -v snd="$4" -v size="$5" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END {
            note = ""
            if ("carried" in v && v["carried"] != "yes") note = note "NOT-CARRIED,"
            if ("order" in v && v["order"] != "same") note = note "ORDER-DIFFERS,"
            if ("failed" in v && v["failed"] > 0) note = note "FAILED=" v["failed"] ","
            printf("%s %s %s %s %s %s %s %s %s %s\n", sys, n, rate, snd, size,
                   v["msgs_per_s"], v["MBps"] == "" ? v["msgs_per_s"] * size / 1e6 : v["MBps"],
                   v["lat_med_us"], v["lat_p99_us"], note == "" ? "-" : note)
        }' <<<"$line" >>"$out/results.dat"
}

# --- rdmc -----------------------------------------------------------------
RDMC_MCA=(--enable-recovery --mca coll_rdmc_bcast_min_bytes 1)

rdmc_point() {
    local n=$1 rate=$2 snd=$3 size=$4 window=$5 f args=()
    f=$out/raw/rdmc-$n-$rate-$snd-$size-w$window
    [ "$snd" != all ] || args=(-a)
    emu_run "$f" "$limit" "${RDMC_MCA[@]}" "$ORD_BENCH" -s "$size" -n "$(count_for "$size")" \
        -w "$window" -x 20 "${args[@]}" || return 0
    grep '^RESULT' "$f" || { echo "no result in $f" >&2; return 0; }
}

rdmc_all() {
    local n=$1 rate=$2 size line
    for size in $byte_sizes; do
        for snd in one all; do
            line=$(rdmc_point "$n" "$rate" "$snd" "$size" "$rdmc_window")
            [ -z "$line" ] || row rdmc "$n" "$rate" "$snd" "$size" "$line"
        done
        line=$(rdmc_point "$n" "$rate" one "$size" 0)
        [ -z "$line" ] || row rdmc "$n" "$rate" lat "$size" "$line"
    done
}

# --- ZooKeeper and etcd clients --------------------------------------------
# clients SYSTEM N SENDERS SIZE WINDOW DIR: the clients (one on h1, or one
# per host), started together; prints the aggregate RESULT line.
clients() {
    local sys=$1 n=$2 snd=$3 size=$4 window=$5 dir=$6 hosts=1 count k pids=() t0
    [ "$snd" != all ] || hosts=$n
    count=$(($(count_for "$size") / hosts))
    mkdir -p "$dir"
    # Several clients start together, 2 s from now (time to connect).
    t0=0
    [ "$hosts" = 1 ] || t0=$(($(date +%s) + 2))
    for k in $(seq 1 "$hosts"); do
        if [ "$sys" = zk ]; then
            ord_in_host "$k" timeout -k 5 "$limit" "$ZK_BENCH" -H "$ord_net.$k:2181" -s "$size" \
                -n "$count" -w "$window" -c "$k" -S "$t0" -T "$limit" -L "$dir/lat.$k" \
                >"$dir/out.$k" 2>"$dir/err.$k" &
        else
            ord_in_host "$k" timeout -k 5 "$limit" "$here/etcd_put.sh" "$ord_net.$k:2379" "$size" \
                "$count" "$window" "$k" set "$dir" "$t0" >"$dir/out.$k" 2>"$dir/err.$k" &
        fi
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k" || true; done
    if [ "$sys" = etcd ]; then
        for k in $(seq 1 "$hosts"); do
            awk '$1 == 200 { print $2 * 1e6 }' "$dir/replies.$k" >"$dir/lat.$k" 2>/dev/null || true
        done
    fi
    # Throughput over the first start to the last end; latency over all.
    cat "$dir"/lat.* 2>/dev/null | sort -g | awk -v size="$size" -v files="$(cat "$dir"/out.*)" '
        { lat[n++] = $1 }
        END {
            m = split(files, line, "\n")
            for (i = 1; i <= m; i++) {
                split(line[i], f, " ")
                for (j in f) {
                    split(f[j], kv, "=")
                    if (kv[1] == "ok") ok += kv[2]
                    if (kv[1] == "failed") failed += kv[2]
                    if (kv[1] == "start" && (t0 == "" || kv[2] < t0)) t0 = kv[2]
                    if (kv[1] == "end" && kv[2] > t1) t1 = kv[2]
                }
            }
            if (ok == 0 || t1 <= t0) { print "RESULT failed=all"; exit }
            printf("RESULT msgs_per_s=%.1f MBps=%.3f lat_med_us=%.1f lat_p99_us=%.1f failed=%d\n",
                   ok / (t1 - t0), ok * size / (t1 - t0) / 1e6, lat[int((n - 1) * 0.5)],
                   lat[int((n - 1) * 0.99)], failed)
        }'
}

# servers_all SYSTEM N RATE: both durability settings, every size.
servers_all() {
    local sys=$1 n=$2 rate=$3 how size dir line snd
    for how in disk mem; do
        dir=$disk
        [ "$how" = disk ] || dir=$mem
        dir=$dir/$sys-$n-$rate
        rm -rf "$dir"
        if ! "${sys}_start" "$n" "$([ "$how" = disk ] && echo durable || echo memory)" "$dir"; then
            ord_stop_servers
            continue
        fi
        # Warm-up (the JVM's JIT, connections), not recorded.
        clients "$sys" "$n" one 1024 "$client_window" "$dir/warm" >/dev/null
        for size in $byte_sizes; do
            for snd in one all; do
                line=$(clients "$sys" "$n" "$snd" "$size" "$client_window" "$dir/$snd-$size")
                row "$sys-$how" "$n" "$rate" "$snd" "$size" "$line"
            done
            line=$(clients "$sys" "$n" one "$size" 1 "$dir/lat-$size")
            row "$sys-$how" "$n" "$rate" lat "$size" "$line"
        done
        # The servers' logs and the clients' outputs; not the servers' data
        # nor the clients' per-request replies (gigabytes at 1 MiB).
        keep="$out/raw/$sys-$how-$n-$rate-logs"
        mkdir -p "$keep"
        (cd "$dir" && find . -type f \( -name log -o -name 'out.*' -o -name 'err.*' \) \
            -exec cp --parents {} "$keep/" \;) 2>/dev/null || true
        ord_stop_servers
        rm -rf "$dir"
    done
}

byte_sizes=$(for s in ${sizes//,/ }; do emu_bytes "$s"; done | sort -n -u | tr '\n' ' ')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for n in ${groups//,/ }; do
    [ "$matrix" = 1 ] || break
    for rate in ${rates//,/ }; do
        echo "# $n hosts, $rate: $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
        cluster "$n" "$rate"
        ! want rdmc || rdmc_all "$n" "$rate"
        ! want zk || servers_all zk "$n" "$rate"
        ! want etcd || servers_all etcd "$n" "$rate"
    done
done
if [ "$failures" = 1 ]; then
    # shellcheck source=benchmarks/ordered/failures.sh
    . "$here/failures.sh"
    failure_runs "${groups%%,*}" "${rates%%,*}"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
"$EMU" teardown >/dev/null 2>&1 || true

# shellcheck source=benchmarks/ordered/report.sh
. "$here/report.sh"
report "$load_before" "$load_after"
